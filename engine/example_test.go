package engine_test

import (
	"context"
	"fmt"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

func ExampleEngine_Score() {
	src := `
ruleset: demo
fields:
  lead.employees: int
  lead.industry: string
knockouts:
  - id: too-small
    when: lead.employees < 10
    reason: "Company has {{lead.employees}} employees; we serve 10 or more"
score:
  - id: target-industry
    when: lead.industry in ["software", "fintech"]
    points: 20
    reason: "{{lead.industry}} is one of our best-customer industries"
  - id: mid-market
    when: lead.employees >= 100
    points: 15
    description: 100 employees or more
tiers:
  - {name: A, min: 30}
  - {name: B, min: 15}
  - {name: C}
qualify: tier in ["A", "B"]
`
	f, err := rules.Parse("demo.yaml", []byte(src))
	if err != nil {
		panic(err)
	}
	rs, err := rules.Compile(f)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Static(rs))
	if err != nil {
		panic(err)
	}
	d, err := eng.Score(ctx, "demo", engine.Input{ID: "L-7", Lead: map[string]any{"industry": "fintech"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.LeadID, d.Qualified, d.Tier, d.Score)
	fmt.Println("fired:", d.Matched[0].Reason)
	fmt.Println("missed:", d.Missed[0].Rule, d.Missed[0].MissingFields)
	// Output:
	// L-7 true B 20
	// fired: fintech is one of our best-customer industries
	// missed: mid-market [lead.employees]
}

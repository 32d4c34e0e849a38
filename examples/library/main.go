// Command library shows leadq used as a Go library: load the example
// rulesets, score two leads in-process and print why each was decided.
//
//	go run ./examples/library
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"

	"github.com/leadq/leadq/engine"
)

func main() {
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Paths(rulesDir()))
	if err != nil {
		log.Fatalf("load rules: %v", err) // an ErrorList: one file:line:col problem per line
	}

	leads := []engine.Input{
		{ID: "L-1", Lead: map[string]any{
			"email": "ana@northbank.example", "title": "VP Revenue Operations", "seniority": "vp",
			"employees": 400, "industry": "fintech", "country": "US", "page_views": 24, "demo_requested": true,
		}},
		{ID: "L-2", Lead: map[string]any{
			"email": "kid@gmail.com", "title": "Student", "employees": 3, "country": "US",
		}},
	}
	for _, in := range leads {
		d, err := eng.Score(ctx, "b2b-saas", in)
		if err != nil {
			log.Fatalf("score %s: %v", in.ID, err)
		}
		verdict := "rejected"
		if d.Qualified {
			verdict = "qualified"
		}
		fmt.Printf("%s: %s, tier %s, score %d (ruleset %s %s)\n", d.LeadID, verdict, d.Tier, d.Score, d.Ruleset.Name, d.Ruleset.Version[:19])
		for _, k := range d.Knockouts {
			fmt.Printf("  knocked out: %s\n", k.Reason)
		}
		for _, m := range d.Matched {
			fmt.Printf("  %+d %s\n", m.Points, m.Reason)
		}
		if len(d.Missed) > 0 {
			fmt.Printf("  best next step: %s (%+d)\n", d.Missed[0].Description, d.Missed[0].Points)
		}
		if len(d.MissingFields) > 0 {
			fmt.Printf("  missing data: %v\n", d.MissingFields)
		}
	}
}

// rulesDir finds examples/rulesets from the repository root or from here.
func rulesDir() string {
	if _, err := os.Stat("examples/rulesets"); err == nil {
		return "examples/rulesets"
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "rulesets")
}

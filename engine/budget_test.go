package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// budgetRules holds the slow rule: a regexp over the title in a
// loop as long as the lead's employee count. RE2 is linear, but 20,000
// runs over a 100 KB title took 69 s.
const budgetRules = `ruleset: budget
fields:
  lead.employees: int
  lead.title: string
score:
  - id: slow
    when: any(1..lead.employees, lead.title matches '(a+)+$')
    points: 10
  - id: big
    when: lead.employees > 100
    points: 20
  - id: tagged
    when: lead.title startsWith "aaa" && lead.employees >= 1
    points: 5
tiers:
  - {name: A, min: 20}
  - {name: D}
`

func slowLead(t *testing.T, employees int) []byte {
	t.Helper()
	lead, err := json.Marshal(map[string]any{"employees": employees, "title": strings.Repeat("a", 100_000) + "b"})
	if err != nil {
		t.Fatal(err)
	}
	return lead
}

// TestBudgetStopsLoops: a loop that runs past the decision's budget makes
// its rule error with "time budget exceeded"; the other rules still decide.
func TestBudgetStopsLoops(t *testing.T) {
	rs := NewRuleset(compileRuleset(t, budgetRules))
	lead := slowLead(t, 20_000)
	start := time.Now()
	d, err := rs.ScoreJSON(context.Background(), lead, Options{Budget: 50 * time.Millisecond})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Errors) != 1 || d.Errors[0].Rule != "slow" || !strings.Contains(d.Errors[0].Message, "time budget exceeded") {
		t.Errorf("errors = %+v; want the slow rule's, time budget exceeded", d.Errors)
	}
	if d.Score != 25 || d.Tier != "A" {
		t.Errorf("score %d, tier %s; want 25 and A from the other rules", d.Score, d.Tier)
	}
	if took > 10*time.Second { // 69 s without a budget; a few regexp runs past it with one
		t.Errorf("the decision took %v with a budget of 50ms", took)
	}
	// Within budget, the same loop decides.
	d, err = rs.ScoreJSON(context.Background(), slowLead(t, 3), Options{Budget: 10 * time.Second})
	if err != nil || len(d.Errors) != 0 {
		t.Errorf("3 employees within budget = %+v, %v; want no error", d.Errors, err)
	}
}

// TestContextStopsLoops: with no budget, the end of the call's context (a
// request's timeout, a client gone) stops the loop the same way.
func TestContextStopsLoops(t *testing.T) {
	rs := NewRuleset(compileRuleset(t, budgetRules))
	lead := slowLead(t, 200_000)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	d, err := rs.ScoreJSON(ctx, lead, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the decision took %v after its context ended at 50ms", took)
	}
	if len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Message, "evaluation stopped: context deadline exceeded") {
		t.Errorf("errors = %+v; want the slow rule stopped by the context", d.Errors)
	}
}

package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

// builtRules build strings whose size the lead's values choose. expr's
// builtins allocate what their arguments ask for, and a Go program that
// cannot allocate dies: repeat(lead.title, lead.n) with a 500 KB title and
// n 900,000 ended the server, every request in flight with it.
const builtRules = `ruleset: built
fields:
  lead.title: string
  lead.n: int
  lead.tags: list
score:
  - id: repeat
    when: len(repeat(lead.title, lead.n)) > 0
    points: 1
  - id: replace
    when: len(replace(lead.title, "", lead.title)) > 0
    points: 1
  - id: join
    when: len(join(map(1..100000, lead.title), ",")) > 0
    points: 1
  - id: string
    when: len(string(map(1..100000, lead.title))) > 0
    points: 1
  - id: to-json
    when: len(toJSON(map(1..100000, [lead.title]))) > 0
    points: 1
  - id: within-bounds
    when: 'replace(lead.title, "x", "y", 2) + join(lead.tags, ",") + string(lead.n) + toJSON(lead.tags) + repeat("ab", 2) == "yyxa,b3[\n  \"a\",\n  \"b\"\n]abab"'
    points: 100
tiers:
  - {name: A, min: 1}
  - {name: D}
`

// TestBuiltStringsAreBounded: a call of repeat, replace, join, string or
// toJSON that would build more than MaxBuilt fails, its rule errors, and
// the other rules decide; within the bound they are expr's builtins.
func TestBuiltStringsAreBounded(t *testing.T) {
	rs := NewRuleset(compileRuleset(t, builtRules))
	huge := fmt.Sprintf(`{"lead": {"title": %q, "n": 1000000, "tags": ["a", "b"]}}`, strings.Repeat("x", 100_000))
	d, err := rs.ScoreJSON(context.Background(), []byte(huge), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var errored []string
	for _, e := range d.Errors {
		errored = append(errored, e.Rule)
		if !strings.Contains(e.Message, "would build a string of over 16 MiB") {
			t.Errorf("rule %s: error %q; want it to say the string would be too long", e.Rule, e.Message)
		}
	}
	if want := []string{"repeat", "replace", "join", "string", "to-json"}; !slices.Equal(errored, want) {
		t.Errorf("errored rules %v; want %v", errored, want)
	}
	d, err = rs.ScoreJSON(context.Background(), []byte(`{"lead": {"title": "xxx", "n": 3, "tags": ["a", "b"]}}`), Options{})
	if err != nil || len(d.Errors) != 0 || d.Score != 105 {
		t.Errorf("small values: score %d, errors %+v, %v; want every rule to fire (105)", d.Score, d.Errors, err)
	}
}

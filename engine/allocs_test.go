package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadq/leadq/engine"
)

// What a decision allocates is part of its speed budget (issue 13): a
// brief decision owns its hits, its group totals, its reasons' text and
// its missing fields' names, and nothing else of it lives on the heap (a
// pointer kept to the decision while deciding once moved every decision
// there). Full decisions add their matched and missed rules and what it
// would take to qualify (this lead needs one change: its slice of changes
// and one slice of rule ids; texts and values a change shares with every
// lead allocate nothing). A decision reused (ScoreJSONInto) allocates only
// what cannot be reused: the reasons' text with the lead's id (one new
// string), and in full the missed rules' missing fields and what it would
// take to qualify.
func TestDecisionAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops pooled records at random")
	}
	rss := decodeRulesets(t)
	var rs *engine.Ruleset
	for _, r := range rss {
		if r.Name == "b2b-saas" {
			rs = r
		}
	}
	ctx := context.Background()
	clock := func() time.Time { return fixedNow }
	for _, tc := range []struct {
		name   string
		lead   string
		detail engine.Detail
		max    float64
		reused float64 // at most, with a decision reused
	}{
		{"brief", `{"id": "1", "lead": {"email": "ana@northbank.example", "employees": 400, "industry": "fintech", "country": "US", "title": "VP Finance"}}`, engine.Brief, 4, 1},
		{"full", `{"id": "1", "lead": {"email": "ana@northbank.example", "employees": 400, "industry": "fintech", "country": "US", "title": "VP Finance"}}`, engine.Full, 8, 5},
	} {
		opts := engine.Options{Clock: clock, Detail: tc.detail}
		got := testing.AllocsPerRun(100, func() {
			if _, err := rs.ScoreJSON(ctx, []byte(tc.lead), opts); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%s: %.1f allocations", tc.name, got)
		if got > tc.max {
			t.Errorf("%s decision: %.1f allocations; want at most %.0f", tc.name, got, tc.max)
		}
		var d engine.Decision
		reused := testing.AllocsPerRun(100, func() {
			if err := rs.ScoreJSONInto(ctx, []byte(tc.lead), opts, &d); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%s, reused: %.1f allocations", tc.name, reused)
		if reused > tc.reused {
			t.Errorf("%s decision, reused: %.1f allocations; want at most %.0f", tc.name, reused, tc.reused)
		}
	}
}

package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestExpectedRate: a decision in a tier that states its expect carries it
// as expected_rate, in its fields and its JSON; a tier without one leaves
// it out. Missing data can score: lead.x == nil fires on a lead without x.
func TestExpectedRate(t *testing.T) {
	rs := compileRuleset(t, `ruleset: calibrated
fields:
  lead.employees: int
score:
  - {id: big, points: 20, when: lead.employees >= 100}
  - {id: unknown-size, points: -5, when: lead.employees == nil}
tiers:
  - {name: A, min: 10, expect: 0.84}
  - {name: B}
`)
	for _, tc := range []struct {
		lead   string
		tier   string
		score  int
		expect float64
	}{
		{`{"lead": {"employees": 250}}`, "A", 20, 0.84},
		{`{"lead": {"employees": 5}}`, "B", 0, 0},
		{`{"lead": {}}`, "B", -5, 0},
	} {
		d, err := NewRuleset(rs).ScoreJSON(context.Background(), []byte(tc.lead), Options{Clock: nowFixed})
		if err != nil {
			t.Fatal(err)
		}
		if d.Tier != tc.tier || d.Score != tc.score || d.ExpectedRate != tc.expect {
			t.Errorf("%s: tier %s, score %d, expected rate %v; want %s, %d, %v", tc.lead, d.Tier, d.Score, d.ExpectedRate, tc.tier, tc.score, tc.expect)
		}
		got := string(NewRuleset(rs).AppendJSON(nil, &d))
		var want strings.Builder
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
		if got+"\n" != want.String() {
			t.Errorf("%s: AppendJSON\n%s\nencoding/json\n%s", tc.lead, got, want.String())
		}
		if has := strings.Contains(got, `"expected_rate":0.84,`); has != (tc.expect != 0) {
			t.Errorf("%s: JSON %s; expected_rate present %v, want %v", tc.lead, got, has, tc.expect != 0)
		}
	}
}

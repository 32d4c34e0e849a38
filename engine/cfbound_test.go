package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// explodingRules is a ruleset built to make the counterfactual search
// long: fields fields, each with points of its own and with its
// neighbour in one leaf (a set of changes of neighbours is decided in the
// lead's row), and a qualifying tier that takes more changes than the
// search looks for.
func explodingRules(fields, need int) string {
	var b strings.Builder
	b.WriteString("ruleset: explode\nfields:\n")
	for i := range fields {
		fmt.Fprintf(&b, "  lead.f%d: int\n", i)
	}
	b.WriteString("score:\n")
	for i := range fields {
		fmt.Fprintf(&b, "  - {id: own-%d, when: lead.f%d >= 10, points: %d}\n", i, i, 1+i%3)
		fmt.Fprintf(&b, "  - {id: pair-%d, when: lead.f%d + lead.f%d >= 20, points: 2}\n", i, i, (i+1)%fields)
	}
	fmt.Fprintf(&b, "tiers:\n  - {name: A, min: %d}\n  - {name: D}\n", need)
	return b.String()
}

// TestCounterfactualBounded: a ruleset built to explode the search still
// decides in bounded work: at most maxNodes sets considered and maxTries
// decided in the lead's row, for a lead that lacks every field and one
// that has them all (far from qualifying, the search runs to its limits).
func TestCounterfactualBounded(t *testing.T) {
	rs := NewRuleset(compileRuleset(t, explodingRules(300, 30)))
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	some := map[string]any{}
	for i := range 300 {
		some[fmt.Sprintf("f%d", i)] = i % 4
	}
	for _, tc := range []struct {
		name string
		lead map[string]any
	}{{"empty", map[string]any{}}, {"all fields", some}} {
		t.Run(tc.name, func(t *testing.T) {
			l := new(record)
			if err := l.normalise(rs.Ruleset, Input{Lead: tc.lead, Now: now}, false); err != nil {
				t.Fatal(err)
			}
			var d Decision
			l.decide(&d, rs, "", false, now, Options{})
			if d.Qualified || d.WouldQualify.Tier == "" {
				t.Fatalf("tier %s, qualified %v, %+v: want a lead the search runs for", d.Tier, d.Qualified, d.WouldQualify)
			}
			if l.cf.nodes > maxNodes || l.cf.tries > maxTries {
				t.Errorf("the search considered %d sets and decided %d in the row; want at most %d and %d", l.cf.nodes, l.cf.tries, maxNodes, maxTries)
			}
			if l.cf.nodes < maxNodes && l.cf.tries < maxTries {
				t.Errorf("the search stopped after %d sets considered and %d decided in the row, before its limits: the test bounds nothing %+v", l.cf.nodes, l.cf.tries, d.WouldQualify)
			}
		})
	}
}

package decisionlog

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// byMap is appendRuleIndexes by the ruleset's map of rules by id, one
// lookup a hit: the reference ruleCursor is an optimisation of.
func byMap(b []byte, rs *rules.Ruleset, d *engine.Decision) []byte {
	for _, h := range d.Knockouts {
		if i := ruleIndexOf(rs, rs.Knockouts, h.Rule); i >= 0 {
			b = binary.AppendUvarint(b, uint64(i))
		}
	}
	for _, h := range d.Matched {
		if i := ruleIndexOf(rs, rs.Rules, h.Rule); i >= 0 {
			b = binary.AppendUvarint(b, uint64(len(rs.Knockouts)+i))
		}
	}
	return b
}

// TestRuleCursorAgreesWithMap holds appendRuleIndexes to byMap on every
// example ruleset: for the decisions of the example leads, and for hits
// the engine would not give (every rule, every other one, reversed, an
// unknown id, a knockout listed as a score rule), which the cursor must
// still find, or skip, as the map does.
func TestRuleCursorAgreesWithMap(t *testing.T) {
	sets, err := rules.LoadPaths("../examples/rulesets", "../examples/derived")
	if err != nil {
		t.Fatal(err)
	}
	leads, _ := filepath.Glob("../examples/leads/*.json")
	for _, rs := range sets {
		t.Run(rs.Name, func(t *testing.T) {
			var decisions []engine.Decision
			ers := engine.NewRuleset(rs)
			for _, f := range leads {
				input, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				d, err := ers.ScoreJSON(context.Background(), input, engine.Options{})
				if err != nil {
					continue // a lead of another ruleset's fields
				}
				decisions = append(decisions, d)
			}
			if rs.Name == "b2b-saas" && len(decisions) == 0 {
				t.Fatal("no example lead decided")
			}
			var all engine.Decision
			for _, r := range rs.Knockouts {
				all.Knockouts = append(all.Knockouts, engine.Hit{Rule: r.ID})
			}
			for _, r := range rs.Rules {
				all.Matched = append(all.Matched, engine.Hit{Rule: r.ID})
			}
			var everyOther, reversed, odd engine.Decision
			for i, h := range all.Matched {
				if i%2 == 0 {
					everyOther.Matched = append(everyOther.Matched, h)
				}
			}
			reversed.Knockouts, reversed.Matched = slices.Clone(all.Knockouts), slices.Clone(all.Matched)
			slices.Reverse(reversed.Knockouts)
			slices.Reverse(reversed.Matched)
			odd.Matched = append(odd.Matched, engine.Hit{Rule: "no-such-rule"})
			odd.Matched = append(odd.Matched, all.Knockouts...)
			odd.Matched = append(odd.Matched, everyOther.Matched...)
			decisions = append(decisions, all, everyOther, reversed, odd)
			for i := range decisions {
				d := &decisions[i]
				got, want := appendRuleIndexes(nil, rs, d), byMap(nil, rs, d)
				if !slices.Equal(got, want) {
					t.Errorf("decision %d (knockouts %v, matched %v): appendRuleIndexes = %v; want %v", i, d.Knockouts, d.Matched, got, want)
				}
			}
		})
	}
}

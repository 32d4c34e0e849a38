package server

import (
	"fmt"
	"testing"

	"github.com/leadq/leadq/engine"
)

// A tally counts each rule's hits however many rules there are: past the
// first table's 32 and through every doubling, hits arriving interleaved.
func TestTallyCountsHitsOfManyRules(t *testing.T) {
	rules := make([]engine.FiredRule, 300)
	for i := range rules {
		rules[i].Rule = fmt.Sprintf("r%d", i)
	}
	want := func(i int) int { return i%7 + 1 }
	var tl tally
	for round := range 7 {
		for i := range rules {
			if round < want(i) {
				tl.hit(&rules[i], "rs")
			}
		}
	}
	if len(tl.hits) != len(rules) {
		t.Fatalf("tally holds %d rules, want %d", len(tl.hits), len(rules))
	}
	seen := map[*engine.FiredRule]bool{}
	for _, c := range tl.hits {
		var i int
		fmt.Sscanf(c.rule.Rule, "r%d", &i)
		if seen[c.rule] || c.n != want(i) || c.ruleset != "rs" {
			t.Errorf("rule %s: counted %d (ruleset %q, seen before %v), want %d once", c.rule.Rule, c.n, c.ruleset, seen[c.rule], want(i))
		}
		seen[c.rule] = true
	}
}

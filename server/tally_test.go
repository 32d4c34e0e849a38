package server

import (
	"fmt"
	"testing"
)

// A tally counts each rule's hits however many rules there are: past the
// first table's 32 and through every doubling, hits arriving interleaved,
// ids told apart by their content (copies of one id count as one rule, the
// same id in two rulesets as two), never by where they are in memory.
func TestTallyCountsHitsOfManyRules(t *testing.T) {
	ids := make([]string, 300)
	for i := range ids {
		// Ids that share their first and last eight bytes, and short ones.
		if i%2 == 0 {
			ids[i] = fmt.Sprintf("target-industry-%d-of-the-list", i)
		} else {
			ids[i] = fmt.Sprintf("r%d", i)
		}
	}
	want := func(i int) int { return i%7 + 1 }
	var tl tally
	for round := range 7 {
		for i := range ids {
			if round < want(i) {
				tl.hit(string([]byte(ids[i])), "rs") // a copy each time
				tl.hit(ids[i], "other")
			}
		}
	}
	if len(tl.hits) != 2*len(ids) {
		t.Fatalf("tally holds %d rules, want %d", len(tl.hits), 2*len(ids))
	}
	seen := map[[2]string]bool{}
	index := map[string]int{}
	for i, id := range ids {
		index[id] = i
	}
	for _, c := range tl.hits {
		k := [2]string{c.ruleset, c.rule}
		if seen[k] || c.n != want(index[c.rule]) {
			t.Errorf("rule %s of %s: counted %d (seen before %v), want %d once", c.rule, c.ruleset, c.n, seen[k], want(index[c.rule]))
		}
		seen[k] = true
	}
}

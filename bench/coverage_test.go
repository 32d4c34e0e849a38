package bench_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/leadq/leadq/bench"
	"github.com/leadq/leadq/rules/eval"
)

// TestSetCoversEveryRule keeps the agreement meaningful: on the comparison
// set every knockout and score rule fires on some leads and not on others,
// every tier occurs, and so do knockouts, sparse leads and qualified leads.
// It also checks the set is well typed: leadq reports no warnings or errors.
func TestSetCoversEveryRule(t *testing.T) {
	e := compiled(t)
	leads := bench.Generate(bench.Leads)
	requests := bench.Requests(leads)
	rs, err := e.Leadq.Ruleset(bench.Ruleset)
	if err != nil {
		t.Fatal(err)
	}
	fired := map[string]int{}
	tiers := map[string]int{}
	var qualified, knockedOut, severalKnockouts, missing int
	for i, in := range bench.Inputs(leads) {
		d, err := e.Leadq.Score(context.Background(), bench.Ruleset, in)
		if err != nil {
			t.Fatalf("lead %s: %v", in.ID, err)
		}
		if len(d.Warnings) > 0 || len(d.Errors) > 0 {
			t.Errorf("lead %s %s: warnings %v, errors %v; the comparison set must be well typed", in.ID, requests[i], d.Warnings, d.Errors)
		}
		for _, h := range d.Knockouts {
			fired[h.Rule]++
		}
		for _, h := range d.Matched {
			fired[h.Rule]++
		}
		tiers[d.Tier]++
		if d.Qualified {
			qualified++
		}
		if len(d.Knockouts) > 0 {
			knockedOut++
		}
		if len(d.Knockouts) > 1 {
			severalKnockouts++
		}
		if len(d.MissingFields) > 0 {
			missing++
		}
	}
	n := len(leads)
	const least = 20 // leads on each side of every rule
	for _, r := range append(append([]string{}, ids(rs.Knockouts)...), ids(rs.Rules)...) {
		if fired[r] < least || n-fired[r] < least {
			t.Errorf("rule %s fired on %d of %d leads; want between %d and %d", r, fired[r], n, least, n-least)
		}
	}
	for _, tier := range []string{"A", "B", "C", "D"} {
		if tiers[tier] < least {
			t.Errorf("tier %s: %d leads; want at least %d", tier, tiers[tier], least)
		}
	}
	for name, got := range map[string]int{"qualified": qualified, "knocked out": knockedOut,
		"with several knockouts": severalKnockouts, "with missing fields": missing} {
		if got < least || n-got < least {
			t.Errorf("%d of %d leads %s; want between %d and %d", got, n, name, least, n-least)
		}
	}
	if testing.Verbose() {
		var lines []string
		for r, c := range fired {
			lines = append(lines, fmt.Sprintf("%-26s %5d", r, c))
		}
		sort.Strings(lines)
		t.Logf("tiers %v; qualified %d, knocked out %d (several %d), missing fields %d\n%s",
			tiers, qualified, knockedOut, severalKnockouts, missing, strings.Join(lines, "\n"))
	}
}

func ids(rs []*eval.Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

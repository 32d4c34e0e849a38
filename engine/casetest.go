package engine

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// DefaultTestNow returns the "now" of test cases that set no now: (and
// no TestOptions.Now). A fixed clock keeps such a case reproducible:
// days_since & co give the same answer on every run, whatever the date.
// Cases that read dates should still set now:.
func DefaultTestNow() time.Time { return time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC) }

// TestOptions configure RunTests.
type TestOptions struct {
	Now    time.Time              // the clock of cases without now:; zero means DefaultTestNow()
	Strict bool                   // refuse wrong-typed test input, as WithStrict
	Filter func(name string) bool // runs only the cases it accepts; nil runs all
}

// TestReport is the outcome of one ruleset's own tests.
type TestReport struct {
	Ruleset  string       `json:"ruleset"`
	Version  string       `json:"version"`
	Files    []string     `json:"files"`
	Cases    []CaseResult `json:"cases"`
	Coverage Coverage     `json:"coverage"`
}

// Failed returns how many cases failed.
func (r *TestReport) Failed() int {
	n := 0
	for _, c := range r.Cases {
		if !c.Passed {
			n++
		}
	}
	return n
}

// CaseResult is the outcome of one test case. Decision is nil when the
// input was refused (strict mode); Err then says why.
type CaseResult struct {
	Name     string    `json:"name"`
	Pos      rules.Pos `json:"pos"`
	Now      time.Time `json:"now"`
	Passed   bool      `json:"passed"`
	Failures []Failure `json:"failures"`
	Decision *Decision `json:"decision,omitempty"`
	Err      string    `json:"error,omitempty"`
}

// Failure is one expectation the decision did not meet. Want and Got are
// the values as the test states them (a tier, a score, a list of ids);
// Message says the same in a sentence, with why where the decision knows.
type Failure struct {
	Expect  string `json:"expect"`         // the expect: key, like score or matched
	Rule    string `json:"rule,omitempty"` // for matched, not_matched and errors: the rule
	Want    any    `json:"want"`           // for matched and not_matched: whether the rule fires
	Got     any    `json:"got"`
	Message string `json:"message"`
}

// Coverage tells which rules the cases exercise. A rule no case fires is
// untested: a change that breaks it passes every test.
type Coverage struct {
	Rules   []RuleCoverage `json:"rules"` // knockouts, then score rules, in file order
	Fired   int            `json:"fired"` // rules fired by at least one case
	Total   int            `json:"total"`
	Percent float64        `json:"percent"` // 100 * Fired / Total; 100 when there are no rules
}

// RuleCoverage counts the cases in which one rule fired and did not.
type RuleCoverage struct {
	Rule     string    `json:"rule"`
	Knockout bool      `json:"knockout"`
	Pos      rules.Pos `json:"pos"`
	Fired    int       `json:"fired"`
	NotFired int       `json:"not_fired"`
}

// Untested returns the rules no case fires.
func (c Coverage) Untested() []RuleCoverage {
	var out []RuleCoverage
	for _, r := range c.Rules {
		if r.Fired == 0 {
			out = append(out, r)
		}
	}
	return out
}

// AlwaysFired returns the rules that fired in every case, when there are
// at least two: no case shows what happens without them.
func (c Coverage) AlwaysFired() []RuleCoverage {
	var out []RuleCoverage
	for _, r := range c.Rules {
		if r.Fired >= 2 && r.NotFired == 0 {
			out = append(out, r)
		}
	}
	return out
}

// RunTests scores every test case of rs (its tests: sections) with
// Ruleset.Score and compares each decision with the case's expect:. It has no side
// effects and is safe for concurrent use.
func RunTests(rs *rules.Ruleset, opts TestOptions) TestReport {
	clock := opts.Now
	if clock.IsZero() {
		clock = DefaultTestNow()
	}
	rep := TestReport{Ruleset: rs.Name, Version: rs.Version, Files: rs.Files, Cases: []CaseResult{}}
	cov := map[string]*RuleCoverage{}
	for _, list := range [][]*eval.Rule{rs.Knockouts, rs.Rules} {
		for _, r := range list {
			rep.Coverage.Rules = append(rep.Coverage.Rules, RuleCoverage{Rule: r.ID, Knockout: r.Knockout, Pos: r.Pos})
		}
	}
	for i := range rep.Coverage.Rules {
		cov[rep.Coverage.Rules[i].Rule] = &rep.Coverage.Rules[i]
	}
	compiled := NewRuleset(rs)
	for _, tc := range rs.Tests {
		if opts.Filter != nil && !opts.Filter(tc.Name) {
			continue
		}
		res := runTestCase(compiled, tc, clock, opts.Strict)
		if d := res.Decision; d != nil {
			fired := map[string]bool{}
			for _, h := range d.Knockouts {
				fired[h.Rule] = true
			}
			for _, h := range d.Matched {
				fired[h.Rule] = true
			}
			for id, rc := range cov {
				if fired[id] {
					rc.Fired++
				} else {
					rc.NotFired++
				}
			}
		}
		rep.Cases = append(rep.Cases, res)
	}
	c := &rep.Coverage
	c.Total = len(c.Rules)
	for _, r := range c.Rules {
		if r.Fired > 0 {
			c.Fired++
		}
	}
	c.Percent = 100
	if c.Total > 0 {
		c.Percent = 100 * float64(c.Fired) / float64(c.Total)
	}
	return rep
}

func runTestCase(rs *Ruleset, tc *rulefile.TestDecl, clock time.Time, strict bool) CaseResult {
	in := Input{Lead: tc.Lead, Account: tc.Account, Now: clock}
	if tc.Now != nil {
		in.Now = *tc.Now
	}
	if id, ok := tc.Lead["id"].(string); ok {
		in.ID = id
	}
	res := CaseResult{Name: tc.Name, Pos: tc.Pos, Now: in.Now, Failures: []Failure{}}
	d, err := rs.Score(context.Background(), in, Options{Strict: strict})
	if err != nil {
		res.Err = err.Error()
		res.Failures = append(res.Failures, Failure{Expect: "input", Message: "the input was refused: " + err.Error()})
		return res
	}
	res.Decision = &d
	res.Failures = compareExpect(rs.Ruleset, tc.Expect, d, presentFields(rs.Ruleset, in, d))
	res.Passed = len(res.Failures) == 0
	return res
}

// compareExpect checks a decision against one case's expectations, in the order
// the format documents them.
func compareExpect(rs *rules.Ruleset, e rulefile.Expect, d Decision, present eval.FieldSet) []Failure {
	fs := []Failure{}
	fail := func(key string, want, got any, format string, args ...any) {
		fs = append(fs, Failure{Expect: key, Want: want, Got: got, Message: fmt.Sprintf(format, args...)})
	}
	if e.Tier != nil && *e.Tier != d.Tier {
		fail("tier", *e.Tier, d.Tier, "tier: want %s, got %s (score %d)", *e.Tier, d.Tier, d.Score)
	}
	if e.Qualified != nil && *e.Qualified != d.Qualified {
		why := ""
		switch {
		case len(d.Knockouts) > 0:
			why = " (knocked out by " + strings.Join(hitIDs(d.Knockouts), ", ") + ")"
		case *e.Qualified:
			why = fmt.Sprintf(" (tier %s, score %d)", d.Tier, d.Score)
		}
		fail("qualified", *e.Qualified, d.Qualified, "qualified: want %t, got %t%s", *e.Qualified, d.Qualified, why)
	}
	if e.Score != nil && *e.Score != d.Score {
		fail("score", *e.Score, d.Score, "score: want %d, got %d (%+d)", *e.Score, d.Score, d.Score-*e.Score)
	}
	if e.ScoreMin != nil && d.Score < *e.ScoreMin {
		fail("score_min", *e.ScoreMin, d.Score, "score: want at least %d, got %d", *e.ScoreMin, d.Score)
	}
	if e.ScoreMax != nil && d.Score > *e.ScoreMax {
		fail("score_max", *e.ScoreMax, d.Score, "score: want at most %d, got %d", *e.ScoreMax, d.Score)
	}
	for _, g := range slices.Sorted(maps.Keys(e.Groups)) {
		want := e.Groups[g]
		if got, _ := d.Groups.Total(g); got != want {
			fail("groups", map[string]int{g: want}, map[string]int{g: got}, "groups: %s: want %d, got %d%s", g, want, got, capNote(g, d))
		}
	}
	if e.Knockouts != nil {
		got := hitIDs(d.Knockouts)
		if extra, lack := idSetDiff(got, e.Knockouts); len(extra)+len(lack) > 0 {
			var parts []string
			for _, id := range lack {
				parts = append(parts, id+" did not fire"+whyNot(rs, d, present, id))
			}
			for _, id := range extra {
				parts = append(parts, id+" fired: "+hitReason(d.Knockouts, id))
			}
			fail("knockouts", sortedIDs(e.Knockouts), got, "knockouts: want %s, got %s: %s", idList(e.Knockouts), idList(got), strings.Join(parts, "; "))
		}
	}
	ruleFail := func(key, id string, want, got any, format string, args ...any) {
		fail(key, want, got, format, args...)
		fs[len(fs)-1].Rule = id
	}
	for _, id := range e.Matched {
		if !slices.Contains(hitIDs(d.Matched), id) {
			ruleFail("matched", id, true, false, "matched: %s did not fire%s", id, whyNot(rs, d, present, id))
		}
	}
	for _, id := range e.NotMatched {
		if slices.Contains(hitIDs(d.Matched), id) {
			ruleFail("not_matched", id, false, true, "not_matched: %s fired (%+d): %s", id, rs.Rule(id).Points, hitReason(d.Matched, id))
		}
	}
	if e.MissingFields != nil {
		if extra, lack := idSetDiff(d.MissingFields, e.MissingFields); len(extra)+len(lack) > 0 {
			fail("missing_fields", sortedIDs(e.MissingFields), d.MissingFields, "missing_fields: want %s, got %s", idList(e.MissingFields), idList(d.MissingFields))
		}
	}
	if e.Warnings != nil {
		var got []string
		for _, w := range d.Warnings {
			got = append(got, w.Field)
		}
		got = sortedIDs(got)
		if extra, lack := idSetDiff(got, e.Warnings); len(extra)+len(lack) > 0 {
			fail("warnings", sortedIDs(e.Warnings), got, "warnings: want %s, got %s", idList(e.Warnings), idList(got))
		}
	}
	// A rule that fails at run time is a bug in the ruleset whatever the
	// test expects: its points silently vanish in production.
	for _, re := range d.Errors {
		ruleFail("errors", re.Rule, nil, re.Message, "rule %s failed to run: %s", re.Rule, re.Message)
	}
	return fs
}

// whyNot explains why a rule did not fire: the data it lacked, else its
// condition, so that an author sees what the lead would need.
func whyNot(rs *rules.Ruleset, d Decision, present eval.FieldSet, id string) string {
	for _, e := range d.Errors {
		if e.Rule == id {
			return " (failed to run: " + e.Message + ")"
		}
	}
	r := rs.Rule(id)
	if r == nil || r.When == nil {
		return ""
	}
	if missing := r.When.Missing(present); len(missing) > 0 {
		names := make([]string, len(missing))
		for i, f := range missing {
			names[i] = f.Name
		}
		return " (unknown: the lead has no " + strings.Join(names, ", ") + ")"
	}
	return " (when: " + r.When.Src + ")"
}

// presentFields returns the fields the decided input had, as Score saw
// them: given, not blank, and not dropped with a warning.
func presentFields(rs *rules.Ruleset, in Input, d Decision) eval.FieldSet {
	warned := map[string]bool{}
	for _, w := range d.Warnings {
		warned[w.Field] = true
	}
	present := eval.NewFieldSet(len(rs.Fields))
	for _, f := range rs.Fields {
		src := in.Lead
		if f.Namespace == "account" {
			src = in.Account
		}
		if raw, ok := src[f.Key]; ok && !isBlank(raw, f.Type) && !warned[f.Name] {
			present.Add(f.Index)
		}
	}
	return present
}

// capNote says when a group total was cut by its caps.
func capNote(g string, d Decision) string {
	raw := 0
	for _, h := range d.Matched {
		if h.Group == g {
			raw += h.Points
		}
	}
	if total, _ := d.Groups.Total(g); raw != total {
		return fmt.Sprintf(" (%d before caps)", raw)
	}
	return ""
}

func hitIDs(hits []Hit) []string {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.Rule
	}
	return ids
}

func hitReason(hits []Hit, id string) string {
	for _, h := range hits {
		if h.Rule == id {
			return h.Reason
		}
	}
	return ""
}

// idSetDiff returns the elements of got not in want and of want not in got,
// each sorted.
func idSetDiff(got, want []string) (extra, lack []string) {
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			lack = append(lack, w)
		}
	}
	return sortedIDs(extra), sortedIDs(lack)
}

func sortedIDs(s []string) []string {
	out := slices.Clone(s)
	slices.SortFunc(out, cmp.Compare)
	return slices.Compact(out)
}

func idList(s []string) string { return "[" + strings.Join(s, ", ") + "]" }

package bench_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/leadq/leadq/bench"
	"github.com/leadq/leadq/bench/freemail"
	"github.com/leadq/leadq/bench/handwritten"
	"github.com/leadq/leadq/bench/leadgen"
	"github.com/leadq/leadq/bench/oparules"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// full is everything a leadq decision says, for comparing leadq with the
// hand-written code field by field.
type full struct {
	LeadID        string
	Score         int
	Groups        engine.Groups
	Tier          string
	Qualified     bool
	Knockouts     []engine.Hit
	Matched       []engine.Hit
	Missed        []engine.Miss
	MissingFields []string
}

func fullLeadq(d engine.Decision) full {
	f := full{LeadID: d.LeadID, Score: d.Score, Groups: d.Groups, Tier: d.Tier, Qualified: d.Qualified,
		Knockouts: d.Knockouts, Matched: d.Matched, Missed: d.Missed, MissingFields: d.MissingFields}
	return f
}

func fullHand(d handwritten.Decision) full {
	f := full{LeadID: d.LeadID, Score: d.Score, Groups: engine.Groups{{Name: "engagement", Total: d.Engagement}, {Name: "fit", Total: d.Fit}},
		Tier: d.Tier, Qualified: d.Qualified, Knockouts: []engine.Hit{}, Matched: []engine.Hit{}, Missed: []engine.Miss{},
		MissingFields: d.MissingFields}
	for _, h := range d.Knockouts {
		f.Knockouts = append(f.Knockouts, engine.Hit{Rule: h.Rule.ID, Group: h.Rule.Group, Points: h.Rule.Points, Reason: h.Reason})
	}
	for _, h := range d.Matched {
		f.Matched = append(f.Matched, engine.Hit{Rule: h.Rule.ID, Group: h.Rule.Group, Points: h.Rule.Points, Reason: h.Reason})
	}
	for _, m := range d.Missed {
		r := m.Rule
		f.Missed = append(f.Missed, engine.Miss{Rule: r.ID, Group: r.Group, Points: r.Points,
			Description: r.Description, When: r.When, Adds: m.Adds, MissingFields: m.MissingFields})
	}
	return f
}

// TestHandWrittenMatchesLeadqInFull holds the hand-written code to leadq's
// whole decision, not just what OPA and CEL are compared on: points and
// groups of every hit, each missed rule's description, condition and
// missing fields, and the decision's missing fields.
func TestHandWrittenMatchesLeadqInFull(t *testing.T) {
	e := compiled(t)
	leads := bench.Generate(bench.Leads)
	requests := bench.Requests(leads)
	structs, err := bench.Structs(leads)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, in := range bench.Inputs(leads) {
		want, err := e.Leadq.Score(context.Background(), bench.Ruleset, in)
		if err != nil {
			t.Fatalf("lead %s: %v", in.ID, err)
		}
		got := handwritten.Decide(&structs[i], leadgen.Now)
		if diff := cmp.Diff(fullLeadq(want), fullHand(got)); diff != "" {
			if bad++; bad <= 3 {
				t.Errorf("lead %s %s: hand-written decision differs from leadq's (-leadq +hand-written):\n%s", in.ID, requests[i], diff)
			}
		}
	}
	if bad > 3 {
		t.Errorf("... %d leads differ in all", bad)
	}
}

// TestEnginesPassRulesetTests runs the ruleset's own `tests:` (written by
// people, in b2b-saas.yaml) through every engine: agreement with leadq is
// only worth something if leadq is right.
func TestEnginesPassRulesetTests(t *testing.T) {
	rss, err := rules.LoadPaths(bench.RulesDir)
	if err != nil {
		t.Fatal(err)
	}
	var rs *rules.Ruleset
	for _, r := range rss {
		if r.Name == bench.Ruleset {
			rs = r
		}
	}
	if rs == nil || len(rs.Tests) == 0 {
		t.Fatalf("ruleset %s with tests not found in %s", bench.Ruleset, bench.RulesDir)
	}
	for _, tc := range rs.Tests {
		if len(tc.Expect.Warnings) > 0 {
			// A wrong-typed value is leadq's to warn about; the other
			// engines are only given well-typed leads.
			t.Logf("%s: skipped, its lead has wrong-typed fields (%v)", tc.Name, tc.Expect.Warnings)
			continue
		}
		now := leadgen.Now
		if tc.Now != nil {
			now = *tc.Now
		}
		l := leadgen.Lead{ID: "case", Lead: jsonValues(tc.Lead), Account: jsonValues(tc.Account)}
		e, err := bench.NewEngines(context.Background(), now)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range bench.Contenders(e) {
			t.Run(c.Engine+"/"+c.Path+"/"+tc.Name, func(t *testing.T) {
				d, err := c.Prepare([]leadgen.Lead{l})
				if err != nil {
					t.Fatal(err)
				}
				o, err := d.Outcome(0)
				if err != nil {
					t.Fatal(err)
				}
				for _, msg := range unmet(tc.Expect, o) {
					t.Errorf("%s: %s", tc.Pos, msg)
				}
			})
		}
	}
}

// jsonValues turns YAML values into what JSON would carry: dates as
// 2006-01-02 strings.
func jsonValues(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if t, ok := v.(time.Time); ok {
			v = t.Format("2006-01-02")
		}
		if l, ok := v.([]any); ok {
			ss := make([]string, len(l))
			for i, x := range l {
				ss[i] = fmt.Sprint(x)
			}
			v = ss
		}
		out[k] = v
	}
	return out
}

// unmet lists the expectations of a ruleset test the outcome does not meet.
func unmet(x rulefile.Expect, o bench.Outcome) []string {
	var out []string
	fired := map[string]bool{}
	var knockouts []string
	for _, f := range o.Knockouts {
		knockouts = append(knockouts, f.Rule)
	}
	for _, f := range o.Matched {
		fired[f.Rule] = true
	}
	if x.Tier != nil && *x.Tier != o.Tier {
		out = append(out, fmt.Sprintf("tier %s; want %s", o.Tier, *x.Tier))
	}
	if x.Qualified != nil && *x.Qualified != o.Qualified {
		out = append(out, fmt.Sprintf("qualified %v; want %v", o.Qualified, *x.Qualified))
	}
	if x.Score != nil && *x.Score != o.Score {
		out = append(out, fmt.Sprintf("score %d; want %d", o.Score, *x.Score))
	}
	if x.Knockouts != nil {
		want := slices.Clone(x.Knockouts)
		sort.Strings(want)
		sort.Strings(knockouts)
		if !slices.Equal(knockouts, want) && (len(knockouts) > 0 || len(want) > 0) {
			out = append(out, fmt.Sprintf("knockouts %v; want %v", knockouts, want))
		}
	}
	for _, r := range x.Matched {
		if !fired[r] {
			out = append(out, fmt.Sprintf("rule %s did not fire; want it to", r))
		}
	}
	for _, r := range x.NotMatched {
		if fired[r] {
			out = append(out, fmt.Sprintf("rule %s fired; want it not to", r))
		}
	}
	return out
}

// TestFreeMailMatchesLeadq checks the free-mail list the other engines use
// against leadq's is_free_email, and the Rego policy's copy against it.
func TestFreeMailMatchesLeadq(t *testing.T) {
	for _, d := range freemail.Domains {
		if !eval.IsFreeEmail("someone@" + d) {
			t.Errorf("leadq does not treat %s as free mail; remove it from package freemail", d)
		}
	}
	for _, d := range []string{"gmail.co", "mail.google.com", "example.com", "outlook.de", ""} {
		if eval.IsFreeEmail("someone@"+d) != freemail.Is(d) {
			t.Errorf("free mail %q: leadq says %v, package freemail %v", d, eval.IsFreeEmail("someone@"+d), freemail.Is(d))
		}
	}
	rs, err := rego.New(rego.Query("data.leadq.b2b.free_mail_domains"), rego.Module("b2b_saas.rego", oparules.Policy)).
		Eval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var inRego []string
	for _, v := range rs[0].Expressions[0].Value.([]any) {
		inRego = append(inRego, v.(string))
	}
	sort.Strings(inRego)
	want := slices.Clone(freemail.Domains)
	sort.Strings(want)
	if diff := cmp.Diff(want, inRego); diff != "" {
		t.Errorf("free_mail_domains in b2b_saas.rego differ from package freemail (-freemail +rego):\n%s", diff)
	}
}

// TestDiffReportsEveryDifference keeps the agreement check honest: a change
// to any part of an outcome is reported.
func TestDiffReportsEveryDifference(t *testing.T) {
	base := func() bench.Outcome {
		return bench.Outcome{Score: 80, Fit: 45, Engagement: 25, Tier: "A", Qualified: true,
			Knockouts: []bench.Fired{},
			Matched:   []bench.Fired{{"target-industry", "fintech is one"}, {"demo-requested", "Requested a demo"}},
			Missed:    []string{"enterprise", "trial-started"}}
	}
	if d := bench.Diff(base(), base()); d != "" {
		t.Fatalf("Diff of equal outcomes = %q; want \"\"", d)
	}
	changes := map[string]func(o *bench.Outcome){
		"score":      func(o *bench.Outcome) { o.Score++ },
		"fit":        func(o *bench.Outcome) { o.Fit-- },
		"engagement": func(o *bench.Outcome) { o.Engagement++ },
		"tier":       func(o *bench.Outcome) { o.Tier = "B" },
		"qualified":  func(o *bench.Outcome) { o.Qualified = false },
		"extra knockout": func(o *bench.Outcome) {
			o.Knockouts = append(o.Knockouts, bench.Fired{"competitor", "x"})
		},
		"missing rule": func(o *bench.Outcome) { o.Matched = o.Matched[:1] },
		"extra rule":   func(o *bench.Outcome) { o.Matched = append(o.Matched, bench.Fired{"stale", "x"}) },
		"reason":       func(o *bench.Outcome) { o.Matched[0].Reason = "Fintech is one" },
		"order":        func(o *bench.Outcome) { o.Matched[0], o.Matched[1] = o.Matched[1], o.Matched[0] },
		"missed":       func(o *bench.Outcome) { o.Missed = o.Missed[1:] },
		"missed order": func(o *bench.Outcome) { o.Missed[0], o.Missed[1] = o.Missed[1], o.Missed[0] },
	}
	for name, change := range changes {
		got := base()
		change(&got)
		if d := bench.Diff(got, base()); strings.TrimSpace(d) == "" {
			t.Errorf("%s: Diff = \"\"; want the change reported", name)
		}
	}
}

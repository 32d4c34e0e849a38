package engine_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/compiler"
	"github.com/leadq/leadq/rules/rulefile"
)

// exampleRulesets parses every example ruleset, grouped by ruleset name.
func exampleRulesets(t *testing.T) map[string][]*rulefile.File {
	t.Helper()
	files, errs := rulefile.ParsePaths("../examples/rulesets", "../examples/derived")
	if err := errs.Err(); err != nil {
		t.Fatal(err)
	}
	out := map[string][]*rulefile.File{}
	for _, f := range files {
		out[f.Ruleset.Value] = append(out[f.Ruleset.Value], f)
	}
	return out
}

var (
	stringLit = regexp.MustCompile(`"([^"\\]*)"`)
	numberLit = regexp.MustCompile(`\b\d+(\.\d+)?\b`)
)

// leadGen makes random leads for a ruleset: each declared field missing
// with a chance that varies from lead to lead, else a value drawn from the constants its rules
// compare with (and their neighbours), so that rules fire and miss alike.
type leadGen struct {
	rnd     *rand.Rand
	words   []string
	numbers []float64
}

func newLeadGen(seed uint64, files []*rulefile.File) *leadGen {
	g := &leadGen{rnd: rand.New(rand.NewPCG(seed, 16)), words: []string{"other", ""}, numbers: []float64{0, 1, 3}}
	add := func(expr string) {
		for _, m := range stringLit.FindAllStringSubmatch(expr, -1) {
			g.words = append(g.words, m[1])
		}
		for _, m := range numberLit.FindAllString(expr, -1) {
			if x, err := strconv.ParseFloat(m, 64); err == nil {
				g.numbers = append(g.numbers, x, x-1, x+1, x*2)
			}
		}
	}
	for _, f := range files {
		for _, l := range f.Lists {
			for _, v := range l.Values {
				switch x := v.(type) {
				case string:
					g.words = append(g.words, x)
				case int:
					g.numbers = append(g.numbers, float64(x))
				case float64:
					g.numbers = append(g.numbers, x)
				}
			}
		}
		for _, r := range append(slices.Clone(f.Knockouts), f.Score...) {
			add(r.When.Value)
		}
		for _, m := range f.Macros {
			add(m.Expr.Value)
		}
	}
	return g
}

func (g *leadGen) lead(rs *rules.Ruleset, now time.Time) engine.Input {
	in := engine.Input{Lead: map[string]any{}, Account: map[string]any{}, Now: now}
	known := g.rnd.Float64() // from leads that say almost nothing to leads that say everything
	for _, f := range rs.Fields {
		if g.rnd.Float64() > known {
			continue
		}
		var v any
		switch f.Type {
		case rulefile.TypeString:
			w := g.words[g.rnd.IntN(len(g.words))]
			if strings.HasSuffix(f.Key, "email") && !strings.Contains(w, "@") {
				w = "x@" + w
			}
			v = w
		case rulefile.TypeInt:
			v = int(g.numbers[g.rnd.IntN(len(g.numbers))])
		case rulefile.TypeFloat:
			v = g.numbers[g.rnd.IntN(len(g.numbers))]
		case rulefile.TypeBool:
			v = g.rnd.IntN(2) == 0
		case rulefile.TypeDate:
			v = now.AddDate(0, 0, -int(g.numbers[g.rnd.IntN(len(g.numbers))])).Format("2006-01-02")
		case rulefile.TypeList:
			var items []any
			for range g.rnd.IntN(4) {
				items = append(items, g.words[g.rnd.IntN(len(g.words))])
			}
			v = items
		}
		if f.Namespace == "account" {
			in.Account[f.Key] = v
		} else {
			in.Lead[f.Key] = v
		}
	}
	return in
}

// with returns a copy of the lead with field (lead.x or account.x) set to
// v, as a rep would change it.
func with(in engine.Input, field string, v any) engine.Input {
	out := in
	out.Lead, out.Account = maps.Clone(in.Lead), maps.Clone(in.Account)
	if key, ok := strings.CutPrefix(field, "account."); ok {
		out.Account[key] = v
	} else {
		out.Lead[strings.TrimPrefix(field, "lead.")] = v
	}
	return out
}

// TestCounterfactualQualifies is the counterfactual's promise, checked on
// the lead's data with the unchanged ruleset, for random leads over every
// example ruleset: setting each suggested field to the suggested value
// and scoring again qualifies the lead, by the points the changes say they
// add, with the rules they say they make true and false; a change of a
// field the lead lacks says so; no single value the counterfactual tries
// qualifies the lead when it suggests more than one change, nor when it
// suggests none; a knocked-out lead is told only its knockouts; a
// qualified lead nothing.
func TestCounterfactualQualifies(t *testing.T) {
	leads := 1000
	if testing.Short() {
		leads = 200
	}
	for name, files := range exampleRulesets(t) {
		t.Run(name, func(t *testing.T) {
			checkQualifies(t, files, uint64(len(name)), leads)
		})
	}
}

// checkQualifies checks the counterfactual's promise (see
// TestCounterfactualQualifies) for leads random leads of the ruleset of
// files, drawn from seed.
func checkQualifies(t *testing.T, files []*rulefile.File, seed uint64, leads int) {
	t.Helper()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	opts := engine.Options{Clock: func() time.Time { return now }}
	compiled, err := compiler.Compiler{}.Compile(files...)
	if err != nil {
		t.Fatal(err)
	}
	rs := engine.NewRuleset(compiled)
	gen := newLeadGen(seed, files)
	counts := map[string]int{}
	for i := range leads {
		in := gen.lead(rs.Ruleset, now)
		d, err := rs.Score(ctx, in, opts)
		if err != nil {
			t.Fatal(err)
		}
		cf := d.WouldQualify
		what := fmt.Sprintf("lead %d %v %v (tier %s, score %d)", i, in.Lead, in.Account, d.Tier, d.Score)
		switch {
		case d.Qualified:
			counts["qualified"]++
			if !cf.IsZero() {
				t.Errorf("%s: qualified, yet told %+v", what, cf)
			}
			continue
		case len(d.Knockouts) > 0:
			counts["knocked out"]++
			if len(cf.Knockouts) != len(d.Knockouts) || cf.Tier != "" || cf.Changes != nil || cf.Verify != nil {
				t.Errorf("%s: knocked out by %d rules; told %+v, want only the knockouts", what, len(d.Knockouts), cf)
			}
			continue
		}
		if len(cf.Verify) > 0 {
			counts["with rules to verify"]++
		}
		qualifiesAlone := func() string {
			brief := opts // the verdict is all it reads
			brief.Detail = engine.Brief
			for field, values := range rs.WhatIfValues(in, now) {
				for _, v := range values {
					if one, _ := rs.Score(ctx, with(in, field, v), brief); one.Qualified {
						return fmt.Sprintf("%s = %v", field, v)
					}
				}
			}
			return ""
		}
		if len(cf.Changes) == 0 {
			counts["cannot qualify"]++
			if one := qualifiesAlone(); one != "" && cf.Tier != "" {
				t.Errorf("%s: no changes suggested, but %s alone qualifies it", what, one)
			}
			continue
		}
		counts[fmt.Sprintf("%d changes", len(cf.Changes))]++
		after, adds := in, 0
		for _, c := range cf.Changes {
			after = with(after, c.Field, c.Value)
			adds += c.Adds
			key := strings.TrimPrefix(strings.TrimPrefix(c.Field, "lead."), "account.")
			src := in.Lead
			if strings.HasPrefix(c.Field, "account.") {
				src = in.Account
			}
			if _, had := src[key]; had == c.Unknown {
				t.Errorf("%s: change of %s says unknown=%v; the lead has it: %v", what, c.Field, c.Unknown, had)
			}
			if c.Adds < 0 {
				t.Errorf("%s: change %+v takes points away", what, c)
			}
		}
		got, err := rs.Score(ctx, after, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Qualified {
			t.Errorf("%s: with %+v: tier %s, score %d, knockouts %v, not qualified", what, cf.Changes, got.Tier, got.Score, got.Knockouts)
		}
		if got.Score-d.Score != adds {
			t.Errorf("%s: with %+v the score is %d (%+d), not %+d as the changes add", what, cf.Changes, got.Score, got.Score-d.Score, adds)
		}
		matched := map[string]bool{}
		for _, h := range got.Matched {
			matched[h.Rule] = true
		}
		for _, c := range cf.Changes {
			for _, r := range c.MakesTrue {
				if !matched[r] {
					t.Errorf("%s: %s = %v says it makes %s true; it did not fire", what, c.Field, c.Value, r)
				}
			}
			for _, r := range c.MakesFalse {
				if matched[r] {
					t.Errorf("%s: %s = %v says it makes %s false; it still fired", what, c.Field, c.Value, r)
				}
			}
		}
		// Each change counts: without it, the others add less (a
		// change adds 0 after the ones before it only when it
		// counts with one after it).
		for j, c := range cf.Changes {
			without := in
			for k, o := range cf.Changes {
				if k != j {
					without = with(without, o.Field, o.Value)
				}
			}
			if w, _ := rs.Score(ctx, without, opts); w.Score >= got.Score {
				t.Errorf("%s: %+v: without %s the score is %d, not less than %d", what, cf.Changes, c.Field, w.Score, got.Score)
			}
		}
		if len(cf.Changes) > 1 {
			if one := qualifiesAlone(); one != "" {
				t.Errorf("%s: %d changes suggested, but %s alone qualifies it", what, len(cf.Changes), one)
			}
		}
	}
	t.Logf("%s: %v", files[0].Ruleset.Value, counts)
}

// TestFlatLeadWithAccount: a lead sent with its fields at the top and an
// "account" object beside them is that lead with that account (it was read
// as an envelope without a lead: every lead field missing, tier D, no
// word), with a warning; strict refuses it. JSON and maps agree.
func TestFlatLeadWithAccount(t *testing.T) {
	ctx := context.Background()
	all, err := rules.LoadPaths("testdata/rulesets")
	if err != nil {
		t.Fatal(err)
	}
	var rs *engine.Ruleset
	for _, r := range all {
		if r.Name == "b2b-saas" {
			rs = engine.NewRuleset(r)
		}
	}
	envelope := `{"id": "F-1", "lead": {"email": "kim@acme.example", "employees": 500, "industry": "software", "country": "US"}, "account": {"is_customer": false, "open_opportunities": 2}}`
	want, err := rs.ScoreJSON(ctx, []byte(envelope), engine.Options{Clock: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	for _, flat := range []string{
		`{"id": "F-1", "email": "kim@acme.example", "employees": 500, "industry": "software", "country": "US", "account": {"is_customer": false, "open_opportunities": 2}}`,
		`{"account": {"is_customer": false, "open_opportunities": 2}, "id": "F-1", "email": "kim@acme.example", "employees": 500, "industry": "software", "country": "US"}`,
	} {
		got, err := rs.ScoreJSON(ctx, []byte(flat), engine.Options{Clock: func() time.Time { return fixedNow }})
		if err != nil {
			t.Fatal(err)
		}
		in, err := engine.ParseInput([]byte(flat))
		if err != nil {
			t.Fatal(err)
		}
		fromMap, err := rs.Score(ctx, in, engine.Options{Clock: func() time.Time { return fixedNow }})
		if err != nil {
			t.Fatal(err)
		}
		for how, d := range map[string]engine.Decision{"json": got, "map": fromMap} {
			if d.Score != want.Score || d.Tier != want.Tier || d.LeadID != "F-1" || !slices.Equal(d.MissingFields, want.MissingFields) {
				t.Errorf("%s %s: tier %s score %d id %q missing %v; want the envelope's tier %s score %d", how, flat, d.Tier, d.Score, d.LeadID, d.MissingFields, want.Tier, want.Score)
			}
			if len(d.Warnings) != 1 || d.Warnings[0].Field != "account" {
				t.Errorf("%s %s: warnings %v; want one about the flat lead's account", how, flat, d.Warnings)
			}
		}
		if _, err := rs.ScoreJSON(ctx, []byte(flat), engine.Options{Strict: true}); err == nil || !strings.Contains(err.Error(), "account") {
			t.Errorf("strict %s: error %v; want the flat lead refused", flat, err)
		}
	}
	// An account alone is still an envelope without a lead.
	if d, err := rs.ScoreJSON(ctx, []byte(`{"id": "A", "account": {"is_customer": true}}`), engine.Options{Strict: true}); err != nil || len(d.Warnings) != 0 {
		t.Errorf("an account alone: %v, warnings %v; want it scored without a word", err, d.Warnings)
	}
}

// TestCounterfactualChanges: what a rep is told for the cases the
// counterfactual exists for, each on a ruleset of a few rules.
func TestCounterfactualChanges(t *testing.T) {
	const fields = `
fields:
  lead.employees: {type: int, label: Employees}
  lead.demo_requested: bool
  lead.seniority: string
  lead.title: string
  lead.page_views: int
  lead.a: int
  lead.b: int
  lead.c: int
`
	type change struct {
		field      string
		value      any
		unknown    bool
		from       string
		adds       int
		makesTrue  []string
		makesFalse []string
	}
	for _, tc := range []struct {
		name, rules string
		lead        map[string]any
		want        []change
		knockouts   []string
		verify      []string
	}{{
		name: "exclusive bands: one band, the one that qualifies",
		rules: `
score:
  - {id: mid-market, group: fit, when: lead.employees >= 100 && lead.employees < 1000, points: 15}
  - {id: enterprise, group: fit, when: lead.employees >= 1000, points: 20}
tiers: [{name: A, min: 20}, {name: B}]`,
		lead: map[string]any{"employees": 50},
		want: []change{{field: "lead.employees", value: 1000, from: "50", adds: 20, makesTrue: []string{"enterprise"}}},
	}, {
		name: "a band replaces the matched one: it adds the difference",
		rules: `
score:
  - {id: mid-market, group: fit, when: lead.employees >= 100 && lead.employees < 1000, points: 15}
  - {id: enterprise, group: fit, when: lead.employees >= 1000, points: 20}
tiers: [{name: A, min: 20}, {name: B}]`,
		lead: map[string]any{"employees": 500},
		want: []change{{field: "lead.employees", value: 1000, from: "500", adds: 5, makesTrue: []string{"enterprise"}, makesFalse: []string{"mid-market"}}},
	}, {
		name: "a value that fires a knockout is never offered",
		rules: `
knockouts:
  - {id: too-small, when: lead.employees < 10, reason: Too small}
score:
  - {id: small-team, when: lead.employees < 50, points: 30}
tiers: [{name: A, min: 30}, {name: B}]`,
		lead: map[string]any{},
		want: []change{{field: "lead.employees", value: 10, unknown: true, adds: 30, makesTrue: []string{"small-team"}}},
	}, {
		name: "a rule only barred values make true: nothing to offer, nothing to verify",
		rules: `
knockouts:
  - {id: too-small, when: lead.employees < 10, reason: Too small}
score:
  - {id: tiny, when: lead.employees < 5, points: 50}
tiers: [{name: A, min: 50}, {name: B}]`,
		lead: map[string]any{"employees": 20},
	}, {
		name: "unknown: ask the lead or enrich",
		rules: `
score:
  - {id: demo, when: lead.demo_requested, points: 25}
tiers: [{name: A, min: 25}, {name: B}]`,
		lead: map[string]any{},
		want: []change{{field: "lead.demo_requested", value: true, unknown: true, adds: 25, makesTrue: []string{"demo"}}},
	}, {
		name: "known, and not true",
		rules: `
score:
  - {id: demo, when: lead.demo_requested, points: 25}
tiers: [{name: A, min: 25}, {name: B}]`,
		lead: map[string]any{"demo_requested": false},
		want: []change{{field: "lead.demo_requested", value: true, from: "no", adds: 25, makesTrue: []string{"demo"}}},
	}, {
		name: "a rule its group's cap leaves at 0 is not offered",
		rules: `
score:
  - {id: fit-a, group: fit, when: lead.a >= 1, points: 20}
  - {id: fit-b, group: fit, when: lead.b >= 1, points: 15}
  - {id: other, when: lead.c >= 1, points: 10}
groups:
  fit: {max: 20}
tiers: [{name: A, min: 30}, {name: B}]`,
		lead: map[string]any{"a": 1, "b": 0, "c": 0},
		want: []change{{field: "lead.c", value: 1, from: "0", adds: 10, makesTrue: []string{"other"}}},
	}, {
		name: "a rule of two fields takes two changes",
		rules: `
score:
  - {id: engaged-exec, when: lead.seniority == "vp" && lead.demo_requested, points: 30}
tiers: [{name: A, min: 30}, {name: B}]`,
		lead: map[string]any{"seniority": "manager", "demo_requested": false},
		want: []change{
			{field: "lead.demo_requested", value: true, from: "no", adds: 0, makesTrue: []string{"engaged-exec"}},
			{field: "lead.seniority", value: "vp", from: "manager", adds: 30, makesTrue: []string{"engaged-exec"}},
		},
	}, {
		name: "a negative rule the change clears counts too",
		rules: `
score:
  - {id: heavy, when: lead.page_views >= 20, points: 10}
  - {id: cold, when: lead.page_views < 2, points: -10}
tiers: [{name: A, min: 5}, {name: B}]`,
		lead: map[string]any{"page_views": 0},
		want: []change{{field: "lead.page_views", value: 20, from: "0", adds: 20, makesTrue: []string{"heavy"}, makesFalse: []string{"cold"}}},
	}, {
		name: "a pattern's literal parts spell the value",
		rules: `
score:
  - {id: vp-title, when: 'lead.title matches "(?i)\\bvp\\b"', points: 10}
tiers: [{name: A, min: 10}, {name: B}]`,
		lead: map[string]any{"title": "Engineer"},
		want: []change{{field: "lead.title", value: "vp", from: "Engineer", adds: 10, makesTrue: []string{"vp-title"}}},
	}, {
		name: "a field compared with another: to verify by hand",
		rules: `
score:
  - {id: a-over-b, when: lead.a > lead.b, points: 30}
tiers: [{name: A, min: 30}, {name: B}]`,
		lead:   map[string]any{"a": 1, "b": 2},
		verify: []string{"a-over-b"},
	}, {
		name: "a knocked-out lead is told its knockouts only",
		rules: `
knockouts:
  - {id: too-small, when: lead.employees < 10, reason: Too small}
score:
  - {id: demo, when: lead.demo_requested, points: 25}
tiers: [{name: A, min: 25}, {name: B}]`,
		lead:      map[string]any{"employees": 5},
		knockouts: []string{"too-small"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := rules.Parse("t.yaml", []byte("ruleset: t\n"+fields+tc.rules))
			if err != nil {
				t.Fatal(err)
			}
			compiled, err := rules.Compile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := engine.NewRuleset(compiled).Score(context.Background(), engine.Input{Lead: tc.lead}, engine.Options{Clock: func() time.Time { return fixedNow }})
			if err != nil {
				t.Fatal(err)
			}
			cf := d.WouldQualify
			var got []change
			for _, c := range cf.Changes {
				got = append(got, change{c.Field, c.Value, c.Unknown, c.From, c.Adds, c.MakesTrue, c.MakesFalse})
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(change{})); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if !slices.Equal(cf.Knockouts, tc.knockouts) || !slices.Equal(cf.Verify, tc.verify) {
				t.Errorf("knockouts %v, verify %v; want %v, %v", cf.Knockouts, cf.Verify, tc.knockouts, tc.verify)
			}
			for _, c := range cf.Changes {
				if c.Field == "lead.employees" && c.Label != "Employees" {
					t.Errorf("change of %s: label %q; want the field's label", c.Field, c.Label)
				}
			}
		})
	}
}

// TestCounterfactualLargeRulesets checks the counterfactual's promise on
// generated rulesets larger than the examples: a field read by more than
// 64 rules that read another field too, and by more than 64 rules that
// read only it, with their points spread over a capped group, an uncapped
// one and no group.
func TestCounterfactualLargeRulesets(t *testing.T) {
	leads := 300
	if testing.Short() || raceEnabled {
		leads = 100
	}
	for _, tc := range []struct {
		name           string
		pairs, singles int // rules employees >= N && page_views >= M; rules employees >= N
	}{
		{"pairs", 80, 0},
		{"singles", 0, 80},
		{"both", 70, 70},
		{"many pairs", 200, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := largeRuleset(tc.pairs, tc.singles)
			f, err := rulefile.Parse("large.yaml", []byte(src))
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			checkQualifies(t, []*rulefile.File{f}, uint64(tc.pairs*1000+tc.singles), leads)
		})
	}
}

// largeRuleset returns the source of a ruleset with pairs rules that read
// lead.employees and lead.page_views and singles rules that read only
// lead.employees, and a few rules of other fields after them.
func largeRuleset(pairs, singles int) string {
	var b strings.Builder
	b.WriteString(`ruleset: large
fields:
  lead.employees: int
  lead.page_views: int
  lead.country: string
  lead.demo_requested: bool
groups:
  fit: {max: 120}
  engagement: {min: -10}
knockouts:
  - id: too-small
    when: lead.employees < 3
    reason: too small
score:
`)
	group := func(i int) string {
		switch i % 3 {
		case 0:
			return "\n    group: fit"
		case 1:
			return "\n    group: engagement"
		}
		return ""
	}
	for i := range pairs {
		points := 1 + i%4
		if i%11 == 5 {
			points = -2
		}
		fmt.Fprintf(&b, "  - id: pair-%d%s\n    when: lead.employees >= %d && lead.page_views >= %d\n    points: %d\n    reason: pair\n",
			i, group(i), 5+7*i, (i*13)%60, points)
	}
	for i := range singles {
		points := 1 + i%3
		if i%9 == 4 {
			points = -1
		}
		fmt.Fprintf(&b, "  - id: single-%d%s\n    when: lead.employees >= %d\n    points: %d\n    reason: single\n",
			i, group(i+1), 4+11*i, points)
	}
	b.WriteString(`  - id: us
    when: lead.country == "US"
    points: 10
    reason: us
  - id: demo
    group: engagement
    when: lead.demo_requested
    points: 15
    reason: demo
tiers:
  - {name: A, min: 90}
  - {name: B, min: 60}
  - {name: C, min: 30}
  - {name: D}
qualify: tier in ["A", "B"]
`)
	return b.String()
}

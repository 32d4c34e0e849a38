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
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	opts := engine.Options{Clock: func() time.Time { return now }}
	leads := 1000
	if testing.Short() {
		leads = 200
	}
	for name, files := range exampleRulesets(t) {
		t.Run(name, func(t *testing.T) {
			compiled, err := compiler.Compiler{}.Compile(files...)
			if err != nil {
				t.Fatal(err)
			}
			rs := engine.NewRuleset(compiled)
			gen := newLeadGen(uint64(len(name)), files)
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
					for field, values := range rs.WhatIfValues(in, now) {
						for _, v := range values {
							if one, _ := rs.Score(ctx, with(in, field, v), opts); one.Qualified {
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
			t.Logf("%s: %v", name, counts)
		})
	}
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

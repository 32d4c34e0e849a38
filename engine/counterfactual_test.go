package engine_test

import (
	"context"
	"fmt"
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

// forcing compiles a ruleset with the given score rules made true
// (when: true), as if the lead had changed so that each holds: the
// counterfactual's changes applied through the real compiler and engine.
type forcing struct {
	t     *testing.T
	files []*rulefile.File
	cache map[string]*engine.Ruleset
}

func (f *forcing) with(ids ...string) *engine.Ruleset {
	f.t.Helper()
	key := strings.Join(slices.Sorted(slices.Values(ids)), ",")
	if rs, ok := f.cache[key]; ok {
		return rs
	}
	var files []*rulefile.File
	for _, file := range f.files {
		c := *file
		c.Score = make([]*rulefile.RuleDecl, len(file.Score))
		for i, r := range file.Score {
			rc := *r
			if slices.Contains(ids, r.ID) {
				rc.When = rulefile.Text{Value: "true", Pos: r.When.Pos}
			}
			c.Score[i] = &rc
		}
		files = append(files, &c)
	}
	rs, err := compiler.Compiler{}.Compile(files...)
	if err != nil {
		f.t.Fatalf("compile with %v true: %v", ids, err)
	}
	f.cache[key] = engine.NewRuleset(rs)
	return f.cache[key]
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

// TestCounterfactualQualifies is the counterfactual's promise, checked
// through the real compiler and engine, for random leads over every
// example ruleset: making the suggested rules true qualifies the lead; no
// single missed rule does when more than one is suggested; each missed
// rule adds what it says (its group's caps included); when nothing is
// suggested, not even every missed rule that adds points together
// qualifies; a knocked-out lead is told only its knockouts; a qualified
// lead nothing.
func TestCounterfactualQualifies(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	leads := 1000
	if testing.Short() {
		leads = 200
	}
	for name, files := range exampleRulesets(t) {
		t.Run(name, func(t *testing.T) {
			force := &forcing{t: t, files: files, cache: map[string]*engine.Ruleset{}}
			rs := force.with()
			gen := newLeadGen(uint64(len(name)), files)
			counts := map[string]int{}
			for i := range leads {
				in := gen.lead(rs.Ruleset, now)
				d, err := rs.Score(ctx, in, engine.Options{})
				if err != nil {
					t.Fatal(err)
				}
				cf := d.WouldQualify
				what := fmt.Sprintf("lead %d %v (tier %s, score %d)", i, in.Lead, d.Tier, d.Score)
				switch {
				case d.Qualified:
					counts["qualified"]++
					if !cf.IsZero() {
						t.Errorf("%s: qualified, yet told %+v", what, cf)
					}
					continue
				case len(d.Knockouts) > 0:
					counts["knocked out"]++
					if len(cf.Knockouts) != len(d.Knockouts) || cf.Tier != "" || cf.Changes != nil {
						t.Errorf("%s: knocked out by %d rules; told %+v, want only the knockouts", what, len(d.Knockouts), cf)
					}
					continue
				}
				var offered []string // the missed rules that would add points
				for j, m := range d.Missed {
					if m.Adds > 0 {
						offered = append(offered, m.Rule)
					}
					if j >= 6 {
						continue // the largest, each alone, through the compiler
					}
					after, _ := force.with(m.Rule).Score(ctx, in, engine.Options{})
					if after.Score-d.Score != m.Adds {
						t.Errorf("%s: %s says it adds %d; with it true the score is %d (%+d)", what, m.Rule, m.Adds, after.Score, after.Score-d.Score)
					}
				}
				if len(cf.Changes) == 0 {
					counts["cannot qualify"]++
					if after, _ := force.with(offered...).Score(ctx, in, engine.Options{}); after.Qualified {
						t.Errorf("%s: no changes suggested, but making every offered rule true qualifies it", what)
					}
					continue
				}
				counts[fmt.Sprintf("%d changes", len(cf.Changes))]++
				var ids []string
				for _, g := range cf.Changes {
					ids = append(ids, g.Rule)
				}
				after, _ := force.with(ids...).Score(ctx, in, engine.Options{})
				if !after.Qualified {
					t.Errorf("%s: with %v true: %s, score %d, not qualified", what, ids, after.Tier, after.Score)
				}
				if len(ids) > 1 {
					for _, rule := range offered {
						if one, _ := force.with(rule).Score(ctx, in, engine.Options{}); one.Qualified {
							t.Errorf("%s: %d changes suggested, but %s alone qualifies it", what, len(ids), rule)
						}
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

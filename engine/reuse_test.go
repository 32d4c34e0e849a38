package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules/compiler"
)

// reuseLeads are JSON requests for every example ruleset: random leads
// (leadGen), with the engine's example leads for b2b-saas, and a line that
// is not a lead now and then (ScoreJSONInto then zeroes the decision).
func reuseLeads(t *testing.T, name string, rs *engine.Ruleset, n int) [][]byte {
	t.Helper()
	var out [][]byte
	if name == "b2b-saas" {
		files, err := filepath.Glob("testdata/decisions/*.lead.json")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data)
		}
	}
	gen := newLeadGen(uint64(len(name))+7, exampleRulesets(t)[name])
	for i := range n {
		in := gen.lead(rs.Ruleset, fixedNow)
		req := map[string]any{"id": fmt.Sprintf("lead-%d", i), "lead": in.Lead}
		if len(in.Account) > 0 {
			req["account"] = in.Account
		}
		data, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
		if i%97 == 13 {
			out = append(out, []byte(`{"lead": [}`))
		}
	}
	return out
}

// cloneDecision is what a caller that keeps a decision while reusing d
// keeps: d with every slice copied.
func cloneDecision(d engine.Decision) engine.Decision {
	d.Groups = slices.Clone(d.Groups)
	d.Knockouts, d.Matched = slices.Clone(d.Knockouts), slices.Clone(d.Matched)
	d.Missed = slices.Clone(d.Missed)
	for i := range d.Missed {
		d.Missed[i].MissingFields = slices.Clone(d.Missed[i].MissingFields)
	}
	d.MissingFields = slices.Clone(d.MissingFields)
	d.Errors, d.Warnings = slices.Clone(d.Errors), slices.Clone(d.Warnings)
	return d
}

// reuseWay is a way of scoring a JSON request afresh and into a reused
// decision: JSON bytes (ScoreJSON, ScoreJSONInto) or the maps ParseInput
// makes of them (Score, ScoreInto).
type reuseWay struct {
	name  string
	fresh func(rs *engine.Ruleset, ctx context.Context, data []byte, opts engine.Options) (engine.Decision, error)
	into  func(rs *engine.Ruleset, ctx context.Context, data []byte, opts engine.Options, d *engine.Decision) error
}

// reuseWays are the two ways of scoring, in the order the test tries them.
func reuseWays() []reuseWay {
	return []reuseWay{
		{
			name:  "json",
			fresh: (*engine.Ruleset).ScoreJSON,
			into:  (*engine.Ruleset).ScoreJSONInto,
		},
		{
			name: "maps",
			fresh: func(rs *engine.Ruleset, ctx context.Context, data []byte, opts engine.Options) (engine.Decision, error) {
				in, err := engine.ParseInput(data)
				if err != nil {
					return engine.Decision{}, err
				}
				return rs.Score(ctx, in, opts)
			},
			into: func(rs *engine.Ruleset, ctx context.Context, data []byte, opts engine.Options, d *engine.Decision) error {
				in, err := engine.ParseInput(data)
				if err != nil {
					*d = engine.Decision{} // as ScoreInto leaves it on error
					return err
				}
				return rs.ScoreInto(ctx, in, opts, d)
			},
		},
	}
}

// A decision reused for lead after lead (ScoreJSONInto, ScoreInto) is,
// for every lead of every example ruleset and in both details, the
// decision ScoreJSON (Score) makes: equal field for field (nil and empty
// alike told apart), with the same JSON from Ruleset.AppendJSON,
// Decision.AppendJSON and encoding/json's reflection. Appending to any of
// its lists changes no other. A copy the caller kept of the previous
// decision, and the fresh decision, are unchanged by the next scoring
// into d.
func TestScoreIntoReuses(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 40
	}
	for name, files := range exampleRulesets(t) {
		compiled, err := compiler.Compiler{}.Compile(files...)
		if err != nil {
			t.Fatal(err)
		}
		rs := engine.NewRuleset(compiled)
		leads := reuseLeads(t, name, rs, n)
		for _, way := range reuseWays() {
			for _, detail := range []engine.Detail{engine.Full, engine.Brief} {
				t.Run(fmt.Sprintf("%s/%s/detail=%d", name, way.name, detail), func(t *testing.T) {
					t.Parallel()
					testReuse(t, way, rs, leads, engine.Options{Detail: detail, Clock: func() time.Time { return fixedNow }})
				})
			}
		}
	}
}

func testReuse(t *testing.T, way reuseWay, rs *engine.Ruleset, leads [][]byte, opts engine.Options) {
	t.Helper()
	ctx := context.Background()
	var d engine.Decision
	var kept, fresh engine.Decision
	var keptJSON, freshJSON []byte
	for i, data := range leads {
		want, wantErr := way.fresh(rs, ctx, data, opts)
		err := way.into(rs, ctx, data, opts, &d)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("lead %d: scoring into a reused decision: error %v; afresh: %v", i, err, wantErr)
		}
		if diff := cmp.Diff(want, d); diff != "" {
			t.Fatalf("lead %d %s: reused decision differs from a fresh one (-fresh +reused):\n%s", i, data, diff)
		}
		if i > 0 {
			if got := kept.AppendJSON(nil); !bytes.Equal(got, keptJSON) {
				t.Fatalf("lead %d: the copy kept of the previous decision changed:\n%s\nwas\n%s", i, got, keptJSON)
			}
			if got := fresh.AppendJSON(nil); !bytes.Equal(got, freshJSON) {
				t.Fatalf("lead %d: the previous fresh decision changed:\n%s\nwas\n%s", i, got, freshJSON)
			}
		}
		if err != nil {
			continue
		}
		wantJSON := rs.AppendJSON(nil, &want)
		for how, got := range map[string][]byte{"Ruleset.AppendJSON": rs.AppendJSON(nil, &d), "Decision.AppendJSON": d.AppendJSON(nil)} {
			if !bytes.Equal(got, wantJSON) {
				t.Fatalf("lead %d: %s of the reused decision:\n%s\nwant\n%s", i, how, got, wantJSON)
			}
		}
		if opts.Detail == engine.Full { // brief JSON leaves fields out
			plain, encoded := fieldsAndJSON(t, d)
			if !bytes.Equal(plain, encoded) {
				t.Fatalf("lead %d: the reused decision's fields say\n%s\nits JSON\n%s", i, plain, encoded)
			}
		}
		appendToEach(t, d, fmt.Sprintf("lead %d", i))
		kept, keptJSON = cloneDecision(d), d.AppendJSON(nil)
		fresh, freshJSON = want, wantJSON
	}
}

// appendToEach appends to each list of d, in turn, and checks that no
// other list of d changed: the lists that share an array are capped to
// their parts, reused or not.
func appendToEach(t *testing.T, d engine.Decision, what string) {
	t.Helper()
	before := cloneDecision(d)
	check := func(list string) {
		t.Helper()
		if diff := cmp.Diff(before, d); diff != "" {
			t.Fatalf("%s: appending to %s changed the decision (-before +after):\n%s", what, list, diff)
		}
	}
	_ = append(d.Knockouts, engine.Hit{Rule: "appended"})
	check("Knockouts")
	_ = append(d.Matched, engine.Hit{Rule: "appended"})
	check("Matched")
	_ = append(d.Missed, engine.Miss{Rule: "appended"})
	check("Missed")
	_ = append(d.MissingFields, "appended")
	check("MissingFields")
	_ = append(d.Groups, engine.GroupTotal{Name: "appended"})
	check("Groups")
	for i := range d.Missed {
		_ = append(d.Missed[i].MissingFields, "appended")
		check(fmt.Sprintf("Missed[%d].MissingFields", i))
	}
}

// Decisions reused on several goroutines at once, one each, over one
// Ruleset (whose scratch space is pooled) are each the fresh decision:
// the engine keeps nothing of a reused decision. Run with -race.
func TestScoreJSONIntoConcurrent(t *testing.T) {
	ctx := context.Background()
	files := exampleRulesets(t)["b2b-saas"]
	compiled, err := compiler.Compiler{}.Compile(files...)
	if err != nil {
		t.Fatal(err)
	}
	rs := engine.NewRuleset(compiled)
	leads := reuseLeads(t, "b2b-saas", rs, 100)
	opts := engine.Options{Clock: func() time.Time { return fixedNow }}
	want := make([][]byte, len(leads))
	for i, data := range leads {
		if d, err := rs.ScoreJSON(ctx, data, opts); err == nil {
			want[i] = rs.AppendJSON(nil, &d)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var d engine.Decision
			for k := range 3 * len(leads) {
				i := (k*(g+1) + g) % len(leads)
				if err := rs.ScoreJSONInto(ctx, leads[i], opts, &d); err != nil {
					if want[i] != nil {
						t.Errorf("goroutine %d, lead %d: %v", g, i, err)
					}
					continue
				}
				if got := rs.AppendJSON(nil, &d); !bytes.Equal(got, want[i]) {
					t.Errorf("goroutine %d, lead %d:\n%s\nwant\n%s", g, i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

// A decision scored into and then refused (strict mode, a field of the
// wrong type) is the zero Decision, whichever way it was scored: nothing
// of the previous lead is left in it.
func TestScoreIntoRefusedIsZero(t *testing.T) {
	ctx := context.Background()
	rs, err := exampleEngine(t).Ruleset("b2b-saas")
	if err != nil {
		t.Fatal(err)
	}
	good := []byte(`{"id": "good", "lead": {"employees": 500, "industry": "fintech"}}`)
	bad := []byte(`{"id": "bad", "lead": {"employees": "many"}}`)
	opts := engine.Options{Strict: true}
	for _, way := range reuseWays() {
		var d engine.Decision
		if err := way.into(rs, ctx, good, opts, &d); err != nil || d.LeadID != "good" {
			t.Fatalf("%s: the good lead: %v, lead id %q", way.name, err, d.LeadID)
		}
		if err := way.into(rs, ctx, bad, opts, &d); err == nil {
			t.Fatalf("%s: strict mode took employees \"many\"", way.name)
		}
		if diff := cmp.Diff(engine.Decision{}, d); diff != "" {
			t.Errorf("%s: a refused lead left (-zero +left):\n%s", way.name, diff)
		}
	}
}

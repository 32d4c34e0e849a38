package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/testrules"
	"github.com/leadq/leadq/rules"
)

// A lead of 100,000 keys that are not fields (1 MiB) is warned of each
// once. It took 20 s (each key was looked for among the warnings already
// given); BenchmarkUndeclaredKeys measures it at two sizes, ten times
// apart: its time grows about tenfold, not a hundredfold.
func TestManyUndeclaredKeysWarned(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("slow under the race detector")
	}
	rs := b2bSaaS(t)
	for _, shape := range undeclaredShapes {
		req := undeclaredKeys(shape, 100_000)
		for _, strict := range []bool{false, true} {
			d, err := rs.ScoreJSON(context.Background(), []byte(req), engine.Options{Strict: strict})
			undeclared := 0
			for _, w := range d.Warnings {
				if w.Field != "lead.title" { // the third shape's, for its byte that is not UTF-8
					undeclared++
				}
			}
			if !strict && undeclared != 100_000 {
				t.Errorf("%.20s: %d warnings of the keys (error %v); want 100,000", req, undeclared, err)
			}
		}
	}
}

func BenchmarkUndeclaredKeys(b *testing.B) {
	rs := b2bSaaS(b)
	for _, n := range []int{10_000, 100_000} {
		req := []byte(undeclaredKeys(undeclaredShapes[0], n))
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			for b.Loop() {
				rs.ScoreJSON(context.Background(), req, engine.Options{})
			}
		})
	}
}

// undeclaredShapes hold a lead's keys: in the lead object, at the top
// beside it, and after a value that sends the request to the slow path.
var undeclaredShapes = []string{`{"lead": {%s}}`, `{"lead": {}, %s}`, `{"lead": {"title": "` + "\xff" + `", %s}}`}

// undeclaredKeys is a request of n keys that are no field, in shape.
func undeclaredKeys(shape string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":1`, i)
	}
	return fmt.Sprintf(shape, b.String())
}

func b2bSaaS(t testing.TB) *engine.Ruleset {
	t.Helper()
	all, err := rules.LoadPaths("testdata/rulesets")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Name == "b2b-saas" {
			return engine.NewRuleset(r)
		}
	}
	t.Fatal("no ruleset b2b-saas in testdata/rulesets")
	return nil
}

// The first decision that asks what would qualify a lead builds the
// ruleset's what-if table from the rules' samples: with a list of 40,000
// domains it compared each sample with those kept so far, seconds for
// that decision (hours for 200,000), while every other decision waited.
// BenchmarkWhatIfOfALongList measures it at two sizes, ten times apart.
func TestWhatIfOfALongList(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("slow under the race detector")
	}
	d, err := longListRuleset(t, 40_000).ScoreJSON(context.Background(), []byte(`{"lead": {"d": "elsewhere.example"}}`), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.WouldQualify.Changes) == 0 {
		t.Errorf("would_qualify = %+v; want a listed domain to qualify the lead", d.WouldQualify)
	}
}

func BenchmarkWhatIfOfALongList(b *testing.B) {
	for _, n := range []int{4_000, 40_000} {
		b.Run(fmt.Sprintf("domains=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				rs := longListRuleset(b, n) // a first decision each time
				b.StartTimer()
				rs.ScoreJSON(context.Background(), []byte(`{"lead": {"d": "elsewhere.example"}}`), engine.Options{})
			}
		})
	}
}

// longListRuleset is a ruleset of one score rule over a list of n domains.
func longListRuleset(t testing.TB, n int) *engine.Ruleset {
	t.Helper()
	f, err := rules.Parse("long-list.yaml", testrules.LongList(n, "lead.d in doms"))
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := rules.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	return engine.NewRuleset(compiled)
}

package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// A request's cost grows with its size, whatever its keys: a 1 MiB lead of
// 100,000 keys that are not fields took 20 s to warn of them (each key was
// looked for among the warnings already given), now well under a second.
func TestManyUndeclaredKeysCostLinearTime(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("a timing")
	}
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
	for _, shape := range []string{`{"lead": {%s}}`, `{"lead": {}, %s}`, `{"lead": {"title": "` + "\xff" + `", %s}}`} {
		var b strings.Builder
		for i := range 100_000 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":1`, i)
		}
		req := fmt.Sprintf(shape, b.String())
		for _, strict := range []bool{false, true} {
			start := time.Now()
			d, err := rs.ScoreJSON(context.Background(), []byte(req), engine.Options{Strict: strict})
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("%.20s (%d bytes), strict=%v: took %v; want under 4s", req, len(req), strict, took)
			}
			if !strict && len(d.Warnings) != 100_000 {
				t.Errorf("%.20s: %d warnings (error %v); want 100,000", req, len(d.Warnings), err)
			}
		}
	}
}

// The first decision that asks what would qualify a lead builds the
// ruleset's what-if table from the rules' samples: with a list of 40,000
// domains it compared each sample with those kept so far, seconds for
// that decision (hours for 200,000), while every other decision waited.
func TestWhatIfOfALongListIsQuick(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("a timing")
	}
	var b strings.Builder
	b.WriteString("ruleset: long-list\nfields:\n  lead.d: string\nlists:\n  doms: [")
	for i := range 40_000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "d%d.example", i)
	}
	b.WriteString("]\nscore:\n  - id: listed\n    when: lead.d in doms\n    points: 1\ntiers:\n  - {name: A, min: 1}\n  - {name: D}\n")
	f, err := rules.Parse("long-list.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := rules.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	rs := engine.NewRuleset(compiled)
	start := time.Now()
	d, err := rs.ScoreJSON(context.Background(), []byte(`{"lead": {"d": "elsewhere.example"}}`), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the first decision took %v; want well under 3s", took)
	}
	if len(d.WouldQualify.Changes) == 0 {
		t.Errorf("would_qualify = %+v; want a listed domain to qualify the lead", d.WouldQualify)
	}
}

package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// FuzzScore feeds arbitrary bytes to the scoring path of a fixed ruleset:
// it must never panic, and the same input must give the same decision.
func FuzzScore(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/decisions/*.lead.json")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"lead": {"employees": "1e400", "stack": [1, {"a": []}], "signed": "0000-00-00"}}`))
	f.Add([]byte(`{"employees": -9223372036854775808, "revenue": 1e308, "country": null}`))
	rss, err := rules.LoadPaths("testdata/rulesets", "testdata/semantics.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := engine.ParseInput(data)
		if err != nil {
			return
		}
		in.Now = fixedNow
		for _, rs := range rss {
			for _, strict := range []bool{false, true} {
				d1, err1 := engine.NewRuleset(rs).Score(context.Background(), in, engine.Options{Strict: strict})
				d2, err2 := engine.NewRuleset(rs).Score(context.Background(), in, engine.Options{Strict: strict})
				if (err1 == nil) != (err2 == nil) {
					t.Fatalf("errors differ: %v vs %v", err1, err2)
				}
				if diff := cmp.Diff(d1, d2); diff != "" {
					t.Fatalf("same input, different decisions:\n%s", diff)
				}
			}
		}
	})
}

package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules/compiler"
	"github.com/leadq/leadq/rules/rulefile"
)

// TestCounterfactualGolden pins what WouldQualify answers for many
// generated leads (the rulesets of testdata/rulesets, 4 seeds of 3,000
// leads each) to one SHA-256 a ruleset in testdata/counterfactuals.sha256:
// work that makes the search cheaper must answer the same, change for
// change. When the answers change on purpose, -update rewrites the file
// (say why in the commit; the property and table tests say whether the
// new answers are right).
func TestCounterfactualGolden(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	opts := engine.Options{Clock: func() time.Time { return now }}
	files, errs := rulefile.ParsePaths("testdata/rulesets")
	if err := errs.Err(); err != nil {
		t.Fatal(err)
	}
	byName := map[string][]*rulefile.File{}
	for _, f := range files {
		byName[f.Ruleset.Value] = append(byName[f.Ruleset.Value], f)
	}
	var got strings.Builder
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		compiled, err := compiler.Compiler{}.Compile(byName[name]...)
		if err != nil {
			t.Fatal(err)
		}
		rs := engine.NewRuleset(compiled)
		h := sha256.New()
		enc := json.NewEncoder(h)
		changes := 0
		for seed := range uint64(4) {
			gen := newLeadGen(uint64(len(name))+seed*977, byName[name])
			for range 3000 {
				d, err := rs.Score(ctx, gen.lead(rs.Ruleset, now), opts)
				if err != nil {
					t.Fatal(err)
				}
				if err := enc.Encode(d.WouldQualify); err != nil {
					t.Fatal(err)
				}
				if len(d.WouldQualify.Changes) > 0 {
					changes++
				}
			}
		}
		if changes == 0 {
			t.Errorf("%s: no generated lead is told a change: the test pins nothing", name)
		}
		fmt.Fprintf(&got, "%s %s\n", name, hex.EncodeToString(h.Sum(nil)))
	}
	const path = "testdata/counterfactuals.sha256"
	if *update {
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("the counterfactuals of the generated leads changed (ruleset and SHA-256):\ngot:\n%swant:\n%s", got.String(), want)
	}
}

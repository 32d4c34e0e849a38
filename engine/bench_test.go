package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/testrules"
	"github.com/leadq/leadq/rules"
)

// benchInput is a realistic, fully populated lead for the 41-rule example.
func benchInput(b *testing.B) (*rules.Ruleset, []byte, engine.Input) {
	b.Helper()
	var rs *rules.Ruleset
	all, err := rules.LoadPaths("testdata/rulesets")
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range all {
		if r.Name == "b2b-saas" {
			rs = r
		}
	}
	data, err := os.ReadFile("testdata/decisions/vp-fintech.lead.json")
	if err != nil {
		b.Fatal(err)
	}
	in, err := engine.ParseInput(data)
	if err != nil {
		b.Fatal(err)
	}
	in.Now = fixedNow
	return rs, data, in
}

// BenchmarkScore is one full decision (normalise, 6 knockouts, 35 score
// rules, caps, tier, qualify, reasons) from an already decoded lead.
func BenchmarkScore(b *testing.B) {
	rules, _, in := benchInput(b)
	rs := engine.NewRuleset(rules)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rs.Score(context.Background(), in, engine.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScoreNotQualified is BenchmarkScore for a lead that does not
// qualify (tier C, 22 missed rules, 14 missing fields): the decision also
// says what it would take to qualify.
func BenchmarkScoreNotQualified(b *testing.B) {
	rules, _, _ := benchInput(b)
	rs := engine.NewRuleset(rules)
	data, err := os.ReadFile("testdata/decisions/missing-firmographics.lead.json")
	if err != nil {
		b.Fatal(err)
	}
	in, err := engine.ParseInput(data)
	if err != nil {
		b.Fatal(err)
	}
	in.Now = fixedNow
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rs.Score(context.Background(), in, engine.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScoreJSON is JSON bytes to decision through the Engine.
func BenchmarkScoreJSON(b *testing.B) {
	_, data, _ := benchInput(b)
	eng, err := engine.Open(context.Background(), engine.Paths("testdata/rulesets"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rs, err := eng.Ruleset("b2b-saas")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rs.ScoreJSON(ctx, data, eng.Options()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScoreParallel(b *testing.B) {
	rules, _, in := benchInput(b)
	rs := engine.NewRuleset(rules)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := rs.Score(context.Background(), in, engine.Options{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkScoreDuringReload scores while another goroutine reloads.
func BenchmarkScoreDuringReload(b *testing.B) {
	_, data, _ := benchInput(b)
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Paths("testdata/rulesets"))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			default:
				_ = eng.Reload(ctx)
			}
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		rs, err := eng.Ruleset("b2b-saas")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rs.ScoreJSON(ctx, data, eng.Options()); err != nil {
			b.Fatal(err)
		}
	}
	close(done)
	<-stopped
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rules.LoadPaths("testdata/rulesets"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReload1000 is a reload after marketing saves a 1,000-rule
// ruleset with one rule edited: read the files, compile (every unchanged
// condition comes from the engine's golang-lru program cache) and swap.
// rules.BenchmarkCompile1000 is the same compilation without the cache.
func BenchmarkReload1000(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "big.yaml")
	src := testrules.Big(1000)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		b.Fatal(err)
	}
	eng, err := engine.Open(ctx, engine.Paths(filepath.Dir(path)))
	if err != nil {
		b.Fatal(err)
	}
	const edited = "when: lead.n0 >= 0\n"
	if !bytes.Contains(src, []byte(edited)) {
		b.Fatalf("the generated ruleset has no %q to edit", edited)
	}
	edits := 0
	b.ReportAllocs()
	for b.Loop() {
		edits++
		next := bytes.Replace(src, []byte(edited), fmt.Appendf(nil, "when: lead.n0 >= %d\n", edits), 1)
		if err := os.WriteFile(path, next, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := eng.Reload(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if st := eng.Status(); st.LastError != nil {
		b.Fatalf("last reload failed: %v", st.LastError)
	}
}

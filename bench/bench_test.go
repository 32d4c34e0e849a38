package bench_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/leadq/leadq/bench"
	"github.com/leadq/leadq/bench/leadgen"
)

var (
	setupOnce  sync.Once
	set        *bench.Set
	engines    *bench.Engines
	contenders []bench.Contender
	setupErr   error
)

// setup generates the comparison set and compiles every engine, once.
func setup(tb testing.TB) (*bench.Set, []bench.Contender) {
	tb.Helper()
	setupOnce.Do(func() {
		set, setupErr = bench.NewSet(bench.Leads)
		if setupErr != nil {
			return
		}
		if engines, setupErr = bench.NewEngines(context.Background(), leadgen.Now); setupErr != nil {
			return
		}
		contenders = bench.Contenders(set, engines)
	})
	if setupErr != nil {
		tb.Fatal(setupErr)
	}
	return set, contenders
}

// disagreements decides every lead with every contender and compares the
// outcome with the hand-written code on decoded input. It returns one
// report per contender that disagrees on some lead, at most max leads each.
func disagreements(s *bench.Set, cs []bench.Contender, max int) map[string]string {
	ref := cs[0]
	want := make([]bench.Outcome, len(s.Leads))
	out := map[string]string{}
	for i := range s.Leads {
		o, err := ref.Outcome(i)
		if err != nil {
			out[ref.Engine+"/"+ref.Path] = fmt.Sprintf("lead %s: %v", s.Leads[i].ID, err)
			return out
		}
		want[i] = o
	}
	for _, c := range cs[1:] {
		var b strings.Builder
		n := 0
		for i := range s.Leads {
			got, err := c.Outcome(i)
			diff := ""
			if err != nil {
				diff = "  error: " + err.Error() + "\n"
			} else {
				diff = bench.Diff(got, want[i])
			}
			if diff == "" {
				continue
			}
			if n++; n <= max {
				fmt.Fprintf(&b, "lead %s %s\n%s", s.Leads[i].ID, s.JSON[i], diff)
			}
		}
		if n > 0 {
			out[c.Engine+"/"+c.Path] = fmt.Sprintf("%s/%s disagrees with %s/%s on %d of %d leads:\n%s",
				c.Engine, c.Path, ref.Engine, ref.Path, n, len(s.Leads), b.String())
		}
	}
	return out
}

// TestAgreement is the contract of the comparison: on every lead of the
// set, every engine on every input path reaches the same score, group
// totals, tier and qualification, fires the same knockouts and score rules
// with the same reasons, and misses the same positive rules.
func TestAgreement(t *testing.T) {
	s, cs := setup(t)
	reports := disagreements(s, cs, 5)
	for _, c := range cs[1:] {
		t.Run(c.Engine+"/"+c.Path, func(t *testing.T) {
			if r, ok := reports[c.Engine+"/"+c.Path]; ok {
				t.Error(r)
			}
		})
	}
}

var (
	agreeOnce sync.Once
	agreeErr  string
)

// mustAgree fails a benchmark when the engines disagree: speed is only
// worth comparing for the same answers.
func mustAgree(b *testing.B) {
	s, cs := setup(b)
	agreeOnce.Do(func() {
		var msgs []string
		for _, r := range disagreements(s, cs, 3) {
			msgs = append(msgs, r)
		}
		sort.Strings(msgs)
		agreeErr = strings.Join(msgs, "\n")
	})
	if agreeErr != "" {
		b.Fatalf("engines disagree; not benchmarking:\n%s", agreeErr)
	}
}

// BenchmarkDecoded decides one lead per op, cycling through the set, from
// input already in memory in each engine's form: Go maps for leadq, OPA and
// CEL, the typed struct for the hand-written code.
func BenchmarkDecoded(b *testing.B) { benchPath(b, bench.PathDecoded) }

// BenchmarkJSON decides one lead per op from its JSON bytes.
func BenchmarkJSON(b *testing.B) { benchPath(b, bench.PathJSON) }

func benchPath(b *testing.B, path string) {
	s, cs := setup(b)
	mustAgree(b)
	for _, c := range cs {
		if c.Path != path {
			continue
		}
		b.Run(c.Engine, func(b *testing.B) {
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			i := 0
			for b.Loop() {
				if err := c.Decide(i); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(s.Leads) {
					i = 0
				}
			}
			runtime.ReadMemStats(&after)
			r := result{
				ns:     float64(b.Elapsed().Nanoseconds()) / float64(b.N),
				allocs: float64(after.Mallocs-before.Mallocs) / float64(b.N),
				bytes:  float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N),
			}
			b.ReportMetric(r.ns, "ns/lead")
			b.ReportMetric(r.allocs, "allocs/lead")
			record(path, c.Engine, r)
		})
	}
}

// result is one benchmark run, per lead.
type result struct{ ns, allocs, bytes float64 }

var (
	resultsMu sync.Mutex
	results   = map[[2]string][]result{} // by path, engine; one per -count
)

func record(path, engine string, r result) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	results[[2]string{path, engine}] = append(results[[2]string{path, engine}], r)
}

// median returns the run with the median time.
func median(rs []result) result {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b result) int {
		switch {
		case a.ns < b.ns:
			return -1
		case a.ns > b.ns:
			return 1
		}
		return 0
	})
	return rs[len(rs)/2]
}

// writeTable prints the results with each engine's ratio to the
// hand-written code on the same input path, as BENCHMARKS.md shows them.
func writeTable(w io.Writer) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if len(results) == 0 {
		return
	}
	fmt.Fprintf(w, "\nb2b-saas ruleset, %d leads, one lead per op (median of %s)\n\n", bench.Leads, runsNote())
	fmt.Fprintln(w, "| input | engine | ns/lead | allocs/lead | B/lead | × hand-written |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, path := range []string{bench.PathDecoded, bench.PathJSON} {
		base, haveBase := results[[2]string{path, bench.EngineHand}]
		for _, eng := range []string{bench.EngineHand, bench.EngineLeadq, bench.EngineOPA, bench.EngineCEL} {
			rs, ok := results[[2]string{path, eng}]
			if !ok {
				continue
			}
			r := median(rs)
			ratio := "–"
			if haveBase {
				ratio = fmt.Sprintf("%.1f×", r.ns/median(base).ns)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s |\n", path, eng, thousands(r.ns), r.allocs, thousands(r.bytes), ratio)
		}
	}
	fmt.Fprintln(w)
}

func runsNote() string {
	n := 0
	for _, rs := range results {
		n = max(n, len(rs))
	}
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("%d runs", n)
}

// thousands formats a number rounded, with commas.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func TestMain(m *testing.M) {
	code := m.Run()
	writeTable(os.Stdout)
	os.Exit(code)
}

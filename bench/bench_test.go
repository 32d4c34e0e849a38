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
	"github.com/leadq/leadq/engine"
)

var (
	enginesOnce sync.Once
	engines     *bench.Engines
	enginesErr  error
)

// compiled returns every engine with the comparison set's clock, compiled
// once.
func compiled(tb testing.TB) *bench.Engines {
	tb.Helper()
	enginesOnce.Do(func() { engines, enginesErr = bench.NewEngines(context.Background(), leadgen.Now) })
	if enginesErr != nil {
		tb.Fatal(enginesErr)
	}
	return engines
}

// disagreements decides every lead with every contender and compares the
// outcome with the first contender's (the hand-written code on decoded
// input). It returns one report per contender that disagrees on some lead,
// showing at most max leads each.
func disagreements(leads []leadgen.Lead, cs []bench.Contender, max int) (map[string]string, error) {
	requests := bench.Requests(leads)
	ref, err := cs[0].Prepare(leads)
	if err != nil {
		return nil, err
	}
	want := make([]bench.Outcome, len(leads))
	for i := range leads {
		if want[i], err = ref.Outcome(i); err != nil {
			return nil, fmt.Errorf("%s/%s: lead %s: %w", cs[0].Engine, cs[0].Path, leads[i].ID, err)
		}
	}
	out := map[string]string{}
	for _, c := range cs[1:] {
		d, err := c.Prepare(leads)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", c.Engine, c.Path, err)
		}
		var b strings.Builder
		n := 0
		for i := range leads {
			var diff string
			if got, err := d.Outcome(i); err != nil {
				diff = "  error: " + err.Error() + "\n"
			} else {
				diff = bench.Diff(got, want[i])
			}
			if diff == "" {
				continue
			}
			if n++; n <= max {
				fmt.Fprintf(&b, "lead %s %s\n%s", leads[i].ID, requests[i], diff)
			}
		}
		if n > 0 {
			out[c.Engine+"/"+c.Path] = fmt.Sprintf("%s/%s disagrees with %s/%s on %d of %d leads:\n%s",
				c.Engine, c.Path, cs[0].Engine, cs[0].Path, n, len(leads), b.String())
		}
	}
	return out, nil
}

// TestAgreement is the contract of the comparison: on every lead of the
// set, every engine on every input path reaches the same score, group
// totals, tier and qualification, fires the same knockouts and score rules
// with the same reasons, and misses the same positive rules.
func TestAgreement(t *testing.T) {
	cs := bench.Contenders(compiled(t))
	reports, err := disagreements(bench.Generate(bench.Leads), cs, 5)
	if err != nil {
		t.Fatal(err)
	}
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
	e := compiled(b)
	agreeOnce.Do(func() {
		reports, err := disagreements(bench.Generate(bench.Leads), bench.Contenders(e), 3)
		if err != nil {
			agreeErr = err.Error()
			return
		}
		var msgs []string
		for _, r := range reports {
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
	mustAgree(b)
	for _, c := range bench.Contenders(compiled(b)) {
		if c.Path != path {
			continue
		}
		b.Run(c.Engine, func(b *testing.B) {
			d, err := c.Prepare(bench.Generate(bench.Leads))
			if err != nil {
				b.Fatal(err)
			}
			timeDecisions(b, path, c.Engine, d.Decide)
		})
	}
}

// pathJSONBrief is leadq's JSON path with detail=brief: what a routing
// system that asks for the verdict alone gets (no reasons, no missed
// rules). The other engines always build their reasons, so it has no
// ratio and is not checked for agreement beyond what brief leaves out.
const pathJSONBrief = "json, brief"

// BenchmarkJSONBrief decides one lead per op from its JSON bytes with
// Brief set (leadq only).
func BenchmarkJSONBrief(b *testing.B) {
	benchLeadqJSON(b, pathJSONBrief, engine.Brief, func(rs *engine.Ruleset, data []byte, opts engine.Options) error {
		_, err := rs.ScoreJSON(context.Background(), data, opts)
		return err
	})
}

// pathJSONReused is leadq's JSON path deciding each lead into the decision
// the previous lead's answer left (Ruleset.ScoreJSONInto): what a caller
// that is done with each decision before the next does, as the server's
// streams and batches do. The other engines have no such call.
const pathJSONReused = "json, reused"

// BenchmarkJSONReused decides one lead per op from its JSON bytes into one
// reused decision, in full detail (leadq only).
func BenchmarkJSONReused(b *testing.B) {
	var d engine.Decision
	benchLeadqJSON(b, pathJSONReused, engine.Full, func(rs *engine.Ruleset, data []byte, opts engine.Options) error {
		return rs.ScoreJSONInto(context.Background(), data, opts, &d)
	})
}

// pathDecodedReused is leadq's decoded path deciding each lead into one
// reused decision (Ruleset.ScoreInto), as a backtest does.
const pathDecodedReused = "decoded, reused"

// BenchmarkDecodedReused decides one lead per op from its maps into one
// reused decision, in full detail (leadq only).
func BenchmarkDecodedReused(b *testing.B) {
	in := bench.Inputs(bench.Generate(bench.Leads))
	var d engine.Decision
	benchLeadq(b, pathDecodedReused, engine.Full, func(rs *engine.Ruleset, i int, opts engine.Options) error {
		return rs.ScoreInto(context.Background(), in[i], opts, &d)
	})
}

// benchLeadqJSON times decide on each generated lead's JSON bytes.
func benchLeadqJSON(b *testing.B, path string, detail engine.Detail, decide func(*engine.Ruleset, []byte, engine.Options) error) {
	data := bench.Requests(bench.Generate(bench.Leads))
	benchLeadq(b, path, detail, func(rs *engine.Ruleset, i int, opts engine.Options) error {
		return decide(rs, data[i], opts)
	})
}

// benchLeadq times decide on each generated lead in turn with leadq's
// example ruleset, in detail: the leadq-only paths.
func benchLeadq(b *testing.B, path string, detail engine.Detail, decide func(rs *engine.Ruleset, i int, opts engine.Options) error) {
	e := compiled(b)
	rs, err := e.Leadq.Ruleset(bench.Ruleset)
	if err != nil {
		b.Fatal(err)
	}
	opts := e.Leadq.Options()
	opts.Detail = detail
	b.Run(bench.EngineLeadq, func(b *testing.B) {
		timeDecisions(b, path, bench.EngineLeadq, func(i int) error {
			return decide(rs, i, opts)
		})
	})
}

// timeDecisions times decide over the leads in turn, one per op, and
// records the result for the table.
func timeDecisions(b *testing.B, path, eng string, decide func(int) error) {
	runtime.GC() // start from the same heap: the engine and this input form
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	i := 0
	for b.Loop() {
		if err := decide(i); err != nil {
			b.Fatal(err)
		}
		if i++; i == bench.Leads {
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
	record(path, eng, r)
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
	for _, path := range []string{bench.PathDecoded, pathDecodedReused, bench.PathJSON, pathJSONReused, pathJSONBrief} {
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
	// The targets of issue 6, for the runs that measure them.
	hand, okHand := results[[2]string{bench.PathDecoded, bench.EngineHand}]
	lq, okLeadq := results[[2]string{bench.PathDecoded, bench.EngineLeadq}]
	if okHand && okLeadq {
		fmt.Fprintf(w, "\nleadq decision from decoded input: %.1f× the hand-written code (target ≤ 3×)\n", median(lq).ns/median(hand).ns)
	}
	if js, ok := results[[2]string{bench.PathJSON, bench.EngineLeadq}]; ok {
		fmt.Fprintf(w, "leadq JSON bytes → decision: %.2f µs/lead (target ≤ 3 µs)\n", median(js).ns/1000)
	}
	if js, ok := results[[2]string{pathDecodedReused, bench.EngineLeadq}]; ok {
		fmt.Fprintf(w, "leadq decoded input → decision, reusing the last one: %.2f µs/lead\n", median(js).ns/1000)
	}
	if js, ok := results[[2]string{pathJSONReused, bench.EngineLeadq}]; ok {
		fmt.Fprintf(w, "leadq JSON bytes → decision, reusing the last one: %.2f µs/lead\n", median(js).ns/1000)
	}
	if js, ok := results[[2]string{pathJSONBrief, bench.EngineLeadq}]; ok {
		fmt.Fprintf(w, "leadq JSON bytes → brief decision (no reasons): %.2f µs/lead\n", median(js).ns/1000)
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

// Command profile runs one contender of the comparison over the generated
// leads, outside the benchmark harness, so that a CPU profile or an
// instruction count covers that contender and nothing else (the
// benchmarks first check that every engine agrees, OPA included):
//
//	go run ./cmd/profile -engine leadq -path json -n 200000 -cpuprofile cpu.out
//	go tool pprof -top cpu.out
//
// -reuse decides each lead into one reused decision, as the server's
// streams and a backtest do; -brief makes brief decisions (leadq only).
//
// Instructions per lead, steady whatever the neighbours on the machine do
// (run twice and subtract, so that loading the rules cancels out):
//
//	go build -o /tmp/profile ./cmd/profile
//	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind /tmp/profile -n 20000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/leadq/leadq/bench"
	"github.com/leadq/leadq/bench/leadgen"
	"github.com/leadq/leadq/engine"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "profile:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("profile", flag.ContinueOnError)
	engineName := fs.String("engine", bench.EngineLeadq, "contender: leadq, hand-written, opa or cel")
	path := fs.String("path", bench.PathJSON, "input form: json or decoded")
	n := fs.Int("n", 100_000, "leads to decide (cycling through the set)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the deciding loop to this file")
	reuse := fs.Bool("reuse", false, "leadq only: decide each lead into one reused decision (ScoreJSONInto, ScoreInto), as the server's streams and a backtest do")
	brief := fs.Bool("brief", false, "leadq only: brief decisions (no reasons of matched rules, no missed rules)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	engines, err := bench.NewEngines(context.Background(), leadgen.Now)
	if err != nil {
		return err
	}
	var decide func(i int) error
	if *reuse || *brief {
		if *engineName != bench.EngineLeadq {
			return fmt.Errorf("-reuse and -brief are for %s only", bench.EngineLeadq)
		}
		if decide, err = leadq(engines, *path, *reuse, *brief); err != nil {
			return err
		}
	}
	for _, c := range bench.Contenders(engines) {
		if decide == nil && c.Engine == *engineName && c.Path == *path {
			decider, err := c.Prepare(bench.Generate(bench.Leads))
			if err != nil {
				return err
			}
			decide = decider.Decide
		}
	}
	if decide == nil {
		return fmt.Errorf("no contender %q on path %q", *engineName, *path)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	for i := range *n {
		if err := decide(i % bench.Leads); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "%s %s: %d leads in %v, %.0f ns/lead\n", *engineName, *path, *n, elapsed.Round(time.Millisecond), float64(elapsed.Nanoseconds())/float64(*n))
	return nil
}

// leadq decides lead i on path with leadq's ruleset, brief or in full,
// into a new decision or into one reused for the next.
func leadq(engines *bench.Engines, path string, reuse, brief bool) (func(i int) error, error) {
	ctx := context.Background()
	rs, err := engines.Leadq.Ruleset(bench.Ruleset)
	if err != nil {
		return nil, err
	}
	opts := engines.Leadq.Options()
	if brief {
		opts.Detail = engine.Brief
	}
	var d engine.Decision
	switch path {
	case bench.PathJSON:
		data := bench.Requests(bench.Generate(bench.Leads))
		if !reuse {
			return func(i int) error { _, err := rs.ScoreJSON(ctx, data[i], opts); return err }, nil
		}
		return func(i int) error { return rs.ScoreJSONInto(ctx, data[i], opts, &d) }, nil
	case bench.PathDecoded:
		in := bench.Inputs(bench.Generate(bench.Leads))
		if !reuse {
			return func(i int) error { _, err := rs.Score(ctx, in[i], opts); return err }, nil
		}
		return func(i int) error { return rs.ScoreInto(ctx, in[i], opts, &d) }, nil
	}
	return nil, fmt.Errorf("no path %q", path)
}

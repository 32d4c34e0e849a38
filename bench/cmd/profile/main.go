// Command profile runs one contender of the comparison over the generated
// leads, outside the benchmark harness, so that a CPU profile or an
// instruction count covers that contender and nothing else (the
// benchmarks first check that every engine agrees, OPA included):
//
//	go run ./cmd/profile -engine leadq -path json -n 200000 -cpuprofile cpu.out
//	go tool pprof -top cpu.out
//
// -reuse decides each lead into one reused decision (leadq only), as the
// server's streams and a backtest do.
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	engines, err := bench.NewEngines(context.Background(), leadgen.Now)
	if err != nil {
		return err
	}
	var decide func(i int) error
	if *reuse {
		if *engineName != bench.EngineLeadq {
			return fmt.Errorf("-reuse is for %s only", bench.EngineLeadq)
		}
		if decide, err = reused(engines, *path); err != nil {
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

// reused decides lead i on path into one decision, reused for the next.
func reused(engines *bench.Engines, path string) (func(i int) error, error) {
	ctx := context.Background()
	rs, err := engines.Leadq.Ruleset(bench.Ruleset)
	if err != nil {
		return nil, err
	}
	opts := engines.Leadq.Options()
	var d engine.Decision
	switch path {
	case bench.PathJSON:
		data := bench.Requests(bench.Generate(bench.Leads))
		return func(i int) error { return rs.ScoreJSONInto(ctx, data[i], opts, &d) }, nil
	case bench.PathDecoded:
		in := bench.Inputs(bench.Generate(bench.Leads))
		return func(i int) error { return rs.ScoreInto(ctx, in[i], opts, &d) }, nil
	}
	return nil, fmt.Errorf("no path %q", path)
}

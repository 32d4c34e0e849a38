// Command profile runs one contender of the comparison over the generated
// leads, outside the benchmark harness, so that a CPU profile or an
// instruction count covers that contender and nothing else (the
// benchmarks first check that every engine agrees, OPA included):
//
//	go run ./cmd/profile -engine leadq -path json -n 200000 -cpuprofile cpu.out
//	go tool pprof -top cpu.out
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	engines, err := bench.NewEngines(context.Background(), leadgen.Now)
	if err != nil {
		return err
	}
	var decider *bench.Decider
	for _, c := range bench.Contenders(engines) {
		if c.Engine == *engineName && c.Path == *path {
			if decider, err = c.Prepare(bench.Generate(bench.Leads)); err != nil {
				return err
			}
		}
	}
	if decider == nil {
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
		if err := decider.Decide(i % bench.Leads); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "%s %s: %d leads in %v, %.0f ns/lead\n", *engineName, *path, *n, elapsed.Round(time.Millisecond), float64(elapsed.Nanoseconds())/float64(*n))
	return nil
}

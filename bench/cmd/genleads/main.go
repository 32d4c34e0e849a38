// Command genleads writes generated leads for the b2b-saas ruleset as
// NDJSON, one scoring request per line, for batch and HTTP load tests:
//
//	cd bench && go run ./cmd/genleads -n 10000 > leads.ndjson
//	go -C bench run ./cmd/genleads -n 10000 > leads.ndjson     # from the repository root
//
// The same -n and -seed give the same bytes. With -messy 0 (the default)
// the leads are the well-typed comparison set the benchmarks use; -messy
// 0.1 gives a tenth of them values only leadq accepts (numbers in strings,
// "yes", blanks, nulls, delimited lists), see package leadgen.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/leadq/leadq/bench/leadgen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "genleads:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("genleads", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 10_000, "number of leads")
	seed := fs.Uint64("seed", leadgen.DefaultSeed, "random seed; the same seed gives the same leads")
	messy := fs.Float64("messy", 0, "fraction of leads (0 to 1) with values only leadq accepts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q (usage: genleads [-n N] [-seed S] [-messy F] > leads.ndjson)", fs.Arg(0))
	case *n < 0:
		return fmt.Errorf("-n %d: want 0 or more leads", *n)
	case *messy < 0 || *messy > 1:
		return fmt.Errorf("-messy %g: want a fraction between 0 and 1", *messy)
	}
	return leadgen.WriteNDJSON(stdout, leadgen.Generate(*n, leadgen.Options{Seed: *seed, Messy: *messy}))
}

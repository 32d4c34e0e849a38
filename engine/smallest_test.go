package engine_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules/compiler"
	"github.com/leadq/leadq/rules/rulefile"
)

var smallestLeads = flag.Int("smallest.leads", 0, "leads a ruleset for TestCounterfactualSmallest (0: its default)")

// smallestUpTo is the size of the sets TestCounterfactualSmallest
// enumerates.
const smallestUpTo = 3

// TestCounterfactualSmallest is the reference of the counterfactual's
// search, for random leads over every example ruleset: a brute-force
// enumeration of every set of up to smallestUpTo changes (distinct fields,
// each set to every value the counterfactual may try), each scored again
// with the real engine, says that
//   - when the engine offers a set, no smaller set qualifies the lead, and
//     no set of the same size adds more to its score (what the engine
//     keeps among the smallest: its changes' Adds sum to the score's rise);
//   - when a set of at most smallestUpTo changes qualifies the lead, the
//     engine offers one.
//
// Knocked-out leads are told only their knockouts and are not searched.
func TestCounterfactualSmallest(t *testing.T) {
	leads := 300 // go test -smallest.leads=3000 for a longer run
	switch {
	case *smallestLeads > 0:
		leads = *smallestLeads
	case raceEnabled:
		leads = 20
	case testing.Short():
		leads = 60
	}
	for name, files := range exampleRulesets(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkSmallest(t, files, uint64(len(name))*31+7, leads)
		})
	}
}

// checkSmallest checks TestCounterfactualSmallest's promise for leads
// random leads of the ruleset of files, drawn from seed.
func checkSmallest(t *testing.T, files []*rulefile.File, seed uint64, leads int) {
	t.Helper()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	opts := engine.Options{Clock: func() time.Time { return now }}
	brief := opts // the verdict and the score are all the enumeration reads
	brief.Detail = engine.Brief
	compiled, err := compiler.Compiler{}.Compile(files...)
	if err != nil {
		t.Fatal(err)
	}
	rs := engine.NewRuleset(compiled)
	gen := newLeadGen(seed, files)
	violations := map[string]int{}
	reported := 0
	for i := range leads {
		in := gen.lead(rs.Ruleset, now)
		d, err := rs.Score(ctx, in, opts)
		if err != nil {
			t.Fatal(err)
		}
		if d.Qualified || len(d.Knockouts) > 0 {
			continue
		}
		offered, adds := len(d.WouldQualify.Changes), 0
		for _, c := range d.WouldQualify.Changes {
			adds += c.Adds
		}
		values := rs.WhatIfValues(in, now)
		fields := slices.Sorted(maps.Keys(values))
		// The smallest size of a qualifying set, and the most such a set
		// adds; enumerated size by size, up to what the engine offers
		// (it qualifies: TestCounterfactualQualifies) or smallestUpTo.
		upTo := smallestUpTo
		if offered > 0 {
			upTo = min(offered, upTo)
		}
		size, most := 0, 0
		var mostSet []string
		for k := 1; k <= upTo && size == 0; k++ {
			var set []string
			var walk func(from int, cur engine.Input)
			walk = func(from int, cur engine.Input) {
				if len(set) == k {
					got, err := rs.Score(ctx, cur, brief)
					if err != nil {
						t.Fatal(err)
					}
					if gain := got.Score - d.Score; got.Qualified && (size == 0 || gain > most) {
						size, most, mostSet = k, gain, slices.Clone(set)
					}
					return
				}
				for f := from; f < len(fields); f++ {
					for _, v := range values[fields[f]] {
						set = append(set, fmt.Sprintf("%s=%v", fields[f], v))
						walk(f+1, with(cur, fields[f], v))
						set = set[:len(set)-1]
					}
				}
			}
			walk(0, in)
		}
		var kind string
		switch {
		case size == 0 && offered > 0 && offered <= smallestUpTo:
			kind = "offered a set no enumerated set matches" // TestCounterfactualQualifies says more
		case size == 0:
			continue // no set of up to smallestUpTo changes qualifies; the engine may offer a larger one
		case offered == 0:
			kind = "no set offered, yet one qualifies"
		case offered > size:
			kind = "a smaller set qualifies"
		case adds < most:
			kind = "a set of the same size adds more"
		default:
			continue
		}
		violations[kind]++
		if reported++; reported <= 5 {
			var got []string
			for _, c := range d.WouldQualify.Changes {
				got = append(got, fmt.Sprintf("%s=%v", c.Field, c.Value))
			}
			t.Errorf("lead %d %v %v (score %d, needs %d for %s): %s: offered %v (adds %d); %v adds %d",
				i, in.Lead, in.Account, d.Score, d.WouldQualify.PointsNeeded, d.WouldQualify.Tier, kind, got, adds, mostSet, most)
		}
	}
	if len(violations) > 0 {
		t.Errorf("%s: %d leads: violations %v", files[0].Ruleset.Value, leads, violations)
	}
}

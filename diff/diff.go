package diff

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
)

// Options configure Compare.
type Options struct {
	Now    time.Time // the clock of both sides (days_since & co); zero means time.Now, read once
	Top    int       // how many movers to report; 0 means 10, negative means all
	Strict bool      // refuse wrong-typed input fields, as engine.WithStrict
}

// Report is what changes between two rulesets on the same leads.
type Report struct {
	Old        Side      `json:"old"`
	New        Side      `json:"new"`
	Now        time.Time `json:"now"`
	Leads      int       `json:"leads"`   // leads scored by both sides
	Refused    []Refused `json:"refused"` // leads a side could not score (strict mode)
	Qualified  Count     `json:"qualified"`
	KnockedOut Count     `json:"knocked_out"`
	// TierChanged and ScoreChanged count leads whose tier or score differ.
	TierChanged  int `json:"tier_changed"`
	ScoreChanged int `json:"score_changed"`
	// Matrix[i][j] is how many leads move from tier Tiers[i] (old) to
	// Tiers[j] (new). Tiers are the old ruleset's, top down, then the new
	// one's that the old lacks.
	Tiers  []string     `json:"tiers"`
	Matrix [][]int      `json:"matrix"`
	Movers []Mover      `json:"movers"` // largest score change first
	Rules  []RuleChange `json:"rules"`  // rules whose firing or points changed, most leads first
}

// Side names one of the two rulesets compared.
type Side struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Files   []string `json:"files"`
}

// Count is how many leads have a property before and after, and how many
// gained or lost it.
type Count struct {
	Old    int `json:"old"`
	New    int `json:"new"`
	Gained int `json:"gained"`
	Lost   int `json:"lost"`
}

// Refused is a lead one side refused, with why.
type Refused struct {
	Lead  string `json:"lead"`
	Where string `json:"where"`
	Side  string `json:"side"` // old or new
	Error string `json:"error"`
}

// Mover is one lead whose decision changed.
type Mover struct {
	Lead         string   `json:"lead"`
	Where        string   `json:"where"`
	OldScore     int      `json:"old_score"`
	NewScore     int      `json:"new_score"`
	Delta        int      `json:"delta"`
	OldTier      string   `json:"old_tier"`
	NewTier      string   `json:"new_tier"`
	OldQualified bool     `json:"old_qualified"`
	NewQualified bool     `json:"new_qualified"`
	Started      []string `json:"started"` // rules that fire now and did not
	Stopped      []string `json:"stopped"` // rules that fired and do not
}

// RuleChange is one rule's part in the difference.
type RuleChange struct {
	Rule     string `json:"rule"`
	Knockout bool   `json:"knockout"`
	// Change is added, removed, changed (its when:, points or group) or
	// same: the same text, so a list, macro or field it reads changed.
	Change    string   `json:"change"`
	Parts     []string `json:"parts,omitempty"` // what changed: when, points, group, kind
	OldPoints int      `json:"old_points"`      // 0 for knockouts and for a side that lacks the rule
	NewPoints int      `json:"new_points"`
	Started   int      `json:"started"`   // leads it fires for now and did not
	Stopped   int      `json:"stopped"`   // leads it fired for and does not
	Repointed int      `json:"repointed"` // leads it fires for on both sides with different points
	// Points is the net change in points the rule gives, summed over the
	// leads, before group caps: what it moved at most.
	Points int `json:"points"`
}

// Leads is how many leads the rule's change touched.
func (r RuleChange) Leads() int { return r.Started + r.Stopped + r.Repointed }

// Compare scores every lead with both rulesets and reports the difference.
// The rulesets need not have the same name. It fails only when there are
// no leads; leads a side refuses are listed in Report.Refused.
func Compare(old, new *rules.Ruleset, leads []Lead, opts Options) (*Report, error) {
	if len(leads) == 0 {
		return nil, fmt.Errorf("no leads to compare")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	clock := func() time.Time { return now }
	// The report reads verdicts and the rules that fired: brief decisions
	// have them, without reasons, missed rules or what it would take.
	eo := engine.Options{Detail: engine.Brief, Strict: opts.Strict, Clock: clock}
	oldRs, newRs := engine.NewRuleset(old), engine.NewRuleset(new)
	rep := &Report{
		Old: side(old), New: side(new), Now: now,
		Refused: []Refused{}, Movers: []Mover{}, Rules: []RuleChange{},
	}
	rep.Tiers = tierNames(old, new)
	index := map[string]int{}
	for i, t := range rep.Tiers {
		index[t] = i
	}
	rep.Matrix = make([][]int, len(rep.Tiers))
	for i := range rep.Matrix {
		rep.Matrix[i] = make([]int, len(rep.Tiers))
	}
	changes := ruleChanges(old, new)
	var movers []Mover
	var a, b engine.Decision // each lead's, reused for the next (ScoreInto)
	for _, l := range leads {
		in := l.Input
		in.Now = time.Time{} // one clock for both sides, whatever the input says
		errA := oldRs.ScoreInto(context.Background(), declaredOnly(in, old), eo, &a)
		errB := newRs.ScoreInto(context.Background(), declaredOnly(in, new), eo, &b)
		if errA != nil || errB != nil {
			if errA != nil {
				rep.Refused = append(rep.Refused, Refused{l.Name(), l.Where, "old", errA.Error()})
			}
			if errB != nil {
				rep.Refused = append(rep.Refused, Refused{l.Name(), l.Where, "new", errB.Error()})
			}
			continue
		}
		rep.Leads++
		count(&rep.Qualified, a.Qualified, b.Qualified)
		count(&rep.KnockedOut, len(a.Knockouts) > 0, len(b.Knockouts) > 0)
		rep.Matrix[index[a.Tier]][index[b.Tier]]++
		if a.Tier != b.Tier {
			rep.TierChanged++
		}
		if a.Score != b.Score {
			rep.ScoreChanged++
		}
		fa, fb := fired(a), fired(b)
		m := Mover{
			Lead: l.Name(), Where: l.Where,
			OldScore: a.Score, NewScore: b.Score, Delta: b.Score - a.Score,
			OldTier: a.Tier, NewTier: b.Tier, OldQualified: a.Qualified, NewQualified: b.Qualified,
			Started: []string{}, Stopped: []string{},
		}
		for _, rc := range changes {
			pa, inA := fa[rc.Rule]
			pb, inB := fb[rc.Rule]
			switch {
			case inB && !inA:
				rc.Started++
				rc.Points += pb
				m.Started = append(m.Started, rc.Rule)
			case inA && !inB:
				rc.Stopped++
				rc.Points -= pa
				m.Stopped = append(m.Stopped, rc.Rule)
			case inA && inB && pa != pb:
				rc.Repointed++
				rc.Points += pb - pa
			}
		}
		if m.Delta != 0 || m.OldTier != m.NewTier || m.OldQualified != m.NewQualified {
			movers = append(movers, m)
		}
	}
	if rep.Leads == 0 {
		return rep, nil
	}
	slices.SortStableFunc(movers, func(x, y Mover) int {
		return cmp.Or(
			cmp.Compare(abs(y.Delta), abs(x.Delta)),
			cmp.Compare(b2i(y.OldQualified != y.NewQualified), b2i(x.OldQualified != x.NewQualified)),
			cmp.Compare(x.Lead, y.Lead),
		)
	})
	top := opts.Top
	if top == 0 {
		top = 10
	}
	if top > 0 && len(movers) > top {
		movers = movers[:top]
	}
	rep.Movers = append(rep.Movers, movers...)
	for _, rc := range changes {
		if rc.Leads() > 0 {
			rep.Rules = append(rep.Rules, *rc)
		}
	}
	slices.SortStableFunc(rep.Rules, func(x, y RuleChange) int {
		return cmp.Or(cmp.Compare(y.Leads(), x.Leads()), cmp.Compare(abs(y.Points), abs(x.Points)), cmp.Compare(x.Rule, y.Rule))
	})
	return rep, nil
}

func side(rs *rules.Ruleset) Side {
	return Side{Name: rs.Name, Version: rs.Version, Files: rs.Files}
}

func tierNames(old, new *rules.Ruleset) []string {
	var names []string
	for _, rs := range []*rules.Ruleset{old, new} {
		for _, t := range rs.Tiers {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	return names
}

// ruleChanges lists every rule of either side, old order first, with how
// its definition changed.
func ruleChanges(old, new *rules.Ruleset) []*RuleChange {
	var out []*RuleChange
	seen := map[string]bool{}
	for _, rs := range []*rules.Ruleset{old, new} {
		for _, list := range [][]*eval.Rule{rs.Knockouts, rs.Rules} {
			for _, r := range list {
				if seen[r.ID] {
					continue
				}
				seen[r.ID] = true
				a, b := old.Rule(r.ID), new.Rule(r.ID)
				rc := &RuleChange{Rule: r.ID, Knockout: r.Knockout}
				switch {
				case a == nil:
					rc.Change = "added"
				case b == nil:
					rc.Change = "removed"
				default:
					rc.Change = "same"
					for _, p := range []struct {
						name    string
						changed bool
					}{{"kind", a.Knockout != b.Knockout}, {"when", a.When.Src != b.When.Src}, {"points", a.Points != b.Points}, {"group", a.Group != b.Group}} {
						if p.changed {
							rc.Change = "changed"
							rc.Parts = append(rc.Parts, p.name)
						}
					}
				}
				if a != nil {
					rc.OldPoints = a.Points
				}
				if b != nil {
					rc.NewPoints = b.Points
					rc.Knockout = b.Knockout
				}
				out = append(out, rc)
			}
		}
	}
	return out
}

// fired maps the rules that fired to their points (0 for knockouts).
func fired(d engine.Decision) map[string]int {
	m := make(map[string]int, len(d.Knockouts)+len(d.Matched))
	for _, h := range d.Knockouts {
		m[h.Rule] = 0
	}
	for _, h := range d.Matched {
		m[h.Rule] = h.Points
	}
	return m
}

func count(c *Count, old, new bool) {
	if old {
		c.Old++
	}
	if new {
		c.New++
	}
	switch {
	case new && !old:
		c.Gained++
	case old && !new:
		c.Lost++
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// declaredOnly is in with only the keys rs declares as fields: the leads
// file carries the columns of both sides (and others), and a column one
// side does not declare is not a misspelt key of that side's input (which
// the engine warns about, and strict mode refuses).
func declaredOnly(in engine.Input, rs *rules.Ruleset) engine.Input {
	keep := func(ns string, m map[string]any) map[string]any {
		if m == nil {
			return nil
		}
		out := make(map[string]any, len(m))
		for k, v := range m {
			if rs.FieldByKey(ns, k) != nil {
				out[k] = v
			}
		}
		return out
	}
	in.Lead, in.Account = keep("lead", in.Lead), keep("account", in.Account)
	return in
}

package engine

import (
	"math"
	"slices"

	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
)

// The counterfactual of a decision (Decision.WouldQualify): what it would
// take the lead to qualify, computed with the ruleset's real arithmetic.
//
// A score is the ungrouped points plus each group's total clamped to its
// caps, so what a set of missed rules adds is, per group, the clamped
// total with the rules' points minus the clamped total without them. A
// group's clamp is monotone, so among sets of k rules of one group the k
// largest add the most; a smallest qualifying set is then found by a
// knapsack over the groups (how many of each group's largest missed rules
// to take, fewest in all, most points for that count), and each candidate
// set is checked with the ruleset's own tiers and qualify condition.

// candidate is a missed positive score rule.
type candidate struct {
	rule    int // Rule.Index
	group   int // the bucket: Rule.GroupIndex, or len(GroupNames) for ungrouped rules
	points  int
	unknown bool
}

// counterfactual fills d.WouldQualify for a decision that did not
// qualify. truth is each score rule's outcome, pre each group's total
// before its caps; r is the lead's row, on which qualify is evaluated with
// the scores the changes would give.
func (l *record) counterfactual(rs *rules.Ruleset, table *ruleTable, m *vm.VM, r *eval.Row, d *Decision, truth []eval.Truth, pre []int) {
	if len(d.Knockouts) > 0 {
		ids := make([]string, len(d.Knockouts))
		for i, k := range d.Knockouts {
			ids[i] = k.Rule
		}
		d.WouldQualify = Counterfactual{Knockouts: ids}
		return
	}
	nGroups := len(rs.GroupNames)
	buckets := nGroups + 1 // the groups, then the ungrouped rules
	// Each bucket's total before caps, its caps and its total after them:
	// x more points before the caps add gain(b, x).
	lo, hi := resize(l.cfLo, buckets), resize(l.cfHi, buckets)
	base, from := resize(l.cfBase, buckets), resize(l.cfFrom, buckets)
	l.cfLo, l.cfHi, l.cfBase, l.cfFrom = lo, hi, base, from
	copy(lo, table.lo)
	copy(hi, table.hi)
	copy(from, pre)
	lo[nGroups], hi[nGroups], from[nGroups] = math.MinInt, math.MaxInt, 0
	for b := range buckets {
		base[b] = min(max(from[b], lo[b]), hi[b])
	}
	gain := func(b, x int) int { return min(max(from[b]+x, lo[b]), hi[b]) - base[b] }
	clamped := func(g, total int) int { return min(max(total, lo[g]), hi[g]) }

	// The missed positive rules, largest first (byPoints), bucketed.
	cands := l.cands[:0]
	quick := table.quick[table.knockouts:]
	for _, i := range table.byPoints {
		if truth[i] == eval.True {
			continue
		}
		q := &quick[i]
		g := q.group
		if g < 0 {
			g = nGroups
		}
		cands = append(cands, candidate{rule: i, group: g, points: q.points, unknown: truth[i] == eval.Unknown})
	}
	l.cands = cands

	// qualifies decides qualify for a score and bucket totals before caps.
	totals := resize(l.cfTotals, nGroups)
	l.cfTotals = totals
	groups := resize(l.cfGroups, nGroups) // totals after caps
	l.cfGroups = groups
	qualifies := func(score int) bool {
		tier := rs.TierFor(score)
		if rs.Qualify == nil {
			return len(rs.Tiers) > 0 && tier == rs.Tiers[0].Name
		}
		for g := range nGroups {
			groups[g] = clamped(g, totals[g])
		}
		r.Tier, r.Score, r.GroupTotals, r.KnockedOut = tier, score, groups, false
		t, err := rs.Qualify.Eval(m, r)
		return err == nil && t == eval.True
	}

	var cf Counterfactual
	// The nearest tier above the lead's that qualifies, at its minimum.
	copy(totals, pre)
	for j := slices.IndexFunc(rs.Tiers, func(t eval.Tier) bool { return t.Name == d.Tier }) - 1; j >= 0; j-- {
		if t := rs.Tiers[j]; t.Min != nil && *t.Min > d.Score && qualifies(*t.Min) {
			cf.Tier, cf.PointsNeeded = t.Name, *t.Min-d.Score
			break
		}
	}

	// Fewest rules that qualify: best[c] is the most a set of c rules adds
	// (the largest of each bucket), take[b][c] how many of bucket b's the
	// best set of c rules of buckets 0..b takes; unset where none exists.
	n := len(cands)
	const unset = -1 << 40
	best := resize(l.cfBest, n+1)
	next := resize(l.cfNext, n+1)
	stride := n + 1
	take := resize(l.cfTake, buckets*stride)
	counts := resize(l.cfCounts, buckets)
	l.cfBest, l.cfNext, l.cfTake, l.cfCounts = best, next, take, counts
	for c := 1; c <= n; c++ {
		best[c] = unset
	}
	reach := 0 // the most rules the buckets so far hold
	for b := range buckets {
		copy(next, best)
		row := take[b*stride : (b+1)*stride]
		k, sum := 0, 0
		for _, x := range cands { // the bucket's rules, largest first
			if x.group != b {
				continue
			}
			k++
			sum += x.points
			add := gain(b, sum)
			for c := k; c <= reach+k; c++ {
				if best[c-k] != unset && best[c-k]+add > next[c] {
					next[c], row[c] = best[c-k]+add, k
				}
			}
			if from[b]+sum >= hi[b] {
				break // at the cap: more of the bucket's rules add nothing
			}
		}
		reach += k
		copy(best, next)
	}
	n = reach
	chosen := 0 // the size of the smallest set that qualifies
	for c := 1; c <= n && chosen == 0; c++ {
		if best[c] == unset || best[c] <= 0 {
			continue
		}
		left := c
		for b := buckets - 1; b >= 0; b-- {
			counts[b] = take[b*stride+left]
			left -= counts[b]
		}
		copy(totals, pre)
		for b := range nGroups {
			k := counts[b]
			for _, x := range cands {
				if k > 0 && x.group == b {
					totals[b] += x.points
					k--
				}
			}
		}
		if left == 0 && qualifies(d.Score+best[c]) {
			chosen = c
		}
	}

	if chosen > 0 {
		// The chosen rules, largest first, each with what it adds after
		// the ones of its group before it.
		sums := resize(l.cfNext, buckets)
		cf.Changes = make([]Gain, 0, chosen)
		for _, x := range cands {
			if counts[x.group] == 0 {
				continue
			}
			counts[x.group]--
			add := gain(x.group, sums[x.group]+x.points) - gain(x.group, sums[x.group])
			sums[x.group] += x.points
			cf.Changes = append(cf.Changes, Gain{Rule: table.hits[table.knockouts+x.rule].Rule, Points: x.points, Adds: add, Unknown: x.unknown})
		}
	}
	d.WouldQualify = cf
}

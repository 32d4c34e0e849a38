package engine

import (
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// The counterfactual of a decision (Decision.WouldQualify): the fewest
// changes of the lead's data that would qualify it, each a field set to one
// of its options (see whatIf), with what the ruleset's real rules, caps,
// tiers and qualify condition make of them: the rules a change makes true,
// the matched ones it makes false, the knockouts it would fire (such a set
// is never offered).
//
// A score is the ungrouped points plus each group's total clamped to its
// caps. For each option, what it does to the rules reading only its field
// is exact and the same for every lead (a bit set against the lead's own);
// what it may do to the rules that read other fields too is bounded by the
// most they could move (a missed positive rule made true, a matched
// negative one made false). Clamping is monotone and moves a total by no
// more than what is added to it, nor past the cap, so what a set of options
// adds is at most the sum over its options of each one's bound: a search
// by branch and bound over the options, largest bound first, tries sets of
// one change, then two, and so on, and decides each set it cannot rule out
// with the real rules: from what each change does alone, with the rules
// and knockouts that several changes read decided from the lead's leaves
// and the ones each option decides (see settled), or, where that cannot
// be, with the changes set in the lead's row, then restored.
// Among the smallest sets that qualify it keeps the one that adds the
// most; ties go to the first found, in a fixed order.

// Bounds of the search: sets of more changes, or searches that would try
// more sets, are not looked for (a lead so far from qualifying gets no
// changes), so that a decision costs a bounded time. A set decided from
// what each change does alone (see settled) is cheap arithmetic and counts
// only as a node; maxTries bounds the sets decided in the lead's row. No
// search of the golden leads (counterfactual_golden_test.go) meets either
// bound, and TestCounterfactualSmallest checks the answers up to 3
// changes against a brute-force enumeration; TestCounterfactualBounded
// checks the bounds hold for a ruleset built to explode the search.
const (
	maxChanges = 12
	maxNodes   = 4096 // sets considered, whole or partial
	maxTries   = 16   // sets decided in the lead's row (see try)
)

// wiCand is an option of a field that could add points to this lead.
type wiCand struct {
	field, option int    // in whatIf.fields, and the field's options
	bound         int    // the most it could add, under the caps
	bound0        int    // bound before refine (single's order)
	vec           int    // its effect on the single rules by bucket: at vecs[vec:vec+buckets]
	dynE          int    // its effect alone on each rule of its field's dynamic: at dynE[dynE:]
	truth         uint64 // which of its field's single rules are true with it
	refined       bool   // its effects are exact (see refine)
	dead          bool   // it knocks the lead out
	late          bool   // the lead has the field: it goes after the fields it lacks, of equal bounds
	seen          bool   // single has decided it, or dropped it as a twin
}

// cfScratch is the record's scratch space for the counterfactual; it holds
// nothing of a decision once counterfactual returns.
type cfScratch struct {
	cands             []wiCand
	vecs, dynE        []int
	none, once        []int
	reach, touch      []int // by whatIf.dynamic
	touchE, dynGain   []int
	dynMissed         []bool // by whatIf.dynamic: a missed positive rule or a matched negative one
	count, keys       []int
	pend, pendSorted  []wiPend
	dynBy             []int // by bucket: what a field's rules of whatIf.dynamic could move
	sorted            []wiCand
	leafAt, leafEnd   []int // by whatIf.conds: the lead's leaves at leafBuf[leafAt:leafEnd]; -1 before they are needed
	leafBuf, leafTmp  []eval.Truth
	fieldIn           []bool       // by whatIf field: whether the set has a change of it
	together          []eval.Truth // by whatIf.dynamic: what a set settled decides of a rule several changes read; -1 between sets
	cur               []uint64     // by whatIf field: which of its single rules the lead matched
	prefix            []int        // prefix sums of the candidates' bounds
	lo, hi, base, pre []int
	room, acc, delta  []int
	lastAcc           []int    // s.acc with one more change (see peek)
	held              [3][]int // by bucket: s.acc, then with s.once, then with s.none too (see bound)
	totals            []int
	sel, best         []int
	undo              []eval.Undo
	groups            []int // totals after the caps, for qualify
	verify            []int // the rules of Counterfactual.Verify
	flipped           []cfFlip
	lists             []string // the lists swap sets, one after the other
	text              []byte   // describe's texts
	textAt            []int    // by change: where its From starts and ends in text, then its Text
	nodes, tries      int      // the last search's counts (cfRun's), which the tests bound
}

// cfFlip is a rule whose outcome a change of the chosen set changes.
type cfFlip struct {
	change, rule int
	now          bool
}

// cfRun is one counterfactual being computed.
type cfRun struct {
	s      *cfScratch
	rs     *rules.Ruleset
	wi     *whatIf
	m      *vm.VM
	r      *eval.Row
	score0 int // the lead's score, before any change (not the *Decision: that would move every decision to the heap)
	truth  []eval.Truth
	nb     int // the groups; bucket nb holds the ungrouped rules

	need      int // the points the lead needs, at the least
	nodes     int
	tries     int
	bestGain  int
	bestFound bool
}

// counterfactual fills d.WouldQualify for a decision that did not
// qualify. truth is each score rule's outcome, pre each group's total
// before its caps; r is the lead's row, in which the changes are tried.
func (l *record) counterfactual(rs *rules.Ruleset, table *ruleTable, m *vm.VM, r *eval.Row, d *Decision, truth []eval.Truth, pre []int) {
	if len(d.Knockouts) > 0 {
		ids := make([]string, len(d.Knockouts))
		for i, k := range d.Knockouts {
			ids[i] = k.Rule
		}
		d.WouldQualify = Counterfactual{Knockouts: ids}
		return
	}
	s := &l.cf
	nb := len(rs.GroupNames)
	buckets := nb + 1
	s.lo, s.hi, s.base = resize(s.lo, buckets), resize(s.hi, buckets), resize(s.base, buckets)
	s.pre, s.room, s.acc = resize(s.pre, buckets), resize(s.room, buckets), resize(s.acc, buckets)
	s.delta, s.totals = resize(s.delta, buckets), resize(s.totals, nb)
	copy(s.lo, table.lo)
	copy(s.hi, table.hi)
	copy(s.pre, pre)
	s.lo[nb], s.hi[nb] = math.MinInt, math.MaxInt
	for b := range buckets {
		s.base[b] = min(max(s.pre[b], s.lo[b]), s.hi[b])
		s.room[b] = math.MaxInt32 // ungrouped, or uncapped above
		if s.hi[b] != math.MaxInt {
			s.room[b] = s.hi[b] - s.base[b]
		}
	}
	s.groups = resize(s.groups, nb)
	run := cfRun{s: s, rs: rs, wi: table.whatIf(), m: m, r: r, score0: d.Score, truth: truth, nb: nb}

	var cf Counterfactual
	// The nearest tier above the lead's that qualifies, at its minimum.
	copy(s.totals, pre)
	for j := slices.IndexFunc(rs.Tiers, func(t eval.Tier) bool { return t.Name == d.Tier }) - 1; j >= 0; j-- {
		if t := rs.Tiers[j]; t.Min != nil && *t.Min > d.Score && run.qualifies(*t.Min) {
			cf.Tier, cf.PointsNeeded = t.Name, *t.Min-d.Score
			break
		}
	}
	// The missed rules that would add points but that no change of data
	// leadq can spell makes true.
	s.verify = s.verify[:0]
	for _, i := range run.wi.toVerify {
		if truth[i] != eval.True && table.adds(i, pre) > 0 {
			s.verify = append(s.verify, i)
		}
	}
	s.flipped, s.lists = s.flipped[:0], s.lists[:0]
	if cf.Tier != "" {
		run.need = cf.PointsNeeded
		run.prepare()
		// One change first, from the options that could add enough on
		// their own; then sets of more, from all of them.
		run.single()
		if !run.bestFound && run.candidates(1) > 0 {
			run.search(2, maxChanges)
		}
		if run.bestFound {
			cf.Changes = run.describe(s.best)
		}
	}
	s.nodes, s.tries = run.nodes, run.tries
	run.ids(&cf)
	clear(s.undo[:cap(s.undo)])
	d.WouldQualify = cf
}

// adds is what score rule i would add to a lead whose group totals before
// the caps are pre, were it true.
func (t *ruleTable) adds(i int, pre []int) int {
	q := &t.quick[t.knockouts+i]
	if q.group < 0 {
		return q.points
	}
	lo, hi := t.lo[q.group], t.hi[q.group]
	return min(max(pre[q.group]+q.points, lo), hi) - min(max(pre[q.group], lo), hi)
}

// prepare sets up what the candidates of this lead share.
func (c *cfRun) prepare() {
	s, wi := c.s, c.wi
	s.cur = resize(s.cur, len(wi.fields))
	s.leafAt, s.leafEnd, s.leafBuf = resize(s.leafAt, len(wi.conds)), resize(s.leafEnd, len(wi.conds)), s.leafBuf[:0]
	for i := range s.leafAt {
		s.leafAt[i] = -1
	}
	// What each rule of whatIf.dynamic could move: a missed positive rule
	// made true, a matched negative one made false.
	s.dynGain, s.dynMissed = resize(s.dynGain, len(wi.dynamic)), resize(s.dynMissed, len(wi.dynamic))
	for j, i := range wi.dynamic {
		if rule := c.rs.Rules[i]; (rule.Points > 0) != (c.truth[i] == eval.True) {
			s.dynGain[j], s.dynMissed[j] = abs(rule.Points), true
		}
	}
	for _, sb := range wi.singles {
		if c.truth[sb.rule] == eval.True {
			s.cur[sb.field] |= sb.bit
		}
	}
	s.touch, s.touchE = resize(s.touch, len(wi.dynamic)), resize(s.touchE, len(wi.dynamic))
	s.together = resize(s.together, len(wi.dynamic))
	for j := range s.together {
		s.together[j] = -1
	}
	s.fieldIn = resize(s.fieldIn, len(wi.fields))
}

// candidates lists the options that could add at least least points
// (caps aside), largest bound first, and returns how many there are.
// An option's bound is what it adds alone, found with the real rules,
// but for the losses of the rules that read other fields too (a set may
// change those fields as well); an option that adds nothing alone is
// kept when it touches such a rule that could still move.
func (c *cfRun) candidates(least int) int {
	s, wi := c.s, c.wi
	buckets := c.nb + 1
	s.cands, s.vecs, s.dynE = s.cands[:0], s.vecs[:0], s.dynE[:0]
	s.reach = resize(s.reach, len(wi.dynamic))
	for fi := range wi.fields {
		wf := &wi.fields[fi]
		// A list the lead has gets the option's items added: what that
		// does is decided with the real rules, all of them.
		live := wf.kind == wiList && c.r.Present.Has(wf.field.Index)
		// The most the rules it is decided with could move for this lead.
		most := 0
		for _, j := range wf.dynIdx {
			most += s.dynGain[j]
		}
		if wf.most+most < least {
			continue // no option could add enough
		}
		late := c.r.Present.Has(wf.field.Index)
		if !live && len(wf.dynamic) == 0 {
			c.plain(fi, least, late)
			continue
		}
		for oi := range wf.options {
			o := &wf.options[oi]
			if o.most+most < least {
				continue // it can only lose points, or is the lead's own outcome
			}
			x := wiCand{field: fi, option: oi, vec: len(s.vecs), dynE: len(s.dynE), truth: o.truth, late: late}
			// What it does alone, from what the ruleset decided of it,
			// or at the most where the lead decides (refine finds out).
			keep := c.known(&x, live)
			if (x.bound <= 0 && !keep) || (x.refined && c.twin(x)) {
				s.vecs, s.dynE = s.vecs[:x.vec], s.dynE[:x.dynE]
				continue
			}
			s.cands = append(s.cands, x)
		}
	}
	c.order()
	cs := s.cands
	// What two changes together could move beyond their own bounds: the
	// points of each rule that the fields of two candidates read.
	s.none, s.once = resize(s.none, buckets), resize(s.once, buckets)
	for i := range cs {
		x := &cs[i]
		if s.fieldIn[x.field] {
			continue
		}
		s.fieldIn[x.field] = true
		wf := &wi.fields[x.field]
		for _, j := range wf.dynIdx {
			if s.reach[j]++; s.reach[j] == 2 {
				s.none[wi.dynBucket[j]] += s.dynGain[j]
			}
		}
	}
	clear(s.fieldIn)
	return len(cs)
}

// plain adds the candidates of field fi as candidates(least) would, for a
// field of no rule read with other fields whose options do the same to
// every lead (no list the lead has): what an option does is the change of
// its single rules, and it is refined when its knockouts are known. An
// option that can only lose points, or is the lead's own outcome, adds
// nothing under the caps and is dropped as such.
func (c *cfRun) plain(fi, least int, late bool) {
	s, wf := c.s, &c.wi.fields[fi]
	for oi := range wf.options {
		o := &wf.options[oi]
		if o.most < least || o.truth == s.cur[fi] {
			continue
		}
		x := wiCand{field: fi, option: oi, vec: len(s.vecs), dynE: len(s.dynE), truth: o.truth, refined: o.knockKnown, late: late}
		x.bound = c.plainVec(&x)
		if x.bound <= 0 || (x.refined && c.twin(x)) {
			s.vecs = s.vecs[:x.vec]
			continue
		}
		s.cands = append(s.cands, x)
	}
}

// plainVec is measure for an option of a field that plain takes: it
// appends the option's effect on the single rules to s.vecs and returns
// its bound.
func (c *cfRun) plainVec(x *wiCand) int {
	s, wf := c.s, &c.wi.fields[x.field]
	buckets := c.nb + 1
	s.vecs = slices.Grow(s.vecs, buckets)[:x.vec+buckets]
	vec := s.vecs[x.vec:]
	clear(vec)
	cur := s.cur[x.field]
	for flip := x.truth ^ cur; flip != 0; flip &= flip - 1 {
		j := bits.TrailingZeros64(flip)
		if sr := wf.single[j]; x.truth&(1<<j) != 0 {
			vec[sr.bucket] += sr.points
		} else {
			vec[sr.bucket] -= sr.points
		}
	}
	bound := 0
	for b, v := range vec {
		bound += min(max(v, 0), s.room[b])
	}
	return bound
}

// wiPend is an option single may have to measure: ub bounds what it adds.
type wiPend struct {
	ub, field, option int
	late              bool
}

// single finds the best set of one change: what candidates(need) and then
// search(1, 1) would find, with the same count of sets considered and
// tried, but measuring only the options that could come first. Each
// option gets a cheap bound first (its mostBy and the most its field's
// other rules could move, under the caps; never below what measure
// finds), and is measured only when that bound reaches the best measured
// candidate not yet decided: candidates are decided in the order search
// takes them, largest measured bound first, and that stops early (most
// single changes are among the first few).
func (c *cfRun) single() {
	s, wi := c.s, c.wi
	buckets := c.nb + 1
	s.cands, s.vecs, s.dynE = s.cands[:0], s.vecs[:0], s.dynE[:0]
	s.dynBy = resize(s.dynBy, buckets)
	s.pend = s.pend[:0]
	top := 0
	for fi := range wi.fields {
		wf := &wi.fields[fi]
		if wf.most+wf.dynMost < c.need {
			continue // no option could add enough, whatever the lead
		}
		most := 0
		if len(wf.dynIdx) > 0 { // s.dynBy is read for such fields only
			clear(s.dynBy)
		}
		for _, j := range wf.dynIdx {
			most += s.dynGain[j]
			s.dynBy[wi.dynBucket[j]] += s.dynGain[j]
		}
		if wf.most+most < c.need {
			continue // no option could add enough
		}
		live := wf.kind == wiList && c.r.Present.Has(wf.field.Index)
		late := c.r.Present.Has(wf.field.Index)
		for oi := range wf.options {
			o := &wf.options[oi]
			if o.most+most < c.need || (!live && len(wf.dynamic) == 0 && !c.gains(wf, o.truth, s.cur[fi])) {
				continue
			}
			ub := 0
			switch {
			case len(wf.dynIdx) > 0:
				for b, v := range o.mostBy {
					ub += min(v+s.dynBy[b], s.room[b])
				}
			case o.mostIn >= 0: // the rooms are never negative
				ub = min(o.most, s.room[o.mostIn])
			default:
				for b, v := range o.mostBy {
					ub += min(v, s.room[b])
				}
			}
			if ub >= c.need {
				s.pend = append(s.pend, wiPend{ub: ub, field: fi, option: oi, late: late})
				top = max(top, ub)
			}
		}
	}
	if top > 4096 { // order's other sort, which ignores late: the whole list
		if c.candidates(c.need) > 0 {
			c.search(1, 1)
		}
		return
	}
	// Largest bound first, by a counting sort (bounds are small).
	count := resize(s.count, top+2)
	for _, p := range s.pend {
		count[top-p.ub+1]++
	}
	for b := 1; b < len(count); b++ {
		count[b] += count[b-1]
	}
	pend := slices.Grow(s.pendSorted[:0], len(s.pend))[:len(s.pend)]
	for _, p := range s.pend {
		pend[count[top-p.ub]] = p
		count[top-p.ub]++
	}
	s.count, s.pendSorted = count, pend
	next := 0
	for c.nodes < maxNodes && c.tries < maxTries {
		i := c.first()
		for next < len(pend) && (i < 0 || pend[next].ub >= s.cands[i].bound0) {
			c.measureOption(pend[next])
			next++
			i = c.first()
		}
		if i < 0 {
			return
		}
		x := &s.cands[i]
		if x.bound0 < c.need || (c.bestFound && x.bound0 <= c.bestGain) {
			return // as search's prefix bound: no later candidate does better
		}
		c.nodes++
		x.seen = true
		if x.dead || !x.refined && !c.refine(i) {
			continue
		}
		if x.bound < c.need || (c.bestFound && x.bound <= c.bestGain) {
			continue
		}
		s.sel = append(s.sel[:0], i)
		if gain, ok := c.try(s.sel); ok && (!c.bestFound || gain > c.bestGain) {
			c.bestFound, c.bestGain = true, gain
			s.best = append(s.best[:0], i)
		}
	}
}

// first returns the measured candidate single decides next (order's
// order: largest bound, a field the lead lacks, the fields' and options'
// order), or -1.
func (c *cfRun) first() int {
	s := c.s
	best := -1
	for i := range s.cands {
		x := &s.cands[i]
		if x.seen {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		y := &s.cands[best]
		if x.bound0 > y.bound0 || x.bound0 == y.bound0 && (!x.late && y.late || x.late == y.late && (x.field < y.field || x.field == y.field && x.option < y.option)) {
			best = i
		}
	}
	return best
}

// measureOption measures an option for single as candidates does, and
// adds it to the candidates unless it adds nothing or a candidate of an
// earlier option of its field does the same (see twin; both ways, as
// options are measured out of order: twins have the same bound, so both
// are measured before either is decided).
func (c *cfRun) measureOption(p wiPend) {
	s, wi := c.s, c.wi
	buckets := c.nb + 1
	wf := &wi.fields[p.field]
	o := &wf.options[p.option]
	live := wf.kind == wiList && c.r.Present.Has(wf.field.Index)
	x := wiCand{field: p.field, option: p.option, vec: len(s.vecs), dynE: len(s.dynE), truth: o.truth, late: p.late}
	keep := false
	if !live && len(wf.dynamic) == 0 { // as plain
		x.refined, x.bound = o.knockKnown, c.plainVec(&x)
	} else {
		keep = c.known(&x, live)
	}
	x.bound0 = x.bound
	if x.bound <= 0 && !keep {
		s.vecs, s.dynE = s.vecs[:x.vec], s.dynE[:x.dynE]
		return
	}
	n := len(wf.dynamic)
	for i := range s.cands {
		y := &s.cands[i]
		// Twins have the same effects, so the same bound: comparing
		// bounds first keeps this cheap for fields of many options.
		if y.seen || y.field != x.field || y.bound0 != x.bound0 || !slices.Equal(s.vecs[x.vec:x.vec+buckets], s.vecs[y.vec:y.vec+buckets]) || !slices.Equal(s.dynE[x.dynE:x.dynE+n], s.dynE[y.dynE:y.dynE+n]) {
			continue
		}
		switch {
		case y.option < x.option && x.refined: // x is y's twin
			s.vecs, s.dynE = s.vecs[:x.vec], s.dynE[:x.dynE]
			return
		case x.option < y.option && y.refined: // y is x's twin
			y.seen = true
		}
	}
	s.cands = append(s.cands, x)
}

// twin reports whether an earlier candidate of the same field does for
// this lead what x does alone: the same effect on every rule that reads
// the field. The search would try both, for nothing.
func (c *cfRun) twin(x wiCand) bool {
	s := c.s
	buckets := c.nb + 1
	n := len(c.wi.fields[x.field].dynamic)
	for i := len(s.cands) - 1; i >= 0; i-- {
		y := &s.cands[i]
		if y.field != x.field {
			break // candidates are made field by field
		}
		if slices.Equal(s.vecs[x.vec:x.vec+buckets], s.vecs[y.vec:y.vec+buckets]) && slices.Equal(s.dynE[x.dynE:x.dynE+n], s.dynE[y.dynE:y.dynE+n]) {
			return true
		}
	}
	return false
}

// order sorts the candidates, largest bound first (ties: fields the lead
// lacks first, then in the fields' and options' order), and sums their
// bounds in s.prefix.
func (c *cfRun) order() {
	s := c.s
	top := 0
	for i := range s.cands {
		top = max(top, s.cands[i].bound)
	}
	if top > 4096 {
		slices.SortStableFunc(s.cands, func(a, b wiCand) int { return b.bound - a.bound })
	} else { // a counting sort: bounds are small, and this runs for every lead
		// Of equal bounds, a field the lead lacks first: asking the lead
		// or enriching the record is a change a rep can make.
		// One pass of the counting sort, keyed by the bound and then by
		// whether the lead has the field (candidates are 64 bytes: each
		// pass copies them all).
		key := func(x *wiCand) int {
			k := 2 * (top - x.bound)
			if x.late {
				k++
			}
			return k
		}
		count := resize(s.count, 2*top+3)
		s.keys = s.keys[:0]
		for i := range s.cands {
			k := key(&s.cands[i])
			s.keys = append(s.keys, k)
			count[k+1]++
		}
		for b := 1; b < len(count); b++ {
			count[b] += count[b-1]
		}
		sorted := slices.Grow(s.sorted[:0], len(s.cands))[:len(s.cands)]
		for i, k := range s.keys {
			sorted[count[k]] = s.cands[i]
			count[k]++
		}
		s.cands, s.sorted, s.count = sorted, s.cands, count
	}
	s.prefix = resize(s.prefix, len(s.cands)+1)
	for i := range s.cands {
		s.prefix[i+1] = s.prefix[i] + s.cands[i].bound
	}
}

// gains reports whether making the single rules of wf true as truth says,
// where the lead has them as cur says, gains points anywhere: a positive
// rule made true, or a negative one made false.
func (c *cfRun) gains(wf *wiField, truth, cur uint64) bool {
	for flip := truth ^ cur; flip != 0; flip &= flip - 1 {
		j := bits.TrailingZeros64(flip)
		if (wf.single[j].points > 0) == (truth&(1<<j) != 0) {
			return true
		}
	}
	return false
}

// known measures candidate x, new, as far as the ruleset decided what
// its option does: it appends its effects to s.vecs and s.dynE (through
// the rules of its field's dynamic, at the most they could move where the
// lead decides; all of them for a list the lead has), sets x.refined when
// that is all exact (no rule or knockout left for the lead to decide) and
// x.bound, and reports what measure reports. One pass: candidates and
// single measure most options of most leads this way.
func (c *cfRun) known(x *wiCand, live bool) (keep bool) {
	s, wi := c.s, c.wi
	wf := &wi.fields[x.field]
	o := &wf.options[x.option]
	n := c.nb + 1
	s.vecs = slices.Grow(s.vecs, n)[:x.vec+n]
	s.dynE = slices.Grow(s.dynE, len(wf.dynamic))[:x.dynE+len(wf.dynamic)]
	x.refined = !live && o.knockKnown
	dynE := s.dynE[x.dynE:]
	for p, i := range wf.dynamic {
		j := wf.dynIdx[p]
		e := 0
		switch now, was := o.dyn[p] == eval.True, c.truth[i] == eval.True; {
		case live || o.dyn[p] == eval.Unknown:
			e, x.refined = s.dynGain[j], false
		case now && !was:
			e = wi.dynPoints[j]
		case was && !now:
			e = -wi.dynPoints[j]
		}
		dynE[p] = e
	}
	return c.measure(x, live && !x.refined)
}

// measure sets x.bound from its effects (vecs, dynE, truth), and reports
// whether it is worth keeping though it adds nothing alone: a rule it
// reads with other fields could still move with another change. With
// guess, the single rules of its (live list) field count at the most they
// could move, its truth being unknown yet. vecs keeps only its effect on
// the single rules.
func (c *cfRun) measure(x *wiCand, guess bool) (keep bool) {
	s := c.s
	wf := &c.wi.fields[x.field]
	vec := s.vecs[x.vec : x.vec+c.nb+1]
	clear(vec)
	if guess {
		for _, sr := range wf.single {
			if (sr.points > 0) != (c.truth[sr.rule] == eval.True) {
				vec[sr.bucket] += abs(sr.points)
			}
		}
	} else {
		for flip := x.truth ^ s.cur[x.field]; flip != 0; flip &= flip - 1 {
			j := bits.TrailingZeros64(flip)
			sr := wf.single[j]
			if x.truth&(1<<j) != 0 {
				vec[sr.bucket] += sr.points
			} else {
				vec[sr.bucket] -= sr.points
			}
		}
	}
	if len(wf.dynIdx) == 0 { // only single rules: vec is the bound's
		x.bound = 0
		for b, v := range vec {
			x.bound += min(max(v, 0), s.room[b])
		}
		return false
	}
	// The rules read with other fields too count what the change does
	// alone, when that is a gain; vec keeps the single rules' effect.
	dynE := s.dynE[x.dynE : x.dynE+len(wf.dynIdx)]
	for p, j := range wf.dynIdx {
		if gain := dynE[p]; gain > 0 {
			vec[c.wi.dynBucket[j]] += gain
			if gain < abs(c.wi.dynPoints[j]) && s.dynMissed[j] {
				keep = true
			}
		} else if s.dynMissed[j] {
			keep = true // with another change, it may yet move
		}
	}
	x.bound = 0
	for b, v := range vec {
		x.bound += min(max(v, 0), s.room[b])
	}
	for p, j := range wf.dynIdx {
		if gain := dynE[p]; gain > 0 {
			vec[c.wi.dynBucket[j]] -= gain
		}
	}
	return keep
}

// refine decides, with the lead's values, what candidate i does alone
// where the ruleset could not; its bound can only fall. It reports
// false for a candidate that knocks the lead out.
func (c *cfRun) refine(i int) bool {
	s := c.s
	x := &s.cands[i]
	if x.refined {
		return !x.dead
	}
	wf := &c.wi.fields[x.field]
	o := &wf.options[x.option]
	live := wf.kind == wiList && c.r.Present.Has(wf.field.Index)
	dynE := s.dynE[x.dynE : x.dynE+len(wf.dynamic)]
	clear(dynE)
	truth, knocked := c.alone(wf, o, live, dynE)
	x.truth, x.refined, x.dead = truth, true, knocked
	c.measure(x, false)
	return !knocked
}

// alone decides what option o of field wf does alone to this lead: which
// of the field's single rules it makes true, what it adds through each
// rule of wf.dynamic (into dynE), and whether a knockout fires. live:
// the lead has the list wf, and everything is decided with the real rules.
func (c *cfRun) alone(wf *wiField, o *wiOption, live bool, dynE []int) (truth uint64, knocked bool) {
	truth = o.truth
	// The row holds the option only when a rule must be decided with it:
	// most options' outcomes were decided with the ruleset.
	swapped, undo := false, eval.Undo{}
	decide := func(cond *eval.Condition) bool {
		if !swapped {
			u, ok := c.swap(wf, o)
			if !ok {
				return false
			}
			swapped, undo = true, u
		}
		t, err := cond.Eval(c.m, c.r)
		return err == nil && t == eval.True
	}
	if live {
		truth = 0
		for j, sr := range wf.single {
			if decide(c.rs.Rules[sr.rule].When) {
				truth |= 1 << j
			}
		}
	}
	for p, i := range wf.dynamic {
		rule := c.rs.Rules[i]
		var now bool
		switch t := o.dyn[p]; {
		case live || (t == eval.Unknown && wf.subs[p].cond < 0):
			now = decide(rule.When)
		case t == eval.Unknown:
			now = c.substitute(wf.subs[p], o.leaves[p]) == eval.True
		default:
			now = t == eval.True
		}
		was := c.truth[i] == eval.True
		switch {
		case now && !was:
			dynE[p] = rule.Points
		case was && !now:
			dynE[p] = -rule.Points
		}
	}
	for k, rule := range wf.knock {
		n := len(wf.dynamic) + k
		switch t := o.knock[k]; {
		case live || (t == eval.Unknown && wf.subs[n].cond < 0):
			knocked = decide(rule.When)
		case t == eval.Unknown:
			knocked = c.substitute(wf.subs[n], o.leaves[n]) == eval.True
		}
		if knocked {
			break
		}
	}
	if swapped {
		c.r.Restore(undo)
	}
	return truth, knocked
}

// search looks for a set of from to to changes that qualifies the lead,
// the smallest, and of those the one that adds the most: c.best when
// c.bestFound.
func (c *cfRun) search(from, to int) {
	s := c.s
	fields := 0 // the distinct fields among the candidates bound the set's size
	for i := range s.cands {
		x := &s.cands[i]
		if !s.fieldIn[x.field] {
			s.fieldIn[x.field] = true
			fields++
		}
	}
	clear(s.fieldIn)
	clear(s.acc)
	s.lastAcc = resize(s.lastAcc, len(s.acc))
	for m := range s.held {
		s.held[m] = resize(s.held[m], len(s.acc))
	}
	c.held()
	for k := from; k <= min(to, fields) && !c.bestFound; k++ {
		s.sel = s.sel[:0]
		c.dfs(0, k)
		if c.nodes >= maxNodes || c.tries >= maxTries {
			break
		}
	}
}

// dfs extends the partial set s.sel with candidates from index from on,
// to k changes. s.acc holds what the set so far could add by bucket (see
// push).
func (c *cfRun) dfs(from, k int) {
	s := c.s
	left := k - len(s.sel)
	if left == 0 {
		gain, ok := c.try(s.sel)
		if ok && (!c.bestFound || gain > c.bestGain) {
			c.bestFound, c.bestGain = true, gain
			s.best = append(s.best[:0], s.sel...)
		}
		return
	}
	held := c.bound(left)
	for i := from; i+left <= len(s.cands); i++ {
		if c.nodes >= maxNodes || c.tries >= maxTries {
			return
		}
		// No set from here on adds more than the set so far could, with
		// what more changes could move together with it beyond their own
		// bounds, and the largest bounds from here on (they are sorted).
		if most := held + s.prefix[i+left] - s.prefix[i]; most < c.need || (c.bestFound && most <= c.bestGain) {
			return
		}
		c.nodes++
		if s.fieldIn[s.cands[i].field] {
			continue
		}
		// A candidate not refined yet counts at the most it could add:
		// refining (deciding rules with the lead's values) waits until
		// that passes.
		if !s.cands[i].refined && (!c.passes(i, left) || !c.refine(i)) {
			continue
		}
		x := &s.cands[i]
		if len(s.sel) == 0 && left == 1 { // alone, a candidate is its own bound
			if x.bound < c.need || (c.bestFound && x.bound <= c.bestGain) {
				continue
			}
			s.sel = append(s.sel, i)
			c.dfs(i+1, k)
			s.sel = s.sel[:0]
			continue
		}
		if left == 1 { // the set's last change: it is tried, no more are added
			if bound := c.peek(i, 0); bound >= c.need && (!c.bestFound || bound > c.bestGain) {
				s.sel = append(s.sel, i)
				c.dfs(i+1, k)
				s.sel = s.sel[:len(s.sel)-1]
			}
			continue
		}
		bound := s.prefix[i+left] - s.prefix[i+1] + c.peek(i, left-1)
		if bound >= c.need && (!c.bestFound || bound > c.bestGain) {
			c.push(i, 1)
			s.sel = append(s.sel, i)
			s.fieldIn[x.field] = true
			c.dfs(i+1, k)
			s.fieldIn[x.field] = false
			s.sel = s.sel[:len(s.sel)-1]
			c.push(i, -1)
		}
	}
}

// passes reports whether the set s.sel with candidate i, and left-1 more,
// could still qualify the lead and beat the best set found.
func (c *cfRun) passes(i, left int) bool {
	s := c.s
	var bound int
	switch {
	case len(s.sel) == 0 && left == 1:
		bound = s.cands[i].bound
	default:
		bound = s.prefix[i+left] - s.prefix[i+1] + c.peek(i, left-1)
	}
	return bound >= c.need && (!c.bestFound || bound > c.bestGain)
}

// push adds candidate i to s.acc (sign 1), or takes it out again (-1, in
// the reverse order of the pushes): its exact effect on the rules reading
// only its field, and on the rules reading other fields too while no other
// change of the set reads them; a rule two changes read counts the most it
// could move, once. It keeps s.once and s.none current: by bucket, what
// the rules read by one change of the set could move beyond what they
// count, and what the rules none reads could move, of those that two
// candidates' fields read.
func (c *cfRun) push(i, sign int) {
	s := c.s
	x := &s.cands[i]
	for b, v := range s.vecs[x.vec : x.vec+c.nb+1] {
		s.acc[b] += sign * v
	}
	wf := &c.wi.fields[x.field]
	for p, j := range wf.dynIdx {
		b, gain := c.wi.dynBucket[j], s.dynGain[j]
		shared := s.reach[j] >= 2
		if sign < 0 {
			s.touch[j]--
		}
		switch s.touch[j] {
		case 0: // first read: counts what this change alone does
			e := s.dynE[x.dynE+p]
			s.touchE[j] = e
			s.acc[b] += sign * e
			if shared {
				s.none[b] -= sign * gain
				s.once[b] += sign * (gain - e)
			}
		case 1: // read twice: counts the most it could move
			s.acc[b] += sign * (gain - s.touchE[j])
			if shared {
				s.once[b] -= sign * (gain - s.touchE[j])
			}
		}
		if sign > 0 {
			s.touch[j]++
		}
	}
	c.held()
}

// held keeps s.held current after s.acc, s.once or s.none change.
func (c *cfRun) held() {
	s := c.s
	h0, h1, h2 := s.held[0], s.held[1], s.held[2]
	for b, v := range s.acc {
		h0[b] = v
		h1[b] = v + s.once[b]
		h2[b] = h1[b] + s.none[b]
	}
}

// peek is what push(i, 1) and then bound(more) would give, the bound of
// the set s.sel with candidate i and more changes after it, without the
// push and its undoing: most candidates the search bounds go no further.
func (c *cfRun) peek(i, more int) int {
	s := c.s
	x := &s.cands[i]
	held := s.held[min(more, 2)]
	vec := s.vecs[x.vec : x.vec+len(held)]
	room := s.room[:len(held)]
	dyn := c.wi.fields[x.field].dynIdx
	bound := 0
	if len(dyn) == 0 { // its effect is all in vec
		for b, v := range vec {
			bound += min(max(held[b]+v, 0), room[b])
		}
		return bound
	}
	acc := s.lastAcc[:len(held)]
	for b, v := range vec {
		acc[b] = held[b] + v
	}
	// As push would count each rule read with other fields too, less
	// what held counts of it already: the most it could move, in s.none
	// (more > 1) or once a change reads it, in s.once (more > 0).
	for p, j := range dyn {
		shared := s.reach[j] >= 2
		switch b := c.wi.dynBucket[j]; s.touch[j] {
		case 0:
			switch {
			case !shared || more == 0:
				acc[b] += s.dynE[x.dynE+p]
			case more == 1:
				acc[b] += s.dynGain[j]
			}
		case 1:
			if !shared || more == 0 {
				acc[b] += s.dynGain[j] - s.touchE[j]
			}
		}
	}
	for b, v := range acc {
		bound += min(max(v, 0), room[b])
	}
	return bound
}

// bound is what the set in s.acc could add, under the caps, with what
// left more changes could move together with it beyond their own bounds.
func (c *cfRun) bound(left int) int {
	s := c.s
	bound := 0
	for b, v := range s.held[min(left, 2)] {
		bound += min(max(v, 0), s.room[b])
	}
	return bound
}

// try decides a set of candidates with the real rules: from what each
// change does alone where that says it all (see settled), else with
// their values set in the lead's row, then restored; only the latter
// counts against maxTries. It returns what the set adds to the score,
// and whether the lead then qualifies and no knockout fires.
func (c *cfRun) try(sel []int) (gain int, qualifies bool) {
	if gain, knocked, ok := c.settled(sel, nil); ok {
		if knocked || gain < c.need {
			return gain, false
		}
		return gain, c.qualifies(c.score0 + gain)
	}
	c.tries++
	c.apply(sel)
	defer c.restore()
	gain, knocked := c.score(sel, nil)
	if knocked || gain < c.need {
		return gain, false
	}
	return gain, c.qualifies(c.score0 + gain)
}

// settled decides a set without changing the lead's row, when what each
// change does to the rules reading its field says it all: every candidate
// refined (what it does alone through each rule and knockout that reads
// its field is decided for this lead, by the ruleset or by refine) and
// alive, and qualify reads no field of the lead. A rule that one change
// alone reads counts what that change does alone; a rule or knockout that
// several read (and that one of them leaves to the other fields) is
// decided from the lead's leaves with the leaves each change's option
// decides (see wiSub). ok is false when that cannot be (a leaf reads two
// fields, a list the lead has): the set is then decided in the row.
// Otherwise it returns what the set adds (c.s.totals set, as score) and
// whether a knockout fires; flip, when set, is called as score calls it.
func (c *cfRun) settled(sel []int, flip func(change int, rule int, now bool)) (gain int, knocked, ok bool) {
	s := c.s
	if c.wi.qualifyReads {
		return 0, false, false
	}
	for n, i := range sel {
		x := &s.cands[i]
		if !x.refined || x.dead {
			return 0, false, false
		}
		for _, j := range sel[:n] {
			if c.shared(i, j) && !c.substitutable(i, j) {
				return 0, false, false
			}
		}
	}
	clear(s.delta)
	for n, i := range sel {
		x := &s.cands[i]
		wf := &c.wi.fields[x.field]
		for b, v := range s.vecs[x.vec : x.vec+c.nb+1] {
			s.delta[b] += v
		}
		if flip != nil {
			for flips := x.truth ^ s.cur[x.field]; flips != 0; flips &= flips - 1 {
				j := bits.TrailingZeros64(flips)
				flip(n, wf.single[j].rule, x.truth&(1<<j) != 0)
			}
		}
		for p, j := range wf.dynIdx {
			first, others := c.readers(sel, n, j)
			if !others { // what it does alone
				if e := s.dynE[x.dynE+p]; e != 0 {
					s.delta[c.wi.dynBucket[j]] += e
					if flip != nil {
						flip(n, wf.dynamic[p], c.truth[wf.dynamic[p]] != eval.True)
					}
				}
				continue
			}
			ri := wf.dynamic[p]
			t := s.together[j] // decided by an earlier reader, or undecided (-1)
			if t < 0 {
				t = c.decide(sel, wf.subs[p].cond)
				s.together[j] = t
			}
			now, was := t == eval.True, c.truth[ri] == eval.True
			if now == was {
				continue
			}
			if first {
				if now {
					s.delta[c.wi.dynBucket[j]] += c.wi.dynPoints[j]
				} else {
					s.delta[c.wi.dynBucket[j]] -= c.wi.dynPoints[j]
				}
			}
			if flip != nil {
				flip(n, ri, now)
			}
		}
		for k, rule := range wf.knock {
			if !knocked && c.knockShared(sel, n, k, rule) {
				knocked = c.decide(sel, wf.subs[len(wf.dynamic)+k].cond) == eval.True
			}
		}
	}
	for _, i := range sel {
		for _, j := range c.wi.fields[s.cands[i].field].dynIdx {
			s.together[j] = -1
		}
	}
	gain = s.delta[c.nb]
	for g := range c.nb {
		s.totals[g] = s.pre[g] + s.delta[g]
		gain += min(max(s.totals[g], s.lo[g]), s.hi[g]) - s.base[g]
	}
	return gain, knocked, true
}

// readers reports, of the changes of sel other than the n-th, whether one
// reads rule j of whatIf.dynamic (others), and whether none before the
// n-th does (first: the n-th counts its points).
func (c *cfRun) readers(sel []int, n, j int) (first, others bool) {
	first = true
	for m, i := range sel {
		if m != n && slices.Contains(c.wi.fields[c.s.cands[i].field].dynIdx, j) {
			others = true
			first = first && m > n
		}
	}
	return first, others
}

// knockShared reports whether knockout k of the n-th change of sel is
// read by another change of the set and one of them leaves it to the
// other fields: the set decides it together (else it is as the change
// alone decided it: not fired).
func (c *cfRun) knockShared(sel []int, n, k int, rule *eval.Rule) bool {
	x := &c.s.cands[sel[n]]
	t := c.wi.fields[x.field].options[x.option].knock[k]
	shared := false
	for m, i := range sel {
		y := &c.s.cands[i]
		b := &c.wi.fields[y.field]
		if l := slices.Index(b.knock, rule); m != n && l >= 0 {
			shared = true
			if b.options[y.option].knock[l] != eval.False {
				t = eval.Unknown
			}
		}
	}
	return shared && t != eval.False
}

// shared reports whether candidates i and j (of two fields) may decide a
// rule together: a rule of whatIf.dynamic that reads both fields, or a
// knockout that reads both and that one of them leaves to the other
// fields (not false whatever they hold; a list the lead has is decided
// with its items).
func (c *cfRun) shared(i, j int) bool {
	x, y := &c.s.cands[i], &c.s.cands[j]
	a, b := &c.wi.fields[x.field], &c.wi.fields[y.field]
	for _, d := range a.dynIdx {
		if slices.Contains(b.dynIdx, d) {
			return true
		}
	}
	if len(a.knock) == 0 || len(b.knock) == 0 {
		return false
	}
	for k, rule := range a.knock {
		if l := slices.Index(b.knock, rule); l >= 0 {
			if c.live(a) || c.live(b) || a.options[x.option].knock[k] != eval.False || b.options[y.option].knock[l] != eval.False {
				return true
			}
		}
	}
	return false
}

// substitutable reports whether every rule and knockout that candidates i
// and j both read is decided leaf by leaf for both (see wiSub): no leaf
// reads both fields, and neither is a list the lead has.
func (c *cfRun) substitutable(i, j int) bool {
	a, b := &c.wi.fields[c.s.cands[i].field], &c.wi.fields[c.s.cands[j].field]
	if c.live(a) || c.live(b) {
		return false
	}
	for p, d := range a.dynIdx {
		if l := slices.Index(b.dynIdx, d); l >= 0 && (a.subs[p].cond < 0 || b.subs[l].cond < 0) {
			return false
		}
	}
	for k, rule := range a.knock {
		if l := slices.Index(b.knock, rule); l >= 0 && (a.subs[len(a.dynamic)+k].cond < 0 || b.subs[len(b.dynamic)+l].cond < 0) {
			return false
		}
	}
	return true
}

// live reports whether wf is a list the lead has: its options add their
// items to the lead's, decided with the real rules.
func (c *cfRun) live(wf *wiField) bool {
	return wf.kind == wiList && c.r.Present.Has(wf.field.Index)
}

// decide decides condition cond (in whatIf.conds) for the lead with the
// changes of sel: the lead's own leaves, but for those that read only a
// changed field, decided by the change's option (see wiSub).
func (c *cfRun) decide(sel []int, cond int) eval.Truth {
	s := c.s
	leaves := append(s.leafTmp[:0], c.leaves(cond)...)
	for _, i := range sel {
		x := &s.cands[i]
		wf := &c.wi.fields[x.field]
		for n, sub := range wf.subs {
			if sub.cond == cond {
				for m, l := range sub.mine {
					leaves[l] = wf.options[x.option].leaves[n][m]
				}
				break
			}
		}
	}
	s.leafTmp = leaves
	return c.wi.conds[cond].Decide(leaves)
}

// apply sets the candidates' values in the lead's row; restore undoes it.
func (c *cfRun) apply(sel []int) {
	s := c.s
	s.undo = s.undo[:0]
	for _, i := range sel {
		x := &s.cands[i]
		wf := &c.wi.fields[x.field]
		if u, ok := c.swap(wf, &wf.options[x.option]); ok {
			s.undo = append(s.undo, u)
		}
	}
}

func (c *cfRun) restore() {
	for i := len(c.s.undo) - 1; i >= 0; i-- {
		c.r.Restore(c.s.undo[i])
	}
	c.s.undo = c.s.undo[:0]
}

// swap sets option o of field wf in the lead's row (see Row.Swap): a date
// before the decision's clock; the lead's list with the option's items,
// in scratch space (the row holds it until restore; describe copies it).
func (c *cfRun) swap(wf *wiField, o *wiOption) (eval.Undo, bool) {
	f := wf.field
	switch f.Type {
	case rulefile.TypeDate:
		return c.r.SwapTime(f, o.ago.Before(c.r.Now)), true
	case rulefile.TypeList:
		s := c.s
		at := len(s.lists)
		s.lists = append(s.lists, c.r.List(f)...)
		for _, it := range o.items {
			if !slices.Contains(s.lists[at:], it) {
				s.lists = append(s.lists, it)
			}
		}
		return c.r.SwapList(f, s.lists[at:len(s.lists):len(s.lists)]), true
	}
	return c.r.Swap(f, o.value)
}

// substitute decides a condition for the lead with the leaves of sub set
// to mine.
func (c *cfRun) substitute(sub wiSub, mine []eval.Truth) eval.Truth {
	s := c.s
	leaves := append(s.leafTmp[:0], c.leaves(sub.cond)...)
	for n, l := range sub.mine {
		leaves[l] = mine[n]
	}
	s.leafTmp = leaves
	return c.wi.conds[sub.cond].Decide(leaves)
}

// leaves returns the lead's own leaves of condition cond (in
// whatIf.conds), computed once a lead.
func (c *cfRun) leaves(cond int) []eval.Truth {
	s := c.s
	at := s.leafAt[cond]
	if at < 0 {
		at = len(s.leafBuf)
		s.leafBuf = c.wi.conds[cond].LeafTruths(s.leafBuf, c.m, c.r)
		s.leafAt[cond] = at
		s.leafEnd[cond] = len(s.leafBuf)
	}
	return s.leafBuf[at:s.leafEnd[cond]]
}

// score decides, with the changes of sel set in the row, what they add to
// the lead's score (group totals before caps in c.s.totals) and whether a
// knockout fires. flip, when set, is called for each rule whose outcome
// changes, with the field of the change that reads it.
func (c *cfRun) score(sel []int, flip func(change int, rule int, now bool)) (gain int, knocked bool) {
	s := c.s
	clear(s.delta)
	for n, i := range sel {
		x := &s.cands[i]
		wf := &c.wi.fields[x.field]
		o := &wf.options[x.option]
		live := wf.kind == wiList && s.undo[n].Had()
		for flips := x.truth ^ s.cur[x.field]; flips != 0; flips &= flips - 1 {
			j := bits.TrailingZeros64(flips)
			sr := wf.single[j]
			now := x.truth&(1<<j) != 0
			if now {
				s.delta[sr.bucket] += sr.points
			} else {
				s.delta[sr.bucket] -= sr.points
			}
			if flip != nil {
				flip(n, sr.rule, now)
			}
		}
		for _, ri := range wf.dynamic {
			if c.decidedBefore(sel[:n], ri) {
				if flip != nil && c.changed(ri) {
					flip(n, ri, !(c.truth[ri] == eval.True))
				}
				continue
			}
			rule := c.rs.Rules[ri]
			t, err := rule.When.Eval(c.m, c.r)
			now, was := err == nil && t == eval.True, c.truth[ri] == eval.True
			if now == was {
				continue
			}
			if now {
				s.delta[c.bucket(rule)] += rule.Points
			} else {
				s.delta[c.bucket(rule)] -= rule.Points
			}
			if flip != nil {
				flip(n, ri, now)
			}
		}
		for k, rule := range wf.knock {
			if live || o.knock[k] == eval.Unknown { // false whatever the other fields hold, else
				if t, err := rule.When.Eval(c.m, c.r); err == nil && t == eval.True {
					knocked = true
				}
			}
		}
	}
	gain = s.delta[c.nb]
	for g := range c.nb {
		s.totals[g] = s.pre[g] + s.delta[g]
		gain += min(max(s.totals[g], s.lo[g]), s.hi[g]) - s.base[g]
	}
	return gain, knocked
}

// decidedBefore reports whether dynamic rule ri reads the field of one of
// the changes in sel, and was decided with it.
func (c *cfRun) decidedBefore(sel []int, ri int) bool {
	for _, i := range sel {
		if slices.Contains(c.wi.fields[c.s.cands[i].field].dynamic, ri) {
			return true
		}
	}
	return false
}

// changed reports whether dynamic rule ri decides otherwise with the
// changes in the row than for the lead.
func (c *cfRun) changed(ri int) bool {
	t, err := c.rs.Rules[ri].When.Eval(c.m, c.r)
	return (err == nil && t == eval.True) != (c.truth[ri] == eval.True)
}

func (c *cfRun) bucket(rule *eval.Rule) int {
	if rule.GroupIndex < 0 {
		return c.nb
	}
	return rule.GroupIndex
}

// qualifies decides qualify for a score and the group totals before caps
// in c.s.totals, with the row as it is.
func (c *cfRun) qualifies(score int) bool {
	rs, s := c.rs, c.s
	tier := rs.TierFor(score)
	if rs.Qualify == nil {
		return len(rs.Tiers) > 0 && tier == rs.Tiers[0].Name
	}
	for g := range c.nb { // totals after the caps, by group index
		s.groups[g] = min(max(s.totals[g], s.lo[g]), s.hi[g])
	}
	r := c.r
	r.Tier, r.Score, r.GroupTotals, r.KnockedOut = tier, score, s.groups, false
	t, err := rs.Qualify.Eval(c.m, r)
	return err == nil && t == eval.True
}

// describe turns the chosen set into the decision's changes: each with
// what it adds after the ones before it; the rules it makes true and false
// with the whole set go to c.s.flipped, for ids. It reorders sel.
func (c *cfRun) describe(sel []int) []Change {
	s := c.s
	out := make([]Change, len(sel))
	s.textAt = resize(s.textAt, 4*len(sel))
	// Each change in turn is the one that adds the most after the ones
	// before it, so that a change adds nothing only when it counts with
	// one after it (both feed a rule that reads both fields).
	prev := 0
	for n := range sel[:len(sel)-1] {
		best, bestGain := n, math.MinInt
		for m := n; m < len(sel); m++ {
			sel[n], sel[m] = sel[m], sel[n]
			gain := c.gain(sel[:n+1])
			if gain > bestGain {
				best, bestGain = m, gain
			}
			sel[n], sel[m] = sel[m], sel[n]
		}
		sel[n], sel[best] = sel[best], sel[n]
		out[n].Adds, prev = bestGain-prev, bestGain
	}
	out[len(sel)-1].Adds = c.bestGain - prev
	record := func(n, rule int, now bool) {
		s.flipped = append(s.flipped, cfFlip{change: n, rule: rule, now: now})
	}
	// The texts of the lead's values (From) and of the values set that
	// differ from lead to lead (Text) are written into one buffer and
	// made one string, which the changes share: one allocation.
	s.text = s.text[:0]
	for n, i := range sel {
		f := c.wi.fields[s.cands[i].field].field
		s.textAt[4*n] = len(s.text)
		out[n].Unknown = !c.r.Present.Has(f.Index)
		if !out[n].Unknown {
			s.text = c.r.AppendValue(s.text, f)
		}
		s.textAt[4*n+1] = len(s.text)
	}
	_, _, alone := c.settled(sel, record)
	// The row holds the set for score, and for the values that differ
	// from lead to lead (a date, a list), as it holds them.
	swapped := !alone
	for _, i := range sel {
		swapped = swapped || c.wi.fields[s.cands[i].field].options[s.cands[i].option].wire == nil
	}
	if swapped {
		c.apply(sel)
	}
	if !alone {
		c.score(sel, record)
	}
	for n, i := range sel {
		x := &s.cands[i]
		wf := &c.wi.fields[x.field]
		s.textAt[4*n+2] = len(s.text)
		if wf.options[x.option].wire == nil {
			s.text = c.r.AppendValue(s.text, wf.field)
		}
		s.textAt[4*n+3] = len(s.text)
	}
	text := string(s.text)
	for n, i := range sel {
		x := &s.cands[i]
		wf := &c.wi.fields[x.field]
		o := &wf.options[x.option]
		f := wf.field
		out[n].From = text[s.textAt[4*n]:s.textAt[4*n+1]]
		out[n].Field, out[n].Label = f.Name, f.Label
		if o.wire != nil { // the same for every lead: made once (see wiOption)
			out[n].Value, out[n].Text = o.wire, o.text
		} else {
			v, _ := c.r.Value(f)
			out[n].Value, out[n].Text = wireValue(f, v), text[s.textAt[4*n+2]:s.textAt[4*n+3]]
		}
	}
	if swapped {
		c.restore()
	}
	return out
}

// ids fills cf.Verify (from c.s.verify) and each change's MakesTrue and
// MakesFalse (from c.s.flipped) from one slice of rule ids, made to size:
// the decision owns it, and it is one allocation, not one a list. Each
// list is capped at its length, so that appending to one never writes
// into the next.
func (c *cfRun) ids(cf *Counterfactual) {
	s := c.s
	if len(s.verify)+len(s.flipped) == 0 {
		for n := range cf.Changes {
			cf.Changes[n].MakesTrue = []string{}
		}
		return
	}
	ids := make([]string, 0, len(s.verify)+len(s.flipped))
	for _, i := range s.verify {
		ids = append(ids, c.rs.Rules[i].ID)
	}
	if len(ids) > 0 {
		cf.Verify = ids[:len(ids):len(ids)]
	}
	for n := range cf.Changes {
		for _, now := range []bool{true, false} {
			start := len(ids)
			for _, f := range s.flipped {
				if f.change == n && f.now == now {
					ids = append(ids, c.rs.Rules[f.rule].ID)
				}
			}
			list := ids[start:len(ids):len(ids)]
			switch {
			case now:
				cf.Changes[n].MakesTrue = list
			case len(list) > 0:
				cf.Changes[n].MakesFalse = list
			}
		}
	}
}

// gain is what the changes of sel add to the score: from what each does
// alone where that says it all (see settled), else decided in the row.
func (c *cfRun) gain(sel []int) int {
	if gain, _, ok := c.settled(sel, nil); ok {
		return gain
	}
	c.apply(sel)
	defer c.restore()
	gain, _ := c.score(sel, nil)
	return gain
}

// wireValue is a value of field f as the lead's JSON carries it, owned by
// the caller: dates as 2006-01-02, lists copied.
func wireValue(f *eval.Field, v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.DateOnly)
	case []string:
		return slices.Clone(x)
	}
	return v
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Counterfactual is what it would take a lead that did not qualify to
// qualify, computed from the decision with the ruleset's rules, caps,
// tiers and qualify rule:
//
//   - a knocked-out lead must first clear its knockouts (Knockouts), and
//     nothing else is said: no score makes it qualify while one applies;
//   - otherwise Tier is the nearest tier above the lead's that satisfies
//     qualify, PointsNeeded how far it is, and Changes a smallest set of
//     changes of the lead's data that together qualify it (none when no
//     set does, or the lead is too far to search): each a field set to a
//     value, with what the real rules make of it. What each missed rule
//     would add on its own is its Miss.Adds. Verify lists the missed rules
//     that would add points but that no value leadq can derive from the
//     rules makes true (a pattern it cannot spell, a field compared with
//     another): a rep checks them by hand.
type Counterfactual struct {
	Knockouts    []string `json:"knockouts,omitempty"`     // the rules that knocked the lead out
	Tier         string   `json:"tier,omitempty"`          // the nearest tier that qualifies
	PointsNeeded int      `json:"points_needed,omitempty"` // to reach Tier's minimum
	Changes      []Change `json:"changes,omitempty"`       // a smallest set of changes of data that qualifies the lead
	Verify       []string `json:"verify,omitempty"`        // missed rules to check by hand
}

// Change is one change of a lead's data in a counterfactual: Field set to
// Value. Applied to the lead with the other changes of the set and scored
// again, the lead qualifies.
type Change struct {
	Field string `json:"field"`           // lead.employees
	Label string `json:"label,omitempty"` // the field's label, when the rule file gives one
	// Value is the value to set, as the lead's JSON carries it (a date as
	// 2006-01-02, a list whole: the lead's items and the ones added); one
	// example of the values that make MakesTrue true.
	Value any    `json:"value"`
	Text  string `json:"text"`           // Value as a rep reads it
	From  string `json:"from,omitempty"` // the lead's value as a rep reads it; "" when Unknown
	// Unknown is true when the lead lacks the field: ask the lead or
	// enrich the record. False: the field is known, and its value does not
	// make the rules true.
	Unknown bool `json:"unknown"`
	// Adds is what the change really adds to the score, after the changes
	// before it: the rules it makes true, less the ones it makes false,
	// under the groups' caps.
	Adds       int      `json:"adds"`
	MakesTrue  []string `json:"makes_true"`            // score rules that become true with the set
	MakesFalse []string `json:"makes_false,omitempty"` // score rules that were true and no longer are
}

// IsZero reports whether there is nothing to say: a qualified lead, or a
// brief decision.
func (c Counterfactual) IsZero() bool {
	return len(c.Knockouts) == 0 && c.Tier == "" && c.PointsNeeded == 0 && len(c.Changes) == 0 && len(c.Verify) == 0
}

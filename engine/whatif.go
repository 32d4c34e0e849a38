package engine

import (
	"slices"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// What the counterfactual (Decision.WouldQualify) needs of a ruleset, the
// same for every lead: for each field a positive score rule reads, its
// options, the values of the field that the rules tell apart.
//
// The compiler gives each condition its samples (eval.Sample: the
// constants it compares a field with, and their neighbours). Here each
// sample of a field is tried on a row that holds only that field, with the
// ruleset's own conditions, and one value is kept for each distinct
// outcome of the leaves of the rules that read the field: lead.employees
// gets 10, 50, 100, 1000 (say), one per band (9 fires the knockout
// employees < 10: a value that fires a knockout reading only its field is
// never an option), and 999 is the same as 100 to every rule. What an
// option does to the rules that read only its field is the same for every
// lead (kept as a bit set) but for a list the lead has (its items plus the
// option's) and a date read against a fixed date. A rule that reads other
// fields too is decided once here where the option alone settles it
// (three-valued: false with the other fields unknown stays false), and
// otherwise for each lead, leaf by leaf (wiSub) or with the value set in
// the lead's row.

// whatIf is a ruleset's options, by field.
type whatIf struct {
	fields []wiField
	// toVerify are the positive score rules (by Rule.Index, in
	// rules.Ruleset.ByPoints' order) that no combination of options makes
	// true: rules the counterfactual cannot offer as a change of data (a
	// pattern it cannot spell, a field compared with another), for a rep
	// to check by hand.
	toVerify []int
	clock    time.Time // the clock options are tried with
	// qualifyReads: the qualify condition reads fields of the lead, so a
	// change is decided with it in the row.
	qualifyReads bool
	// dynamic are the score rules (Rule.Index) decided with a change in
	// the row, where their points go and how many (kept here so that the
	// search reads no rule for them). All of them: a rule left out would
	// have to count at the most it could move, and the search, bounded in
	// what it tries, would then miss changes that qualify the lead.
	dynamic, dynBucket, dynPoints []int
	// conds are the conditions of rules that read several fields (score
	// rules and knockouts) that a change is decided with leaf by leaf:
	// their leaves that do not read the changed field decide as they do
	// for the lead, the ones that read only it as they do for the option
	// (see wiOption.leaves), and Condition.Decide combines them.
	conds []*eval.Condition
	// singles are the single rules of every field, for the lead's
	// outcomes of them as bit sets (cfScratch.cur) in one pass.
	singles []wiSingleBit
}

// wiSingleBit is a single rule (Rule.Index), bit bit of field (in
// whatIf.fields) in the bit sets of the lead's outcomes.
type wiSingleBit struct {
	rule, field int
	bit         uint64
}

// wiField is one field that a positive score rule reads, and its options.
type wiField struct {
	field *eval.Field
	kind  wiKind
	// single are the score rules that read only this field (static
	// fields), at most 64: an option's outcome for them is a bit set
	// (wiOption.truth). More such rules go to dynamic, whose outcomes for
	// an option were decided here all the same (wiOption.dyn).
	single  []wiRule
	dynamic []int        // score rules decided with the change in the row: Rule.Index
	dynIdx  []int        // for each rule of dynamic, its index in whatIf.dynamic
	knock   []*eval.Rule // knockouts decided with the change in the row
	// subs has, for each rule of dynamic and then each of knock, how a
	// change of this field is decided without changing the lead's row.
	subs    []wiSub
	options []wiOption
	most    int        // the largest of the options' most
	dynMost int        // the points of the rules of dynamic: the most they move for any lead
	barred  []wiOption // values that fire a knockout reading only this field: never offered
}

// wiRule is a score rule, where its points go.
type wiRule struct {
	rule, points, bucket int // bucket: Rule.GroupIndex, or len(GroupNames) when ungrouped
}

// wiOption is one value of a field.
type wiOption struct {
	value any // of the field's Go type; nil for dates and lists
	// wire and text are value as a change carries it (Change.Value and
	// Change.Text), made once here for a value that is the same for every
	// lead (not a date or a list): immutable, so decisions can share them,
	// and a change is written without boxing or formatting.
	wire  any
	text  string
	ago   eval.Ago // a date: how long before the decision's clock
	items []string // a list: the items to add to the lead's
	truth uint64   // bit j when single[j] is true with this value (a list: with only its items)
	// most is the most it could add to any lead through its single rules,
	// caps aside: their points where it makes a positive rule true or a
	// negative one false (for a list, all of them).
	most int
	// mostBy is most by bucket (GroupIndex, len(GroupNames) for the
	// ungrouped rules): with the caps, a cheap bound of what it adds.
	// mostIn is the one bucket of mostBy that is not 0, or -1.
	mostBy []int
	mostIn int
	// dyn and knock are what the rules of dynamic and the knockouts of
	// knock decide with only this field (a list: only its items): True or
	// False whatever the other fields hold, else Unknown. (No option has
	// a knockout True: those are barred.)
	dyn, knock []eval.Truth
	// leaves has, for each of the field's subs, the truths of the leaves
	// it names with this value.
	leaves [][]eval.Truth
	// knockKnown: no knockout of knock is Unknown with this value, so
	// that what it does to a field without rules of dynamic is known for
	// every lead that lacks the field or for which it is not a live list.
	knockKnown bool
}

// wiSub is how one condition is decided for a change of one field: cond
// is its index in whatIf.conds, mine the leaves that read only this field;
// cond is -1 when a leaf reads this field and another one too (the change
// is then set in the row and the condition decided there).
type wiSub struct {
	cond int
	mine []int
}

// wiKind says how far what an option does is the same for every lead.
type wiKind int8

const (
	// wiStatic: its outcome for the rules is the same for every lead (a
	// string, number or bool; a date that rules read only relative to the
	// clock, days_since(x) <= 14, and whose options are relative too).
	wiStatic wiKind = iota
	// wiList: the same for every lead that lacks the list; a lead that has
	// one gets the option's items added, decided with the real rules.
	wiList
	// wiClocked: a date read against a fixed date, decided with the real
	// rules for every lead (the single rules are among the dynamic ones).
	wiClocked
)

// kindOf returns field f's kind, given its samples and the rules that
// read it: a date is static when each sample gives every leaf of those
// rules the same truth at two clocks far apart.
func (w *whatIf) kindOf(rs *rules.Ruleset, m *vm.VM, r *eval.Row, f *eval.Field, found []eval.Sample, readers []*eval.Rule) wiKind {
	switch f.Type {
	case rulefile.TypeList:
		return wiList
	case rulefile.TypeDate:
	default:
		return wiStatic
	}
	var at [2][]eval.Truth
	for _, s := range found {
		for i, now := range []time.Time{w.clock, w.clock.AddDate(3, 5, 11).Add(7 * time.Hour)} {
			r.Reset(rs)
			r.Now = now
			r.SetTime(f, s.Ago.Before(now))
			at[i] = at[i][:0]
			for _, rule := range readers {
				at[i] = rule.When.LeafTruths(at[i], m, r)
			}
		}
		if s.Value != nil || !slices.Equal(at[0], at[1]) {
			return wiClocked
		}
	}
	return wiStatic
}

// maxReachTries bounds the combinations of options newWhatIf tries to make
// one rule true before it takes the rule as reachable.
const maxReachTries = 4096

func newWhatIf(rs *rules.Ruleset) *whatIf {
	w := &whatIf{qualifyReads: rs.Qualify != nil && len(rs.Qualify.Fields()) > 0}
	m := new(vm.VM)
	var r eval.Row
	// Any clock: the options of dates are relative to it, and so is what
	// they do.
	w.clock = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	nb := len(rs.GroupNames)
	bucket := func(rule *eval.Rule) int {
		if rule.GroupIndex < 0 {
			return nb
		}
		return rule.GroupIndex
	}
	reads := func(rule *eval.Rule, f *eval.Field) bool {
		return rule.When != nil && slices.Contains(rule.When.Fields(), f)
	}
	wanted := make([]bool, len(rs.Fields))
	for _, rule := range rs.Rules {
		if rule.Points > 0 && rule.When != nil {
			for _, f := range rule.When.Fields() {
				wanted[f.Index] = true
			}
		}
	}
	byField := make([]int, len(rs.Fields)) // index in w.fields + 1; 0 for none
	for _, f := range rs.Fields {
		if !wanted[f.Index] {
			continue
		}
		var readers []*eval.Rule // every rule reading f
		var found []eval.Sample
		kept := map[eval.SampleKey]bool{} // found's, by key: a scan per sample was quadratic in a list's length
		for _, rule := range slices.Concat(rs.Rules, rs.Knockouts) {
			if !reads(rule, f) {
				continue
			}
			readers = append(readers, rule)
			for _, s := range rule.When.Samples() {
				if k := s.Key(); s.Field == f && !kept[k] {
					kept[k] = true
					found = append(found, s)
				}
			}
		}
		// Constants first: of two values alike to every rule, the one kept
		// reads as a rule's own (10 for employees >= 10, not 49).
		slices.SortStableFunc(found, func(a, b eval.Sample) int {
			switch {
			case a.Beside == b.Beside:
				return 0
			case b.Beside:
				return -1
			}
			return 1
		})
		wf := wiField{field: f, kind: w.kindOf(rs, m, &r, f, found, readers)}
		for _, rule := range readers {
			single := len(rule.When.Fields()) == 1
			switch {
			case rule.Knockout:
				wf.knock = append(wf.knock, rule)
			case single && wf.kind != wiClocked && len(wf.single) < 64:
				wf.single = append(wf.single, wiRule{rule: rule.Index, points: rule.Points, bucket: bucket(rule)})
			default:
				wf.dynamic = append(wf.dynamic, rule.Index)
			}
		}
		for _, rule := range slices.Concat(w.rulesOf(rs, wf.dynamic), wf.knock) {
			wf.subs = append(wf.subs, w.sub(rule.When, f))
		}
		seen := map[string]bool{}
		var truths []eval.Truth
	samples:
		for _, s := range found {
			o := wiOption{value: s.Value, ago: s.Ago, items: s.Items}
			r.Reset(rs)
			r.Now = w.clock
			if !w.set(&r, &wf, &o) {
				continue
			}
			if f.Type != rulefile.TypeDate && f.Type != rulefile.TypeList {
				v, _ := r.Value(f)
				o.wire, o.text = wireValue(f, v), eval.FormatValue(v)
			}
			// What the rules that read other fields too, and the
			// knockouts, decide with only this field: true or false
			// whatever the other fields hold, or unknown.
			for _, k := range wf.knock {
				t, err := k.When.Eval(m, &r)
				if err != nil || (t == eval.False && !k.When.Total()) {
					t = eval.Unknown
				}
				if t == eval.True {
					wf.barred = append(wf.barred, o)
					continue samples // never offered: it knocks the lead out
				}
				o.knock = append(o.knock, t)
			}
			o.knockKnown = !slices.Contains(o.knock, eval.Unknown)
			truths = truths[:0]
			for _, rule := range readers {
				truths = rule.When.LeafTruths(truths, m, &r)
			}
			key := string(truthBytes(truths))
			if seen[key] {
				continue
			}
			seen[key] = true
			for j, sr := range wf.single {
				if t, err := rs.Rules[sr.rule].When.Eval(m, &r); err == nil && t == eval.True {
					o.truth |= 1 << j
				}
			}
			for n, rule := range slices.Concat(w.rulesOf(rs, wf.dynamic), wf.knock) {
				var mine []eval.Truth
				if sub := wf.subs[n]; sub.cond >= 0 {
					all := rule.When.LeafTruths(nil, m, &r)
					for _, l := range sub.mine {
						mine = append(mine, all[l])
					}
				}
				o.leaves = append(o.leaves, mine)
			}
			for _, ri := range wf.dynamic {
				t, err := rs.Rules[ri].When.Eval(m, &r)
				if err != nil || wf.kind == wiClocked || !rs.Rules[ri].When.Total() {
					t = eval.Unknown
				}
				o.dyn = append(o.dyn, t)
			}
			o.mostBy = make([]int, nb+1)
			for j, sr := range wf.single {
				if (sr.points > 0) == (o.truth&(1<<j) != 0) || wf.kind == wiList {
					o.most += abs(sr.points)
					o.mostBy[sr.bucket] += abs(sr.points)
				}
			}
			o.mostIn = -1
			if b := slices.IndexFunc(o.mostBy, func(v int) bool { return v != 0 }); b >= 0 && o.mostBy[b] == o.most {
				o.mostIn = b // all of it: no bucket is negative
			}
			wf.options = append(wf.options, o)
			wf.most = max(wf.most, o.most)
		}
		for _, ri := range wf.dynamic {
			j := slices.Index(w.dynamic, ri)
			if j < 0 {
				j, w.dynamic = len(w.dynamic), append(w.dynamic, ri)
				w.dynBucket = append(w.dynBucket, bucket(rs.Rules[ri]))
				w.dynPoints = append(w.dynPoints, rs.Rules[ri].Points)
			}
			wf.dynIdx = append(wf.dynIdx, j)
			wf.dynMost += abs(rs.Rules[ri].Points)
		}
		if len(wf.options)+len(wf.barred) > 0 {
			for j, sr := range wf.single {
				w.singles = append(w.singles, wiSingleBit{rule: sr.rule, field: len(w.fields), bit: 1 << j})
			}
			w.fields = append(w.fields, wf)
			byField[f.Index] = len(w.fields)
		}
	}
	verify := make([]bool, len(rs.Rules))
	for _, rule := range rs.Rules {
		if rule.Points > 0 && rule.When != nil {
			verify[rule.Index] = !w.reachable(rs, m, &r, rule, byField)
		}
	}
	for _, rule := range rs.ByPoints {
		if verify[rule.Index] {
			w.toVerify = append(w.toVerify, rule.Index)
		}
	}
	return w
}

// reachable reports whether some combination of values of the fields the
// rule reads (options, or values that a knockout bars; one or none each,
// the other fields missing) makes it true; true also when there are too
// many combinations to try. A rule only barred values make true is not
// one to check by hand: it cannot count without knocking the lead out.
func (w *whatIf) reachable(rs *rules.Ruleset, m *vm.VM, r *eval.Row, rule *eval.Rule, byField []int) bool {
	var fs []*wiField
	for _, f := range rule.When.Fields() {
		if i := byField[f.Index]; i > 0 {
			fs = append(fs, &w.fields[i-1])
		}
	}
	if len(fs) == 0 {
		return false
	}
	values := make([][]wiOption, len(fs))
	for i, wf := range fs {
		values[i] = slices.Concat(wf.options, wf.barred)
	}
	at := make([]int, len(fs)) // 0: missing; j: values[j-1]
	for tries := 0; tries < maxReachTries; tries++ {
		r.Reset(rs)
		r.Now = w.clock
		for i, wf := range fs {
			if at[i] > 0 {
				w.set(r, wf, &values[i][at[i]-1])
			}
		}
		if t, err := rule.When.Eval(m, r); err == nil && t == eval.True {
			return true
		}
		i := 0 // the next combination, as an odometer
		for ; i < len(fs); i++ {
			if at[i]++; at[i] <= len(values[i]) {
				break
			}
			at[i] = 0
		}
		if i == len(fs) {
			return false
		}
	}
	return true
}

// set puts option o of field wf into a row (with the row's own items for a
// list), as newWhatIf tries it: nothing to undo.
func (w *whatIf) set(r *eval.Row, wf *wiField, o *wiOption) bool {
	switch {
	case wf.field.Type == rulefile.TypeDate && o.value == nil:
		r.SetTime(wf.field, o.ago.Before(r.Now))
		return true
	case wf.field.Type == rulefile.TypeList:
		r.SetList(wf.field, o.items)
		return true
	}
	return r.Set(wf.field, o.value)
}

func truthBytes(ts []eval.Truth) []byte {
	b := make([]byte, len(ts))
	for i, t := range ts {
		b[i] = byte(t)
	}
	return b
}

func (w *whatIf) rulesOf(rs *rules.Ruleset, indexes []int) []*eval.Rule {
	out := make([]*eval.Rule, len(indexes))
	for i, ri := range indexes {
		out[i] = rs.Rules[ri]
	}
	return out
}

// sub returns how condition c is decided for a change of field f (see
// wiSub), adding c to w.conds if it is new there.
func (w *whatIf) sub(c *eval.Condition, f *eval.Field) wiSub {
	sub := wiSub{cond: slices.Index(w.conds, c)}
	for l, reads := range c.Leaves() {
		if !reads.Has(f.Index) {
			continue
		}
		if reads.Len() > 1 {
			return wiSub{cond: -1}
		}
		sub.mine = append(sub.mine, l)
	}
	if sub.cond < 0 {
		sub.cond, w.conds = len(w.conds), append(w.conds, c)
	}
	return sub
}

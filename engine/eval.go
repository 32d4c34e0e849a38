package engine

import (
	"encoding/json"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// decide runs the ruleset over the normalised row and sets *d to the
// decision. A borrowed id is a view of the caller's input: the decision
// gets a copy. Everything d said before is overwritten; the arrays of its
// slices are reused where they are large enough (Ruleset.ScoreJSONInto),
// so a zero d reuses nothing.
func (l *record) decide(d *Decision, compiled *Ruleset, id string, borrowed bool, now time.Time, opts Options) {
	rs, table := compiled.Ruleset, compiled.ruleTable()
	r := &l.row
	r.Now = now
	if r.Now.IsZero() {
		if opts.Clock != nil {
			r.Now = opts.Clock()
		} else {
			r.Now = time.Now()
		}
	}
	brief := opts.Detail == Brief

	m := &l.vm
	old := *d // its arrays, to reuse
	*d = Decision{
		LeadID:        id,
		Ruleset:       RulesetRef{Name: rs.Name, Version: rs.Version},
		Knockouts:     []Hit{},
		MissingFields: emptied(old.MissingFields),
		Errors:        emptied(old.Errors),
		Warnings:      l.warnings,
		Brief:         brief,
	}
	l.warnings = nil // the decision owns them now
	if borrowed {
		// Copied with the reasons, into one string (see flushReasons).
		l.text = append(l.text, id...)
	}

	// Fields whose absence left some rule undecided.
	missing := resizeSet(l.missing, len(rs.Fields))
	l.missing = missing
	noteMissing := func(c *eval.Condition) { c.AddMissing(missing, r.Present) }

	var present uint64 // the fields the lead has, for table.quick
	if len(r.Present) > 0 {
		present = r.Present[0]
	}

	fired := l.fired[:0]
	for i, rule := range rs.Knockouts {
		t, err := table.eval(i, rule.When, present, m, r)
		switch {
		case err != nil:
			d.Errors = append(d.Errors, RuleError{Rule: rule.ID, Message: err.Error()})
		case t == eval.True:
			fired = append(fired, rule)
		case t == eval.Unknown:
			noteMissing(rule.When)
		}
	}

	// First decide every score rule, then size the lists exactly.
	truth := resize(l.truth, len(rs.Rules))
	l.truth = truth
	raw := resize(l.groups, len(rs.GroupNames)) // group totals before caps
	l.groups = raw
	matched, positive, ungrouped := 0, 0, 0 // positive: matched rules of positive points
	// The loops read the table's side-by-side copy of what they need of
	// each rule (quick), and a *eval.Rule only when a rule needs more:
	// the rules are scattered over the heap, and reading each missed the
	// processor's caches.
	quick := table.quick[len(rs.Knockouts):]
	for i := range quick {
		q := &quick[i]
		var t eval.Truth
		var err error
		if q.fn != nil && present&q.required == q.required { // table.eval, written out in the hot loop
			if q.fn(r) {
				t = eval.True
			}
		} else {
			t, err = rs.Rules[i].When.Eval(m, r)
		}
		if err != nil {
			d.Errors = append(d.Errors, RuleError{Rule: rs.Rules[i].ID, Message: err.Error()})
			t = eval.False
		}
		truth[i] = t
		if t == eval.Unknown && q.points != 0 {
			noteMissing(rs.Rules[i].When) // a rule that could have counted, undecided by missing data
		}
		if t != eval.True {
			continue
		}
		matched++
		if q.points > 0 {
			positive++
		}
		if q.group < 0 {
			ungrouped += q.points
		} else {
			raw[q.group] += q.points
		}
	}

	// The reasons rendered below point into the hits until flushReasons.
	d.Knockouts, d.Matched = hitLists(old.Knockouts, old.Matched, len(fired), matched)
	for i, rule := range fired {
		d.Knockouts[i] = table.hits[rule.Index]
		l.reason(rule, r, &d.Knockouts[i].Reason)
	}
	clear(fired)
	l.fired = fired
	k := 0
	for i, t := range truth {
		if t != eval.True {
			continue
		}
		h := &d.Matched[k]
		k++
		*h = table.hits[table.knockouts+i] // with the reason when it is static
		switch {
		case brief:
			h.Reason = ""
		case !table.static[table.knockouts+i]:
			l.reason(rs.Rules[i], r, &h.Reason)
		}
	}
	if s := l.flushReasons(); borrowed {
		d.LeadID = s[:len(id)]
	}
	if brief {
		d.Missed = emptied(old.Missed)
	} else {
		missed := reuse(old.Missed, len(rs.ByPoints)-positive) // exact: the positive rules that did not fire
		k := 0
		names := l.names[:0]               // the missed rules' missing fields, then the decision's
		for _, i := range table.byPoints { // positive rules, largest first, then file order
			if truth[i] == eval.True {
				continue
			}
			m := &missed[k]
			*m = table.misses[i]
			// What it would add: raw is before the caps here.
			m.Adds = quick[i].points
			if g := quick[i].group; g >= 0 {
				lo, hi := table.lo[g], table.hi[g]
				m.Adds = min(max(raw[g]+m.Adds, lo), hi) - min(max(raw[g], lo), hi)
			}
			if truth[i] == eval.Unknown {
				start := len(names)
				names = table.appendMissingNames(names, i, r.Present)
				l.spans = append(l.spans, span{k, start, len(names)})
			}
			k++
		}
		d.Missed = missed[:k]
		l.names = names
	}
	d.Score = ungrouped
	pre := append(l.pre[:0], raw...) // before the caps, for the counterfactual
	l.pre = pre
	for g, total := range raw {
		if caps := table.caps[g]; caps != nil {
			if caps.Max != nil && total > *caps.Max {
				total = *caps.Max
			}
			if caps.Min != nil && total < *caps.Min {
				total = *caps.Min
			}
		}
		raw[g] = total
		d.Score += total
	}
	d.Groups = reuse(old.Groups, len(raw))
	for g, total := range raw {
		d.Groups[g] = GroupTotal{Name: rs.GroupNames[g], Total: total}
	}
	d.Tier = rs.TierFor(d.Score)
	d.ExpectedRate = rs.TierExpect(d.Tier)

	switch {
	case len(d.Knockouts) > 0:
		d.Qualified = false
	case rs.Qualify == nil:
		d.Qualified = len(rs.Tiers) > 0 && d.Tier == rs.Tiers[0].Name
	default:
		r.Tier, r.Score, r.GroupTotals, r.KnockedOut = d.Tier, d.Score, raw, false
		t, err := rs.Qualify.Eval(m, r)
		switch {
		case err != nil:
			d.Errors = append(d.Errors, RuleError{Rule: "qualify", Message: err.Error()})
		case t == eval.Unknown:
			noteMissing(rs.Qualify)
		}
		d.Qualified = t == eval.True
	}
	if !d.Qualified && !brief {
		l.counterfactual(rs, table, m, r, d, truth, pre)
	}
	l.ownNames(d, table, missing)
}

// hitLists returns a decision's knockouts and matched rules, k and m of
// them, in one array, each list capped to its part: appending to one
// never writes into the other. A reused decision's two parts (knockouts,
// matched) are reused when both are large enough; else a new array has
// parts at least as large as the old ones, so that a decision reused for
// a stream of leads stops allocating once it has held its largest lists.
func hitLists(knockouts, matched []Hit, k, m int) ([]Hit, []Hit) {
	if k <= cap(knockouts) && m <= cap(matched) && knockouts != nil && matched != nil {
		return knockouts[:k], matched[:m]
	}
	kc := max(k, cap(knockouts))
	hits := make([]Hit, kc+max(m, cap(matched)))
	return hits[:k:kc], hits[kc : kc+m]
}

// reuse returns s's array resliced to n elements, or a new one when it is
// too small (or nil: a decision's lists are never nil); the caller sets
// every element.
func reuse[T any](s []T, n int) []T {
	if cap(s) < n || s == nil {
		return make([]T, n)
	}
	return s[:n]
}

// emptied is s emptied, keeping its array, and never nil: a decision's
// lists are never null in its JSON.
func emptied[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s[:0]
}

// ownNames gives the decision the names of its missing fields, each list
// capped to its part: each missed rule's, gathered in the record (l.names,
// at l.spans), then the decision's, the fields in missing. They share one
// new array, but for a reused decision whose own list (d.MissingFields,
// empty here) has room for the decision's names: those are written there.
// The names are the table's strings.
func (l *record) ownNames(d *Decision, table *ruleTable, missing eval.FieldSet) {
	nm, nd := len(l.names), missing.Len()
	if nm+nd == 0 && len(l.spans) == 0 {
		return
	}
	var all []string
	if nd <= cap(d.MissingFields) {
		all = make([]string, nm)
		d.MissingFields = d.MissingFields[:nd]
	} else {
		all = make([]string, nm+nd)
		d.MissingFields = all[nm:]
	}
	copy(all, l.names)
	for _, sp := range l.spans {
		d.Missed[sp.miss].MissingFields = all[sp.start:sp.end:sp.end]
	}
	k := 0
	for w, word := range missing { // the fields' indexes are their declaration order
		for ; word != 0; word &= word - 1 {
			d.MissingFields[k] = table.fieldNames[w*64+bits.TrailingZeros64(word)]
			k++
		}
	}
	l.names, l.spans = l.names[:0], l.spans[:0]
}

// span is where a missed rule's missing fields are in record.names.
type span struct{ miss, start, end int }

// reason sets *dst to a fired rule's reason: its template with the lead's
// values, else its description, else its condition. Templates with fields
// are rendered into the record's buffer and *dst is set by flushReasons:
// one string for all of a decision's reasons instead of one each.
func (l *record) reason(rule *eval.Rule, r *eval.Row, dst *string) {
	if s, ok := staticReason(rule); ok {
		*dst = s
		return
	}
	start := len(l.text)
	l.text = rule.Reason.Append(l.text, r)
	l.rendered = append(l.rendered, rendered{dst, start, len(l.text)})
}

// staticReason is a rule's reason when it is the same for every lead: a
// template without fields, else the description, else the condition.
func staticReason(rule *eval.Rule) (string, bool) {
	switch {
	case rule.Reason != nil:
		return rule.Reason.Static()
	case rule.Description != "":
		return rule.Description, true
	}
	return rule.When.Src, true
}

// flushReasons copies the rendered reasons out of the record, which is
// reused, into one string, points each reason at its part, and returns the
// string: text before the first reason (a borrowed lead id) is in it too.
func (l *record) flushReasons() string {
	var s string
	if len(l.text) > 0 {
		s = string(l.text)
		for _, x := range l.rendered {
			*x.dst = s[x.start:x.end]
		}
	}
	clear(l.rendered) // drop the pointers into the decision
	l.rendered, l.text = l.rendered[:0], l.text[:0]
	return s
}

// rendered is a reason waiting in record.text.
type rendered struct {
	dst        *string
	start, end int
}

// record is one input normalised against a ruleset's fields into a typed
// row, and the scratch space of deciding it. Each Ruleset pools its
// records: a decision copies out everything it keeps.
type record struct {
	row      eval.Row
	vm       vm.VM       // reusable, and its stack is worth keeping
	budget   eval.Budget // the decision's, see budgeted
	warnings []Warning
	seen     eval.FieldSet // scratch for decodeJSON
	truth    []eval.Truth  // scratch: each score rule's outcome
	missing  eval.FieldSet // scratch: fields some rule needed and the lead lacks
	groups   []int         // scratch: group totals before caps
	fired    []*eval.Rule  // scratch: the knockouts that fired
	names    []string      // scratch: names of missing fields
	spans    []span        // scratch: which missed rule each run of names is
	text     []byte        // scratch: reasons being rendered
	rendered []rendered    // scratch: where each rendered reason goes
	lists    []string      // scratch: the items of list fields decodeJSON read
	keys     [2]keyOrder   // the key order of the last leads and accounts decoded

	pre []int     // scratch: group totals before caps, for counterfactual
	cf  cfScratch // scratch of counterfactual
}

func (l *record) unbudget() { l.budget, l.row.Budget = eval.Budget{}, nil }

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// normalise keeps the declared fields of the input, converted to their
// declared types. A value of the wrong type is a warning and is left out
// (an InputErrors in strict mode). A key of the lead or of the request's
// account that is not a declared field is a warning with the nearest
// declared field (an error in strict mode): a misspelt key would
// otherwise read as missing data without a word.
func (l *record) normalise(rs *rules.Ruleset, in Input, strict bool) error {
	l.row.Reset(rs)
	l.warnings = []Warning{}
	errs, leadKeys := l.setFields(rs, "lead", in.Lead, strict)
	accountErrs, accountKeys := l.setFields(rs, "account", in.Account, strict)
	errs = append(errs, accountErrs...)
	// Only a map with more keys than declared fields found in it has an
	// undeclared key: most leads have none, and need no second pass.
	if leadKeys < len(in.Lead) {
		errs = append(errs, l.undeclared(rs, "lead", in.Lead, strict)...)
	}
	if !in.AccountJoined && accountKeys < len(in.Account) {
		errs = append(errs, l.undeclared(rs, "account", in.Account, strict)...)
	}
	l.warnings = append(l.warnings, in.IDWarnings...)
	for _, key := range in.Unexpected {
		if strict {
			errs = append(errs, &InputError{Field: key, Message: unexpectedMessage(key)})
		} else {
			l.warnings = append(l.warnings, Warning{Field: key, Message: unexpectedMessage(key) + "; ignored"})
		}
	}
	for _, name := range in.Duplicates {
		// Only what decides: a declared field, or the lead or account
		// object (an undeclared key is ignored however often it is given).
		ns, key, inObject := strings.Cut(name, ".")
		if inObject && rs.FieldByKey(ns, key) == nil { // the empty key too ("lead."): never a field
			continue
		}
		if strict {
			errs = append(errs, &InputError{Field: name, Message: name + " is given twice"})
		} else {
			l.warnings = append(l.warnings, Warning{Field: name, Message: name + " is given twice; the last value is used"})
		}
	}
	for _, replaced := range []struct {
		names   []string
		message string
	}{{in.InvalidUTF8, invalidUTF8Message}, {in.LoneSurrogates, loneSurrogateMessage}} {
		for _, name := range replaced.names {
			// Only what decides or is looked up: a declared field (an
			// undeclared key is warned of as such, and not read), or the
			// lead's id, which a lookup by the id as sent would not find.
			ns, key, _ := strings.Cut(name, ".")
			if rs.FieldByKey(ns, key) != nil || idKey(name) {
				l.warnings = append(l.warnings, Warning{Field: name, Message: replaced.message})
			}
		}
	}
	if in.FlatAccount {
		if strict {
			errs = append(errs, &InputError{Field: "account", Message: flatAccountMessage})
		} else {
			l.warnings = append(l.warnings, Warning{Field: "account", Message: flatAccountMessage})
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b *InputError) int { return strings.Compare(a.Field, b.Field) })
		return errs
	}
	slices.SortStableFunc(l.warnings, func(a, b Warning) int { return strings.Compare(a.Field, b.Field) })
	return nil
}

// setFields sets the declared fields of namespace ns from src, as
// normalise does, and returns the strict mode's errors and how many of
// src's keys are declared fields; warnings are appended to the record's.
func (l *record) setFields(rs *rules.Ruleset, ns string, src map[string]any, strict bool) (errs InputErrors, declared int) {
	if len(src) == 0 {
		return nil, 0
	}
	for _, f := range rs.FieldsOf(ns) {
		raw, ok := src[f.Key]
		if ok {
			declared++
		}
		if !ok || isBlank(raw, f.Type) {
			continue
		}
		if msg, ok := setField(&l.row, f, raw, strict); !ok {
			if strict {
				errs = append(errs, &InputError{Field: f.Name, Message: msg})
			} else {
				l.warnings = append(l.warnings, Warning{Field: f.Name, Message: msg + "; treated as missing"})
			}
		}
	}
	return errs, declared
}

// undeclared checks the keys of src, the lead's (ns "lead") or the
// account's, against the declared fields of namespace ns, as normalise
// does, and returns the strict mode's errors; warnings are appended to the
// record's.
func (l *record) undeclared(rs *rules.Ruleset, ns string, src map[string]any, strict bool) InputErrors {
	var errs InputErrors
	for k := range src {
		if rs.FieldByKey(ns, k) != nil || envelopeKey(k) {
			continue
		}
		msg := undeclaredMessage(rs, ns, k)
		if strict {
			errs = append(errs, &InputError{Field: ns + "." + k, Message: msg})
		} else {
			l.warnings = append(l.warnings, Warning{Field: ns + "." + k, Message: msg})
		}
	}
	return errs
}

// setField converts raw to the field's type and stores it in the row. The
// common cases (JSON numbers, and values already of the field's Go type)
// are stored as convert would store them, without converting or boxing.
func setField(r *eval.Row, f *eval.Field, raw any, strict bool) (msg string, ok bool) {
	switch x := raw.(type) {
	case json.Number:
		if setNumber(r, f, string(x)) {
			return "", true
		}
	case int:
		if f.Type == rulefile.TypeInt && x > -1<<53 && x < 1<<53 { // as convert takes it
			r.SetInt(f, x)
			return "", true
		}
	// The Go types of the commonest fields, stored without the type
	// table's indirect call.
	case string:
		if f.Type == rulefile.TypeString {
			r.SetString(f, x)
			return "", true
		}
	case bool:
		if f.Type == rulefile.TypeBool {
			r.SetBool(f, x)
			return "", true
		}
	case float64:
		if f.Type == rulefile.TypeFloat {
			r.SetFloat(f, x)
			return "", true
		}
	default:
		if r.Set(f, raw) { // already of the field's Go type
			return "", true
		}
	}
	v, ok, msg := convert(raw, f.Type, strict)
	if !ok {
		return msg, false
	}
	r.Set(f, v)
	return "", true
}

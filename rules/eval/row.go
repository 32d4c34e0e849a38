package eval

import (
	"math/bits"
	"time"
)

// Row is one lead's field values, typed, as conditions read them. Values
// live in one slice per type (a column of the type's row in fieldTypes),
// indexed by Field.Slot, so that setting and reading a number boxes
// nothing. A Row is reused across leads: Reset it
// for a ruleset, Set the fields the lead has, evaluate, and reuse.
//
// Tier, Score, GroupTotals and KnockedOut are what qualify: reads; the
// engine sets them before evaluating it.
type Row struct {
	Present FieldSet
	Now     time.Time

	// Budget bounds the loops of the conditions run on expr's VM (see
	// BudgetVar); nil for none.
	Budget *Budget

	Tier        string
	Score       int
	GroupTotals []int // by Ruleset.GroupNames' index; nil before the rules are decided
	KnockedOut  bool

	// The columns, one per field type.
	strs   []string
	ints   []int
	floats []float64
	bools  []bool
	times  []time.Time
	lists  [][]string

	fields     []*Field
	groupNames []string       // the ruleset's, for GroupTotals
	env        map[string]any // built on first use by an expression that runs on expr's VM
	groups     map[string]int // env's groups, built from GroupTotals when an expression on the VM reads them

	// String functions of a field that conditions share (see native.memo),
	// by memoSlot; memo[i] is set only where memoSet has i.
	memo     []string
	memoSet  FieldSet
	memoUsed bool // memoize has run since Reset
}

// memoKind names a string function of a field that a row keeps once
// computed, for the other conditions that ask for it.
type memoKind int

// The string functions of a field a row keeps once computed.
const (
	memoLower memoKind = iota
	memoUpper
	memoTrim
	memoDomain
	memoKinds
)

func memoSlot(f *Field, kind memoKind) int { return f.Index*int(memoKinds) + int(kind) }

// memoString returns fn of string field f as a closure that keeps the
// result in the row: rules test domain(lead.email) or lower(lead.industry)
// several times per lead, and each call scans (and may copy) the string
// again. fn must be the function kind names.
func memoString(kind memoKind, f *Field, fn func(string) string) func(*Row) string {
	slot, field := memoSlot(f, kind), f.Slot
	return func(r *Row) string {
		if v, ok := r.memoized(slot); ok {
			return v
		}
		v := fn(r.strs[field])
		r.memoize(slot, v)
		return v
	}
}

func (r *Row) memoized(slot int) (string, bool) {
	if w := uint(slot) / 64; w < uint(len(r.memoSet)) && r.memoSet[w]&(1<<(uint(slot)%64)) != 0 {
		return r.memo[slot], true
	}
	return "", false
}

// memoize keeps v; a row that was not Reset for a ruleset keeps nothing.
func (r *Row) memoize(slot int, v string) {
	if slot < len(r.memo) {
		r.memo[slot] = v
		r.memoSet.Add(slot)
		r.memoUsed = true
	}
}

// forget drops what the row keeps of field f, whose value changed.
func (r *Row) forget(f *Field) {
	for kind := range memoKinds {
		if slot := memoSlot(f, kind); slot < len(r.memo) {
			r.memo[slot] = ""
			r.memoSet[uint(slot)/64] &^= 1 << (uint(slot) % 64)
		}
	}
}

// Reset empties the row and sizes it for rs.
func (r *Row) Reset(rs *Ruleset) {
	r.fields, r.groupNames = rs.Fields, rs.GroupNames
	r.Present = resize(r.Present, (len(rs.Fields)+63)/64)
	for t := range fieldTypes {
		if ft := &fieldTypes[t]; ft.size != nil {
			ft.size(r, rs.slots[t])
		}
	}
	r.Now = time.Time{}
	r.Tier, r.Score, r.GroupTotals, r.KnockedOut = "", 0, nil, false
	if r.env != nil {
		clear(r.env)
	}
	// Only the memo's set entries hold strings (which may alias the last
	// input); clearing those is cheaper than clearing all.
	for w, word := range r.memoSet {
		for ; word != 0; word &= word - 1 {
			r.memo[w*64+bits.TrailingZeros64(word)] = ""
		}
	}
	n := int(memoKinds) * len(rs.Fields)
	r.memoSet = resize(r.memoSet, (n+63)/64)
	if cap(r.memo) < n {
		r.memo = make([]string, n)
	}
	r.memo = r.memo[:n]
	r.memoUsed = false
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// Set stores a value of the field's Go type (int, float64, string, bool,
// time.Time or []string: GoType) and marks the field present. A value of
// another type is ignored and reported false.
func (r *Row) Set(f *Field, v any) bool {
	ft := typeOf(f.Type)
	if ft == nil || !ft.set(r, f.Slot, v) {
		return false
	}
	r.set(f)
	return true
}

// SetInt and the setters below store a value of the field's own type (the
// caller knows it is f.Type) and mark the field present, without boxing:
// what decoders call for each field of each lead.
func (r *Row) SetInt(f *Field, x int)        { r.ints[f.Slot] = x; r.set(f) }
func (r *Row) SetFloat(f *Field, x float64)  { r.floats[f.Slot] = x; r.set(f) }
func (r *Row) SetString(f *Field, x string)  { r.strs[f.Slot] = x; r.set(f) }
func (r *Row) SetBool(f *Field, x bool)      { r.bools[f.Slot] = x; r.set(f) }
func (r *Row) SetTime(f *Field, x time.Time) { r.times[f.Slot] = x; r.set(f) }
func (r *Row) SetList(f *Field, x []string)  { r.lists[f.Slot] = x; r.set(f) }

// set marks f present and drops what the row kept of its last value, if
// the row kept anything since Reset: decoders set every field before any
// condition runs, and pay one test for it.
func (r *Row) set(f *Field) {
	r.Present.Add(f.Index)
	if r.memoUsed {
		r.forget(f)
	}
}

// Value returns the field's value boxed, and whether the lead has it.
func (r *Row) Value(f *Field) (any, bool) {
	ft := typeOf(f.Type)
	if ft == nil || !r.Present.Has(f.Index) {
		return nil, false
	}
	return ft.get(r, f.Slot), true
}

// AppendValue appends field f's value as FormatValue formats it
// ("unknown" when the lead lacks it), without boxing it.
func (r *Row) AppendValue(b []byte, f *Field) []byte { return r.appendValue(b, f) }

// appendValue formats the field's value as FormatValue does, without boxing.
func (r *Row) appendValue(b []byte, f *Field) []byte {
	ft := typeOf(f.Type)
	if ft == nil || !r.Present.Has(f.Index) {
		return append(b, "unknown"...)
	}
	return ft.format(b, r, f.Slot)
}

// Env is the row as the map expr's VM reads: flat field names, the clock
// and the qualify: variables. It is built once per row and kept current.
func (r *Row) Env() map[string]any {
	if r.env == nil {
		r.env = make(map[string]any, len(r.fields)+8)
	}
	if len(r.env) == 0 {
		for _, f := range r.fields {
			if v, ok := r.Value(f); ok {
				r.env[f.Name] = v
			}
		}
	}
	r.env[NowVar] = r.Now
	r.env[BudgetVar] = r.Budget
	r.env["tier"], r.env["score"], r.env["groups"], r.env["knocked_out"] = r.Tier, r.Score, r.groupMap(), r.KnockedOut
	return r.env
}

// groupMap is GroupTotals as expressions read groups: totals by name (nil
// before the rules are decided). Only qualify: on expr's VM needs it, so
// it is built here rather than for every lead.
func (r *Row) groupMap() map[string]int {
	if r.GroupTotals == nil {
		return nil
	}
	if r.groups == nil {
		r.groups = make(map[string]int, len(r.groupNames))
	}
	clear(r.groups)
	for g, name := range r.groupNames {
		r.groups[name] = r.GroupTotals[g]
	}
	return r.groups
}

// Undo is what Swap changed in a row, for Restore.
type Undo struct {
	f   *Field
	had bool
	s   string
	i   int
	x   float64
	b   bool
	t   time.Time
	l   []string
}

// Had reports whether the row had the field before the swap.
func (u Undo) Had() bool { return u.had }

// Value returns the field's value before the swap, boxed; nil when the
// row did not have it.
func (u Undo) Value() any {
	if !u.had {
		return nil
	}
	return typeOf(u.f.Type).saved(u)
}

// Swap sets field f to v (of the field's Go type), as Set does, and
// returns what Restore needs to put the row back: callers that try a
// change of a lead's data evaluate with it and restore the lead's own.
// ok is false, and the row unchanged, for a v of another type.
func (r *Row) Swap(f *Field, v any) (u Undo, ok bool) {
	u = r.save(f)
	if !r.Set(f, v) {
		return Undo{}, false
	}
	r.dropEnv()
	return u, true
}

// SwapTime and SwapList are Swap for a date and a list field, without
// boxing the value (a time.Time or a slice in an any is an allocation,
// and the counterfactual swaps values for many leads). The caller knows
// f's type.
func (r *Row) SwapTime(f *Field, x time.Time) Undo {
	u := r.save(f)
	r.SetTime(f, x)
	r.dropEnv()
	return u
}

// List returns list field f's items, nil when the lead lacks it: Value
// without boxing.
func (r *Row) List(f *Field) []string {
	if !r.Present.Has(f.Index) {
		return nil
	}
	return r.lists[f.Slot]
}

func (r *Row) SwapList(f *Field, x []string) Undo {
	u := r.save(f)
	r.SetList(f, x)
	r.dropEnv()
	return u
}

// Restore puts back what Swap changed. Changes are restored in the reverse
// order of their swaps.
func (r *Row) Restore(u Undo) {
	f := u.f
	if f == nil {
		return
	}
	typeOf(f.Type).restore(r, f.Slot, u)
	if u.had {
		r.Present.Add(f.Index)
	} else {
		r.Present[uint(f.Index)/64] &^= 1 << (uint(f.Index) % 64)
	}
	r.forget(f)
	r.dropEnv()
}

func (r *Row) save(f *Field) Undo {
	return typeOf(f.Type).save(r, f.Slot, Undo{f: f, had: r.Present.Has(f.Index)})
}

// dropEnv empties the VM's view of the row, if one was built, so that the
// next expression on the VM rebuilds it with the values now in the row.
func (r *Row) dropEnv() {
	if len(r.env) > 0 {
		clear(r.env)
	}
}

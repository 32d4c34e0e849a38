package eval

import (
	"math"
	"math/bits"
	"strconv"
	"time"

	"github.com/leadq/leadq/rules/rulefile"
)

// Row is one lead's field values, typed, as conditions read them. Values
// live in one slice per type, indexed by Field.Slot, so that setting and
// reading a number boxes nothing. A Row is reused across leads: Reset it
// for a ruleset, Set the fields the lead has, evaluate, and reuse.
//
// Tier, Score, Groups and KnockedOut are what qualify: reads; the engine
// sets them before evaluating it.
type Row struct {
	Present FieldSet
	Ints    []int
	Floats  []float64
	Strs    []string
	Bools   []bool
	Times   []time.Time
	Lists   [][]string
	Now     time.Time

	Tier       string
	Score      int
	Groups     map[string]int
	KnockedOut bool

	fields []*Field
	env    map[string]any // built on first use by an expression that runs on expr's VM

	// String functions of a field that conditions share (see native.memo),
	// by memoSlot; memo[i] is set only where memoSet has i.
	memo     []string
	memoSet  FieldSet
	memoUsed bool // memoize has run since Reset
}

// MemoKind names a string function of a field that a row keeps once
// computed, for the other conditions that ask for it.
type MemoKind int

// The string functions of a field a row keeps once computed.
const (
	MemoLower MemoKind = iota
	MemoUpper
	MemoTrim
	MemoDomain
	memoKinds
)

func memoSlot(f *Field, kind MemoKind) int { return f.Index*int(memoKinds) + int(kind) }

// MemoString returns fn of string field f as a closure that keeps the
// result in the row: rules test domain(lead.email) or lower(lead.industry)
// several times per lead, and each call scans (and may copy) the string
// again. fn must be the function kind names.
func MemoString(kind MemoKind, f *Field, fn func(string) string) func(*Row) string {
	slot, field := memoSlot(f, kind), f.Slot
	return func(r *Row) string {
		if v, ok := r.memoized(slot); ok {
			return v
		}
		v := fn(r.Strs[field])
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
	r.fields = rs.Fields
	r.Present = resize(r.Present, (len(rs.Fields)+63)/64)
	r.Ints = resize(r.Ints, rs.slots[rulefile.TypeInt])
	r.Floats = resize(r.Floats, rs.slots[rulefile.TypeFloat])
	r.Strs = resize(r.Strs, rs.slots[rulefile.TypeString])
	r.Bools = resize(r.Bools, rs.slots[rulefile.TypeBool])
	r.Times = resize(r.Times, rs.slots[rulefile.TypeDate])
	r.Lists = resize(r.Lists, rs.slots[rulefile.TypeList])
	r.Now = time.Time{}
	r.Tier, r.Score, r.Groups, r.KnockedOut = "", 0, nil, false
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
// time.Time or []string) and marks the field present. A value of another
// type is ignored and reported false.
func (r *Row) Set(f *Field, v any) bool {
	var ok bool
	switch f.Type {
	case rulefile.TypeInt:
		var x int
		if x, ok = v.(int); ok {
			r.SetInt(f, x)
		}
	case rulefile.TypeFloat:
		var x float64
		if x, ok = v.(float64); ok {
			r.SetFloat(f, x)
		}
	case rulefile.TypeString:
		var x string
		if x, ok = v.(string); ok {
			r.SetString(f, x)
		}
	case rulefile.TypeBool:
		var x bool
		if x, ok = v.(bool); ok {
			r.SetBool(f, x)
		}
	case rulefile.TypeDate:
		var x time.Time
		if x, ok = v.(time.Time); ok {
			r.SetTime(f, x)
		}
	case rulefile.TypeList:
		var x []string
		if x, ok = v.([]string); ok {
			r.SetList(f, x)
		}
	}
	return ok
}

// SetInt and the setters below store a value of the field's own type (the
// caller knows it is f.Type) and mark the field present, without boxing:
// what decoders call for each field of each lead.
func (r *Row) SetInt(f *Field, x int)        { r.Ints[f.Slot] = x; r.set(f) }
func (r *Row) SetFloat(f *Field, x float64)  { r.Floats[f.Slot] = x; r.set(f) }
func (r *Row) SetString(f *Field, x string)  { r.Strs[f.Slot] = x; r.set(f) }
func (r *Row) SetBool(f *Field, x bool)      { r.Bools[f.Slot] = x; r.set(f) }
func (r *Row) SetTime(f *Field, x time.Time) { r.Times[f.Slot] = x; r.set(f) }
func (r *Row) SetList(f *Field, x []string)  { r.Lists[f.Slot] = x; r.set(f) }

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
	if !r.Present.Has(f.Index) {
		return nil, false
	}
	switch f.Type {
	case rulefile.TypeInt:
		return r.Ints[f.Slot], true
	case rulefile.TypeFloat:
		return r.Floats[f.Slot], true
	case rulefile.TypeString:
		return r.Strs[f.Slot], true
	case rulefile.TypeBool:
		return r.Bools[f.Slot], true
	case rulefile.TypeDate:
		return r.Times[f.Slot], true
	case rulefile.TypeList:
		return r.Lists[f.Slot], true
	}
	return nil, false
}

// appendValue formats the field's value as FormatValue does, without boxing.
func (r *Row) appendValue(b []byte, f *Field) []byte {
	if !r.Present.Has(f.Index) {
		return append(b, "unknown"...)
	}
	switch f.Type {
	case rulefile.TypeInt:
		return strconv.AppendInt(b, int64(r.Ints[f.Slot]), 10)
	case rulefile.TypeFloat:
		// Whole amounts, the usual case, print as the integers they are;
		// -0 and the rest as FormatValue prints them.
		if x := r.Floats[f.Slot]; x == math.Trunc(x) && x != 0 && math.Abs(x) < 1<<53 {
			return strconv.AppendInt(b, int64(x), 10)
		}
		return strconv.AppendFloat(b, r.Floats[f.Slot], 'f', -1, 64)
	case rulefile.TypeString:
		return append(b, r.Strs[f.Slot]...)
	case rulefile.TypeBool:
		if r.Bools[f.Slot] {
			return append(b, "yes"...)
		}
		return append(b, "no"...)
	case rulefile.TypeDate:
		t := r.Times[f.Slot]
		if h, m, sec := t.Clock(); h == 0 && m == 0 && sec == 0 {
			if y, mo, d := t.Date(); 0 <= y && y <= 9999 {
				b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
					byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10))
				return b
			}
		}
	case rulefile.TypeList:
		for i, s := range r.Lists[f.Slot] {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, s...)
		}
		return b
	}
	v, _ := r.Value(f)
	return append(b, FormatValue(v)...)
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
	r.env["tier"], r.env["score"], r.env["groups"], r.env["knocked_out"] = r.Tier, r.Score, r.Groups, r.KnockedOut
	return r.env
}

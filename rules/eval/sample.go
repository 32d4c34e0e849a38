package eval

import (
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"
)

// Sample is a value of a field that a condition tells apart from its
// neighbours: a constant the condition compares the field with, or one
// just beside it (lead.employees >= 1000 gives 999, 1000 and 1001). The
// compiler derives a condition's samples from its constants; they are
// what "what would it take" tries, and each is only a candidate: whether
// it makes a rule true is for the rule's own evaluation to say.
//
// Value is of the field's Go type (GoType), except for dates relative to
// the clock (days_since(lead.x) <= 14: Value nil, Ago set) and lists (Value
// nil, Items: the items to add to the lead's list).
type Sample struct {
	Field *Field
	Value any
	Ago   Ago
	Items []string
	// Beside is true for a value beside a constant (999 for >= 1000),
	// false for a constant itself: callers that keep one value of a kind
	// prefer a constant, which reads as the rule's own.
	Beside bool
}

// SampleKey is what makes two samples the same, whether beside a
// constant or not: their field, value, age and items. Sets of samples use
// it, where comparing each with those so far made a 200,000-item list a
// quadratic cost.
type SampleKey struct {
	field *Field
	value any
	ago   Ago
	items string // each item's length, a colon, the item
}

// Key returns s's SampleKey.
func (s Sample) Key() SampleKey {
	var b strings.Builder
	for _, it := range s.Items {
		b.WriteString(strconv.Itoa(len(it)))
		b.WriteByte(':')
		b.WriteString(it)
	}
	return SampleKey{s.Field, s.Value, s.Ago, b.String()}
}

// Ago is a time before the clock, in whole days, months and years.
type Ago struct{ Days, Months, Years int }

// Before returns the date Ago before now: midnight UTC of now's UTC date,
// moved back, as a lead's dates are read (2026-11-01 is midnight UTC), so
// that days_since of it is a.Days.
func (a Ago) Before(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(-a.Years, -a.Months, -a.Days)
}

// Samples returns the values the condition tells apart, for each field
// it compares with constants; see Sample. The slice is the condition's:
// callers do not change it.
func (c *Condition) Samples() []Sample { return c.samples }

// SetSamples gives the condition its samples. The compiler calls it once,
// before the condition is shared.
func (c *Condition) SetSamples(s []Sample) { c.samples = s }

// LeafTruths appends the truth of each leaf of the condition's and/or/not
// structure for the row, in the structure's order: Unknown for a leaf whose
// fields the row lacks or whose evaluation failed. Two values of a field
// that give every leaf reading only that field the same truth are alike to
// the condition, whatever the other fields hold.
func (c *Condition) LeafTruths(dst []Truth, m *vm.VM, r *Row) []Truth {
	if c.tree == nil {
		t, err := c.Eval(m, r)
		if err != nil {
			t = Unknown
		}
		return append(dst, t)
	}
	return c.tree.leafTruths(dst, m, r)
}

func (n *Node) leafTruths(dst []Truth, m *vm.VM, r *Row) []Truth {
	if n.op != opLeaf {
		dst = n.a.leafTruths(dst, m, r)
		if n.b != nil {
			dst = n.b.leafTruths(dst, m, r)
		}
		return dst
	}
	t, err := n.eval(m, r)
	if err != nil {
		t = Unknown
	}
	return append(dst, t)
}

// Total reports whether the condition needs every field it reads: none is
// read optionally (lead.x ?? 0, lead.x == nil). An outcome decided with
// some fields missing then holds whatever values they get: true or false
// with unknowns stays so, under three-valued logic.
func (c *Condition) Total() bool {
	for _, f := range c.fields {
		if !c.required.Has(f.Index) {
			return false
		}
	}
	return true
}

// Leaves returns the fields each leaf of the condition's and/or/not
// structure reads (required or not), in LeafTruths' order; one leaf, the
// whole condition, when it has no structure.
func (c *Condition) Leaves() []FieldSet {
	if c.tree == nil {
		all := make(FieldSet, len(c.required))
		for _, f := range c.fields {
			all.Add(f.Index)
		}
		return []FieldSet{all}
	}
	var out []FieldSet
	var walk func(n *Node)
	walk = func(n *Node) {
		if n.op == opLeaf {
			out = append(out, n.reads)
			return
		}
		walk(n.a)
		if n.b != nil {
			walk(n.b)
		}
	}
	walk(c.tree)
	return out
}

// Decide returns what the condition decides when its leaves decide
// leaves (in LeafTruths' order), under three-valued logic: with each
// leaf's truth for a row, what Eval decides for it. Callers that know how
// a change of one field moves some leaves decide the condition for the
// changed row without changing the row.
func (c *Condition) Decide(leaves []Truth) Truth {
	if c.tree == nil {
		return leaves[0]
	}
	t, _ := c.tree.decide(leaves)
	return t
}

// decide combines the leaves from leaves[0] on, and returns what is left.
func (n *Node) decide(leaves []Truth) (Truth, []Truth) {
	switch n.op {
	case opLeaf:
		return leaves[0], leaves[1:]
	case opNot:
		t, rest := n.a.decide(leaves)
		if t == Unknown {
			return t, rest
		}
		return 1 - t, rest
	}
	a, rest := n.a.decide(leaves)
	b, rest := n.b.decide(rest)
	stop := False
	if n.op == opOr {
		stop = True
	}
	switch {
	case a == stop || b == stop:
		return stop, rest
	case a == Unknown || b == Unknown:
		return Unknown, rest
	}
	return a, rest
}

package eval

import (
	"fmt"
	"math/bits"

	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules/rulefile"
)

// Truth is the outcome of a condition under three-valued logic.
type Truth int8

const (
	False Truth = iota
	True
	Unknown // the condition read a field the lead lacks
)

// FieldSet is a set of field indexes (Field.Index), one bit per field.
type FieldSet []uint64

// NewFieldSet returns an empty set able to hold n fields.
func NewFieldSet(n int) FieldSet { return make(FieldSet, (n+63)/64) }

// Add puts field i in the set. (Indexes are never negative: as unsigned,
// i/64 and i%64 are a shift and a mask.)
func (s FieldSet) Add(i int) { s[uint(i)/64] |= 1 << (uint(i) % 64) }

// Has reports whether field i is in the set.
func (s FieldSet) Has(i int) bool { return s[uint(i)/64]&(1<<(uint(i)%64)) != 0 }

// Len is the number of fields in the set.
func (s FieldSet) Len() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// Clear empties the set.
func (s FieldSet) Clear() { clear(s) }

// HasAll reports whether every field of sub is in s.
func (s FieldSet) HasAll(sub FieldSet) bool {
	for i, w := range sub {
		if s[i]&w != w {
			return false
		}
	}
	return true
}

// Condition is a compiled boolean expression (a when:, a macro or qualify:).
//
// Conditions use three-valued logic over the Row they read. When every
// field the condition requires is present, one closure (or, for what the
// native compiler does not cover, one expr program) decides it. When some
// are missing it evaluates the expression's and/or/not structure, deciding
// only the leaves whose fields are all present, so that
// `lead.country != "US"` is unknown, not true, for a lead without a
// country, while `missing || true` is still true.
type Condition struct {
	Src      string
	Pos      rulefile.Pos
	native   func(*Row) bool // the whole expression as a native closure; nil if not covered
	prog     *vm.Program     // the whole expression on expr's VM
	required FieldSet
	fields   []*Field // every field it reads, by index
	tree     *Node
	samples  []Sample // see Samples
}

// NewCondition assembles a compiled condition: its source and position,
// the whole expression as a native closure (nil when the native compiler
// does not cover it) and as an expr program, the fields it requires and
// reads (by index), and its and/or/not structure for leads with missing
// fields (nil: such a lead leaves the condition Unknown).
func NewCondition(src string, pos rulefile.Pos, native func(*Row) bool, prog *vm.Program, required FieldSet, fields []*Field, tree *Node) *Condition {
	return &Condition{Src: src, Pos: pos, native: native, prog: prog, required: required, fields: fields, tree: tree}
}

// And, Or and Not build the and/or/not structure of a condition.
func And(a, b *Node) *Node { return &Node{op: opAnd, a: a, b: b} }
func Or(a, b *Node) *Node  { return &Node{op: opOr, a: a, b: b} }
func Not(a *Node) *Node    { return &Node{op: opNot, a: a} }

// Leaf is a part of a condition that and/or/not do not split further: a
// native closure, or (when native is nil) an expr program, that can be
// decided when every field of required is present; reads is every field
// the leaf reads, required or not (nil: required).
// reads is every field the leaf reads, required or not (nil: required).
func Leaf(native func(*Row) bool, prog *vm.Program, required, reads FieldSet) *Node {
	if reads == nil {
		reads = required
	}
	return &Node{op: opLeaf, native: native, prog: prog, required: required, reads: reads}
}

type condOp int8

const (
	opLeaf condOp = iota
	opAnd
	opOr
	opNot
)

// Node is one node of a condition's and/or/not structure; see NewCondition.
type Node struct {
	op       condOp
	a, b     *Node
	native   func(*Row) bool // a leaf as a closure, or nil
	prog     *vm.Program     // a leaf on the VM, when native is nil
	required FieldSet
	reads    FieldSet // a leaf's fields, required or not
}

// Fields returns the fields the condition reads, in declaration order.
func (c *Condition) Fields() []*Field { return c.fields }

// IsNative reports whether the whole condition runs natively, as Go
// closures, when its fields are present.
func (c *Condition) IsNative() bool { return c.native != nil }

// Eval decides the condition for one row. m is a reusable VM for the parts
// that run on expr's VM. A run-time error (only possible on the VM) is
// returned as is; the caller marks the rule as errored.
func (c *Condition) Eval(m *vm.VM, r *Row) (Truth, error) {
	if r.Present.HasAll(c.required) {
		if c.native != nil {
			if c.native(r) {
				return True, nil
			}
			return False, nil
		}
		return run(m, c.prog, r.Env())
	}
	if c.tree == nil {
		return Unknown, nil
	}
	return c.tree.eval(m, r)
}

// Native returns the condition's native closure and the fields it requires
// as one word of a FieldSet, for callers that decide many conditions per
// row and keep these side by side: when present&required == required,
// native(r) is what Eval decides (True or False). ok is false when the
// condition does not run natively as a whole or its ruleset has more than
// 64 fields; Eval decides those.
func (c *Condition) Native() (required uint64, native func(*Row) bool, ok bool) {
	if c.native == nil || len(c.required) > 1 {
		return 0, nil, false
	}
	if len(c.required) == 1 {
		required = c.required[0]
	}
	return required, c.native, true
}

// AddMissing adds to into the fields the condition needs that present
// lacks, without allocating.
func (c *Condition) AddMissing(into, present FieldSet) {
	for i, w := range c.required {
		into[i] |= w &^ present[i]
	}
}

// Missing returns the fields the condition needs that the row lacks.
func (c *Condition) Missing(present FieldSet) []*Field {
	var out []*Field
	for _, f := range c.fields {
		if c.required.Has(f.Index) && !present.Has(f.Index) {
			out = append(out, f)
		}
	}
	return out
}

// MissingMask says which fields the condition needs that present lacks:
// bit j stands for Fields()[j]. A lead that leaves a rule undecided leaves
// it so for one of a few such masks, which lets callers share what they
// build for each. ok is false for a condition of more than 64 fields.
func (c *Condition) MissingMask(present FieldSet) (mask uint64, ok bool) {
	if len(c.fields) > 64 {
		return 0, false
	}
	for j, f := range c.fields {
		if c.required.Has(f.Index) && !present.Has(f.Index) {
			mask |= 1 << j
		}
	}
	return mask, true
}

// AppendMissingNames appends the names of the fields the condition needs
// that the row lacks.
func (c *Condition) AppendMissingNames(dst []string, present FieldSet) []string {
	for _, f := range c.fields {
		if c.required.Has(f.Index) && !present.Has(f.Index) {
			dst = append(dst, f.Name)
		}
	}
	return dst
}

func run(m *vm.VM, p *vm.Program, env any) (Truth, error) {
	out, err := m.Run(p, env)
	if err != nil {
		return Unknown, err
	}
	switch out {
	case true:
		return True, nil
	case false, nil:
		return False, nil
	}
	return Unknown, fmt.Errorf("condition returned %T, not a boolean", out)
}

func (n *Node) eval(m *vm.VM, r *Row) (Truth, error) {
	switch n.op {
	case opNot:
		t, err := n.a.eval(m, r)
		if err != nil || t == Unknown {
			return t, err
		}
		return 1 - t, nil
	case opAnd, opOr:
		stop := False // the value that decides the result on its own
		if n.op == opOr {
			stop = True
		}
		a, err := n.a.eval(m, r)
		if err != nil || a == stop {
			return a, err
		}
		b, err := n.b.eval(m, r)
		if err != nil || b == stop {
			return b, err
		}
		if a == Unknown || b == Unknown {
			return Unknown, nil
		}
		return a, nil
	}
	if !r.Present.HasAll(n.required) {
		return Unknown, nil
	}
	if n.native != nil {
		if n.native(r) {
			return True, nil
		}
		return False, nil
	}
	return run(m, n.prog, r.Env())
}

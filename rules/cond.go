package rules

import (
	"fmt"

	"github.com/expr-lang/expr/vm"
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

// Add puts field i in the set.
func (s FieldSet) Add(i int) { s[i/64] |= 1 << (i % 64) }

// Has reports whether field i is in the set.
func (s FieldSet) Has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }

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
// When every field it requires is present, Eval runs one expr program. When
// some are missing it evaluates the expression's and/or/not structure with
// three-valued logic, running only the leaves whose fields are all present,
// so that `lead.country != "US"` is unknown, not true, for a lead without a
// country, while `missing || true` is still true.
type Condition struct {
	Src      string
	Pos      Pos
	prog     *vm.Program
	required FieldSet
	fields   []*Field // every field it reads, by index
	tree     *condNode
}

type condOp int8

const (
	opLeaf condOp = iota
	opAnd
	opOr
	opNot
)

type condNode struct {
	op       condOp
	a, b     *condNode
	prog     *vm.Program
	required FieldSet
}

// Fields returns the fields the condition reads, in declaration order.
func (c *Condition) Fields() []*Field { return c.fields }

// Eval runs the condition against env (the map the engine built for one
// lead) with present holding the fields the lead has. A run-time error is
// returned as is; the caller marks the rule as errored.
func (c *Condition) Eval(m *vm.VM, env any, present FieldSet) (Truth, error) {
	if present.HasAll(c.required) {
		return run(m, c.prog, env)
	}
	if c.tree == nil {
		return Unknown, nil
	}
	return c.tree.eval(m, env, present)
}

// Missing returns the fields the condition needs that are not in present.
func (c *Condition) Missing(present FieldSet) []*Field {
	var out []*Field
	for _, f := range c.fields {
		if c.required.Has(f.Index) && !present.Has(f.Index) {
			out = append(out, f)
		}
	}
	return out
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

func (n *condNode) eval(m *vm.VM, env any, present FieldSet) (Truth, error) {
	switch n.op {
	case opNot:
		t, err := n.a.eval(m, env, present)
		if err != nil || t == Unknown {
			return t, err
		}
		return 1 - t, nil
	case opAnd, opOr:
		stop := False // the value that decides the result on its own
		if n.op == opOr {
			stop = True
		}
		a, err := n.a.eval(m, env, present)
		if err != nil || a == stop {
			return a, err
		}
		b, err := n.b.eval(m, env, present)
		if err != nil || b == stop {
			return b, err
		}
		if a == Unknown || b == Unknown {
			return Unknown, nil
		}
		return a, nil
	}
	if !present.HasAll(n.required) {
		return Unknown, nil
	}
	return run(m, n.prog, env)
}

package compiler

import (
	"github.com/expr-lang/expr/ast"
)

// lintCost reports conditions whose running time grows with a lead's
// values rather than with the rules: a range up to a field
// (1..lead.employees builds and walks that many numbers), and a regexp or
// another loop inside a loop over a field's values. Such a rule can take
// minutes on one crafted lead; at run time the decision's time budget
// stops it (the rule errors), and this warning says so before it ships.
func (c *builder) lintCost(all []*lintRule) {
	for _, r := range all {
		if why := c.costly(r.cond); why != "" {
			c.warnf(r.decl.When.Pos, "costly-condition", "%s: when: %s, so its time grows with the lead's values (a crafted lead can use up the decision's time budget; compare the field instead, like lead.employees > 100)", r.subject(), why)
		}
	}
}

// costly says why n's cost grows with a field's value, or "".
func (c *builder) costly(n ast.Node) (why string) {
	walk(n, func(m ast.Node) bool {
		if why != "" {
			return false
		}
		switch v := m.(type) {
		case *ast.BinaryNode:
			if v.Operator == ".." {
				if f := c.fieldIn(v.Left); f != "" {
					why = "a range from " + f + " loops once per unit of its value"
				} else if f := c.fieldIn(v.Right); f != "" {
					why = "a range up to " + f + " loops once per unit of its value"
				}
			}
		case *ast.BuiltinNode:
			pred := predicateOf(v)
			if pred == nil || len(v.Arguments) == 0 {
				return true
			}
			over := c.fieldIn(v.Arguments[0])
			if over == "" {
				return true
			}
			if inner := innerCost(pred); inner != "" {
				why = inner + " inside a loop over " + over + " runs once per element"
			}
		}
		return true
	})
	return why
}

// predicateOf is the predicate of a loop builtin (any, all, filter...).
func predicateOf(b *ast.BuiltinNode) *ast.PredicateNode {
	for _, a := range b.Arguments {
		if p, ok := a.(*ast.PredicateNode); ok {
			return p
		}
	}
	return nil
}

// innerCost finds a regexp or a loop in a loop's predicate.
func innerCost(p *ast.PredicateNode) (what string) {
	walk(p.Node, func(m ast.Node) bool {
		switch v := m.(type) {
		case *ast.BinaryNode:
			// # matches re reads each element once: linear in the input.
			if _, elem := v.Left.(*ast.PointerNode); v.Operator == "matches" && !elem && what == "" {
				what = "a regexp (matches)"
			}
		case *ast.BuiltinNode:
			if predicateOf(v) != nil && what == "" {
				what = "a loop (" + v.Name + ")"
			}
		}
		return what == ""
	})
	return what
}

// fieldIn is the first declared field n reads, or "".
func (c *builder) fieldIn(n ast.Node) (name string) {
	walk(n, func(m ast.Node) bool {
		if id, ok := m.(*ast.IdentifierNode); ok && c.fields[id.Value] != nil && name == "" {
			name = id.Value
		}
		return name == ""
	})
	return name
}

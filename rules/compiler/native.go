package compiler

import (
	"hash/maphash"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/leadq/leadq/rules/eval"
)

// The native compiler turns a type-checked expression into Go closures
// over a Row. It covers what rules are made of (fields, constants,
// comparisons, arithmetic, in/contains/matches, leadq's functions and the
// string builtins); anything else makes it give up, and that part of the
// condition runs on expr's VM instead. Native and VM evaluation must agree:
// see TestNativeMatchesVM and FuzzNativeMatchesVM.
//
// Closures never fail at run time: operations that can (indexing, %,
// ternaries over nil) are left to the VM, which reports the error.

// The native forms of the types of values, as eval.Read returns them.
type (
	boolFn  = func(*eval.Row) bool
	intFn   = func(*eval.Row) int
	floatFn = func(*eval.Row) float64
	strFn   = func(*eval.Row) string
	timeFn  = func(*eval.Row) time.Time
	listFn  = func(*eval.Row) []string
)

type nativeCompiler struct {
	fields map[string]*eval.Field
	sets   *stringSets
}

// stringSets are the sets the native code of one ruleset tests membership
// in (x in [constant strings]), by their items: a list that 50 rules read
// is one set, not 50 (a 200,000-domain list read by 50 rules held 650 MB
// of them, and a reload holds two rulesets).
type stringSets struct {
	seed  maphash.Seed
	byKey map[uint64][]stringSet // by the hash of the items, in order
}

type stringSet struct {
	items []string
	set   map[string]struct{}
}

// of returns the set of items, built once for items alike.
func (s *stringSets) of(items []string) map[string]struct{} {
	if s.byKey == nil {
		s.seed, s.byKey = maphash.MakeSeed(), map[uint64][]stringSet{}
	}
	var h maphash.Hash
	h.SetSeed(s.seed)
	for _, x := range items {
		maphash.WriteComparable(&h, x) // its length too: ["ab"] is not ["a", "b"]
	}
	key := h.Sum64()
	for _, c := range s.byKey[key] {
		if slices.Equal(c.items, items) {
			return c.set
		}
	}
	set := make(map[string]struct{}, len(items))
	for _, x := range items {
		set[x] = struct{}{}
	}
	s.byKey[key] = append(s.byKey[key], stringSet{items: items, set: set})
	return set
}

// compile returns a typed closure for n, or nil when n is outside what the
// native compiler covers.
func (c *nativeCompiler) compile(n ast.Node) any {
	switch v := n.(type) {
	case *ast.IdentifierNode:
		return c.ident(v.Value)
	case *ast.IntegerNode:
		k := v.Value
		return intFn(func(*eval.Row) int { return k })
	case *ast.FloatNode:
		k := v.Value
		return floatFn(func(*eval.Row) float64 { return k })
	case *ast.StringNode:
		k := v.Value
		return strFn(func(*eval.Row) string { return k })
	case *ast.BoolNode:
		k := v.Value
		return boolFn(func(*eval.Row) bool { return k })
	case *ast.UnaryNode:
		return c.unary(v)
	case *ast.BinaryNode:
		return c.binary(v)
	case *ast.CallNode:
		return c.call(v)
	case *ast.BuiltinNode:
		return c.builtin(v)
	}
	return nil
}

func (c *nativeCompiler) ident(name string) any {
	if f := c.fields[name]; f != nil {
		return eval.Read(f)
	}
	switch name {
	case eval.NowVar:
		return timeFn(func(r *eval.Row) time.Time { return r.Now })
	case "tier":
		return strFn(func(r *eval.Row) string { return r.Tier })
	case "score":
		return intFn(func(r *eval.Row) int { return r.Score })
	case "knocked_out":
		return boolFn(func(r *eval.Row) bool { return r.KnockedOut })
	}
	return nil
}

// float returns n as a float closure, promoting ints as expr does.
func (c *nativeCompiler) float(n ast.Node) floatFn {
	switch f := c.compile(n).(type) {
	case floatFn:
		return f
	case intFn:
		return func(r *eval.Row) float64 { return float64(f(r)) }
	}
	return nil
}

func (c *nativeCompiler) unary(v *ast.UnaryNode) any {
	switch v.Operator {
	case "!", "not":
		if f, ok := c.compile(v.Node).(boolFn); ok {
			return boolFn(func(r *eval.Row) bool { return !f(r) })
		}
	case "-":
		switch f := c.compile(v.Node).(type) {
		case intFn:
			return intFn(func(r *eval.Row) int { return -f(r) })
		case floatFn:
			return floatFn(func(r *eval.Row) float64 { return -f(r) })
		}
	case "+":
		switch f := c.compile(v.Node).(type) {
		case intFn, floatFn:
			return f
		}
	}
	return nil
}

func (c *nativeCompiler) binary(v *ast.BinaryNode) any {
	switch v.Operator {
	case "&&", "and", "||", "or":
		a, ok1 := c.compile(v.Left).(boolFn)
		b, ok2 := c.compile(v.Right).(boolFn)
		if !ok1 || !ok2 {
			return nil
		}
		if isAnd(v.Operator) {
			return boolFn(func(r *eval.Row) bool { return a(r) && b(r) })
		}
		return boolFn(func(r *eval.Row) bool { return a(r) || b(r) })
	case "in":
		return c.in(v)
	case "contains", "startsWith", "endsWith":
		a, ok1 := c.compile(v.Left).(strFn)
		b, ok2 := c.compile(v.Right).(strFn)
		if !ok1 || !ok2 {
			return nil
		}
		switch v.Operator {
		case "contains":
			return boolFn(func(r *eval.Row) bool { return strings.Contains(a(r), b(r)) })
		case "startsWith":
			return boolFn(func(r *eval.Row) bool { return strings.HasPrefix(a(r), b(r)) })
		}
		return boolFn(func(r *eval.Row) bool { return strings.HasSuffix(a(r), b(r)) })
	case "matches":
		a, ok := c.compile(v.Left).(strFn)
		pat, isConst := v.Right.(*ast.StringNode)
		if !ok || !isConst {
			return nil
		}
		re, err := regexp.Compile(pat.Value)
		if err != nil {
			return nil // the VM reports the bad pattern
		}
		match := eval.Matcher(re)
		return boolFn(func(r *eval.Row) bool { return match(a(r)) })
	case "==", "!=", "<", "<=", ">", ">=":
		f := c.compare(v.Operator, v.Left, v.Right)
		if f == nil {
			return nil
		}
		return f
	case "+", "-", "*", "/":
		return c.arith(v)
	}
	return nil
}

// compare builds a comparison of two typed operands, promoting int to
// float when the types differ, as expr's runtime does.
func (c *nativeCompiler) compare(op string, ln, rn ast.Node) boolFn {
	if f := c.fieldAgainstConstant(op, ln, rn); f != nil {
		return f
	}
	l, r := c.compile(ln), c.compile(rn)
	switch a := l.(type) {
	case intFn:
		if b, ok := r.(intFn); ok {
			return ordered(op, a, b)
		}
	case strFn:
		if b, ok := r.(strFn); ok {
			return ordered(op, a, b)
		}
	case boolFn:
		b, ok := r.(boolFn)
		if !ok {
			return nil
		}
		switch op {
		case "==":
			return func(r *eval.Row) bool { return a(r) == b(r) }
		case "!=":
			return func(r *eval.Row) bool { return a(r) != b(r) }
		}
		return nil
	case timeFn:
		b, ok := r.(timeFn)
		if !ok {
			return nil
		}
		switch op {
		case "==":
			return func(r *eval.Row) bool { return a(r).Equal(b(r)) }
		case "!=":
			return func(r *eval.Row) bool { return !a(r).Equal(b(r)) }
		case "<":
			return func(r *eval.Row) bool { return a(r).Before(b(r)) }
		case ">":
			return func(r *eval.Row) bool { return a(r).After(b(r)) }
		case "<=":
			return func(r *eval.Row) bool { return !a(r).After(b(r)) }
		case ">=":
			return func(r *eval.Row) bool { return !a(r).Before(b(r)) }
		}
		return nil
	}
	a, b := c.float(ln), c.float(rn)
	if a == nil || b == nil {
		return nil
	}
	return ordered(op, a, b)
}

// fieldAgainstConstant builds `field op constant`, what most conditions
// are made of, as one closure that reads the row's slot itself: the
// general form calls a closure for each operand. It covers int, float and
// string fields against a literal of their type (an int literal against a
// float field too); nil otherwise.
func (c *nativeCompiler) fieldAgainstConstant(op string, ln, rn ast.Node) boolFn {
	id, ok := ln.(*ast.IdentifierNode)
	if !ok {
		return nil
	}
	f := c.fields[id.Value]
	if f == nil {
		return nil
	}
	switch k := rn.(type) {
	case *ast.IntegerNode:
		return eval.CompareConstant(op, f, k.Value)
	case *ast.FloatNode:
		return eval.CompareConstant(op, f, k.Value)
	case *ast.StringNode:
		return eval.CompareConstant(op, f, k.Value)
	}
	return nil
}

func ordered[T int | float64 | string](op string, a, b func(*eval.Row) T) boolFn {
	switch op {
	case "==":
		return func(r *eval.Row) bool { return a(r) == b(r) }
	case "!=":
		return func(r *eval.Row) bool { return a(r) != b(r) }
	case "<":
		return func(r *eval.Row) bool { return a(r) < b(r) }
	case "<=":
		return func(r *eval.Row) bool { return a(r) <= b(r) }
	case ">":
		return func(r *eval.Row) bool { return a(r) > b(r) }
	case ">=":
		return func(r *eval.Row) bool { return a(r) >= b(r) }
	}
	return nil
}

func (c *nativeCompiler) arith(v *ast.BinaryNode) any {
	l, r := c.compile(v.Left), c.compile(v.Right)
	if a, ok := l.(strFn); ok && v.Operator == "+" {
		if b, ok := r.(strFn); ok {
			return strFn(func(r *eval.Row) string { return a(r) + b(r) })
		}
		return nil
	}
	if a, ok := l.(intFn); ok && v.Operator != "/" {
		if b, ok := r.(intFn); ok {
			switch v.Operator {
			case "+":
				return intFn(func(r *eval.Row) int { return a(r) + b(r) })
			case "-":
				return intFn(func(r *eval.Row) int { return a(r) - b(r) })
			case "*":
				return intFn(func(r *eval.Row) int { return a(r) * b(r) })
			}
		}
	}
	a, b := c.float(v.Left), c.float(v.Right)
	if a == nil || b == nil {
		return nil
	}
	switch v.Operator {
	case "+":
		return floatFn(func(r *eval.Row) float64 { return a(r) + b(r) })
	case "-":
		return floatFn(func(r *eval.Row) float64 { return a(r) - b(r) })
	case "*":
		return floatFn(func(r *eval.Row) float64 { return a(r) * b(r) })
	}
	return floatFn(func(r *eval.Row) float64 { return a(r) / b(r) })
}

// constStrings returns the values of an array of string literals.
func constStrings(n ast.Node) ([]string, bool) {
	arr, ok := n.(*ast.ArrayNode)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(arr.Nodes))
	for _, e := range arr.Nodes {
		s, ok := e.(*ast.StringNode)
		if !ok {
			return nil, false
		}
		out = append(out, s.Value)
	}
	return out, true
}

// constNumbers returns the values of an array of number literals, the
// integers and the floats apart.
func constNumbers(n ast.Node) (ints []int, floats []float64, ok bool) {
	arr, ok := n.(*ast.ArrayNode)
	if !ok {
		return nil, nil, false
	}
	for _, e := range arr.Nodes {
		switch x := e.(type) {
		case *ast.IntegerNode:
			ints = append(ints, x.Value)
		case *ast.FloatNode:
			floats = append(floats, x.Value)
		default:
			return nil, nil, false
		}
	}
	return ints, floats, true
}

func (c *nativeCompiler) in(v *ast.BinaryNode) any {
	if set, ok := constStrings(v.Right); ok {
		a, ok := c.compile(v.Left).(strFn)
		if !ok {
			return nil
		}
		if len(set) <= 8 { // a short scan beats hashing
			// Most values are not in the set, and most of those have a
			// length no entry has: one bit test rejects them.
			var lengths uint64 // bit n: an entry of n bytes; bit 63: of 63 or more
			for _, x := range set {
				lengths |= 1 << min(len(x), 63)
			}
			return boolFn(func(r *eval.Row) bool {
				s := a(r)
				if lengths&(1<<min(len(s), 63)) == 0 {
					return false
				}
				for _, x := range set {
					if x == s {
						return true
					}
				}
				return false
			})
		}
		m := c.sets.of(set)
		return boolFn(func(r *eval.Row) bool { _, ok := m[a(r)]; return ok })
	}
	if ints, floats, ok := constNumbers(v.Right); ok {
		// expr compares an int with an int exactly and with a float as a
		// float, element by element: so does this.
		if a, isInt := c.compile(v.Left).(intFn); isInt {
			return boolFn(func(r *eval.Row) bool {
				x := a(r)
				return slices.Contains(ints, x) || slices.Contains(floats, float64(x))
			})
		}
		a := c.float(v.Left)
		if a == nil {
			return nil
		}
		for _, k := range ints {
			floats = append(floats, float64(k))
		}
		return boolFn(func(r *eval.Row) bool { return slices.Contains(floats, a(r)) })
	}
	a, ok1 := c.compile(v.Left).(strFn)
	l, ok2 := c.compile(v.Right).(listFn)
	if !ok1 || !ok2 {
		return nil
	}
	return boolFn(func(r *eval.Row) bool {
		s := a(r)
		for _, x := range l(r) {
			if x == s {
				return true
			}
		}
		return false
	})
}

func (c *nativeCompiler) call(v *ast.CallNode) any {
	id, ok := v.Callee.(*ast.IdentifierNode)
	if !ok {
		return nil
	}
	return c.function(id.Value, v.Arguments)
}

func (c *nativeCompiler) builtin(v *ast.BuiltinNode) any {
	return c.function(v.Name, v.Arguments)
}

// function compiles the arguments of a call and asks eval's table of
// functions for its native form.
func (c *nativeCompiler) function(name string, argNodes []ast.Node) any {
	args := make([]eval.Arg, len(argNodes))
	for i, n := range argNodes {
		if list, ok := constStrings(n); ok {
			args[i].Strings = list
			continue
		}
		args[i].Fn = c.compile(n)
		if args[i].Fn == nil {
			return nil
		}
		if id, ok := n.(*ast.IdentifierNode); ok {
			args[i].Field = c.fields[id.Value]
		}
	}
	return eval.Native(name, args)
}

package compiler

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	exprfile "github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// envKind says which variables an expression may use.
type envKind int

const (
	envWhen    envKind = iota // lead.*, account.*, lists, macros
	envQualify                // also tier, score, groups, knocked_out
)

// qualifyVars are the decision values qualify: can read.
var qualifyVars = map[string]types.Type{
	"tier":        types.String,
	"score":       types.Int,
	"groups":      types.TypeOf(map[string]int{}),
	"knocked_out": types.Bool,
}

// exprCompiler compiles the expressions of one ruleset.
type exprCompiler struct {
	// expanded counts the nodes the current build has expanded: past
	// maxExpanded it stops (see build).
	expanded int

	c       *builder
	configs [2]*conf.Config
	cache   ConditionCache // nil: no reuse across compilations
	vmOnly  bool           // see Compiler.VMOnly
	sets    stringSets     // the native code's sets of constant strings, shared by the ruleset's conditions
	envSig  string         // see envSignature

	// shared, while set (lintRules), holds each list's one ArrayNode for
	// every tree built: see buildShared.
	shared map[*rulefile.ListDecl]*ast.ArrayNode
}

func (x *exprCompiler) config(kind envKind) *conf.Config {
	if x.configs[kind] != nil {
		return x.configs[kind]
	}
	// Fields are flat variables named "lead.employees": expr reads a
	// top-level name of a map[string]any env with one map lookup, where
	// lead.employees on a nested map would go through reflection.
	env := types.Map{eval.NowVar: types.TypeOf(time.Time{}), eval.BudgetVar: types.TypeOf((*eval.Budget)(nil))}
	for _, f := range x.c.fields {
		t := eval.ExprType(f.Type)
		if t == nil {
			t = types.Any // a field with a bad declaration: its own error is enough
		}
		env[f.Name] = t
	}
	if kind == envQualify {
		for k, v := range qualifyVars {
			env[k] = v
		}
	}
	opts := append([]expr.Option{expr.Env(env), expr.AsBool()}, eval.ExprOptions()...)
	cfg := conf.CreateNew()
	for _, o := range opts {
		o(cfg)
	}
	x.configs[kind] = cfg
	return cfg
}

// exprSource is an expression with where it sits in a file.
type exprSource struct {
	file    *rulefile.File
	text    rulefile.Text
	subject string // e.g. `score rule "x": when`
	kind    envKind
}

// compile parses, checks and compiles one condition, reporting every
// problem against the file. It returns nil when there were errors.
func (x *exprCompiler) compile(src exprSource) *eval.Condition {
	if cond := x.cached(src); cond != nil {
		return cond
	}
	tree, err := parser.Parse(src.text.Value)
	if err != nil {
		x.exprError(src, err, "expr-syntax")
		return nil
	}
	var used usedNames
	if !x.checkNames(src, tree.Node, &used) {
		return nil
	}
	cond := x.compileChecked(src)
	x.remember(src, cond, &used)
	return cond
}

// compileChecked compiles an expression whose names checkNames accepted.
func (x *exprCompiler) compileChecked(src exprSource) *eval.Condition {
	whole, ok := x.build(src)
	if !ok {
		if x.expanded > maxExpanded {
			x.errorAt(src, 0, "expr-too-large", fmt.Sprintf("%s: with its macros written out the expression has over %d parts, "+
				"since macros use macros that use others several times each (m2: m1 && m1, m3: m2 && m2, ... doubles it each time); "+
				"use each macro once in the others, or a list", src.subject, maxExpanded))
		}
		return nil
	}
	native, prog, err := x.program(src, whole)
	if err != nil {
		x.exprError(src, err, "type-mismatch")
		return nil
	}
	// Build a second copy (programs change their tree in place) to find the
	// fields read and to split the and/or/not structure for three-valued
	// evaluation of leads with missing fields.
	node, _ := x.build(src)
	found := samples(x.c.fields, node) // before split: checking and optimizing change the tree
	required := eval.NewFieldSet(len(x.c.fields))
	var fields []*eval.Field
	seen := map[*eval.Field]bool{}
	collectFields(x.c.fields, node, false, func(f *eval.Field, optional bool) {
		if !seen[f] {
			seen[f] = true
			fields = append(fields, f)
		}
		if !optional {
			required.Add(f.Index)
		}
	})
	sortFields(fields)
	reads := eval.NewFieldSet(len(x.c.fields))
	for _, f := range fields {
		reads.Add(f.Index)
	}
	var tree *eval.Node
	if !isCompound(node) {
		// One leaf: the whole program is the leaf.
		tree = eval.Leaf(native, prog, required, reads)
	} else if tree, err = x.split(src, node); err != nil {
		x.exprError(src, err, "type-mismatch")
		return nil
	}
	if native != nil {
		// The condition runs one way (Condition.Eval), and the program
		// holds what its lists became: a map of each, per condition.
		prog = nil
	}
	cond := eval.NewCondition(src.text.Value, src.text.Pos, native, prog, required, fields, tree)
	cond.SetSamples(found)
	return cond
}

// program type-checks node and compiles it twice: to Go closures where the
// native compiler covers it (native is nil otherwise), and to an expr program.
func (x *exprCompiler) program(src exprSource, node ast.Node) (native boolFn, prog *vm.Program, err error) {
	cfg := x.config(src.kind)
	budgetLoops(node)
	tree := &parser.Tree{Node: node, Source: exprfile.NewSource(src.text.Value)}
	if _, err := checker.Check(tree, cfg); err != nil {
		return nil, nil, err
	}
	if !x.vmOnly {
		native, _ = (&nativeCompiler{fields: x.c.fields, sets: &x.sets}).compile(tree.Node).(boolFn)
	}
	if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
		return nil, nil, err
	}
	prog, err = compiler.Compile(tree, cfg)
	return native, prog, err
}

// budgetLoops makes every predicate under n (the body of a loop: any, all,
// filter, map...) check the decision's time budget before each iteration,
// as eval.BudgetFunc(eval.BudgetVar, true) ? body : nil: expr's VM has no
// way to stop a
// program, and a regexp in a loop over a range up to a field can run for
// minutes. Conditions without loops are left as they are. It may be called
// again on the same tree.
func budgetLoops(n ast.Node) {
	walk(n, func(c ast.Node) bool {
		p, ok := c.(*ast.PredicateNode)
		if !ok {
			return true
		}
		if cond, ok := p.Node.(*ast.ConditionalNode); ok {
			if call, ok := cond.Cond.(*ast.CallNode); ok {
				if id, ok := call.Callee.(*ast.IdentifierNode); ok && id.Value == eval.BudgetFunc {
					budgetLoops(cond.Exp1) // wrapped already; loops inside it too
					return false
				}
			}
		}
		budgetLoops(p.Node)
		// __within_budget__(__budget__, true) ? body : nil: the check comes
		// before each iteration's work, and fails the condition, never
		// returning false.
		loc := p.Node.Location()
		callee, budget, yes, none := &ast.IdentifierNode{Value: eval.BudgetFunc}, &ast.IdentifierNode{Value: eval.BudgetVar}, &ast.BoolNode{Value: true}, &ast.NilNode{}
		call := &ast.CallNode{Callee: callee, Arguments: []ast.Node{budget, yes}}
		cond := &ast.ConditionalNode{Cond: call, Exp1: p.Node, Exp2: none}
		for _, n := range []ast.Node{callee, budget, yes, none, call, cond} {
			n.SetLocation(loc)
		}
		p.Node = cond
		return false
	})
}

func isCompound(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.BinaryNode:
		return isAnd(n.Operator) || isOr(n.Operator)
	case *ast.UnaryNode:
		return isNot(n.Operator)
	}
	return false
}

func isAnd(op string) bool { return op == "&&" || op == "and" }
func isOr(op string) bool  { return op == "||" || op == "or" }
func isNot(op string) bool { return op == "!" || op == "not" }

func (x *exprCompiler) split(src exprSource, n ast.Node) (*eval.Node, error) {
	switch n := n.(type) {
	case *ast.BinaryNode:
		if isAnd(n.Operator) || isOr(n.Operator) {
			a, err := x.split(src, n.Left)
			if err != nil {
				return nil, err
			}
			b, err := x.split(src, n.Right)
			if err != nil {
				return nil, err
			}
			if isOr(n.Operator) {
				return eval.Or(a, b), nil
			}
			return eval.And(a, b), nil
		}
	case *ast.UnaryNode:
		if isNot(n.Operator) {
			a, err := x.split(src, n.Node)
			if err != nil {
				return nil, err
			}
			return eval.Not(a), nil
		}
	}
	native, prog, err := x.program(src, n)
	if err != nil {
		return nil, err
	}
	required, reads := eval.NewFieldSet(len(x.c.fields)), eval.NewFieldSet(len(x.c.fields))
	collectFields(x.c.fields, n, false, func(f *eval.Field, optional bool) {
		reads.Add(f.Index)
		if !optional {
			required.Add(f.Index)
		}
	})
	if native != nil {
		prog = nil // a leaf runs one way
	}
	return eval.Leaf(native, prog, required, reads), nil
}

// fieldRef returns the field a member node such as lead.employees names.
func (x *exprCompiler) fieldRef(n ast.Node) (ns, key string, ok bool) {
	m, isMember := n.(*ast.MemberNode)
	if !isMember {
		return "", "", false
	}
	id, isIdent := m.Node.(*ast.IdentifierNode)
	if !isIdent || (id.Value != "lead" && id.Value != "account") {
		return "", "", false
	}
	prop, isString := m.Property.(*ast.StringNode)
	if !isString {
		return id.Value, "", true
	}
	return id.Value, prop.Value, true
}

// checkNames reports unknown fields, lists, macros and functions with a
// did-you-mean, before expr's checker would report them less helpfully.
func (x *exprCompiler) checkNames(src exprSource, root ast.Node, used *usedNames) bool {
	ok := true
	fail := func(n ast.Node, code, format string, args ...any) {
		ok = false
		x.errorAt(src, n.Location().From, code, fmt.Sprintf(format, args...))
	}
	declared := map[string]bool{} // let-variables
	walk(root, func(n ast.Node) bool {
		if v, isDecl := n.(*ast.VariableDeclaratorNode); isDecl {
			declared[v.Name] = true
		}
		return true
	})
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		if ns, key, isField := x.fieldRef(n); isField {
			m := n.(*ast.MemberNode)
			if key == "" {
				fail(m.Node, "unknown-field", "%s: write fields out as %s.name; computed field names are not allowed", src.subject, ns)
				return false
			}
			name := ns + "." + key
			f, found := x.c.fields[name]
			if !found {
				fail(m.Node, "unknown-field", "%s: unknown field %s%s", src.subject, name, rulefile.DidYouMean(name, x.c.fieldNames))
				return false
			}
			x.c.usedFields[f.Name] = true
			used.fields = append(used.fields, f.Name)
			return false // do not visit the identifier lead itself
		}
		switch n := n.(type) {
		case *ast.CallNode:
			if id, isIdent := n.Callee.(*ast.IdentifierNode); isIdent {
				if !eval.IsFunc(id.Value) {
					fail(n, "unknown-name", "%s: unknown function %s%s", src.subject, id.Value, rulefile.DidYouMean(id.Value, eval.FuncNames()))
				}
				for _, a := range n.Arguments {
					walk(a, visit)
				}
				return false
			}
		case *ast.IdentifierNode:
			name := n.Value
			switch {
			case name == "lead" || name == "account":
				fail(n, "unknown-field", "%s: %s alone is not a value; read a field, like %s.%s", src.subject, name, name, x.exampleKey(name))
			case declared[name] || name == "$env" || name == eval.NowVar:
			case src.kind == envQualify && qualifyVars[name] != nil:
			case x.c.lists[name] != nil:
				x.c.usedLists[name] = true
				used.lists = append(used.lists, name)
			case x.c.macros[name] != nil:
				x.c.usedMacros[name] = true
				used.macros = append(used.macros, name)
				if x.c.macros[name].broken {
					ok = false // already reported where the macro is defined
				}
			default:
				candidates := append(append(slices.Sorted(maps.Keys(x.c.lists)), slices.Sorted(maps.Keys(x.c.macros))...), "lead", "account")
				if src.kind == envQualify {
					candidates = append(candidates, slices.Sorted(maps.Keys(qualifyVars))...)
				}
				hint := rulefile.DidYouMean(name, candidates)
				if hint == "" {
					hint = " (not a list, macro or function; fields are written lead.name or account.name)"
				}
				fail(n, "unknown-name", "%s: unknown name %s%s", src.subject, name, hint)
			}
		}
		return true
	}
	walk(root, visit)
	return ok
}

func (x *exprCompiler) exampleKey(ns string) string {
	for _, name := range x.c.fieldNames {
		if k, ok := strings.CutPrefix(name, ns+"."); ok {
			return k
		}
	}
	return "name"
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// build parses src and expands lists, macros and the hidden clock argument,
// returning a fresh tree each time (expr's optimizer changes trees in place).
//
// Macros are written out where they are used, so a macro that uses
// another twice, which uses another twice..., doubles the tree at each
// level: 40 such lines took a reload's memory until the process died.
// Past maxExpanded nodes the build fails (compileChecked says why).
func (x *exprCompiler) build(src exprSource) (ast.Node, bool) {
	x.expanded = 0
	tree, err := parser.Parse(src.text.Value)
	if err != nil {
		return nil, false
	}
	node := tree.Node
	ok := x.expand(&node, nil, nil)
	return node, ok && x.expanded <= maxExpanded
}

// maxExpanded bounds the nodes of one expression with its macros written
// out: some hundred times the largest expression a ruleset needs.
const maxExpanded = 100_000

// expand rewrites *n in place. at, when set, is the location every expanded
// node takes, so that errors inside a macro point at its use.
func (x *exprCompiler) expand(n *ast.Node, at *exprfile.Location, stack []string) bool {
	ok := true
	var visit func(p *ast.Node)
	visit = func(p *ast.Node) {
		if x.expanded++; x.expanded > maxExpanded {
			ok = false
			return
		}
		node := *p
		if ns, key, isField := x.fieldRef(node); isField {
			flat := &ast.IdentifierNode{Value: ns + "." + key}
			flat.SetLocation(node.(*ast.MemberNode).Node.Location())
			if at != nil {
				flat.SetLocation(*at)
			}
			*p = flat
			return
		}
		forChildren(node, visit)
		if at != nil {
			node.SetLocation(*at)
		}
		switch v := node.(type) {
		case *ast.IdentifierNode:
			if l := x.c.lists[v.Value]; l != nil {
				ast.Patch(p, x.listNode(l, v.Location()))
				return
			}
			m := x.c.macros[v.Value]
			if m == nil {
				return
			}
			if containsStr(stack, v.Value) {
				ok = false
				return
			}
			tree, err := parser.Parse(m.decl.Expr.Value)
			if err != nil {
				ok = false
				return
			}
			loc := v.Location()
			body := tree.Node
			if !x.expand(&body, &loc, append(stack, v.Value)) {
				ok = false
				return
			}
			setLocations(body, loc)
			*p = body
		case *ast.CallNode:
			if id, isIdent := v.Callee.(*ast.IdentifierNode); isIdent && eval.IsClockFunc(id.Value) && len(v.Arguments) == 1 {
				now := &ast.IdentifierNode{Value: eval.NowVar}
				now.SetLocation(v.Location())
				v.Arguments = append(v.Arguments, now)
			}
		case *ast.BuiltinNode:
			// A builtin the function table replaces (eval.MaxBuilt bounds
			// repeat, replace...) is a call of the table's function:
			// parsed without the config, it would compile to expr's own.
			if eval.IsFunc(v.Name) {
				callee := &ast.IdentifierNode{Value: v.Name}
				callee.SetLocation(v.Location())
				call := &ast.CallNode{Callee: callee, Arguments: v.Arguments}
				call.SetLocation(v.Location())
				*p = call
			}
		}
	}
	visit(n)
	return ok
}

// listNode is the array of a list's values, each at loc: a new one, or
// while trees share lists (buildShared) the list's one.
func (x *exprCompiler) listNode(l *rulefile.ListDecl, loc exprfile.Location) *ast.ArrayNode {
	if arr := x.shared[l]; arr != nil {
		return arr
	}
	arr := &ast.ArrayNode{Nodes: make([]ast.Node, 0, len(l.Values))}
	for _, val := range l.Values {
		var lit ast.Node
		switch val := val.(type) {
		case string:
			lit = &ast.StringNode{Value: val}
		case int:
			lit = &ast.IntegerNode{Value: val}
		case float64:
			lit = &ast.FloatNode{Value: val}
		}
		lit.SetLocation(loc)
		arr.Nodes = append(arr.Nodes, lit)
	}
	if x.shared != nil {
		x.shared[l] = arr
	}
	return arr
}

// buildShared calls f, and the trees build makes meanwhile share each
// list's array: for lint, which holds every rule's tree at once and
// changes no list in them (a 200,000-domain list read by 50 rules held
// 950 MB of copies). A compile's trees get their own, since expr's checker
// and optimizer change them in place.
func (x *exprCompiler) buildShared(f func()) {
	x.shared = map[*rulefile.ListDecl]*ast.ArrayNode{}
	defer func() { x.shared = nil }()
	f()
}

func setLocations(n ast.Node, loc exprfile.Location) {
	walk(n, func(c ast.Node) bool { c.SetLocation(loc); return true })
}

// collectFields calls fn for every field read under n. A read is optional
// when the expression handles nil itself (lead.x ?? y, lead.x == nil).
func collectFields(fields map[string]*eval.Field, n ast.Node, optional bool, fn func(f *eval.Field, optional bool)) {
	switch v := n.(type) {
	case *ast.IdentifierNode: // a field, flattened by expand
		if fd := fields[v.Value]; fd != nil {
			fn(fd, optional)
		}
		return
	case *ast.ChainNode:
		collectFields(fields, v.Node, true, fn)
		return
	case *ast.BinaryNode:
		switch {
		case v.Operator == "??":
			collectFields(fields, v.Left, true, fn)
			collectFields(fields, v.Right, optional, fn)
			return
		case v.Operator == "==" || v.Operator == "!=":
			_, lnil := v.Left.(*ast.NilNode)
			_, rnil := v.Right.(*ast.NilNode)
			if lnil || rnil {
				collectFields(fields, v.Left, true, fn)
				collectFields(fields, v.Right, true, fn)
				return
			}
		}
	}
	forChildren(n, func(p *ast.Node) { collectFields(fields, *p, optional, fn) })
}

// walk visits n and its children depth first; fn returns false to skip a
// node's children.
func walk(n ast.Node, fn func(ast.Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	forChildren(n, func(p *ast.Node) { walk(*p, fn) })
}

// forChildren calls fn with a pointer to each child slot of n.
func forChildren(n ast.Node, fn func(*ast.Node)) {
	switch v := n.(type) {
	case *ast.UnaryNode:
		fn(&v.Node)
	case *ast.BinaryNode:
		fn(&v.Left)
		fn(&v.Right)
	case *ast.ChainNode:
		fn(&v.Node)
	case *ast.MemberNode:
		fn(&v.Node)
		fn(&v.Property)
	case *ast.SliceNode:
		fn(&v.Node)
		if v.From != nil {
			fn(&v.From)
		}
		if v.To != nil {
			fn(&v.To)
		}
	case *ast.CallNode:
		fn(&v.Callee)
		for i := range v.Arguments {
			fn(&v.Arguments[i])
		}
	case *ast.BuiltinNode:
		for i := range v.Arguments {
			fn(&v.Arguments[i])
		}
	case *ast.PredicateNode:
		fn(&v.Node)
	case *ast.VariableDeclaratorNode:
		fn(&v.Value)
		fn(&v.Expr)
	case *ast.SequenceNode:
		for i := range v.Nodes {
			fn(&v.Nodes[i])
		}
	case *ast.ConditionalNode:
		fn(&v.Cond)
		fn(&v.Exp1)
		fn(&v.Exp2)
	case *ast.ArrayNode:
		for i := range v.Nodes {
			fn(&v.Nodes[i])
		}
	case *ast.MapNode:
		for i := range v.Pairs {
			fn(&v.Pairs[i])
		}
	case *ast.PairNode:
		fn(&v.Key)
		fn(&v.Value)
	}
}

// exprError reports an error from expr's parser or checker at its location.
func (x *exprCompiler) exprError(src exprSource, err error, code string) {
	var fe *exprfile.Error
	msg, offset := err.Error(), 0
	if errors.As(err, &fe) {
		msg, offset = fe.Message, fe.From
	}
	if code == "type-mismatch" && strings.HasPrefix(msg, "expected bool") {
		msg += " (a condition must be true or false, like lead.employees > 50)"
	}
	if c := src.text.Comment; c != "" {
		msg += " (" + commentHint(src.text.Value, c) + ")"
	}
	x.errorAt(src, offset, code, src.subject+": "+msg)
}

// commentHint explains an expression YAML cut at a #: a # after a space
// starts a comment in an unquoted value.
func commentHint(value, comment string) string {
	whole := value + " " + comment
	quoted := "'" + whole + "'"
	if strings.Contains(whole, "'") {
		quoted = strconv.Quote(whole)
	}
	return "YAML cut the expression at #, since a # after a space starts a comment: quote it whole, like " + quoted
}

// errorAt reports msg at the rune offset within the expression's text,
// mapped to a file position with a caret snippet.
func (x *exprCompiler) errorAt(src exprSource, offset int, code, msg string) {
	pos, snippet := src.file.PosIn(src.text, offset)
	x.c.errs = append(x.c.errs, &rulefile.Error{Pos: pos, Code: code, Msg: msg, Snippet: snippet})
}

package backtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// RowExpr is a condition over the columns of a row, such as --best
// 'Converted == "1"' or --join-where 'deal_stage == "Won"'. It is an expr
// expression in which each column is a string variable, under its own name
// when that is an identifier and under its normalised name (Lead Origin ->
// lead_origin); $env["Lead Origin"] reads any column. A column compared with
// a number (close_value > 1000, Region in [1, 3]) is read as a number, and
// one compared with true or false as a yes/no value; a value that is not
// one compares false. A column the row lacks is nil. Match is safe for
// concurrent use.
type RowExpr struct {
	Src   string
	prog  *vm.Program
	alias map[string]string // normalised name -> column
	refs  []string
}

// CompileRowExpr compiles src against the columns of a source. When complete
// is false (JSONL), names that are not known columns are allowed and read
// as nil when a row lacks them.
func CompileRowExpr(src string, columns []string, complete bool) (*RowExpr, error) {
	e := &RowExpr{Src: src, alias: map[string]string{}}
	env := map[string]any{}
	for _, c := range columns {
		env[c] = ""
	}
	for _, c := range columns {
		a := Normalise(c)
		if _, taken := env[a]; !taken && a != "" {
			env[a] = ""
			e.alias[a] = c
		}
	}
	opts := []expr.Option{
		expr.AsBool(),
		expr.Patch(numPatch{}),
		expr.Function("num", func(params ...any) (any, error) { return toNum(params[0]), nil }, new(func(any) float64)),
		expr.Function("truth", func(params ...any) (any, error) { return toBool(params[0]), nil }, new(func(any) any)),
	}
	if complete {
		opts = append(opts, expr.Env(env))
	} else {
		opts = append(opts, expr.Env(map[string]any{}), expr.AllowUndefinedVariables())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "unknown name") && len(columns) > 0 {
			ex := columns[0]
			for _, c := range columns {
				if strings.ContainsAny(c, " -.") {
					ex = c
					break
				}
			}
			msg += fmt.Sprintf("\n(columns: %s; write a name like %q as %s or $env[%q])",
				strings.Join(columns, ", "), ex, Normalise(ex), ex)
		}
		return nil, fmt.Errorf("%s", msg)
	}
	e.prog = prog
	e.refs = exprRefs(src, env, e.alias)
	return e, nil
}

// Columns returns the columns the expression reads, sorted.
func (e *RowExpr) Columns() []string { return e.refs }

// Match evaluates the expression on one row. An error means the expression
// failed on this row (it is not a match).
func (e *RowExpr) Match(rec Record) (bool, error) {
	out, err := vm.Run(e.prog, e.env(rec))
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

func (e *RowExpr) env(rec Record) map[string]any {
	env := map[string]any{}
	put := func(col string, v any, ok bool) {
		if !ok {
			env[col] = nil
			return
		}
		env[col] = textOf(v)
	}
	if rec.Keyed() {
		rec.Range(func(k string, v any) { put(k, v, v != nil) })
		rec.Range(func(k string, v any) {
			if a := Normalise(k); a != "" {
				if _, taken := env[a]; !taken {
					put(a, v, v != nil)
				}
			}
		})
		return env
	}
	rec.Range(func(col string, v any) { put(col, v, true) })
	for a, col := range e.alias {
		env[a] = env[col]
	}
	return env
}

// toNum reads a value as a number for comparisons; NaN when it is not one,
// so that every comparison but != is false.
func toNum(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f
		}
	case bool:
		if x {
			return 1
		}
		return 0
	}
	return math.NaN()
}

// numPatch wraps the non-literal side of a comparison with a number, and
// the left side of "in" a list of numbers, in num().
type numPatch struct{}

func (numPatch) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok {
		return
	}
	switch b.Operator {
	case "==", "!=":
		switch {
		case isBoolLit(b.Right) && !isLit(b.Left):
			wrap(&b.Left, "truth")
		case isBoolLit(b.Left) && !isLit(b.Right):
			wrap(&b.Right, "truth")
		}
		fallthrough
	case "<", ">", "<=", ">=":
		switch {
		case isNumLit(b.Right) && !isLit(b.Left):
			wrap(&b.Left, "num")
		case isNumLit(b.Left) && !isLit(b.Right):
			wrap(&b.Right, "num")
		}
	case "in":
		if arr, ok := b.Right.(*ast.ArrayNode); ok && len(arr.Nodes) > 0 && !isLit(b.Left) {
			for _, n := range arr.Nodes {
				if !isNumLit(n) {
					return
				}
			}
			wrap(&b.Left, "num")
		}
	}
}

func wrap(n *ast.Node, fn string) {
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: []ast.Node{*n}}
	ast.Patch(n, call)
}

func isBoolLit(n ast.Node) bool {
	_, ok := n.(*ast.BoolNode)
	return ok
}

// toBool reads a value as a boolean for comparisons with true and false:
// yes/true/y/1 and no/false/n/0, any case; nil for anything else, which
// equals neither.
func toBool(v any) any {
	switch strings.ToLower(strings.TrimSpace(textOf(v))) {
	case "true", "yes", "y", "1":
		return true
	case "false", "no", "n", "0":
		return false
	}
	return nil
}

func isNumLit(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		return true
	case *ast.UnaryNode:
		return (x.Operator == "-" || x.Operator == "+") && isNumLit(x.Node)
	}
	return false
}

func isLit(n ast.Node) bool {
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.NilNode, *ast.ArrayNode:
		return true
	}
	return isNumLit(n)
}

// exprRefs lists the columns an expression names: identifiers that are
// columns or aliases, and $env["..."] lookups.
func exprRefs(src string, env map[string]any, alias map[string]string) []string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	v := &refVisitor{fn: func(name string) {
		if col, ok := alias[name]; ok {
			name = col
		}
		if _, known := env[name]; known || len(env) == 0 {
			seen[name] = true
		}
	}}
	ast.Walk(&tree.Node, v)
	return slices.Sorted(maps.Keys(seen))
}

type refVisitor struct{ fn func(string) }

func (r *refVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value != "$env" {
			r.fn(n.Value)
		}
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
			if s, ok := n.Property.(*ast.StringNode); ok {
				r.fn(s.Value)
			}
		}
	}
}

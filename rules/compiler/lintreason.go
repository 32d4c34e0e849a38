package compiler

import (
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// lintReasons warns about a reason that shows a field without a fallback
// when the rule can fire with that field missing or, for a string, empty:
// the rep would read "unknown has 4 employees" or " has 4 employees". A
// field is safe when the condition cannot be true without it (every way
// through the condition compares it, and none tests it against nil or
// reads it through ??) and, for a string, when a comparison the condition
// needs is false for "".
func (c *builder) lintReasons(all []*lintRule) {
	for _, r := range all {
		if r.decl.Reason == nil || r.truth == alwaysFalse {
			continue
		}
		need := required(r.cond)
		seen := map[string]bool{}
		for _, name := range unguardedFields(r.decl.Reason.Value) {
			fd := c.fields[name]
			if fd == nil || seen[name] {
				continue
			}
			seen[name] = true
			switch {
			case !need[name]:
				c.warnf(r.decl.Reason.Pos, "reason-may-be-empty", "%s: reason shows {{%s}}, and the rule can fire without it, so the rep reads \"unknown\" there (give a fallback: {{%s or some text}})", r.subject(), name, name)
			case fd.Type == rulefile.TypeString && !nonEmpty(r.cond, name):
				c.warnf(r.decl.Reason.Pos, "reason-may-be-empty", "%s: reason shows {{%s}}, and the rule can fire when it is empty, so the sentence has a gap (give a fallback: {{%s or some text}})", r.subject(), name, name)
			}
		}
	}
}

// unguardedFields lists the fields a reason template shows without a
// fallback, in order.
func unguardedFields(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			return out
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return out
		}
		name, _, has, bad := splitFallback(s[i+2 : i+j])
		if !has && bad == "" && name != "" {
			out = append(out, name)
		}
		s = s[i+j+2:]
	}
}

// required returns the fields n cannot be true without: under three-valued
// logic a comparison or call that reads a missing field is unknown, && needs
// both sides and || either. A part that tests nil or uses ?? can act on a
// missing field, so it requires nothing (lead.x != nil requires lead.x).
func required(n ast.Node) map[string]bool {
	switch v := n.(type) {
	case *ast.BinaryNode:
		switch v.Operator {
		case "&&":
			out := required(v.Left)
			for k := range required(v.Right) {
				out[k] = true
			}
			return out
		case "||":
			a, b := required(v.Left), required(v.Right)
			for k := range a {
				if !b[k] {
					delete(a, k)
				}
			}
			return a
		case "!=":
			if id, ok := v.Left.(*ast.IdentifierNode); ok {
				if _, isNil := v.Right.(*ast.NilNode); isNil {
					return map[string]bool{id.Value: true}
				}
			}
		}
	case *ast.UnaryNode:
		if v.Operator == "!" {
			// !(a && b) is true when b is false and a unknown; a negated
			// comparison or call is unknown when what it reads is.
			if b, ok := v.Node.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "||") {
				return map[string]bool{}
			}
		}
	}
	out := map[string]bool{}
	actsOnMissing := false
	walk(n, func(x ast.Node) bool {
		switch v := x.(type) {
		case *ast.NilNode:
			actsOnMissing = true
		case *ast.BinaryNode:
			if v.Operator == "??" || v.Operator == "||" {
				actsOnMissing = true
			}
		case *ast.ConditionalNode:
			actsOnMissing = true
		case *ast.IdentifierNode:
			if strings.HasPrefix(v.Value, "lead.") || strings.HasPrefix(v.Value, "account.") {
				out[v.Value] = true
			}
		}
		return !actsOnMissing
	})
	if actsOnMissing {
		return map[string]bool{}
	}
	return out
}

// nonEmpty reports whether n cannot be true with the string field name
// empty: one of its conjuncts reads only that field and is false for "".
func nonEmpty(n ast.Node, name string) bool {
	ns, key, _ := strings.Cut(name, ".")
	for _, part := range conjuncts(n) {
		fields := map[string]bool{}
		other := false
		walk(part, func(x ast.Node) bool {
			if id, ok := x.(*ast.IdentifierNode); ok {
				switch {
				case id.Value == name:
					fields[name] = true
				case id.Value == eval.NowVar || id.Value == "$env" || strings.Contains(id.Value, "."):
					other = true
				}
			}
			return true
		})
		if other || !fields[name] {
			continue
		}
		prog, err := expr.Compile(part.String(), append(eval.ExprOptions(), expr.AsBool())...)
		if err != nil {
			continue
		}
		out, err := expr.Run(prog, map[string]any{ns: map[string]any{key: ""}})
		if err == nil && out == false {
			return true
		}
	}
	return false
}

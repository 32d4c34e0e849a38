package compiler

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

func parseExpr(src string) (ast.Node, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, err
	}
	return tree.Node, nil
}

func identName(n ast.Node) (string, bool) {
	id, ok := n.(*ast.IdentifierNode)
	if !ok {
		return "", false
	}
	return id.Value, true
}

type tierLiteral struct {
	value  string
	offset int
}

// tierLiterals finds the string literals qualify: compares tier with:
// tier == "A", "A" == tier, tier in ["A", "B"], tier != "D".
func tierLiterals(root ast.Node) []tierLiteral {
	var out []tierLiteral
	isTier := func(n ast.Node) bool { name, ok := identName(n); return ok && name == "tier" }
	add := func(n ast.Node) {
		if s, ok := n.(*ast.StringNode); ok {
			out = append(out, tierLiteral{s.Value, s.Location().From})
		}
	}
	walk(root, func(n ast.Node) bool {
		b, ok := n.(*ast.BinaryNode)
		if !ok {
			return true
		}
		switch b.Operator {
		case "==", "!=":
			if isTier(b.Left) {
				add(b.Right)
			} else if isTier(b.Right) {
				add(b.Left)
			}
		case "in", "not in":
			if arr, ok := b.Right.(*ast.ArrayNode); ok && isTier(b.Left) {
				for _, e := range arr.Nodes {
					add(e)
				}
			}
		}
		return true
	})
	return out
}

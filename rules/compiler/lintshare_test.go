package compiler

import (
	"testing"

	"github.com/expr-lang/expr/ast"
	"github.com/leadq/leadq/rules/rulefile"
)

// Lint holds every rule's expanded tree at once: the trees it builds share
// each list's array (a 200,000-domain list read by 50 rules held 950 MB of
// copies, and `leadq check` peaked at 1.6 GB), while a compile's trees,
// which expr's checker and optimizer change in place, get their own.
func TestLintTreesShareLists(t *testing.T) {
	doms := &rulefile.ListDecl{Name: "doms", Values: []any{"a.example", "b.example"}}
	c := &builder{lists: map[string]*rulefile.ListDecl{"doms": doms}}
	x := &exprCompiler{c: c}
	list := func() *ast.ArrayNode {
		t.Helper()
		node, ok := x.build(exprSource{text: rulefile.Text{Value: `lead.d in doms && lead.e not in doms`}})
		if !ok {
			t.Fatal("build failed")
		}
		and, isAnd := node.(*ast.BinaryNode)
		if !isAnd {
			t.Fatalf("tree %T; want the && of two ins", node)
		}
		in, _ := and.Left.(*ast.BinaryNode)
		arr, isArray := in.Right.(*ast.ArrayNode)
		if !isArray || len(arr.Nodes) != len(doms.Values) {
			t.Fatalf("lead.d in doms expanded to %#v; want the list's array", in.Right)
		}
		return arr
	}
	if first, second := list(), list(); first == second {
		t.Error("two compile trees share a list's array; each must have its own")
	}
	var a, b *ast.ArrayNode
	x.buildShared(func() { a, b = list(), list() })
	if a != b {
		t.Error("two lint trees have a list's array each; want one")
	}
	if list() == a {
		t.Error("a compile tree after lint shares lint's array")
	}
}

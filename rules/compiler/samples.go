package compiler

import (
	"math"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// samples derives a condition's eval.Samples from its expanded tree: for
// each comparison of a field (or lower/upper/trim/domain/days_since... of
// one) with constants, the constants, in the case the comparison reads
// them, and for numbers and ages their neighbours on both sides; for
// matches, a string the pattern's literal parts spell; for lists, the items
// that in, contains_any and contains_all look for. The constants come
// first, then the neighbours, each once: callers that keep one value per
// outcome keep a constant when one gives it.
func samples(fields map[string]*eval.Field, root ast.Node) []eval.Sample {
	var first, next []eval.Sample
	// The samples so far, by key: a list of 200,000 domains
	// made a scan (and a copy) per item quadratic, hours for leadq check.
	seen := map[eval.SampleKey]bool{}
	add := func(s eval.Sample, neighbour bool) {
		k := s.Key()
		if seen[k] {
			return
		}
		seen[k] = true
		if neighbour {
			s.Beside = true
			next = append(next, s)
		} else {
			first = append(first, s)
		}
	}
	number := func(f *eval.Field, wrap string, c float64) {
		switch {
		case wrap == "days" || wrap == "months" || wrap == "years":
			ago := func(k int) eval.Ago {
				switch wrap {
				case "days":
					return eval.Ago{Days: k}
				case "months":
					return eval.Ago{Months: k}
				}
				return eval.Ago{Years: k}
			}
			k := int(math.Floor(c))
			add(eval.Sample{Field: f, Ago: ago(max(k, 0))}, false)
			for _, n := range []int{k - 1, k + 1, k + 2} {
				if n >= 0 {
					add(eval.Sample{Field: f, Ago: ago(n)}, true)
				}
			}
		case wrap != "":
		case f.Type == rulefile.TypeInt:
			lo, hi := int(math.Floor(c)), int(math.Ceil(c))
			add(eval.Sample{Field: f, Value: lo}, lo != hi)
			add(eval.Sample{Field: f, Value: hi}, lo != hi)
			add(eval.Sample{Field: f, Value: lo - 1}, true)
			add(eval.Sample{Field: f, Value: hi + 1}, true)
		case f.Type == rulefile.TypeFloat:
			step := 0.01
			if c == math.Trunc(c) && math.Abs(c) >= 10 {
				step = 1
			}
			add(eval.Sample{Field: f, Value: c}, false)
			add(eval.Sample{Field: f, Value: c - step}, true)
			add(eval.Sample{Field: f, Value: c + step}, true)
		}
	}
	text := func(f *eval.Field, wrap, s string) {
		switch {
		case f.Type == rulefile.TypeList:
			add(eval.Sample{Field: f, Items: []string{s}}, false)
		case f.Type != rulefile.TypeString:
		case wrap == "domain":
			add(eval.Sample{Field: f, Value: "someone@" + s}, false)
		case wrap == "" || wrap == "lower" || wrap == "upper" || wrap == "trim":
			add(eval.Sample{Field: f, Value: s}, false)
		}
	}
	walk(root, func(n ast.Node) bool {
		switch v := n.(type) {
		case *ast.IdentifierNode:
			if f := fields[v.Value]; f != nil && f.Type == rulefile.TypeBool {
				add(eval.Sample{Field: f, Value: true}, false)
				add(eval.Sample{Field: f, Value: false}, false)
			}
		case *ast.BinaryNode:
			l, lw := fieldExpr(fields, v.Left)
			r, rw := fieldExpr(fields, v.Right)
			switch v.Operator {
			case "==", "!=", "<", "<=", ">", ">=", "in", "contains", "startsWith", "endsWith":
				for _, side := range []struct {
					f    *eval.Field
					wrap string
					c    ast.Node
				}{{l, lw, v.Right}, {r, rw, v.Left}} {
					if side.f == nil {
						continue
					}
					consts := constants(side.c)
					for _, c := range spread(consts) {
						switch x := c.(type) {
						case string:
							text(side.f, side.wrap, x)
						case float64:
							number(side.f, side.wrap, x)
						}
					}
					// A value none of the constants is, for != and not in.
					if v.Operator == "==" || v.Operator == "!=" || v.Operator == "in" {
						if other, ok := otherString(consts); ok && side.f.Type == rulefile.TypeString && side.wrap != "domain" && side.wrap != "len" {
							add(eval.Sample{Field: side.f, Value: other}, true)
						}
					}
				}
			case "matches":
				if s, ok := v.Right.(*ast.StringNode); ok && l != nil && l.Type == rulefile.TypeString && (lw == "" || lw == "trim") {
					if w, ok := witness(s.Value); ok {
						add(eval.Sample{Field: l, Value: w}, false)
					}
				}
			}
		case *ast.CallNode:
			id, ok := v.Callee.(*ast.IdentifierNode)
			if !ok || len(v.Arguments) == 0 {
				break
			}
			f, wrap := fieldExpr(fields, v.Arguments[0])
			switch {
			case f == nil:
			case id.Value == "is_free_email" && wrap == "":
				add(eval.Sample{Field: f, Value: "someone@gmail.com"}, false)
				add(eval.Sample{Field: f, Value: "someone@company.example"}, false)
			case (id.Value == "contains_any" || id.Value == "contains_all") && wrap == "" && len(v.Arguments) == 2:
				var items []string
				for _, c := range constants(v.Arguments[1]) {
					if s, ok := c.(string); ok {
						items = append(items, s)
					}
				}
				if id.Value == "contains_all" && len(items) > 0 {
					add(eval.Sample{Field: f, Items: items}, false)
					break
				}
				for _, s := range spread(items) {
					add(eval.Sample{Field: f, Items: []string{s}}, false)
				}
			}
		}
		return true
	})
	return slices.Concat(first, next)
}

// maxListSamples bounds the items of one list a comparison gives as
// samples. A what-if tries every sample of a field, and each condition
// keeps its own: a 200,000-domain list read by 50 rules held 900 MB of
// samples. For in and not in, one member serves as well as another; a rule
// that tells members apart by its own constants (another list, ==, a
// prefix) gives those constants as samples too.
const maxListSamples = 1024

// spread returns items when there are at most maxListSamples of them, or
// that many taken evenly over them, the first included.
func spread[T any](items []T) []T {
	if len(items) <= maxListSamples {
		return items
	}
	out := make([]T, maxListSamples)
	for i := range out {
		out[i] = items[i*len(items)/maxListSamples]
	}
	return out
}

// fieldExpr returns the field n reads, directly or through one of the
// functions samples knows (wrap names it: lower, upper, trim, domain, len,
// and days, months or years for days_since...); nil when n is none of
// these.
func fieldExpr(fields map[string]*eval.Field, n ast.Node) (*eval.Field, string) {
	var name string
	var args []ast.Node
	switch v := n.(type) {
	case *ast.IdentifierNode:
		return fields[v.Value], ""
	case *ast.BuiltinNode:
		name, args = v.Name, v.Arguments
	case *ast.CallNode:
		id, ok := v.Callee.(*ast.IdentifierNode)
		if !ok {
			return nil, ""
		}
		name, args = id.Value, v.Arguments
	default:
		return nil, ""
	}
	if len(args) == 0 {
		return nil, ""
	}
	id, ok := args[0].(*ast.IdentifierNode)
	if !ok || fields[id.Value] == nil {
		return nil, ""
	}
	wrap, known := map[string]string{"lower": "lower", "upper": "upper", "trim": "trim", "domain": "domain", "len": "len",
		"days_since": "days", "months_since": "months", "years_since": "years"}[name]
	if !known {
		return nil, ""
	}
	return fields[id.Value], wrap
}

// constants returns the value of a literal (a number as a float64, a
// string) or the values of an array of literals; nil for anything else.
func constants(n ast.Node) []any {
	switch v := n.(type) {
	case *ast.StringNode:
		return []any{v.Value}
	case *ast.IntegerNode:
		return []any{float64(v.Value)}
	case *ast.FloatNode:
		return []any{v.Value}
	case *ast.UnaryNode:
		if v.Operator == "-" {
			if c := constants(v.Node); len(c) == 1 {
				if x, ok := c[0].(float64); ok {
					return []any{-x}
				}
			}
		}
	case *ast.ArrayNode:
		var out []any
		for _, e := range v.Nodes {
			c := constants(e)
			if len(c) != 1 {
				return nil
			}
			out = append(out, c[0])
		}
		return out
	}
	return nil
}

// witness returns a string that the regular expression pattern is meant to
// match, spelt from its literal parts: the first branch of each
// alternation, one repetition of each +, none of * and ?, the first
// character of each class. It is only a candidate (anchors, word
// boundaries and lookaround are not checked here): the caller keeps it if
// the condition really matches it. ok is false for a pattern it cannot
// spell (or that does not parse).
func witness(pattern string) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	var spell func(re *syntax.Regexp) bool
	spell = func(re *syntax.Regexp) bool {
		switch re.Op {
		case syntax.OpLiteral:
			if re.Flags&syntax.FoldCase != 0 {
				b.WriteString(strings.ToLower(string(re.Rune)))
			} else {
				b.WriteString(string(re.Rune))
			}
		case syntax.OpCharClass:
			if len(re.Rune) < 2 {
				return false
			}
			r := re.Rune[0]
			for i := 0; i+1 < len(re.Rune); i += 2 { // a letter or digit, when the class has one
				if lo, hi := re.Rune[i], re.Rune[i+1]; lo <= 'a' && 'a' <= hi {
					r = 'a'
					break
				} else if lo <= '0' && '0' <= hi {
					r = '0'
				}
			}
			b.WriteRune(r)
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteByte('a')
		case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
			syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpStar, syntax.OpQuest:
		case syntax.OpCapture:
			return spell(re.Sub[0])
		case syntax.OpPlus:
			return spell(re.Sub[0])
		case syntax.OpRepeat:
			for range re.Min {
				if !spell(re.Sub[0]) {
					return false
				}
			}
		case syntax.OpConcat:
			for _, s := range re.Sub {
				if !spell(s) {
					return false
				}
			}
		case syntax.OpAlternate:
			return spell(re.Sub[0])
		default:
			return false
		}
		return true
	}
	if !spell(re) || b.Len() == 0 {
		return "", false
	}
	return b.String(), true
}

// otherString returns a string that differs from every constant, ignoring
// case: "other", unless one of them is; ok is false when the constants are
// not all strings (or there are none).
func otherString(consts []any) (string, bool) {
	if len(consts) == 0 {
		return "", false
	}
	for n := 1; ; n++ {
		other := "other"
		if n > 1 {
			other += " " + strconv.Itoa(n)
		}
		clash := false
		for _, c := range consts {
			s, ok := c.(string)
			if !ok {
				return "", false
			}
			clash = clash || strings.EqualFold(s, other)
		}
		if !clash {
			return other, true
		}
	}
}

package compiler

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// compileBoth compiles paths twice: with native closures and VM only.
func compileBoth(t testing.TB, paths ...string) (native, onVM []*eval.Ruleset) {
	t.Helper()
	var err error
	native, err = LoadPaths(paths...)
	if err != nil {
		t.Fatal(err)
	}
	onVM, err = Compiler{VMOnly: true}.LoadPaths(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return native, onVM
}

// randomRow fills a row with values drawn to hit the rules' constants and
// boundaries often, and leaves some fields missing.
func randomRow(rnd *rand.Rand, rs *eval.Ruleset, r *eval.Row, strs []string) {
	r.Reset(rs)
	r.Now = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for _, f := range rs.Fields {
		if rnd.IntN(5) == 0 {
			continue // missing
		}
		switch f.Type {
		case rulefile.TypeInt:
			r.Set(f, []int{0, 1, 2, 3, 5, 9, 10, 11, 49, 50, 99, 100, 101, 499, 500, 999, 1000, 5000, -1}[rnd.IntN(19)])
		case rulefile.TypeFloat:
			r.Set(f, []float64{0, 0.5, 1, 9.99, 10, 100, 1e4, 1e6, 1e7, 2.5e8, 1e9, -3}[rnd.IntN(12)])
		case rulefile.TypeString:
			r.Set(f, strs[rnd.IntN(len(strs))])
		case rulefile.TypeBool:
			r.Set(f, rnd.IntN(2) == 0)
		case rulefile.TypeDate:
			r.Set(f, r.Now.AddDate(0, 0, -rnd.IntN(2000)+5))
		case rulefile.TypeList:
			n := rnd.IntN(4)
			l := make([]string, n)
			for i := range l {
				l[i] = strs[rnd.IntN(len(strs))]
			}
			r.Set(f, l)
		}
	}
	r.Tier, r.Score = []string{"A", "B", "C", "D"}[rnd.IntN(4)], rnd.IntN(200)-50
}

// stringsOf collects every string constant the rulesets use, plus a few
// that match nothing, so that random rows hit both sides of conditions.
func stringsOf(rss []*eval.Ruleset) []string {
	out := []string{"", "x", "Other", "ana@gmail.com", "bo@corp.example", "VP Sales", "student", "intern", "US", "us"}
	for _, rs := range rss {
		for _, r := range append(rs.Knockouts, rs.Rules...) {
			if tree, err := parseExpr(r.When.Src); err == nil {
				walk(tree, func(n astNode) bool {
					if s, ok := stringConst(n); ok {
						out = append(out, s, s+"@x.com", "a@"+s)
					}
					return true
				})
			}
		}
	}
	return out
}

// TestNativeMatchesVM evaluates every condition of the example and test
// rulesets on random rows both ways; they must always agree.
func TestNativeMatchesVM(t *testing.T) {
	t.Parallel()
	paths := []string{"../../examples/rulesets", "../testdata/good/styles.yaml", "../testdata/good/minimal.yaml"}
	nat, onVM := compileBoth(t, paths...)
	covered, total := 0, 0
	var strs []string
	for _, rs := range nat {
		strs = append(strs, stringsOf([]*eval.Ruleset{rs})...)
	}
	for _, rs := range nat {
		for _, r := range append(rs.Knockouts, rs.Rules...) {
			total++
			if r.When.IsNative() {
				covered++
			}
		}
	}
	t.Logf("%d of %d conditions run natively", covered, total)
	rnd := rand.New(rand.NewPCG(1, 2))
	var m vm.VM
	var a, b eval.Row
	for i := range nat {
		rsN, rsV := nat[i], onVM[i]
		for range 3000 {
			seed := rnd.Uint64()
			randomRow(rand.New(rand.NewPCG(seed, 0)), rsN, &a, strs)
			randomRow(rand.New(rand.NewPCG(seed, 0)), rsV, &b, strs)
			conds := func(rs *eval.Ruleset) []*eval.Condition {
				var cs []*eval.Condition
				for _, r := range append(rs.Knockouts, rs.Rules...) {
					cs = append(cs, r.When)
				}
				if rs.Qualify != nil {
					cs = append(cs, rs.Qualify)
				}
				return cs
			}
			cn, cv := conds(rsN), conds(rsV)
			for j := range cn {
				tn, errN := cn[j].Eval(&m, &a)
				tv, errV := cv[j].Eval(&m, &b)
				if tn != tv || (errN == nil) != (errV == nil) {
					t.Fatalf("%s: %q: native %v (%v), VM %v (%v)\nrow %+v", rsN.Name, cn[j].Src, tn, errN, tv, errV, a)
				}
				// Native, where it applies, decides as Eval does.
				if req, native, ok := cn[j].Native(); ok && a.Present[0]&req == req {
					if tq := map[bool]eval.Truth{true: eval.True, false: eval.False}[native(&a)]; tq != tn {
						t.Fatalf("%s: %q: Native %v, Eval %v\nrow %+v", rsN.Name, cn[j].Src, tq, tn, a)
					}
				}
			}
		}
	}
}

func TestNativeCoversExamples(t *testing.T) {
	t.Parallel()
	rss, err := LoadPaths("../../examples/rulesets")
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss {
		for _, r := range append(rs.Knockouts, rs.Rules...) {
			if !r.When.IsNative() {
				t.Errorf("%s: rule %s runs on the VM: %s", rs.Name, r.ID, r.When.Src)
			}
		}
	}
}

type astNode = ast.Node

func stringConst(n ast.Node) (string, bool) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// FuzzNativeMatchesVM compiles `field op constant` and `constant op field`
// conditions, the shapes native code specialises, both ways and evaluates
// them on one row: native closures and expr's VM must agree on every
// value, NaN and infinities included.
func FuzzNativeMatchesVM(f *testing.F) {
	f.Add(uint8(0), uint8(5), int64(100), 250e6, "US", int64(99), 1e7, "us", false)
	f.Add(uint8(1), uint8(0), int64(-3), math.Copysign(0, -1), "", int64(-3), 0.0, "", true)
	f.Add(uint8(2), uint8(2), int64(1<<53+1), 0.5, "é", int64(1<<53), 0.5, "e\u0301", false)
	f.Add(uint8(3), uint8(4), int64(10), 9.99, "a\"b", int64(10), 10.0, "a\"b", true)
	ops := []string{"==", "!=", "<", "<=", ">", ">="}
	f.Fuzz(func(t *testing.T, shape, op uint8, k int64, kx float64, ks string, vi int64, vx float64, vs string, flip bool) {
		var field, constant string
		switch shape % 4 {
		case 0: // int field, int literal
			field, constant = "lead.i", strconv.FormatInt(k, 10)
		case 1: // float field, int literal
			field, constant = "lead.x", strconv.FormatInt(k, 10)
		case 2: // float field, float literal
			if math.IsNaN(kx) || math.IsInf(kx, 0) {
				return // no literal for them
			}
			constant = strconv.FormatFloat(kx, 'e', -1, 64)
			field = "lead.x"
		case 3: // string field, string literal
			if !utf8.ValidString(ks) {
				return
			}
			field, constant = "lead.s", strconv.Quote(ks)
		}
		cond := field + " " + ops[int(op)%len(ops)] + " " + constant
		if flip {
			cond = constant + " " + ops[int(op)%len(ops)] + " " + field
		}
		src := "ruleset: f\nfields:\n  lead.i: int\n  lead.x: float\n  lead.s: string\n" +
			"score:\n  - id: r\n    points: 1\n    when: " + strconv.Quote(cond) + "\ntiers:\n  - {name: A}\n"
		compile := func(cc Compiler) *eval.Ruleset {
			file, err := rulefile.Parse("f.yaml", []byte(src))
			if err != nil {
				return nil
			}
			rs, err := cc.Compile(file)
			if err != nil {
				return nil
			}
			return rs
		}
		nat := compile(Compiler{})
		onVM := compile(Compiler{VMOnly: true})
		if (nat == nil) != (onVM == nil) {
			t.Fatalf("%s: compiles one way only (native %v, VM %v)", cond, nat != nil, onVM != nil)
		}
		if nat == nil {
			return
		}
		var m vm.VM
		var rn, rv eval.Row
		for _, p := range []struct {
			rs *eval.Ruleset
			r  *eval.Row
		}{{nat, &rn}, {onVM, &rv}} {
			p.r.Reset(p.rs)
			p.r.Set(p.rs.Field("lead.i"), int(vi))
			p.r.Set(p.rs.Field("lead.x"), vx)
			p.r.Set(p.rs.Field("lead.s"), vs)
		}
		tn, errN := nat.Rules[0].When.Eval(&m, &rn)
		tv, errV := onVM.Rules[0].When.Eval(&m, &rv)
		if tn != tv || (errN == nil) != (errV == nil) {
			t.Fatalf("%s with i=%d x=%v s=%q: native %v (%v), VM %v (%v)", cond, vi, vx, vs, tn, errN, tv, errV)
		}
	})
}

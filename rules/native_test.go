package rules

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// compileBoth compiles paths twice: with native closures and VM only.
func compileBoth(t testing.TB, paths ...string) (native, onVM []*Ruleset) {
	t.Helper()
	var err error
	native, err = LoadPaths(paths...)
	if err != nil {
		t.Fatal(err)
	}
	disableNative = true
	defer func() { disableNative = false }()
	onVM, err = LoadPaths(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return native, onVM
}

// randomRow fills a row with values drawn to hit the rules' constants and
// boundaries often, and leaves some fields missing.
func randomRow(rnd *rand.Rand, rs *Ruleset, r *Row, strs []string) {
	r.Reset(rs)
	r.Now = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for _, f := range rs.Fields {
		if rnd.IntN(5) == 0 {
			continue // missing
		}
		switch f.Type {
		case TypeInt:
			r.Set(f, []int{0, 1, 2, 3, 5, 9, 10, 11, 49, 50, 99, 100, 101, 499, 500, 999, 1000, 5000, -1}[rnd.IntN(19)])
		case TypeFloat:
			r.Set(f, []float64{0, 0.5, 1, 9.99, 10, 100, 1e4, 1e6, 1e7, 2.5e8, 1e9, -3}[rnd.IntN(12)])
		case TypeString:
			r.Set(f, strs[rnd.IntN(len(strs))])
		case TypeBool:
			r.Set(f, rnd.IntN(2) == 0)
		case TypeDate:
			r.Set(f, r.Now.AddDate(0, 0, -rnd.IntN(2000)+5))
		case TypeList:
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
func stringsOf(rss []*Ruleset) []string {
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
	paths := []string{"../examples/rulesets", "testdata/good/styles.yaml", "testdata/good/minimal.yaml"}
	nat, onVM := compileBoth(t, paths...)
	covered, total := 0, 0
	var strs []string
	for _, rs := range nat {
		strs = append(strs, stringsOf([]*Ruleset{rs})...)
	}
	for _, rs := range nat {
		for _, r := range append(rs.Knockouts, rs.Rules...) {
			total++
			if r.When.Native() {
				covered++
			}
		}
	}
	t.Logf("%d of %d conditions run natively", covered, total)
	rnd := rand.New(rand.NewPCG(1, 2))
	var m vm.VM
	var a, b Row
	for i := range nat {
		rsN, rsV := nat[i], onVM[i]
		for range 3000 {
			seed := rnd.Uint64()
			randomRow(rand.New(rand.NewPCG(seed, 0)), rsN, &a, strs)
			randomRow(rand.New(rand.NewPCG(seed, 0)), rsV, &b, strs)
			conds := func(rs *Ruleset) []*Condition {
				var cs []*Condition
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
				// Quick, where it applies, decides as Eval does.
				if req, fn, ok := cn[j].Quick(); ok && a.Present[0]&req == req {
					if tq := map[bool]Truth{true: True, false: False}[fn(&a)]; tq != tn {
						t.Fatalf("%s: %q: Quick %v, Eval %v\nrow %+v", rsN.Name, cn[j].Src, tq, tn, a)
					}
				}
			}
		}
	}
}

func TestNativeCoversExamples(t *testing.T) {
	rss, err := LoadPaths("../examples/rulesets")
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss {
		for _, r := range append(rs.Knockouts, rs.Rules...) {
			if !r.When.Native() {
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

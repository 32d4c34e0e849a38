package compiler_test

import (
	"flag"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules/compiler"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// The differential test of the native path: whole conditions generated
// from the grammar (and/or/not, in and not in over constant lists, list
// fields and declared lists, every builtin, every field type, nil tests,
// ??, arithmetic, non-ASCII strings) are compiled twice, by the default
// Compiler and by Compiler{VMOnly: true}, and decided on rows with missing
// fields. expr's VM defines the meaning: the native closures must decide
// every condition as it does, and Native, where it applies, as Eval does.

// diffFields is the schema every generated condition is compiled against.
const diffFields = `ruleset: diff
fields:
  lead.i: int
  lead.j: int
  lead.x: float
  lead.s: string
  lead.t: string
  lead.e: string
  lead.b: bool
  lead.d: date
  lead.l: list
  account.n: int
  account.c: string
lists:
  names: [Café!, intern, K, "", straße, US]
  nums: [0, 1, 2.5, 9007199254740993, -7]
tiers:
  - {name: A}
`

var (
	diffInts  = []int{0, 1, -1, 5, 10, 100, -7, 3, 1 << 53, 1<<53 + 1, math.MaxInt64, math.MinInt64}
	diffFloat = []float64{0, math.Copysign(0, -1), 0.5, 1, 2.5, 5, 1e300, -3.25, 9007199254740992, math.Inf(1), math.NaN()}
	diffStrs  = []string{"", "a", "A", "us", "US", "Café!", "Ééééé", "café", "CAFÉ!", "straße", "STRASSE", "ſ", "K", "k",
		"\u212a", "İ", "ı", " x ", "\u00a0pad\u00a0", "ana@Gmail.com", "bo@ours.example ", "x@y@Z.COM", "@", "VP of Sales",
		"student intern", "intern", "ß", "日本", `a"b`, "a\\b", "sales", "Σίσυφος"}
	diffLists = [][]string{nil, {}, {"a"}, {"A", "b"}, {"Café!"}, {"K"}, {"\u212a"}, {"intern", "x"}, {"STRASSE", "us", ""}, {"café", "CAFÉ!"}}
	diffDates = []time.Time{
		time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 2, 28, 13, 30, 0, 0, time.UTC), time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	diffPatterns = []string{`(?i)\b(student|intern)\b`, `^VP`, `(?i)café`, `sales$`, `[a-z]+@`, `(?i)^k$`, `ß`, `\bx\b`,
		`(?i)(vp|head|chief)`, `^$`, `é+`, `(?i)\bstra(ss|ß)e\b`}
)

// gen draws choices from bytes (the fuzzer's input), then zeros.
type gen struct {
	data []byte
	b    strings.Builder
}

func (g *gen) intn(n int) int {
	if len(g.data) == 0 || n <= 1 {
		return 0
	}
	c := int(g.data[0])
	g.data = g.data[1:]
	return c % n
}

func (g *gen) w(parts ...string) {
	for _, p := range parts {
		g.b.WriteString(p)
	}
}

func (g *gen) str(s string) { g.w(strconv.Quote(s)) }

func (g *gen) boolean(depth int) {
	n := 17
	if depth <= 0 {
		n = 12 // leaves only
	}
	switch g.intn(n) {
	case 0:
		g.w("(")
		g.integer(depth - 1)
		g.w(" ", g.cmp(), " ")
		g.integer(depth - 1)
		g.w(")")
	case 1:
		g.w("(")
		g.number(depth - 1)
		g.w(" ", g.cmp(), " ")
		g.number(depth - 1)
		g.w(")")
	case 2:
		g.w("(")
		g.text(depth - 1)
		g.w(" ", g.cmp(), " ")
		g.text(depth - 1)
		g.w(")")
	case 3:
		g.w("(lead.d ", g.cmp(), " lead.d)")
	case 4:
		g.w([]string{"lead.b", "true", "false", "(lead.b == lead.b)", "(lead.b != true)"}[g.intn(5)])
	case 5:
		g.w("(")
		g.text(depth - 1)
		g.w([]string{" in ", " not in "}[g.intn(2)])
		switch g.intn(3) {
		case 0:
			g.w("names")
		case 1:
			g.w("lead.l")
		default:
			g.w("[")
			for i := range 1 + g.intn(10) {
				if i > 0 {
					g.w(", ")
				}
				g.str(diffStrs[g.intn(len(diffStrs))])
			}
			g.w("]")
		}
		g.w(")")
	case 6:
		g.w("(")
		g.number(depth - 1)
		g.w([]string{" in ", " not in "}[g.intn(2)])
		if g.intn(2) == 0 {
			g.w("nums")
		} else {
			g.w("[")
			for i := range 1 + g.intn(4) {
				if i > 0 {
					g.w(", ")
				}
				if g.intn(2) == 0 {
					g.w(strconv.Itoa(diffInts[g.intn(len(diffInts)-2)]))
				} else {
					g.w(strconv.FormatFloat(diffFloat[g.intn(8)], 'g', -1, 64))
				}
			}
			g.w("]")
		}
		g.w(")")
	case 7:
		g.w("(")
		g.text(depth - 1)
		g.w([]string{" contains ", " startsWith ", " endsWith "}[g.intn(3)])
		g.text(depth - 1)
		g.w(")")
	case 8:
		g.w("(")
		g.text(depth - 1)
		g.w(" matches ")
		g.str(diffPatterns[g.intn(len(diffPatterns))])
		g.w(")")
	case 9:
		g.w([]string{"contains_any", "contains_all"}[g.intn(2)], "(lead.l, ")
		if g.intn(3) == 0 {
			g.w("names")
		} else {
			g.w("[")
			for i := range g.intn(5) {
				if i > 0 {
					g.w(", ")
				}
				g.str(diffStrs[g.intn(len(diffStrs))])
			}
			g.w("]")
		}
		g.w(")")
	case 10:
		g.w("is_free_email(")
		g.text(depth - 1)
		g.w(")")
	case 11:
		field := []string{"lead.i", "lead.x", "lead.s", "lead.b", "lead.d", "lead.l", "account.c"}[g.intn(7)]
		switch g.intn(3) {
		case 0:
			g.w("(", field, " == nil)")
		case 1:
			g.w("(", field, " != nil)")
		default:
			g.w(`((lead.s ?? "x") == "x")`)
		}
	case 12, 13:
		g.w("(")
		g.boolean(depth - 1)
		g.w([]string{" && ", " || ", " and ", " or "}[g.intn(4)])
		g.boolean(depth - 1)
		g.w(")")
	case 14:
		g.w([]string{"!", "not "}[g.intn(2)], "(")
		g.boolean(depth - 1)
		g.w(")")
	case 15:
		g.w("(")
		g.boolean(depth - 1)
		g.w([]string{" == ", " != "}[g.intn(2)])
		g.boolean(depth - 1)
		g.w(")")
	default:
		g.w("(")
		g.text(depth - 1)
		g.w(" not in ")
		g.w("lead.l)")
	}
}

func (g *gen) cmp() string { return []string{"==", "!=", "<", "<=", ">", ">="}[g.intn(6)] }

func (g *gen) integer(depth int) {
	n := 11
	if depth <= 0 {
		n = 4
	}
	switch g.intn(n) {
	case 0:
		g.w([]string{"lead.i", "lead.j", "account.n"}[g.intn(3)])
	case 1:
		g.w(strconv.Itoa(diffInts[g.intn(len(diffInts)-2)])) // no literal for MinInt64
	case 2:
		g.w("len(lead.l)")
	case 3:
		g.w([]string{"days_since", "months_since", "years_since"}[g.intn(3)], "(lead.d)")
	case 4, 5:
		g.w("len(")
		g.text(depth - 1)
		g.w(")")
	case 6, 7:
		g.w("(")
		g.integer(depth - 1)
		g.w(" ", []string{"+", "-", "*"}[g.intn(3)], " ")
		g.integer(depth - 1)
		g.w(")")
	case 8:
		g.w("-(")
		g.integer(depth - 1)
		g.w(")")
	default:
		g.w([]string{"lead.i", "lead.j"}[g.intn(2)])
	}
}

// number is an int or float expression.
func (g *gen) number(depth int) {
	n := 7
	if depth <= 0 {
		n = 3
	}
	switch g.intn(n) {
	case 0:
		g.w("lead.x")
	case 1:
		g.w(strconv.FormatFloat(diffFloat[g.intn(8)], 'g', -1, 64))
	case 2:
		g.integer(0)
	case 3:
		g.w("(")
		g.integer(depth - 1)
		g.w(" / ")
		g.integer(depth - 1)
		g.w(")")
	case 4, 5:
		g.w("(")
		g.number(depth - 1)
		g.w(" ", []string{"+", "-", "*", "/"}[g.intn(4)], " ")
		g.number(depth - 1)
		g.w(")")
	default:
		g.w("-(")
		g.number(depth - 1)
		g.w(")")
	}
}

func (g *gen) text(depth int) {
	n := 9
	if depth <= 0 {
		n = 2
	}
	switch g.intn(n) {
	case 0:
		g.w([]string{"lead.s", "lead.t", "lead.e", "account.c"}[g.intn(4)])
	case 1:
		g.str(diffStrs[g.intn(len(diffStrs))])
	case 2, 3, 4, 5, 6:
		g.w([]string{"lower", "upper", "trim", "domain", "lower"}[g.intn(5)], "(")
		g.text(depth - 1)
		g.w(")")
	case 7:
		g.w("(")
		g.text(depth - 1)
		g.w(" + ")
		g.text(depth - 1)
		g.w(")")
	default:
		g.w([]string{"lead.s", "lead.e"}[g.intn(2)])
	}
}

// diffRow fills a row from the generator: each field missing one time in
// four, otherwise a value from the pools above.
func diffRow(g *gen, rs *eval.Ruleset, r *eval.Row) {
	r.Reset(rs)
	r.Now = diffDates[g.intn(2)]
	for _, f := range rs.Fields {
		if g.intn(4) == 0 {
			continue
		}
		switch f.Type {
		case rulefile.TypeInt:
			r.Set(f, diffInts[g.intn(len(diffInts))])
		case rulefile.TypeFloat:
			r.Set(f, diffFloat[g.intn(len(diffFloat))])
		case rulefile.TypeString:
			r.Set(f, diffStrs[g.intn(len(diffStrs))])
		case rulefile.TypeBool:
			r.Set(f, g.intn(2) == 0)
		case rulefile.TypeDate:
			r.Set(f, diffDates[g.intn(len(diffDates))])
		case rulefile.TypeList:
			r.Set(f, diffLists[g.intn(len(diffLists))])
		}
	}
}

// compileCondition compiles when: cond against diffFields; nil when it
// does not compile (the generator makes a few ill-typed conditions).
func compileCondition(t testing.TB, cc compiler.Compiler, cond string) *eval.Ruleset {
	t.Helper()
	src := diffFields + "score:\n  - id: r\n    points: 1\n    when: |\n      " + cond + "\n"
	f, err := rulefile.Parse("diff.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%s: %v", cond, err)
	}
	rs, err := cc.Compile(f)
	if err != nil {
		return nil
	}
	return rs
}

// checkCondition generates one condition from data and decides it on
// rows rows, native against the VM. It reports whether the condition
// compiled and whether it ran natively as a whole.
func checkCondition(t testing.TB, data []byte, rows int) (compiled, native bool) {
	t.Helper()
	g := &gen{data: data}
	g.boolean(2 + g.intn(3))
	cond := g.b.String()
	nat := compileCondition(t, compiler.Compiler{}, cond)
	ref := compileCondition(t, compiler.Compiler{VMOnly: true}, cond)
	if (nat == nil) != (ref == nil) {
		t.Fatalf("%s: compiles one way only (native %v, VM %v)", cond, nat != nil, ref != nil)
	}
	if nat == nil {
		return false, false
	}
	cn, cv := nat.Rules[0].When, ref.Rules[0].When
	var m vm.VM
	var a, b eval.Row
	for range rows {
		rowData := g.data
		diffRow(&gen{data: rowData}, nat, &a)
		diffRow(g, ref, &b)
		tn, errN := cn.Eval(&m, &a)
		tv, errV := cv.Eval(&m, &b)
		if tn != tv || (errN == nil) != (errV == nil) {
			t.Fatalf("when: %s\nnative %v (%v), VM %v (%v)\nrow %s", cond, tn, errN, tv, errV, describeRow(nat, &a))
		}
		if req, native, ok := cn.Native(); ok && a.Present[0]&req == req {
			if tq := map[bool]eval.Truth{true: eval.True, false: eval.False}[native(&a)]; tq != tn {
				t.Fatalf("when: %s\nQuick %v, Eval %v\nrow %s", cond, tq, tn, describeRow(nat, &a))
			}
		}
	}
	return true, cn.IsNative()
}

func describeRow(rs *eval.Ruleset, r *eval.Row) string {
	var b strings.Builder
	b.WriteString("now=" + r.Now.Format(time.RFC3339))
	for _, f := range rs.Fields {
		if v, ok := r.Value(f); ok {
			b.WriteString(" " + f.Name + "=" + strconv.Quote(eval.FormatValue(v)))
		} else {
			b.WriteString(" " + f.Name + " missing")
		}
	}
	return b.String()
}

var conditions = flag.Int("conditions", 3000, "how many conditions TestConditionsAgree generates")

// TestConditionsAgree runs the differential check on conditions drawn
// from a fixed seed, so that every run of the suite covers a few thousand.
func TestConditionsAgree(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(uint64(*conditions), 17))
	n := *conditions
	if testing.Short() {
		n = 300
	}
	compiled, native := 0, 0
	data := make([]byte, 512)
	for range n {
		for i := range data {
			data[i] = byte(rnd.Uint32())
		}
		c, nat := checkCondition(t, data, 20)
		if c {
			compiled++
		}
		if nat {
			native++
		}
	}
	t.Logf("%d conditions: %d compiled, %d of them native as a whole", n, compiled, native)
	if compiled < n*8/10 || native < compiled/4 {
		t.Errorf("the generator lost its aim: %d of %d conditions compiled, %d native", compiled, n, native)
	}
}

// FuzzConditionsAgree is TestConditionsAgree driven by the fuzzer.
func FuzzConditionsAgree(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte("len(lead.title) == 5 and Café!"))
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		seed := make([]byte, 128)
		for i := range seed {
			seed[i] = byte(rnd.Uint32())
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkCondition(t, data, 8)
	})
}

// TestLenCountsCharacters pins the case issue 13 found: expr's len counts
// characters, and so must the native closure.
func TestLenCountsCharacters(t *testing.T) {
	t.Parallel()
	for _, cc := range []compiler.Compiler{{}, {VMOnly: true}} {
		rs := compileCondition(t, cc, "len(lead.s) == 5")
		var r eval.Row
		for _, s := range []string{"Café!", "Ééééé", "abcde"} {
			r.Reset(rs)
			r.Set(rs.Field("lead.s"), s)
			if got, err := rs.Rules[0].When.Eval(&vm.VM{}, &r); got != eval.True || err != nil {
				t.Errorf("VMOnly %v: len(%q) == 5: %v, %v; want true", cc.VMOnly, s, got, err)
			}
		}
	}
}

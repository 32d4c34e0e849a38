package rules_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/internal/testrules"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

var update = flag.Bool("update", false, "rewrite golden files")

// format renders problems the way `leadq check` prints them.
func format(list rules.ErrorList) string {
	var b strings.Builder
	for _, e := range list {
		b.WriteString(e.Format())
		b.WriteByte('\n')
	}
	return b.String()
}

// problems loads paths and returns every error and warning, sorted.
func problems(t *testing.T, paths ...string) rules.ErrorList {
	t.Helper()
	_, problems := rules.Check(paths...)
	return problems
}

func TestGoodFilesCompileCleanly(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	examples, _ := filepath.Glob("../examples/rulesets/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/good files")
	}
	for _, path := range append(files, examples...) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if got := problems(t, path); len(got) > 0 && !strings.Contains(path, "examples") {
				t.Errorf("Check(%s) =\n%s\nwant no problems", path, format(got))
			}
		})
	}
	// The examples form rulesets across files, so check them as a directory.
	if got := problems(t, "../examples/rulesets"); len(got) > 0 {
		t.Errorf("Check(examples/rulesets) =\n%s\nwant no problems", format(got))
	}
}

// TestBadFilesGolden pins the exact `leadq check` output, carets included,
// for every file in testdata/bad, and every directory there (a ruleset of
// several files). Run with -update and review the diff.
func TestBadFilesGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/bad files")
	}
	entries, err := os.ReadDir("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			files = append(files, filepath.Join("testdata/bad", e.Name()))
		}
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			got := format(problems(t, path))
			if got == "" {
				t.Fatalf("Check(%s) found no problems; a bad file must have at least one", path)
			}
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden file (run go test ./rules -update): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Check(%s) mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestExpressionPositions checks that an error inside an expression is
// reported at the right file column for every YAML scalar style.
func TestExpressionPositions(t *testing.T) {
	tests := []struct {
		name     string
		when     string // YAML text after "    when:"
		wantLine int
		wantCol  int
	}{
		{"plain", ` lead.employees < "10"`, 8, 26},
		{"double quoted", ` "lead.employees < 'x'"`, 8, 27},
		{"single quoted", ` 'lead.employees < "x"'`, 8, 27},
		{"literal block", " |\n      lead.email != \"\" &&\n        lead.employees < \"x\"", 10, 24},
		{"literal block first line", " |\n      lead.employees < \"x\"", 9, 22},
		{"folded block", " >\n      lead.employees < \"x\"", 8, 11},
		{"plain at column one of value", ` nope > 1`, 8, 11},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "ruleset: pos\nfields:\n  lead.employees: int\n  lead.email: string\ntiers: [{name: A}]\nscore:\n  - id: r\n    when:" + tc.when + "\n    points: 1\n"
			f, err := rules.Parse("p.yaml", []byte(src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = rules.Compile(f)
			list, ok := err.(rules.ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("Compile(%q) = %v; want an expression error", tc.when, err)
			}
			got := list[0].Pos
			if got.Line != tc.wantLine || got.Col != tc.wantCol {
				t.Errorf("Compile(%q) error at %d:%d; want %d:%d\n%s", tc.when, got.Line, got.Col, tc.wantLine, tc.wantCol, list[0].Format())
			}
			if list[0].Snippet != "" && !strings.HasSuffix(list[0].Snippet, strings.Repeat(" ", got.Col-1)+"^") {
				t.Errorf("caret not under column %d:\n%s", got.Col, list[0].Snippet)
			}
		})
	}
}

func TestMultiFileRuleset(t *testing.T) {
	lists := "ruleset: multi\nlists:\n  big: [a, b]\nmacros:\n  in_big: lead.industry in big\n"
	main := "ruleset: multi\nfields:\n  lead.industry: string\nscore:\n  - id: r\n    when: in_big\n    points: 5\ntiers: [{name: A, min: 5}, {name: B}]\n"
	other := "ruleset: other\nfields:\n  lead.x: int\nscore:\n  - {id: x, when: lead.x > 1, points: 1}\ntiers: [{name: A}]\n"
	var files []*rules.File
	for name, src := range map[string]string{"a.lists.yaml": lists, "a.yaml": main, "b.yaml": other} {
		f, err := rules.Parse(name, []byte(src))
		if err != nil {
			t.Fatalf("Parse(%s): %v", name, err)
		}
		files = append(files, f)
	}
	got, err := rules.CompileAll(files...)
	if err != nil {
		t.Fatalf("CompileAll: %v", err)
	}
	if len(got) != 2 || got[0].Name != "multi" || got[1].Name != "other" {
		t.Fatalf("CompileAll returned %d rulesets; want multi and other", len(got))
	}
	if diff := cmp.Diff([]string{"a.lists.yaml", "a.yaml"}, got[0].Files); diff != "" {
		t.Errorf("multi files (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got[0].Version, "sha256:") || got[0].Version == got[1].Version {
		t.Errorf("versions %q and %q; want distinct sha256: versions", got[0].Version, got[1].Version)
	}
	// The version depends on content, not on where the files are.
	again, _ := rules.Parse("elsewhere/a.yaml", []byte(main))
	l2, _ := rules.Parse("elsewhere/a.lists.yaml", []byte(lists))
	rs, err := rules.Compile(again, l2)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Version != got[0].Version {
		t.Errorf("version moved with the directory: %s vs %s", rs.Version, got[0].Version)
	}
}

func TestDuplicatesAcrossFiles(t *testing.T) {
	a, _ := rules.Parse("a.yaml", []byte("ruleset: dup\nfields:\n  lead.x: int\nlists:\n  l: [a]\nscore:\n  - {id: r, when: lead.x > 1 && 'a' in l, points: 1}\ntiers: [{name: A}]\n"))
	b, _ := rules.Parse("b.yaml", []byte("ruleset: dup\nfields:\n  lead.x: int\nlists:\n  l: [b]\nscore:\n  - {id: r, when: lead.x > 2, points: 1}\ntiers: [{name: B}]\n"))
	_, err := rules.Compile(a, b)
	got := format(err.(rules.ErrorList))
	for _, want := range []string{
		"b.yaml:3:3: field lead.x declared twice (first at a.yaml:3:3)",
		`b.yaml:5:3: list "l" defined twice (first at a.yaml:5:3)`,
		`b.yaml:7:10: score rule "r": id used twice (first at a.yaml:7:10)`,
		`b.yaml:8:1: ruleset "dup": tiers given in two files (first in a.yaml)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Compile(a, b) =\n%s\nwant a line containing %q", got, want)
		}
	}
}

func TestErrorListCapsOutput(t *testing.T) {
	var list rules.ErrorList
	for i := range 25 {
		list = append(list, &rules.Error{Pos: rules.Pos{File: "f.yaml", Line: i + 1, Col: 1}, Code: "bad-value", Msg: "x"})
	}
	got := list.Error()
	if !strings.HasSuffix(got, "and 5 more") || strings.Count(got, "\n") != 20 {
		t.Errorf("ErrorList.Error() =\n%s\nwant 20 lines and 'and 5 more'", got)
	}
	if (rules.ErrorList{}).Err() != nil {
		t.Error("empty ErrorList.Err() != nil")
	}
}

func TestEveryCodeDocumented(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, e := range problems(t, files...) {
		if _, ok := rulefile.Codes[e.Code]; !ok {
			t.Errorf("%s uses code %q, which rulefile.Codes does not describe", e.Error(), e.Code)
		}
	}
}

// Native offers a condition as one closure only when Eval would run that
// closure: not for conditions partly on expr's VM, nor for rulesets of
// more than 64 fields, whose FieldSets take more than one word.
func TestQuickOnlyWhereItDecides(t *testing.T) {
	compile := func(fields int, when string) *eval.Condition {
		t.Helper()
		var src strings.Builder
		src.WriteString("ruleset: q\nfields:\n")
		for i := range fields {
			fmt.Fprintf(&src, "  lead.f%d: int\n", i)
		}
		fmt.Fprintf(&src, "score:\n  - {id: r, points: 1, when: '%s'}\ntiers:\n  - {name: A}\n", when)
		f, err := rules.Parse("q.yaml", []byte(src.String()))
		if err != nil {
			t.Fatal(err)
		}
		rs, err := rules.Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		return rs.Rules[0].When
	}
	if req, native, ok := compile(3, "lead.f0 > 1 && lead.f2 < 5").Native(); !ok || native == nil || req != 0b101 {
		t.Errorf("native condition over f0 and f2: Native() = %b, %v, %v; want 101, a closure, true", req, native != nil, ok)
	}
	if _, _, ok := compile(3, "lead.f0 > 1 && lead.f1 in map([1, 2], # * 2)").Native(); ok {
		t.Error("a condition partly on the VM: Native() is ok, want not")
	}
	if _, _, ok := compile(65, "lead.f64 > 1").Native(); ok {
		t.Error("a ruleset of 65 fields: Native() is ok, want not")
	}
}

// A condition over a long list compiles: the samples of `lead.d in doms`
// were deduplicated by a scan (and a copy) of those so far per item, and
// leadq check of a 200,000-domain list used by 50 rules did not finish in
// 10 minutes. BenchmarkCompileLongList measures it at two sizes, ten
// times apart: its time grows about tenfold, not a hundredfold.
func TestLongListCompiles(t *testing.T) {
	if _, err := rules.Compile(longListFile(t, 20_000)); err != nil {
		t.Fatal(err)
	}
}

// A list is held once however many rules read it: the native sets of a
// 200,000-domain list read by 50 rules were one per rule and per and/or
// part (650 MB), each rule kept all its items as what-if samples (900 MB)
// and its expr program, which the native one replaces, held a map of the
// list again: 1.9 GB, twice during a reload. The ruleset of 20 rules over
// a list must hold little more than the ruleset of one.
func TestLongListHeldOnce(t *testing.T) {
	held := func(rulesReading int) uint64 {
		var conds []string
		for i := range rulesReading {
			conds = append(conds, fmt.Sprintf("lead.d in doms && len(lead.d) > %d", i))
		}
		f, err := rules.Parse("long-list.yaml", testrules.LongList(50_000, conds...))
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rs, err := rules.Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		for _, r := range rs.Rules {
			if n := len(r.When.Samples()); n > 1100 {
				t.Errorf("rule %s: %d samples; want the list's at most 1,024 and a few", r.ID, n)
			}
		}
		runtime.KeepAlive(f)
		runtime.KeepAlive(rs)
		return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	}
	one, twenty := held(1), held(20)
	t.Logf("held: %d KB for one rule, %d KB for 20", one>>10, twenty>>10)
	if twenty > 3*one {
		t.Errorf("a ruleset of 20 rules reading a 50,000-item list holds %d KB, %.1f times one rule's %d KB; want under 3 times",
			twenty>>10, float64(twenty)/float64(one), one>>10)
	}
}

func BenchmarkCompileLongList(b *testing.B) {
	for _, n := range []int{2_000, 20_000} {
		f := longListFile(b, n)
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := rules.Compile(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// longListFile is a rule file of two score rules over a list of n domains.
func longListFile(t testing.TB, n int) *rules.File {
	t.Helper()
	f, err := rules.Parse("long-list.yaml", testrules.LongList(n, `lead.d in doms && lead.d != "x0"`, `lead.d in doms && lead.d != "x1"`))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

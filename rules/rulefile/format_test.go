package rulefile_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
)

// formatInputs are every rule file the properties below are checked on.
var update = flag.Bool("update", false, "rewrite golden files")

func formatInputs(t *testing.T) []string {
	t.Helper()
	var paths []string
	for _, glob := range []string{"../../examples/rulesets/*.yaml", "../testdata/good/*.yaml", "../testdata/bad/*.yaml", "../testdata/format/*.yaml"} {
		m, _ := filepath.Glob(glob)
		paths = append(paths, m...)
	}
	if len(paths) < 10 {
		t.Fatalf("found only %d rule files", len(paths))
	}
	return paths
}

// TestFormatGolden pins the layout of testdata/format/*.yaml; go test
// ./rules -update rewrites the .golden files.
func TestFormatGolden(t *testing.T) {
	files, _ := filepath.Glob("../testdata/format/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/format files")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rulefile.Format(path, src)
			if err != nil {
				t.Fatalf("Format: %v", err)
			}
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden (go test ./rules/rulefile -update): %v", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Format(%s) mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestFormatProperties checks, on every rule file in the repository, that
// formatting is idempotent, keeps every comment and does not change what
// the file means.
func TestFormatProperties(t *testing.T) {
	for _, path := range formatInputs(t) {
		t.Run(path, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			once, err := rulefile.Format(path, src)
			if err != nil {
				if _, perr := rulefile.Parse(path, src); perr == nil {
					t.Fatalf("Format: %v, but Parse accepts the file", err)
				}
				return // not YAML, or not a mapping: nothing to format
			}
			twice, err := rulefile.Format(path, once)
			if err != nil {
				t.Fatalf("Format(Format(x)): %v", err)
			}
			if diff := cmp.Diff(string(once), string(twice)); diff != "" {
				t.Errorf("Format is not idempotent (-once +twice):\n%s", diff)
			}
			if diff := cmp.Diff(comments(src), comments(once)); diff != "" {
				t.Errorf("comments changed (-before +after):\n%s", diff)
			}
			before, errBefore := rulefile.Parse(path, src)
			after, errAfter := rulefile.Parse(path, once)
			if diff := cmp.Diff(messages(errBefore), messages(errAfter), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("Parse errors changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(before, after, declOptions); diff != "" {
				t.Errorf("declarations changed (-before +after):\n%s", diff)
			}
			if errBefore == nil {
				compareCompiled(t, before, after)
			}
		})
	}
}

// declOptions compare what a file declares, not where or how it is
// written.
var declOptions = cmp.Options{
	cmpopts.IgnoreUnexported(rulefile.File{}),
	cmpopts.IgnoreTypes(rulefile.Pos{}, map[string]rulefile.Pos{}),
	cmpopts.IgnoreFields(rulefile.File{}, "Src"),
	cmpopts.IgnoreFields(rulefile.Text{}, "Style"),
	cmpopts.EquateEmpty(),
}

// compareCompiled compiles both files alone and compares rule ids, points,
// groups and conditions, tiers and caps. A file that only compiles with
// its ruleset's other files is skipped.
func compareCompiled(t *testing.T, before, after *rulefile.File) {
	t.Helper()
	a, errA := rules.Compile(before)
	b, errB := rules.Compile(after)
	if (errA == nil) != (errB == nil) {
		t.Fatalf("Compile before: %v; after: %v", errA, errB)
	}
	if errA != nil {
		return
	}
	type rule struct {
		ID, Group, When string
		Points          int
		Knockout        bool
	}
	flat := func(rs *rules.Ruleset) []rule {
		var out []rule
		for _, r := range slices.Concat(rs.Knockouts, rs.Rules) {
			out = append(out, rule{r.ID, r.Group, r.When.Src, r.Points, r.Knockout})
		}
		return out
	}
	if diff := cmp.Diff(flat(a), flat(b)); diff != "" {
		t.Errorf("compiled rules changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(a.Tiers, b.Tiers); diff != "" {
		t.Errorf("tiers changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(a.Groups, b.Groups); diff != "" {
		t.Errorf("groups changed (-before +after):\n%s", diff)
	}
}

var commentRe = regexp.MustCompile(`(^|\s)(#.*)$`)

// comments returns the comment texts of a YAML file, sorted, ignoring
// where they sit: a rough but strict check that none is lost or invented.
// (A # inside a quoted string counts too, on both sides alike.)
func comments(src []byte) []string {
	var out []string
	for _, line := range strings.Split(string(src), "\n") {
		if m := commentRe.FindStringSubmatch(line); m != nil {
			out = append(out, strings.TrimSpace(m[2]))
		}
	}
	slices.Sort(out)
	return out
}

func messages(err error) []string {
	list, _ := err.(rulefile.ErrorList)
	var out []string
	for _, e := range list {
		out = append(out, e.Code+": "+e.Msg)
	}
	return out
}

func TestFormatCases(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty file", "", ""},
		{"already canonical", "ruleset: x\ntiers:\n  - {name: A}\n", "ruleset: x\n\ntiers:\n  - {name: A}\n"},
		{"two single-line sections stay together", "qualify: tier == \"A\"\nruleset: x\ndescription: d\n",
			"ruleset: x\ndescription: d\nqualify: tier == \"A\"\n"},
		{"tier block to flow, keys in order", "ruleset: x\ntiers:\n  - min: 5\n    name: A\n  - name: B\n",
			"ruleset: x\n\ntiers:\n  - {name: A, min: 5}\n  - {name: B}\n"},
		{"tier with a comment inside stays block", "ruleset: x\ntiers:\n  - name: A\n    # the bar\n    min: 5\n",
			"ruleset: x\n\ntiers:\n  - name: A\n    # the bar\n    min: 5\n"},
		{"trailing comment of a tier's last key moves to its line", "ruleset: x\ntiers:\n  - name: A\n    min: 5 # bar\n  - name: B\n",
			"ruleset: x\n\ntiers:\n  - {name: A, min: 5}  # bar\n  - {name: B}\n"},
		{"rules in block style, blank lines between", "ruleset: x\nscore:\n- {points: 1, id: a, when: lead.x}\n- {id: b, when: lead.y, points: 2}\n",
			"ruleset: x\n\nscore:\n  - id: a\n    when: lead.x\n    points: 1\n\n  - id: b\n    when: lead.y\n    points: 2\n"},
		{"unknown keys kept last", "zzz: 1\nruleset: x\naaa: 2\n", "ruleset: x\nzzz: 1\naaa: 2\n"},
		{"aligned trailing comments", "ruleset: x # name\nfields:\n  lead.a: int # a\n  lead.long_name: string # b\n  lead.c: bool\n",
			"ruleset: x  # name\n\nfields:\n  lead.a: int             # a\n  lead.long_name: string  # b\n  lead.c: bool\n"},
		{"a hash in a string is not a comment", "ruleset: x\nmacros:\n  m: 'lead.a == \"#1\"' # c\n  long_macro: lead.b # d\n",
			"ruleset: x\n\nmacros:\n  m: 'lead.a == \"#1\"'  # c\n  long_macro: lead.b   # d\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rulefile.Format("x.yaml", []byte(tc.src))
			if err != nil {
				t.Fatalf("Format: %v", err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Format(%q) mismatch (-want +got):\n%s", tc.src, diff)
			}
		})
	}
}

func TestFormatErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"yaml syntax", "ruleset: [x\n", "x.yaml:1:10: did not find expected ',' or ']'"},
		{"two documents", "ruleset: x\n---\nruleset: y\n", "x.yaml:2:1: a rule file holds one YAML document"},
		{"not a mapping", "- a\n- b\n", "x.yaml:1:1: a rule file is a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rulefile.Format("x.yaml", []byte(tc.src))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Format(%q) = %v; want an error starting %q", tc.src, err, tc.want)
			}
		})
	}
}

// FuzzFormat: Format never panics, and what it accepts it formats
// idempotently, with the same parse errors as before.
func FuzzFormat(f *testing.F) {
	for _, glob := range []string{"../testdata/format/*.yaml", "../testdata/good/*.yaml", "../testdata/bad/*.yaml"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			if src, err := os.ReadFile(p); err == nil {
				f.Add(src)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		once, err := rulefile.Format("f.yaml", src)
		if err != nil {
			return
		}
		twice, err := rulefile.Format("f.yaml", once)
		if err != nil {
			t.Fatalf("Format(Format(x)) failed: %v\nonce:\n%s", err, once)
		}
		if string(once) != string(twice) {
			t.Fatalf("not idempotent:\n--- once\n%s\n--- twice\n%s", once, twice)
		}
	})
}

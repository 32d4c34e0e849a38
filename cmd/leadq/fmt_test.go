package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/rules"
)

func TestFmtCommand(t *testing.T) {
	const messy = "../../rules/testdata/format/messy.yaml"
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{"print", []string{"fmt", messy}, ""},
		{"diff", []string{"fmt", "-d", messy}, ""},
		{"list", []string{"fmt", "-l", messy, "../../rules/testdata/format/messy.golden", "../../rules/testdata/good"}, ""},
		{"stdin", []string{"fmt"}, "tiers: [{min: 1, name: A}, {name: B}]\nruleset: x # the name\n"},
		{"bad-yaml", []string{"fmt", "testdata/fmt/bad.yaml", messy}, ""},
		{"missing", []string{"fmt", "nope.yaml"}, ""},
		{"write-stdin", []string{"fmt", "-w", "-"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cliGolden(t, "fmt", tc.name, tc.args, tc.stdin)
		})
	}
}

// TestFmtWrite formats a directory in place: changed files are rewritten
// (keeping their mode), canonical ones are left alone, and a second run
// lists nothing.
func TestFmtWrite(t *testing.T) {
	dir := t.TempDir()
	messy, err := os.ReadFile("../../rules/testdata/format/messy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	canonical, err := rules.Format("x", messy)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", messy, 0o600)
	write("b.yml", canonical, 0o644)
	write("notes.txt", []byte("not: [a rule file"), 0o644)
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "b.yml"), past, past); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); err != nil {
			t.Fatalf("leadq %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.String()
	}
	if got := run("fmt", "-l", "-w", dir); got != filepath.Join(dir, "a.yaml")+"\n" {
		t.Errorf("fmt -l -w listed %q; want only a.yaml", got)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "a.yaml"))
	if diff := cmp.Diff(string(canonical), string(got)); diff != "" {
		t.Errorf("a.yaml after fmt -w (-want +got):\n%s", diff)
	}
	if info, _ := os.Stat(filepath.Join(dir, "a.yaml")); info.Mode().Perm() != 0o600 {
		t.Errorf("fmt -w changed the mode to %v", info.Mode().Perm())
	}
	if info, _ := os.Stat(filepath.Join(dir, "b.yml")); !info.ModTime().Equal(past) {
		t.Error("fmt -w rewrote a file that was already formatted")
	}
	if got := run("fmt", "-l", dir); got != "" {
		t.Errorf("second fmt -l listed %q; want nothing", got)
	}
}

func TestUnifiedDiff(t *testing.T) {
	lines := func(n int, prefix string) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			b.WriteString(prefix + string(rune('a'+i-1)) + "\n")
		}
		return b.String()
	}
	base := lines(12, "") // a..l
	tests := []struct{ name, a, b, want string }{
		{"equal", base, base, ""},
		{"from empty", "", "x\ny\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n"},
		{"to empty", "x\n", "", "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n"},
		{"change in the middle", base, strings.Replace(base, "f\n", "F\n", 1),
			"--- a\n+++ b\n@@ -3,7 +3,7 @@\n c\n d\n e\n-f\n+F\n g\n h\n i\n"},
		{"two hunks far apart", base, strings.Replace(strings.Replace(base, "a\n", "A\n", 1), "l\n", "L\n", 1),
			"--- a\n+++ b\n@@ -1,4 +1,4 @@\n-a\n+A\n b\n c\n d\n@@ -9,4 +9,4 @@\n i\n j\n k\n-l\n+L\n"},
		{"close changes share a hunk", base, strings.Replace(strings.Replace(base, "c\n", "C\n", 1), "h\n", "H\n", 1),
			"--- a\n+++ b\n@@ -1,11 +1,11 @@\n a\n b\n-c\n+C\n d\n e\n f\n g\n-h\n+H\n i\n j\n k\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, unifiedDiff("a", "b", tc.a, tc.b)); diff != "" {
				t.Errorf("unifiedDiff mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFmtWriteFailureKeepsFile: fmt -w that cannot write the whole file (a
// full disk, a quota; here a file size limit of 4 blocks) leaves the rule
// file as it was. Writing in place truncated a 21 KB file to 4 KB.
func TestFmtWriteFailureKeepsFile(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh for ulimit")
	}
	src, err := os.ReadFile("../../examples/rulesets/b2b-saas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src = append(src, "\n\n\n"...) // not in fmt's layout: fmt -w rewrites it
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `ulimit -f 4 && exec "$0" -test.run='^TestServeProcess$'`, os.Args[0])
	cmd.Env = append(os.Environ(), "LEADQ_SERVE_ARGS=fmt -w "+path)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("fmt -w under a 4-block file size limit succeeded:\n%s", out)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, src) {
		t.Errorf("after a failed fmt -w the file has %d bytes; want the %d it had", len(got), len(src))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("fmt -w left %v behind", left)
	}
}

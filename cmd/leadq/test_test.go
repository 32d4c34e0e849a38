package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cliGolden runs leadq with args and stdin and compares the transcript
// (command, stdout, stderr, exit code) with testdata/DIR/NAME.golden;
// go test ./cmd/leadq -update rewrites it.
func cliGolden(t *testing.T, dir, name string, args []string, stdin string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	code := exitCode(err, &stderr)
	got := "$ leadq " + strings.Join(args, " ") + "\n" + stdout.String() +
		"--- stderr\n" + stderr.String() + "--- exit " + strconv.Itoa(code) + "\n"
	golden := filepath.Join("testdata", dir, name+".golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("missing golden (go test ./cmd/leadq -update): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("leadq %v mismatch (-want +got):\n%s", args, diff)
	}
	return stdout.String()
}

func TestTestCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"examples", []string{"test", "../../examples/rulesets"}},
		{"failing", []string{"test", "testdata/test/failing.yaml"}},
		{"failing-json", []string{"test", "--format", "json", "testdata/test/failing.yaml"}},
		{"run-filter", []string{"test", "--run", "^a big", "testdata/test/failing.yaml"}},
		{"ruleset-filter", []string{"test", "--ruleset", "covered", "testdata/test"}},
		{"fail-under", []string{"test", "--fail-under", "90", "testdata/test/covered.yaml"}},
		{"fail-under-met", []string{"test", "--fail-under", "50", "testdata/test/covered.yaml"}},
		{"now-flag", []string{"test", "--now", "2026-12-31", "--run", "knockout", "testdata/test/failing.yaml"}},
		{"no-cases", []string{"test", "../../rules/testdata/good/minimal.yaml"}},
		{"unknown-ruleset", []string{"test", "--ruleset", "nope", "testdata/test"}},
		{"broken-rules", []string{"test", "../../rules/testdata/bad/no-tiers.yaml"}},
		{"bad-now", []string{"test", "--now", "tomorrow", "testdata/test"}},
		{"bad-run", []string{"test", "--run", "(", "testdata/test"}},
		{"bad-fail-under", []string{"test", "--fail-under", "101", "testdata/test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cliGolden(t, "test", tc.name, tc.args, "")
		})
	}
}

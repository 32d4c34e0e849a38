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

// leadq runs the CLI with buffers and returns stdout, stderr and the exit code.
func leadq(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	code = exitCode(err, &errb)
	return out.String(), errb.String(), code
}

// TestBacktestDeriveGolden runs backtest and derive as a user would and
// compares stdout, stderr and the exit code with testdata/NAME.golden.
func TestBacktestDeriveGolden(t *testing.T) {
	const bt = "../../backtest/testdata/"
	const dv = "../../derive/testdata/"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"backtest_text", []string{"backtest", "--rules", bt + "tiny.yaml", "--data", bt + "tiny.csv", "--map", bt + "tiny.map.yaml", "--now", "2026-11-01"}},
		{"backtest_json_flags", []string{"backtest", "--rules", bt + "tiny.yaml", "--data", bt + "tiny.csv", "--outcome", "Converted=1",
			"--missing", "Select", "--map", "lead.industry=Industry", "--id", "id", "--format", "json", "--now", "2026-11-01", "--workers", "3"}},
		{"backtest_jsonl", []string{"backtest", "--rules", bt + "tiny.yaml", "--data", bt + "rows.jsonl", "--outcome", "converted", "--now", "2026-11-01"}},
		{"backtest_no_outcome", []string{"backtest", "--rules", bt + "tiny.yaml", "--data", bt + "tiny.csv"}},
		{"backtest_bad_map", []string{"backtest", "--rules", bt + "tiny.yaml", "--data", bt + "tiny.csv", "--outcome", "Converted",
			"--map", "lead.employes=Employees", "--map", "lead.country=Contry"}},
		{"backtest_bad_outcome_column", []string{"backtest", "--rules", bt + "tiny.yaml", "--data", bt + "tiny.csv", "--outcome", "Convertd=1"}},
		{"derive_industry", []string{"derive", "--data", dv + "industry.csv", "--best", `Converted == "1"`, "--noun", "customers", "--now", "2026-11-01"}},
		{"derive_top", []string{"derive", "--data", dv + "industry.csv", "--best", "top:25%:Employees", "--exclude", "Converted", "--namespace", "account",
			"--name", "big-accounts", "--tiers", "30,30", "--now", "2026-11-01"}},
		{"derive_both_best_and_outcome", []string{"derive", "--data", dv + "industry.csv", "--best", "top:5:Employees", "--outcome", "Converted=1"}},
		{"derive_bad_best", []string{"derive", "--data", dv + "industry.csv", "--best", `Convertd == "1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := leadq(t, tc.args...)
			got := "$ leadq " + strings.Join(tc.args, " ") + "\n" + stdout + "--- stderr\n" + stderr + "--- exit " + strconv.Itoa(code) + "\n"
			golden := filepath.Join("testdata", tc.name+".golden")
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
				t.Errorf("leadq %v mismatch (-want +got):\n%s", tc.args, diff)
			}
		})
	}
}

// TestDeriveThenBacktest derives with a holdout, checks the proposal, and
// backtests it on the held-out rows with the mapping derive wrote.
func TestDeriveThenBacktest(t *testing.T) {
	dir := t.TempDir()
	rulesFile, holdout, mapping := filepath.Join(dir, "derived.yaml"), filepath.Join(dir, "holdout.csv"), filepath.Join(dir, "map.yaml")
	_, stderr, code := leadq(t, "derive", "--data", "../../derive/testdata/industry.csv", "--best", `Converted == "1"`,
		"--holdout", "30", "--seed", "42", "--holdout-out", holdout, "--map-out", mapping, "-o", rulesFile, "--now", "2026-11-01")
	if code != 0 {
		t.Fatalf("derive: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "held out 32 rows (14 best) in "+holdout) {
		t.Errorf("derive stderr = %q; want the holdout summary", stderr)
	}
	stdout, stderr, code := leadq(t, "check", rulesFile)
	if code != 0 || !strings.HasPrefix(stdout, "ok: ruleset industry-derived") {
		t.Errorf("check of the proposal: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = leadq(t, "test", rulesFile)
	if code != 0 {
		t.Errorf("test of the proposal: exit %d\n%s%s", code, stdout, stderr)
	}
	src, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Backtest on them: leadq backtest --rules " + rulesFile + " --data " + holdout + " --map " + mapping; !strings.Contains(string(src), want) {
		t.Errorf("the proposal's header lacks %q", want)
	}
	stdout, stderr, code = leadq(t, "backtest", "--rules", rulesFile, "--data", holdout, "--map", mapping, "--now", "2026-11-01", "--evidence")
	if code != 0 || !strings.Contains(stdout, "Rows: 32 scored\nOutcome leadq_best=1: 14 of 32 converted") {
		t.Errorf("backtest of the holdout: exit %d\n%s%s", code, stdout, stderr)
	}
	// calibration by tier, and each rule's evidence next to the holdout's
	for _, want := range []string{"expected", "Calibration: ", "Evidence: each rule's comment (training rows) next to this data", "rules' evidence comments disagree with this data"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("backtest --evidence lacks %q:\n%s", want, stdout)
		}
	}
}

func TestBacktestHTMLFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.html")
	stdout, stderr, code := leadq(t, "backtest", "--rules", "../../backtest/testdata/tiny.yaml", "--data", "../../backtest/testdata/tiny.csv",
		"--map", "../../backtest/testdata/tiny.map.yaml", "-o", out, "--now", "2026-11-01")
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and the report in the file", code, stdout, stderr)
	}
	if want := "wrote " + out + ": 11 leads, base rate 45.5%, AUC 0.967; tier A: 2 leads convert 100.0% (lift 2.20)\n"; stderr != want {
		t.Errorf("stderr = %q; want %q", stderr, want)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) || !bytes.Contains(page, []byte("<svg")) {
		t.Errorf("the report is not an HTML page with charts: %.200s", page)
	}
}

func TestBacktestProgress(t *testing.T) {
	args := []string{"backtest", "--rules", "../../backtest/testdata/tiny.yaml", "--data", "../../backtest/testdata/tiny.csv",
		"--map", "../../backtest/testdata/tiny.map.yaml", "--format", "json"}
	// stderr is a buffer, not a terminal: no bar unless asked for.
	if _, stderr, _ := leadq(t, args...); stderr != "" {
		t.Errorf("progress auto on a buffer wrote %q; want nothing", stderr)
	}
	if _, stderr, _ := leadq(t, append(args, "--progress", "always")...); !strings.Contains(stderr, "backtest") || !strings.Contains(stderr, "100%") {
		t.Errorf("progress always wrote %q; want a finished bar", stderr)
	}
	if _, stderr, code := leadq(t, append(args, "--progress", "sometimes")...); code != exitUsage || !strings.Contains(stderr, "unknown --progress") {
		t.Errorf("--progress sometimes: exit %d, %q; want a usage error", code, stderr)
	}
}

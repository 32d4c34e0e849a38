package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCLIGolden runs leadq subcommands as a user would and compares their
// stdout, stderr and exit code with testdata/cli/NAME.golden.
func TestCLIGolden(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{"check-ok", []string{"check", "../../examples/rulesets"}, ""},
		{"check-bad", []string{"check", "../../rules/testdata/bad/expressions.yaml"}, ""},
		{"check-bad-json", []string{"check", "--format", "json", "../../rules/testdata/bad/no-tiers.yaml"}, ""},
		{"check-warnings-fail", []string{"check", "--fail-on-warning", "../../rules/testdata/bad/warnings.yaml"}, ""},
		{"check-missing-path", []string{"check", "does-not-exist"}, ""},
		{"check-no-args", []string{"check"}, ""},
		{"score-text", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas", "--now", "2026-11-23",
			"../../examples/leads/wrong-type-employees.json"}, ""},
		{"score-json-stdin", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas", "--now", "2026-11-23", "--format", "json"},
			`{"id": "S-1", "lead": {"email": "kim@acme.example", "employees": 250, "industry": "software", "country": "US"}}`},
		{"score-knockout", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas", "--now", "2026-11-23",
			"../../examples/leads/competitor.json"}, ""},
		{"score-bad-json", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas"}, `{"lead": {"employees": 3}`},
		{"score-strict", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas", "--strict"}, `{"lead": {"employees": "lots"}}`},
		{"score-no-ruleset", []string{"score", "--rules", "../../examples/rulesets"}, `{}`},
		// Many leads: JSON Lines (one bad lead in the middle is reported
		// where it is, the others are scored) and an array.
		{"score-jsonl", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas", "--now", "2026-11-23", "--format", "json", "-"},
			"{\"id\": \"J-1\", \"lead\": {\"employees\": 250, \"country\": \"US\"}}\n{\"id\": \"J-2\", \"lead\": {\"employees\": \"many\"}}\n  {\"id\": \"J-3\", \"lead\": [1]}\n{\"id\": \"J-4\", \"lead\": {\"employees\": 5}}\n"},
		{"score-array-text", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "account-health", "--now", "2026-11-23"},
			`[{"id": "A-1", "account": {"is_customer": true}}, {"id": "A-2"}]`},
		{"score-array-cut", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas", "--format", "json"}, "[{\"id\": \"C-1\"},\n {\"id\": \"C-2\""},
		{"score-broken-rules", []string{"score", "--rules", "../../rules/testdata/bad/no-tiers.yaml"}, `{}`},
		{"score-bad-format", []string{"score", "--rules", "../../examples/rulesets", "--format", "xml"}, `{}`},
		// A quote left open in JSON Lines hides the lines after it: the
		// summary says from where nothing was read.
		{"score-jsonl-open-quote", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas", "--format", "json", "-"},
			"{\"id\": \"Q-1\", \"lead\": {}}\n{\"id\": \"Q-2\", \"lead\": {\"title\": \"open}}\n{\"id\": \"Q-3\", \"lead\": {}}\n{\"id\": \"Q-4\", \"lead\": {}}\n"},
		// A directory given as the leads: it scored nothing and succeeded.
		{"score-directory", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas", "testdata"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			code := exitCode(err, &stderr)
			got := "$ leadq " + strings.Join(tc.args, " ") + "\n" + stdout.String() +
				"--- stderr\n" + stderr.String() + "--- exit " + itoa(code) + "\n"
			golden := filepath.Join("testdata", "cli", tc.name+".golden")
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

func itoa(n int) string { return string(rune('0' + n)) }

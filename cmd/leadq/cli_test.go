package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/internal/jsonscan"
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
		// A quote left open in JSON Lines is a bad line, reported where it
		// is; the lines after it are scored (they were hidden).
		{"score-jsonl-open-quote", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas", "--format", "json", "-"},
			"{\"id\": \"Q-1\", \"lead\": {}}\n{\"id\": \"Q-2\", \"lead\": {\"title\": \"open}}\n{\"id\": \"Q-3\", \"lead\": {}}\n{\"id\": \"Q-4\", \"lead\": {}}\n"},
		// Every good line of JSON Lines is scored, and each bad one reported
		// as the stream endpoint answers it: a line cut short, a quote left
		// open, binary garbage, a stray brace, a cut last line; a lead
		// pretty-printed over lines is read whole.
		{"score-jsonl-bad-lines", []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "account-health", "--now", "2026-11-23", "--format", "text", "-"},
			"{\"id\": \"B-1\", \"account\": {\"is_customer\": true}}\n{\"id\": \"B-2\", \"account\": {\"is_customer\":\n{\"id\": \"B-3\"}\n" +
				"{\"id\": \"B-4\", \"account\": {\"plan\": \"gold}}\n\x00\x01\xfe\xff{{\"\n}\n{\n  \"id\": \"B-5\"\n}\n{\"id\": \"B-6\", \"acc"},
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

// TestScoreLongLine: a line of JSON Lines longer than the reader takes
// (jsonscan.MaxValue) is reported where it is and passed over, and the
// lines after it are scored.
func TestScoreLongLine(t *testing.T) {
	long := `{"id": "L-2", "lead": {"title": "` + strings.Repeat("x", jsonscan.MaxValue) + `"}}`
	in := "{\"id\": \"L-1\"}\n" + long + "\n{\"id\": \"L-3\"}\n"
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "account-health", "--format", "json", "-"},
		strings.NewReader(in), &stdout, &stderr)
	if code := exitCode(err, &stderr); code != 1 {
		t.Errorf("exit %d; want 1 (a lead could not be scored)", code)
	}
	var ids []string
	for line := range strings.Lines(stdout.String()) {
		var d struct {
			LeadID string `json:"lead_id"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		ids = append(ids, d.LeadID)
	}
	if want := []string{"L-1", "L-3"}; !slices.Equal(ids, want) {
		t.Errorf("decided %v; want %v", ids, want)
	}
	if !strings.Contains(stderr.String(), "stdin:2:1: this line is longer than 64 MiB") || !strings.Contains(stderr.String(), "1 lead could not be scored (2 scored)") {
		t.Errorf("stderr = %q; want the long line at stdin:2:1 and the count", stderr.String())
	}
}

// TestScoreLeadIDTypes: leadq score reads a lead id as the server and the
// engine do (engine's TestLeadIDTypes): a number is its text as sent, an
// object, a list or a boolean is no id with a warning on its key.
func TestScoreLeadIDTypes(t *testing.T) {
	in := `{"id": 12345678901234567890, "lead": {"employees": 50}}
{"id": {"crm": 5}, "lead": {"employees": 50}}
{"lead": {"id": true, "lead_id": 7, "employees": 50}}
`
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"score", "--rules", "../../examples/rulesets", "--ruleset", "b2b-saas", "--format", "json", "-"},
		strings.NewReader(in), &stdout, &stderr)
	if err != nil {
		t.Fatalf("leadq score: %v\n%s", err, stderr.String())
	}
	var got []string
	for line := range strings.Lines(stdout.String()) {
		var d struct {
			LeadID   string `json:"lead_id"`
			Warnings []struct{ Field, Message string }
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		s := d.LeadID
		for _, w := range d.Warnings {
			s += "; " + w.Field + ": " + w.Message
		}
		got = append(got, s)
	}
	want := []string{
		"12345678901234567890",
		"; id: expected the lead's id as a string or number, got an object; ignored",
		"7; lead.id: expected the lead's id as a string or number, got boolean true; ignored",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lead ids and warnings (-want +got):\n%s", diff)
	}
}

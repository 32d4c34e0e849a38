package main

import (
	"encoding/json"
	"testing"
)

func TestDiffCommand(t *testing.T) {
	const old, nw = "../../diff/testdata/old", "../../diff/testdata/new"
	tests := []struct {
		name string
		args []string
	}{
		{"csv", []string{"diff", old, nw, "--leads", "../../diff/testdata/leads.csv", "--now", "2026-11-23"}},
		{"csv-top-2", []string{"diff", old, nw, "--leads", "../../diff/testdata/leads.csv", "--now", "2026-11-23", "--top", "2"}},
		{"jsonl-json", []string{"diff", old, nw, "--leads", "../../diff/testdata/leads.jsonl", "--now", "2026-11-23", "--format", "json"}},
		{"strict-refused", []string{"diff", old, nw, "--leads", "../../diff/testdata/leads.jsonl", "--now", "2026-11-23", "--strict"}},
		{"same", []string{"diff", "../../examples/rulesets", "../../examples/rulesets", "--ruleset", "b2b-saas", "--leads", "../../examples/leads", "--now", "2026-11-23"}},
		{"typo-column", []string{"diff", old, nw, "--leads", "testdata/diff/typo.csv", "--now", "2026-11-23"}},
		{"no-leads-flag", []string{"diff", old, nw}},
		{"one-arg", []string{"diff", old, "--leads", "x.csv"}},
		{"several-rulesets", []string{"diff", "../../examples/rulesets", "../../examples/rulesets", "--leads", "../../examples/leads"}},
		{"unknown-ruleset", []string{"diff", old, nw, "--ruleset", "nope", "--leads", "../../diff/testdata/leads.csv"}},
		{"missing-side", []string{"diff", "does-not-exist", nw, "--leads", "../../diff/testdata/leads.csv"}},
		{"broken-side", []string{"diff", "../../rules/testdata/bad/no-tiers.yaml", nw, "--leads", "../../diff/testdata/leads.csv"}},
		{"missing-leads", []string{"diff", old, nw, "--leads", "nope.csv"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := cliGolden(t, "diff", tc.name, tc.args, "")
			if tc.name == "jsonl-json" {
				var rep map[string]any
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Errorf("--format json is not JSON: %v", err)
				}
			}
		})
	}
}

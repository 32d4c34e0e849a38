package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedNow is the clock of every test, so that days_since is reproducible.
var fixedNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func loadRuleset(t testing.TB, path string) *rules.Ruleset {
	t.Helper()
	rs, err := rules.LoadPaths(path)
	if err != nil {
		t.Fatalf("LoadPaths(%s): %v", path, err)
	}
	if len(rs) != 1 {
		t.Fatalf("LoadPaths(%s) = %d rulesets; want 1", path, len(rs))
	}
	return rs[0]
}

func names(hits []engine.Hit) []string {
	out := []string{}
	for _, h := range hits {
		out = append(out, h.Rule)
	}
	return out
}

// TestMissingData pins the semantics users rely on: a rule that reads a
// field the lead lacks does not fire, whatever its operator, and the field
// is reported; three-valued logic lets and/or decide when they can.
func TestMissingData(t *testing.T) {
	rs := loadRuleset(t, "testdata/semantics.yaml")
	tests := []struct {
		name        string
		lead        string
		account     string
		wantMatched []string
		wantMissing []string
		wantErrors  []string
	}{
		{
			name:        "empty lead fires only rules that handle nil themselves",
			lead:        `{}`,
			wantMatched: []string{"low-ltv"},
			wantMissing: []string{"lead.country", "lead.demo", "lead.employees", "lead.industry", "lead.revenue", "lead.signed", "lead.stack"},
		},
		{
			name:        "!= < and not in do not fire on a missing field",
			lead:        `{"industry": "retail", "demo": true, "stack": [], "revenue": 1, "signed": "2020-01-01"}`,
			wantMatched: []string{"low-ltv"},
			wantMissing: []string{"lead.country", "lead.employees"},
			wantErrors:  []string{"fourth-tool"},
		},
		{
			name:        "or with a true side fires despite a missing side",
			lead:        `{"industry": "software"}`,
			wantMatched: []string{"either", "low-ltv"},
			wantMissing: []string{"lead.country", "lead.demo", "lead.employees", "lead.revenue", "lead.signed", "lead.stack"},
		},
		{
			name:        "and with a false side is false, and nothing is missing for it",
			lead:        `{"industry": "retail", "country": "US", "demo": true, "stack": ["a","b","c","x"], "revenue": 5, "signed": "2026-11-20"}`,
			account:     `{"ltv": 500}`,
			wantMatched: []string{"fourth-tool", "recent"},
			wantMissing: []string{"lead.employees"},
		},
		{
			name:        "all present",
			lead:        `{"industry": "software", "country": "DE", "employees": 5000, "demo": false, "stack": [], "revenue": 2e6, "signed": "2026-01-01T00:00:00Z"}`,
			account:     `{"ltv": 50.5}`,
			wantMatched: []string{"not-us", "not-served", "either", "both", "no-demo", "low-ltv", "rich"},
			wantMissing: []string{},
			wantErrors:  []string{"fourth-tool"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := engine.Input{Now: fixedNow}
			if err := json.Unmarshal([]byte(tc.lead), &in.Lead); err != nil {
				t.Fatal(err)
			}
			if tc.account != "" {
				if err := json.Unmarshal([]byte(tc.account), &in.Account); err != nil {
					t.Fatal(err)
				}
			}
			d, err := engine.NewRuleset(rs).Score(context.Background(), in, engine.Options{})
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if diff := cmp.Diff(tc.wantMatched, names(d.Matched)); diff != "" {
				t.Errorf("matched (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantMissing, d.MissingFields); diff != "" {
				t.Errorf("missing_fields (-want +got):\n%s", diff)
			}
			var errs []string
			for _, e := range d.Errors {
				errs = append(errs, e.Rule)
			}
			if diff := cmp.Diff(tc.wantErrors, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInputNormalisation(t *testing.T) {
	rs := loadRuleset(t, "testdata/semantics.yaml")
	tests := []struct {
		name         string
		lead         map[string]any
		strict       bool
		wantMatched  []string
		wantWarnings []string
		wantErr      string // field named in the strict-mode error
	}{
		{"JSON float for an int field", map[string]any{"employees": json.Number("20.0")}, false, []string{"small", "low-ltv"}, nil, ""},
		{"numeric string for an int field", map[string]any{"employees": "20"}, false, []string{"small", "low-ltv"}, nil, ""},
		{"fractional number for an int field is the wrong type", map[string]any{"employees": 20.5}, false, []string{"low-ltv"}, []string{"lead.employees"}, ""},
		{"word for an int field is a warning and missing", map[string]any{"employees": "lots"}, false, []string{"low-ltv"}, []string{"lead.employees"}, ""},
		{"empty string for an int field is missing, silently", map[string]any{"employees": ""}, false, []string{"low-ltv"}, nil, ""},
		{"boolean word", map[string]any{"demo": "no"}, false, []string{"no-demo", "low-ltv"}, nil, ""},
		{"list as a delimited string", map[string]any{"stack": "a; b; c; x"}, false, []string{"fourth-tool", "low-ltv"}, nil, ""},
		{"object for a string field", map[string]any{"country": map[string]any{"code": "US"}}, false, []string{"low-ltv"}, []string{"lead.country"}, ""},
		{"strict refuses a numeric string", map[string]any{"employees": "20"}, true, nil, nil, "lead.employees"},
		{"strict accepts a JSON integer", map[string]any{"employees": json.Number("20")}, true, []string{"small", "low-ltv"}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := engine.NewRuleset(rs).Score(context.Background(), engine.Input{Lead: tc.lead, Now: fixedNow}, engine.Options{Strict: tc.strict})
			if tc.wantErr != "" {
				var errs engine.InputErrors
				if !errors.As(err, &errs) || errs[0].Field != tc.wantErr {
					t.Fatalf("Evaluate(strict) error = %v; want an InputErrors naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if diff := cmp.Diff(tc.wantMatched, names(d.Matched)); diff != "" {
				t.Errorf("matched (-want +got):\n%s", diff)
			}
			var warned []string
			for _, w := range d.Warnings {
				warned = append(warned, w.Field)
			}
			if diff := cmp.Diff(tc.wantWarnings, warned); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInput(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantID   string
		wantLead bool
		wantErr  string
	}{
		{"envelope", `{"id": "L1", "lead": {"employees": 3}, "account": {"ltv": 1}}`, "L1", true, ""},
		{"bare lead with lead_id", `{"lead_id": 42, "employees": 3}`, "42", true, ""},
		{"id inside the lead", `{"lead": {"id": "L2"}}`, "L2", true, ""},
		{"malformed", `{"lead": {"employees": 3}`, "", false, "malformed JSON"},
		{"not an object", `[1, 2]`, "", false, "expected a JSON object"},
		{"lead not an object", `{"lead": 3}`, "", false, "lead: expected an object"},
		{"trailing data", `{"a": 1} {"b": 2}`, "", false, "unexpected data after"},
		{"trailing brace", `{"id": 1}}`, "", false, "unexpected data after"},
		{"trailing bracket", `{"id": 1} ]`, "", false, "unexpected data after"},
		{"trailing space", "{\"id\": \"L3\"} \n", "L3", true, ""},
		{"empty", ``, "", false, "empty body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := engine.ParseInput([]byte(tc.body))
			if tc.wantErr != "" {
				var ie *engine.InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseInput(%s) error = %v; want an InputError containing %q", tc.body, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseInput(%s): %v", tc.body, err)
			}
			if in.ID != tc.wantID || (in.Lead != nil) != tc.wantLead {
				t.Errorf("ParseInput(%s) = id %q lead %v; want id %q", tc.body, in.ID, in.Lead, tc.wantID)
			}
		})
	}
}

// TestDecisionsGolden scores every testdata/decisions/*.lead.json with the
// example rulesets and compares the wire format with *.decision.json.
func TestDecisionsGolden(t *testing.T) {
	ctx := context.Background()
	eng := exampleEngine(t)
	inputs, _ := filepath.Glob("testdata/decisions/*.lead.json")
	if len(inputs) == 0 {
		t.Fatal("no inputs")
	}
	for _, path := range inputs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ruleset := "b2b-saas"
			if strings.HasPrefix(filepath.Base(path), "account-") {
				ruleset = "account-health"
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := eng.Ruleset(ruleset)
			if err != nil {
				t.Fatal(err)
			}
			d, err := rs.ScoreJSON(ctx, data, eng.Options())
			if err != nil {
				t.Fatalf("ScoreJSON: %v", err)
			}
			if enc := rs.AppendJSON(nil, &d); !bytes.Equal(enc, d.AppendJSON(nil)) {
				t.Errorf("the ruleset's encoder writes\n%s\nDecision.AppendJSON\n%s", enc, d.AppendJSON(nil))
			}
			got, _ := json.MarshalIndent(d, "", "  ")
			got = append(got, '\n')
			golden := strings.TrimSuffix(path, ".lead.json") + ".decision.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden (run go test ./engine -update): %v", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("decision mismatch (-want +got):\n%s", diff)
			}
			// Same lead, same version: same decision.
			again, _ := rs.ScoreJSON(ctx, data, eng.Options())
			if diff := cmp.Diff(d, again); diff != "" {
				t.Errorf("second decision differs:\n%s", diff)
			}
		})
	}
}

func TestDecisionJSONHasNoNulls(t *testing.T) {
	rs := loadRuleset(t, "testdata/semantics.yaml")
	d, err := engine.NewRuleset(rs).Score(context.Background(), engine.Input{}, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(d)
	if strings.Contains(string(b), "null") {
		t.Errorf("decision JSON has null: %s", b)
	}
}

func TestMissedLargestFirst(t *testing.T) {
	rs := loadRuleset(t, "testdata/semantics.yaml")
	d, _ := engine.NewRuleset(rs).Score(context.Background(), engine.Input{Lead: map[string]any{"country": "US", "demo": true}}, engine.Options{})
	for i := 1; i < len(d.Missed); i++ {
		if d.Missed[i-1].Points < d.Missed[i].Points {
			t.Fatalf("missed not sorted by points: %+v", d.Missed)
		}
	}
	if len(d.Missed) == 0 {
		t.Fatal("no missed rules")
	}
}

func TestBriefDecision(t *testing.T) {
	rs := loadRuleset(t, "testdata/semantics.yaml")
	in := engine.Input{Lead: map[string]any{"industry": "software", "country": "DE"}, Now: fixedNow}
	full, _ := engine.NewRuleset(rs).Score(context.Background(), in, engine.Options{})
	brief, _ := engine.NewRuleset(rs).Score(context.Background(), in, engine.Options{Detail: engine.Brief})
	if brief.Score != full.Score || brief.Tier != full.Tier || brief.Qualified != full.Qualified ||
		!cmp.Equal(names(brief.Matched), names(full.Matched)) || !cmp.Equal(brief.MissingFields, full.MissingFields) {
		t.Errorf("brief decision %+v\ndiffers in substance from full %+v", brief, full)
	}
	b, _ := json.Marshal(brief)
	if strings.Contains(string(b), `"matched"`) || strings.Contains(string(b), `"missed"`) || !brief.Brief {
		t.Errorf("brief JSON has matched/missed: %s", b)
	}
}

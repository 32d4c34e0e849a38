package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// caseRules is the ruleset every RunTests case below is appended to.
const caseRules = `ruleset: cases
fields:
  lead.employees: int
  lead.industry: string
  lead.country: string
  lead.signed_up: date
  account.is_customer: bool
knockouts:
  - id: too-small
    when: lead.employees < 10
    reason: "{{lead.employees}} employees"
  - id: customer
    when: account.is_customer
    reason: already a customer
score:
  - id: big
    group: fit
    when: lead.employees >= 100
    points: 30
  - id: fintech
    group: fit
    when: lead.industry == "fintech"
    points: 20
  - id: us
    when: lead.country == "US"
    points: 10
  - id: recent
    when: days_since(lead.signed_up) <= 30
    points: 5
  - id: foreign
    when: lead.country != "US"
    points: -5
groups:
  fit: {max: 40}
tiers:
  - {name: A, min: 45}
  - {name: B, min: 20}
  - {name: C}
tests:
`

func compileCases(t *testing.T, tests string) *rules.Ruleset {
	t.Helper()
	f, err := rules.Parse("cases.yaml", []byte(caseRules+tests))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	rs, err := rules.Compile(f)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return rs
}

func TestRunTestsCompare(t *testing.T) {
	tests := []struct {
		name string
		yaml string   // one test case, indented as a list item under tests:
		want []string // the failure messages, in order; none means it passes
	}{
		{"all pass", `  - name: c
    lead: {employees: 200, industry: fintech, country: US}
    expect: {tier: A, qualified: true, score: 50, score_min: 50, score_max: 50, knockouts: [], matched: [big, fintech, us], not_matched: [foreign], groups: {fit: 40}, missing_fields: [account.is_customer, lead.signed_up], warnings: []}
`, nil},
		{"tier and score", `  - name: c
    lead: {employees: 200, country: US}
    expect: {tier: A, score: 45}
`, []string{"tier: want A, got B (score 40)", "score: want 45, got 40 (-5)"}},
		{"score range", `  - name: c
    lead: {employees: 200, country: US}
    expect: {score_min: 41, score_max: 39}
`, []string{"score: want at least 41, got 40", "score: want at most 39, got 40"}},
		{"qualified explains knockouts", `  - name: c
    lead: {employees: 5, industry: fintech, country: US}
    expect: {qualified: true}
`, []string{"qualified: want true, got false (knocked out by too-small)"}},
		{"qualified explains tier", `  - name: c
    lead: {employees: 50, country: US}
    expect: {qualified: true}
`, []string{"qualified: want true, got false (tier C, score 10)"}},
		{"knockouts exact set", `  - name: c
    lead: {employees: 5, country: US}
    expect: {knockouts: [customer]}
`, []string{"knockouts: want [customer], got [too-small]: customer did not fire (unknown: the lead has no account.is_customer); too-small fired: 5 employees"}},
		{"knockouts none expected", `  - name: c
    lead: {employees: 5}
    expect: {knockouts: []}
`, []string{"knockouts: want [], got [too-small]: too-small fired: 5 employees"}},
		{"matched is a subset, with why not", `  - name: c
    lead: {employees: 50, country: US}
    expect: {matched: [us, big, fintech]}
`, []string{"matched: big did not fire (when: lead.employees >= 100)", "matched: fintech did not fire (unknown: the lead has no lead.industry)"}},
		{"not matched", `  - name: c
    lead: {employees: 50, country: DE}
    expect: {not_matched: [foreign, us]}
`, []string{"not_matched: foreign fired (-5): lead.country != \"US\""}},
		{"groups after caps", `  - name: c
    lead: {employees: 500, industry: fintech}
    expect: {groups: {fit: 50}}
`, []string{"groups: fit: want 50, got 40 (50 before caps)"}},
		{"missing fields exact set", `  - name: c
    lead: {employees: 500}
    expect: {missing_fields: [lead.country]}
`, []string{"missing_fields: want [lead.country], got [account.is_customer, lead.country, lead.industry, lead.signed_up]"}},
		{"warnings", `  - name: c
    lead: {employees: lots, country: US}
    expect: {warnings: [lead.country]}
`, []string{"warnings: want [lead.country], got [lead.employees]"}},
		{"now: fixes the clock", `  - name: c
    now: 2026-03-01
    lead: {signed_up: 2026-02-10}
    expect: {matched: [recent]}
`, nil},
		{"without now: the test clock", `  - name: c
    lead: {signed_up: 2025-12-20}
    expect: {matched: [recent]}
`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := compileCases(t, tc.yaml)
			rep := engine.RunTests(rs, engine.TestOptions{})
			if len(rep.Cases) != 1 {
				t.Fatalf("RunTests ran %d cases; want 1", len(rep.Cases))
			}
			c := rep.Cases[0]
			var got []string
			for _, f := range c.Failures {
				got = append(got, f.Message)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("failures mismatch (-want +got):\n%s", diff)
			}
			if c.Passed != (len(tc.want) == 0) {
				t.Errorf("Passed = %t with failures %q", c.Passed, got)
			}
			if c.Pos.File != "cases.yaml" || c.Pos.Line == 0 {
				t.Errorf("Pos = %v; want a line in cases.yaml", c.Pos)
			}
		})
	}
}

func TestRunTestsClock(t *testing.T) {
	rs := compileCases(t, `  - name: fixed
    now: 2026-03-01
    lead: {signed_up: 2026-02-10}
  - name: default
    lead: {signed_up: 2026-02-10}
`)
	rep := engine.RunTests(rs, engine.TestOptions{})
	if got := rep.Cases[0].Now; !got.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("case with now: ran at %v; want 2026-03-01", got)
	}
	if got := rep.Cases[1].Now; !got.Equal(engine.DefaultTestNow()) {
		t.Errorf("case without now: ran at %v; want DefaultTestNow %v", got, engine.DefaultTestNow())
	}
	custom := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rep = engine.RunTests(rs, engine.TestOptions{Now: custom})
	if got := rep.Cases[1].Now; !got.Equal(custom) {
		t.Errorf("with TestOptions.Now, case without now: ran at %v; want %v", got, custom)
	}
	if got := rep.Cases[0].Now; !got.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("TestOptions.Now overrode the case's own now: %v", got)
	}
}

func TestRunTestsStrictAndFilter(t *testing.T) {
	rs := compileCases(t, `  - name: wrong type
    lead: {employees: lots}
  - name: fine
    lead: {employees: 20}
`)
	rep := engine.RunTests(rs, engine.TestOptions{Strict: true})
	if c := rep.Cases[0]; c.Passed || c.Decision != nil || !strings.Contains(c.Err, "lead.employees") {
		t.Errorf("strict case = %+v; want a failure naming lead.employees and no decision", c)
	}
	if rep.Failed() != 1 {
		t.Errorf("Failed() = %d; want 1", rep.Failed())
	}
	rep = engine.RunTests(rs, engine.TestOptions{Filter: func(name string) bool { return name == "fine" }})
	if len(rep.Cases) != 1 || rep.Cases[0].Name != "fine" {
		t.Errorf("filtered cases = %+v; want only fine", rep.Cases)
	}
}

func TestRunTestsCoverage(t *testing.T) {
	rs := compileCases(t, `  - name: one
    lead: {employees: 200, country: US}
  - name: two
    lead: {employees: 300, country: DE}
`)
	rep := engine.RunTests(rs, engine.TestOptions{})
	c := rep.Coverage
	type row struct {
		Rule            string
		Fired, NotFired int
	}
	var got []row
	for _, r := range c.Rules {
		got = append(got, row{r.Rule, r.Fired, r.NotFired})
	}
	want := []row{{"too-small", 0, 2}, {"customer", 0, 2}, {"big", 2, 0}, {"fintech", 0, 2}, {"us", 1, 1}, {"recent", 0, 2}, {"foreign", 1, 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("coverage mismatch (-want +got):\n%s", diff)
	}
	if c.Fired != 3 || c.Total != 7 || c.Percent < 42.8 || c.Percent > 42.9 {
		t.Errorf("coverage = %d of %d (%.2f%%); want 3 of 7 (42.86%%)", c.Fired, c.Total, c.Percent)
	}
	var untested, always []string
	for _, r := range c.Untested() {
		untested = append(untested, r.Rule)
	}
	for _, r := range c.AlwaysFired() {
		always = append(always, r.Rule)
	}
	if diff := cmp.Diff([]string{"too-small", "customer", "fintech", "recent"}, untested); diff != "" {
		t.Errorf("Untested (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"big"}, always); diff != "" {
		t.Errorf("AlwaysFired (-want +got):\n%s", diff)
	}
}

// TestExampleRulesetsPass keeps every example ruleset's own tests green and
// above a coverage floor.
func TestExampleRulesetsPass(t *testing.T) {
	rulesets, err := rules.LoadPaths("../examples/rulesets")
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rulesets {
		t.Run(rs.Name, func(t *testing.T) {
			rep := engine.RunTests(rs, engine.TestOptions{})
			if len(rep.Cases) == 0 {
				t.Fatal("the example has no tests")
			}
			for _, c := range rep.Cases {
				for _, f := range c.Failures {
					t.Errorf("%s: %s: %s", c.Pos, c.Name, f.Message)
				}
			}
			if rep.Coverage.Percent < 100 {
				for _, r := range rep.Coverage.Untested() {
					t.Errorf("%s: rule %s is fired by no test case", r.Pos, r.Rule)
				}
			}
		})
	}
}

// TestRunTestsRuleError fails a case whose rule fails at run time, whatever
// it expects: in production the rule's points would silently vanish.
func TestRunTestsRuleError(t *testing.T) {
	src := `ruleset: errs
fields:
  lead.tags: list
score:
  - id: third-tag
    when: lead.tags[2] == "vip"
    points: 5
tiers:
  - {name: A, min: 5}
  - {name: B}
tests:
  - name: one tag
    lead: {tags: [a]}
    expect: {tier: B}
`
	f, err := rules.Parse("errs.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	c := engine.RunTests(rs, engine.TestOptions{}).Cases[0]
	if c.Passed || len(c.Failures) != 1 || c.Failures[0].Expect != "errors" || c.Failures[0].Rule != "third-tag" ||
		!strings.HasPrefix(c.Failures[0].Message, "rule third-tag failed to run: ") {
		t.Errorf("case = passed %t, failures %+v; want one errors failure for third-tag", c.Passed, c.Failures)
	}
}

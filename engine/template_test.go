package engine_test

import (
	"context"
	"testing"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// A reason's {{field or fallback}} shows the fallback for a missing field
// and for an empty or blank string, and the value otherwise; a field
// without a fallback still reads "unknown" when missing.
func TestReasonFallback(t *testing.T) {
	f, err := rules.Parse("fallback.yaml", []byte(`ruleset: fallback
fields:
  lead.company: string
  lead.employees: int
  lead.title: string
knockouts:
  - id: too-small
    when: lead.employees < 10
    reason: "{{lead.company or This company}} has {{lead.employees}} employees; title {{lead.title or 'none given' }}, raw {{lead.title}}"
tiers:
  - {name: A}
`))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		lead map[string]any
		want string
	}{
		{"missing", map[string]any{"employees": 4}, "This company has 4 employees; title none given, raw unknown"},
		{"empty", map[string]any{"employees": 4, "company": "", "title": ""}, "This company has 4 employees; title none given, raw "},
		{"blank", map[string]any{"employees": 4, "company": "  ", "title": " "}, "This company has 4 employees; title none given, raw  "},
		{"given", map[string]any{"employees": 4, "company": "Acme", "title": "CTO"}, "Acme has 4 employees; title CTO, raw CTO"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := engine.NewRuleset(rs).Score(context.Background(), engine.Input{Lead: tc.lead}, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Knockouts) != 1 || d.Knockouts[0].Reason != tc.want {
				t.Fatalf("knockouts = %+v; want one with reason %q", d.Knockouts, tc.want)
			}
		})
	}
}

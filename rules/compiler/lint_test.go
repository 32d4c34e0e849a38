package compiler_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
)

// lintBase declares what the lint cases below need; each case appends its
// own score:, knockouts:, groups: and tiers: sections.
const lintBase = `ruleset: lint
fields:
  lead.employees: int
  lead.revenue: float
  lead.country: string
  lead.title: string
  lead.email: string
  lead.demo: bool
lists:
  served: [US, CA, GB]
macros:
  tiny: lead.employees < 10
  big: lead.employees >= 1000
`

// uses keeps the base's list, macros and fields in use, so that only the
// lint under test warns.
const uses = `  - id: uses-base
    when: (tiny || big || lead.country in served || lead.demo || lead.revenue > 1.0) && lead.title != "" && lead.email != ""
    points: 1
`

func TestLint(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // "code: message substring", in position order; none means no warnings
	}{
		{"clean", "score:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n", nil},

		// always-fires / never-fires
		{"true literal", "score:\n" + uses + "  - {id: r, when: 'true', points: 5}\ntiers:\n  - {name: A, min: 6}\n  - {name: B}\n",
			[]string{`always-fires: score rule "r": when: is always true, so every lead gets its +5 points`}},
		{"constant comparison", "score:\n" + uses + "  - id: r\n    when: 1 == 1 && \"a\" in [\"a\"]\n    points: 5\ntiers:\n  - {name: A, min: 6}\n  - {name: B}\n",
			[]string{`always-fires: score rule "r"`}},
		{"unknown or true is true", "score:\n" + uses + "  - {id: r, when: lead.employees > 5 || 2 > 1, points: 5}\ntiers:\n  - {name: A, min: 6}\n  - {name: B}\n",
			[]string{`always-fires: score rule "r"`}},
		{"always-true knockout", "knockouts:\n  - {id: k, when: 'true', reason: x}\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`always-fires: knockout "k": when: is always true, so every lead is rejected`}},
		{"false literal", "score:\n" + uses + "  - {id: r, when: 'false', points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`never-fires: score rule "r": when: is always false, so the rule never fires`}},
		{"and with a false part", "score:\n" + uses + "  - {id: r, when: lead.demo && 1 > 2, points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`never-fires: score rule "r": when: is always false, so the rule never fires (1 > 2 is always false)`}},
		{"contradicting range through a macro", "score:\n" + uses + "  - {id: r, when: big && lead.employees < 500, points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`never-fires: score rule "r": when: is always false, so the rule never fires (lead.employees >= 1000 and lead.employees < 500 cannot both be true)`}},
		{"contradicting strings through a list", "score:\n" + uses + "  - {id: r, when: lead.country == \"BR\" and lead.country in served, points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`never-fires: score rule "r": when: is always false, so the rule never fires (lead.country == "BR" and lead.country in ["US", "CA", "GB"] cannot both be true)`}},
		{"excluded then required", "score:\n" + uses + "  - {id: r, when: lead.country != \"US\" && lead.country == \"US\", points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`never-fires: score rule "r"`}},
		{"three comparisons clash only together", "score:\n" + uses + "  - id: r\n    when: lead.country in [\"US\", \"CA\"] && lead.country in [\"CA\", \"GB\"] && lead.country != \"CA\"\n    points: 5\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`never-fires: score rule "r": when: is always false, so the rule never fires (lead.country in ["US", "CA"], lead.country in ["CA", "GB"], lead.country != "CA" cannot all be true)`}},
		{"touching bounds are not a contradiction", "score:\n" + uses + "  - {id: r, when: lead.employees >= 10 && lead.employees <= 10, points: 5}\n  - {id: s, when: lead.revenue > 1.0 && lead.revenue < 1.5, points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n", nil},
		{"open bounds that meet are", "score:\n" + uses + "  - {id: r, when: lead.employees > 10 && lead.employees < 10, points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`never-fires: score rule "r"`}},
		{"the clock is not a constant", "score:\n" + uses + "  - {id: r, when: now().Year() > 2000, points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n", nil},

		// unreachable-tier
		{"tier above the highest score", "score:\n" + uses + "  - {id: r, group: fit, when: lead.demo, points: 30}\n  - {id: s, group: fit, when: big, points: 30}\n  - {id: t, when: tiny, points: -5}\ngroups:\n  fit: {max: 40}\ntiers:\n  - {name: A, min: 42}\n  - {name: B, min: 41}\n  - {name: C}\n",
			[]string{`unreachable-tier: tier "A" can never be reached: it needs a score of 42 and the highest possible score is 41`}},
		{"bottom tier under the lowest score", "score:\n" + uses + "  - {id: r, when: lead.demo, points: 30}\ntiers:\n  - {name: A, min: 30}\n  - {name: C, min: 0}\n  - {name: D}\n",
			[]string{`unreachable-tier: tier "D" can never be reached: the lowest possible score is 0, which tier "C" (min 0) already takes`}},
		{"a floor lifts the lowest score", "score:\n" + uses + "  - {id: r, group: e, when: lead.demo, points: -30}\n  - {id: s, group: e, when: tiny, points: 5}\ngroups:\n  e: {min: -10}\ntiers:\n  - {name: A, min: 1}\n  - {name: B, min: -10}\n  - {name: C}\n",
			[]string{`points-over-cap: score rule "r": -30 points are below the min of group "e" (-10)`, `unreachable-tier: tier "C" can never be reached: the lowest possible score is -10`}},
		{"an always-firing rule counts at both ends", "score:\n" + uses + "  - {id: r, when: 'true', points: 10}\ntiers:\n  - {name: A, min: 10}\n  - {name: B}\n",
			[]string{`always-fires: score rule "r"`, `unreachable-tier: tier "B" can never be reached: the lowest possible score is 10`}},
		{"a never-firing rule counts at neither", "score:\n" + uses + "  - {id: r, when: 'false', points: 10}\ntiers:\n  - {name: A, min: 2}\n  - {name: B}\n",
			[]string{`never-fires: score rule "r"`, `unreachable-tier: tier "A" can never be reached: it needs a score of 2 and the highest possible score is 1`}},

		// points-over-cap
		{"points over the max", "score:\n" + uses + "  - {id: r, group: e, when: lead.demo, points: 50}\ngroups:\n  e: {max: 40}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`points-over-cap: score rule "r": 50 points exceed the max of group "e" (40), so the rule adds at most 40`}},
		{"penalty under the min", "score:\n" + uses + "  - {id: r, group: e, when: lead.demo, points: -30}\n  - {id: s, group: e, when: tiny, points: 5}\ngroups:\n  e: {min: -20}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`points-over-cap: score rule "r": -30 points are below the min of group "e" (-20), so the rule takes off at most 20`}},
		{"points at the cap are fine", "score:\n" + uses + "  - {id: r, group: e, when: lead.demo, points: 40}\n  - {id: s, group: e, when: tiny, points: -20}\ngroups:\n  e: {max: 40, min: -20}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n", nil},

		// knockout-overlap
		{"same condition as a knockout", "knockouts:\n  - {id: k, when: tiny, reason: x}\nscore:\n" + uses + "  - {id: r, when: lead.employees < 10, points: -5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`knockout-overlap: score rule "r": when: is the same condition as knockout "k"`}},
		{"narrower range than a knockout", "knockouts:\n  - {id: k, when: tiny, reason: x}\nscore:\n" + uses + "  - {id: r, when: lead.employees <= 3 && lead.demo, points: -5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`knockout-overlap: score rule "r": fires only when knockout "k" fires (lead.employees < 10)`}},
		{"one alternative of a knockout", "knockouts:\n  - {id: k, when: lead.title == \"student\" or lead.demo, reason: x}\nscore:\n" + uses + "  - {id: r, when: lead.demo and lead.employees > 5, points: -5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`knockout-overlap: score rule "r": fires only when knockout "k" fires (lead.demo)`}},
		{"a value outside the served list", "knockouts:\n  - {id: k, when: lead.country not in served, reason: x}\nscore:\n" + uses + "  - {id: r, when: lead.country == \"BR\", points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`knockout-overlap: score rule "r": fires only when knockout "k" fires (lead.country not in ["US", "CA", "GB"])`}},
		{"wider rules do not overlap", "knockouts:\n  - {id: k, when: tiny, reason: x}\n  - {id: u, when: lead.country not in served, reason: y}\nscore:\n" + uses + "  - {id: r, when: lead.employees < 50, points: 5}\n  - id: s\n    when: lead.country in [\"US\", \"CA\"]\n    points: 5\n  - {id: t, when: lead.employees < 5 || lead.demo, points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n", nil},

		// unknown-group, unused-group
		{"misspelt group", "score:\n" + uses + "  - {id: r, group: engagment, when: lead.demo, points: 5}\n  - {id: s, group: engagement, when: tiny, points: 5}\n  - {id: t, group: engagement, when: big, points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`unknown-group: score rule "r": group "engagment" has no caps and no other rule is in it (did you mean engagement?)`}},
		{"caps on an unused group", "score:\n" + uses + "  - {id: r, group: fit, when: lead.demo, points: 5}\ngroups:\n  fit: {max: 10}\n  fitt: {max: 10}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`unused-group: group "fitt" has caps but no score rule is in it (did you mean fit?)`}},

		// costly-condition
		{"regexp in a loop up to a field", "score:\n" + uses + "  - {id: r, when: \"any(1..lead.employees, lead.title matches '(a+)+$')\", points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`costly-condition: score rule "r": when: a regexp (matches) inside a loop over lead.employees runs once per element, so its time grows with the lead's values`}},
		{"range up to a field", "score:\n" + uses + "  - {id: r, when: 'any(1..lead.employees, # > 5)', points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`costly-condition: score rule "r": when: a range up to lead.employees loops once per unit of its value`}},
		{"regexp without a loop", "score:\n" + uses + "  - {id: r, when: lead.title matches '(a+)+$', points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n", nil},
		{"regexp in a loop over constants", "score:\n" + uses + "  - {id: r, when: 'any([\"cto\", \"ceo\"], lead.title matches #)', points: 5}\ntiers:\n  - {name: A, min: 1}\n  - {name: B}\n", nil},

		// reason-may-be-empty
		{"a field the condition does not read", "knockouts:\n  - id: k\n    when: tiny\n    reason: \"{{lead.title}} is small\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`reason-may-be-empty: knockout "k": reason shows {{lead.title}}, and the rule can fire without it`}},
		{"a fallback makes it safe", "knockouts:\n  - id: k\n    when: tiny\n    reason: \"{{lead.title or Someone}} at {{lead.employees}} people\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			nil},
		{"a number the condition compares", "knockouts:\n  - id: k\n    when: lead.employees < 10\n    reason: \"{{lead.employees}} people\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			nil},
		{"a string outside a list can be empty", "knockouts:\n  - id: k\n    when: lead.country not in served\n    reason: \"not in {{lead.country}}\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`reason-may-be-empty: knockout "k": reason shows {{lead.country}}, and the rule can fire when it is empty`}},
		{"a string in a list cannot", "knockouts:\n  - id: k\n    when: upper(lead.country) in served\n    reason: \"in {{lead.country}}\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			nil},
		{"present but maybe empty", "knockouts:\n  - id: k\n    when: lead.title != nil\n    reason: \"{{lead.title}}\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`reason-may-be-empty: knockout "k": reason shows {{lead.title}}, and the rule can fire when it is empty`}},
		{"a pattern that needs a word", "knockouts:\n  - id: k\n    when: lead.title matches '(?i)cto'\n    reason: \"{{lead.title}}\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			nil},
		{"either side of or can fire", "knockouts:\n  - id: k\n    when: lead.title == 'cto' || lead.demo\n    reason: \"{{lead.title}}\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`reason-may-be-empty: knockout "k": reason shows {{lead.title}}, and the rule can fire without it`}},
		{"both sides of or need it", "knockouts:\n  - id: k\n    when: lead.title == 'cto' || lead.title == 'ceo'\n    reason: \"{{lead.title}}\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			nil},
		{"a negated call needs its field, not a value", "knockouts:\n  - id: k\n    when: '!is_free_email(lead.email) && tiny'\n    reason: \"{{lead.email}}\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`reason-may-be-empty: knockout "k": reason shows {{lead.email}}, and the rule can fire when it is empty`}},
		{"a negated and does not", "knockouts:\n  - id: k\n    when: '!(lead.title == \"x\" && lead.demo)'\n    reason: \"{{lead.title}}\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`reason-may-be-empty: knockout "k": reason shows {{lead.title}}, and the rule can fire without it`}},
		{"a default reads a missing field", "knockouts:\n  - id: k\n    when: (lead.employees ?? 0) < 10\n    reason: \"{{lead.employees}}\"\nscore:\n" + uses + "tiers:\n  - {name: A, min: 1}\n  - {name: B}\n",
			[]string{`reason-may-be-empty: knockout "k": reason shows {{lead.employees}}, and the rule can fire without it`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := rules.Parse("lint.yaml", []byte(lintBase+tc.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			rs, err := rules.Compile(f)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if len(rs.Warnings) != len(tc.want) {
				t.Fatalf("Compile warnings =\n%s\nwant %d: %q", rs.Warnings.Error(), len(tc.want), tc.want)
			}
			for i, w := range rs.Warnings {
				code, msg, _ := strings.Cut(tc.want[i], ": ")
				if w.Code != code || !strings.Contains(w.Msg, msg) {
					t.Errorf("warning %d = %s\nwant [%s] containing %q", i, w.Error(), code, msg)
				}
				if _, ok := rulefile.Codes[w.Code]; !ok {
					t.Errorf("code %q is not in rulefile.Codes", w.Code)
				}
				if w.Pos.Line == 0 {
					t.Errorf("warning %s has no line", w.Error())
				}
			}
		})
	}
}

// TestLintNeedsCleanRuleset checks that lints stay quiet while a ruleset has
// errors: a half-compiled ruleset gives misleading ranges and overlaps.
func TestLintNeedsCleanRuleset(t *testing.T) {
	f, _ := rules.Parse("lint.yaml", []byte(lintBase+"score:\n  - {id: r, when: 'true', points: 5}\n  - {id: s, when: lead.nope > 1, points: 5}\ntiers:\n  - {name: A, min: 100}\n  - {name: B}\n"))
	_, err := rules.Compile(f)
	list, ok := err.(rules.ErrorList)
	if !ok {
		t.Fatalf("Compile = %v; want an ErrorList", err)
	}
	var codes []string
	for _, e := range list {
		codes = append(codes, e.Code)
	}
	if diff := cmp.Diff([]string{"unknown-field"}, codes); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
}

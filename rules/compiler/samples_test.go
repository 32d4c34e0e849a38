package compiler_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/leadq/leadq/rules/compiler"
	"github.com/leadq/leadq/rules/rulefile"
)

// TestSamples: the values a condition tells apart, constants first, for
// the comparisons rules are made of.
func TestSamples(t *testing.T) {
	for _, tc := range []struct{ when, want string }{
		{`lead.n >= 1000`, `n=1000 n=999 n=1001`},
		{`lead.n >= 100 && lead.n < 1000`, `n=100 n=1000 n=99 n=101 n=999 n=1001`},
		{`lead.x >= 250_000_000.0`, `x=2.5e+08 x=2.49999999e+08 x=2.50000001e+08`},
		{`lead.x > 0.5`, `x=0.5 x=0.49 x=0.51`},
		{`lower(lead.s) in ["a", "b"]`, `s=a s=b s=other`},
		{`lead.s not in ["other", "x"]`, `s=other s=x s=other 2`},
		{`upper(lead.s) == "US"`, `s=US s=other`},
		{`domain(lead.s) in ["rival.example"]`, `s=someone@rival.example`},
		{`is_free_email(lead.s)`, `s=someone@gmail.com s=someone@company.example`},
		{`lead.s matches "(?i)\\b(vp|head) of\\b"`, `s=vp of`},
		{`lead.s matches "^[A-Z]{2}-\\d+$"`, `s=AA-0`},
		{`lead.b`, `b=true b=false`},
		{`days_since(lead.d) <= 14`, `d=14d d=13d d=15d d=16d`},
		{`"x" in lead.l`, `l=[x]`},
		{`contains_any(lead.l, ["a", "b"])`, `l=[a] l=[b]`},
		{`contains_all(lead.l, ["a", "b"])`, `l=[a b]`},
		{`lead.n > lead.m`, ``},
		{`len(lead.s) > 3`, ``},
	} {
		t.Run(tc.when, func(t *testing.T) {
			src := "ruleset: t\nfields:\n  lead.n: int\n  lead.m: int\n  lead.x: float\n  lead.s: string\n  lead.b: bool\n  lead.d: date\n  lead.l: list\n" +
				"score:\n  - id: r\n    when: '" + strings.ReplaceAll(tc.when, "'", "''") + "'\n    points: 1\n" +
				"tiers: [{name: A, min: 1}, {name: B}]\n"
			f, err := rulefile.Parse("t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			rs, err := compiler.Compile(f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range rs.Rules[0].When.Samples() {
				v := fmt.Sprint(s.Value)
				switch {
				case s.Items != nil:
					v = fmt.Sprint(s.Items)
				case s.Value == nil:
					v = fmt.Sprintf("%dd", s.Ago.Days)
				}
				got = append(got, s.Field.Key+"="+v)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("Samples() = %s; want %s", g, tc.want)
			}
			// A pattern's value is one the condition matches.
			if strings.Contains(tc.when, "matches") {
				re := regexp.MustCompile(strings.ReplaceAll(tc.when[strings.Index(tc.when, `"`)+1:len(tc.when)-1], `\\`, `\`))
				for _, s := range rs.Rules[0].When.Samples() {
					if !re.MatchString(s.Value.(string)) {
						t.Errorf("%q does not match %s", s.Value, re)
					}
				}
			}
		})
	}
}

// FuzzWitness: spelling a value for any pattern never panics.
func FuzzWitness(f *testing.F) {
	for _, p := range []string{`(?i)\b(student|intern)\b`, `^[A-Z]{2}-\d+$`, `a|b`, `x{2,5}`, `[^a]`, `(`} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		src := "ruleset: t\nfields:\n  lead.s: string\nscore:\n  - id: r\n    when: 'lead.s matches " +
			fmt.Sprintf("%q", pattern) + "'\n    points: 1\ntiers: [{name: A, min: 1}, {name: B}]\n"
		if strings.ContainsAny(pattern, "'\n\r") {
			return
		}
		f, err := rulefile.Parse("t.yaml", []byte(src))
		if err != nil {
			return
		}
		rs, err := compiler.Compile(f)
		if err != nil {
			return
		}
		_ = rs.Rules[0].When.Samples()
	})
}

package eval

import (
	"regexp"
	"strings"
	"testing"
)

// The literal matcher must answer exactly what regexp.MatchString does.

var literalPatterns = []struct {
	pattern string
	literal bool // whether it takes the literal matcher
}{
	{`(?i)\b(student|intern|internship|apprentice)\b`, true},
	{`(?i)\b(rev ?ops|revenue operations|sales operations|marketing operations|sales enablement)\b`, true},
	{`(?i)^(ceo|cto|cfo)$`, true},
	{`vp|director`, true},
	{`^VP\b`, true},
	{`(?i)k`, true},
	{`(?i)[ks]ale`, true},
	{`\b-net\b`, true},
	{`(?i)é`, false}, // only non-ASCII words: nothing an ASCII input could match
	{`(?i)abc(?-i)D`, false},
	{`a+b`, false},
	{`(?m)^vp`, false},
	{`\bvp\b.*\bsales\b`, false},
	{`^$`, false},
	{`[a-z]{3}[0-9]{3}`, false}, // too many words
	{`x?`, false},
}

var literalInputs = []string{
	"", "Student", "student", "a student intern", "Internship coordinator", "Internal auditor",
	"intern", "INTERN", "apprentices", "RevOps lead", "rev ops", "Head of Revenue Operations",
	"revenueoperations", "Sales Enablement Manager", "CEO", "ceo ", "the CFO", "VP Sales", "vp sales",
	"Director", "SVP", "VP_Sales", "Kelvin", "\u212aelvin", "ſtudent", "kale", "Sale", "foo-net", "foo -net",
	"Saleſ Enablement lead", // ſ folds to s inside a word: only the regexp sees the match
	"-net", "x-net-y", "é", "É", "abcD", "abcd", "ABCD", "aab", "vp\nsales", "étudiant intern", "Intern (paid)",
	strings.Repeat("a", 300) + " intern",
}

func TestLiteralMatcherAgreesWithRegexp(t *testing.T) {
	for _, p := range literalPatterns {
		re := regexp.MustCompile(p.pattern)
		m := newLiteralMatcher(re)
		if (m != nil) != p.literal {
			t.Errorf("%q: literal matcher built = %v, want %v", p.pattern, m != nil, p.literal)
		}
		if m == nil {
			continue
		}
		for _, in := range literalInputs {
			if got, want := m.match(in), re.MatchString(in); got != want {
				t.Errorf("%q on %q: literal matcher says %v, regexp %v", p.pattern, in, got, want)
			}
		}
	}
}

func TestLiteralMatcherDoesNotAllocate(t *testing.T) {
	m := newLiteralMatcher(regexp.MustCompile(literalPatterns[1].pattern))
	allocs := testing.AllocsPerRun(100, func() { m.match("Director of Revenue Operations, EMEA") })
	if allocs != 0 {
		t.Errorf("match allocates %v times", allocs)
	}
}

func FuzzLiteralMatcher(f *testing.F) {
	for _, p := range literalPatterns {
		for _, in := range literalInputs[:8] {
			f.Add(p.pattern, in)
		}
	}
	f.Fuzz(func(t *testing.T, pattern, in string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		m := newLiteralMatcher(re)
		if m == nil {
			return
		}
		if got, want := m.match(in), re.MatchString(in); got != want {
			t.Fatalf("%q on %q: literal matcher says %v, regexp %v", pattern, in, got, want)
		}
	})
}

func BenchmarkTitleMatch(b *testing.B) {
	re := regexp.MustCompile(literalPatterns[1].pattern)
	m := newLiteralMatcher(re)
	const title = "Director of Revenue Operations, EMEA"
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			re.MatchString(title)
		}
	})
	b.Run("literal", func(b *testing.B) {
		for b.Loop() {
			m.match(title)
		}
	})
}

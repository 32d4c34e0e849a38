package rules_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/leadq/leadq/rules"
)

// bigRuleset writes a ruleset of n score rules over 40 fields, with the
// shapes real rules have: comparisons, list membership, and/or, functions.
func bigRuleset(n int) []byte {
	var b strings.Builder
	b.WriteString("ruleset: big\nfields:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  lead.n%d: int\n  lead.f%d: float\n  lead.s%d: string\n  lead.b%d: bool\n", i, i, i, i)
	}
	b.WriteString("  lead.email: string\n  lead.seen: date\n")
	b.WriteString("lists:\n  industries: [software, fintech, healthcare, retail, logistics]\n")
	b.WriteString("macros:\n  corporate: '!is_free_email(lead.email)'\n")
	b.WriteString("score:\n")
	for i := range n {
		k := i % 10
		var when string
		switch i % 5 {
		case 0:
			when = fmt.Sprintf("lead.n%d >= %d", k, i)
		case 1:
			when = fmt.Sprintf("lead.s%d in industries && lead.b%d", k, k)
		case 2:
			when = fmt.Sprintf("lead.f%d > %d.5 || lead.n%d < %d", k, i, (k+1)%10, i)
		case 3:
			when = fmt.Sprintf("corporate && days_since(lead.seen) < %d", i%90+1)
		case 4:
			when = fmt.Sprintf(`lower(lead.s%d) startsWith "a%d" and not lead.b%d`, k, i, (k+3)%10)
		}
		fmt.Fprintf(&b, "  - id: rule-%d\n    group: g%d\n    when: %s\n    points: %d\n    reason: \"n is {{lead.n%d}}\"\n", i, i%7, when, i%20+1, k)
	}
	b.WriteString("tiers:\n  - {name: A, min: 100}\n  - {name: B}\n")
	return []byte(b.String())
}

func BenchmarkCompile1000(b *testing.B) {
	src := bigRuleset(1000)
	b.ReportAllocs()
	for b.Loop() {
		f, err := rules.Parse("big.yaml", src)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rules.Compile(f); err != nil {
			b.Fatal(err)
		}
	}
}

// mapCache is the simplest ConditionCache, for tests and benchmarks.
type mapCache struct {
	m    map[string]*rules.CachedCondition
	hits int
}

func (c *mapCache) Get(k string) (*rules.CachedCondition, bool) {
	v, ok := c.m[k]
	if ok {
		c.hits++
	}
	return v, ok
}
func (c *mapCache) Add(k string, v *rules.CachedCondition) { c.m[k] = v }

// BenchmarkCompile1000Cached is a reload of the same 1000 rules after one
// edit: every other condition comes from the cache.
func BenchmarkCompile1000Cached(b *testing.B) {
	src := bigRuleset(1000)
	cc := rules.Compiler{Cache: &mapCache{m: map[string]*rules.CachedCondition{}}}
	f, _ := rules.Parse("big.yaml", src)
	if _, err := cc.Compile(f); err != nil {
		b.Fatal(err)
	}
	edited := []byte(strings.Replace(string(src), "lead.n0 >= 0", "lead.n0 >= 1", 1))
	b.ReportAllocs()
	for b.Loop() {
		f, err := rules.Parse("big.yaml", edited)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cc.Compile(f); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCompileCacheReuse(t *testing.T) {
	src := bigRuleset(50)
	cache := &mapCache{m: map[string]*rules.CachedCondition{}}
	cc := rules.Compiler{Cache: cache}
	f, _ := rules.Parse("big.yaml", src)
	first, err := cc.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	repeats := cache.hits // the generated rules repeat some conditions
	cache.hits = 0
	// Shift every line down: positions change, conditions do not.
	f2, _ := rules.Parse("big.yaml", append([]byte("# a comment\n"), src...))
	second, err := cc.Compile(f2)
	if err != nil {
		t.Fatal(err)
	}
	if cache.hits < 50 {
		t.Errorf("cache hits = %d; want every condition reused (>= 50)", cache.hits)
	}
	if got, want := second.Rules[7].When.Pos.Line, first.Rules[7].When.Pos.Line+1; got != want {
		t.Errorf("cached condition at line %d; want %d (its new position)", got, want)
	}
	if len(second.Warnings) != len(first.Warnings) {
		t.Errorf("warnings with cache = %v; without = %v", second.Warnings, first.Warnings)
	}
	// A new field changes every condition's environment: nothing is reused.
	cache.hits = 0
	f3, _ := rules.Parse("big.yaml", []byte(strings.Replace(string(src), "fields:\n", "fields:\n  lead.aaa: int\n", 1)))
	if _, err := cc.Compile(f3); err != nil {
		t.Fatal(err)
	}
	if cache.hits != repeats {
		t.Errorf("cache hits after a field was added = %d; want %d (only repeats within the file)", cache.hits, repeats)
	}
}

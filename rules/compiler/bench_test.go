package compiler_test

import (
	"strings"
	"testing"

	"github.com/leadq/leadq/internal/testrules"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/compiler"
)

func BenchmarkCompile1000(b *testing.B) {
	src := testrules.Big(1000)
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
	m    map[string]*compiler.CachedCondition
	hits int
}

func (c *mapCache) Get(k string) (*compiler.CachedCondition, bool) {
	v, ok := c.m[k]
	if ok {
		c.hits++
	}
	return v, ok
}
func (c *mapCache) Add(k string, v *compiler.CachedCondition) { c.m[k] = v }

// BenchmarkCompile1000Cached is a reload of the same 1000 rules after one
// edit: every other condition comes from the cache.
func BenchmarkCompile1000Cached(b *testing.B) {
	src := testrules.Big(1000)
	cc := compiler.Compiler{Cache: &mapCache{m: map[string]*compiler.CachedCondition{}}}
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
	src := testrules.Big(50)
	cache := &mapCache{m: map[string]*compiler.CachedCondition{}}
	cc := compiler.Compiler{Cache: cache}
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

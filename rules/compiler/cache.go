package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/leadq/leadq/rules/eval"
)

// ConditionCache keeps compiled conditions across compilations, so that a
// reload recompiles only the rules that changed. Implementations must be
// safe for concurrent use; the engine uses an LRU. Keys identify the
// expression text and everything it was compiled against (fields, lists,
// macros), so a hit is always valid.
type ConditionCache interface {
	Get(key string) (*CachedCondition, bool)
	Add(key string, c *CachedCondition)
}

// CachedCondition is a compiled condition with the names it used, which
// lint replays on a hit. It is immutable.
type CachedCondition struct {
	cond   *eval.Condition
	fields []string
	lists  []string
	macros []string
}

// envSignature hashes what conditions are compiled against: the declared
// fields in order (their types, indexes and slots are baked into compiled
// closures), the lists and the macros. Any change misses the whole cache.
func (c *builder) envSignature() string {
	h := sha256.New()
	for _, name := range c.fieldNames {
		f := c.fields[name]
		fmt.Fprintf(h, "f\x00%s\x00%d\x00%d\x00%d\n", f.Name, f.Type, f.Index, f.Slot)
	}
	for _, name := range slices.Sorted(maps.Keys(c.lists)) {
		fmt.Fprintf(h, "l\x00%s\x00%#v\n", name, c.lists[name].Values)
	}
	for _, name := range slices.Sorted(maps.Keys(c.macros)) {
		fmt.Fprintf(h, "m\x00%s\x00%s\n", name, c.macros[name].decl.Expr.Value)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (x *exprCompiler) cacheKey(src exprSource) string {
	return fmt.Sprintf("%s\x00%d\x00%s", x.envSig, src.kind, src.text.Value)
}

// cached returns a copy of a cached condition positioned at src, and
// replays the names it uses; nil when not cached.
func (x *exprCompiler) cached(src exprSource) *eval.Condition {
	if x.cache == nil {
		return nil
	}
	hit, ok := x.cache.Get(x.cacheKey(src))
	if !ok {
		return nil
	}
	for _, n := range hit.fields {
		x.c.usedFields[n] = true
	}
	for _, n := range hit.lists {
		x.c.usedLists[n] = true
	}
	for _, n := range hit.macros {
		x.c.usedMacros[n] = true
	}
	cond := *hit.cond
	cond.Pos = src.text.Pos
	return &cond
}

func (x *exprCompiler) remember(src exprSource, cond *eval.Condition, used *usedNames) {
	if x.cache == nil || cond == nil {
		return
	}
	x.cache.Add(x.cacheKey(src), &CachedCondition{cond: cond, fields: used.fields, lists: used.lists, macros: used.macros})
}

// usedNames collects what one expression reads, for the cache.
type usedNames struct {
	fields, lists, macros []string
}

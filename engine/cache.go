package engine

import (
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/leadq/leadq/rules/compiler"
)

// programCacheSize bounds the conditions kept across reloads: a few
// thousand covers several large rulesets with room for their history.
const programCacheSize = 8192

// programCache keeps compiled conditions across reloads in an LRU, so that
// saving one rule recompiles that rule only. It is safe for concurrent use.
type programCache struct {
	lru *lru.Cache[string, *compiler.CachedCondition]
}

func newProgramCache(size int) *programCache {
	c, err := lru.New[string, *compiler.CachedCondition](size)
	if err != nil {
		panic(err) // only for size <= 0, a programming error
	}
	return &programCache{lru: c}
}

func (c *programCache) Get(key string) (*compiler.CachedCondition, bool) { return c.lru.Get(key) }
func (c *programCache) Add(key string, v *compiler.CachedCondition)      { c.lru.Add(key, v) }

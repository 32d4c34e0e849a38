package server

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Decision ids are UUIDv7s of the time they are made, unique across
// goroutines that make them at once, and increasing in the order made.
func TestDecisionIDs(t *testing.T) {
	ids := newDecisionIDs()
	const goroutines, each = 8, 5000
	made := make([][]string, goroutines)
	before := time.Now().Add(-time.Millisecond)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				made[g] = append(made[g], ids.next())
			}
		})
	}
	wg.Wait()
	after := time.Now().Add(time.Millisecond)
	seen := make(map[string]bool, goroutines*each)
	for _, list := range made {
		for i, s := range list {
			id, err := uuid.Parse(s)
			if err != nil || id.Version() != 7 || id.Variant() != uuid.RFC4122 || id.String() != s {
				t.Fatalf("id %q: version %d, variant %v, err %v; want a UUIDv7 in its canonical form", s, id.Version(), id.Variant(), err)
			}
			if at := time.Unix(id.Time().UnixTime()); at.Before(before) || at.After(after) {
				t.Fatalf("id %s is of %v, not of the test's time", s, at)
			}
			if seen[s] {
				t.Fatalf("id %s made twice", s)
			}
			seen[s] = true
			if i > 0 && s <= list[i-1] {
				t.Fatalf("id %s made after %s sorts before it", s, list[i-1])
			}
		}
	}
}

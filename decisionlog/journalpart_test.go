package decisionlog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
)

// TestJournalParts: a batch larger than a journal part (about 1 MiB of
// decisions) is appended as several journal rows, none much over the part,
// and every decision of it is found, before and after the indexer moves
// them.
func TestJournalParts(t *testing.T) { backends(t, testJournalParts) }

func testJournalParts(t *testing.T, target string) {
	s := newScorer(t)
	ctx := context.Background()
	l, _ := openAt(t, target, decisionlog.WithIndexing(time.Hour, 1<<30))
	const n, pad = 40, 60 << 10 // 2.4 MB of requests, kept as they came (no mask)
	var entries []decisionlog.Entry
	for i := range n {
		input := fmt.Sprintf(`{"id": "M-%d", "lead": {"email": "p%d@northbank.example", "employees": 300, "notes": %q}}`,
			i, i, strings.Repeat("x", pad))
		d, err := s.rs.ScoreJSON(ctx, []byte(input), engine.Options{Clock: clock, Detail: engine.Brief})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, decisionlog.Entry{Time: t0, Decision: d, Ruleset: s.rs, Input: []byte(input)})
	}
	mustLog(t, l, entries...)
	db := rawDB(t, target)
	rows, err := db.Query(`SELECT n FROM journal`)
	if err != nil {
		t.Fatal(err)
	}
	total, parts := 0, 0
	for rows.Next() {
		var k int
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		// A part closes at the first decision that takes it past 1 MiB.
		if most := (1<<20)/pad + 1; k > most {
			t.Errorf("a journal row holds %d decisions of %d bytes; want at most %d", k, pad, most)
		}
		total, parts = total+k, parts+1
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if total != n || parts < 3 {
		t.Fatalf("the journal holds %d decisions in %d rows; want %d in 3 or more", total, parts, n)
	}
	findAll(t, l, n)
	if err := l.Index(ctx); err != nil {
		t.Fatal(err)
	}
	findAll(t, l, n)
}

package decisionlog

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/pgtest"
)

// TestJournalInsertPlannedOnce: on PostgreSQL the writer appends journal
// parts through a statement prepared on its connection, which PostgreSQL
// plans once for every part (a generic plan) after its first few. An
// unnamed statement was planned again for each part, with the part (some
// 250 KB) folded into the plan as a constant and copied with it.
func TestJournalInsertPlannedOnce(t *testing.T) {
	target := pgtest.Database(t)
	ctx := context.Background()
	l, err := Open(ctx, target, WithBatch(1), WithIndexing(time.Hour, 1<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// One connection: the writer's is then the one the query below reads
	// its session's prepared statements on. (Close's indexing needs more.)
	l.db.SetMaxOpenConns(1)
	defer l.db.SetMaxOpenConns(0)
	const parts = 8 // PostgreSQL plans the first five executions for their values
	for _, e := range leadEntries(t, parts, engine.Brief) {
		l.Log(ctx, e)
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var generic, custom int64
	err = l.db.QueryRowContext(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'leadq_append_journal'`).Scan(&generic, &custom)
	if errors.Is(err, sql.ErrNoRows) {
		t.Fatal("the writer's connection has no prepared journal insert: each part is planned again")
	}
	if err != nil {
		t.Fatal(err)
	}
	if generic+custom != parts || generic == 0 {
		t.Errorf("the journal insert ran with %d generic and %d custom plans; want %d in all, the later ones generic", generic, custom, parts)
	}
}

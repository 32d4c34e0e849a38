package decisionlog_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/decisionlog"
)

// lookups are what the reps' page, `leadq why` and `leadq stats` ask of a
// log, as text to compare.
func lookups(t *testing.T, r *decisionlog.Reader, id string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, q := range []decisionlog.Query{
		{LeadID: "J-007"}, {Email: "p7@company0.example"}, {Text: "j-00"}, {Text: "company1"},
		{Text: "holdings", Limit: 100}, {Text: "p12@company1.example"}, {Text: id},
	} {
		recs, err := r.Find(ctx, q)
		if err != nil {
			t.Fatalf("Find(%+v): %v", q, err)
		}
		out = append(out, fmt.Sprintf("%+v: %v", q, ids(recs)))
	}
	rec, err := r.Get(ctx, id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	out = append(out, "get: "+rec.LeadID+" "+rec.Decision.Tier)
	n, err := r.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.Stats(ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, fmt.Sprintf("count %d, stats %+v", n, st.Rulesets))
	return out
}

// TestJournal: decisions in the journal are found as the indexed ones
// are, by every lookup; Index moves them all, and the answers stay the
// same.
func TestJournal(t *testing.T) { backends(t, testJournal) }

func testJournal(t *testing.T, target string) {
	s := newScorer(t)
	ctx := context.Background()
	l, _ := openAt(t, target, decisionlog.WithIndexing(time.Hour, 1<<20))
	var es []decisionlog.Entry
	for i := range 40 {
		es = append(es, s.entry(t, t0.Add(time.Duration(i)*time.Second),
			fmt.Sprintf(`{"id": "J-%03d", "lead": {"email": "p%d@company%d.example", "company": "Company %d Holdings", "country": "DE", "employees": %d}}`, i, i, i/10, i/10, 10*i)))
	}
	mustLog(t, l, es[:25]...)
	if err := l.Index(ctx); err != nil {
		t.Fatal(err)
	}
	mustLog(t, l, es[25:]...) // some leads indexed, some in the journal only
	mustLog(t, l, es[5:10]...)
	if h := l.Health(); h.Unindexed != 20 {
		t.Errorf("Health().Unindexed = %d; want 20", h.Unindexed)
	}
	recs, err := l.Find(ctx, decisionlog.Query{LeadID: "J-030"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("Find(J-030) = %v, %v; want one decision", ids(recs), err)
	}
	before := lookups(t, l.Reader, recs[0].ID)
	if err := l.Index(ctx); err != nil {
		t.Fatal(err)
	}
	if h := l.Health(); h.Unindexed != 0 || h.IndexLagSeconds != 0 {
		t.Errorf("Health() after Index = %d unindexed, %v s lag; want 0, 0", h.Unindexed, h.IndexLagSeconds)
	}
	after := lookups(t, l.Reader, recs[0].ID)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("lookups in the journal and indexed differ (-journal +indexed):\n%s", diff)
	}
	if n, _ := l.Count(ctx); n != 45 {
		t.Errorf("Count() = %d; want 45", n)
	}
}

// TestJournalBound: once the journal holds the bound's decisions
// (WithIndexing, leadq serve --log-journal), the writer indexes as it
// writes, without waiting to be idle; below it, the journal keeps them
// until then.
func TestJournalBound(t *testing.T) { backends(t, testJournalBound) }

func testJournalBound(t *testing.T, target string) {
	s := newScorer(t)
	ctx := context.Background()
	const rows, per = 6, 50
	for _, tc := range []struct {
		bound        int
		most, fewest int64 // decisions left unindexed
	}{
		{bound: 100, most: 99, fewest: 0},
		{bound: 1 << 20, most: rows * per, fewest: rows * per},
	} {
		l, _ := openAt(t, target, decisionlog.WithIndexing(time.Hour, tc.bound))
		for k := range rows {
			var es []decisionlog.Entry
			for i := range per {
				es = append(es, s.entry(t, t0.Add(time.Duration(k*per+i)*time.Second),
					fmt.Sprintf(`{"id": "B-%d-%d-%d", "lead": {"email": "b%d@company%d.example", "country": "DE", "employees": %d}}`, tc.bound, k, i, i, k, 10*i)))
			}
			mustLog(t, l, es...) // a journal row each
		}
		// The writer checks the bound after each row it writes, before it
		// runs the next Flush.
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if h := l.Health(); h.Unindexed > tc.most || h.Unindexed < tc.fewest {
			t.Errorf("bound %d: %d decisions written, %d left unindexed; want %d to %d", tc.bound, rows*per, h.Unindexed, tc.fewest, tc.most)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJournalIndexedByAnother: a writer that stops with decisions in the
// journal (killed, or its database down at Close) leaves them to the next
// one, which indexes them when idle.
func TestJournalIndexedByAnother(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.db")
	first, _ := openAt(t, path, decisionlog.WithIndexing(time.Hour, 1<<20))
	mustLog(t, first, decided("L-1", t0, true, nil), decided("L-2", t0, false, nil))
	second, _ := openAt(t, path, decisionlog.WithIndexing(10*time.Millisecond, 1<<20))
	deadline := time.Now().Add(10 * time.Second)
	for countRows(t, path, "journal") > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := countRows(t, path, "decisions"); n != 2 {
		t.Errorf("decisions has %d rows; want 2 (the first writer's, indexed by the second)", n)
	}
	if got, err := second.Find(context.Background(), decisionlog.Query{Text: "l-"}); err != nil || len(got) != 2 {
		t.Errorf("Find(l-) = %v, %v; want 2", ids(got), err)
	}
}

// TestJournalMigrated: a log of schema 1 (before the journal) or 2
// (before its summaries) opens for reading as it is, and a writer adds
// what it lacks.
func TestJournalMigrated(t *testing.T) {
	for _, c := range []struct {
		schema string
		drop   []string
	}{
		{"1", []string{`DROP TABLE journal`, `DROP TABLE journal_parts`}},
		{"2", []string{`DROP TABLE journal_parts`}},
	} {
		t.Run("schema="+c.schema, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "decisions.db")
			l, _ := openAt(t, path, decisionlog.WithIndexing(time.Hour, 1<<20))
			mustLog(t, l, decided("L-1", t0, true, nil))
			if c.schema == "1" {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			} // else L-1 stays in the journal (l closes at the end), without a summary once dropped
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range append(c.drop, `UPDATE meta SET value = '`+c.schema+`' WHERE key = 'schema_version'`) {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			r, err := decisionlog.OpenReader(context.Background(), path)
			if err != nil {
				t.Fatalf("OpenReader(schema %s) = %v", c.schema, err)
			}
			if got, err := r.Find(context.Background(), decisionlog.Query{LeadID: "L-1"}); err != nil || len(got) != 1 {
				t.Errorf("Find(L-1) in a log of schema %s = %v, %v; want 1", c.schema, ids(got), err)
			}
			r.Close()
			l, _ = openAt(t, path, decisionlog.WithIndexing(time.Hour, 1<<20))
			mustLog(t, l, decided("L-2", t0, true, nil))
			want := 1
			if c.schema == "2" {
				want = 2 // L-1's row, without a summary, and L-2's
			}
			if n := countRows(t, path, "journal"); n != want {
				t.Errorf("journal has %d rows after a batch; want %d", n, want)
			}
			if n := countRows(t, path, "journal_parts"); n != 1 {
				t.Errorf("journal_parts has %d rows after a batch; want 1", n)
			}
			for _, lead := range []string{"L-1", "L-2"} {
				if got, err := l.Find(context.Background(), decisionlog.Query{LeadID: lead}); err != nil || len(got) != 1 {
					t.Errorf("Find(%s) = %v, %v; want 1", lead, ids(got), err)
				}
			}
			if n, err := l.Count(context.Background()); err != nil || n != 2 {
				t.Errorf("Count() = %d, %v; want 2", n, err)
			}
		})
	}
}

// TestCountDuringIndexing: Count and Stats read the journal and the
// indexed tables while the indexer moves rows from one to the other (a
// replica's reader, or `leadq stats`, beside a writer): every answer
// counts each decision once. Count reads no journal row's data, and Stats
// only the rows whose decisions may be in its window.
func TestCountDuringIndexing(t *testing.T) { backends(t, testCountDuringIndexing) }

func testCountDuringIndexing(t *testing.T, target string) {
	s := newScorer(t)
	ctx := context.Background()
	l, _ := openAt(t, target, decisionlog.WithIndexing(time.Hour, 1<<20))
	r, err := decisionlog.OpenReader(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	decisions := func(st decisionlog.Stats) int {
		n := 0
		for _, rs := range st.Rulesets {
			n += rs.Decisions
		}
		return n
	}
	const rounds, per, row = 4, 200, 50
	total := 0
	for round := range rounds {
		at := t0.Add(time.Duration(round) * time.Hour)
		for k := 0; k < per; k += row { // a journal row each
			var es []decisionlog.Entry
			for i := k; i < k+row; i++ {
				es = append(es, s.entry(t, at.Add(time.Duration(i)*time.Millisecond),
					fmt.Sprintf(`{"id": "C-%d-%d", "lead": {"email": "c%d@company%d.example", "country": "DE", "employees": %d}}`, round, i, i, round, 10*i)))
			}
			mustLog(t, l, es...)
		}
		total += per

		// Count reads no journal row; Stats of this round's hour reads
		// this round's rows only: the journal's (the last round's are
		// indexed), per/row of them unless the writer took a part before
		// a row's entries were all in (its linger, on a busy machine).
		rows, _, _ := decisionlog.JournalRead(r)
		inJournal := countRows(t, target, "journal")
		if n, err := r.Count(ctx); err != nil || n != total {
			t.Fatalf("round %d: Count() = %d, %v; want %d", round, n, err, total)
		}
		if st, err := r.Stats(ctx, at, at.Add(time.Hour)); err != nil || decisions(st) != per {
			t.Fatalf("round %d: Stats of its hour = %d decisions, %v; want %d", round, decisions(st), err, per)
		}
		if after, _, _ := decisionlog.JournalRead(r); after-rows != int64(inJournal) || inJournal < per/row {
			t.Errorf("round %d: Count and Stats of its hour read %d journal rows; want %d (this round's, at least %d)", round, after-rows, inJournal, per/row)
		}

		done := make(chan error, 1)
		go func() { done <- l.Index(ctx) }()
		for indexing := true; indexing; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				indexing = false
			default:
			}
			if n, err := r.Count(ctx); err != nil || n != total {
				t.Fatalf("round %d, indexing: Count() = %d, %v; want %d", round, n, err, total)
			}
			st, err := r.Stats(ctx, t0, t0.Add(rounds*time.Hour))
			if err != nil || decisions(st) != total {
				t.Fatalf("round %d, indexing: Stats() = %d decisions, %v; want %d", round, decisions(st), err, total)
			}
		}
	}
}

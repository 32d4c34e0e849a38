package decisionlog_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
)

func exampleLeads(t testing.TB) []string {
	t.Helper()
	files, _ := filepath.Glob("../examples/leads/*.json")
	var out []string
	for _, f := range files {
		out = append(out, readExample(t, filepath.Base(f)))
	}
	return out
}

// exampleDocs is exampleLeads decoded, for tests that make distinct leads
// of them (DistinctLead).
func exampleDocs(t testing.TB) []map[string]any {
	t.Helper()
	var docs []map[string]any
	for _, lead := range exampleLeads(t) {
		var doc map[string]any
		if err := json.Unmarshal([]byte(lead), &doc); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	return docs
}

// A decision is stored as its input and version, and read back rebuilt:
// it must be the decision answered, byte for byte, id included, for every
// example lead (missing fields, wrong types and knockouts among them), on
// both databases.
func TestRebuiltExactly(t *testing.T) { backends(t, testRebuiltExactly) }

func testRebuiltExactly(t *testing.T, target string) {
	s := newScorer(t)
	ctx := context.Background()
	l, _ := openAt(t, target)
	var answered []engine.Decision
	for i, lead := range exampleLeads(t) {
		e := s.entry(t, t0.Add(time.Duration(i)*time.Second), lead)
		id, _ := uuid.NewV7()
		e.Decision.ID = id.String()
		// The server's clock is the wall clock; here the log's is t0.
		sec, nsec := id.Time().UnixTime()
		d, err := s.rs.ScoreJSON(ctx, []byte(lead), engine.Options{Clock: func() time.Time { return time.Unix(sec, nsec) }})
		if err != nil {
			t.Fatal(err)
		}
		d.ID = e.Decision.ID
		e.Decision = d
		answered = append(answered, d)
		mustLog(t, l, e)
	}
	for _, want := range answered {
		got, err := l.Get(ctx, want.ID)
		if err != nil {
			t.Fatalf("Get(%s): %v", want.ID, err)
		}
		if g, w := got.Decision.AppendJSON(nil), want.AppendJSON(nil); !bytes.Equal(g, w) {
			t.Errorf("decision %s about %s read back as\n%s\nwant\n%s", want.ID, want.LeadID, g, w)
		}
	}
}

// TestBytesPerDecision logs 20,000 decisions on the example leads and
// reports what one takes in the database, indexes included (BENCHMARKS.md);
// the target is 300 bytes.
func TestBytesPerDecision(t *testing.T) {
	if testing.Short() {
		t.Skip("logs 20,000 decisions")
	}
	backends(t, func(t *testing.T, target string) {
		s := newScorer(t)
		ctx := context.Background()
		l, path := openAt(t, target, decisionlog.WithIndexing(time.Hour, 1<<20))
		leads := exampleLeads(t)
		var entries []decisionlog.Entry
		for _, lead := range leads {
			entries = append(entries, s.entry(t, t0, lead))
		}
		const n = 20000
		for i := range n {
			e := entries[i%len(entries)]
			e.Time = t0.Add(time.Duration(i) * time.Millisecond)
			if !l.Log(ctx, e) {
				t.Fatal("dropped")
			}
		}
		// size is what table (and, on SQLite, its indexes) take.
		size := func(table string) int64 {
			var size int64
			if decisionlog.IsURL(target) {
				db, err := sql.Open("pgx", target)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				db.ExecContext(ctx, "VACUUM ANALYZE "+table)
				if err := db.QueryRowContext(ctx, "SELECT pg_total_relation_size('"+table+"')").Scan(&size); err != nil {
					t.Fatal(err)
				}
				return size
			}
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// The table and its indexes, pages in use.
			if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pgsize - unused), 0) FROM dbstat WHERE name LIKE ?`, table+"%").Scan(&size); err != nil {
				t.Fatal(err)
			}
			return size
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("%.0f bytes per decision in the journal, before indexing (%d decisions, %d bytes)", float64(size("journal"))/n, n, size("journal"))
		if err := l.Close(); err != nil { // indexes the journal
			t.Fatal(err)
		}
		total := size("decisions") + size("journal")
		per := float64(total) / n
		t.Logf("%.0f bytes per decision (%d decisions, %d bytes, indexes included)", per, n, total)
		if !decisionlog.IsURL(target) && per > 300 {
			t.Errorf("%.0f bytes per decision in SQLite; the target is 300", per)
		}
	})
}

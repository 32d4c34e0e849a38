package decisionlog_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read a PostgreSQL log's bytes
	"github.com/klauspost/compress/s2"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
)

// TestMaskNeverStoredInClear is the masking guarantee: with a mask, no
// masked value reaches the database in clear, neither in the journal (its
// rows decompressed) while decisions wait there nor in the indexed tables
// once moved, brief or full, for a reason that quotes the value too. It
// scans every column of every row of journal, decisions and search_keys.
func TestMaskNeverStoredInClear(t *testing.T) { backends(t, testMaskNeverStoredInClear) }

func testMaskNeverStoredInClear(t *testing.T, target string) {
	s := newScorer(t)
	ctx := context.Background()
	for _, mode := range []string{"hash", "drop"} {
		t.Run(mode, func(t *testing.T) {
			m, _ := decisionlog.ParseMask(mode)
			m.Key = testKey
			at := target
			if !strings.Contains(target, "://") {
				at = strings.TrimSuffix(target, ".db") + "-" + mode + ".db"
			} else if mode != "hash" {
				return // one PostgreSQL database a test: the hash mode covers it
			}
			l, _ := openAt(t, at, decisionlog.WithMask(m), decisionlog.WithIndexing(time.Hour, 1<<30))
			var secrets []string
			var entries []decisionlog.Entry
			for i := range 40 {
				email := fmt.Sprintf("Jordan.Lee%d@pipelinepro.example", i) // a competitor's: the reason quotes it
				if i%2 == 1 {
					email = fmt.Sprintf("Avery.Quinn%d@northbank.example", i)
				}
				phone, first, company := fmt.Sprintf("+1 555 01%02d", i), fmt.Sprintf("Marisol%d", i), fmt.Sprintf("Quillfeather %d Ltd", i)
				secrets = append(secrets, email, strings.ToLower(email), strings.Split(email, "@")[0], phone, first, company)
				input := fmt.Sprintf(`{"id": "M-%d", "lead": {"email": %q, "phone": %q, "first_name": %q, "company": %q, "seniority": "vp", "employees": 300, "country": "US"}}`,
					i, email, phone, first, company)
				opts := engine.Options{Clock: clock}
				if i%4 < 2 {
					opts.Detail = engine.Brief
				}
				d, err := s.rs.ScoreJSON(ctx, []byte(input), opts)
				if err != nil {
					t.Fatal(err)
				}
				entries = append(entries, decisionlog.Entry{Time: t0, Decision: d, Ruleset: s.rs, Input: []byte(input)})
			}
			mustLog(t, l, entries...)
			if n := countRowsAt(t, at, "journal"); n == 0 {
				t.Fatal("the journal is empty before Index; the test would not see it")
			}
			scanClear(t, at, secrets)
			before := findAll(t, l, len(entries))
			if err := l.Index(ctx); err != nil {
				t.Fatal(err)
			}
			if n := countRowsAt(t, at, "journal"); n != 0 {
				t.Fatalf("the journal holds %d rows after Index", n)
			}
			scanClear(t, at, secrets)
			after := findAll(t, l, len(entries))
			for i := range after {
				if !cmp.Equal(before[i].Decision.Matched, after[i].Decision.Matched) || before[i].Decision.Score != after[i].Decision.Score {
					t.Errorf("decision %s: once indexed, matched %v, score %d; from the journal %v, %d",
						after[i].ID, after[i].Decision.Matched, after[i].Decision.Score, before[i].Decision.Matched, before[i].Decision.Score)
				}
				for _, hs := range [][]engine.Hit{after[i].Decision.Knockouts, after[i].Decision.Matched} {
					for _, h := range hs {
						for _, secret := range secrets {
							if strings.Contains(h.Reason, secret) {
								t.Errorf("decision %s: reason %q holds %q", after[i].ID, h.Reason, secret)
							}
						}
					}
				}
			}
		})
	}
}

// findAll finds the decisions about leads M-0 to M-(n-1), one each.
func findAll(t *testing.T, l *decisionlog.Log, n int) []decisionlog.Record {
	t.Helper()
	var out []decisionlog.Record
	for i := range n {
		got, err := l.Find(context.Background(), decisionlog.Query{LeadID: fmt.Sprintf("M-%d", i)})
		if err != nil || len(got) != 1 {
			t.Fatalf("Find(M-%d) = %d, %v; want 1", i, len(got), err)
		}
		out = append(out, got[0])
	}
	return out
}

// scanClear fails for every clear value found in the journal (each row
// decompressed), decisions or search_keys of the log at target.
func scanClear(t *testing.T, target string, secrets []string) {
	t.Helper()
	db := rawDB(t, target)
	for _, table := range []string{"journal", "decisions", "search_keys"} {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				b := []byte(fmt.Sprint(v))
				if x, ok := v.([]byte); ok {
					b = x
				}
				if table == "journal" && cols[i] == "data" {
					if b, err = s2.Decode(nil, b); err != nil {
						t.Fatalf("journal data: %v", err)
					}
				}
				for _, secret := range secrets {
					if bytes.Contains(b, []byte(secret)) {
						t.Errorf("%s.%s holds %q in clear", table, cols[i], secret)
					}
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
}

func countRowsAt(t *testing.T, target, table string) int {
	t.Helper()
	db := rawDB(t, target)
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rawDB opens the database of the log at target as it is, past the log's
// API, closed when the test ends.
func rawDB(t *testing.T, target string) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if strings.Contains(target, "://") {
		driver = "pgx"
	}
	db, err := sql.Open(driver, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

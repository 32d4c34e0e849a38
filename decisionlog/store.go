package decisionlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/leadq/leadq/rules"
)

// versionRow is what versions stores of a ruleset version: the dictionary
// of its stored inputs, its rules in index order (knockouts, then score
// rules: the indexes of decisions.rules), and its sources.
type versionRules struct {
	Knockouts []string `json:"knockouts"`
	Score     []string `json:"score"`
}

type versionSources struct {
	Files []sourceFile `json:"files"`
}

type sourceFile struct {
	Name string `json:"name"`
	Src  string `json:"src"`
}

func storeVersion(ctx context.Context, d *db, name, version string, rs *rules.Ruleset) (int64, error) {
	fields, vr, sources := []byte("[]"), versionRules{Knockouts: []string{}, Score: []string{}}, []byte(nil)
	if rs != nil {
		fields, _ = json.Marshal(fieldNames(rs))
		for _, r := range rs.Knockouts {
			vr.Knockouts = append(vr.Knockouts, r.ID)
		}
		for _, r := range rs.Rules {
			vr.Score = append(vr.Score, r.ID)
		}
		var src versionSources
		for i, f := range rs.Files {
			src.Files = append(src.Files, sourceFile{Name: f, Src: string(rs.Sources[i])})
		}
		sources, _ = json.Marshal(src)
	}
	rulesJSON, _ := json.Marshal(vr)
	if _, err := d.exec(ctx, `INSERT INTO versions (ruleset, version, fields, rules, sources) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (version) DO UPDATE SET fields = excluded.fields, rules = excluded.rules, sources = excluded.sources
		WHERE versions.sources IS NULL AND excluded.sources IS NOT NULL`,
		clean(name), clean(version), string(fields), string(rulesJSON), sources); err != nil {
		return 0, err
	}
	var id int64
	err := d.queryRow(ctx, `SELECT id FROM versions WHERE version = ?`, clean(version)).Scan(&id)
	return id, err
}

// The columns of decisions, in the order rowArgs gives them.
var decisionColumns = []string{"id", "lead_id", "email", "version_id", "qualified", "tier", "score", "rules", "input", "extra"}

func (l *Log) rowArgs(r *row) []any { return l.appendRowArgs(nil, r) }

func (l *Log) appendRowArgs(args []any, r *row) []any {
	var id any = r.id[:]
	if l.db.postgres {
		id = uuid.UUID(r.id)
	}
	var extra any
	if r.extra != nil {
		extra = r.extra
	}
	return append(args, id, r.leadID, r.email, r.versionID, r.qualified, clean(r.tier), int64(r.score), r.rules, r.input, extra)
}

// sqliteWriter is the writer's own SQLite connection and its statements,
// prepared once: the journal's INSERT, a full-size INSERT of decisions and
// one of search keys for the indexer (parsing a statement of a thousand
// parameters costs more than running it). It belongs to the writer
// goroutine.
type sqliteWriter struct {
	conn                       *sql.Conn
	journal, parts, rows, keys *sql.Stmt
}

func (l *Log) sqliteStatements(ctx context.Context) (*sqliteWriter, error) {
	if l.sqlite != nil {
		return l.sqlite, nil
	}
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	st := &sqliteWriter{conn: conn}
	if _, err = conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", writerCacheKiB)); err == nil {
		if st.journal, err = conn.PrepareContext(ctx, `INSERT INTO journal (n, appended, data) VALUES (?, ?, ?)`); err == nil {
			if st.rows, err = conn.PrepareContext(ctx, insertSQL(rowsPerInsert)); err == nil {
				if st.keys, err = conn.PrepareContext(ctx, keysSQL(keysPerInsert)); err == nil {
					st.parts, err = conn.PrepareContext(ctx, `INSERT INTO journal_parts (seq, lo, hi, filter) VALUES (last_insert_rowid(), ?, ?, ?)`)
				}
			}
		}
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	l.sqlite = st
	return st, nil
}

// writerCacheKiB is the page cache of the writer's SQLite connection
// (about SQLite's own default), against cacheKiB for the others. The
// writer appends the journal's blobs, which it reads once more to index
// them; in a cache of cacheKiB each of those pages took a fresh page of
// memory until the cache was full (the first 64 MiB a process wrote: a
// fresh server's first bulk streams faulted them in, about 5,500 faults a
// round and a tenth of its CPU, on this machine). The indexer's inserts
// into the tables and their indexes are no slower for it at a million
// decisions (BENCHMARKS.md, sixth session).
const writerCacheKiB = 2 << 10

// closeStatements closes the writer's SQLite connection, if open. The
// connection goes back to the pool with its page cache as the others'.
func (l *Log) closeStatements() {
	if l.sqlite == nil {
		return
	}
	l.sqlite.journal.Close()
	l.sqlite.parts.Close()
	l.sqlite.rows.Close()
	l.sqlite.keys.Close()
	l.sqlite.conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA cache_size = -%d", cacheKiB))
	l.sqlite.conn.Close()
	l.sqlite = nil
}

// insertRowsTx inserts rows in the transaction the writer's connection
// is in.
func (st *sqliteWriter) insertRowsTx(ctx context.Context, l *Log, rows []row) error {
	args := make([]any, 0, rowsPerInsert*len(decisionColumns))
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		args = args[:0]
		for i := range rows[:n] {
			args = l.appendRowArgs(args, &rows[i])
		}
		if err := st.exec(ctx, st.rows, n, rowsPerInsert, insertSQL, args); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// insertKeysTx inserts search keys in the transaction the writer's
// connection is in.
func (st *sqliteWriter) insertKeysTx(ctx context.Context, keys, leads []string) error {
	args := make([]any, 0, 2*keysPerInsert)
	for len(keys) > 0 {
		n := min(len(keys), keysPerInsert)
		args = args[:0]
		for i := range n {
			args = append(args, keys[i], leads[i])
		}
		if err := st.exec(ctx, st.keys, n, keysPerInsert, keysSQL, args); err != nil {
			return err
		}
		keys, leads = keys[n:], leads[n:]
	}
	return nil
}

// inTx runs f in a transaction on the writer's connection. It begins and
// ends the transaction itself: database/sql's Tx would prepare the
// connection's statements again for each transaction.
func (st *sqliteWriter) inTx(ctx context.Context, f func() error) error {
	if _, err := st.conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return err
	}
	if err := f(); err != nil {
		st.conn.ExecContext(ctx, `ROLLBACK`)
		return err
	}
	_, err := st.conn.ExecContext(ctx, `COMMIT`)
	return err
}

// exec runs full, the statement for size rows, or for fewer rows (n) one
// made for them.
func (st *sqliteWriter) exec(ctx context.Context, full *sql.Stmt, n, size int, stmt func(int) string, args []any) error {
	var err error
	if n == size {
		_, err = full.ExecContext(ctx, args...)
	} else {
		_, err = st.conn.ExecContext(ctx, stmt(n), args...)
	}
	return err
}

// keysPerInsert is how many search keys one SQLite INSERT carries.
const keysPerInsert = 400

// rowsPerInsert is how many rows one SQLite INSERT carries: the driver's
// cost is per statement, so a few large ones beat many small ones.
const rowsPerInsert = 90 // 10 columns a row, under SQLite's 999 parameters

// insertSQL is an INSERT of n rows that skips ids already stored (a batch
// retried after its commit was lost).
func insertSQL(n int) string {
	group := "(" + strings.Repeat("?, ", len(decisionColumns)-1) + "?)"
	return `INSERT INTO decisions (` + strings.Join(decisionColumns, ", ") + `) VALUES ` +
		strings.Repeat(group+", ", n-1) + group + ` ON CONFLICT (id) DO NOTHING`
}

// keysSQL inserts n search keys, skipping those stored already.
func keysSQL(n int) string {
	return `INSERT INTO search_keys (key, lead_id) VALUES ` + strings.Repeat("(?, ?), ", n-1) + `(?, ?) ON CONFLICT DO NOTHING`
}

// insertRows writes rows with plain INSERTs, for the one-by-one path.
func (l *Log) insertRows(ctx context.Context, rows []row) error {
	if err := l.encodeRaw(ctx, rows); err != nil {
		return err
	}
	for i := range rows {
		rows[i].fillKeys()
		if _, err := l.db.exec(ctx, insertSQL(1), l.rowArgs(&rows[i])...); err != nil {
			return err
		}
		for _, k := range rows[i].keys {
			if _, err := l.db.exec(ctx, keysSQL(1), k, rows[i].leadID); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanID reads a decision id as either database returns it.
type scanID [16]byte

func (s *scanID) Scan(v any) error {
	switch x := v.(type) {
	case []byte:
		if len(x) == 16 {
			copy(s[:], x)
			return nil
		}
		u, err := uuid.ParseBytes(x)
		*s = scanID(u)
		return err
	case string:
		u, err := uuid.Parse(x)
		*s = scanID(u)
		return err
	case [16]byte:
		*s = x
		return nil
	}
	return fmt.Errorf("decision id of type %T", v)
}

// idArg is a decision id as a query parameter.
func (d *db) idArg(id [16]byte) any {
	if d.postgres {
		return uuid.UUID(id)
	}
	return id[:]
}

var _ sql.Scanner = (*scanID)(nil)

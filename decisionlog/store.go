package decisionlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
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

// resolveVersions gives every row its versions.id, storing each version the
// first time the writer meets it (once per version and database: a replica
// that finds the row another one stored uses it).
func (l *Log) resolveVersions(ctx context.Context, batch []Entry, rows []row) error {
	for i := range rows {
		r := &rows[i]
		if id, ok := l.versions[r.version]; ok {
			r.versionID = id
			continue
		}
		var rs *rules.Ruleset
		if e := batch[i].Ruleset; e != nil && e.Version == r.version {
			rs = e.Ruleset
		}
		id, err := storeVersion(ctx, l.db, batch[i].Decision.Ruleset.Name, r.version, rs)
		if err != nil {
			return fmt.Errorf("store ruleset version %s: %w", r.version, err)
		}
		if rs != nil {
			l.versions[r.version] = id // a version without sources is looked up again, to store them when they come
		}
		r.versionID = id
	}
	return nil
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

func (l *Log) rowArgs(r *row) []any {
	var id any = r.id[:]
	if l.db.postgres {
		id = uuid.UUID(r.id)
	}
	var extra any
	if r.extra != nil {
		extra = r.extra
	}
	return []any{id, r.leadID, r.email, r.versionID, r.qualified, clean(r.tier), int64(r.score), r.rules, r.input, extra}
}

// newKeys are the search keys of rows whose leads the writer has not keyed
// lately, as (key, lead id) pairs; the set of leads seen is reset when it
// grows large (a key stored twice is ignored by the database).
func (l *Log) newKeys(rows []row) (keys, leads []string) {
	if len(l.keyed) > 100_000 {
		clear(l.keyed)
	}
	for i := range rows {
		r := &rows[i]
		if len(r.keys) == 0 || l.keyed[r.leadID] {
			continue
		}
		for _, k := range r.keys {
			keys, leads = append(keys, k), append(leads, r.leadID)
		}
	}
	return keys, leads
}

func (l *Log) keysStored(rows []row) {
	for i := range rows {
		if len(rows[i].keys) > 0 {
			l.keyed[rows[i].leadID] = true
		}
	}
}

// insert writes rows and their leads' search keys in one transaction: a
// COPY on PostgreSQL, multi-row INSERTs on SQLite.
func (l *Log) insert(ctx context.Context, rows []row) error {
	keys, leads := l.newKeys(rows)
	var err error
	if l.db.postgres {
		err = l.copyRows(ctx, rows, keys, leads)
	} else {
		err = l.insertSQLite(ctx, rows, keys, leads)
	}
	if err == nil {
		l.keysStored(rows)
	}
	return err
}

func (l *Log) insertSQLite(ctx context.Context, rows []row, keys, leads []string) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for len(keys) > 0 {
		n := min(len(keys), 400)
		args := make([]any, 0, 2*n)
		for i := range n {
			args = append(args, keys[i], leads[i])
		}
		if _, err := tx.ExecContext(ctx, keysSQL(n), args...); err != nil {
			return err
		}
		keys, leads = keys[n:], leads[n:]
	}
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		args := make([]any, 0, n*len(decisionColumns))
		for i := range rows[:n] {
			args = append(args, l.rowArgs(&rows[i])...)
		}
		if _, err := tx.ExecContext(ctx, insertSQL(n), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return tx.Commit()
}

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
	for i := range rows {
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

// copyRows writes rows with PostgreSQL's COPY, and the keys with one
// INSERT of two arrays, in one transaction, through the pgx connection
// under database/sql.
func (l *Log) copyRows(ctx context.Context, rows []row, keys, leads []string) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, err := dc.(*stdlib.Conn).Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer c.Rollback(ctx)
		if len(keys) > 0 {
			if _, err := c.Exec(ctx, `INSERT INTO search_keys (key, lead_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, keys, leads); err != nil {
				return err
			}
		}
		i := 0
		_, err = c.CopyFrom(ctx, pgx.Identifier{"decisions"}, decisionColumns, pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(rows) {
				return nil, nil
			}
			r := &rows[i]
			i++
			var extra []byte
			if r.extra != nil {
				extra = r.extra
			}
			return []any{uuid.UUID(r.id), r.leadID, r.email, r.versionID, r.qualified, clean(r.tier), int32(r.score), r.rules, r.input, extra}, nil
		}))
		if err != nil {
			return err
		}
		return c.Commit(ctx)
	})
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

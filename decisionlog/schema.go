package decisionlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// schemaVersion is stored in the meta table; Open refuses a file written by
// a newer leadq.
const schemaVersion = "1"

// schema creates the tables and indexes if they are missing. Times are
// unix nanoseconds (UTC). Emails are lower-cased and masked as configured.
// hits has one row per knockout or score rule that fired in a decision, with
// the decision's time, ruleset and verdict copied in so that statistics over
// a window read one range of one table. It is clustered by time (WITHOUT
// ROWID), so a hit costs one b-tree insert and pruning by age deletes a
// range. Pruning deletes a decision's hits with it (no foreign key: the
// writer deletes both).
var schema = []string{
	`CREATE TABLE IF NOT EXISTS decisions (
		id        INTEGER PRIMARY KEY,
		time      INTEGER NOT NULL,
		lead_id   TEXT    NOT NULL,
		email     TEXT    NOT NULL,
		ruleset   TEXT    NOT NULL,
		version   TEXT    NOT NULL,
		qualified INTEGER NOT NULL,
		tier      TEXT    NOT NULL,
		score     INTEGER NOT NULL,
		decision  TEXT    NOT NULL,
		input     TEXT    NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS decisions_lead_id ON decisions (lead_id, time)`,
	`CREATE INDEX IF NOT EXISTS decisions_email ON decisions (email, time)`,
	`CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time)`,
	`CREATE TABLE IF NOT EXISTS hits (
		time        INTEGER NOT NULL,
		decision_id INTEGER NOT NULL,
		kind        TEXT    NOT NULL,
		rule        TEXT    NOT NULL,
		ruleset     TEXT    NOT NULL,
		qualified   INTEGER NOT NULL,
		PRIMARY KEY (time, decision_id, kind, rule)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	searchSchema,
}

// Kinds of rule in hits and in statistics.
const (
	KindKnockout = "knockout"
	KindScore    = "score"
)

// dsn builds the driver's data source name: a file: URI (so that mode=ro
// works) with the path escaped, WAL for concurrent readers, and a busy
// timeout so that a reader's checkpoint or a second process waits instead
// of failing.
func dsn(path string, readOnly bool) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := "_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)"
	if readOnly {
		return "file:" + esc + "?mode=ro&" + q
	}
	// The writer's transactions take the write lock when they begin, where
	// the busy timeout applies: a deferred one that read first and then
	// finds another writer fails at once instead of waiting.
	return "file:" + esc + "?" + q + "&_pragma=journal_mode(WAL)&_txlock=immediate"
}

// openDB opens the file and, unless readOnly, creates the schema.
func openDB(ctx context.Context, path string, readOnly bool) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("decision log: no file given")
	}
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("decision log %s: %w", path, err)
		}
	}
	db, err := sql.Open("sqlite", dsn(path, readOnly))
	if err != nil {
		return nil, fmt.Errorf("decision log %s: %w", path, err)
	}
	if err := initDB(ctx, db, readOnly); err != nil {
		db.Close()
		return nil, fmt.Errorf("decision log %s: %w", path, err)
	}
	return db, nil
}

func initDB(ctx context.Context, db *sql.DB, readOnly bool) error {
	if !readOnly {
		for _, stmt := range schema {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)`, schemaVersion); err != nil {
			return err
		}
	}
	v, ok, err := getMeta(ctx, db, "schema_version")
	switch {
	case err != nil:
		return fmt.Errorf("not a leadq decision log: %w", err)
	case !ok:
		return errors.New("not a leadq decision log (no schema version)")
	case v != schemaVersion:
		return fmt.Errorf("written by another version of leadq (schema %s; this one reads %s)", v, schemaVersion)
	}
	return nil
}

func getMeta(ctx context.Context, db *sql.DB, key string) (string, bool, error) {
	var v string
	err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

func setMeta(ctx context.Context, db *sql.DB, key, value string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

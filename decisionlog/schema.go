package decisionlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// schemaVersion is the last migration; Open applies the missing ones and
// refuses a log written by a newer leadq.
var schemaVersion = len(migrations)

// A decision is one row of decisions, in a few hundred bytes: its id (a
// UUIDv7, so the table is clustered by time and a time window is a range
// of ids), the lead id and email for lookups, the ruleset version (a row of
// versions, which holds that version's sources once), the verdict, the
// rules that fired (indexes into the version's rule list, for statistics),
// and the input in a compact encoding (encode.go) from which the decision
// is rebuilt exactly by the version that made it. extra holds the whole
// decision's JSON in the rare case the stored input cannot rebuild it (a
// masked value a rule read, a version whose sources were not given).
// search_keys (search.go) finds a lead by the start of what a rep has at
// hand; it holds each lead's keys once, however often it is decided.
//
// The same statements run on both databases; only the column types differ.
type migration struct{ sqlite, postgres []string }

var migrations = []migration{
	{
		sqlite: []string{
			`CREATE TABLE versions (
				id      INTEGER PRIMARY KEY,
				ruleset TEXT NOT NULL,
				version TEXT NOT NULL UNIQUE,
				fields  TEXT NOT NULL,
				rules   TEXT NOT NULL,
				sources BLOB
			)`,
			`CREATE TABLE decisions (
				id         BLOB    PRIMARY KEY,
				lead_id    TEXT    NOT NULL,
				email      TEXT    NOT NULL,
				version_id INTEGER NOT NULL,
				qualified  INTEGER NOT NULL,
				tier       TEXT    NOT NULL,
				score      INTEGER NOT NULL,
				rules      BLOB    NOT NULL,
				input      BLOB    NOT NULL,
				extra      BLOB
			) WITHOUT ROWID`,
			`CREATE INDEX decisions_lead_id ON decisions (lead_id)`,
			`CREATE INDEX decisions_email ON decisions (email)`,
			`CREATE TABLE search_keys (
				key     TEXT NOT NULL,
				lead_id TEXT NOT NULL,
				PRIMARY KEY (key, lead_id)
			) WITHOUT ROWID`,
		},
		postgres: []string{
			`CREATE TABLE versions (
				id      BIGSERIAL PRIMARY KEY,
				ruleset TEXT NOT NULL,
				version TEXT NOT NULL UNIQUE,
				fields  TEXT NOT NULL,
				rules   TEXT NOT NULL,
				sources BYTEA
			)`,
			`CREATE TABLE decisions (
				id         UUID    PRIMARY KEY,
				lead_id    TEXT    NOT NULL,
				email      TEXT    NOT NULL,
				version_id BIGINT  NOT NULL,
				qualified  BOOLEAN NOT NULL,
				tier       TEXT    NOT NULL,
				score      INTEGER NOT NULL,
				rules      BYTEA   NOT NULL,
				input      BYTEA   NOT NULL,
				extra      BYTEA
			)`,
			`CREATE INDEX decisions_lead_id ON decisions (lead_id)`,
			`CREATE INDEX decisions_email ON decisions (email)`,
			`CREATE TABLE search_keys (
				key     TEXT COLLATE "C" NOT NULL,
				lead_id TEXT NOT NULL,
				PRIMARY KEY (key, lead_id)
			)`,
		},
	},
	{
		// The journal (journal.go): decisions appended in batches, one row
		// a batch, before the indexer moves them into decisions.
		sqlite: []string{
			`CREATE TABLE journal (
				seq      INTEGER PRIMARY KEY AUTOINCREMENT,
				n        INTEGER NOT NULL,
				appended INTEGER NOT NULL,
				data     BLOB    NOT NULL
			)`,
		},
		postgres: []string{
			`CREATE TABLE journal (
				seq      BIGSERIAL PRIMARY KEY,
				n        INTEGER NOT NULL,
				appended BIGINT  NOT NULL,
				data     BYTEA   NOT NULL
			)`,
			// Stored as it comes: compressing a batch costs more than
			// the bytes it saves for the few seconds it stays.
			`ALTER TABLE journal ALTER COLUMN data SET STORAGE EXTERNAL`,
		},
	},
	{
		// Each journal row's summary (journalparts.go), apart from its
		// data: SQLite would read a row's data (overflow pages) to reach
		// a column after it.
		sqlite: []string{
			`CREATE TABLE journal_parts (
				seq    INTEGER PRIMARY KEY,
				lo     BLOB NOT NULL,
				hi     BLOB NOT NULL,
				filter BLOB NOT NULL
			)`,
		},
		postgres: []string{
			`CREATE TABLE journal_parts (
				seq    BIGINT PRIMARY KEY,
				lo     BYTEA NOT NULL,
				hi     BYTEA NOT NULL,
				filter BYTEA NOT NULL
			)`,
			// In the row (up to a page), not out of line: a lookup tests a
			// few bits of every row's filter in its query (mayHold), and
			// each call on a value stored apart would fetch it again. (A
			// Bloom filter does not compress; the attempt gives up early.)
			`ALTER TABLE journal_parts ALTER COLUMN filter SET STORAGE MAIN`,
		},
	},
}

// Kinds of rule in statistics.
const (
	KindKnockout = "knockout"
	KindScore    = "score"
)

// db is the log's database and its dialect.
type db struct {
	*sql.DB
	postgres  bool
	target    string // the path or URL, with any password hidden
	noJournal bool   // a log of schema 1 opened read-only: no journal table
	noParts   bool   // a log of schema 2 opened read-only: no journal summaries
}

// IsURL reports whether target names a PostgreSQL database
// (postgres://… or postgresql://…) rather than a SQLite file.
func IsURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// rebind turns the ? placeholders of a statement into PostgreSQL's $n.
func (d *db) rebind(q string) string {
	if !d.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (d *db) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.ExecContext(ctx, d.rebind(q), args...)
}

func (d *db) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.QueryContext(ctx, d.rebind(q), args...)
}

func (d *db) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return d.QueryRowContext(ctx, d.rebind(q), args...)
}

// cacheKiB is the page cache of a SQLite connection of the log (the
// writer's has its own size: writerCacheKiB).
const cacheKiB = 64 << 10

// dsn builds the SQLite driver's data source name: a file: URI (so that
// mode=ro works) with the path escaped, WAL for concurrent readers, and a
// busy timeout so that a reader's checkpoint or a second process waits
// instead of failing.
func dsn(path string, readOnly bool) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := fmt.Sprintf("_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-%d)", cacheKiB)
	if readOnly {
		return "file:" + esc + "?mode=ro&" + q
	}
	// The writer's transactions take the write lock when they begin, where
	// the busy timeout applies: a deferred one that read first and then
	// finds another writer fails at once instead of waiting.
	return "file:" + esc + "?" + q + fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walCheckpointPages) + "&_pragma=journal_mode(WAL)&_txlock=immediate"
}

// walCheckpointPages is how large the write-ahead log may grow (in pages:
// 16 MiB at SQLite's default 4 KiB) before a commit copies it back into
// the database file, against SQLite's default of 1,000 pages. With that
// default a 100,000-lead brief stream paid for about six checkpoints as it
// went, as much CPU as appending the journal itself (each checkpoint a
// write of every page and an fsync, on the writer goroutine); this holds
// such a burst's journal (about 6 MB compressed), and the writer
// checkpoints when it is idle instead (Log.checkpoint). Pages written more
// than once between two checkpoints (the journal's, freed once indexed and
// reused; the indexes' as the indexer inserts) are copied back once.
const walCheckpointPages = 4096

// openDB opens the log at target (a SQLite file or a PostgreSQL URL) and,
// unless readOnly, applies the missing migrations.
func openDB(ctx context.Context, target string, readOnly bool) (*db, error) {
	if target == "" {
		return nil, errors.New("decision log: no file or database URL given")
	}
	d := &db{postgres: IsURL(target), target: redact(target)}
	var err error
	if d.postgres {
		d.DB, err = sql.Open("pgx", target)
	} else {
		if readOnly {
			if _, err := os.Stat(target); err != nil {
				return nil, fmt.Errorf("decision log %s: %w", target, err)
			}
		}
		d.DB, err = sql.Open("sqlite", dsn(target, readOnly))
	}
	if err != nil {
		return nil, fmt.Errorf("decision log %s: %w", d.target, err)
	}
	if err := d.migrate(ctx, readOnly); err != nil {
		d.Close()
		return nil, fmt.Errorf("decision log %s: %w", d.target, err)
	}
	return d, nil
}

// redact hides the password of a URL, for messages.
func redact(target string) string {
	if !IsURL(target) {
		return target
	}
	scheme, rest, _ := strings.Cut(target, "://")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if user, _, ok := strings.Cut(rest[:at], ":"); ok {
			rest = user + ":xxx" + rest[at:]
		}
	}
	return scheme + "://" + rest
}

// migrate brings the schema up to schemaVersion, in one transaction; on
// PostgreSQL an advisory lock keeps replicas that start together from
// migrating twice.
func (d *db) migrate(ctx context.Context, readOnly bool) error {
	if !readOnly {
		tx, err := d.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if d.postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7403511)`); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`); err != nil {
			return err
		}
		have, err := schemaOf(ctx, tx, d)
		if err != nil {
			return err
		}
		if have > schemaVersion {
			return fmt.Errorf("written by a newer leadq (schema %d; this one knows %d)", have, schemaVersion)
		}
		legacy, err := isLegacy(ctx, tx, d)
		if err != nil {
			return err
		}
		if legacy {
			if err := convertLegacy(ctx, tx); err != nil {
				return err
			}
			have = 1 // the first migration's tables; the later ones follow
		}
		for i := have; i < schemaVersion; i++ {
			stmts := migrations[i].sqlite
			if d.postgres {
				stmts = migrations[i].postgres
			}
			for _, s := range stmts {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return fmt.Errorf("migration %d: %w", i+1, err)
				}
			}
		}
		// The count of sweeps of search keys (sweepKeys), which the
		// writers' indexers lock as they skip keys they stored before.
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('key_sweeps', '0') ON CONFLICT (key) DO NOTHING`); err != nil {
			return err
		}
		if have < schemaVersion || legacy {
			if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO meta (key, value) VALUES ('schema_version', ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`), strconv.Itoa(schemaVersion)); err != nil {
				return err
			}
		}
		return tx.Commit()
	}
	if legacy, err := isLegacy(ctx, d.DB, d); err == nil && legacy {
		return fmt.Errorf(errLegacyReadOnly, d.target)
	}
	v, ok, err := getMeta(ctx, d, "schema_version")
	switch {
	case err != nil:
		return fmt.Errorf("not a leadq decision log: %w", err)
	case !ok:
		return errors.New("not a leadq decision log (no schema version)")
	case v == "1":
		// Before the journal: readable as it is; a writer migrates it.
		d.noJournal, d.noParts = true, true
	case v == "2":
		// Before the journal's summaries: readable, every journal row read.
		d.noParts = true
	case v != strconv.Itoa(schemaVersion):
		return fmt.Errorf("written by another version of leadq (schema %s; this one reads %d)", v, schemaVersion)
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func schemaOf(ctx context.Context, q querier, d *db) (int, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("schema version %q", v)
	}
	return n, nil
}

func hasTable(ctx context.Context, q querier, d *db, name string) (bool, error) {
	var n int
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if d.postgres {
		query = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	}
	err := q.QueryRowContext(ctx, query, name).Scan(&n)
	return n > 0, err
}

func getMeta(ctx context.Context, d *db, key string) (string, bool, error) {
	var v string
	err := d.queryRow(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

func setMeta(ctx context.Context, d *db, key, value string) error {
	_, err := d.exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

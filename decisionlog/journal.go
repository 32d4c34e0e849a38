package decisionlog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/klauspost/compress/s2"
)

// The journal: the writer appends each batch of decisions as one row of
// the journal table (seq, n, appended, data), data holding the batch's
// rows one after another (appendJournal), compressed with S2 (about 310
// bytes a decision become 50, for 0.2 µs: the database writes a sixth of
// the pages), and writes nothing else for them: no row of decisions, no
// index entry, no search key. Those cost a new lead's decision about
// 20 µs on SQLite (each a random insert into a b-tree) against about 1 µs
// for its share of a batch's blob.
//
// The indexer (index, on the writer goroutine) moves journal rows into
// decisions and search_keys later, in bulk: when the writer has been idle
// for a moment, as it appends once the journal holds a bound of decisions
// (both WithIndexing) or its oldest row is maxJournalAge old (so that
// sustained load slows to the pace of writing indexed rows, and no
// further), and at Close. Each move is one transaction that inserts the rows' decisions and
// keys and deletes the journal rows, so a decision is always in exactly
// one of the two places; on PostgreSQL the journal rows are taken FOR
// UPDATE SKIP LOCKED, so that the replicas of one database index at once
// without waiting for each other or moving a row twice.
//
// Reads see both (Reader.journal): they read the journal first, then the
// tables, so a decision moved in between is seen twice (and kept once),
// never missed. The journal is small and short-lived, and each reader
// keeps the batches it has decoded (a row never changes, only goes), so a
// lookup reads only the batches appended since the last one that may hold
// what it looks for (by each row's summary, journalparts.go), and encodes
// only the decisions that may match it (journalread.go).
const (
	maxJournalAge = 30 * time.Second
	indexChunk    = 16384 // decisions a transaction of the indexer moves, about
)

// appendJournal appends r, as the indexer and the readers decode it
// (decodeJournal): id, lead id, email, version id, verdict (flags: 1
// qualified, 2 extra follows, 4 keys computed when read, 8 input and
// email as the entry gave them, to encode: encodeRaw; 16 extra is the
// masked decision until the indexer checks that the input rebuilds it,
// settleExtra, and 32 it was brief), rules, input,
// extra, search keys (with flag 4: the lead's company, or none; with 8
// none).
func appendJournal(b []byte, r *row) []byte {
	b = append(b, r.id[:]...)
	b = appendString(b, r.leadID)
	b = appendString(b, r.email)
	b = binary.AppendUvarint(b, uint64(r.versionID))
	var flags byte
	if r.qualified {
		flags |= 1
	}
	if r.extra != nil {
		flags |= 2
	}
	if r.raw {
		flags |= 8 // input and email to encode (encodeRaw); keys then
	}
	if r.settle && r.extra != nil {
		flags |= 16
		if r.brief {
			flags |= 32
		}
	}
	keys := r.keys
	if r.keysLater || r.raw {
		// The keys are computed when read: stored is the company only, as
		// the one key (a reader of before this flag takes it for the
		// lead's only key, in its case: a search by prefix misses the
		// lead until that reader's indexer has moved it, and after).
		flags |= 4
		keys = nil
		if r.company != "" {
			keys = []string{r.company}
		}
	}
	b = append(b, flags)
	b = appendString(b, clean(r.tier))
	b = binary.AppendVarint(b, int64(r.score))
	b = appendBlob(b, r.rules)
	b = appendBlob(b, r.input)
	if r.extra != nil {
		b = appendBlob(b, r.extra)
	}
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendBlob(b, p []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(p))), p...)
}

var errJournal = errors.New("journal: a corrupt batch")

// decodeJournal decodes a batch as stored (compressed). Its rows' blobs
// share a buffer of their own.
func decodeJournal(stored []byte, rows []row) ([]row, error) {
	data, err := s2.Decode(nil, stored)
	if err != nil {
		return rows, fmt.Errorf("%w: %w", errJournal, err)
	}
	return decodeRows(data, rows)
}

// decodeRows decodes the rows of a batch decompressed: scanJournal finds
// them (the one walk of the format), and each is built from where its
// fields are (journalBatch.build); their texts and blobs are views of data.
// A corrupt batch gives the rows before the corruption and the error.
func decodeRows(data []byte, rows []row) ([]row, error) {
	found, err := scanJournal(data, nil)
	b := journalBatch{data: data}
	var keys []string // the batch's keys; rows take slices of it
	for i := range found {
		rows = append(rows, b.build(&found[i], &keys))
	}
	return rows, err
}

// stored is r as a row of decisions.
func (r *row) stored() storedRow {
	return storedRow{id: scanID(r.id), leadID: r.leadID, email: r.email, versionID: r.versionID, qualified: r.qualified,
		tier: r.tier, score: r.score, rules: r.rules, input: r.input, ex: r.extra, settle: r.settle, brief: r.brief}
}

// journalPart bounds the bytes of decisions (before compression) one
// journal row holds: a part (parts.go) goes to the writer once it holds
// that much, even if less than a batch. The parts and the writer's
// compressed copy stay about this size instead of a whole batch's (5 MB
// of brief decisions at the default batch, 40 MB of full ones with a
// mask), live memory the collector multiplies by GOGC into heap; S2
// compresses a part as well as a batch (its matches are short-range).
const journalPart = 1 << 20

// appendPart appends data, n decisions, to the journal as one row, and
// its summary.
func (l *Log) appendPart(ctx context.Context, n int, data []byte, sum partSummary) error {
	if l.journalZip == nil {
		// Once, at a part's size, rather than grown with each larger part.
		l.journalZip = make([]byte, s2.MaxEncodedLen(journalPart+journalPart/8))
	}
	// S2 makes its own buffer for a larger part (a rare large entry's),
	// which is not kept.
	data = s2.Encode(l.journalZip, data)
	now := time.Now()
	var err error
	if l.db.postgres {
		err = l.appendPartPostgres(ctx, n, now.UnixMilli(), data, sum)
	} else {
		var st *sqliteWriter
		if st, err = l.sqliteStatements(ctx); err == nil {
			if _, err = st.journal.ExecContext(ctx, n, now.UnixMilli(), data); err != nil {
				l.closeStatements() // a fresh connection for the retry
			} else {
				// On the same connection, right after: a row whose
				// summary is missing is read by every lookup, no more.
				st.parts.ExecContext(ctx, sum.lo[:], sum.hi[:], sum.filter)
			}
		}
	}
	if err != nil {
		return err
	}
	if l.unindexed.Add(int64(n)) == int64(n) {
		l.appended.CompareAndSwap(0, now.UnixMilli())
	}
	return nil
}

// appendPartPostgres is appendPart's insert on PostgreSQL, through
// pgconn with the parameters encoded here. pgx's query builder copies each
// argument into a buffer of its own, which it drops after any query with
// more than 256 bytes of them, and the message copies them again, each
// buffer grown once more by the small parameters after the part: four
// copies of a part (200-300 KB compressed), a megabyte of garbage a part,
// a third of what the log allocated a brief decision. Here the message is
// the one copy (the part is the last parameter).
//
// The statement is prepared once a connection (pgx keeps it by name), so
// that PostgreSQL plans it once for any part: an unnamed statement is
// planned again for each part with its values as constants, and the plan
// copied the part several times (PostgreSQL's page faults in a fresh
// server's first 100,000 decisions were two thirds in planning: 25% in
// copying the plan, 13% in folding the constants).
func (l *Log) appendPartPostgres(ctx context.Context, n int, appended int64, data []byte, sum partSummary) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		st, err := c.Prepare(ctx, "leadq_append_journal", appendJournalSQL)
		if err != nil {
			return err
		}
		const int8, bytea = 20, 17 // type oids, as the parameters are encoded
		if want := []uint32{int8, int8, bytea, bytea, bytea, bytea}; !slices.Equal(st.ParamOIDs, want) {
			return fmt.Errorf("journal insert: parameter types %v; want %v", st.ParamOIDs, want)
		}
		params := [][]byte{binary.BigEndian.AppendUint64(nil, uint64(n)), binary.BigEndian.AppendUint64(nil, uint64(appended)),
			sum.lo[:], sum.hi[:], sum.filter, data}
		_, err = c.PgConn().ExecPrepared(ctx, st.Name, params, []int16{1}, nil).Close()
		return err
	})
}

// appendJournalSQL is appendPartPostgres's statement; its parameters are
// typed in it, as appendPartPostgres encodes them.
const appendJournalSQL = `WITH j AS (INSERT INTO journal (n, appended, data) VALUES ($1::bigint, $2::bigint, $6::bytea) RETURNING seq)
	INSERT INTO journal_parts (seq, lo, hi, filter) SELECT seq, $3::bytea, $4::bytea, $5::bytea FROM j`

// backlog reads how many decisions the journal holds and when its oldest
// row was appended (other replicas' rows included).
func (l *Log) backlog(ctx context.Context) error {
	var n, oldest int64
	if err := l.db.queryRow(ctx, `SELECT COALESCE(SUM(n), 0), COALESCE(MIN(appended), 0) FROM journal`).Scan(&n, &oldest); err != nil {
		return err
	}
	l.unindexed.Store(n)
	l.appended.Store(oldest)
	return nil
}

// overBound reports whether the journal has grown past its bound, in
// decisions or in age: then the writer indexes as it appends.
func (l *Log) overBound() bool {
	if l.unindexed.Load() >= l.cfg.maxUnindexed {
		return true
	}
	at := l.appended.Load()
	return at != 0 && time.Since(time.UnixMilli(at)) >= maxJournalAge
}

// index moves journal rows into decisions and search_keys, a chunk at a
// time, while more is true and the journal holds any it can take; then it
// reads the backlog again. Errors are logged (at most one a warning
// interval) and leave the journal for the next try.
func (l *Log) index(more func() bool) {
	ctx := context.Background()
	for more() {
		n, err := l.indexChunk(ctx)
		if err != nil {
			l.indexFails++
			if l.indexFails >= 3 && l.db.PingContext(ctx) == nil {
				// The database answers but keeps refusing the chunk (not
				// a lock held a while by another process): move the
				// first row's decisions one by one, counting those it
				// refuses.
				if err = l.indexOneByOne(ctx); err == nil {
					l.indexFails = 0
				}
			}
			if err != nil {
				if time.Since(l.indexWarned) >= l.cfg.warnEvery {
					l.indexWarned = time.Now()
					l.cfg.log.Warn("decision log: indexing the journal failed; retrying later (lookups read the journal meanwhile)", "err", err, "log", l.db.target)
				}
				break
			}
			continue
		}
		l.indexFails = 0
		if n == 0 {
			break
		}
	}
	if err := l.backlog(ctx); err != nil {
		l.unindexed.Store(max(l.unindexed.Load(), 1)) // try again when idle
	}
}

// pickJournal chooses the journal rows of the next chunk: the oldest ones,
// up to about indexChunk decisions.
func pickJournal(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) ([]int64, error) {
	var seqs []int64
	total := int64(0)
	for total < indexChunk && rows.Next() {
		var seq, n int64
		if err := rows.Scan(&seq, &n); err != nil {
			return nil, err
		}
		seqs, total = append(seqs, seq), total+n
	}
	return seqs, rows.Err()
}

// chunk is what one transaction of the indexer moves: the decisions of
// some journal rows, without duplicates (a batch appended twice after a
// lost commit), and their leads' search keys, sorted.
type chunk struct {
	rows        []row
	keys, leads []string
	keysSums    []uint64 // rows' keysSum
}

func (l *Log) newChunk(ctx context.Context, batches [][]byte) (chunk, error) {
	var c chunk
	for _, data := range batches {
		var err error
		if c.rows, err = decodeJournal(data, c.rows); err != nil {
			return c, err
		}
	}
	if err := l.encodeRaw(ctx, c.rows); err != nil {
		return c, err
	}
	if err := l.settleExtra(ctx, c.rows); err != nil {
		return c, err
	}
	slices.SortFunc(c.rows, func(a, b row) int { return bytes.Compare(a.id[:], b.id[:]) })
	c.rows = slices.CompactFunc(c.rows, func(a, b row) bool { return a.id == b.id })
	type pair struct{ key, lead string }
	var pairs []pair
	c.keysSums = make([]uint64, len(c.rows))
	for i := range c.rows {
		r := &c.rows[i]
		c.keysSums[i] = keysSum(l.keyedSeed, r.keys)
		if sum, ok := l.keyed[r.leadID]; ok && sum == c.keysSums[i] {
			continue // stored by this writer already
		}
		for _, k := range r.keys {
			pairs = append(pairs, pair{k, r.leadID})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.lead, b.lead)
	})
	pairs = slices.Compact(pairs)
	c.keys, c.leads = make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		c.keys[i], c.leads[i] = p.key, p.lead
	}
	return c, nil
}

// rememberKeyed remembers the leads of a committed chunk and their keys,
// which need not be stored again while a lead keeps them (a lead decided
// again with another email or company gets its new keys); reset when it
// grows large: a key stored twice is skipped by the database.
func (l *Log) rememberKeyed(c chunk) {
	if l.keyed == nil || len(l.keyed) > 100_000 {
		l.keyed = make(map[string]uint64, len(c.rows))
	}
	for i := range c.rows {
		l.keyed[strings.Clone(c.rows[i].leadID)] = c.keysSums[i] // not the whole batch's text
	}
}

// keySweepsSQL reads the count of sweeps of search keys (sweepKeys).
const keySweepsSQL = `SELECT value FROM meta WHERE key = 'key_sweeps'`

// checkSweeps reads the count of sweeps of search keys, at the start of
// an indexer's transaction (locked, on PostgreSQL), and forgets the leads
// the writer keyed when a sweep came since it last read it: their keys
// may be gone.
func (l *Log) checkSweeps(row interface{ Scan(...any) error }) error {
	var sweeps string
	if err := row.Scan(&sweeps); err != nil && !errors.Is(err, sql.ErrNoRows) && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if sweeps == "" || sweeps != l.keyedSweeps {
		l.keyed, l.keyedSweeps = nil, sweeps
	}
	return nil
}

// keysSum is a digest of a lead's search keys, to tell the keys stored
// for a lead from new ones.
func keysSum(seed maphash.Seed, keys []string) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for _, k := range keys {
		h.WriteString(k)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// indexChunk moves one chunk of the journal in one transaction and returns
// how many decisions it moved: 0 when the journal is empty (or, on
// PostgreSQL, when every row is being moved by another replica).
func (l *Log) indexChunk(ctx context.Context) (int, error) {
	if l.db.postgres {
		return l.indexChunkPostgres(ctx)
	}
	st, err := l.sqliteStatements(ctx)
	if err != nil {
		return 0, err
	}
	var c chunk
	err = st.inTx(ctx, func() error {
		if err := l.checkSweeps(st.conn.QueryRowContext(ctx, keySweepsSQL)); err != nil {
			return err
		}
		rows, err := st.conn.QueryContext(ctx, `SELECT seq, n FROM journal ORDER BY seq LIMIT 4096`)
		if err != nil {
			return err
		}
		seqs, err := pickJournal(rows)
		rows.Close()
		if err != nil || len(seqs) == 0 {
			return err
		}
		// The writer holds the write lock: the rows between the first
		// and the last picked are the picked ones.
		first, last := seqs[0], seqs[len(seqs)-1]
		batches, err := journalData(ctx, st.conn, `SELECT data FROM journal WHERE seq >= ? AND seq <= ? ORDER BY seq`, first, last)
		if err != nil {
			return err
		}
		if c, err = l.newChunk(ctx, batches); err != nil {
			return err
		}
		if err := st.insertRowsTx(ctx, l, c.rows); err != nil {
			return err
		}
		if err := st.insertKeysTx(ctx, c.keys, c.leads); err != nil {
			return err
		}
		if _, err := st.conn.ExecContext(ctx, `DELETE FROM journal WHERE seq >= ? AND seq <= ?`, first, last); err != nil {
			return err
		}
		_, err = st.conn.ExecContext(ctx, `DELETE FROM journal_parts WHERE seq <= ? AND seq NOT IN (SELECT seq FROM journal)`, last)
		return err
	})
	if err != nil {
		l.closeStatements()
		return 0, err
	}
	l.rememberKeyed(c)
	return len(c.rows), nil
}

func journalData(ctx context.Context, conn *sql.Conn, q string, args ...any) ([][]byte, error) {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	return out, rows.Err()
}

// indexChunkPostgres is indexChunk on PostgreSQL: the journal rows are
// taken FOR UPDATE SKIP LOCKED, the decisions copied (COPY), the keys
// inserted from two arrays.
func (l *Log) indexChunkPostgres(ctx context.Context) (int, error) {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var c chunk
	err = conn.Raw(func(dc any) error {
		tx, err := dc.(*stdlib.Conn).Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if err := l.checkSweeps(tx.QueryRow(ctx, keySweepsSQL+` FOR SHARE`)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT seq, n FROM journal ORDER BY seq LIMIT 4096`)
		if err != nil {
			return err
		}
		seqs, err := pickJournal(rows)
		rows.Close()
		if err != nil || len(seqs) == 0 {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT seq, data FROM journal WHERE seq = ANY($1) ORDER BY seq FOR UPDATE SKIP LOCKED`, seqs)
		if err != nil {
			return err
		}
		seqs = seqs[:0]
		var batches [][]byte
		for rows.Next() {
			var seq int64
			var data []byte
			if err := rows.Scan(&seq, &data); err != nil {
				rows.Close()
				return err
			}
			seqs, batches = append(seqs, seq), append(batches, data)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(seqs) == 0 {
			return err
		}
		if c, err = l.newChunk(ctx, batches); err != nil {
			return err
		}
		if err := copyDecisions(ctx, tx, c.rows); err != nil {
			return err
		}
		if err := insertKeys(ctx, tx, c.keys, c.leads); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM journal WHERE seq = ANY($1)`, seqs); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM journal_parts WHERE seq = ANY($1)`, seqs); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return 0, err
	}
	l.rememberKeyed(c)
	return len(c.rows), nil
}

// copyDecisions copies rows into decisions in tx. A decision stored
// already (its journal row moved twice: a replica that lost its commit's
// answer) is deleted first and copied again: the same id is the same
// decision.
func copyDecisions(ctx context.Context, tx pgx.Tx, rows []row) error {
	copyRows := func(tx pgx.Tx) error {
		i := 0
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"decisions"}, decisionColumns, pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(rows) {
				return nil, nil
			}
			r := &rows[i]
			i++
			var extra []byte
			if r.extra != nil {
				extra = r.extra
			}
			// pgtype.UUID, not uuid.UUID: pgx would encode the latter
			// through its text form, after failing the binary one and
			// building an error (about 1.5 µs a decision).
			return []any{pgtype.UUID{Bytes: r.id, Valid: true}, r.leadID, r.email, r.versionID, r.qualified, clean(r.tier), int32(r.score), r.rules, r.input, extra}, nil
		}))
		return err
	}
	if err := inSavepoint(ctx, tx, copyRows); !uniqueViolation(err) {
		return err
	}
	ids := make([]pgtype.UUID, len(rows))
	for i := range rows {
		ids[i] = pgtype.UUID{Bytes: rows[i].id, Valid: true}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM decisions WHERE id = ANY($1)`, ids); err != nil {
		return err
	}
	return copyRows(tx)
}

// insertKeys inserts search keys (key, lead id pairs, sorted) in tx,
// skipping those stored already, by this writer before it started or by
// another replica, even meanwhile (a lead sent twice, to two replicas).
// ON CONFLICT DO NOTHING costs PostgreSQL about 3 µs of CPU a decision
// more (16 against 13 in a fresh database) than skipping them in the
// query (NOT EXISTS) with a plain INSERT; but given a chunk's thousands
// of keys, the planner joins them to the whole table (a hash anti-join
// over a sequential scan, from a few million keys on), and a plain INSERT
// that fails on a key stored already leaves an error in PostgreSQL's log
// for each chunk of leads seen before.
func insertKeys(ctx context.Context, tx pgx.Tx, keys, leads []string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO search_keys (key, lead_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, keys, leads)
	return err
}

// inSavepoint runs f in a savepoint of tx, rolled back when f fails, so
// that tx can go on after f's error, which it returns.
func inSavepoint(ctx context.Context, tx pgx.Tx, f func(pgx.Tx) error) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if err := f(sp); err != nil {
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return rbErr
		}
		return err
	}
	return sp.Commit(ctx)
}

// uniqueViolation reports whether err is PostgreSQL's unique_violation.
func uniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// indexOneByOne moves the oldest journal row's decisions one at a time,
// outside a transaction (each insert skips a decision stored already, so
// that doing it twice does no harm), counting and logging those the
// database refuses, then deletes the row.
func (l *Log) indexOneByOne(ctx context.Context) error {
	var seq int64
	var data []byte
	if err := l.db.queryRow(ctx, `SELECT seq, data FROM journal ORDER BY seq LIMIT 1`).Scan(&seq, &data); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	rows, err := decodeJournal(data, nil)
	if err != nil {
		l.cfg.log.Error("decision log: a journal batch is corrupt; the decisions it holds are lost", "seq", seq, "decisions", len(rows), "err", err)
	}
	err = l.encodeRaw(ctx, rows)
	if err == nil {
		err = l.settleExtra(ctx, rows)
	}
	if err != nil {
		return err // its version could not be read: try again later
	}
	for i := range rows {
		if err := l.insertRows(ctx, rows[i:i+1]); err != nil {
			if l.db.PingContext(ctx) != nil {
				return err // the database went away: try again later
			}
			l.failed.Add(1)
			l.cfg.log.Error("decision log: the database refused a decision; it is lost", "id", uuid.UUID(rows[i].id).String(), "lead_id", rows[i].leadID, "err", err)
		}
	}
	if _, err = l.db.exec(ctx, `DELETE FROM journal WHERE seq = ?`, seq); err != nil {
		return err
	}
	_, err = l.db.exec(ctx, `DELETE FROM journal_parts WHERE seq = ?`, seq)
	return err
}

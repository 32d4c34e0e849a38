package decisionlog

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadq/leadq/engine"
)

// Defaults Open applies.
const (
	DefaultBuffer     = 4096        // entries waiting for the writer
	DefaultBatch      = 512         // entries per transaction, at most
	DefaultPruneEvery = time.Minute // between retention passes
)

// ErrClosed is returned by Flush and Prune after Close.
var ErrClosed = errors.New("decision log closed")

// Entry is one decision to log. Log takes ownership of it: the caller must
// not modify the decision's slices or the input afterwards.
type Entry struct {
	Time     time.Time       // when the lead was scored; zero means when Log is called
	Decision engine.Decision // as answered
	Input    []byte          // the scoring request as JSON (engine.ParseInput's format)
	// Account is an account the caller resolved (by the lead's email
	// domain, say) and scored with; it is stored as the input's account
	// when the input has none, marked with AccountSource, so that a
	// re-explanation sees it or resolves it anew.
	Account map[string]any
	Email   string // the lead's email; read from Input when empty
}

// AccountSource is the top-level key of a stored input whose account was
// resolved by the caller rather than sent with the lead; its value is then
// AccountResolved. Scoring ignores it.
const (
	AccountSource   = "account_source"
	AccountResolved = "resolved"
)

// Option configures Open and OpenReader; see the With functions.
type Option func(*config)

type config struct {
	buffer     int
	batch      int
	retention  Retention
	pruneEvery time.Duration
	mask       Mask
	log        *slog.Logger
	now        func() time.Time
}

// WithBuffer sets how many entries may wait for the writer before Log drops
// (default DefaultBuffer).
func WithBuffer(n int) Option { return func(c *config) { c.buffer = n } }

// WithBatch sets the most entries written in one transaction (default
// DefaultBatch).
func WithBatch(n int) Option { return func(c *config) { c.batch = n } }

// WithRetention sets what the log keeps; the default keeps everything.
func WithRetention(r Retention) Option { return func(c *config) { c.retention = r } }

// WithPruneEvery sets how often the writer applies the retention (default
// DefaultPruneEvery).
func WithPruneEvery(d time.Duration) Option { return func(c *config) { c.pruneEvery = d } }

// WithMask masks personal data before it is stored (default: none). For
// OpenReader only the mask's Salt counts; the mode and fields are read from
// the file.
func WithMask(m Mask) Option { return func(c *config) { c.mask = m } }

// WithLogger sets the logger for write failures and pruning. The default
// discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithClock sets the clock for entries without a time and for retention.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Log writes decisions to a SQLite file off the scoring path. Create it with
// Open; it embeds a Reader for lookups and statistics.
type Log struct {
	*Reader
	cfg config

	mu     sync.RWMutex // Log holds it shared to send; Close exclusively to close ch
	closed bool
	ch     chan Entry
	ops    chan func()         // run by the writer between batches: flushes, prunes
	store  func([]Entry) error // insert, or a stand-in in benchmarks of Log alone
	// Full-size multi-row inserts, prepared once: parsing a statement of
	// rowsPerInsert rows costs as much as running it.
	insertDecisions, insertHits, insertKeys *sql.Stmt
	done                                    chan struct{}

	dropped atomic.Uint64
	written atomic.Uint64
	failed  atomic.Uint64
}

// Open opens or creates the log file at path and starts its writer. With a
// hashing mask and no salt, the salt is created once and kept in the file.
// Close must be called to write what is buffered and stop the writer.
func Open(ctx context.Context, path string, opts ...Option) (*Log, error) {
	cfg := config{buffer: DefaultBuffer, batch: DefaultBatch, pruneEvery: DefaultPruneEvery,
		mask: Mask{Mode: MaskNone}, log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.buffer <= 0 || cfg.batch <= 0 || cfg.pruneEvery <= 0 {
		return nil, fmt.Errorf("decision log: buffer, batch and prune interval must be positive (got %d, %d, %v)", cfg.buffer, cfg.batch, cfg.pruneEvery)
	}
	db, err := openDB(ctx, path, false)
	if err != nil {
		return nil, err
	}
	if err := storeMask(ctx, db, &cfg.mask); err != nil {
		db.Close()
		return nil, fmt.Errorf("decision log %s: %w", path, err)
	}
	l := &Log{
		Reader: &Reader{db: db, mask: cfg.mask, path: path},
		cfg:    cfg,
		ch:     make(chan Entry, cfg.buffer),
		ops:    make(chan func()),
		done:   make(chan struct{}),
	}
	l.store = l.insert
	if l.insertDecisions, err = db.PrepareContext(ctx, insertSQL(decisionsInsert, decisionColumns, rowsPerInsert)); err == nil {
		l.insertHits, err = db.PrepareContext(ctx, insertSQL(hitsInsert, hitColumns, rowsPerInsert))
	}
	if err == nil {
		l.insertKeys, err = db.PrepareContext(ctx, insertSQL(keysInsert, keyColumns, rowsPerInsert))
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("decision log %s: %w", path, err)
	}
	go l.run()
	return l, nil
}

// storeMask records the mask in the file, so that readers hash lookups the
// same way, and settles the salt: the one given (checked against the file's
// when the file has one), else the file's, else a new one kept in the file.
func storeMask(ctx context.Context, db *sql.DB, m *Mask) error {
	if m.Mode == "" {
		m.Mode = MaskNone
	}
	if err := setMeta(ctx, db, "mask", m.String()); err != nil {
		return err
	}
	if m.Mode != MaskHash {
		return nil
	}
	if len(m.Salt) == 0 {
		s, ok, err := getMeta(ctx, db, "mask_salt")
		if err != nil {
			return err
		}
		if ok {
			m.Salt, err = hex.DecodeString(s)
			return err
		}
		m.Salt = make([]byte, 32)
		rand.Read(m.Salt)
		if err := setMeta(ctx, db, "mask_salt", hex.EncodeToString(m.Salt)); err != nil {
			return err
		}
	}
	check := m.mac(saltCheck)
	old, ok, err := getMeta(ctx, db, "mask_salt_check")
	switch {
	case err != nil:
		return err
	case ok && !hmac.Equal([]byte(old), []byte(check)):
		return errors.New("the salt differs from the one the log was written with: hashed emails would no longer match (use the same salt, or a new file)")
	case !ok:
		return setMeta(ctx, db, "mask_salt_check", check)
	}
	return nil
}

// saltCheck is hashed with the salt and kept in the file, to tell a wrong
// salt from a right one without storing the salt.
const saltCheck = "leadq decision log salt check"

// Log queues an entry for the writer and returns at once: it never blocks
// and never does I/O. When the buffer is full, or after Close, the entry is
// dropped, counted in Dropped, and Log returns false.
func (l *Log) Log(e Entry) bool {
	if e.Time.IsZero() {
		e.Time = l.cfg.now()
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.closed {
		select {
		case l.ch <- e:
			return true
		default:
		}
	}
	l.dropped.Add(1)
	return false
}

// Dropped is how many entries Log dropped because the buffer was full or
// the log closed.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Written is how many entries the writer has stored.
func (l *Log) Written() uint64 { return l.written.Load() }

// Failed is how many entries the writer could not store (a full disk, say);
// each failure is logged.
func (l *Log) Failed() uint64 { return l.failed.Load() }

// Flush waits until every entry logged before the call is stored (or has
// failed), or ctx ends.
func (l *Log) Flush(ctx context.Context) error {
	return l.do(ctx, func() error { return nil })
}

// Prune applies the retention now, in the writer, and returns how many
// decisions it deleted.
func (l *Log) Prune(ctx context.Context) (int64, error) {
	var n int64
	err := l.do(ctx, func() error {
		var err error
		n, err = prune(ctx, l.db, l.cfg.retention, l.cfg.now())
		return err
	})
	return n, err
}

// do runs fn in the writer once it has stored everything queued before.
func (l *Log) do(ctx context.Context, fn func() error) error {
	res := make(chan error, 1)
	op := func() {
		l.drain()
		res <- fn()
	}
	select {
	case l.ops <- op:
	case <-l.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting entries, stores every entry accepted, waits for the
// writer and closes the file. Later Log calls drop.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	close(l.ch)
	l.mu.Unlock()
	<-l.done
	l.insertDecisions.Close()
	l.insertHits.Close()
	return l.db.Close()
}

// run is the writer: it owns every write to the file.
func (l *Log) run() {
	defer close(l.done)
	var tick <-chan time.Time
	if l.cfg.retention.set() {
		l.prune()
		t := time.NewTicker(l.cfg.pruneEvery)
		defer t.Stop()
		tick = t.C
	}
	batch := make([]Entry, 0, l.cfg.batch)
	for {
		select {
		case e, ok := <-l.ch:
			if !ok {
				return
			}
			batch = append(batch[:0], e)
			batch, _ = l.fill(batch)
			l.write(batch)
			clear(batch) // let the decisions go
		case op := <-l.ops:
			op()
		case <-tick:
			l.prune()
		}
	}
}

// fill adds queued entries to batch without waiting, up to its capacity.
// closed reports that the channel is closed and empty.
func (l *Log) fill(batch []Entry) ([]Entry, bool) {
	for len(batch) < cap(batch) {
		select {
		case e, ok := <-l.ch:
			if !ok {
				return batch, true
			}
			batch = append(batch, e)
		default:
			return batch, false
		}
	}
	return batch, false
}

// drain writes everything queued now, in batches.
func (l *Log) drain() {
	batch := make([]Entry, 0, l.cfg.batch)
	for {
		var closed bool
		batch, closed = l.fill(batch[:0])
		if len(batch) > 0 {
			l.write(batch)
			clear(batch)
		}
		if closed || len(batch) < cap(batch) {
			return
		}
	}
}

func (l *Log) prune() {
	n, err := prune(context.Background(), l.db, l.cfg.retention, l.cfg.now())
	if err != nil {
		l.cfg.log.Error("decision log: pruning failed", "err", err)
		return
	}
	if n > 0 {
		l.cfg.log.Debug("decision log: pruned", "decisions", n, "retention", l.cfg.retention.String())
	}
}

// row is an entry ready to insert.
type row struct {
	time                  int64
	leadID, email         string
	ruleset, version      string
	qualified             bool
	tier                  string
	score                 int
	decision, input       string
	knockouts, scoreRules []string
	keys                  []string // what the decision is found by (searchKeys)
}

// write stores a batch in one transaction. On failure the batch is counted
// as failed and logged; the writer carries on with the next one.
func (l *Log) write(batch []Entry) {
	err := l.store(batch)
	if err != nil {
		l.failed.Add(uint64(len(batch)))
		l.cfg.log.Error("decision log: write failed; entries lost", "entries", len(batch), "err", err)
		return
	}
	l.written.Add(uint64(len(batch)))
}

func (l *Log) insert(batch []Entry) error {
	rows := make([]row, len(batch))
	for i, e := range batch {
		rows[i] = prepare(e, l.cfg.mask)
	}
	ctx := context.Background()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The writer is the only one inserting, so it numbers the decisions
	// itself and inserts many rows per statement.
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM decisions`).Scan(&last); err != nil {
		return err
	}
	dargs := make([]any, 0, len(rows)*decisionColumns)
	var hargs, kargs []any
	for i, r := range rows {
		id := last + 1 + int64(i)
		dargs = append(dargs, id, r.time, r.leadID, r.email, r.ruleset, r.version, r.qualified, r.tier, r.score, r.decision, r.input)
		for _, k := range r.knockouts {
			hargs = append(hargs, r.time, id, KindKnockout, k, r.ruleset, r.qualified)
		}
		for _, k := range r.scoreRules {
			hargs = append(hargs, r.time, id, KindScore, k, r.ruleset, r.qualified)
		}
		for _, k := range r.keys {
			kargs = append(kargs, k, id)
		}
	}
	if err := insertRows(ctx, tx, l.insertDecisions, decisionsInsert, decisionColumns, dargs); err != nil {
		return err
	}
	if err := insertRows(ctx, tx, l.insertHits, hitsInsert, hitColumns, hargs); err != nil {
		return err
	}
	if err := insertRows(ctx, tx, l.insertKeys, keysInsert, keyColumns, kargs); err != nil {
		return err
	}
	return tx.Commit()
}

// The multi-row inserts: a head, then one (?, …) group per row.
const (
	decisionsInsert = `INSERT INTO decisions
		(id, time, lead_id, email, ruleset, version, qualified, tier, score, decision, input) VALUES `
	decisionColumns = 11
	hitsInsert      = `INSERT INTO hits (time, decision_id, kind, rule, ruleset, qualified) VALUES `
	hitColumns      = 6
	keysInsert      = `INSERT OR IGNORE INTO search_keys (key, decision_id) VALUES `
	keyColumns      = 2
)

func insertSQL(head string, cols, rows int) string {
	group := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return head + strings.Repeat(group+", ", rows-1) + group
}

// rowsPerInsert is how many rows one INSERT carries: the driver's cost is
// per statement, so a few large ones beat many small ones.
const rowsPerInsert = 100

// insertRows inserts the rows in args, cols values each: full chunks of
// rowsPerInsert rows through full (prepared once), the rest through a
// statement made for it.
func insertRows(ctx context.Context, tx *sql.Tx, full *sql.Stmt, head string, cols int, args []any) error {
	stmt := tx.StmtContext(ctx, full)
	defer stmt.Close()
	for len(args) >= cols*rowsPerInsert {
		if _, err := stmt.ExecContext(ctx, args[:cols*rowsPerInsert]...); err != nil {
			return err
		}
		args = args[cols*rowsPerInsert:]
	}
	if len(args) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, insertSQL(head, cols, len(args)/cols), args...)
	return err
}

// prepare masks an entry and encodes it for its row.
func prepare(e Entry, m Mask) row {
	d := e.Decision
	input := e.Input
	email := e.Email
	doc, ok := decodeObject(e.Input)
	if ok {
		if email == "" {
			email = leadEmail(doc)
		}
		changed := false
		if e.Account != nil {
			if _, has := doc["account"].(map[string]any); !has {
				_, hasLead := doc["lead"]
				_, hasAccount := doc["account"]
				if !hasLead && !hasAccount {
					doc = map[string]any{"lead": doc} // a bare lead: wrap it
				}
				doc["account"] = cloneMap(e.Account)
				doc[AccountSource] = AccountResolved
				changed = true
			}
		}
		if m.on() {
			d = scrub(d, m.apply(doc))
			changed = true
		}
		if changed {
			if b, err := json.Marshal(doc); err == nil {
				input = b
			}
		}
	} else if m.on() {
		input = nil // unreadable input cannot be masked: keep none of it
	}
	if len(input) == 0 {
		input = []byte("{}")
	}
	dec := d.AppendJSON(nil) // encoding/json's bytes, without reflection
	r := row{
		time: e.Time.UnixNano(), leadID: d.LeadID, email: m.Email(email),
		ruleset: d.Ruleset.Name, version: d.Ruleset.Version,
		qualified: d.Qualified, tier: d.Tier, score: d.Score,
		decision: string(dec), input: string(input),
	}
	r.keys = searchKeys(r.leadID, r.email, doc, m) // doc is masked by now
	for _, k := range d.Knockouts {
		r.knockouts = append(r.knockouts, k.Rule)
	}
	for _, h := range d.Matched {
		r.scoreRules = append(r.scoreRules, h.Rule)
	}
	return r
}

func decodeObject(data []byte) (map[string]any, bool) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, false
	}
	return doc, true
}

// leadEmail finds the lead's email in a request, as engine.InputFromMap
// finds the lead.
func leadEmail(doc map[string]any) string {
	lead := doc
	if l, ok := doc["lead"].(map[string]any); ok {
		lead = l
	}
	s, _ := lead["email"].(string)
	return strings.TrimSpace(s)
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

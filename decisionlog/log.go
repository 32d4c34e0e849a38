package decisionlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/jsonscan"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
)

// Defaults Open applies.
const (
	DefaultBuffer       = 4096             // entries waiting for the writer: see queueing
	DefaultBatch        = 1024             // entries the writer stores at once, at most: see queueing
	DefaultPruneEvery   = time.Minute      // between retention passes
	DefaultWarnEvery    = 10 * time.Second // between warnings about drops and failures
	DefaultCloseTimeout = 20 * time.Second // Close's wait for a database that is down
	DefaultIndexIdle    = 200 * time.Millisecond
	DefaultMaxUnindexed = 1 << 17 // decisions in the journal (about 30 MB); a lookup scans them in about a millisecond
)

// ErrClosed is returned by Flush and Prune after Close.
var ErrClosed = errors.New("decision log closed")

// Entry is one decision to log. Log is done with it when it returns: the
// caller may reuse the input's buffer and the decision's memory
// (engine.Ruleset.ScoreJSONInto).
type Entry struct {
	// Time is when the lead was scored; zero means when Log is called. A
	// decision without an id gets a UUIDv7 of this time.
	Time     time.Time
	Decision engine.Decision // as answered
	// Ruleset is the compiled version that decided. Its sources are stored
	// once per version, and the decision is stored as its input only and
	// rebuilt by that version when read. Without it, the decision's JSON is
	// stored whole.
	Ruleset *engine.Ruleset
	Input   []byte // the scoring request as JSON (engine.ParseInput's format)
	// Account is an account the caller resolved (by the lead's email
	// domain, say) and scored with; it is stored as the input's account
	// when the input has none, marked with AccountSource, so that a
	// re-explanation sees it or resolves it anew.
	Account map[string]any
	// Email is the lead's email (engine.Ruleset.ScoreJSONEmail says it as
	// it decides); read from Input when empty.
	Email string
	// Decided says that Ruleset's ScoreJSON (or ScoreJSONInto) decided
	// Input, with Options.MaxDepth from 1 to DecidedDepth: Input is then
	// one JSON object nested no deeper, which Log need not scan again to
	// know (it was two thirds of Log's own instructions).
	Decided bool
}

// DecidedDepth is the deepest Options.MaxDepth of an Entry.Decided: the
// nesting Log reads of a request it stores as it came.
const DecidedDepth = maxRawNesting

// AccountSource is the top-level key of a stored input whose account was
// resolved by the caller rather than sent with the lead; its value is then
// AccountResolved. Scoring ignores it.
const (
	AccountSource   = "account_source"
	AccountResolved = "resolved"
)

// Overflow says what Log does when the buffer is full.
type Overflow string

// Overflow policies; see WithOverflow.
const (
	// OverflowBlock waits for room until the caller's context ends (the
	// scoring request's timeout), then drops: bulk traffic slows to the
	// writer's pace instead of losing decisions.
	OverflowBlock Overflow = "block"
	// OverflowDrop drops at once: scoring never waits for the log.
	OverflowDrop Overflow = "drop"
)

// ParseOverflow reads a --log-overflow value.
func ParseOverflow(s string) (Overflow, error) {
	switch o := Overflow(strings.ToLower(strings.TrimSpace(s))); o {
	case OverflowBlock, OverflowDrop:
		return o, nil
	}
	return "", fmt.Errorf("overflow %q: use block or drop", s)
}

// Option configures Open and OpenReader; see the With functions.
type Option func(*config)

type config struct {
	buffer       int
	batch        int
	retention    Retention
	pruneEvery   time.Duration
	pruneBatch   int
	mask         Mask
	overflow     Overflow
	warnEvery    time.Duration
	closeTimeout time.Duration
	indexIdle    time.Duration
	maxUnindexed int64
	linger       time.Duration // batchLinger; tests set it
	log          *slog.Logger
	now          func() time.Time
}

// WithBuffer sets how many entries may wait for the writer while it
// writes a batch (default DefaultBuffer): they wait in parts of a batch
// (or journalPart bytes) each, so large entries wait in fewer (queueing).
func WithBuffer(n int) Option { return func(c *config) { c.buffer = n } }

// WithBatch sets the most entries written in one transaction (default
// DefaultBatch).
func WithBatch(n int) Option { return func(c *config) { c.batch = n } }

// WithRetention sets what the log keeps; the default keeps everything.
func WithRetention(r Retention) Option { return func(c *config) { c.retention = r } }

// WithPruneEvery sets how often retention runs (default DefaultPruneEvery).
func WithPruneEvery(d time.Duration) Option { return func(c *config) { c.pruneEvery = d } }

// WithMask masks personal data before it is stored (default: none). For
// OpenReader only the mask's Key counts; the mode and fields are read from
// the log.
func WithMask(m Mask) Option { return func(c *config) { c.mask = m } }

// WithOverflow sets what Log does when the buffer is full (default
// OverflowBlock).
func WithOverflow(o Overflow) Option { return func(c *config) { c.overflow = o } }

// WithWarnEvery sets how often drops and write failures are logged as
// warnings, with their counts (default DefaultWarnEvery).
func WithWarnEvery(d time.Duration) Option { return func(c *config) { c.warnEvery = d } }

// WithCloseTimeout bounds how long Close keeps retrying writes to a
// database that is down (default DefaultCloseTimeout).
func WithCloseTimeout(d time.Duration) Option { return func(c *config) { c.closeTimeout = d } }

// WithIndexing sets when the writer moves the journal's decisions into the
// indexed tables (journal.go): once it has been idle for idle (default
// DefaultIndexIdle), and as it appends once the journal holds max
// decisions (default DefaultMaxUnindexed). Lookups find the journal's
// decisions either way; a larger max keeps bulk traffic faster for longer
// and makes a lookup scan more of it.
func WithIndexing(idle time.Duration, max int) Option {
	return func(c *config) { c.indexIdle, c.maxUnindexed = idle, int64(max) }
}

// WithLogger sets the logger for write failures, drops and pruning. The
// default discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithClock sets the clock for entries without a time and for retention.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

func newConfig(opts []Option) config {
	cfg := config{buffer: DefaultBuffer, batch: DefaultBatch, pruneEvery: DefaultPruneEvery, pruneBatch: 5000,
		mask: Mask{Mode: MaskNone}, overflow: OverflowBlock, warnEvery: DefaultWarnEvery,
		closeTimeout: DefaultCloseTimeout, indexIdle: DefaultIndexIdle, maxUnindexed: DefaultMaxUnindexed, linger: batchLinger,
		log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// queueing: the parts Log fills and the writer writes (parts.go) are
// live memory: ceil(buffer/batch)+1 of them, each about a batch of brief
// decisions (some 600 KB) or journalPart bytes at most. The collector
// lets the heap grow to five times what is live before it collects
// (leadq serve's GOGC of 400), and a fresh server's first burst faults
// all of that heap in: a buffer of 16,384 and batches of 8,192 (about
// 20 MB of queued decisions) made a 100,000-lead brief stream's first
// round fault in about 11,000 more pages of heap than the later ones
// (each 13-17 µs on this paravirtualised machine: a tenth of the round's
// CPU). Under bulk traffic the buffer stays full when the writer
// is slower than scoring, so a larger one only holds more; and a batch of
// 1,024 brief decisions is about one journal part, one insert, already.
// TestQueueMemory bounds it.

// Log writes decisions to the log's database off the scoring path. Create
// it with Open; it embeds a Reader for lookups and statistics.
type Log struct {
	*Reader
	cfg config

	// The parts (parts.go): Log fills one at a time, under fill.
	fill    sync.Mutex
	cur     *part                    // the part being filled; nil until an entry comes
	stored  map[string]storedVersion // versions the writer has stored, by version
	closed  bool                     // set by Close: Log drops from then on
	free    chan *part               // parts to fill; room for every part
	full    chan *part               // parts for the writer, in order; room for every part
	started chan struct{}            // Log began a part: the writer lingers for it to fill
	queued  atomic.Int64             // entries in parts not yet written
	scratch sync.Pool                // *scratch: prepare's space, for the callers of Log

	ops    chan func()   // run by the writer between parts: flushes
	done   chan struct{} // closed when the writer has stopped
	stop   chan struct{} // closed by Close: the writer writes what is left; retention and warnings stop
	bg     sync.WaitGroup
	giveUp atomic.Bool // set when Close's time is up: the writer stops retrying

	sqlite      *sqliteWriter     // the writer's SQLite connection; its own
	journalZip  []byte            // a part compressed; the writer's own
	keyed       map[string]uint64 // leads whose search keys the indexer stored, and their keysSum; the writer's own
	keyedSeed   maphash.Seed      // keysSum's
	keyedSweeps string            // the count of sweeps of search keys (sweepKeys) keyed goes with; the writer's own
	indexWarned time.Time         // the last warning about indexing; the writer's own
	indexFails  int               // indexing attempts failed in a row; the writer's own

	unindexed atomic.Int64 // decisions in the journal, as the writer last knew
	appended  atomic.Int64 // unix millis when the oldest journal row was appended; 0 when none

	pruneMu sync.Mutex // one retention pass at a time
	sweep   keyCursor  // guarded by pruneMu

	dropped, written, failed atomic.Uint64
	head                     atomic.Int64 // unix nanos of the oldest entry not yet written; 0 when none
	health                   struct {
		sync.Mutex
		lastErr   error
		lastErrAt time.Time
		failing   bool
	}
	lastReport reported // guarded by health's mutex
}

// Open opens or creates the log at target, a SQLite file or a PostgreSQL
// URL (postgres://…), applies missing migrations and starts the writer.
// Close must be called to write what is buffered and stop the writer.
func Open(ctx context.Context, target string, opts ...Option) (*Log, error) {
	cfg := newConfig(opts)
	if cfg.buffer <= 0 || cfg.batch <= 0 || cfg.pruneEvery <= 0 || cfg.warnEvery <= 0 || cfg.indexIdle <= 0 || cfg.maxUnindexed <= 0 {
		return nil, fmt.Errorf("decision log: buffer, batch, prune and warning intervals, index idle time and journal bound must be positive (got %d, %d, %v, %v, %v, %d)",
			cfg.buffer, cfg.batch, cfg.pruneEvery, cfg.warnEvery, cfg.indexIdle, cfg.maxUnindexed)
	}
	if cfg.overflow != OverflowBlock && cfg.overflow != OverflowDrop {
		return nil, fmt.Errorf("decision log: overflow %q: use block or drop", cfg.overflow)
	}
	if err := cfg.mask.check(); err != nil {
		return nil, fmt.Errorf("decision log: %w", err)
	}
	cfg.mask = cfg.mask.withMACs()
	d, err := openDB(ctx, target, false)
	if err != nil {
		return nil, err
	}
	if err := storeMask(ctx, d, cfg.mask); err != nil {
		d.Close()
		return nil, fmt.Errorf("decision log %s: %w", d.target, err)
	}
	l := &Log{
		Reader:  newReader(d, cfg.mask),
		cfg:     cfg,
		stored:  map[string]storedVersion{},
		started: make(chan struct{}, 1),
		scratch: sync.Pool{New: func() any { return &scratch{} }},
		ops:     make(chan func()),
		done:    make(chan struct{}),
		stop:    make(chan struct{}),

		keyedSeed: maphash.MakeSeed(),
	}
	// One part for the writer to write, and the buffer's worth to fill
	// meanwhile (queueing).
	parts := (cfg.buffer+cfg.batch-1)/cfg.batch + 1
	l.free, l.full = make(chan *part, parts), make(chan *part, parts)
	for range parts {
		l.free <- &part{}
	}
	if cfg.retention.set() {
		// The first pass before the writer starts, so that what Open
		// returns already holds only what the retention keeps.
		if _, err := prune(ctx, d, cfg.retention, cfg.now(), cfg.pruneBatch, nil, &keyCursor{}); err != nil {
			cfg.log.Error("decision log: pruning failed", "err", err)
		}
	}
	go l.run()
	l.bg.Add(1)
	go l.every(l.cfg.warnEvery, l.report)
	if cfg.retention.set() {
		l.bg.Add(1)
		go l.every(l.cfg.pruneEvery, l.retain)
	}
	return l, nil
}

// storeMask records the mask in the log, so that readers hash lookups the
// same way, with a check value that tells the right key from a wrong one
// without storing the key.
func storeMask(ctx context.Context, d *db, m Mask) error {
	if err := setMeta(ctx, d, "mask", m.String()); err != nil {
		return err
	}
	if m.Mode != MaskHash {
		return nil
	}
	check := m.mac(keyCheck)
	old, ok, err := getMeta(ctx, d, "mask_key_check")
	switch {
	case err != nil:
		return err
	case ok && old != check:
		return errors.New("the masking key differs from the one the log was written with: hashed values would no longer match (use the same key, or a new log)")
	case !ok:
		return setMeta(ctx, d, "mask_key_check", check)
	}
	return nil
}

// keyCheck is hashed with the key and kept in the log, to tell a wrong key
// from a right one without storing the key: it is a fixed, public text, so
// its HMAC reveals nothing a guess at a lead's value could use.
const keyCheck = "leadq decision log key check"

// Log masks and encodes an entry (a few microseconds) and appends it to
// the journal part the writer takes next (parts.go). It never does I/O.
// When no part is free it waits for one until ctx ends (OverflowBlock) or
// not at all (OverflowDrop); an entry that finds no room, or comes after
// Close, is dropped, counted in Dropped and reported in the next warning,
// and Log returns false.
func (l *Log) Log(ctx context.Context, e Entry) bool {
	if e.Time.IsZero() {
		e.Time = l.cfg.now()
	}
	// Masking and encoding happen here, on the caller's goroutine: callers
	// run in parallel, so that the one writer only writes.
	s := l.scratch.Get().(*scratch)
	var r row
	l.prepare(&e, &r, s)
	ok := l.append(ctx, &r)
	s.keep(&r)
	l.scratch.Put(s)
	return ok
}

// Dropped is how many entries Log dropped because the buffer was full or
// the log closed.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Written is how many entries the writer has stored.
func (l *Log) Written() uint64 { return l.written.Load() }

// Failed is how many entries the writer could not store: rows the
// database refused, or entries still unwritten when Close gave up on a
// database that was down.
func (l *Log) Failed() uint64 { return l.failed.Load() }

// Health is the state of the log's writer, for /v1/status, /readyz and
// metrics.
type Health struct {
	Backend    string   `json:"backend"`  // sqlite or postgres
	Overflow   Overflow `json:"overflow"` // what a full buffer does
	OK         bool     `json:"ok"`       // false while writes fail
	Queued     int      `json:"queued"`   // entries not yet written, the part being written included
	Buffer     int      `json:"buffer"`   // room for that many, at most: the parts hold a batch each (fewer large entries)
	LagSeconds float64  `json:"lag_seconds"`
	// Unindexed decisions are stored in the journal and found by every
	// lookup, but not yet moved into the indexed tables (journal.go);
	// IndexLagSeconds is how long the oldest of them has waited.
	Unindexed       int64   `json:"unindexed"`
	IndexLagSeconds float64 `json:"index_lag_seconds"`
	// JournalBound is the journal's bound (WithIndexing): past it the
	// writer indexes as it writes, and bulk traffic slows to the
	// indexer's pace.
	JournalBound int64      `json:"journal_bound"`
	Written      uint64     `json:"written"`
	Dropped      uint64     `json:"dropped"`
	Failed       uint64     `json:"failed"`
	LastError    string     `json:"last_error,omitempty"`
	LastErrAt    *time.Time `json:"last_error_at,omitempty"`
}

// Health reports the writer's state.
func (l *Log) Health() Health {
	h := Health{Backend: "sqlite", Overflow: l.cfg.overflow, Queued: int(l.queued.Load()), Buffer: cap(l.free) * l.cfg.batch,
		JournalBound: l.cfg.maxUnindexed, Written: l.written.Load(), Dropped: l.dropped.Load(), Failed: l.failed.Load()}
	if l.db.postgres {
		h.Backend = "postgres"
	}
	if head := l.head.Load(); head != 0 {
		h.LagSeconds = max(0, time.Since(time.Unix(0, head)).Seconds())
	}
	h.Unindexed = l.unindexed.Load()
	if at := l.appended.Load(); at != 0 && h.Unindexed > 0 {
		h.IndexLagSeconds = max(0, time.Since(time.UnixMilli(at)).Seconds())
	}
	l.health.Lock()
	h.OK = !l.health.failing
	if l.health.lastErr != nil {
		h.LastError = l.health.lastErr.Error()
		t := l.health.lastErrAt.UTC()
		h.LastErrAt = &t
	}
	l.health.Unlock()
	return h
}

// Flush waits until every entry logged before the call is stored (or has
// failed), or ctx ends.
func (l *Log) Flush(ctx context.Context) error {
	return l.onWriter(ctx, l.drain)
}

// Index waits until every entry logged before the call is stored and
// every decision of the journal (other replicas' included) is moved into
// the indexed tables, or ctx ends. The writer does this by itself when
// idle; Prune and tests call it to act on the indexed tables at once.
func (l *Log) Index(ctx context.Context) error {
	return l.onWriter(ctx, func() {
		l.drain()
		l.index(func() bool { return true })
	})
}

// onWriter runs op on the writer goroutine, after the entries logged
// before the call, and waits for it to finish, or for ctx to end.
func (l *Log) onWriter(ctx context.Context, op func()) error {
	res := make(chan struct{})
	select {
	case l.ops <- func() { op(); close(res) }:
	case <-l.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-res:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting entries, stores every entry accepted (retrying a
// database that is down for up to the close timeout, then counting what is
// left as failed), indexes the journal (what it cannot index stays there,
// for the next writer), waits for the writer and closes the database. Later Log
// calls drop.
func (l *Log) Close() error {
	l.fill.Lock()
	if l.closed {
		l.fill.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	close(l.stop)
	l.fill.Unlock()
	timer := time.AfterFunc(l.cfg.closeTimeout, func() { l.giveUp.Store(true) })
	<-l.done
	timer.Stop()
	l.bg.Wait()
	l.report()
	var err error
	if n := l.failed.Load(); n > 0 && l.giveUp.Load() {
		err = fmt.Errorf("decision log %s: gave up after %v with the database down; %d decisions not written", l.db.target, l.cfg.closeTimeout, n)
	}
	return errors.Join(err, l.db.Close())
}

// run is the writer: it owns every insert. It appends parts to the
// journal and indexes the journal when idle, when it grows past its bound
// and at the end (journal.go).
func (l *Log) run() {
	defer close(l.done)
	defer l.closeStatements()
	if err := l.backlog(context.Background()); err != nil {
		l.unindexed.Store(1) // look again when idle
	}
	idle := time.NewTimer(l.cfg.indexIdle)
	defer idle.Stop()
	linger := time.NewTimer(l.cfg.linger)
	defer linger.Stop()
	for {
		var idleC, lingerC <-chan time.Time
		if begun, ok := l.filling(); ok {
			// Let the part fill: a part of a few rows costs a
			// transaction, and each entry would wake the writer. Log
			// hands it over as soon as it is full.
			linger.Reset(time.Until(begun.Add(l.cfg.linger)))
			lingerC = linger.C
		} else if l.unindexed.Load() > 0 {
			idle.Reset(l.cfg.indexIdle)
			idleC = idle.C
		}
		select {
		case p := <-l.full:
			l.write(p)
		case <-l.started: // a part began: wait for it to fill (above)
		case <-lingerC:
			if p := l.takeCur(); p != nil {
				l.write(p)
			}
		case op := <-l.ops:
			op()
		case <-idleC:
			// Until entries come again.
			l.index(func() bool { return l.queued.Load() == 0 })
			l.checkpoint()
		case <-l.stop:
			l.drain()
			l.index(func() bool { return !l.giveUp.Load() })
			return
		}
		if l.overBound() {
			l.index(l.overBound)
		}
	}
}

// checkpoint copies SQLite's write-ahead log back into the database file
// once the writer has indexed the whole journal and nothing waits, so that
// the next burst of entries starts with an empty write-ahead log and pays
// for no checkpoint (walCheckpointPages). PASSIVE: it neither waits for
// readers nor holds them up; what a reader still uses is copied later. A
// failure is left to the next checkpoint.
func (l *Log) checkpoint() {
	if l.db.postgres || l.sqlite == nil || l.unindexed.Load() > 0 || l.queued.Load() > 0 {
		return
	}
	l.sqlite.conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
}

// batchLinger is how long the writer waits for a part to fill once its
// first entry has come: bulk traffic then comes in parts of thousands of
// entries instead of a few, each of which cost a transaction and woke the
// writer (a brief NDJSON stream logged to SQLite, in process: 14 µs of
// CPU a lead without it, 8 µs with it, 6.4 with the log off). A single
// decision is stored this much later. A part that fills up (a batch)
// goes to the writer at once: a fixed wait held the writer while bulk
// traffic filled the whole buffer (the default 4,096 entries fill in
// 16 ms at 250,000 decisions a second), and the callers then waited for
// room (OverflowBlock: 70-85 waits, 0.4-0.6 s in all, over three
// 100,000-lead brief streams) or dropped (OverflowDrop).
const batchLinger = 25 * time.Millisecond

// drain writes every part Log has filled or begun.
func (l *Log) drain() {
	for {
		select {
		case p := <-l.full:
			l.write(p)
		default:
			if p := l.takeCur(); p != nil {
				l.write(p)
			}
			return
		}
	}
}

// write stores a part, retrying while the database is unreachable: an
// outage holds the part (and, once every part is full, the callers)
// until the database is back. When the database answers but refuses the
// part, its rows are written one by one and the ones it refuses are
// counted as failed and logged. The part then goes back to Log.
func (l *Log) write(p *part) {
	l.head.Store(p.oldest.UnixNano())
	ctx := context.Background()
	backoff := 100 * time.Millisecond
	for {
		err := l.resolveLocal(ctx, p)
		if err == nil {
			err = l.appendPart(ctx, p.n, p.data, p.sum.summary())
		}
		if err == nil {
			l.written.Add(uint64(p.n))
			l.recovered()
			break
		}
		l.failing(err)
		if l.db.PingContext(ctx) == nil && l.resolveLocal(ctx, p) == nil {
			l.insertOneByOne(ctx, p)
			break
		}
		if l.giveUp.Load() {
			l.failed.Add(uint64(p.n))
			break
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
	if l.queued.Add(-int64(p.n)) == 0 {
		l.head.Store(0)
	}
	l.reuse(p)
}

// insertOneByOne writes the rows of a part the database refused as a
// journal row one at a time into the indexed tables, counting those it
// refuses too.
func (l *Log) insertOneByOne(ctx context.Context, p *part) {
	rows, err := decodeRows(p.data, nil)
	if err != nil {
		// Log encoded them: this is a bug, not bad input.
		l.failed.Add(uint64(p.n - len(rows)))
		l.cfg.log.Error("decision log: a part is corrupt; decisions after its first ones are lost", "lost", p.n-len(rows), "err", err)
	}
	for i := range rows {
		if err := l.insertRows(ctx, rows[i:i+1]); err != nil {
			l.failed.Add(1)
			l.cfg.log.Error("decision log: the database refused a decision; it is lost", "id", uuid.UUID(rows[i].id).String(), "lead_id", rows[i].leadID, "err", err)
			continue
		}
		l.written.Add(1)
	}
	l.recovered()
}

func (l *Log) failing(err error) {
	l.health.Lock()
	first := !l.health.failing
	l.health.failing, l.health.lastErr, l.health.lastErrAt = true, err, l.cfg.now()
	l.health.Unlock()
	if first {
		l.cfg.log.Error("decision log: writing failed; retrying (scoring waits or drops as --log-overflow says)", "log", l.db.target, "err", err)
	}
}

func (l *Log) recovered() {
	l.health.Lock()
	was := l.health.failing
	l.health.failing = false
	l.health.Unlock()
	if was {
		l.cfg.log.Info("decision log: writing again", "log", l.db.target)
	}
}

// every runs f each d until the log stops: the background work beside
// the writer (warnings, retention), one goroutine each.
func (l *Log) every(d time.Duration, f func()) {
	defer l.bg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			f()
		}
	}
}

// reported are the counts the last warning covered; only report touches
// them, from its goroutine and from Close once that has stopped.
type reported struct{ dropped, failed uint64 }

// report logs how many entries were dropped or failed since the last
// report, and whether writes are still failing.
func (l *Log) report() {
	l.health.Lock()
	last := l.lastReport
	failing, lastErr := l.health.failing, l.health.lastErr
	l.health.Unlock()
	dropped, failed := l.dropped.Load(), l.failed.Load()
	if dropped > last.dropped {
		l.cfg.log.Warn("decision log: decisions dropped", "dropped", dropped-last.dropped, "dropped_total", dropped,
			"why", "the buffer was full (--log-buffer) and --log-overflow is drop or the request's time ran out", "log", l.db.target)
	}
	if failed > last.failed {
		l.cfg.log.Warn("decision log: decisions not written", "failed", failed-last.failed, "failed_total", failed, "err", lastErr, "log", l.db.target)
	}
	if failing {
		l.cfg.log.Warn("decision log: the database is still failing; decisions wait in the buffer", "queued", l.queued.Load(), "err", lastErr, "log", l.db.target)
	}
	l.health.Lock()
	l.lastReport = reported{dropped, failed}
	l.health.Unlock()
}

// retain applies the retention once, in bounded batches beside the
// writer.
func (l *Log) retain() {
	l.pruneMu.Lock()
	n, err := prune(context.Background(), l.db, l.cfg.retention, l.cfg.now(), l.cfg.pruneBatch, l.stop, &l.sweep)
	l.pruneMu.Unlock()
	if err != nil {
		l.cfg.log.Error("decision log: pruning failed", "err", err)
	} else if n > 0 {
		l.cfg.log.Debug("decision log: pruned", "decisions", n, "retention", l.cfg.retention.String())
	}
}

// Prune indexes the journal (Index), then applies the retention and
// returns how many decisions it deleted.
func (l *Log) Prune(ctx context.Context) (int64, error) {
	select {
	case <-l.stop:
		return 0, ErrClosed
	default:
	}
	if err := l.Index(ctx); err != nil {
		return 0, err
	}
	l.pruneMu.Lock()
	defer l.pruneMu.Unlock()
	return prune(ctx, l.db, l.cfg.retention, l.cfg.now(), l.cfg.pruneBatch, l.stop, &l.sweep)
}

// row is an entry ready to insert.
type row struct {
	at            time.Time // when the lead was scored
	id            [16]byte
	leadID, email string
	version       string         // until Log sets versionID (setVersion)
	ruleset       string         // the version's ruleset name
	sources       *rules.Ruleset // the version, when the entry gave it
	versionID     int64
	qualified     bool
	tier          string
	score         int
	rules         []byte
	input         []byte
	extra         []byte   // nil when there is none
	keys          []string // search keys of the lead (search.go)
	// keysLater says keys are not computed yet: they are the unmasked
	// keys of leadID, email and company (fillKeys).
	keysLater bool
	company   string
	// raw says input is the request's JSON bytes as they came, and email
	// the entry's (Entry.Email), both to encode (encodeRaw).
	raw bool
	// settle says extra is the masked decision kept until the indexer
	// has checked whether the masked input rebuilds it (settleExtra);
	// brief, that the decision was brief.
	settle, brief bool
	// filter is its keys for its part's summary, hashed before Log takes
	// the part (its mutex).
	filter filterKeys
}

// rawObject reports whether data is one valid JSON object, which
// encodeJSON or encodeDoc encodes whole, with nothing kept aside
// (encodedInput.keepWhole false), and nesting encodeJSON reads.
func rawObject(data []byte) bool {
	p := jsonscan.Space(data, 0)
	if p == len(data) || data[p] != '{' {
		return false
	}
	end, ok := jsonscan.Skip(data, p, maxRawNesting)
	return ok && jsonscan.Space(data, end) == len(data)
}

// encodeRaw encodes the raw rows of rows (prepare left them to the
// journal's readers) as prepare encodes an entry without a mask, with the
// dictionary of their version, and computes their keys.
func (r *Reader) encodeRaw(ctx context.Context, rows []row) error {
	var sc *scanner
	var dicts map[int64]*dictionary
	for i := range rows {
		x := &rows[i]
		if !x.raw {
			continue
		}
		dict := dicts[x.versionID]
		if dict == nil {
			v, err := r.version(ctx, x.versionID)
			if err != nil {
				return err
			}
			if dicts == nil {
				dicts, sc = map[int64]*dictionary{}, &scanner{}
			}
			dict, dicts[x.versionID] = v.dict, v.dict
		}
		e := Entry{Input: x.input, Email: x.email}
		in, ok := encodeJSON(sc, e, x.leadID, dict, Mask{Mode: MaskNone})
		if !ok {
			in = encodeDoc(e, x.leadID, dict, Mask{Mode: MaskNone})
		}
		x.raw, x.input, x.email = false, in.input, in.email
		x.company, _ = in.company.(string)
		x.keysLater = x.leadID != ""
		x.fillKeys()
	}
	return nil
}

// fillKeys computes the keys prepare left for later.
func (r *row) fillKeys() {
	if r.keysLater {
		r.keys, r.keysLater = leadKeys(r.leadID, r.email, r.company, Mask{Mode: MaskNone}), false
	}
}

// leadKeys are searchKeys, storable.
func leadKeys(leadID, email string, company any, m Mask) []string {
	keys := searchKeys(leadID, email, company, m)
	for i := range keys {
		keys[i] = clean(keys[i])
	}
	return keys
}

// newID returns a UUIDv7 of the time t: its first 48 bits are t in
// milliseconds, the rest random, as uuid.NewV7 makes them.
func newID(t time.Time) [16]byte {
	var u [16]byte
	rand.Read(u[:])
	ms := uint64(t.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u
}

// idTime is the time a UUIDv7 holds, to the millisecond.
func idTime(u [16]byte) time.Time {
	var ms int64
	for i := 0; i < 6; i++ {
		ms = ms<<8 | int64(u[i])
	}
	return time.UnixMilli(ms).UTC()
}

// prepare masks an entry and encodes it into r, in s's buffers; a raw
// row's input is e's own, which Log copies into the part before it
// returns. It may set e's decision id. The entry (about 500 bytes) comes
// by pointer, and its decision is read in place: Log's own copy of the
// entry is the only one (the two more took about 80 instructions a
// decision, under callgrind).
func (l *Log) prepare(e *Entry, r *row, s *scratch) {
	m := l.cfg.mask
	d := &e.Decision
	*r = row{at: e.Time, version: d.Ruleset.Version, ruleset: d.Ruleset.Name, qualified: d.Qualified, tier: d.Tier, score: d.Score,
		input: s.input[:0], rules: s.rules[:0]}
	if u, err := uuid.Parse(d.ID); err == nil && d.ID != "" {
		r.id = u
	} else {
		r.id = newID(e.Time)
		d.ID = uuid.UUID(r.id).String()
	}
	var dict *dictionary
	versioned := e.Ruleset != nil && e.Ruleset.Version == d.Ruleset.Version
	if leadID := clean(d.LeadID); versioned && !m.on() && e.Account == nil && leadID == d.LeadID && (e.Decided || rawObject(e.Input)) {
		// Nothing to mask or to add: the request's bytes are stored as
		// they came and encoded by whoever reads the journal (the
		// indexer, lookups: encodeRaw), as they would be encoded here.
		r.sources = e.Ruleset.Ruleset
		r.raw, r.leadID, r.email, r.input = true, leadID, e.Email, e.Input
		r.rules = appendRuleIndexes(r.rules, e.Ruleset.Ruleset, d)
		r.filter = filterKeysOf(r, &s.sc)
		return
	}
	if versioned {
		r.sources = e.Ruleset.Ruleset
		dict = l.dictionary(e.Ruleset.Ruleset)
	} else {
		dict = newDictionary(nil)
	}
	in, ok := encodeJSONInto(&s.sc, r.input, *e, d.LeadID, dict, m)
	if !ok {
		in = encodeDoc(*e, d.LeadID, dict, m)
	}
	masked := len(in.pairs) > 0
	if masked {
		scrubbed := scrub(*d, in.pairs)
		d = &scrubbed
	}
	r.leadID = clean(d.LeadID)
	r.email = in.email
	r.input = in.input
	if r.leadID != "" {
		if m.on() {
			r.keys = leadKeys(r.leadID, r.email, in.company, m)
		} else {
			// Nothing masked: the keys are a function of the lead id, the
			// email and the company, left to the journal's readers and
			// the indexer (journal.go), off the scoring goroutine.
			r.company, _ = in.company.(string)
			r.keysLater = true
		}
	}
	if versioned {
		r.rules = appendRuleIndexes(r.rules, e.Ruleset.Ruleset, d)
		if in.keepWhole || masked {
			r.extra = d.AppendJSON(s.extra[:0])
			// Whether the masked input rebuilds the masked decision (then
			// extra need not be stored) is checked by the indexer: the
			// check decides the lead again, and doubled the masked path's
			// cost on the scoring goroutine.
			r.settle, r.brief = masked && !in.keepWhole, d.Brief
		}
	} else {
		r.extra = d.AppendJSON(s.extra[:0])
	}
	r.filter = filterKeysOf(r, &s.sc)
}

// clean makes a text storable in a PostgreSQL TEXT column, which refuses
// NUL bytes and invalid UTF-8.
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s // nearly always: two fast scans, where ToValidUTF8 decoded each rune and ReplaceAll counted
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// dictionary is the encoding's dictionary for rs: its declared fields,
// built once per compiled version.
func (l *Log) dictionary(rs *rules.Ruleset) *dictionary {
	if v, ok := rs.Memo(dictionaryKey{}, func() any { return newDictionary(fieldNames(rs)) }).(*dictionary); ok {
		return v
	}
	return newDictionary(fieldNames(rs))
}

type dictionaryKey struct{}

func fieldNames(rs *rules.Ruleset) []string {
	out := make([]string, len(rs.Fields))
	for i, f := range rs.Fields {
		out[i] = f.Name
	}
	return out
}

// appendRuleIndexes appends the rules that fired in d to b as indexes
// into rs's knockouts then score rules, as uvarints.
func appendRuleIndexes(b []byte, rs *rules.Ruleset, d *engine.Decision) []byte {
	knockouts := ruleCursor{rs: rs, list: rs.Knockouts}
	for k := range d.Knockouts {
		if i := knockouts.find(d.Knockouts[k].Rule); i >= 0 {
			b = binary.AppendUvarint(b, uint64(i))
		}
	}
	scores := ruleCursor{rs: rs, list: rs.Rules}
	for k := range d.Matched {
		if i := scores.find(d.Matched[k].Rule); i >= 0 {
			b = binary.AppendUvarint(b, uint64(len(rs.Knockouts)+i))
		}
	}
	return b
}

// ruleCursor finds rules of list by id, for ids that come in list's order
// (a decision lists its hits in the order the ruleset declares the rules):
// it compares the rules after the last one it found first, so that a
// decision's hits cost one pass over list (engine's findHit does the
// same), and looks an id that is not there up in the ruleset's map of
// rules by id (ruleIndexOf).
type ruleCursor struct {
	rs   *rules.Ruleset
	list []*eval.Rule
	next int // the position after the last rule found
}

func (c *ruleCursor) find(id string) int {
	for i := c.next; i < len(c.list); i++ {
		if c.list[i].ID == id {
			c.next = i + 1
			return i
		}
	}
	return ruleIndexOf(c.rs, c.list, id)
}

// ruleIndexOf is ruleIndex through the ruleset's map of rules by id (ids
// are unique across knockouts and score rules: Compile refuses a second),
// when it points into list: a lookup instead of a scan of every rule.
func ruleIndexOf(rs *rules.Ruleset, list []*eval.Rule, id string) int {
	if r := rs.Rule(id); r != nil && r.Index < len(list) && list[r.Index] == r {
		return r.Index
	}
	return ruleIndex(list, id)
}

func ruleIndex(rs []*eval.Rule, id string) int {
	for i, r := range rs {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// settleExtra drops the extra of the rows prepare left to settle whose
// stored (masked) input rebuilds it exactly, with the version that
// decided: reading such a row then rebuilds the decision, as reading any
// row without extra does. The others keep it.
func (r *Reader) settleExtra(ctx context.Context, rows []row) error {
	for i := range rows {
		x := &rows[i]
		if !x.settle {
			continue
		}
		v, err := r.version(ctx, x.versionID)
		if err != nil {
			return err
		}
		if v.rs != nil && rebuilds(v.rs, x.input, v.dict, x.leadID, x.email, x.id, x.brief, x.extra) {
			x.extra = nil
		}
		x.settle = false
	}
	return nil
}

// rebuilds reports whether a stored input (encoded) rebuilds the
// decision extra exactly, as brief as it was.
func rebuilds(rs *engine.Ruleset, stored []byte, dict *dictionary, leadID, email string, id [16]byte, brief bool, extra []byte) bool {
	input, err := decodeInput(stored, dict, leadID, email)
	if err != nil {
		return false
	}
	again, err := rebuild(rs, input, idTime(id), brief)
	if err != nil {
		return false
	}
	again.ID = uuid.UUID(id).String()
	return bytes.Equal(again.AppendJSON(nil), extra)
}

// rebuild decides a stored input again with the version that decided it,
// at the time it was decided.
func rebuild(rs *engine.Ruleset, input []byte, at time.Time, brief bool) (engine.Decision, error) {
	opts := engine.Options{Clock: func() time.Time { return at }}
	if brief {
		opts.Detail = engine.Brief
	}
	return rs.ScoreJSON(context.Background(), input, opts)
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

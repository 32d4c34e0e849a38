package decisionlog

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/leadq/leadq/rules"
)

// The queue between Log and the writer is made of parts: journal rows in
// the making (journal.go). Log encodes an entry on the caller's goroutine
// (prepare) and appends it, under a mutex, to the part being filled, as
// appendJournal encodes it, adding it to the part's summary. A part goes
// to the writer when it holds a batch of entries or journalPart bytes, or
// when the writer has waited batchLinger for it; the writer compresses it,
// inserts it as one journal row and gives it back to be filled again.
//
// So each request is copied once, into the part, and nothing else of an
// entry outlives Log. Before, Log filled a row (a struct of some 300 bytes
// with its own copy of the request) and queued it on a channel; the
// writer copied the row into the part and gave the row back through a
// sync.Pool. Rows went from core to core twice, each a few cache misses,
// and the writer's handling of them (the copy, the pool, the channel, the
// version lookup) was 0.6-0.9 µs of its 2.0-2.9 µs a brief decision in
// the server (BENCHMARKS.md, ninth session).
//
// A part's rows carry the id of their ruleset version (versions.id), which
// only the database gives. Log knows the ids of the versions the writer
// has stored; an entry of a version not stored yet starts a part whose
// rows carry instead the position of their version in the part's own list
// (part.versions), and the writer stores those versions and writes their
// ids into the rows before it inserts the part (resolveLocal). That
// happens for the first entries after each reload, without any I/O on
// the caller's goroutine.

// part is a journal row in the making.
type part struct {
	data  []byte     // the rows, as appendJournal encodes them
	sum   partWriter // their summary
	n     int        // how many
	begun time.Time  // when its first row came (the writer's linger)
	// oldest is when its first entry was scored (Health's lag).
	oldest time.Time
	// versions are the versions its rows' version ids index, when some
	// were not stored yet as its first row came (nil otherwise).
	versions []partVersion
}

// partVersion is a version a part's rows point at by position.
type partVersion struct {
	name, version string
	sources       *rules.Ruleset // nil when its entries gave none
}

// storedVersion is a version the writer has stored: its id, and whether
// with its sources (a version stored without them is stored again when an
// entry gives them).
type storedVersion struct {
	id      int64
	sources bool
}

// scratch is prepare's space, kept from one Log call to the next: the
// encoder's scanner and buffers for the request as encoded, the rule
// indexes and the decision's JSON, which the part copies.
type scratch struct {
	sc                  scanner
	input, rules, extra []byte
}

// maxScratch bounds the buffers a scratch keeps: a rare large request's
// buffer is left to the collector.
const maxScratch = 16 << 10

// keep takes back the buffers of r, which prepare filled from s, once its
// part holds a copy. A raw row's input is the caller's, never kept.
func (s *scratch) keep(r *row) {
	if !r.raw && cap(r.input) <= maxScratch {
		s.input = r.input[:0]
	}
	if cap(r.rules) <= maxScratch {
		s.rules = r.rules[:0]
	}
	if cap(r.extra) <= maxScratch && r.extra != nil {
		s.extra = r.extra[:0]
	}
}

// append adds a prepared entry to the part being filled, waiting for a
// free part as the overflow policy says; false when the entry is dropped.
func (l *Log) append(ctx context.Context, r *row) bool {
	l.fill.Lock()
	defer l.fill.Unlock()
	p := l.partToFill(ctx)
	for p != nil && !l.setVersion(p, r) {
		// A version not stored yet, after rows of stored ones: those go
		// as they are, and this one starts a part of its own (or joins
		// one that another caller began while this one waited, if it
		// can: the loop ends at a part with no rows at the latest).
		l.handOff(p)
		p = l.partToFill(ctx)
	}
	if p == nil {
		l.dropped.Add(1)
		return false
	}
	if p.n == 0 {
		p.oldest = r.at
	}
	p.data = appendJournal(p.data, r)
	p.sum.add(r.id, &r.filter)
	p.n++
	l.queued.Add(1)
	if p.n >= l.cfg.batch || len(p.data) >= journalPart {
		l.handOff(p)
	}
	return true
}

// partToFill is the part being filled, or a free part begun: nil when
// the log is closed, or when no part is free and the overflow policy
// drops or the caller's ctx ended while it waited. It is called, and
// returns, with l.fill held, which it releases while it waits.
func (l *Log) partToFill(ctx context.Context) *part {
	for !l.closed {
		if l.cur != nil {
			return l.cur
		}
		select {
		case p := <-l.free:
			l.begin(p)
			return p
		default:
		}
		if l.cfg.overflow != OverflowBlock {
			return nil
		}
		l.fill.Unlock()
		var p *part
		select {
		case p = <-l.free:
		case <-ctx.Done():
		case <-l.stop:
		}
		l.fill.Lock()
		if p == nil {
			return nil
		}
		if l.cur != nil || l.closed {
			l.free <- p // another caller began one meanwhile (free has room for every part)
			continue
		}
		l.begin(p)
		return p
	}
	return nil
}

// begin makes p, a free part, the part being filled, and tells the writer.
func (l *Log) begin(p *part) {
	if p.data == nil {
		// Its size once, rather than grown by copies from nothing: each
		// copy is a fresh block of heap, which a new server's first burst
		// pays for in page faults.
		size := min(journalPart, l.cfg.batch<<10)
		p.data = make([]byte, 0, size+size/8)
	}
	p.data, p.n, p.versions, p.begun = p.data[:0], 0, nil, time.Now()
	p.sum.reset()
	l.cur = p
	select {
	case l.started <- struct{}{}:
	default: // the writer has yet to see an earlier one, and will see this part then
	}
}

// handOff gives the part being filled to the writer. It never waits: full
// has room for every part.
func (l *Log) handOff(p *part) {
	l.full <- p
	l.cur = nil
}

// setVersion sets r's version id as p's rows carry it: the stored
// version's id, or, in a part of local versions, the position of r's
// version among them. It reports false when r's version is not stored and
// p holds rows of stored ids.
func (l *Log) setVersion(p *part, r *row) bool {
	if p.versions == nil {
		if v, ok := l.stored[r.version]; ok && (v.sources || r.sources == nil) {
			r.versionID = v.id
			return true
		}
		if p.n > 0 {
			return false
		}
		p.versions = []partVersion{}
	}
	for i := range p.versions {
		if v := &p.versions[i]; v.version == r.version {
			if v.sources == nil {
				v.sources = r.sources
			}
			r.versionID = int64(i)
			return true
		}
	}
	p.versions = append(p.versions, partVersion{name: r.ruleset, version: r.version, sources: r.sources})
	r.versionID = int64(len(p.versions) - 1)
	return true
}

// takeCur takes the part being filled from Log, for the writer to write
// now: nil when it holds nothing.
func (l *Log) takeCur() *part {
	l.fill.Lock()
	defer l.fill.Unlock()
	p := l.cur
	if p == nil || p.n == 0 {
		return nil
	}
	l.cur = nil
	return p
}

// filling reports when the part being filled began, if it holds rows.
func (l *Log) filling() (time.Time, bool) {
	l.fill.Lock()
	defer l.fill.Unlock()
	if l.cur == nil || l.cur.n == 0 {
		return time.Time{}, false
	}
	return l.cur.begun, true
}

// maxPartCap bounds the buffer a part keeps for the next: one grown by a
// rare large entry is left to the collector.
const maxPartCap = 4 * journalPart

// reuse gives a written part back to Log.
func (l *Log) reuse(p *part) {
	if cap(p.data) > maxPartCap {
		p.data = nil
	}
	p.n, p.versions = 0, nil
	l.free <- p // never waits: free has room for every part
}

// resolveLocal stores the versions of a part of local versions and writes
// their ids into its rows, which then carry stored ids like any part's.
func (l *Log) resolveLocal(ctx context.Context, p *part) error {
	if p.versions == nil {
		return nil
	}
	ids := make([]int64, len(p.versions))
	for i, v := range p.versions {
		id, err := l.versionID(ctx, v)
		if err != nil {
			return err
		}
		ids[i] = id
	}
	data, err := relabel(p.data, ids)
	if err != nil {
		return err
	}
	p.data, p.versions = data, nil
	return nil
}

// versionID stores v, unless the writer has (with its sources, when v
// has them), and returns its id.
func (l *Log) versionID(ctx context.Context, v partVersion) (int64, error) {
	l.fill.Lock()
	known, ok := l.stored[v.version]
	l.fill.Unlock()
	if ok && (known.sources || v.sources == nil) {
		return known.id, nil
	}
	id, err := storeVersion(ctx, l.db, v.name, v.version, v.sources)
	if err != nil {
		return 0, fmt.Errorf("store ruleset version %s: %w", v.version, err)
	}
	l.fill.Lock()
	l.stored[v.version] = storedVersion{id: id, sources: known.sources || v.sources != nil}
	l.fill.Unlock()
	return id, nil
}

// relabel returns a copy of data, a part's rows, with each row's version
// id, a position in ids, replaced by the id there.
func relabel(data []byte, ids []int64) ([]byte, error) {
	rows, err := scanJournal(data, nil)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(data)+8*len(rows))
	for i, x := range rows {
		end := len(data)
		if i+1 < len(rows) {
			end = int(rows[i+1].at)
		}
		at := int(x.email[1]) // the version id follows the email
		k, n := binary.Uvarint(data[at:])
		if n <= 0 || k >= uint64(len(ids)) {
			return nil, errJournal
		}
		out = append(out, data[x.at:at]...)
		out = binary.AppendUvarint(out, uint64(ids[k]))
		out = append(out, data[at+n:end]...)
	}
	return out, nil
}

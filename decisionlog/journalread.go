package decisionlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/klauspost/compress/s2"

	"github.com/leadq/leadq/internal/swar"
)

// Reading the journal (journal.go) for lookups. A reader keeps the journal
// rows it has decoded (a row never changes, only goes), but decodes only
// what a lookup cannot do without: a request the writer kept as it came
// (flag 8) is encoded (encodeRaw, about 3 µs) only when it may match, and
// its search keys computed then. Encoding all of them took a reader's
// first lookup 0.4-0.7 s with a full journal (DefaultMaxUnindexed
// decisions); finding a lead by id, email or text now costs a pass over
// compact columns:
//
//   - lead ids: one string of the batch's lead ids, each after a NUL, in
//     which a lead id is one bytes.Index (the rows' lead ids lie one
//     request apart in the decoded batch: comparing them row by row read
//     a cache line a decision, 5 ms for 131,072);
//   - emails and search keys of raw rows: every search key is the
//     lower-cased lead id, email, email domain, company or company word,
//     so a key that starts with a text (a prefix: a filter of whole keys
//     could not answer it) is the text found, in any ASCII case, in the
//     row's lead id, email or request, in the decoded batch as it is,
//     unless the row has what a search of its bytes cannot show (an
//     escape in the JSON, a byte outside ASCII, which may lower-case to
//     ASCII: the Kelvin sign; such rows are always encoded). A text found
//     inside a JSON key ("email": a name, not a value) is passed over.
//     The rows where the text is found are candidates, encoded and then
//     matched exactly, as before (journalQuery.matches);
//   - decision ids: each batch's least and greatest id, so a lookup of an
//     id skips the batches that cannot hold it.
//
// Before any of that, a lookup by decision id, lead id or email fetches
// only the journal rows whose summaries say they may hold it
// (journalparts.go): a first lookup reads a row or two, not the journal.
//
// Batches are read latest id first, and a batch's rows latest first when
// their ids ascend (a writer's do): once limit decisions have been found,
// older batches and rows are not read, so a search for one letter encodes
// a few dozen rows, not the journal.

// journalBatch is a journal row as a reader decoded it: its rows where
// they are in its data (jrow), each decoded (decodeRows) and, raw, encoded
// into resolved when a lookup needs it; rows not raw are so from the
// start. resolved is shared and written once a row.
type journalBatch struct {
	seq       int64 // the journal row's
	rows      []jrow
	data      []byte   // the batch decompressed
	lo, hi    [16]byte // the least and greatest decision id
	ascending bool     // the rows' ids ascend
	leads     column   // each row's lead id, as stored
	raw       []int32  // the rows still to encode (row.raw)
	plain     []int32  // the others, encoded, their keys computed
	resolved  []atomic.Pointer[row]
	spansOnce sync.Once
	always    []int32 // raw rows a search of data cannot rule out
}

// jrow is a row of a batch as a reader keeps it: where its fields are in
// the batch's data, [from, to), and no pointer. As row structs (views of
// data, a dozen pointers each) a full journal's rows were 35 MB that the
// garbage collector traced, about a third of a first lookup's CPU.
type jrow struct {
	id                                     [16]byte
	at                                     int32 // where the row starts
	lead, email, tier, rules, input, extra [2]int32
	keys                                   int32 // where the count of its search keys is
	versionID                              int64
	flags                                  byte // as appendJournal wrote them
}

// scanJournal finds the rows of a batch decompressed, as appendJournal
// wrote them, without decoding them: the one walk of the journal's format
// (decodeRows builds rows from what it finds). A corrupt batch gives the
// rows before the corruption and errJournal.
func scanJournal(data []byte, out []jrow) ([]jrow, error) {
	if len(data) > math.MaxInt32 {
		return out, errJournal
	}
	p := 0
	uvarint := func() (uint64, bool) {
		v, n := binary.Uvarint(data[p:])
		p += max(n, 0)
		return v, n > 0
	}
	blob := func() ([2]int32, bool) {
		n, ok := uvarint()
		if !ok || n > uint64(len(data)-p) {
			return [2]int32{}, false
		}
		f := [2]int32{int32(p), int32(p + int(n))}
		p += int(n)
		return f, true
	}
	for p < len(data) {
		x := jrow{at: int32(p)}
		if len(data)-p < 17 {
			return out, errJournal
		}
		copy(x.id[:], data[p:])
		p += 16
		var ok1, ok2, ok3, ok4, ok5, ok6 bool
		x.lead, ok1 = blob()
		x.email, ok2 = blob()
		v, ok3 := uvarint()
		if !ok1 || !ok2 || !ok3 || p == len(data) {
			return out, errJournal
		}
		x.versionID, x.flags = int64(v), data[p]
		p++
		x.tier, ok4 = blob()
		if _, n := binary.Varint(data[p:]); n <= 0 || !ok4 {
			return out, errJournal
		} else {
			p += n
		}
		x.rules, ok5 = blob()
		x.input, ok6 = blob()
		if !ok5 || !ok6 {
			return out, errJournal
		}
		if x.flags&2 != 0 {
			var ok bool
			if x.extra, ok = blob(); !ok {
				return out, errJournal
			}
		}
		x.keys = int32(p)
		k, ok := uvarint()
		if !ok {
			return out, errJournal
		}
		if k > 0 && k <= uint64(len(data)-p) {
			for range k {
				if _, ok := blob(); !ok {
					return out, errJournal
				}
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// text is the text at f in b.data, a view.
func (b *journalBatch) text(f [2]int32) string {
	if f[0] == f[1] {
		return ""
	}
	return unsafe.String(&b.data[f[0]], int(f[1]-f[0]))
}

// bytes is the blob at f in b.data, a view.
func (b *journalBatch) bytes(f [2]int32) []byte { return b.data[f[0]:f[1]:f[1]] }

// decodeRow decodes row i; its texts are views of b.data.
func (b *journalBatch) decodeRow(i int32) (row, error) {
	if int(i) >= len(b.rows) {
		return row{}, errJournal
	}
	var keys []string
	return b.build(&b.rows[i], &keys), nil
}

// build builds the row x, which scanJournal found in b.data (so that what it
// reads again, the score and the keys, is known to be well formed). Its
// search keys are appended to *keys, whose array rows share: one
// allocation for a thousand keys, not one a row.
func (b *journalBatch) build(x *jrow, keys *[]string) row {
	r := row{id: x.id, leadID: b.text(x.lead), email: b.text(x.email), versionID: x.versionID, qualified: x.flags&1 != 0,
		tier: b.text(x.tier), rules: b.bytes(x.rules), input: b.bytes(x.input)}
	score, _ := binary.Varint(b.data[x.tier[1]:])
	r.score = int(score)
	if x.flags&2 != 0 {
		r.extra = b.bytes(x.extra)
		r.settle, r.brief = x.flags&16 != 0, x.flags&32 != 0
	}
	p := int(x.keys)
	k, n := binary.Uvarint(b.data[p:])
	p += n
	if k > 0 && k <= uint64(len(b.data)-p) { // as scanJournal: a count past the end is no keys
		if cap(*keys)-len(*keys) < int(k) {
			*keys = make([]string, 0, max(1024, int(k)))
		}
		from := len(*keys)
		for range k {
			l, n := binary.Uvarint(b.data[p:])
			p += n
			*keys = append(*keys, b.text([2]int32{int32(p), int32(p + int(l))}))
			p += int(l)
		}
		r.keys = (*keys)[from:len(*keys):len(*keys)]
	}
	switch {
	case x.flags&8 != 0:
		r.raw, r.keys = true, nil // keys once encoded (encodeRaw)
	case x.flags&4 != 0:
		// Keys computed now (appendJournal): the one stored is the company.
		r.keysLater = true
		if len(r.keys) > 0 {
			r.company = r.keys[0]
		}
		r.fillKeys()
	}
	return r
}

// column holds one text a row (or of some rows), each after a NUL, and a
// final NUL: "\x00a\x00b\x00"; starts[k] is where the k-th text's NUL is.
type column struct {
	data   []byte
	starts []int32
}

func (c *column) add(parts ...string) {
	c.starts = append(c.starts, int32(len(c.data)))
	for _, p := range parts {
		c.data = append(c.data, 0)
		c.data = append(c.data, p...)
	}
}

// entryAt is the entry whose text holds offset o.
func (c *column) entryAt(o int) int {
	return sort.Search(len(c.starts), func(k int) bool { return int(c.starts[k]) > o }) - 1
}

// exact appends to out the entries whose whole text is s (which holds no
// NUL).
func (c *column) exact(s string, out []int32) []int32 {
	needle := make([]byte, 0, len(s)+2)
	needle = append(append(append(needle, 0), s...), 0)
	for o := 0; ; {
		k := bytes.Index(c.data[o:], needle)
		if k < 0 {
			return out
		}
		o += k
		out = append(out, int32(c.entryAt(o)))
		o += len(needle) - 1
	}
}

func newJournalBatch(rows []jrow, data []byte) (*journalBatch, error) {
	b := &journalBatch{rows: rows, data: data, ascending: true, resolved: make([]atomic.Pointer[row], len(rows))}
	nul := false
	size := 0
	for i := range rows {
		size += int(rows[i].lead[1]-rows[i].lead[0]) + 1
	}
	b.leads.data = make([]byte, 0, size+1)
	b.leads.starts = make([]int32, 0, len(rows))
	for i := range rows {
		x := &rows[i]
		if i == 0 || bytes.Compare(x.id[:], b.lo[:]) < 0 {
			b.lo = x.id
		}
		if i == 0 || bytes.Compare(x.id[:], b.hi[:]) > 0 {
			b.hi = x.id
		} else {
			b.ascending = false
		}
		lead := b.text(x.lead)
		b.leads.add(lead)
		nul = nul || strings.IndexByte(lead, 0) >= 0
		if x.flags&8 != 0 {
			b.raw = append(b.raw, int32(i))
			continue
		}
		b.plain = append(b.plain, int32(i))
	}
	// Rows not raw are decoded now, one by one when few (decodeRows
	// allocates room for a thousand keys at once), else the batch.
	if len(b.plain) > 16 {
		all, err := decodeRows(data, make([]row, 0, len(rows)))
		if err != nil || len(all) != len(rows) {
			return nil, errJournal
		}
		for _, i := range b.plain {
			b.resolved[i].Store(&all[i])
		}
	} else {
		for _, i := range b.plain {
			d, err := b.decodeRow(i)
			if err != nil {
				return nil, err
			}
			b.resolved[i].Store(&d)
		}
	}
	b.leads.data = append(b.leads.data, 0)
	if nul {
		b.leads = column{} // a lead id with a NUL (none since clean): rows compared one by one
	}
	return b, nil
}

// buildSpans finds the raw rows a search cannot rule out, once.
func (b *journalBatch) buildSpans() {
	b.spansOnce.Do(func() {
		for _, i := range b.raw {
			x := &b.rows[i]
			// (A valid request has control characters only as space
			// between its tokens.)
			if odd(b.text(x.lead), true) || odd(b.text(x.email), true) || odd(b.text(x.input), false) || bytes.IndexByte(b.bytes(x.input), '\\') >= 0 {
				b.always = append(b.always, i)
			}
		}
	})
}

// odd reports whether s has bytes a search key may not show as they are:
// outside ASCII (strings.ToLower maps some, such as the Kelvin sign, to
// ASCII letters), and with controls, control characters (clean removes
// NULs, TrimSpace others).
func odd(s string, controls bool) bool {
	var m uint64
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := swar.LoadString(s, i)
		m |= x & 0x8080808080808080
		if controls {
			m |= swar.InRange(x, 0, 0x1f)
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= 0x80 || controls && s[i] < 0x20 {
			return true
		}
	}
	return m != 0
}

// textCandidates appends to out the raw rows whose keys or email may
// start with or be s (lower-cased): those where s is found, in any case,
// in the lead id, email or request outside a JSON key, and those a search
// cannot rule out, which are all the candidates of a text outside ASCII.
func (b *journalBatch) textCandidates(s string, out []int32) []int32 {
	if s == "" {
		return out
	}
	b.buildSpans()
	out = append(out, b.always...)
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == 0:
			return append(out, b.raw...)
		case s[i] >= 0x80:
			// A key with a character outside ASCII has it from its
			// source, as itself or escaped: only the rows with such
			// bytes or escapes (always) may have it.
			return out
		}
	}
	// s is found by its rarest byte, which IndexByte finds many bytes at
	// a time (bytes.Index looks for the first, often a common letter),
	// in both cases.
	r := rarest(s)
	out = b.find(s, r, s[r], out)
	if c := s[r]; 'a' <= c && c <= 'z' {
		out = b.find(s, r, c-'a'+'A', out)
	}
	return out
}

// find is textCandidates for the occurrences of s whose byte r is c.
func (b *journalBatch) find(s string, r int, c byte, out []int32) []int32 {
	data, quote := b.data, strings.IndexByte(s, '"') >= 0
	for o := 0; o+len(s) <= len(data); {
		k := bytes.IndexByte(data[o+r:len(data)-len(s)+r+1], c)
		if k < 0 {
			break
		}
		o += k
		if !equalFold(data[o:o+len(s)], s) {
			o++
			continue
		}
		e := sort.Search(len(b.raw), func(k int) bool { return int(b.rows[b.raw[k]].input[1]) > o })
		if e == len(b.raw) {
			break
		}
		x, end := &b.rows[b.raw[e]], o+len(s)
		in := func(f [2]int32) bool { return o >= int(f[0]) && end <= int(f[1]) }
		// A text in a request without escapes is in a value, or in an
		// object's key, which no search key comes from; a key starts
		// an email or its domain, or a word of a company.
		if in(x.lead) || in(x.email) || in(x.input) && (quote || !jsonKey(data[:x.input[1]], end) && keyStart(data, int(x.input[0]), o)) {
			out = append(out, b.raw[e])
			o = int(x.input[1]) // the next row
			continue
		}
		o++
	}
	return out
}

// keyStart reports whether the text at o in a request without escapes,
// in a string that is not an object's key, may start a search key: in the
// value of a key "email", at its start or its domain's (after the '@',
// spaces trimmed); in the value of a key "company", at a word's start.
// A value elsewhere (an array's element, a number) gives no key.
func keyStart(data []byte, from, o int) bool {
	q := bytes.LastIndexByte(data[from:o], '"')
	if q < 0 {
		return false
	}
	p := from + q - 1 // before the value's opening quote
	for p >= from && isSpace(data[p]) {
		p--
	}
	if p < from || data[p] != ':' {
		return false
	}
	p--
	for p >= from && isSpace(data[p]) {
		p--
	}
	if p < from || data[p] != '"' {
		return false
	}
	k := bytes.LastIndexByte(data[from:p], '"')
	if k < 0 {
		return false
	}
	prev := data[o-1]
	switch string(data[from+k+1 : p]) {
	case "email":
		return prev == '"' || prev == '@' || isSpace(prev)
	case "company":
		return !('a' <= prev|0x20 && prev|0x20 <= 'z' || '0' <= prev && prev <= '9')
	}
	return false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// rarest is the index of the byte of s least frequent in requests, by a
// rough rank: '@' and most punctuation, then rare letters and digits, then
// common letters, then what JSON is made of (quotes, colons, spaces).
func rarest(s string) int {
	const common = "\":, {}[]etaoinsrlhdc.umpgfy-wb_0123456789vkxjqz" // most frequent first
	best, rank := 0, -1
	for i := 0; i < len(s); i++ {
		k := strings.IndexByte(common, s[i])
		if k < 0 {
			k = len(common)
		}
		if k >= rank {
			best, rank = i, k
		}
	}
	return best
}

// equalFold reports whether d is s (lower-case) in any ASCII case.
func equalFold(d []byte, s string) bool {
	for i := range len(s) {
		c := d[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// jsonKey reports whether the text that ends at end in a request without
// escapes (data ends with the request; the text has no quote) is in an
// object's key: the next quote ends the string it is in, and a colon
// follows. A text in a value is followed by a comma or a closing bracket.
func jsonKey(data []byte, end int) bool {
	q := bytes.IndexByte(data[end:], '"')
	if q < 0 {
		return false
	}
	p := end + q + 1
	for p < len(data) && (data[p] == ' ' || data[p] == '\t' || data[p] == '\n' || data[p] == '\r') {
		p++
	}
	return p < len(data) && data[p] == ':'
}

// journalQuery selects decisions of the journal: those with the id, the
// lead id, the email (as stored), a search key that starts with prefix, or
// an id within a range (any that is set).
type journalQuery struct {
	id     *[16]byte
	leadID string
	leads  []string // any of these lead ids, sorted, not empty (search: every decision of the leads found)
	email  string
	prefix string
	within *idRange // Stats' window
}

// idRange is the decision ids from from up to, and without, to: the
// decisions of a time window (UUIDv7s begin with their time).
type idRange struct{ from, to [16]byte }

func (w *idRange) has(id [16]byte) bool {
	return bytes.Compare(id[:], w.from[:]) >= 0 && bytes.Compare(id[:], w.to[:]) < 0
}

// overlaps reports whether the ids from lo to hi, both included, may be
// in the range.
func (w *idRange) overlaps(lo, hi [16]byte) bool {
	return bytes.Compare(lo[:], w.to[:]) < 0 && bytes.Compare(hi[:], w.from[:]) >= 0
}

// matches is the query's reference, on an encoded row.
func (q journalQuery) matches(x *row) bool {
	if q.id != nil && x.id == *q.id || q.leadID != "" && x.leadID == q.leadID || q.email != "" && x.email == q.email {
		return true
	}
	if _, ok := slices.BinarySearch(q.leads, x.leadID); ok {
		return true
	}
	if q.within != nil && q.within.has(x.id) {
		return true
	}
	if q.prefix != "" {
		for _, k := range x.keys {
			if strings.HasPrefix(k, q.prefix) {
				return true
			}
		}
	}
	return false
}

// candidates are the rows of b that may match q, ascending: all that
// match, and some that do not.
func (b *journalBatch) candidates(q journalQuery) []int32 {
	var c []int32
	if q.id != nil && bytes.Compare(q.id[:], b.lo[:]) >= 0 && bytes.Compare(q.id[:], b.hi[:]) <= 0 {
		for i := range b.rows {
			if b.rows[i].id == *q.id {
				c = append(c, int32(i))
			}
		}
	}
	if q.within != nil && q.within.overlaps(b.lo, b.hi) {
		for i := range b.rows {
			if q.within.has(b.rows[i].id) {
				c = append(c, int32(i))
			}
		}
	}
	if q.leadID != "" {
		c = b.leadRows(q.leadID, c)
	}
	for _, lead := range q.leads {
		c = b.leadRows(lead, c)
	}
	if q.email != "" || q.prefix != "" {
		c = append(c, b.plain...) // their keys and emails are at hand
		if !strings.HasPrefix(q.email, q.prefix) || q.prefix == "" {
			// (A row whose text holds the email holds a prefix of it.)
			c = b.textCandidates(q.email, c)
		}
		c = b.textCandidates(q.prefix, c)
	}
	slices.Sort(c)
	return slices.Compact(c)
}

// leadRows appends the rows of b about lead to c.
func (b *journalBatch) leadRows(lead string, c []int32) []int32 {
	if b.leads.data != nil && strings.IndexByte(lead, 0) < 0 {
		return b.leads.exact(lead, c)
	}
	for i := range b.rows {
		if b.text(b.rows[i].lead) == lead {
			c = append(c, int32(i))
		}
	}
	return c
}

// resolve decodes and encodes the raw rows among rows not encoded yet.
func (b *journalBatch) resolve(ctx context.Context, r *Reader, rows []int32) error {
	var todo []row
	var at []int32
	for _, i := range rows {
		if b.resolved[i].Load() == nil {
			x, err := b.decodeRow(i)
			if err != nil {
				return err
			}
			todo, at = append(todo, x), append(at, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if err := r.encodeRaw(ctx, todo); err != nil {
		return err
	}
	for k, i := range at {
		b.resolved[i].Store(&todo[k])
	}
	return nil
}

// row is row i, encoded (resolve it first).
func (b *journalBatch) row(i int32) *row { return b.resolved[i].Load() }

// journal returns the decisions in the journal now, batch by batch: those
// of the journal rows that may hold what q selects, by their summaries
// (journalparts.go). It reads the summaries and the rows it needs that it
// has not read before, and forgets the rows gone; the batches are shared
// and read-only.
func (r *Reader) journal(ctx context.Context, q journalQuery) ([]*journalBatch, error) {
	if r.db.noJournal {
		return nil, nil
	}
	r.jmu.Lock()
	defer r.jmu.Unlock()
	var seqs []int64
	var may map[int64]bool // the rows PostgreSQL found q may be in
	var err error
	if r.db.postgres && !r.db.noParts && q.prefix == "" && len(q.leads) == 0 {
		seqs, may, err = r.mayHold(ctx, q)
	} else {
		seqs, err = r.journalSeqs(ctx)
	}
	if err != nil {
		return nil, err
	}
	next := make(map[int64]*jpart, len(seqs))
	var unsummed []any
	for _, seq := range seqs {
		p := r.jparts[seq]
		if p == nil {
			p = &jpart{}
		}
		next[seq] = p
		if may == nil && !p.summed {
			unsummed = append(unsummed, seq)
		}
	}
	if err := r.readSummaries(ctx, unsummed, next); err != nil {
		return nil, err
	}
	wanted := func(seq int64, p *jpart) bool {
		if may != nil {
			return may[seq]
		}
		return p.sum.mayHold(q)
	}
	var missing []any
	for _, seq := range seqs {
		if p := next[seq]; p.batch == nil && wanted(seq, p) {
			missing = append(missing, seq)
		}
	}
	decoded := make(map[int64]*journalBatch, len(missing))
	if err := r.decodeJournal(ctx, missing, decoded); err != nil {
		return nil, err
	}
	out := make([]*journalBatch, 0, len(seqs))
	for _, seq := range seqs {
		p := next[seq]
		if b, ok := decoded[seq]; ok {
			p.batch = b
		}
		if p.batch != nil && wanted(seq, p) {
			out = append(out, p.batch)
		}
	}
	r.jparts = next
	return out, nil
}

// decodeJournal reads the journal rows seqs and decodes them into next:
// as many readers at once as cores, each reading and decoding its share
// (a PostgreSQL server reads each share's rows, kept out of line, on a
// core of its own).
func (r *Reader) decodeJournal(ctx context.Context, seqs []any, next map[int64]*journalBatch) error {
	// A few rows are read on one connection: another reader would open
	// a connection of its own (on PostgreSQL a new server process, as
	// long as reading the rows) for a lookup's row or two.
	workers := min(runtime.GOMAXPROCS(0), (len(seqs)+3)/4)
	shares := make([][]any, workers)
	for i, seq := range seqs {
		shares[i%workers] = append(shares[i%workers], seq)
	}
	errs := make([]error, workers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w, share := range shares {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = r.readJournal(ctx, share, func(seq int64, b *journalBatch) {
				mu.Lock()
				next[seq] = b
				mu.Unlock()
			})
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readJournal reads and decodes the journal rows seqs, and hands each to
// add.
func (r *Reader) readJournal(ctx context.Context, seqs []any, add func(int64, *journalBatch)) error {
	for len(seqs) > 0 {
		n := min(len(seqs), 500)
		rows, err := r.db.query(ctx, `SELECT seq, n, data FROM journal WHERE seq IN (`+strings.TrimSuffix(strings.Repeat("?, ", n), ", ")+`)`, seqs[:n]...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var seq, count int64
			var data []byte
			if err := rows.Scan(&seq, &count, &data); err != nil {
				rows.Close()
				return err
			}
			r.journalRead.Add(1)
			r.journalBytes.Add(int64(len(data)))
			b, err := newBatch(data, count)
			if err != nil {
				rows.Close()
				return fmt.Errorf("journal row %d: %w", seq, err)
			}
			b.seq = seq
			add(seq, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		seqs = seqs[n:]
	}
	return nil
}

// newBatch decodes a journal row's data, of n decisions.
func newBatch(stored []byte, n int64) (*journalBatch, error) {
	data, err := s2.Decode(nil, stored)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errJournal, err)
	}
	rows, err := scanJournal(data, make([]jrow, 0, min(max(n, 0), 1<<20)))
	if err != nil {
		return nil, err
	}
	return newJournalBatch(rows, data)
}

func (r *Reader) journalSeqs(ctx context.Context) ([]int64, error) {
	rows, err := r.db.query(ctx, `SELECT seq FROM journal ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, err
		}
		seqs = append(seqs, seq)
	}
	return seqs, rows.Err()
}

// journalMatch returns the latest limit decisions of the journal that
// match q, latest first.
func (r *Reader) journalMatch(ctx context.Context, limit int, q journalQuery) ([]storedRow, error) {
	batches, err := r.journal(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	batches = slices.Clone(batches)
	slices.SortFunc(batches, func(a, b *journalBatch) int { return bytes.Compare(b.hi[:], a.hi[:]) })
	var out []storedRow
	// Once out holds limit decisions, floor is the least of them: older
	// ones are not in the answer.
	var floor *[16]byte
	trim := func() {
		out = latestFirst(out, limit)
		if len(out) == limit {
			f := [16]byte(out[limit-1].id)
			floor = &f
		}
	}
	const chunk = 32 // rows encoded at once
	for _, b := range batches {
		if floor != nil && bytes.Compare(b.hi[:], floor[:]) < 0 {
			break
		}
		c := b.candidates(q)
		for end := len(c); end > 0; {
			part := c[max(0, end-chunk):end]
			end -= len(part)
			if b.ascending && floor != nil && bytes.Compare(b.rows[part[len(part)-1]].id[:], floor[:]) < 0 {
				break
			}
			if err := b.resolve(ctx, r, part); err != nil {
				return nil, fmt.Errorf("journal: %w", err)
			}
			for j := len(part) - 1; j >= 0; j-- {
				if x := b.row(part[j]); q.matches(x) {
					out = append(out, x.stored())
				}
			}
			if len(out) >= limit && (floor == nil || len(out) >= 2*limit+64) {
				trim()
			}
		}
		if len(out) >= limit {
			trim()
		}
	}
	return latestFirst(out, limit), nil
}

// moved reports whether a journal row of batches was indexed since they
// were read: a count that read them and then the tables may have counted
// its decisions twice. It reads the journal's row numbers, no data.
func (r *Reader) moved(ctx context.Context, before []*journalBatch) (bool, error) {
	if len(before) == 0 {
		return false, nil
	}
	seqs, err := r.journalSeqs(ctx)
	if err != nil {
		return false, err
	}
	for _, b := range before {
		if _, still := slices.BinarySearch(seqs, b.seq); !still {
			return true, nil
		}
	}
	return false, nil
}

// latestFirst sorts decisions latest first, without duplicates, and keeps
// the first limit.
func latestFirst(found []storedRow, limit int) []storedRow {
	slices.SortFunc(found, func(a, b storedRow) int { return bytes.Compare(b.id[:], a.id[:]) })
	found = slices.CompactFunc(found, func(a, b storedRow) bool { return a.id == b.id })
	if len(found) > limit {
		found = found[:limit]
	}
	return found
}

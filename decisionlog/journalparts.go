package decisionlog

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
)

// Summaries of the journal's rows ("parts"): with each journal row the
// writer stores, in journal_parts, the least and greatest decision id of
// its decisions and a Bloom filter of their lead ids and emails (as a
// lookup compares them), about 2.5 bytes a decision. A lookup by decision
// id, lead id or email tests the summaries (PostgreSQL in its query,
// mayHold, so that nothing of the journal but the answer's rows crosses
// the network; on SQLite the reader, which reads the summaries of rows
// new to it), then reads the data of the journal rows that may hold the
// answer only: before, a reader's first lookup fetched, decompressed and
// decoded the whole journal (6 MB from PostgreSQL's TOAST and 45 MB
// decoded for 131,072 decisions). Stats reads the rows whose decision
// ids may fall in its window (lo and hi), Count none (each row says how
// many decisions it holds); a search by text (a prefix, which a filter of
// whole keys cannot answer) still reads every row.
//
// A summary is only ever a shortcut: a journal row without one (appended
// before summaries, by an older writer, or whose summary insert failed) is
// read by every lookup, and a deleted summary costs a read, never an
// answer.

// partSummary is what journal_parts holds of a journal row.
type partSummary struct {
	lo, hi [16]byte // the least and greatest decision id
	// filter is a Bloom filter: byte 0 is flags (filterEmailsUnknown),
	// the rest its bits, 10 a key.
	filter []byte
}

// filterEmailsUnknown: the row holds a request whose lead's email Log
// could not read cheaply (keys with escapes: see leadEmailOf): every
// lookup by email reads the row.
const filterEmailsUnknown = 1

// Kinds of key in the filter, hashed with the key so that a lead id is
// never taken for an email.
const (
	filterLeadID = 'l'
	filterEmail  = 'e'
)

// filterProbes is how many bits a key sets, for 10 bits a key: about 1%
// of false positives.
const filterProbes = 7

// filterHash is the stable 64-bit hash of a key of a kind (FNV-1a, then
// SplitMix64's finalizer to spread its low bits): stored filters depend
// on it, so it never changes.
func filterHash(kind byte, s string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	h = (h ^ uint64(kind)) * prime
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * prime
	}
	return mixHash(h)
}

// emailHash is filterHash(filterEmail, clean(Mask{}.Email(v))) for v in
// ASCII without NUL (ok false otherwise), in one pass without a new
// string: trimmed of spaces and lower-cased as it is hashed.
func emailHash(v string) (uint64, bool) {
	i, j := 0, len(v)
	for i < j && isSpace(v[i]) {
		i++
	}
	for j > i && isSpace(v[j-1]) {
		j--
	}
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	h = (h ^ uint64(filterEmail)) * prime
	for k := i; k < j; k++ {
		c := v[k]
		if c >= 0x80 || c == 0 {
			return 0, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint64(c)) * prime
	}
	return mixHash(h), j > i
}

// mixHash is SplitMix64's finalizer.
func mixHash(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// probe is the i-th bit a hash sets in a filter of bits bits: double
// hashing (Kirsch and Mitzenmacher), mapped onto the bits by a multiply
// (Lemire's reduction) rather than a modulo.
func probe(h uint64, i, bits int) int {
	x := uint32(h) + uint32(i)*(uint32(h>>32)|1)
	return int(uint64(x) * uint64(bits) >> 32)
}

// partWriter builds a journal row's summary as Log appends its
// decisions (parts.go), under Log's mutex: each row's keys are hashed
// before (filterKeysOf), so that the mutex is held for a copy and a few
// compares.
type partWriter struct {
	n      int
	lo, hi [16]byte
	hashes []uint64
	flags  byte
}

func (w *partWriter) reset() { *w = partWriter{hashes: w.hashes[:0]} }

// filterKeys are the hashes a row adds to its part's filter: its lead
// id's and its email's, as a lookup compares them.
type filterKeys struct {
	hash [2]uint64
	n    int // how many of hash are set
	// emailUnknown: the row is a request whose lead's email could not be
	// read cheaply (filterEmailsUnknown).
	emailUnknown bool
}

func (k *filterKeys) add(h uint64) {
	k.hash[k.n] = h
	k.n++
}

// filterKeysOf hashes the keys of r, as appendJournal stores it; sc reads
// the email of a raw row's request when the entry gave none (leadEmailOf).
func filterKeysOf(r *row, sc *scanner) filterKeys {
	var k filterKeys
	if r.leadID != "" {
		k.add(filterHash(filterLeadID, r.leadID))
	}
	if !r.raw {
		if r.email != "" {
			k.add(filterHash(filterEmail, r.email))
		}
		return k
	}
	// A raw row's email is encoded when read (encodeRaw): the entry's
	// (the server's is the one the engine read deciding the lead), or the
	// lead's in the request, lower-cased and trimmed (Mask.Email).
	email := r.email
	if email == "" {
		var ok bool
		if email, ok = sc.leadEmailOf(r.input); !ok {
			k.emailUnknown = true
			return k
		}
	}
	k.addEmail(email)
	return k
}

// add adds a decision: its id and its keys.
func (w *partWriter) add(id [16]byte, k *filterKeys) {
	if w.n == 0 || bytes.Compare(id[:], w.lo[:]) < 0 {
		w.lo = id
	}
	if w.n == 0 || bytes.Compare(id[:], w.hi[:]) > 0 {
		w.hi = id
	}
	w.n++
	w.hashes = append(w.hashes, k.hash[:k.n]...)
	if k.emailUnknown {
		w.flags |= filterEmailsUnknown
	}
}

// addEmail adds the key of an email as encodeRaw stores it:
// clean(Mask{}.Email(s)), hashed without a new string when s is ASCII.
func (k *filterKeys) addEmail(s string) {
	if h, ok := emailHash(s); ok {
		k.add(h)
		return
	}
	if isASCII(s) {
		return // empty, or spaces only
	}
	if e := clean(Mask{Mode: MaskNone}.Email(s)); e != "" {
		k.add(filterHash(filterEmail, e))
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || c == 0 {
			return false
		}
	}
	return true
}

// summary is the summary of the decisions added since reset.
func (w *partWriter) summary() partSummary {
	bits := max(64, (10*len(w.hashes)+7)/8*8) // 10 bits a key
	s := partSummary{lo: w.lo, hi: w.hi, filter: make([]byte, 1+bits/8)}
	s.filter[0] = w.flags
	set := s.filter[1:]
	for _, h := range w.hashes {
		for i := range filterProbes {
			p := probe(h, i, bits)
			set[p/8] |= 1 << (p % 8)
		}
	}
	return s
}

// has reports whether the filter may hold the key.
func (s *partSummary) has(kind byte, key string) bool {
	set := s.filter[1:]
	bits := 8 * len(set)
	if bits < 64 {
		return true // not a filter this code wrote
	}
	h := filterHash(kind, key)
	for i := range filterProbes {
		p := probe(h, i, bits)
		if set[p/8]&(1<<(p%8)) == 0 {
			return false
		}
	}
	return true
}

// mayHold reports whether the journal row s summarises may hold decisions
// that q selects. A row without a summary (nil) may hold any.
func (s *partSummary) mayHold(q journalQuery) bool {
	switch {
	case s == nil || len(s.filter) == 0 || q.prefix != "":
		return true
	case q.id != nil && bytes.Compare(q.id[:], s.lo[:]) >= 0 && bytes.Compare(q.id[:], s.hi[:]) <= 0:
		return true
	case q.within != nil && q.within.overlaps(s.lo, s.hi):
		return true
	case q.leadID != "" && s.has(filterLeadID, q.leadID):
		return true
	case q.email != "" && (s.filter[0]&filterEmailsUnknown != 0 || s.has(filterEmail, q.email)):
		return true
	}
	return slices.ContainsFunc(q.leads, func(lead string) bool { return s.has(filterLeadID, lead) })
}

// readSummaries reads the summaries of the journal rows seqs into parts
// (a row without one keeps a nil summary) and marks them read.
func (r *Reader) readSummaries(ctx context.Context, seqs []any, parts map[int64]*jpart) error {
	for _, seq := range seqs {
		parts[seq.(int64)].summed = true
	}
	if r.db.noParts {
		return nil
	}
	for len(seqs) > 0 {
		n := min(len(seqs), 500)
		rows, err := r.db.query(ctx, `SELECT seq, lo, hi, filter FROM journal_parts WHERE seq IN (`+strings.TrimSuffix(strings.Repeat("?, ", n), ", ")+`)`, seqs[:n]...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var seq int64
			var lo, hi, filter []byte
			if err := rows.Scan(&seq, &lo, &hi, &filter); err != nil {
				rows.Close()
				return err
			}
			r.summaryBytes.Add(int64(len(lo) + len(hi) + len(filter)))
			if p := parts[seq]; p != nil && len(lo) == 16 && len(hi) == 16 && len(filter) > 0 {
				p.sum = &partSummary{lo: [16]byte(lo), hi: [16]byte(hi), filter: filter}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		seqs = seqs[n:]
	}
	return nil
}

// mayHold lists the journal's rows, as journalSeqs, and those whose
// summaries say they may hold what q selects (q has no prefix), on
// PostgreSQL, which tests the summaries itself (partSummary.mayHold in
// SQL): a lookup reads no summary, however long the journal.
func (r *Reader) mayHold(ctx context.Context, q journalQuery) ([]int64, map[int64]bool, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// has: the filter's bits of the key are set (probe), or it is not a
	// filter this code wrote.
	has := func(kind byte, key string) string {
		h := filterHash(kind, key)
		tests := make([]string, filterProbes)
		for i := range filterProbes {
			x := uint32(h) + uint32(i)*(uint32(h>>32)|1)
			tests[i] = `get_bit(p.filter, 8 + ((` + arg(int64(x)) + `::bigint * ((length(p.filter) - 1) * 8)) >> 32)::int) = 1`
		}
		return `(length(p.filter) < 9 OR ` + strings.Join(tests, ` AND `) + `)`
	}
	if q.id != nil {
		id := arg(q.id[:])
		conds = append(conds, `(p.lo <= `+id+` AND p.hi >= `+id+`)`)
	}
	if q.within != nil {
		conds = append(conds, `(p.lo < `+arg(q.within.to[:])+` AND p.hi >= `+arg(q.within.from[:])+`)`)
	}
	if q.leadID != "" {
		conds = append(conds, has(filterLeadID, q.leadID))
	}
	if q.email != "" {
		conds = append(conds, `(get_byte(p.filter, 0) & `+strconv.Itoa(filterEmailsUnknown)+` <> 0 OR `+has(filterEmail, q.email)+`)`)
	}
	if len(conds) == 0 {
		conds = []string{`false`}
	}
	rows, err := r.db.QueryContext(ctx, `SELECT j.seq, p.seq IS NULL OR `+strings.Join(conds, ` OR `)+`
		FROM journal j LEFT JOIN journal_parts p ON p.seq = j.seq ORDER BY j.seq`, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var seqs []int64
	may := map[int64]bool{}
	for rows.Next() {
		var seq int64
		var in bool
		if err := rows.Scan(&seq, &in); err != nil {
			return nil, nil, err
		}
		seqs = append(seqs, seq)
		if in {
			may[seq] = true
		}
	}
	return seqs, may, rows.Err()
}

// jpart is a journal row as a reader knows it: its summary, once read
// (nil when it has none), and its decisions, once a lookup needed them.
type jpart struct {
	summed bool
	sum    *partSummary
	batch  *journalBatch
}

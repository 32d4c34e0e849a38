package engine

import (
	"encoding/json"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/leadq/leadq/internal/jsonscan"
	"github.com/leadq/leadq/internal/swar"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// decodeJSON decodes a scoring request straight into the record's row,
// reading only the declared fields: no map[string]any per lead. It covers
// the requests lead-routing systems send; for anything else (malformed
// JSON, duplicate keys, objects where fields should be, lone surrogates,
// invalid UTF-8, deep nesting) it returns ok == false and the caller takes
// the ParseInput path, which produces the same decision or the precise
// error. FuzzDecodeJSON checks that both paths agree. With wantEmail it
// returns the lead's email too (readEmail), a view of data like id.
func (l *record) decodeJSON(compiled *Ruleset, data []byte, opts Options, wantEmail bool) (id, email string, ok bool, err error) {
	rs := compiled.Ruleset
	l.row.Reset(rs)
	l.warnings = []Warning{}
	clear(l.lists) // the last request's strings
	l.lists = l.lists[:0]
	maxDepth := opts.MaxDepth
	if maxDepth <= 0 || maxDepth > maxSkipDepth {
		maxDepth = maxSkipDepth
	}
	resolve := opts.Accounts != nil && compiled.readsAccount
	d := jsonDecoder{data: data, rs: rs, l: l, strict: opts.Strict, maxDepth: maxDepth,
		wantEmail: resolve || wantEmail}
	d.seen = resizeSet(l.seen, len(rs.Fields))
	l.seen = d.seen
	if !d.request() {
		return "", "", false, nil
	}
	if resolve && !d.account && d.email != "" {
		// As joinAccount does for a decoded request.
		if a, found := opts.Accounts.Resolve(d.email); found {
			errs, _ := l.setFields(rs, "account", a, opts.Strict) // a joined account's other columns are not warned of
			d.errs = append(d.errs, errs...)
		}
	}
	if len(d.errs) > 0 {
		slices.SortFunc(d.errs, func(a, b *InputError) int { return strings.Compare(a.Field, b.Field) })
		return "", "", true, d.errs
	}
	slices.SortStableFunc(l.warnings, func(a, b Warning) int { return strings.Compare(a.Field, b.Field) })
	for _, c := range []idCandidate{d.docID, d.docLeadID, d.leadID, d.leadLeadID} {
		if c.ok && c.value != "" { // an empty id is no id, as in ParseInput
			return c.value, d.email, true, nil // a view of data: decide copies it
		}
	}
	return "", d.email, true, nil
}

func resizeSet(s eval.FieldSet, n int) eval.FieldSet {
	words := (n + 63) / 64
	if cap(s) < words {
		return eval.NewFieldSet(n)
	}
	s = s[:words]
	s.Clear()
	return s
}

// idCandidate is the last value seen for one of the keys a lead id may
// come from; only strings and numbers count, as in InputFromMap.
type idCandidate struct {
	value string
	ok    bool
}

type jsonDecoder struct {
	data   []byte
	pos    int
	rs     *rules.Ruleset
	l      *record
	strict bool
	seen   eval.FieldSet // declared fields met, to send duplicates to the slow path
	ascii  bool          // the last string str scanned is ASCII
	errs   InputErrors

	// The fields of errs and of the record's warnings, indexed once they
	// are many: a request of 100,000 undeclared keys made a scan per key
	// quadratic (7 s for 650 KB).
	errFields, warnFields fieldIndex

	level    int // objects and arrays open around the value being read
	maxDepth int // a container deeper than this sends the request to the slow path

	docID, docLeadID, leadID, leadLeadID idCandidate

	// For Options.Accounts and ScoreJSONEmail: whether the request has an
	// account, and the lead's email (a view of data), read when wantEmail.
	wantEmail, account bool
	email              string
}

// unexpected warns (in strict mode, errs) that key, at the top of an
// envelope request, is not part of it, as normalise does (Input.Unexpected).
// Keys that are not valid UTF-8 or repeat send the request to the slow
// path (false).
func (d *jsonDecoder) unexpected(key string) bool {
	if envelopeKey(key) {
		return true
	}
	if !utf8.ValidString(key) {
		return false
	}
	if d.strict {
		if d.hasError(key) {
			return false
		}
		d.errs = append(d.errs, &InputError{Field: key, Message: unexpectedMessage(key)})
		return true
	}
	if d.hasWarning(key) {
		return false
	}
	d.l.warnings = append(d.l.warnings, Warning{Field: key, Message: unexpectedMessage(key) + "; ignored"})
	return true
}

// hasError and hasWarning report whether the request has an error or a
// warning on field.
func (d *jsonDecoder) hasError(field string) bool {
	return d.errFields.has(field, len(d.errs), func(i int) string { return d.errs[i].Field })
}

func (d *jsonDecoder) hasWarning(field string) bool {
	return d.warnFields.has(field, len(d.l.warnings), func(i int) string { return d.l.warnings[i].Field })
}

// fieldIndex answers whether a list only ever appended to holds a field:
// by a scan while the list is short, as most are, and by a set of its
// fields, brought up to date on each call, once it is long.
type fieldIndex struct {
	set     map[string]struct{}
	indexed int // the list's first indexed elements are in set
}

func (x *fieldIndex) has(field string, n int, at func(int) string) bool {
	const scanned = 16
	if n <= scanned {
		for i := range n {
			if at(i) == field {
				return true
			}
		}
		return false
	}
	if x.set == nil {
		x.set = make(map[string]struct{}, 2*n)
	}
	for ; x.indexed < n; x.indexed++ {
		x.set[at(x.indexed)] = struct{}{}
	}
	_, ok := x.set[field]
	return ok
}

func (d *jsonDecoder) ws() {
	// Requests from programs are mostly compact: most calls find a token.
	if d.pos < len(d.data) && d.data[d.pos] > ' ' {
		return
	}
	d.pos = jsonscan.Space(d.data, d.pos)
}

func (d *jsonDecoder) peek() byte {
	d.ws()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

// request decodes the top-level object. Its keys are first taken as the
// lead's own fields (a bare lead); a "lead" or "account" key switches to
// the envelope form and starts the row again.
func (d *jsonDecoder) request() bool {
	if d.peek() != '{' || d.maxDepth < 1 {
		return false
	}
	d.pos++
	d.level = 1
	envelope := false
	bare := false // some key was read as a bare lead's field
	seenLead, seenAccount := false, false
	first := true
	for {
		if d.peek() == '}' && first {
			d.pos++
			break
		}
		key, ok := d.str()
		if !ok || d.peek() != ':' {
			return false
		}
		d.pos++
		switch key {
		case "lead", "account":
			if d.peek() != '{' {
				return false // null or not an object: leave it to ParseInput
			}
			if (key == "lead" && seenLead) || (key == "account" && seenAccount) {
				return false
			}
			if key == "account" && bare && !seenLead {
				return false // a flat lead with its account: ParseInput reads it (InputFromMap)
			}
			if !envelope {
				// What was read as a bare lead's keys were the envelope's:
				// ParseInput reads it and says which keys it does not know.
				if bare {
					return false
				}
				envelope = true
				d.leadID, d.leadLeadID = idCandidate{}, idCandidate{}
				d.email = ""
			}
			if key == "lead" {
				seenLead = true
				if !d.object("lead", &d.leadID, &d.leadLeadID) {
					return false
				}
			} else {
				seenAccount, d.account = true, true
				if !d.object("account", nil, nil) {
					return false
				}
			}
		default:
			if key == "id" || key == "lead_id" {
				c := &d.docID
				if key == "lead_id" {
					c = &d.docLeadID
				}
				if !d.idValue(c) {
					return false
				}
				// In a bare lead the id may also be a declared field.
				if !envelope {
					if f := d.rs.FieldByKey("lead", key); f != nil {
						return false
					}
				}
				break
			}
			if envelope {
				if !seenLead {
					return false // maybe a flat lead with its account: ParseInput reads it (InputFromMap)
				}
				if !d.unexpected(key) || !d.skip(2) {
					return false
				}
				break
			}
			bare = true
			start := d.pos
			f := d.rs.FieldByKey("lead", key)
			if f == nil && !d.undeclared("lead", key) {
				return false
			}
			if !d.field(f) {
				return false
			}
			if d.wantEmail && key == "email" && !d.readEmail(start) {
				return false
			}
		}
		first = false
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			d.ws()
			return d.pos == len(d.data)
		default:
			return false
		}
	}
	d.ws()
	return d.pos == len(d.data)
}

// idValue reads the value of an id key: a string or number (its text as
// sent) sets the candidate, null clears it (the last duplicate wins).
// Anything else is warned of (InputFromMap's IDWarnings): it sends the
// request to the slow path, so that the two paths say the same.
func (d *jsonDecoder) idValue(c *idCandidate) bool {
	switch b := d.peek(); {
	case b == '"':
		s, ok := d.str()
		ok = ok && d.validUTF8(s)
		*c = idCandidate{s, ok}
		return ok
	case b == '-' || (b >= '0' && b <= '9'):
		n, ok := d.number()
		*c = idCandidate{n, ok}
		return ok
	case b == 'n':
		*c = idCandidate{}
		return d.literal("null")
	}
	return false
}

// object decodes the fields of the lead or account object.
func (d *jsonDecoder) object(ns string, id, leadID *idCandidate) bool {
	if d.maxDepth < 2 {
		return false
	}
	d.level = 2
	defer func() { d.level = 1 }()
	d.pos++ // {
	if d.peek() == '}' {
		d.pos++
		return true
	}
	order := d.l.keyOrder(d.rs, ns)
	next := 0 // where in order the next key is expected
	for {
		if d.peek() != '"' {
			return false
		}
		// The key: the one expected next, most of the time, compared here;
		// else one of the few after it; else read and learnt.
		var k *knownKey
		if next < len(order.keys) && order.keys[next].at(d.data[d.pos+1:]) {
			k = &order.keys[next]
			next++
		} else if p, i := order.predict(d.data, d.pos+1, next+1); p != nil {
			k, next = p, i+1
		}
		var key string
		var f *eval.Field
		var idKey int8
		if k != nil {
			key, f, idKey = k.key, k.field, k.id
			d.pos += len(key) + 2
		} else {
			start := d.pos
			s, ok := d.str()
			if !ok {
				return false
			}
			key, f, idKey = s, d.rs.FieldByKey(ns, s), idKeyOf(s)
			next = order.learn(d.data[start:d.pos], key, f, next)
		}
		if d.pos < len(d.data) && d.data[d.pos] == ':' { // compact JSON
			d.pos++
		} else if d.peek() == ':' {
			d.pos++
		} else {
			return false
		}
		switch {
		case f != nil && idKey == 0: // a declared field: most keys
			if !d.field(f) {
				return false
			}
		case id != nil && (idKey == keyID || idKey == keyLeadID):
			if f != nil {
				return false // both an id and a field: rare, leave it to ParseInput
			}
			c := id
			if idKey == keyLeadID {
				c = leadID
			}
			if !d.idValue(c) {
				return false
			}
		default:
			if f == nil && !d.undeclared(ns, key) { // ids are not warned of: see envelopeKey
				return false
			}
			start := d.pos
			if !d.field(f) {
				return false
			}
			if id != nil && idKey == keyEmail && d.wantEmail && !d.readEmail(start) {
				return false
			}
		}
		if d.pos < len(d.data) && d.data[d.pos] == ',' { // compact JSON
			d.pos++
			continue
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return true
		default:
			return false
		}
	}
}

// keyOrder is the order of the keys in the last objects a record decoded
// for one namespace of one ruleset. Lead-routing systems send their leads
// with the same keys in the same order, optional ones left out: the next
// key is most likely the one after the last, or a few further on. A key
// where it was predicted is read by comparing its bytes, without scanning
// for its end or hashing it; any other key is read and looked up as usual
// and takes its place in the order. A wrong prediction costs a byte
// comparison, never a wrong answer: a key matches only when the input's
// bytes are exactly the key followed by its closing quote.
type keyOrder struct {
	rs   *rules.Ruleset // the fields below belong to it
	keys []knownKey
}

type knownKey struct {
	key   string
	field *eval.Field // nil when the key is not a declared field
	id    int8        // idKeyOf(key)
	// The key and its closing quote as three words, and the masks of their
	// bytes, for keys of up to 23 bytes (the mask of a longer key is zero:
	// it is compared as a string). Three loads and no branch beat calling
	// memequal for each guess.
	words, masks [3]uint64
}

// The keys a lead's id may come from (see InputFromMap), and its email's
// (see Options.Accounts).
const (
	keyID     = 1 // "id"
	keyLeadID = 2 // "lead_id"
	keyEmail  = 3 // "email"
)

func idKeyOf(key string) int8 {
	switch key {
	case "id":
		return keyID
	case "lead_id":
		return keyLeadID
	case "email":
		return keyEmail
	}
	return 0
}

// undeclared warns (in strict mode, errs) that key of the lead or account
// (ns) is not a declared field, once per key, as normalise does: only
// keys that are not fields come here, so the leads without any pay
// nothing for it. A key that is not valid UTF-8, which encoding/json
// would repair, sends the request to the slow path (false).
func (d *jsonDecoder) undeclared(ns, key string) bool {
	if envelopeKey(key) {
		return true
	}
	if !utf8.ValidString(key) {
		return false
	}
	name := ns + "." + key
	if d.strict {
		if !d.hasError(name) {
			d.errs = append(d.errs, &InputError{Field: name, Message: undeclaredMessage(d.rs, ns, key)})
		}
		return true
	}
	if !d.hasWarning(name) {
		d.l.warnings = append(d.l.warnings, Warning{Field: name, Message: undeclaredMessage(d.rs, ns, key)})
	}
	return true
}

// readEmail keeps the lead's email, the string value that starts at
// start (just after its key's colon), as Ruleset.joinAccount reads it
// from a map: anything but a string is no email. An email that is not
// valid UTF-8, which encoding/json would repair, sends the request to the
// slow path (false), so that both paths read the same email.
func (d *jsonDecoder) readEmail(start int) bool {
	end := d.pos
	d.pos = start
	d.email = ""
	if d.peek() == '"' {
		s, ok := d.str()
		if !ok || !d.validUTF8(s) {
			return false
		}
		d.email = s
	}
	d.pos = end
	return true
}

func newKnownKey(key string, f *eval.Field) knownKey {
	k := knownKey{key: key, field: f, id: idKeyOf(key)}
	pat := key + `"`
	if len(pat) > 24 {
		return k
	}
	var word, mask [24]byte
	copy(word[:], pat)
	for i := range pat {
		mask[i] = 0xff
	}
	for i := range k.words {
		k.words[i], k.masks[i] = swar.Load(word[:], 8*i), swar.Load(mask[:], 8*i)
	}
	return k
}

// at reports whether rest starts with the key and its closing quote.
func (k *knownKey) at(rest []byte) bool {
	if len(rest) < 24 || k.masks[0] == 0 {
		return k.atSlowly(rest)
	}
	return (swar.Load(rest, 0)^k.words[0])&k.masks[0]|
		(swar.Load(rest, 8)^k.words[1])&k.masks[1]|
		(swar.Load(rest, 16)^k.words[2])&k.masks[2] == 0
}

// atSlowly is at near the end of the input and for long keys.
func (k *knownKey) atSlowly(rest []byte) bool {
	n := len(k.key)
	return n < len(rest) && rest[n] == '"' && string(rest[:n]) == k.key
}

// maxKnownKeys bounds a keyOrder: a client that sends ever new keys must
// not make it grow; keys past the bound are read the usual way.
const maxKnownKeys = 128

// predictAhead is how many keys predict tries: the expected one, and those
// after it that an object without its optional keys jumps to.
const predictAhead = 4

// predict returns the known key at data[p:] (just past its opening quote),
// looking at keys next, next+1, ... and its index, or nil.
func (o *keyOrder) predict(data []byte, p, next int) (*knownKey, int) {
	rest := data[p:]
	for i := next; i < len(o.keys) && i < next+predictAhead; i++ {
		if k := &o.keys[i]; k.at(rest) {
			return k, i
		}
	}
	return nil, -1
}

// learn places a key that predict missed; raw is how it was written,
// quotes included. It returns where the key after it is expected.
func (o *keyOrder) learn(raw []byte, key string, f *eval.Field, next int) int {
	for i := range o.keys {
		if o.keys[i].key == key {
			return i + 1 // known, elsewhere: this object has its own order
		}
	}
	// Only keys written without escapes can be recognised by their bytes.
	if len(raw) != len(key)+2 || len(o.keys) >= maxKnownKeys {
		return next
	}
	o.keys = slices.Insert(o.keys, next, newKnownKey(strings.Clone(key), f))
	return next + 1
}

// keyOrder returns the record's key order for ns, forgetting what it
// knew of another ruleset.
func (l *record) keyOrder(rs *rules.Ruleset, ns string) *keyOrder {
	o := &l.keys[0]
	if ns == "account" {
		o = &l.keys[1]
	}
	if o.rs != rs {
		clear(o.keys)
		o.rs, o.keys = rs, o.keys[:0]
	}
	return o
}

// field decodes one value: into the row when its key is a declared field
// (f), skipped otherwise.
func (d *jsonDecoder) field(f *eval.Field) bool {
	if f == nil {
		return d.skip(d.level + 1)
	}
	if d.seen.Has(f.Index) {
		return false // duplicate key: the last one wins in ParseInput
	}
	d.seen.Add(f.Index)
	r := &d.l.row
	var raw any
	switch b := d.peek(); {
	case b == 'n':
		return d.literal("null") // null is missing
	case b == 't' || b == 'f':
		v := b == 't'
		// literal inlined with a constant: one load and compare each.
		if v && !d.literal("true") || !v && !d.literal("false") {
			return false
		}
		if f.Type == rulefile.TypeBool {
			r.SetBool(f, v)
			return true
		}
		raw = v
	case b == '"':
		s, ok := d.str()
		if !ok || !d.validUTF8(s) {
			return false
		}
		switch f.Type {
		case rulefile.TypeString:
			r.SetString(f, s)
			return true
		case rulefile.TypeDate:
			if t, err := rulefile.ParseDate(s); err == nil {
				r.SetTime(f, t)
				return true
			}
		}
		raw = s
	case b == '-' || (b >= '0' && b <= '9'):
		if f.Type == rulefile.TypeInt || f.Type == rulefile.TypeFloat {
			// Most numbers are whole: read them in the one pass that scans them.
			if v, end, ok := d.wholeNumber(); ok {
				if f.Type == rulefile.TypeInt {
					d.pos = end
					r.SetInt(f, v)
					return true
				}
				if v > -1<<53 && v < 1<<53 { // a float64 holds it exactly
					d.pos = end
					r.SetFloat(f, float64(v))
					return true
				}
			}
		}
		n, ok := d.number()
		if !ok {
			return false
		}
		if setNumber(r, f, n) {
			return true
		}
		raw = jsonNumber(strings.Clone(n))
	case b == '[' && f.Type == rulefile.TypeList && d.level < d.maxDepth:
		list, ok := d.strings()
		if !ok {
			return false
		}
		r.SetList(f, list)
		return true
	default:
		return false // objects and other arrays: ParseInput says what is wrong
	}
	if isBlank(raw, f.Type) {
		return true
	}
	if msg, ok := setField(r, f, raw, d.strict); !ok {
		if d.strict {
			d.errs = append(d.errs, &InputError{Field: f.Name, Message: msg})
		} else {
			d.l.warnings = append(d.l.warnings, Warning{Field: f.Name, Message: msg + "; treated as missing"})
		}
	}
	return true
}

func (d *jsonDecoder) literal(lit string) bool {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return false
	}
	d.pos += len(lit)
	return true
}

// number scans a JSON number (jsonscan.Number) and returns its text,
// aliasing the input.
func (d *jsonDecoder) number() (string, bool) {
	end := jsonscan.Number(d.data, d.pos)
	if end < 0 {
		return "", false
	}
	start := d.pos
	d.pos = end
	return unsafe.String(&d.data[start], end-start), true
}

// wholeNumber reads the JSON number at d.pos when it is an integer of at
// most 18 digits, which cannot overflow, and returns it and where it
// ends, without moving d.pos. It leaves -0, fractions, exponents and
// what is not a JSON number to number().
func (d *jsonDecoder) wholeNumber() (v, end int, ok bool) {
	p := d.pos
	neg := p < len(d.data) && d.data[p] == '-'
	if neg {
		p++
	}
	start := p
	for ; p < len(d.data) && p-start <= 18; p++ {
		c := d.data[p] - '0'
		if c > 9 {
			break
		}
		v = v*10 + int(c)
	}
	switch n := p - start; {
	case n == 0 || n > 18 || (n > 1 && d.data[start] == '0'):
		return 0, 0, false
	case p < len(d.data) && (d.data[p] == '.' || d.data[p] == 'e' || d.data[p] == 'E'):
		return 0, 0, false
	case neg:
		if v == 0 {
			return 0, 0, false
		}
		v = -v
	}
	return v, p, true
}

// smallInt reads a number that number() scanned when it is an integer of
// at most 18 digits, which cannot overflow: most numbers in leads are, and
// strconv's general parsers cost ten times as much.
func smallInt(n string) (int, bool) {
	neg := len(n) > 0 && n[0] == '-'
	if neg {
		n = n[1:]
	}
	if len(n) == 0 || len(n) > 18 {
		return 0, false
	}
	i := 0
	for j := 0; j < len(n); j++ {
		c := n[j] - '0'
		if c > 9 {
			return 0, false // a fraction or an exponent
		}
		i = i*10 + int(c)
	}
	if neg {
		i = -i
	}
	return i, true
}

// smallFloat reads a JSON number that is an integer a float64 holds
// exactly, as strconv.ParseFloat would, but for -0 (negative zero), which
// it leaves to ParseFloat.
func smallFloat(n string) (float64, bool) {
	i, ok := smallInt(n)
	if !ok || i <= -1<<53 || i >= 1<<53 || (i == 0 && n[0] == '-') {
		return 0, false
	}
	return float64(i), true
}

// setNumber stores the text of a JSON number in an int or float field,
// and reports whether it did; other fields, and integers out of range,
// are the caller's to convert or refuse.
func setNumber(r *eval.Row, f *eval.Field, n string) bool {
	switch f.Type {
	case rulefile.TypeInt:
		if i, ok := smallInt(n); ok {
			r.SetInt(f, i)
			return true
		}
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			r.SetInt(f, int(i))
			return true
		}
	case rulefile.TypeFloat:
		if x, ok := smallFloat(n); ok {
			r.SetFloat(f, x)
			return true
		}
		if x, err := strconv.ParseFloat(n, 64); err == nil {
			r.SetFloat(f, x)
			return true
		}
	}
	return false
}

// str scans a JSON string. Without escapes the result aliases the input,
// which outlives the decision's use of the row; with escapes it is copied.
// It may hold invalid UTF-8, which encoding/json would replace: callers
// that keep a value send such input to the slow path (see validUTF8).
//
// It looks at eight bytes at a time for the bytes that end a plain run
// (a quote, a backslash or a control character): strings are most of a
// request's bytes, and a byte-at-a-time loop was the decoder's largest cost.
func (d *jsonDecoder) str() (string, bool) {
	if d.peek() != '"' {
		return "", false
	}
	d.pos++
	start := d.pos
	p := start
	var seen uint64 // every byte seen, or-ed: ASCII when its high bits are clear
	for ; p+8 <= len(d.data); p += 8 {
		x := swar.Load(d.data, p)
		if m := swar.Stop(x); m != 0 {
			n := bits.TrailingZeros64(m) / 8
			seen |= x & (1<<(8*n) - 1)
			p += n
			break
		}
		seen |= x
	}
	for ; p < len(d.data); p++ {
		c := d.data[p]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
		seen |= uint64(c)
	}
	d.ascii = swar.ASCII(seen)
	switch {
	case p >= len(d.data):
		return "", false
	case d.data[p] == '"':
		d.pos = p + 1
		if p == start {
			return "", true
		}
		// Not checked for valid UTF-8 here: keys and skipped values do
		// not need it; values that are kept are checked by the caller.
		return unsafe.String(&d.data[start], p-start), true
	case d.data[p] == '\\':
		d.ascii = false
		return d.unescape(start)
	}
	return "", false // a control character
}

// validUTF8 reports whether s, the last string str returned, is valid
// UTF-8; an ASCII string is, without looking again.
func (d *jsonDecoder) validUTF8(s string) bool {
	return d.ascii || utf8.ValidString(s)
}

func (d *jsonDecoder) unescape(start int) (string, bool) {
	b := make([]byte, 0, 32)
	p := start
	for p < len(d.data) {
		c := d.data[p]
		switch {
		case c == '"':
			d.pos = p + 1
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			p++
			continue
		}
		if p+1 >= len(d.data) {
			return "", false
		}
		p++
		switch d.data[p] {
		case '"', '\\', '/':
			b = append(b, d.data[p])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4(p + 1)
			if !ok {
				return "", false
			}
			p += 4
			if utf16.IsSurrogate(r) {
				lo, ok := d.hex4(p + 3)
				if !ok || p+2 >= len(d.data) || d.data[p+1] != '\\' || d.data[p+2] != 'u' {
					return "", false // a lone surrogate: encoding/json writes U+FFFD
				}
				r = utf16.DecodeRune(r, lo)
				if r == utf8.RuneError {
					return "", false
				}
				p += 6
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", false
		}
		p++
	}
	return "", false
}

func (d *jsonDecoder) hex4(p int) (rune, bool) {
	if p+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[p : p+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// strings decodes an array of strings for a list field; anything else in
// it sends the request to the slow path for its precise warning.
//
// Like the decoder's other strings, the items alias the input, and the
// list lives in the record's scratch (record.lists): nothing of the row
// outlives the decision, which copies what it keeps.
func (d *jsonDecoder) strings() ([]string, bool) {
	d.pos++ // [
	if d.peek() == ']' {
		d.pos++
		return []string{}, true
	}
	l := d.l
	start := len(l.lists)
	for {
		s, ok := d.str()
		if !ok || !d.validUTF8(s) {
			return nil, false
		}
		l.lists = append(l.lists, s)
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			end := len(l.lists)
			return l.lists[start:end:end], true
		default:
			return nil, false
		}
	}
}

// maxSkipDepth bounds how deep a request may nest before it is left to
// encoding/json, which has its own limit, when EvalOptions.MaxDepth does
// not set a lower one.
const maxSkipDepth = 64

// skip validates and passes over one value, which is level deep when it
// is an object or array (jsonscan.Skip: what it accepts, encoding/json
// accepts too, so the slow path would skip it alike).
func (d *jsonDecoder) skip(level int) bool {
	d.ws()
	end, ok := jsonscan.Skip(d.data, d.pos, d.maxDepth-level+1)
	d.pos = end
	return ok
}

// jsonNumber is encoding/json's Number, so that setField treats both paths alike.
type jsonNumber = json.Number

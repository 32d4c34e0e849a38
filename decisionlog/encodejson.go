package decisionlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/leadq/leadq/internal/jsonscan"
	"github.com/leadq/leadq/internal/swar"
)

// encodedInput is what the writer stores of a request: its compact
// encoding, the lead's email as the email column holds it (masked when the
// mask covers it), the lead's company (for the search keys, which leave it
// out when the mask covers it), and
// the old, new pairs of every value masked (for scrubbing the decision's
// texts). keepWhole says the request could not be read: the decision's
// JSON is stored whole.
type encodedInput struct {
	input     []byte
	email     string
	company   any
	pairs     []string
	keepWhole bool
}

// encodeDoc is the reference: it decodes the request into a map, adds the
// account the caller resolved, masks the map and encodes it (encodeInput).
// encodeJSON is its fast path; FuzzEncodeJSON holds the two to the same
// result.
func encodeDoc(e Entry, leadID string, dict *dictionary, m Mask) encodedInput {
	email := e.Email
	doc, ok := decodeObject(e.Input)
	if !ok {
		doc = map[string]any{}
		if m.on() {
			e.Input = nil // unreadable input cannot be masked: keep none of it
		}
	}
	if email == "" {
		email = leadEmail(doc)
	}
	if e.Account != nil {
		if _, has := doc["account"].(map[string]any); !has {
			_, hasLead := doc["lead"]
			_, hasAccount := doc["account"]
			if !hasLead && !hasAccount {
				doc = map[string]any{"lead": doc} // a bare lead: wrap it
			}
			doc["account"] = cloneMap(e.Account)
			doc[AccountSource] = AccountResolved
		}
	}
	var out encodedInput
	if m.on() {
		out.pairs = m.apply(doc)
	}
	out.email = clean(m.Email(email))
	out.input = encodeInput(doc, dict, leadID, out.email)
	out.company = leadValue(doc, "company")
	out.keepWhole = !ok && len(bytes.TrimSpace(e.Input)) > 0
	return out
}

// encodeJSON is encodeDoc without the map: it reads the request's JSON
// bytes once to find each object's keys, masks the few values the mask
// covers, and encodes the rest straight from the bytes, with the same
// result. It returns ok false for what it leaves to encodeDoc: input that
// is not one valid JSON object, keys with escapes, deep nesting, and masks
// of the lead or account object as a whole.
// s is scratch space, reused from call to call (reset here).
func encodeJSON(s *scanner, e Entry, leadID string, dict *dictionary, m Mask) (encodedInput, bool) {
	return encodeJSONInto(s, nil, e, leadID, dict, m)
}

// encodeJSONInto is encodeJSON encoding into dst's array (Log's scratch
// space) when it is large enough.
func encodeJSONInto(s *scanner, dst []byte, e Entry, leadID string, dict *dictionary, m Mask) (encodedInput, bool) {
	if m.masks("", "lead") || m.masks("", "account") {
		return encodedInput{}, false
	}
	s.reset(e.Input)
	defer s.reset(nil) // keep no views of the request
	p := s.ws(0)
	if p == len(s.data) || s.data[p] != '{' {
		return encodedInput{}, false
	}
	top, end, ok := s.object(p, 0)
	if !ok || s.ws(end) != len(s.data) {
		return encodedInput{}, false
	}
	ai := find(top, "account")
	bare := ai < 0 && find(top, "lead") < 0
	lead := leadOf(top)
	email := e.Email
	if email == "" {
		email = s.emailOf(lead)
	}
	var out encodedInput
	if v, ok := s.stringValue(lead, "company"); ok {
		out.company = v
	}
	var resolved map[string]any
	if e.Account != nil && (ai < 0 || !top[ai].isObj) {
		if bare { // a bare lead: wrap it
			top, bare = []rawEntry{{key: "lead", obj: top, isObj: true}}, false
		}
		resolved = cloneMap(e.Account)
		top = setEntry(top, rawEntry{key: "account", val: resolved, set: true})
		top = setEntry(top, rawEntry{key: AccountSource, val: AccountResolved, set: true})
	}
	if m.on() {
		if bare {
			if top, out.pairs, ok = s.mask(m, "lead", top, out.pairs); !ok {
				return encodedInput{}, false
			}
		} else {
			if top, out.pairs, ok = s.mask(m, "", top, out.pairs); !ok {
				return encodedInput{}, false
			}
			for i := range top {
				switch {
				case top[i].key == "lead" && top[i].isObj:
					top[i].obj, out.pairs, ok = s.mask(m, "lead", top[i].obj, out.pairs)
				case top[i].key == "account" && top[i].isObj:
					top[i].obj, out.pairs, ok = s.mask(m, "account", top[i].obj, out.pairs)
				case top[i].key == "account" && resolved != nil:
					out.pairs = m.applyObject("account", resolved, out.pairs)
				}
				if !ok {
					return encodedInput{}, false
				}
			}
		}
	}
	out.email = clean(m.emailOf(email, out.pairs))
	if cap(dst) < len(s.data)/2 {
		dst = make([]byte, 0, len(s.data)/2)
	}
	enc := encoder{dict: dict, leadID: leadID, email: out.email, b: dst[:0]}
	if bare {
		enc.b = append(enc.b, shapeBare)
		ok = enc.entries(s, top, "lead.")
	} else {
		enc.b = append(enc.b, shapeWrapped)
		ok = enc.entries(s, top, "")
	}
	if !ok {
		return encodedInput{}, false
	}
	out.input = enc.b
	return out, true
}

// leadOf is the entries of the lead in a request's top-level entries, as
// leadEmail finds the lead: the lead object, or the top.
func leadOf(top []rawEntry) []rawEntry {
	if li := find(top, "lead"); li >= 0 && top[li].isObj {
		return top[li].obj
	}
	return top
}

// emailOf is the email of a lead's entries, as leadEmail reads it.
func (s *scanner) emailOf(lead []rawEntry) string {
	v, _ := s.stringValue(lead, "email")
	return strings.TrimSpace(v)
}

// leadEmailOf is the lead's email in a request (one JSON object), as
// encodeJSON reads it, for a raw row that came without one; ok is false
// when encodeJSON leaves the request to encodeDoc (keys with escapes, deep
// nesting), whose email it cannot tell as cheaply.
func (s *scanner) leadEmailOf(input []byte) (email string, ok bool) {
	// A request that does not spell the key (nor escapes, which could
	// spell it otherwise) has no email: a search of its bytes, not a read.
	if !bytes.Contains(input, []byte(`"email"`)) && bytes.IndexByte(input, '\\') < 0 {
		return "", true
	}
	s.reset(input)
	defer s.reset(nil) // keep no views of the request
	p := s.ws(0)
	if p == len(s.data) || s.data[p] != '{' {
		return "", false
	}
	top, end, ok := s.object(p, 0)
	if !ok || s.ws(end) != len(s.data) {
		return "", false
	}
	return s.emailOf(leadOf(top)), true
}

// rawEntry is a key of an object in the request and its value: its bytes
// (start, end), the entries of an object read already (obj), or a value the
// log set (val: a masked value, the resolved account).
type rawEntry struct {
	key        string
	start, end int
	obj        []rawEntry
	isObj      bool // obj holds the value's entries
	simple     bool // the value is a string whose bytes are its value
	val        any
	set        bool
}

// sortEntries sorts entries by key, keeping the order of equal keys.
// Requests have a few dozen keys: an insertion sort of their first eight
// bytes and positions, then the entries moved once.
func (s *scanner) sortEntries(entries []rawEntry, depth int) {
	if len(entries) > 64 {
		slices.SortStableFunc(entries, func(a, b rawEntry) int { return strings.Compare(a.key, b.key) })
		return
	}
	type ord struct {
		prefix uint64 // the key's first eight bytes, big-endian, zero-padded
		i      int
	}
	sorted := true
	for i := 1; i < len(entries) && sorted; i++ {
		sorted = entries[i-1].key <= entries[i].key
	}
	if sorted {
		return
	}
	var buf [64]ord
	ords := buf[:len(entries)]
	for i := range entries {
		var b [8]byte
		copy(b[:], entries[i].key)
		ords[i] = ord{binary.BigEndian.Uint64(b[:]), i}
	}
	less := func(a, b ord) bool {
		if a.prefix != b.prefix {
			return a.prefix < b.prefix
		}
		if ka, kb := entries[a.i].key, entries[b.i].key; ka != kb {
			return ka < kb
		}
		return a.i < b.i
	}
	for i := 1; i < len(ords); i++ {
		for j := i; j > 0 && less(ords[j], ords[j-1]); j-- {
			ords[j], ords[j-1] = ords[j-1], ords[j]
		}
	}
	arena := s.levels[depth] // its end as room to move them
	mark := len(arena)
	for _, o := range ords {
		arena = append(arena, entries[o.i])
	}
	copy(entries, arena[mark:])
	clear(arena[mark:])
	s.levels[depth] = arena[:mark]
}

// find is the index of key in entries sorted by key, or -1.
func find(entries []rawEntry, key string) int {
	i, ok := slices.BinarySearchFunc(entries, key, func(e rawEntry, k string) int { return strings.Compare(e.key, k) })
	if !ok {
		return -1
	}
	return i
}

// setEntry sets key in entries sorted by key, replacing its value.
func setEntry(entries []rawEntry, e rawEntry) []rawEntry {
	i, ok := slices.BinarySearchFunc(entries, e.key, func(e rawEntry, k string) int { return strings.Compare(e.key, k) })
	if ok {
		entries[i] = e
		return entries
	}
	return slices.Insert(entries, i, e)
}

// scanner reads a JSON document's bytes; each method takes the position of
// a value and returns where it ends, and ok false for anything
// encoding/json would refuse (or that encodeJSON leaves to it).
type scanner struct {
	data []byte
	// The entries of the objects read, by depth: an object's entries are
	// one run of its depth's arena, and the objects in it go to the next.
	levels [][]rawEntry
}

// reset readies s for data, keeping its arenas.
func (s *scanner) reset(data []byte) {
	s.data = data
	for i := range s.levels {
		clear(s.levels[i]) // keys are views of the last request
		s.levels[i] = s.levels[i][:0]
	}
}

// maxRawNesting bounds the objects and arrays encodeJSON reads in one
// another; deeper documents take the reference path.
const maxRawNesting = 32

func (s *scanner) ws(p int) int { return jsonscan.Space(s.data, p) }

// object reads the object at p: its entries sorted by key, the last one of
// a key repeated (as encoding/json decodes into a map).
func (s *scanner) object(p, depth int) ([]rawEntry, int, bool) {
	if depth > maxRawNesting {
		return nil, 0, false
	}
	p = s.ws(p + 1)
	for len(s.levels) <= depth {
		s.levels = append(s.levels, make([]rawEntry, 0, 32))
	}
	first := len(s.levels[depth])
	if p < len(s.data) && s.data[p] == '}' {
		return nil, p + 1, true
	}
	for {
		if p == len(s.data) || s.data[p] != '"' {
			return nil, 0, false
		}
		end, simple := s.str(p)
		if end < 0 || !simple {
			return nil, 0, false // escaped keys: left to encoding/json
		}
		// The key is a view of the request, which the log owns and
		// nobody changes (Entry); it is copied where it is stored.
		key := unsafe.String(&s.data[p+1], end-1-(p+1))
		if end-1 == p+1 {
			key = ""
		}
		p = s.ws(end)
		if p == len(s.data) || s.data[p] != ':' {
			return nil, 0, false
		}
		start := s.ws(p + 1)
		ent := rawEntry{key: key, start: start}
		var ok bool
		switch {
		case start == len(s.data):
			return nil, 0, false
		case s.data[start] == '{':
			// Read once, here, into the next depth's arena.
			if ent.obj, ent.end, ok = s.object(start, depth+1); !ok {
				return nil, 0, false
			}
			ent.isObj = true
		case s.data[start] == '"':
			ent.end, ent.simple = s.str(start)
			ok = ent.end > 0
		default:
			ent.end, ok = s.skip(start, depth+1)
		}
		if !ok {
			return nil, 0, false
		}
		s.levels[depth] = append(s.levels[depth], ent)
		p = s.ws(ent.end)
		if p == len(s.data) {
			return nil, 0, false
		}
		if s.data[p] == '}' {
			p++
			break
		}
		if s.data[p] != ',' {
			return nil, 0, false
		}
		p = s.ws(p + 1)
	}
	arena := s.levels[depth]
	entries := arena[first:len(arena):len(arena)]
	s.sortEntries(entries, depth)
	// Of a repeated key, the last one counts.
	out := entries[:0]
	for i, e := range entries {
		if i+1 < len(entries) && entries[i+1].key == e.key {
			continue
		}
		out = append(out, e)
	}
	return out, p, true
}

// skip checks the value at p and returns where it ends.
func (s *scanner) skip(p, depth int) (int, bool) {
	return jsonscan.Skip(s.data, p, maxRawNesting-depth)
}

// str finds the end of the string at p (after its closing quote), or -1
// when it is not a valid JSON string. simple says its bytes are its value:
// no escapes, valid UTF-8.
func (s *scanner) str(p int) (end int, simple bool) {
	end, ok := jsonscan.Skip(s.data, p, 0)
	if !ok {
		return -1, false
	}
	// Between its quotes a valid string has neither quotes nor control
	// characters: swar.Escape finds its backslashes and non-ASCII bytes
	// eight at a time.
	v := s.data[p+1 : end-1]
	i := 0
	for i+8 <= len(v) && swar.Escape(swar.Load(v, i)) == 0 {
		i += 8
	}
	for ; i < len(v); i++ {
		if c := v[i]; c == '\\' {
			return end, false // escapes: encoding/json decodes it (stringAt)
		} else if c >= utf8.RuneSelf {
			// Invalid UTF-8, which decoders replace, is left to
			// encoding/json as well.
			return end, bytes.IndexByte(v[i:], '\\') < 0 && utf8.Valid(v[i:])
		}
	}
	return end, true
}

// stringAt is the value of the string from p to end.
func (s *scanner) stringAt(p, end int, simple bool) string {
	if simple {
		return string(s.data[p+1 : end-1])
	}
	var v string
	_ = json.Unmarshal(s.data[p:end], &v) // checked by str
	return v
}

// stringValue is the value of key in entries when it is a string.
func (s *scanner) stringValue(entries []rawEntry, key string) (string, bool) {
	i := find(entries, key)
	if i < 0 {
		return "", false
	}
	e := entries[i]
	if e.set {
		v, ok := e.val.(string)
		return v, ok
	}
	if e.isObj || s.data[e.start] != '"' {
		return "", false
	}
	return s.stringAt(e.start, e.end, e.simple), true
}

// value decodes the value of an entry, as encoding/json with UseNumber.
func (s *scanner) value(e rawEntry) (any, bool) {
	if e.set {
		return e.val, true
	}
	if !e.isObj && s.data[e.start] == '"' {
		// Most masked values are strings (emails, names): no decoder.
		return s.stringAt(e.start, e.end, e.simple), true
	}
	dec := json.NewDecoder(bytes.NewReader(s.data[e.start:e.end]))
	dec.UseNumber()
	var v any
	return v, dec.Decode(&v) == nil
}

// mask masks the entries of one object as Mask.applyObject masks its map:
// the values of masked keys are replaced by their hashes or left out.
func (s *scanner) mask(m Mask, ns string, entries []rawEntry, pairs []string) ([]rawEntry, []string, bool) {
	out := entries[:0]
	for _, e := range entries {
		if !m.masks(ns, e.key) || !e.set && s.data[e.start] == 'n' || e.set && e.val == nil {
			out = append(out, e)
			continue
		}
		v, ok := s.value(e)
		if !ok {
			return nil, nil, false
		}
		var keep bool
		if v, keep, pairs = m.maskValue(v, pairs); keep {
			out = append(out, rawEntry{key: e.key, val: v, set: true})
		}
	}
	return out, pairs, true
}

// entries encodes an object's entries as encoder.object encodes a map.
func (e *encoder) entries(s *scanner, entries []rawEntry, ns string) bool {
	e.b = append(e.b, tagObject)
	e.b = binary.AppendUvarint(e.b, uint64(len(entries)))
	for _, ent := range entries {
		e.key(ent.key, ns)
		child := ""
		if ns == "" && (ent.key == "lead" || ent.key == "account") {
			child = ent.key + "."
		}
		switch {
		case ent.set:
			e.value(ent.val, child)
		case ent.isObj:
			if child == "" {
				child = "\x00" // keys of nested objects are never declared fields
			}
			if !e.entries(s, ent.obj, child) {
				return false
			}
		case s.data[ent.start] == '"':
			e.rawString(s, ent.start, ent.end, ent.simple, child)
		default:
			if !e.raw(s, ent.start, child, 1) {
				return false
			}
		}
	}
	return true
}

// rawString encodes the string from p to end, as value encodes it decoded.
func (e *encoder) rawString(s *scanner, p, end int, simple bool, ns string) {
	if !simple {
		e.value(s.stringAt(p, end, false), ns)
		return
	}
	v := s.data[p+1 : end-1]
	switch {
	case len(v) > 0 && string(v) == e.leadID:
		e.b = append(e.b, tagLeadID)
	case len(v) > 0 && string(v) == e.email:
		e.b = append(e.b, tagEmail)
	default:
		e.b = append(e.b, tagString)
		e.b = binary.AppendUvarint(e.b, uint64(len(v)))
		e.b = append(e.b, v...)
	}
}

// raw encodes the value at p from its bytes, as value encodes it decoded.
func (e *encoder) raw(s *scanner, p int, ns string, depth int) bool {
	switch c := s.data[p]; {
	case c == '{':
		entries, _, ok := s.object(p, depth)
		if !ok {
			return false
		}
		if ns == "" {
			ns = "\x00"
		}
		return e.entries(s, entries, ns)
	case c == '[':
		var buf [16]int
		starts := buf[:0]
		p = s.ws(p + 1)
		for s.data[p] != ']' {
			starts = append(starts, p)
			end, _ := s.skip(p, depth+1) // checked by object
			p = s.ws(end)
			if s.data[p] == ',' {
				p = s.ws(p + 1)
			}
		}
		e.b = append(e.b, tagArray)
		e.b = binary.AppendUvarint(e.b, uint64(len(starts)))
		for _, p := range starts {
			if !e.raw(s, p, "", depth+1) {
				return false
			}
		}
		return true
	case c == '"':
		end, simple := s.str(p)
		e.rawString(s, p, end, simple, ns)
		return true
	case c == '-' || c >= '0' && c <= '9':
		num := s.data[p:jsonscan.Number(s.data, p)]
		if n, ok := smallInt(num); ok {
			e.b = append(e.b, tagInt)
			e.b = binary.AppendVarint(e.b, n)
			return true
		}
		e.value(json.Number(num), ns)
		return true
	case c == 't':
		e.b = append(e.b, tagTrue)
	case c == 'f':
		e.b = append(e.b, tagFalse)
	default:
		e.b = append(e.b, tagNull)
	}
	return true
}

// smallInt reads a JSON integer of up to 18 digits (always an int64) that
// encoder.value stores as tagInt; anything else is left to it.
func smallInt(num []byte) (int64, bool) {
	digits := num
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 || string(num) == "-0" {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = 10*n + int64(c-'0')
	}
	if num[0] == '-' {
		n = -n
	}
	return n, true
}

// key encodes an object's key: its index in the dictionary when it is a
// declared field of the namespace, else its bytes.
func (e *encoder) key(k, ns string) {
	var i int
	switch ns {
	case "lead.":
		i = e.dict.lead[k]
	case "account.":
		i = e.dict.account[k]
	}
	if i > 0 {
		e.b = binary.AppendUvarint(e.b, uint64(i))
		return
	}
	e.b = binary.AppendUvarint(e.b, 0)
	e.str(k)
}

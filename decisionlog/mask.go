package decisionlog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strings"
	"sync"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules/eval"
)

// MaskMode says what the log does with personal data.
type MaskMode string

// Mask modes; see Mask.
const (
	MaskNone MaskMode = "none" // store everything as given
	MaskHash MaskMode = "hash" // replace values by an HMAC keyed outside the log
	MaskDrop MaskMode = "drop" // leave values out
)

// DefaultMaskFields are the input fields masked when a mask names none:
// what identifies a person or, with a name, their employer.
var DefaultMaskFields = []string{"email", "phone", "mobile", "name", "first_name", "last_name", "full_name", "contact_name", "company"}

// MinKeyLen is the shortest masking key Open accepts, in bytes.
const MinKeyLen = 16

// Mask says which personal data the log masks and how. Fields are input
// field names: a plain name ("email") is masked in the lead, in the account
// and at the top of the request; a qualified one ("lead.phone",
// "account.owner_email") only in that object. Masking applies to the stored
// input, to the email column and to the decision's reasons, warnings and
// errors, which may quote the values.
//
// MaskHash replaces a value by an HMAC-SHA256 keyed with Key, which the
// operator keeps outside the log (a file or an environment variable): the
// log holds only a check value of the key, so that whoever reads the log
// cannot hash guesses of names or addresses to find the ones stored. An email
// keeps its domain ("3f9a…@northbank.example"), so that domain rules,
// free-mail checks and account lookups still work when a stored decision is
// re-explained, and lookups by email still work: the query is hashed the
// same way. MaskDrop removes the values: the email column is empty, lookup
// by email is impossible and re-explanations see the fields as missing.
type Mask struct {
	Mode   MaskMode
	Fields []string
	Key    []byte // for MaskHash: MinKeyLen bytes or more; never stored in the log

	// macs hands out HMACs of Key whose padded key blocks are hashed
	// once (hmac's Reset keeps their states): half of a short value's
	// SHA-256 blocks, a third of the instructions of a masked decision's
	// logging went to them. Open sets it on its own copy; without it each
	// value gets a new HMAC.
	macs *sync.Pool
	// shapes has bit shape(key) set for every key that may be masked (a
	// field, or a qualified one's part after a dot): most keys of a
	// request have no such length and first byte, and masks answers them
	// without comparing names. Set with macs; all zero means not set.
	shapes [4]uint64
}

// shape is a key's length and first byte, as a bit of Mask.shapes.
func shape(key string) uint {
	if key == "" {
		return 0
	}
	return (uint(len(key))*29 + uint(key[0])) & 255
}

// withMACs is m with macs set, for a log that hashes with it, and shapes.
func (m Mask) withMACs() Mask {
	m.shapes = [4]uint64{1} // set: shape("") (the empty key is never looked up by shape)
	for _, f := range m.Fields {
		b := shape(f)
		m.shapes[b/64] |= 1 << (b % 64)
		for j := range len(f) {
			if f[j] == '.' {
				b := shape(f[j+1:])
				m.shapes[b/64] |= 1 << (b % 64)
			}
		}
	}
	if m.Mode == MaskHash && len(m.Key) > 0 {
		key := m.Key
		m.macs = &sync.Pool{New: func() any {
			h := hmac.New(sha256.New, key)
			h.Reset() // keeps the pads' states from now on
			return &macState{h: h}
		}}
	}
	return m
}

// check says what is wrong with a mask Open is given.
func (m Mask) check() error {
	if m.Mode == MaskHash && len(m.Key) < MinKeyLen {
		if len(m.Key) == 0 {
			return errors.New("--log-mask hash needs a key kept outside the log (--log-mask-key-file or LEADQ_LOG_MASK_KEY)")
		}
		return fmt.Errorf("the masking key has %d bytes; give %d or more", len(m.Key), MinKeyLen)
	}
	return nil
}

// ParseMask reads a --log-mask value: "none", "hash" or "drop", optionally
// followed by a colon and the fields to mask ("hash:email,phone"); without
// fields, DefaultMaskFields.
func ParseMask(s string) (Mask, error) {
	mode, fields, hasFields := strings.Cut(strings.TrimSpace(s), ":")
	m := Mask{Mode: MaskMode(strings.ToLower(strings.TrimSpace(mode)))}
	switch m.Mode {
	case "", MaskNone:
		if hasFields {
			return Mask{}, fmt.Errorf("mask %q: none takes no fields", s)
		}
		return Mask{Mode: MaskNone}, nil
	case MaskHash, MaskDrop:
	default:
		return Mask{}, fmt.Errorf("mask %q: unknown mode %q (use none, hash or drop, optionally with :field,field)", s, mode)
	}
	if !hasFields {
		m.Fields = append([]string(nil), DefaultMaskFields...)
		return m, nil
	}
	for _, f := range strings.Split(fields, ",") {
		if f = strings.TrimSpace(f); f != "" {
			m.Fields = append(m.Fields, f)
		}
	}
	if len(m.Fields) == 0 {
		return Mask{}, fmt.Errorf("mask %q: no fields after the colon", s)
	}
	return m, nil
}

// String is the mask as ParseMask reads it, without the key.
func (m Mask) String() string {
	if !m.on() {
		return string(MaskNone)
	}
	return string(m.Mode) + ":" + strings.Join(m.Fields, ",")
}

func (m Mask) on() bool { return (m.Mode == MaskHash || m.Mode == MaskDrop) && len(m.Fields) > 0 }

// masks reports whether key in namespace ns ("lead", "account", or "" for
// the top of a request) is masked.
func (m Mask) masks(ns, key string) bool {
	if b := shape(key); m.shapes[0] != 0 && m.shapes[b/64]&(1<<(b%64)) == 0 || !m.on() {
		return false
	}
	for _, f := range m.Fields {
		if f == key || ns != "" && qualified(f, ns, key) {
			return true
		}
	}
	return false
}

// qualified reports whether f is ns + "." + key, without building that
// string: masks runs for every key of every logged request.
func qualified(f, ns, key string) bool {
	return len(f) == len(ns)+1+len(key) && f[len(ns)] == '.' && f[:len(ns)] == ns && f[len(ns)+1:] == key
}

// Email is email as the log stores it in its email column, and so as a
// lookup by email must ask for it: trimmed, lower-cased, then hashed or
// dropped when the mask covers the lead's email.
func (m Mask) Email(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || !m.masks("lead", "email") {
		return email
	}
	if m.Mode == MaskDrop {
		return ""
	}
	return m.hashEmail(email)
}

// emailOf is Email(email), without hashing the address a second time
// when the request's value of it was hashed already: pairs are the old,
// new pairs of the values masked, and a hashed value with an @ is
// hashEmail of it, which trims and lower-cases as Email does.
func (m Mask) emailOf(email string, pairs []string) string {
	if m.Mode == MaskHash && strings.Contains(email, "@") && m.masks("lead", "email") {
		for i := 0; i+1 < len(pairs); i += 2 {
			if strings.TrimSpace(pairs[i]) == email {
				return pairs[i+1]
			}
		}
	}
	return m.Email(email)
}

func (m Mask) mac(s string) string { return m.hashed("", s, "") }

// macState is an HMAC of the key, room for its sum (which a call through
// the hash.Hash interface would otherwise allocate each time) and for the
// value hashed (an HMAC has no WriteString: io.WriteString would copy
// each value into a new slice).
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
	in  []byte
}

// appendMAC appends to b the hex of the first 16 bytes of s's
// HMAC-SHA256 with the key.
func (m Mask) appendMAC(b []byte, s string) []byte {
	var st *macState
	if m.macs == nil {
		st = &macState{h: hmac.New(sha256.New, m.Key)}
	} else {
		st = m.macs.Get().(*macState)
	}
	st.in = append(st.in[:0], s...)
	st.h.Write(st.in)
	b = hex.AppendEncode(b, st.h.Sum(st.sum[:0])[:16])
	if m.macs != nil {
		st.h.Reset()
		m.macs.Put(st)
	}
	return b
}

// hashed is prefix, s's MAC and, with a domain, "@" and it: the masked
// value built in one allocation (a masked request has several).
func (m Mask) hashed(prefix, s, domain string) string {
	var buf [128]byte
	b := append(buf[:0], prefix...)
	b = m.appendMAC(b, s)
	if domain != "" {
		b = append(append(b, '@'), domain...)
	}
	return string(b)
}

// hashEmail hashes the lower-cased address and keeps its domain.
func (m Mask) hashEmail(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	if d := eval.Domain(email); d != "" {
		return m.hashed("", email, d)
	}
	return m.hashed("masked:", email, "")
}

// hashString hashes one value: emails keep their domain.
func (m Mask) hashString(s string) string {
	if strings.Contains(s, "@") {
		return m.hashEmail(s)
	}
	return m.hashed("masked:", s, "")
}

// dropped stands in for a removed value in reasons and messages.
const dropped = "[removed]"

// apply masks a decoded scoring request in place: the top level, and the
// lead and account objects (or the top level as the lead, for a bare lead,
// as engine.InputFromMap reads it). It returns old, new pairs for every
// string it replaced, for scrubbing the decision's texts.
func (m Mask) apply(doc map[string]any) []string {
	if !m.on() {
		return nil
	}
	var pairs []string
	lead, hasLead := doc["lead"]
	account, hasAccount := doc["account"]
	if !hasLead && !hasAccount {
		pairs = m.applyObject("lead", doc, pairs)
		return pairs
	}
	pairs = m.applyObject("", doc, pairs)
	if l, ok := lead.(map[string]any); ok {
		pairs = m.applyObject("lead", l, pairs)
	}
	if a, ok := account.(map[string]any); ok {
		pairs = m.applyObject("account", a, pairs)
	}
	return pairs
}

func (m Mask) applyObject(ns string, obj map[string]any, pairs []string) []string {
	for k, v := range obj {
		if !m.masks(ns, k) || v == nil {
			continue
		}
		var keep bool
		if v, keep, pairs = m.maskValue(v, pairs); keep {
			obj[k] = v
		} else {
			delete(obj, k)
		}
	}
	return pairs
}

// maskValue masks the value of a masked field: its hash, or nothing (keep
// false) when the mask drops values. It appends old, new pairs to pairs for
// every string replaced.
func (m Mask) maskValue(v any, pairs []string) (masked any, keep bool, _ []string) {
	if m.Mode == MaskDrop {
		for _, s := range texts(v) {
			pairs = append(pairs, s, dropped)
		}
		return nil, false, pairs
	}
	if x, ok := v.([]any); ok {
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.hashValue(e, &pairs)
		}
		return out, true, pairs
	}
	return m.hashValue(v, &pairs), true, pairs
}

// hashValue hashes a scalar by its text, and anything else by its JSON.
func (m Mask) hashValue(v any, pairs *[]string) any {
	if v == nil {
		return nil
	}
	if x, ok := v.(string); ok && x != "" { // texts(x) without its slice
		h := m.hashString(x)
		*pairs = append(*pairs, x, h)
		return h
	}
	ts := texts(v)
	if len(ts) == 1 {
		h := m.hashString(ts[0])
		*pairs = append(*pairs, ts[0], h)
		return h
	}
	b, _ := json.Marshal(v)
	return m.hashed("masked:", string(b), "")
}

// texts are the strings a value may show up as in a reason: a scalar's text,
// or the texts of a list's scalars.
func texts(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case json.Number:
		return []string{x.String()}
	case float64, bool, int, int64:
		return []string{fmt.Sprint(x)}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, texts(e)...)
		}
		return out
	}
	return nil
}

// maskPair is a value masked and what stands in for it.
type maskPair struct{ old, new string }

// quotesAny reports whether a reason, warning or error of d holds an old
// value of ps.
func quotesAny(d engine.Decision, ps []maskPair) bool {
	holds := func(s string) bool {
		for _, p := range ps {
			if strings.Contains(s, p.old) {
				return true
			}
		}
		return false
	}
	for _, hs := range [][]engine.Hit{d.Knockouts, d.Matched} {
		for _, h := range hs {
			if holds(h.Reason) {
				return true
			}
		}
	}
	for _, w := range d.Warnings {
		if holds(w.Message) {
			return true
		}
	}
	for _, e := range d.Errors {
		if holds(e.Message) {
			return true
		}
	}
	return false
}

// replacer replaces the old values of ps (longest first) by their new
// ones as strings.NewReplacer(old, new, ...) does: left to right, at each
// place the first of ps that matches, without overlaps. Building that
// replacer (a trie) cost more than a decision's few reasons need: a
// masked request has a handful of values.
type replacer []maskPair

func (ps replacer) Replace(s string) string {
	quotes := false // most texts quote no value: a search each, done
	for _, p := range ps {
		if strings.Contains(s, p.old) {
			quotes = true
			break
		}
	}
	if !quotes {
		return s
	}
	var b []byte
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		k := -1
		for j := range ps {
			if s[i] == ps[j].old[0] && strings.HasPrefix(s[i:], ps[j].old) {
				k = j
				break
			}
		}
		if k < 0 {
			i++
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(s)+64)
		}
		b = append(append(b, s[done:i]...), ps[k].new...)
		i += len(ps[k].old)
		done = i
	}
	if b == nil {
		return s
	}
	return string(append(b, s[done:]...))
}

// scrub returns d with every masked value replaced in its reasons, warnings
// and errors. The slices are copied: d's own may be shared with the caller
// that logged it.
func scrub(d engine.Decision, pairs []string) engine.Decision {
	if len(pairs) == 0 {
		return d
	}
	// Longest first, so that an address is replaced before a part of it.
	ps := make([]maskPair, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		if len(pairs[i]) >= 3 { // shorter values would mangle unrelated words
			ps = append(ps, maskPair{pairs[i], pairs[i+1]})
		}
	}
	if !quotesAny(d, ps) {
		return d // nothing to replace: no replacer to build (a brief decision has no reasons)
	}
	sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].old) > len(ps[j].old) })
	r := replacer(ps)
	hits := func(hs []engine.Hit) []engine.Hit {
		out := make([]engine.Hit, len(hs))
		for i, h := range hs {
			h.Reason = r.Replace(h.Reason)
			out[i] = h
		}
		return out
	}
	d.Knockouts = hits(d.Knockouts)
	d.Matched = hits(d.Matched)
	ws := make([]engine.Warning, len(d.Warnings))
	for i, w := range d.Warnings {
		w.Message = r.Replace(w.Message)
		ws[i] = w
	}
	d.Warnings = ws
	es := make([]engine.RuleError, len(d.Errors))
	for i, e := range d.Errors {
		e.Message = r.Replace(e.Message)
		es[i] = e
	}
	d.Errors = es
	return d
}

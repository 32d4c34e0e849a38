package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// Input is one lead to score, with its account when known. Values are as
// decoded from JSON or YAML; Score normalises them to the declared types.
type Input struct {
	ID      string
	Lead    map[string]any
	Account map[string]any
	Now     time.Time // the clock for days_since & co; zero means Options.Clock

	// FlatAccount is set by InputFromMap for a lead sent with its fields
	// at the top beside an "account" object: it is scored as that lead
	// with that account, with a warning on field account (refused in
	// strict mode).
	FlatAccount bool

	// Unexpected is set by InputFromMap to the keys of a {"lead",
	// "account"} request that are neither of those nor an id: a typo such
	// as "acount" would otherwise drop the account without a word. Each is
	// warned of (refused in strict mode) on its own key.
	Unexpected []string

	// Duplicates is set by ParseInput to the keys the request gives more
	// than once ("lead", "account", "lead.employees"): JSON takes the last,
	// and a lead that says 5 and then 500 employees is warned of (refused
	// in strict mode) on the declared fields among them. A map has none.
	Duplicates []string

	// IDWarnings is set by InputFromMap for each key that gives a lead's
	// id ("id" and "lead_id" of the request, and of its "lead" object:
	// "lead.id") whose value is an object, a list or a boolean: such an id
	// is not read, and the decision warns on the key, saying what it held
	// (a number is read as its text: 123 is "123"; null is no id).
	IDWarnings []Warning

	// InvalidUTF8 is set by ParseInput to the keys ("lead.company", and
	// the id's as IDWarnings names them: "id", "lead.id") whose value held
	// bytes that are not UTF-8: JSON is UTF-8, and they were read as
	// U+FFFD, as encoding/json reads them. A sender of Latin-1 still gets a
	// decision; the declared fields among them and the id are warned of.
	InvalidUTF8 []string

	// LoneSurrogates is set by ParseInput to the keys, named as in
	// InvalidUTF8, whose value escaped half of a UTF-16 surrogate pair
	// without the other ("\ud83d" alone), which JSON readers read as
	// U+FFFD; warned of as InvalidUTF8 is.
	LoneSurrogates []string

	// AccountJoined is set by JoinAccount: the account came from a
	// directory, not from the request, and its keys are not checked
	// against the declared fields (see undeclaredMessage).
	AccountJoined bool
}

// flatAccountMessage is the warning (or, strict, the error) of a flat lead
// that carries an account.
const flatAccountMessage = `the lead's fields are at the top of the request beside an "account" object: read as that lead with that account (send {"lead": {...}, "account": {...}} to say so)`

// JoinAccount sets in.Account to the account the lead's email resolves to,
// when in has no account (an account given, even empty, wins), and
// reports whether it did. Options.Accounts joins accounts this way.
func (in *Input) JoinAccount(accounts AccountResolver) bool {
	if in.Account != nil {
		return false
	}
	if email, ok := in.Lead["email"].(string); ok && email != "" {
		if a, found := accounts.Resolve(email); found {
			in.Account, in.AccountJoined = a, true
			return true
		}
	}
	return false
}

// InputError is a lead the engine refuses: malformed JSON, or in strict mode
// a field of the wrong type. Field names the offending field ("lead.employees")
// or is empty for the document as a whole.
type InputError struct {
	Field   string `json:"field,omitempty"`
	Offset  int64  `json:"offset,omitempty"` // byte offset in the JSON, when known
	Message string `json:"message"`
}

func (e *InputError) Error() string {
	switch {
	case e.Field != "":
		return e.Field + ": " + e.Message
	case e.Offset > 0:
		return fmt.Sprintf("at byte %d: %s", e.Offset, e.Message)
	}
	return e.Message
}

// InputErrors is every problem strict mode found in one lead.
type InputErrors []*InputError

func (l InputErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// ParseInput decodes a JSON scoring request: {"id", "lead": {...},
// "account": {...}}, or a bare lead object. Numbers keep their text until
// they are normalised against the ruleset.
func ParseInput(data []byte) (Input, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return Input{}, jsonError(err)
	}
	if dec.More() {
		return Input{}, &InputError{Offset: dec.InputOffset(), Message: "unexpected data after the JSON object"}
	}
	// Anything but the end after the object is refused: a closing
	// bracket or brace too, which Token reports as an error, not a token.
	if _, err := dec.Token(); err != io.EOF {
		return Input{}, &InputError{Offset: dec.InputOffset(), Message: "unexpected data after the JSON object"}
	}
	in, err := InputFromMap(doc)
	if err != nil {
		return in, err
	}
	top, lead, account := duplicateKeys(data)
	_, hasLead := doc["lead"]
	_, hasAccount := doc["account"]
	for _, k := range top {
		switch {
		case !hasLead && !hasAccount || in.FlatAccount && k != "account":
			in.Duplicates = append(in.Duplicates, "lead."+k) // the lead's fields are at the top
		case k == "lead" || k == "account":
			in.Duplicates = append(in.Duplicates, k)
		}
	}
	for _, k := range lead {
		in.Duplicates = append(in.Duplicates, "lead."+k)
	}
	for _, k := range account {
		in.Duplicates = append(in.Duplicates, "account."+k)
	}
	// The fast decoder leaves a value with invalid UTF-8 or a lone
	// surrogate to this path, and a request with neither costs a pass
	// for each here.
	notUTF8 := func(v []byte) bool { return !utf8.Valid(v) }
	if notUTF8(data) {
		in.InvalidUTF8 = keysWhere(data, hasLead || hasAccount, in.FlatAccount, notUTF8)
	}
	if loneSurrogate(data) {
		in.LoneSurrogates = keysWhere(data, hasLead || hasAccount, in.FlatAccount, loneSurrogate)
	}
	return in, nil
}

// loneSurrogate reports whether the JSON text b escapes half of a UTF-16
// surrogate pair without the other half ("\ud83d" alone: a UTF-16 text
// cut inside an emoji), which encoding/json reads as U+FFFD.
func loneSurrogate(b []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 || i+j+1 >= len(b) {
			return false
		}
		i += j
		r, ok := escapedUnit(b, i)
		if !ok {
			i += 2 // \\, \n...: the escaped byte is no escape's start
			continue
		}
		i += 6
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true // a second half first
		case r >= 0xd800 && r <= 0xdbff:
			if lo, ok := escapedUnit(b, i); !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
}

// escapedUnit reads the UTF-16 unit of a \uXXXX escape at b[i:].
func escapedUnit(b []byte, i int) (rune, bool) {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
	return rune(n), err == nil
}

// keysWhere lists the keys of a request (valid JSON: ParseInput decoded
// it) whose values bad finds wrong, as Input.InvalidUTF8: the keys of the
// lead and account objects, or of the request's top for a bare or flat
// lead, and the request's id. Each value's bytes are looked at as sent:
// json.RawMessage keeps them.
func keysWhere(data []byte, envelope, flat bool, bad func([]byte) bool) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return nil
	}
	var out []string
	// A key of the request's top is the lead's, but its id is the
	// request's ("id", as IDWarnings names it).
	topName := func(k string) string {
		if idKey(k) {
			return k
		}
		return "lead." + k
	}
	object := func(name func(string) string, raw json.RawMessage) {
		var m map[string]json.RawMessage
		if !bad(raw) || json.Unmarshal(raw, &m) != nil {
			return
		}
		for k, v := range m {
			if bad(v) {
				out = append(out, name(k))
			}
		}
	}
	in := func(ns string) func(string) string { return func(k string) string { return ns + "." + k } }
	switch {
	case !envelope:
		object(topName, data)
	case flat:
		for k, v := range top {
			if k != "account" && bad(v) {
				out = append(out, topName(k))
			}
		}
		object(in("account"), top["account"])
	default:
		for _, k := range []string{"id", "lead_id"} {
			if v, ok := top[k]; ok && bad(v) {
				out = append(out, k)
			}
		}
		object(in("lead"), top["lead"])
		object(in("account"), top["account"])
	}
	slices.Sort(out)
	return out
}

// invalidUTF8Message is the warning on a field whose value held bytes
// that are not UTF-8.
const invalidUTF8Message = "the value holds bytes that are not UTF-8 (sent as Latin-1 or Windows-1252?): each was read as U+FFFD (\ufffd); send UTF-8"

// loneSurrogateMessage is the warning on a field whose value held an
// escaped lone surrogate.
const loneSurrogateMessage = "the value escapes half of a UTF-16 pair without the other (\\ud83d alone: a text cut inside an emoji?): it was read as U+FFFD (\ufffd)"

// duplicateKeys lists the keys a JSON object (valid: ParseInput decoded
// it) gives more than once at its top, and in the last object of its keys
// "lead" and "account" (the one encoding/json keeps), as decoded.
func duplicateKeys(data []byte) (top, lead, account []string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	top, _ = objectDuplicates(dec, func(key string) {
		switch key {
		case "lead":
			lead, _ = objectDuplicates(dec, nil)
		case "account":
			account, _ = objectDuplicates(dec, nil)
		default:
			skipValue(dec)
		}
	})
	return top, lead, account
}

// objectDuplicates reads the next value of dec and, when it is an object,
// returns the keys it gives more than once. value reads each key's value
// (nil: skipped).
func objectDuplicates(dec *json.Decoder, value func(key string)) ([]string, bool) {
	t, err := dec.Token()
	if err != nil {
		return nil, false
	}
	if t != json.Delim('{') {
		if t == json.Delim('[') {
			skipRest(dec)
		}
		return nil, false
	}
	var seen map[string]int
	var dups []string
	for dec.More() {
		t, err := dec.Token()
		key, isKey := t.(string)
		if err != nil || !isKey {
			return dups, false
		}
		if seen == nil {
			seen = map[string]int{}
		}
		if seen[key]++; seen[key] == 2 {
			dups = append(dups, key)
		}
		if value != nil {
			value(key)
		} else {
			skipValue(dec)
		}
	}
	_, _ = dec.Token() // }
	return dups, true
}

// skipValue reads the next value of dec.
func skipValue(dec *json.Decoder) {
	if t, err := dec.Token(); err == nil && (t == json.Delim('{') || t == json.Delim('[')) {
		skipRest(dec)
	}
}

// skipRest reads the rest of an object or array whose opening dec read.
func skipRest(dec *json.Decoder) {
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// InputFromMap interprets a decoded request object as ParseInput does.
func InputFromMap(doc map[string]any) (Input, error) {
	if doc == nil {
		return Input{}, &InputError{Message: "expected a JSON object with the lead's fields"}
	}
	var in Input
	lead, hasLead := doc["lead"]
	account, hasAccount := doc["account"]
	if !hasLead && hasAccount && hasLeadKeys(doc) {
		// A flat lead that carries its account: the other keys are the lead.
		in.Lead = make(map[string]any, len(doc)-1)
		for k, v := range doc {
			if k != "account" {
				in.Lead[k] = v
			}
		}
		in.FlatAccount = true
		hasLead, lead = true, in.Lead
	}
	if !hasLead && !hasAccount {
		in.Lead = doc
	} else {
		var ok bool
		if hasLead && lead != nil {
			if in.Lead, ok = lead.(map[string]any); !ok {
				return Input{}, &InputError{Field: "lead", Message: "expected an object with the lead's fields"}
			}
		}
		if hasAccount && account != nil {
			if in.Account, ok = account.(map[string]any); !ok {
				return Input{}, &InputError{Field: "account", Message: "expected an object with the account's fields"}
			}
		}
	}
	if (hasLead || hasAccount) && !in.FlatAccount {
		for k := range doc {
			if k != "lead" && k != "account" && !envelopeKey(k) {
				in.Unexpected = append(in.Unexpected, k)
			}
		}
		slices.Sort(in.Unexpected)
	}
	for i, m := range []map[string]any{doc, in.Lead} {
		envelope := i == 1 && hasLead && !in.FlatAccount // the lead object is not the request
		for _, k := range []string{"id", "lead_id"} {
			v, ok := m[k]
			if !ok || (i == 1 && !envelope) {
				continue
			}
			if msg := idMessage(v); msg != "" {
				name := k
				if envelope {
					name = "lead." + k
				}
				in.IDWarnings = append(in.IDWarnings, Warning{Field: name, Message: msg})
				continue
			}
			if in.ID != "" {
				continue
			}
			switch v := v.(type) {
			case string:
				in.ID = v
			case json.Number:
				in.ID = v.String()
			case float64:
				in.ID = strconv.FormatFloat(v, 'f', -1, 64)
			case int:
				in.ID = strconv.Itoa(v)
			}
		}
	}
	return in, nil
}

// idKey reports whether key gives a lead's id: "id" or "lead_id", of the
// request or of its lead object ("lead.id"), as IDWarnings names them.
func idKey(key string) bool {
	key = strings.TrimPrefix(key, "lead.")
	return key == "id" || key == "lead_id"
}

// idMessage says what is wrong with v as a lead's id: "" for a string, a
// number or null, else the warning of IDWarnings.
func idMessage(v any) string {
	var what string
	switch v := v.(type) {
	case map[string]any:
		what = "an object"
	case []any:
		what = "a list"
	case bool:
		what = fmt.Sprintf("boolean %v", v)
	default:
		return ""
	}
	return "expected the lead's id as a string or number, got " + what + "; ignored"
}

// hasLeadKeys reports whether a request object has keys besides the
// envelope's own (account, and the ids and marks every request may carry).
func hasLeadKeys(doc map[string]any) bool {
	for k := range doc {
		switch k {
		case "account", "id", "lead_id", "account_source":
		default:
			return true
		}
	}
	return false
}

// envelopeKey reports the keys a lead or account object may carry that are
// not fields: the lead's id (see InputFromMap) and the mark a request
// copied from a decision may carry.
func envelopeKey(key string) bool {
	switch key {
	case "id", "lead_id", "account_source":
		return true
	}
	return false
}

// unexpectedMessage says that key, at the top of a {"lead", "account"}
// request, is not part of it, with the nearest of the request's keys as a
// likely typo.
func unexpectedMessage(key string) string {
	return fmt.Sprintf("%q is not a key of a scoring request (lead, account, id, lead_id)%s", key,
		rulefile.DidYouMean(key, []string{"lead", "account", "id", "lead_id"}))
}

// undeclaredMessage says that key of the lead (ns "lead") or its account
// is not a declared field of rs, with the nearest one of rs's fields of
// that namespace as a likely typo. It is a warning, or in strict mode an
// error, on the field ns.key; the decoder and the map path call it only
// for keys that are not fields, so leads without any cost nothing.
func undeclaredMessage(rs *rules.Ruleset, ns, key string) string {
	name := ns + "." + key
	var names []string
	for _, f := range rs.Fields {
		if f.Namespace == ns {
			names = append(names, f.Name)
		}
	}
	return fmt.Sprintf("%s is not a field of ruleset %s%s", name, rs.Name, rulefile.DidYouMean(name, names))
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &InputError{Offset: syn.Offset, Message: "malformed JSON: " + syn.Error()}
	case errors.As(err, &typ):
		return &InputError{Offset: typ.Offset, Message: fmt.Sprintf("expected a JSON object, found %s", typ.Value)}
	case errors.Is(err, io.EOF):
		return &InputError{Message: "empty body: expected a JSON object with the lead's fields"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		// A line of JSON Lines cut short, or a quote left open: "unexpected
		// EOF" named no file end the sender could see.
		return &InputError{Message: "malformed JSON: the lead ends inside a value (a missing } ] or \" at its end?)"}
	}
	return &InputError{Message: "malformed JSON: " + err.Error()}
}

// convert normalises one raw value to the declared type. ok is false when
// the value has the wrong type; msg then says what was expected. A coerced
// value (a string holding a number, say) is refused in strict mode.
func convert(raw any, t rulefile.Type, strict bool) (v any, ok bool, msg string) {
	v, msg = eval.Convert(raw, t, strict)
	return v, msg == "", msg
}

// isBlank reports values that mean "no data": null, and empty strings for
// fields that are not strings (CSV exports and forms send "" for unknown).
func isBlank(raw any, t rulefile.Type) bool {
	if raw == nil {
		return true
	}
	s, ok := raw.(string)
	return ok && t != rulefile.TypeString && strings.TrimSpace(s) == ""
}

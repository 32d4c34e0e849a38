package decisionlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The stored input is the scoring request in a compact binary form: JSON's
// values with the keys the ruleset version declares ("lead.email") written
// as their index in the version's field list, integers as varints, and the
// lead id and email, which have columns of their own, as a reference to
// them. encodeInput and decodeInput are a pair: decoding gives back a JSON
// document equal to the one encoded (FuzzInputEncoding holds them to it;
// object keys come back sorted, as encoding/json writes maps).
//
// value := tag payload
//
//	tagNull, tagFalse, tagTrue     -
//	tagInt                          zigzag varint
//	tagNumber                       uvarint length, the number's text
//	tagString                       uvarint length, bytes
//	tagArray                        uvarint count, values
//	tagObject                       uvarint count, (key value)*
//	tagLeadID, tagEmail             - (the row's lead_id or email column)
//
// key := uvarint k: k > 0 is fields[k-1] (with the object's namespace:
// "lead." for the lead, "account." for the account); k = 0 is followed by
// uvarint length and the key's bytes.
//
// The document starts with a shape byte: shapeWrapped ({"lead": …,
// "account": …, "id": …}) or shapeBare (the lead's fields at the top).
const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagInt
	tagNumber
	tagString
	tagArray
	tagObject
	tagLeadID
	tagEmail
)

const (
	shapeWrapped byte = 1
	shapeBare    byte = 2
)

// dictionary maps declared field names to their keys in the encoding.
type dictionary struct {
	names []string
	index map[string]int // name -> k (from 1)
	// The same by namespace, without it: "email" in lead -> k of
	// "lead.email" (encodeJSON's lookups of keys seen as bytes).
	lead, account map[string]int
}

func newDictionary(names []string) *dictionary {
	d := &dictionary{names: names, index: make(map[string]int, len(names)), lead: map[string]int{}, account: map[string]int{}}
	for i, n := range names {
		d.index[n] = i + 1
		if k, ok := strings.CutPrefix(n, "lead."); ok {
			d.lead[k] = i + 1
		} else if k, ok := strings.CutPrefix(n, "account."); ok {
			d.account[k] = i + 1
		}
	}
	return d
}

// encodeInput encodes doc (decoded with UseNumber). leadID and email are
// the row's columns: string values equal to them are stored as references.
func encodeInput(doc map[string]any, dict *dictionary, leadID, email string) []byte {
	e := encoder{dict: dict, leadID: leadID, email: email}
	_, hasLead := doc["lead"]
	_, hasAccount := doc["account"]
	if !hasLead && !hasAccount {
		e.b = append(e.b, shapeBare)
		e.object(doc, "lead.")
	} else {
		e.b = append(e.b, shapeWrapped)
		e.object(doc, "")
	}
	return e.b
}

type encoder struct {
	b             []byte
	dict          *dictionary
	leadID, email string
}

func (e *encoder) object(m map[string]any, ns string) {
	e.b = append(e.b, tagObject)
	e.b = binary.AppendUvarint(e.b, uint64(len(m)))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if i := e.dict.index[ns+k]; i > 0 && ns != "" {
			e.b = binary.AppendUvarint(e.b, uint64(i))
		} else {
			e.b = binary.AppendUvarint(e.b, 0)
			e.str(k)
		}
		child := ""
		if ns == "" && (k == "lead" || k == "account") {
			child = k + "."
		}
		e.value(m[k], child)
	}
}

func (e *encoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

// value encodes v; ns is the namespace of its keys when it is the lead or
// the account object, "" otherwise.
func (e *encoder) value(v any, ns string) {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, tagNull)
	case bool:
		if x {
			e.b = append(e.b, tagTrue)
		} else {
			e.b = append(e.b, tagFalse)
		}
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil && strconv.FormatInt(n, 10) == string(x) {
			e.b = append(e.b, tagInt)
			e.b = binary.AppendVarint(e.b, n)
			return
		}
		e.b = append(e.b, tagNumber)
		e.str(string(x))
	case float64: // from a caller that decoded without UseNumber
		e.value(json.Number(strconv.FormatFloat(x, 'g', -1, 64)), ns)
	case string:
		switch {
		case x != "" && x == e.leadID:
			e.b = append(e.b, tagLeadID)
		case x != "" && x == e.email:
			e.b = append(e.b, tagEmail)
		default:
			e.b = append(e.b, tagString)
			e.str(x)
		}
	case []any:
		e.b = append(e.b, tagArray)
		e.b = binary.AppendUvarint(e.b, uint64(len(x)))
		for _, el := range x {
			e.value(el, "")
		}
	case map[string]any:
		if ns == "" {
			ns = "\x00" // keys of nested objects are never declared fields
		}
		e.object(x, ns)
	default:
		// Values come from encoding/json; anything else is stored as its JSON.
		b, err := json.Marshal(x)
		if err != nil {
			e.b = append(e.b, tagNull)
			return
		}
		var back any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if dec.Decode(&back) != nil {
			e.b = append(e.b, tagNull)
			return
		}
		e.value(back, ns)
	}
}

var errCorrupt = errors.New("stored input is corrupt")

// decodeInput is encodeInput's inverse: the request as JSON.
func decodeInput(data []byte, dict *dictionary, leadID, email string) (json.RawMessage, error) {
	if len(data) == 0 {
		return json.RawMessage("{}"), nil
	}
	d := decoder{data: data[1:], dict: dict, leadID: leadID, email: email}
	ns := ""
	switch data[0] {
	case shapeWrapped:
	case shapeBare:
		ns = "lead."
	default:
		return nil, errCorrupt
	}
	out, err := d.value(nil, ns, 0)
	if err != nil {
		return nil, err
	}
	if len(d.data) != 0 {
		return nil, errCorrupt
	}
	return out, nil
}

type decoder struct {
	data          []byte
	dict          *dictionary
	leadID, email string
}

func (d *decoder) uvarint() (uint64, error) {
	n, k := binary.Uvarint(d.data)
	if k <= 0 {
		return 0, errCorrupt
	}
	d.data = d.data[k:]
	return n, nil
}

func (d *decoder) str() (string, error) {
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.data)) {
		return "", errCorrupt
	}
	s := string(d.data[:n])
	d.data = d.data[n:]
	return s, nil
}

// maxNesting bounds the decoder's recursion on corrupt data.
const maxNesting = 64

func (d *decoder) value(b []byte, ns string, depth int) ([]byte, error) {
	if len(d.data) == 0 || depth > maxNesting {
		return nil, errCorrupt
	}
	tag := d.data[0]
	d.data = d.data[1:]
	switch tag {
	case tagNull:
		return append(b, "null"...), nil
	case tagFalse:
		return append(b, "false"...), nil
	case tagTrue:
		return append(b, "true"...), nil
	case tagInt:
		n, k := binary.Varint(d.data)
		if k <= 0 {
			return nil, errCorrupt
		}
		d.data = d.data[k:]
		return strconv.AppendInt(b, n, 10), nil
	case tagNumber:
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) || !json.Valid([]byte(s)) {
			return nil, errCorrupt
		}
		return append(b, s...), nil
	case tagString:
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return appendJSONString(b, s), nil
	case tagLeadID:
		return appendJSONString(b, d.leadID), nil
	case tagEmail:
		return appendJSONString(b, d.email), nil
	case tagArray:
		n, err := d.uvarint()
		if err != nil || n > uint64(len(d.data)) {
			return nil, errCorrupt
		}
		b = append(b, '[')
		for i := uint64(0); i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = d.value(b, "", depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case tagObject:
		n, err := d.uvarint()
		if err != nil || n > uint64(len(d.data)) {
			return nil, errCorrupt
		}
		b = append(b, '{')
		for i := uint64(0); i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			k, err := d.uvarint()
			if err != nil {
				return nil, err
			}
			var key string
			switch {
			case k == 0:
				if key, err = d.str(); err != nil {
					return nil, err
				}
			case k <= uint64(len(d.dict.names)) && ns != "" && len(d.dict.names[k-1]) > len(ns) && d.dict.names[k-1][:len(ns)] == ns:
				key = d.dict.names[k-1][len(ns):]
			default:
				return nil, errCorrupt
			}
			b = appendJSONString(b, key)
			b = append(b, ':')
			child := ""
			if ns == "" && (key == "lead" || key == "account") {
				child = key + "."
			}
			if b, err = d.value(b, child, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("%w (tag %d)", errCorrupt, tag)
}

func appendJSONString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

package engine

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/leadq/leadq/internal/swar"
)

// AppendJSON appends the decision's wire format to b, byte for byte what
// encoding/json produces with SetEscapeHTML(false), without reflection.
// TestAppendJSONMatchesEncodingJSON and FuzzAppendJSON hold it to
// encoding/json. Ruleset.AppendJSON writes the same, faster.
func (d *Decision) AppendJSON(b []byte) []byte { return d.appendJSON(b, nil) }

// appendJSON is AppendJSON with the JSON table (nil for none) built for
// the hits and misses of its rules, where d says what table's do.
func (d *Decision) appendJSON(b []byte, table *ruleTable) []byte {
	if d.ID != "" {
		b = append(b, `{"id":`...)
		b = appendString(b, d.ID)
		b = append(b, `,"lead_id":`...)
	} else {
		b = append(b, `{"lead_id":`...)
	}
	b = appendString(b, d.LeadID)
	b = append(b, `,"ruleset":`...)
	if table != nil && d.Ruleset == table.ref {
		b = append(b, table.refJSON...)
	} else {
		b = appendRulesetRef(b, d.Ruleset)
	}
	b = append(b, `,"qualified":`...)
	b = strconv.AppendBool(b, d.Qualified)
	b = append(b, `,"tier":`...)
	b = appendString(b, d.Tier)
	if d.ExpectedRate != 0 {
		b = append(b, `,"expected_rate":`...)
		b = appendFloat(b, d.ExpectedRate)
	}
	b = append(b, `,"score":`...)
	b = strconv.AppendInt(b, int64(d.Score), 10)
	b = append(b, `,"groups":`...)
	b = table.appendGroups(b, d.Groups)
	b = append(b, `,"knockouts":`...)
	b = table.appendHits(b, d.Knockouts, 0, table.knockoutsEnd())
	if !d.Brief {
		b = append(b, `,"matched":`...)
		b = table.appendHits(b, d.Matched, table.knockoutsEnd(), table.hitsEnd())
		b = append(b, `,"missed":`...)
		b = table.appendMisses(b, d.Missed)
	}
	if !d.WouldQualify.IsZero() {
		b = append(b, `,"would_qualify":`...)
		b = d.WouldQualify.appendJSON(b)
	}
	b = append(b, `,"missing_fields":`...)
	b = table.appendFieldNames(b, d.MissingFields)
	b = append(b, `,"errors":`...)
	if d.Errors == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, e := range d.Errors {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"rule":`...)
			b = appendString(b, e.Rule)
			b = append(b, `,"message":`...)
			b = appendString(b, e.Message)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"warnings":`...)
	if d.Warnings == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, w := range d.Warnings {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"field":`...)
			b = appendString(b, w.Field)
			b = append(b, `,"message":`...)
			b = appendString(b, w.Message)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// MarshalJSON encodes the decision as AppendJSON does; encoding/json then
// applies its own HTML escaping and indentation, if asked.
func (d Decision) MarshalJSON() ([]byte, error) {
	return d.AppendJSON(make([]byte, 0, 2048)), nil
}

func appendRulesetRef(b []byte, r RulesetRef) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, r.Name)
	b = append(b, `,"version":`...)
	b = appendString(b, r.Version)
	return append(b, '}')
}

// appendGroups appends group totals as an object, keys in the slice's
// order: with the keys the table built once while they are the table's
// groups (a decision the table made lists exactly those, sorted).
func (t *ruleTable) appendGroups(b []byte, groups Groups) []byte {
	if groups == nil {
		return append(b, "null"...)
	}
	known := t != nil && len(groups) == len(t.groups)
	b = append(b, '{')
	for i, g := range groups {
		if known && g.Name == t.groups[i] {
			b = append(b, t.groupKeys[i]...) // with its comma
		} else {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, g.Name), ':')
		}
		b = strconv.AppendInt(b, int64(g.Total), 10)
	}
	return append(b, '}')
}

// MarshalJSON writes the totals as an object, {"engagement": 20, "fit": 60}.
func (g Groups) MarshalJSON() ([]byte, error) {
	var t *ruleTable // no table: every key written now
	return t.appendGroups(nil, g), nil
}

// UnmarshalJSON reads an object of totals by name, sorted by name.
func (g *Groups) UnmarshalJSON(data []byte) error {
	var m map[string]int
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if m == nil {
		*g = nil
		return nil
	}
	*g = make(Groups, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		*g = append(*g, GroupTotal{Name: name, Total: m[name]})
	}
	return nil
}

func (t *ruleTable) knockoutsEnd() int {
	if t == nil {
		return 0
	}
	return t.knockouts
}

func (t *ruleTable) hitsEnd() int {
	if t == nil {
		return 0
	}
	return len(t.hits)
}

// appendHits appends hits, each from what the table built for its rule
// (among t.hits[from:to]) when the hit says what the table's says.
func (t *ruleTable) appendHits(b []byte, hits []Hit, from, to int) []byte {
	if hits == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	next := from
	for i := range hits {
		if i > 0 {
			b = append(b, ',')
		}
		h := &hits[i]
		j := -1
		if t != nil {
			j = t.findHit(h, from, to, &next)
		}
		switch {
		case j < 0:
			b = appendHit(b, h)
		case t.hitJSON[j] != nil && h.Reason == t.hits[j].Reason:
			b = append(b, t.hitJSON[j]...)
		default:
			b = append(b, t.firedJSON[j]...)
			b = appendString(b, h.Reason)
			b = append(b, '}')
		}
	}
	return append(b, ']')
}

// appendMisses appends misses, each from what the table built for its
// rule when the miss says what the table's says.
func (t *ruleTable) appendMisses(b []byte, misses []Miss) []byte {
	if misses == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	next := 0
	for i := range misses {
		if i > 0 {
			b = append(b, ',')
		}
		m := &misses[i]
		j := -1
		if t != nil {
			j = t.findMiss(m, &next)
		}
		if j < 0 {
			b = appendMiss(b, m)
		} else {
			b = append(b, t.missedJSON[j]...)
		}
		b = append(b, `,"adds":`...)
		b = appendInt(b, m.Adds)
		if len(m.MissingFields) > 0 {
			b = append(b, `,"missing_fields":`...)
			b = t.appendFieldNames(b, m.MissingFields)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendHit appends h as encoding/json writes it.
func appendHit(b []byte, h *Hit) []byte {
	b = appendHitRule(b, h)
	b = appendString(b, h.Reason)
	return append(b, '}')
}

// openRule opens the JSON object of a hit or a miss: the rule's id and,
// when it has one, its group.
func openRule(b []byte, rule, group string) []byte {
	b = append(b, `{"rule":`...)
	b = appendString(b, rule)
	if group != "" {
		b = append(b, `,"group":`...)
		b = appendString(b, group)
	}
	return b
}

// appendMiss appends m's fields but its missing fields as an open JSON
// object.
func appendMiss(b []byte, m *Miss) []byte {
	b = openRule(b, m.Rule, m.Group)
	b = append(b, `,"points":`...)
	b = strconv.AppendInt(b, int64(m.Points), 10)
	if m.Description != "" {
		b = append(b, `,"description":`...)
		b = appendString(b, m.Description)
	}
	b = append(b, `,"when":`...)
	return appendString(b, m.When)
}

// appendHitRule appends h's fields as an open JSON object, up to the
// reason's value.
func appendHitRule(b []byte, h *Hit) []byte {
	b = openRule(b, h.Rule, h.Group)
	if h.Points != 0 {
		b = append(b, `,"points":`...)
		b = strconv.AppendInt(b, int64(h.Points), 10)
	}
	return append(b, `,"reason":`...)
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendFieldNames appends names as appendStrings does, each a field of
// the table's ruleset (as missing fields are) from its JSON built once.
func (t *ruleTable) appendFieldNames(b []byte, names []string) []byte {
	if t == nil || names == nil {
		return appendStrings(b, names)
	}
	b = append(b, '[')
	next := 0
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		if j := t.fieldAt(name, &next); j >= 0 {
			b = append(b, t.fieldJSON[j]...)
		} else {
			b = appendString(b, name)
		}
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendString is encoding/json's string encoding without HTML escaping:
// quotes, backslashes and control characters escaped, invalid UTF-8 as
// U+FFFD, and U+2028/U+2029 escaped for JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Runs of plain ASCII, most of every reason and name, eight
		// bytes at a time; the last few, fewer than eight, one by one
		// below (SkipASCII would return at once for each).
		if i+8 <= len(s) {
			if i = swar.SkipASCII(s, i); i >= len(s) {
				break
			}
		}
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat writes a float64 as encoding/json does: plainly, or with an
// exponent below 1e-6 and from 1e21 on, without a leading zero in it.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		n := len(b)
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// e-09 to e-9, as encoding/json writes it
		if m := len(b) - n; m >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// appendJSON appends the counterfactual as encoding/json writes it (empty
// fields left out).
func (c *Counterfactual) appendJSON(b []byte) []byte {
	b = append(b, '{')
	sep := func() {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	if len(c.Knockouts) > 0 {
		b = append(b, `"knockouts":`...)
		b = appendStrings(b, c.Knockouts)
	}
	if c.Tier != "" {
		sep()
		b = append(b, `"tier":`...)
		b = appendString(b, c.Tier)
	}
	if c.PointsNeeded != 0 {
		sep()
		b = append(b, `"points_needed":`...)
		b = strconv.AppendInt(b, int64(c.PointsNeeded), 10)
	}
	if len(c.Changes) > 0 {
		sep()
		b = append(b, `"changes":[`...)
		for i := range c.Changes {
			if i > 0 {
				b = append(b, ',')
			}
			b = c.Changes[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	if len(c.Verify) > 0 {
		sep()
		b = append(b, `"verify":`...)
		b = appendStrings(b, c.Verify)
	}
	return append(b, '}')
}

// appendInt is strconv.AppendInt for an int, without its call for the
// small ones most points are.
func appendInt(b []byte, n int) []byte {
	switch {
	case n >= 0 && n < 10:
		return append(b, byte('0'+n))
	case n >= 10 && n < 100:
		return append(b, byte('0'+n/10), byte('0'+n%10))
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// appendJSON appends the change as encoding/json writes it.
func (g *Change) appendJSON(b []byte) []byte {
	b = append(b, `{"field":`...)
	b = appendString(b, g.Field)
	if g.Label != "" {
		b = append(b, `,"label":`...)
		b = appendString(b, g.Label)
	}
	b = append(b, `,"value":`...)
	b = appendValue(b, g.Value)
	b = append(b, `,"text":`...)
	b = appendString(b, g.Text)
	if g.From != "" {
		b = append(b, `,"from":`...)
		b = appendString(b, g.From)
	}
	b = append(b, `,"unknown":`...)
	b = strconv.AppendBool(b, g.Unknown)
	b = append(b, `,"adds":`...)
	b = strconv.AppendInt(b, int64(g.Adds), 10)
	b = append(b, `,"makes_true":`...)
	b = appendStrings(b, g.MakesTrue)
	if len(g.MakesFalse) > 0 {
		b = append(b, `,"makes_false":`...)
		b = appendStrings(b, g.MakesFalse)
	}
	return append(b, '}')
}

// appendValue appends a field value of a change as encoding/json writes
// it: the types a change holds, and what decoding a change's JSON gives
// back; anything else through encoding/json itself.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return appendFloat(b, x)
		}
	case []string:
		return appendStrings(b, x)
	case []any:
		if x == nil {
			return append(b, "null"...)
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	}
	data, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, data...)
}

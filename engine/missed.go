package engine

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	"github.com/leadq/leadq/rules"
)

// A decision misses most of a ruleset's positive rules, and what it says
// of each (id, group, points, description, condition) is the same for
// every lead. So decisions point at one MissedRule per rule, and the JSON
// of each is built once, next to it: encoding the missed list was most of
// AppendJSON's time, and full decisions are 4-5 KB.

// missedTable is a ruleset's MissedRules, by Rule.Index, with their JSON.
type missedTable struct {
	rules      []MissedRule
	json       [][]byte // rules[i] as AppendJSON writes it, up to its closing brace
	registered atomic.Bool
}

// missedKey keys a ruleset's missedTable in rules.Ruleset.Memo.
type missedKey struct{}

// missedTables finds a decision's table from its ruleset version, the
// only link a Decision has to its ruleset. Weak, so that a reload lets
// the old table go with its ruleset.
var missedTables sync.Map // version → weak.Pointer[missedTable]

// missedTableOf returns the ruleset's table, built on first use.
func missedTableOf(rs *rules.Ruleset) *missedTable {
	t := rs.Memo(missedKey{}, func() any {
		t := &missedTable{rules: make([]MissedRule, len(rs.Rules)), json: make([][]byte, len(rs.Rules))}
		for i, rule := range rs.Rules {
			t.rules[i] = MissedRule{Rule: rule.ID, Group: rule.Group, Points: rule.Points,
				Description: rule.Description, When: rule.When.Src}
			t.json[i] = appendMissedRule(nil, &t.rules[i])
		}
		return t
	}).(*missedTable)
	if t.registered.CompareAndSwap(false, true) {
		wp := weak.Make(t)
		missedTables.Store(rs.Version, wp)
		runtime.AddCleanup(t, func(version string) { missedTables.CompareAndDelete(version, wp) }, rs.Version)
	}
	return t
}

// lookupMissedTable returns the table of ruleset version, or nil when
// there is none (any more).
func lookupMissedTable(version string) *missedTable {
	if v, ok := missedTables.Load(version); ok {
		return v.(weak.Pointer[missedTable]).Value()
	}
	return nil
}

// encoded returns the prebuilt JSON of m when m is one of the table's
// rules, nil otherwise (a Miss built by hand, a table of another engine
// with the same version): the caller then encodes m itself.
func (t *missedTable) encoded(m *MissedRule) []byte {
	if t == nil || len(t.rules) == 0 {
		return nil
	}
	base := uintptr(unsafe.Pointer(&t.rules[0]))
	p := uintptr(unsafe.Pointer(m))
	size := unsafe.Sizeof(MissedRule{})
	if p < base || p >= base+uintptr(len(t.rules))*size || (p-base)%size != 0 {
		return nil
	}
	return t.json[(p-base)/size]
}

// appendMissedRule appends m's fields as an open JSON object.
func appendMissedRule(b []byte, m *MissedRule) []byte {
	b = append(b, `{"rule":`...)
	b = appendString(b, m.Rule)
	if m.Group != "" {
		b = append(b, `,"group":`...)
		b = appendString(b, m.Group)
	}
	b = append(b, `,"points":`...)
	b = strconv.AppendInt(b, int64(m.Points), 10)
	if m.Description != "" {
		b = append(b, `,"description":`...)
		b = appendString(b, m.Description)
	}
	b = append(b, `,"when":`...)
	return appendString(b, m.When)
}

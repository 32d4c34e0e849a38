package engine

import (
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	"github.com/leadq/leadq/rules"
)

// A decision misses most of a ruleset's positive rules, and what it says
// of each (id, group, points, description, condition, the fields it
// lacked) is the same for every lead that misses it for the same reason.
// So decisions point at one MissedRule per rule and set of missing fields,
// and the JSON of each is built once, next to it: encoding the missed list
// was most of AppendJSON's time, and full decisions are 4-5 KB.

// missedTable is a ruleset's MissedRules: one per rule, by Rule.Index, for
// the leads that have its fields, and the variants for leads that lack
// some, each with its JSON.
type missedTable struct {
	rules      []MissedRule
	json       [][]byte                          // rules[i] as AppendJSON writes it, up to its closing brace
	lacks      []atomic.Pointer[[]missedVariant] // by Rule.Index; copied on write
	lacksJSON  sync.Map                          // *MissedRule of a variant → its JSON
	registered atomic.Bool
}

// missedVariant is a rule's MissedRule for the leads that lack the fields
// in mask (see rules.Condition.MissingMask).
type missedVariant struct {
	mask uint64
	rule *MissedRule
}

// maxVariants bounds the variants kept per rule; a condition of n fields
// has at most 2ⁿ-1, and a lead past the bound gets a MissedRule of its own.
const maxVariants = 64

// lacking returns the MissedRule of a rule the lead left undecided for
// lack of data: shared by every lead that lacks the same fields.
func (t *missedTable) lacking(rule *rules.Rule, present rules.FieldSet) *MissedRule {
	mask, ok := rule.When.MissingMask(present)
	if ok && mask == 0 {
		return &t.rules[rule.Index] // undecided for no missing field: not from Evaluate
	}
	slot := &t.lacks[rule.Index]
	if ok {
		if v := slot.Load(); v != nil {
			for _, x := range *v {
				if x.mask == mask {
					return x.rule
				}
			}
		}
	}
	m := t.rules[rule.Index]
	m.MissingFields = rule.When.AppendMissingNames(nil, present)
	if !ok {
		return &m
	}
	t.lacksJSON.Store(&m, appendMissedRule(nil, &m))
	for {
		old := slot.Load()
		var vs []missedVariant
		if old != nil {
			for _, x := range *old {
				if x.mask == mask { // another decision got there first
					t.lacksJSON.Delete(&m)
					return x.rule
				}
			}
			vs = *old
		}
		if len(vs) >= maxVariants {
			t.lacksJSON.Delete(&m)
			return &m
		}
		vs = append(slices.Clip(vs), missedVariant{mask, &m})
		if slot.CompareAndSwap(old, &vs) {
			return &m
		}
	}
}

// appendMissed appends m as an open JSON object: what was built when m is
// one of the table's, else encoded now (a Miss built by hand, a table of
// another engine with the same version).
func (t *missedTable) appendMissed(b []byte, m *MissedRule) []byte {
	if enc := t.prebuilt(m); enc != nil {
		return append(b, enc...)
	}
	return appendMissedRule(b, m)
}

// prebuilt returns the JSON built with m when m is one of the table's
// MissedRules, a rule's or a variant's; nil otherwise.
func (t *missedTable) prebuilt(m *MissedRule) []byte {
	if len(m.MissingFields) > 0 {
		if enc, ok := t.lacksJSON.Load(m); ok {
			return enc.([]byte)
		}
	}
	return t.encoded(m)
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
		t := &missedTable{rules: make([]MissedRule, len(rs.Rules)), json: make([][]byte, len(rs.Rules)),
			lacks: make([]atomic.Pointer[[]missedVariant], len(rs.Rules))}
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
	b = appendString(b, m.When)
	if len(m.MissingFields) > 0 {
		b = append(b, `,"missing_fields":`...)
		b = appendStrings(b, m.MissingFields)
	}
	return b
}

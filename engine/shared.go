package engine

import (
	"math/bits"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules"
)

// What a decision says of a rule it matched (id, group, points) or missed
// (those, its description and condition, and the fields the lead lacked)
// is the same for every lead that matched or missed it alike. So decisions
// point at one FiredRule per rule and one MissedRule per rule and set of
// missing fields, and the JSON of each is built once, next to it: copying
// them was most of a decision's bytes, and encoding them most of
// AppendJSON's time (full decisions are 4-5 KB).

// ruleTable is what the decisions of one ruleset share: its FiredRules,
// knockouts first, then score rules; and its MissedRules, one per score
// rule (by Rule.Index) for the leads that have its fields, and the
// variants for leads that lack some; each with its JSON.
type ruleTable struct {
	ref       RulesetRef
	refJSON   []byte
	groups    []string       // the ruleset's group names, sorted as encoding/json sorts keys
	groupKeys [][]byte       // `"name":`, with a comma before all but the first
	caps      []*rules.Group // by group index (rules.Ruleset.GroupNames); nil when uncapped

	// The rules' conditions as closures, and their points and groups, by
	// the index of fired (knockouts first): decide reads them side by side
	// instead of through each Rule. fn is nil for a condition that
	// Condition.Eval must decide.
	quick []quickCondition
	// The score rules of positive points by Rule.Index, in
	// rules.Ruleset.ByPoints' order.
	byPoints []int

	fired     []FiredRule
	firedJSON [][]byte // fired[i] as AppendJSON writes it, up to "reason":
	static    []string // the reason of fired[i] when it does not depend on the lead
	hitJSON   [][]byte // the whole hit when its reason is static[i]; else nil
	knockouts int      // how many of fired are knockouts

	missed     []MissedRule
	missedJSON [][]byte                          // missed[i] as AppendJSON writes it, up to its closing brace
	missedOf   map[string]int                    // a score rule's id → its Rule.Index
	lacks      []atomic.Pointer[[]missedVariant] // by Rule.Index; copied on write

	// Recent sets of missing fields, by the set and by their names (see
	// missingNames): lossy caches, one atomic load a lookup.
	bySet, byNames [cacheSlots]atomic.Pointer[missingSet]

	// Recent group totals, by the totals and by their map (see groupsOf).
	byTotals, byMap [cacheSlots]atomic.Pointer[groupTotals]

	registered atomic.Bool
}

type quickCondition struct {
	required uint64
	fn       func(*rules.Row) bool
	points   int
	group    int // Rule.GroupIndex: -1 for none
}

// eval decides condition c of rule i (knockouts first, as fired) for a
// lead that has the fields in present.
func (t *ruleTable) eval(i int, c *rules.Condition, present uint64, m *vm.VM, r *rules.Row) (rules.Truth, error) {
	if q := &t.quick[i]; q.fn != nil && present&q.required == q.required {
		if q.fn(r) {
			return rules.True, nil
		}
		return rules.False, nil
	}
	return c.Eval(m, r)
}

// knockout returns the FiredRule of a knockout that fired.
func (t *ruleTable) knockout(rule *rules.Rule) *FiredRule { return &t.fired[rule.Index] }

// missedVariant is a rule's MissedRule for the leads that lack the fields
// in mask (see rules.Condition.MissingMask), with its JSON.
type missedVariant struct {
	mask uint64
	rule *MissedRule
	json []byte
}

// maxVariants bounds the variants kept per rule; a condition of n fields
// has at most 2ⁿ-1, and a lead past the bound gets a MissedRule of its own.
const maxVariants = 64

// lacking returns the MissedRule of a rule the lead left undecided for
// lack of data: shared by every lead that lacks the same fields.
func (t *ruleTable) lacking(rule *rules.Rule, present rules.FieldSet) *MissedRule {
	mask, ok := rule.When.MissingMask(present)
	if ok && mask == 0 {
		return &t.missed[rule.Index] // undecided for no missing field: not from Evaluate
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
	m := t.missed[rule.Index]
	m.MissingFields = rule.When.AppendMissingNames(nil, present)
	if !ok {
		return &m
	}
	variant := missedVariant{mask, &m, appendMissedRule(nil, &m)}
	for {
		old := slot.Load()
		var vs []missedVariant
		if old != nil {
			for _, x := range *old {
				if x.mask == mask { // another decision got there first
					return x.rule
				}
			}
			vs = *old
		}
		if len(vs) >= maxVariants {
			return &m
		}
		vs = append(slices.Clip(vs), variant)
		if slot.CompareAndSwap(old, &vs) {
			return &m
		}
	}
}

// cacheSlots is the size of a table's lossy caches (of missing-field
// sets and of group totals).
const cacheSlots = 4096

// missingSet is the names of a set of missing fields, and their JSON.
type missingSet struct {
	set   uint64 // a FieldSet of one word
	names []string
	json  atomic.Pointer[[]byte] // kept by the first encoding: many sets are never encoded twice
}

// slot spreads a word over the cache's slots (Fibonacci hashing). The
// caches are two-way: a key lives in its slot or the one next to it, which
// keeps a table three-quarters full from evicting half of what it holds.
func slot(x uint64) int { return int((x*0x9e3779b97f4a7c15)>>(64-12)) &^ 1 }

// lookupSlot returns the entry s cached at the pair of slots from at with
// match(s), or nil.
func lookupSlot[T any](slots *[cacheSlots]atomic.Pointer[T], at int, match func(*T) bool) *T {
	for i := at; i < at+2; i++ {
		if s := slots[i].Load(); s != nil && match(s) {
			return s
		}
	}
	return nil
}

// storeSlot caches s at the pair of slots from at: in an empty one, else
// in place of the one chosen by turn.
func storeSlot[T any](slots *[cacheSlots]atomic.Pointer[T], at int, s *T, turn uint64) {
	switch {
	case slots[at].Load() == nil:
		slots[at].Store(s)
	case slots[at+1].Load() == nil:
		slots[at+1].Store(s)
	default:
		slots[at+int(turn&1)].Store(s)
	}
}

// groupTotals is a decision's group totals as a map, and their JSON.
type groupTotals struct {
	key  uint64 // the totals packed by packTotals
	m    map[string]int
	json []byte
}

// packTotals packs up to four group totals of 15 bits into a word, with
// their count; ok is false when they do not fit.
func packTotals(totals []int) (key uint64, ok bool) {
	if len(totals) > 4 {
		return 0, false
	}
	key = uint64(len(totals)) << 60
	for i, v := range totals {
		if v < -1<<14 || v >= 1<<14 {
			return 0, false
		}
		key |= uint64(v&(1<<15-1)) << (15 * i)
	}
	return key, true
}

// groupsOf returns the group totals (by index of rs.GroupNames) as
// Decision.Groups. Decisions with the same totals share one map while it
// is in the table's cache: there are few combinations of totals (points
// come in steps, groups are capped), and a map per decision was its most
// expensive allocation.
func (t *ruleTable) groupsOf(rs *rules.Ruleset, totals []int) map[string]int {
	key, cached := packTotals(totals)
	if cached {
		if s := lookupSlot(&t.byTotals, slot(key), func(s *groupTotals) bool { return s.key == key }); s != nil {
			return s.m
		}
	}
	m := make(map[string]int, len(totals))
	for g, total := range totals {
		m[rs.GroupNames[g]] = total
	}
	if cached {
		enc, _ := t.appendKnownGroups(nil, m) // m has every group: its keys are the table's
		s := &groupTotals{key: key, m: m, json: enc}
		p := mapPointer(m)
		storeSlot(&t.byTotals, slot(key), s, p>>4)
		storeSlot(&t.byMap, slot(p), s, key)
	}
	return m
}

// mapPointer is the identity of a map, to find what the table keeps of it.
func mapPointer(m map[string]int) uint64 { return uint64(uintptr(reflect.ValueOf(m).UnsafePointer())) }

// missingNames returns the names of the fields in missing, in declaration
// order. Decisions that lack the same fields share them, and their JSON,
// while the set is in the table's cache: a set costs building once, not
// for every lead, and there are far fewer sets than leads.
func (t *ruleTable) missingNames(rs *rules.Ruleset, missing rules.FieldSet) []string {
	cached := len(missing) == 1 // rulesets of up to 64 fields
	if cached {
		key := missing[0]
		if s := lookupSlot(&t.bySet, slot(key), func(s *missingSet) bool { return s.set == key }); s != nil {
			return s.names
		}
	}
	names := make([]string, 0, missing.Len())
	for w, word := range missing { // the fields' indexes are their declaration order
		for ; word != 0; word &= word - 1 {
			names = append(names, rs.Fields[w*64+bits.TrailingZeros64(word)].Name)
		}
	}
	if cached {
		s := &missingSet{set: missing[0], names: names}
		p := uint64(uintptr(unsafe.Pointer(&names[0])))
		storeSlot(&t.bySet, slot(s.set), s, p>>4)
		storeSlot(&t.byNames, slot(p), s, s.set)
	}
	return names
}

// appendMissingFields appends a decision's missing fields: their JSON from
// the cache when they are a set from it, else encoded now.
func (t *ruleTable) appendMissingFields(b []byte, names []string) []byte {
	if t != nil && len(names) > 0 {
		first := &names[0]
		s := lookupSlot(&t.byNames, slot(uint64(uintptr(unsafe.Pointer(first)))), func(s *missingSet) bool { return &s.names[0] == first })
		if s != nil && len(s.names) == len(names) {
			if enc := s.json.Load(); enc != nil {
				return append(b, *enc...)
			}
			start := len(b)
			b = appendStrings(b, names)
			enc := slices.Clone(b[start:])
			s.json.Store(&enc)
			return b
		}
	}
	return appendStrings(b, names)
}

// appendMissed appends m as an open JSON object: what was built when m is
// one of the table's, else encoded now (a Miss built by hand, a table of
// another engine with the same version).
func (t *ruleTable) appendMissed(b []byte, m *MissedRule) []byte {
	if t != nil {
		if enc := t.prebuilt(m); enc != nil {
			return append(b, enc...)
		}
	}
	return appendMissedRule(b, m)
}

// prebuilt returns the JSON built with m when m is one of the table's
// MissedRules, a rule's or a variant's; nil otherwise.
func (t *ruleTable) prebuilt(m *MissedRule) []byte {
	if len(m.MissingFields) > 0 {
		if i, ok := t.missedOf[m.Rule]; ok {
			if vs := t.lacks[i].Load(); vs != nil {
				for _, x := range *vs {
					if x.rule == m {
						return x.json
					}
				}
			}
		}
	}
	if i := indexIn(t.missed, m); i >= 0 {
		return t.missedJSON[i]
	}
	return nil
}

// appendHit appends h, from what was built when h's rule is one of the
// table's.
func (t *ruleTable) appendHit(b []byte, h *Hit) []byte {
	i := -1
	if t != nil {
		i = indexIn(t.fired, h.FiredRule)
	}
	if i < 0 {
		return appendHit(b, h)
	}
	if enc := t.hitJSON[i]; enc != nil && h.Reason == t.static[i] {
		return append(b, enc...)
	}
	b = append(b, t.firedJSON[i]...)
	b = appendString(b, h.Reason)
	return append(b, '}')
}

// tableKey keys a ruleset's ruleTable in rules.Ruleset.Memo.
type tableKey struct{}

// ruleTables finds a decision's table from its ruleset version, the
// only link a Decision has to its ruleset. Weak, so that a reload lets
// the old table go with its ruleset.
var ruleTables sync.Map // version → weak.Pointer[ruleTable]

// ruleTableOf returns the ruleset's table, built on first use.
func ruleTableOf(rs *rules.Ruleset) *ruleTable {
	t := rs.Memo(tableKey{}, func() any {
		n := len(rs.Knockouts) + len(rs.Rules)
		t := &ruleTable{fired: make([]FiredRule, 0, n), firedJSON: make([][]byte, 0, n),
			static: make([]string, 0, n), hitJSON: make([][]byte, 0, n), knockouts: len(rs.Knockouts),
			missed: make([]MissedRule, len(rs.Rules)), missedJSON: make([][]byte, len(rs.Rules)),
			lacks: make([]atomic.Pointer[[]missedVariant], len(rs.Rules))}
		t.ref = RulesetRef{Name: rs.Name, Version: rs.Version}
		t.refJSON = appendRulesetRef(nil, t.ref)
		t.caps = make([]*rules.Group, len(rs.GroupNames))
		for i, name := range rs.GroupNames {
			if caps, ok := rs.Groups[name]; ok {
				t.caps[i] = &caps
			}
		}
		t.groups = slices.Sorted(slices.Values(rs.GroupNames))
		for i, g := range t.groups {
			var key []byte
			if i > 0 {
				key = append(key, ',')
			}
			key = append(appendString(key, g), ':')
			t.groupKeys = append(t.groupKeys, key)
		}
		for _, rule := range slices.Concat(rs.Knockouts, rs.Rules) {
			q := quickCondition{points: rule.Points, group: rule.GroupIndex}
			if req, fn, ok := rule.When.Quick(); ok {
				q.required, q.fn = req, fn
			}
			t.quick = append(t.quick, q)
		}
		for _, rule := range rs.ByPoints {
			t.byPoints = append(t.byPoints, rule.Index)
		}
		for _, rule := range rs.Knockouts {
			t.addFired(rule, FiredRule{Rule: rule.ID}) // a knockout's group and points say nothing
		}
		for _, rule := range rs.Rules {
			t.addFired(rule, FiredRule{Rule: rule.ID, Group: rule.Group, Points: rule.Points})
		}
		t.missedOf = make(map[string]int, len(rs.Rules))
		for i, rule := range rs.Rules {
			t.missedOf[rule.ID] = i
			t.missed[i] = MissedRule{Rule: rule.ID, Group: rule.Group, Points: rule.Points,
				Description: rule.Description, When: rule.When.Src}
			t.missedJSON[i] = appendMissedRule(nil, &t.missed[i])
		}
		return t
	}).(*ruleTable)
	if t.registered.CompareAndSwap(false, true) {
		// The newest table of a version is the one encoding uses: a reload
		// that leaves a ruleset as it was compiles it again, with the same
		// version, and the decisions of the old one, still in use, were
		// holding the new one's to the slow path for good.
		wp := weak.Make(t)
		ruleTables.Store(rs.Version, wp)
		lastTable.Store(t)
		runtime.AddCleanup(t, func(version string) { ruleTables.CompareAndDelete(version, wp) }, rs.Version)
	}
	return t
}

// lookupRuleTable returns the table of ruleset version, or nil when
// there is none (any more).
func lookupRuleTable(version string) *ruleTable {
	// Nearly every decision encoded is of the version live now: the last
	// table found answers without hashing the version again.
	if t := lastTable.Load(); t != nil && t.ref.Version == version {
		return t
	}
	if v, ok := ruleTables.Load(version); ok {
		t := v.(weak.Pointer[ruleTable]).Value()
		if t != nil {
			lastTable.Store(t)
		}
		return t
	}
	return nil
}

// lastTable is the table lookupRuleTable found last. It holds one table
// of an old version past a reload, until a decision of another is encoded.
var lastTable atomic.Pointer[ruleTable]

// indexIn returns the index of p in s, or -1 when p does not point into s
// (a Hit or Miss built by hand, or from a table of another engine with the
// same version).
func indexIn[T any](s []T, p *T) int {
	if len(s) == 0 || p == nil {
		return -1
	}
	base := uintptr(unsafe.Pointer(&s[0]))
	at := uintptr(unsafe.Pointer(p))
	size := unsafe.Sizeof(s[0])
	if at < base || at >= base+uintptr(len(s))*size || (at-base)%size != 0 {
		return -1
	}
	return int((at - base) / size)
}

func (t *ruleTable) addFired(rule *rules.Rule, f FiredRule) {
	t.fired = append(t.fired, f)
	t.firedJSON = append(t.firedJSON, appendFiredRule(nil, &f))
	static, ok := staticReason(rule)
	var enc []byte
	if ok {
		enc = appendHit(nil, &Hit{FiredRule: &f, Reason: static})
	}
	t.static, t.hitJSON = append(t.static, static), append(t.hitJSON, enc)
}

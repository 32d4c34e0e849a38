package engine

import (
	"math"
	"slices"
	"sync"

	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
)

// What a decision says of a rule it matched (id, group, points) or missed
// (those, its description and condition) is the same for every lead that
// matched or missed it. So the ruleset's table keeps each rule's Hit and
// Miss as a template that decide copies, and their JSON, built once, that
// the encoder writes when a decision's hit or miss still says what the
// template says: encoding them was most of AppendJSON's time (full
// decisions are 4-5 KB). Decisions share none of it: they hold copies, and
// the encoder compares before it uses what was built.

// ruleTable is what the decisions of one ruleset are built and encoded
// from: its hits, knockouts first, then score rules; and its misses, one
// per score rule (by Rule.Index); each with its JSON.
type ruleTable struct {
	ref       RulesetRef
	refJSON   []byte
	groups    []string      // the ruleset's group names, sorted as encoding/json sorts keys
	groupKeys [][]byte      // `"name":`, with a comma before all but the first
	caps      []*eval.Group // by group index (rules.Ruleset.GroupNames); nil when uncapped
	lo, hi    []int         // the caps by group index, as bounds: math.MinInt, math.MaxInt when uncapped

	// The rules' conditions as closures, and their points and groups, by
	// the index of hits (knockouts first): decide reads them side by side
	// instead of through each Rule. fn is nil for a condition that
	// Condition.Eval must decide.
	quick []quickCondition
	// The score rules of positive points by Rule.Index, in
	// rules.Ruleset.ByPoints' order.
	byPoints []int
	// The fields each score rule's condition needs, by Rule.Index: what it
	// lacks of them leaves it undecided (appendMissingNames).
	needs [][]int32

	hits      []Hit    // each rule's Hit, its Reason the static one (or "")
	firedJSON [][]byte // hits[i] as AppendJSON writes it, up to "reason":
	static    []bool   // whether hits[i].Reason is the rule's for every lead
	hitJSON   [][]byte // the whole hit when its reason is static; else nil
	knockouts int      // how many of hits are knockouts

	hitIndex map[string]int // a rule's id → its index in hits

	misses     []Miss   // each score rule's Miss, without MissingFields
	missedJSON [][]byte // misses[i] as AppendJSON writes it, up to its missing fields

	// The ruleset's field names, and each quoted as JSON, in declaration
	// order: missing fields are written from them (see fieldAt).
	fieldNames []string
	fieldJSON  []string
	fieldIndex map[string]int

	whatIf func() *whatIf // the counterfactual's options, built on first use
}

type quickCondition struct {
	required uint64
	fn       func(*eval.Row) bool
	points   int
	group    int // Rule.GroupIndex: -1 for none
}

// eval decides condition c of rule i (knockouts first, as hits) for a
// lead that has the fields in present.
func (t *ruleTable) eval(i int, c *eval.Condition, present uint64, m *vm.VM, r *eval.Row) (eval.Truth, error) {
	if q := &t.quick[i]; q.fn != nil && present&q.required == q.required {
		if q.fn(r) {
			return eval.True, nil
		}
		return eval.False, nil
	}
	return c.Eval(m, r)
}

// findHit returns the index in t.hits, within [from, to), of the hit that
// says what h says of its rule (id, group and points); -1 when there is
// none. Decisions list their hits in the rules' order, so it looks from
// *next on first, and then up the rule's id; *next moves past what it
// found.
func (t *ruleTable) findHit(h *Hit, from, to int, next *int) int {
	i := *next
	for i < to && t.hits[i].Rule != h.Rule {
		i++
	}
	if i == to {
		j, ok := t.hitIndex[h.Rule]
		if !ok || j < from || j >= to {
			return -1
		}
		i = j
	}
	*next = i + 1
	if x := &t.hits[i]; x.Group != h.Group || x.Points != h.Points {
		return -1
	}
	return i
}

// findMiss returns the Rule.Index of the score rule whose Miss says what m
// says, but for its missing fields; -1 when there is none. Decisions list
// their misses in t.byPoints' order, so it looks from *next (a position in
// byPoints) on first, and then up the rule's id.
func (t *ruleTable) findMiss(m *Miss, next *int) int {
	p := *next
	for p < len(t.byPoints) && t.misses[t.byPoints[p]].Rule != m.Rule {
		p++
	}
	var i int
	if p < len(t.byPoints) {
		i, *next = t.byPoints[p], p+1
	} else {
		j, ok := t.hitIndex[m.Rule]
		if !ok || j < t.knockouts {
			return -1
		}
		i = j - t.knockouts
	}
	if x := &t.misses[i]; x.Group != m.Group || x.Points != m.Points || x.Description != m.Description || x.When != m.When {
		return -1
	}
	return i
}

// fieldAt returns the index of field name in t.fieldNames; -1 when the
// ruleset has no such field. A decision lists its missing fields in
// declaration order, a few apart, so it looks at the next few from *next
// first; a missed rule lists its own in its condition's order, found by
// the map. *next moves past what it found. Names are compared, not their
// addresses: a decision is its caller's, who may put any string there.
func (t *ruleTable) fieldAt(name string, next *int) int {
	const ahead = 4
	for i := *next; i < min(*next+ahead, len(t.fieldNames)); i++ {
		if t.fieldNames[i] == name {
			*next = i + 1
			return i
		}
	}
	i, ok := t.fieldIndex[name]
	if !ok {
		return -1
	}
	*next = i + 1
	return i
}

// appendMissingNames appends the names of the fields that score rule i's
// condition needs and present lacks, in the condition's order, as
// Condition.AppendMissingNames does, in the table's own strings.
func (t *ruleTable) appendMissingNames(dst []string, i int, present eval.FieldSet) []string {
	for _, f := range t.needs[i] {
		if !present.Has(int(f)) {
			dst = append(dst, t.fieldNames[f])
		}
	}
	return dst
}

func newRuleTable(rs *rules.Ruleset) *ruleTable {
	n := len(rs.Knockouts) + len(rs.Rules)
	t := &ruleTable{
		ref:        RulesetRef{Name: rs.Name, Version: rs.Version},
		caps:       make([]*eval.Group, len(rs.GroupNames)),
		groups:     slices.Sorted(slices.Values(rs.GroupNames)),
		hits:       make([]Hit, 0, n),
		firedJSON:  make([][]byte, 0, n),
		static:     make([]bool, 0, n),
		hitJSON:    make([][]byte, 0, n),
		knockouts:  len(rs.Knockouts),
		hitIndex:   make(map[string]int, n),
		misses:     make([]Miss, len(rs.Rules)),
		missedJSON: make([][]byte, len(rs.Rules)),
	}
	t.refJSON = appendRulesetRef(nil, t.ref)
	t.fieldIndex = make(map[string]int, len(rs.Fields))
	for i, f := range rs.Fields {
		t.fieldNames = append(t.fieldNames, f.Name)
		t.fieldJSON = append(t.fieldJSON, string(appendString(nil, f.Name)))
		t.fieldIndex[f.Name] = i
	}
	t.whatIf = sync.OnceValue(func() *whatIf { return newWhatIf(rs) })
	t.lo, t.hi = make([]int, len(rs.GroupNames)), make([]int, len(rs.GroupNames))
	for i, name := range rs.GroupNames {
		t.lo[i], t.hi[i] = math.MinInt, math.MaxInt
		if caps, ok := rs.Groups[name]; ok {
			t.caps[i] = &caps
			if caps.Min != nil {
				t.lo[i] = *caps.Min
			}
			if caps.Max != nil {
				t.hi[i] = *caps.Max
			}
		}
	}
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
		if req, fn, ok := rule.When.Native(); ok {
			q.required, q.fn = req, fn
		}
		t.quick = append(t.quick, q)
	}
	for _, rule := range rs.ByPoints {
		t.byPoints = append(t.byPoints, rule.Index)
	}
	none := eval.NewFieldSet(len(rs.Fields))
	for _, rule := range rs.Rules {
		var needs []int32
		for _, f := range rule.When.Missing(none) {
			needs = append(needs, int32(f.Index))
		}
		t.needs = append(t.needs, needs)
	}
	for _, rule := range rs.Knockouts {
		t.addHit(rule, Hit{Rule: rule.ID}) // a knockout's group and points say nothing
	}
	for _, rule := range rs.Rules {
		t.addHit(rule, Hit{Rule: rule.ID, Group: rule.Group, Points: rule.Points})
	}
	for i, rule := range rs.Rules {
		t.misses[i] = Miss{Rule: rule.ID, Group: rule.Group, Points: rule.Points,
			Description: rule.Description, When: rule.When.Src}
		t.missedJSON[i] = appendMiss(nil, &t.misses[i])
	}
	return t
}

func (t *ruleTable) addHit(rule *eval.Rule, h Hit) {
	if _, dup := t.hitIndex[h.Rule]; !dup {
		t.hitIndex[h.Rule] = len(t.hits)
	}
	reason, static := staticReason(rule)
	var enc []byte
	if static {
		h.Reason = reason
		enc = appendHit(nil, &h)
	}
	t.hits = append(t.hits, h)
	t.firedJSON = append(t.firedJSON, appendHitRule(nil, &h))
	t.static, t.hitJSON = append(t.static, static), append(t.hitJSON, enc)
}

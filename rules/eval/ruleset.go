package eval

import (
	"sync"

	"github.com/leadq/leadq/rules/rulefile"
)

// Ruleset is a compiled ruleset: immutable, safe for concurrent use.
type Ruleset struct {
	Name        string
	Description string
	Version     string   // sha256: of its sorted file names and contents
	Files       []string // the files it was compiled from, sorted
	Sources     [][]byte // their contents, in Files' order: what Version hashes, kept so that a decision log can store a version once and recompile it
	Fields      []*Field // by name; Field.Index is the position here
	Knockouts   []*Rule  // in file order
	Rules       []*Rule  // score rules in file order
	Groups      map[string]Group
	Tiers       []Tier
	Qualify     *Condition // nil: qualified when in the first tier
	GroupNames  []string   // the groups score rules name, sorted; Rule.GroupIndex points here
	ByPoints    []*Rule    // positive score rules, most points first, then file order
	Tests       []*rulefile.TestDecl
	Warnings    rulefile.ErrorList // lint findings; they do not stop compilation

	fieldByName map[string]*Field
	ruleByID    map[string]*Rule
	slots       [rulefile.NumTypes]int // how many fields of each type, for Row
	byKey       [2]map[string]*Field   // lead, account
	byNamespace [2][]*Field            // lead, account; each in Fields' order
	memo        sync.Map               // see Memo
}

// Memo returns what build derives from the ruleset, built once per key.
// Packages built on rules keep there what is the same for every lead (the
// engine's static parts of decisions), so that it lives as long as the
// ruleset and a reload starts afresh.
func (rs *Ruleset) Memo(key any, build func() any) any {
	if v, ok := rs.memo.Load(key); ok {
		return v
	}
	v, _ := rs.memo.LoadOrStore(key, build())
	return v
}

// FieldByKey returns the declared field ns.key (ns is "lead" or "account"),
// or nil. It does not allocate, for decoders that see keys as bytes.
func (rs *Ruleset) FieldByKey(ns, key string) *Field {
	if ns == "account" {
		return rs.byKey[1][key]
	}
	return rs.byKey[0][key]
}

// FieldsOf returns the declared fields of namespace ns ("lead" or
// "account"), in declaration order: what a decoder of one namespace's
// values walks, without testing every field's namespace.
func (rs *Ruleset) FieldsOf(ns string) []*Field {
	if ns == "account" {
		return rs.byNamespace[1]
	}
	return rs.byNamespace[0]
}

// Field is a declared field.
type Field struct {
	Name      string // lead.employees
	Namespace string // lead or account
	Key       string // employees
	Type      rulefile.Type
	Index     int // position in Ruleset.Fields and in a FieldSet
	Slot      int // position among the fields of its type, in a Row
	Pos       rulefile.Pos
	Label     string // what a rep reads instead of Name; "" when the file gives none
	Unit      string // the unit of its values (USD); "" when the file gives none
}

// Title is what a rep reads for the field: its label, or its name when the
// rule file gives no label, followed by its unit when the file gives one
// ("Annual revenue (USD)"), so that the rep knows what value to ask for.
func (f *Field) Title() string {
	title := f.Name
	if f.Label != "" {
		title = f.Label
	}
	if f.Unit != "" {
		title += " (" + f.Unit + ")"
	}
	return title
}

// Rule is a compiled knockout or score rule.
type Rule struct {
	ID          string
	Knockout    bool
	Group       string
	Points      int
	Index       int // position in Ruleset.Rules (or Knockouts)
	GroupIndex  int // position of Group in Ruleset.GroupNames; -1 when ungrouped
	Description string
	When        *Condition
	Reason      *Template // nil when the rule has no reason:
	Pos         rulefile.Pos
}

// Group holds a group's caps; nil means uncapped on that side.
type Group struct {
	Min, Max *int
}

// Tier is a named score band; Min is nil for the last, catch-all tier.
type Tier struct {
	Name   string
	Min    *int
	Expect *float64 // the share of its leads expected to convert, when the file says
}

// Index builds the ruleset's lookups (fields by name and by key, rules by
// id, how many fields of each type a Row holds) from its exported fields.
// The compiler calls it once, when the ruleset is complete; a ruleset does
// not change afterwards.
func (rs *Ruleset) Index() {
	rs.fieldByName = make(map[string]*Field, len(rs.Fields))
	rs.byKey = [2]map[string]*Field{{}, {}}
	rs.byNamespace = [2][]*Field{}
	rs.slots = [rulefile.NumTypes]int{}
	for _, f := range rs.Fields {
		rs.fieldByName[f.Name] = f
		ns := 0
		if f.Namespace == "account" {
			ns = 1
		}
		rs.byKey[ns][f.Key] = f
		rs.byNamespace[ns] = append(rs.byNamespace[ns], f)
		if f.Type > 0 && int(f.Type) < len(rs.slots) {
			rs.slots[f.Type]++
		}
	}
	rs.ruleByID = make(map[string]*Rule, len(rs.Knockouts)+len(rs.Rules))
	for _, list := range [][]*Rule{rs.Knockouts, rs.Rules} {
		for _, r := range list {
			rs.ruleByID[r.ID] = r
		}
	}
}

// Field returns the field with the given full name, or nil.
func (rs *Ruleset) Field(name string) *Field { return rs.fieldByName[name] }

// Rule returns the knockout or score rule with the given id, or nil.
func (rs *Ruleset) Rule(id string) *Rule { return rs.ruleByID[id] }

// TierExpect returns the expect of the named tier: the share of its leads
// expected to convert; 0 when the tier states none.
func (rs *Ruleset) TierExpect(name string) float64 {
	for _, t := range rs.Tiers {
		if t.Name == name && t.Expect != nil {
			return *t.Expect
		}
	}
	return 0
}

// TierFor returns the first tier whose min the score reaches.
func (rs *Ruleset) TierFor(score int) string {
	for _, t := range rs.Tiers {
		if t.Min == nil || score >= *t.Min {
			return t.Name
		}
	}
	return ""
}

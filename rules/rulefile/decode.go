package rulefile

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// File is one decoded rule file. Every element keeps its position so that
// later stages can report problems against the source.
type File struct {
	Name        string // the path the file is reported under
	Src         []byte
	Ruleset     Text
	Description Text
	Fields      []*FieldDecl
	Lists       []*ListDecl
	Macros      []*MacroDecl
	Knockouts   []*RuleDecl
	Score       []*RuleDecl
	Groups      []*GroupDecl
	Tiers       []*TierDecl
	TiersPos    Pos
	Qualify     *Text
	Tests       []*TestDecl

	lines   []string // source lines, for snippets and block-scalar indents
	broken  bool     // Parse reported errors: what was decoded is partial
	notYAML bool     // the file is not valid YAML: nothing was decoded
}

// NotYAML reports whether the file is not valid YAML, so that nothing of
// it was decoded but Ruleset, when a top-level ruleset: line names it. The
// compiler then leaves that ruleset alone: its other files, missing this
// one, would only report the echoes of its absence.
func (f *File) NotYAML() bool { return f.notYAML }

// Broken reports whether Parse found errors in the file, so that what was
// decoded is partial.
func (f *File) Broken() bool { return f.broken }

// Text is a scalar value with where it came from. Style and the file's lines
// let expression errors be mapped back to a column in the file.
type Text struct {
	Value string
	Pos   Pos
	Style yaml.Style
	// Comment is a comment YAML found after a plain (unquoted) value on its
	// line. In an expression it is often not meant as one: a # after a
	// space (expr's predicate placeholder) starts a YAML comment, and the
	// compiler then suggests quoting the expression.
	Comment string
}

// FieldDecl declares one field rules may read, such as lead.employees: int.
type FieldDecl struct {
	Name string
	Type Type
	Pos  Pos
	// Label and Unit come from the long form
	// lead.annual_revenue: {type: float, label: Annual revenue, unit: USD}:
	// what a rep reads instead of the field's name, and the unit of its
	// values. Both are "" in the short form.
	Label string
	Unit  string
}

// fieldKeys are the keys of a field's long form, in fmt's order.
var fieldKeys = []string{"type", "label", "unit"}

// ListDecl is a named constant list of strings or numbers.
type ListDecl struct {
	Name   string
	Values []any // string, int or float64, all of one kind
	Pos    Pos
}

// MacroDecl is a named boolean condition.
type MacroDecl struct {
	Name string
	Expr Text
	Pos  Pos
}

// RuleDecl is one knockout or score rule as written.
type RuleDecl struct {
	Knockout    bool
	ID          string
	Group       string
	GroupPos    Pos
	When        Text
	Points      int
	PointsPos   Pos
	Reason      *Text
	Description string
	Pos         Pos // position of the id
	ItemPos     Pos // position of the list item
}

// GroupDecl caps a group's total.
type GroupDecl struct {
	Name     string
	Min, Max *int
	Pos      Pos
}

// TierDecl is one tier; Min is nil for the catch-all last tier.
type TierDecl struct {
	Name   string
	Min    *int
	Expect *float64 // the share of leads in the tier expected to convert, 0 to 1
	Pos    Pos
}

// TestDecl is one case of a ruleset's own tests.
type TestDecl struct {
	Name    string
	Pos     Pos
	Now     *time.Time
	Lead    map[string]any
	Account map[string]any
	LeadPos map[string]Pos // key -> position, for unknown-field errors
	AcctPos map[string]Pos
	Expect  Expect
}

// Expect is what a test case expects of the decision; nil means "not checked".
type Expect struct {
	Tier       *string
	Qualified  *bool
	Score      *int
	ScoreMin   *int
	ScoreMax   *int
	Knockouts  []string
	Matched    []string
	NotMatched []string
	// MissingFields and Warnings are exact sets of field names (the
	// decision's missing_fields, and the fields its input warnings name);
	// Groups checks the listed groups' totals after caps.
	MissingFields []string
	Warnings      []string
	Groups        map[string]int
	Pos           Pos
	RefPos        map[string]Pos // rule id or tier name -> where the test names it
}

// Type is the declared type of a field. What each type means at run time
// (its storage, conversion, formatting, expr type, native reads) is one
// row of package eval's table; here a type is its name.
type Type int

const (
	TypeString Type = iota + 1
	TypeInt
	TypeFloat
	TypeBool
	TypeDate
	TypeList
	NumTypes // one past the last type, for tables indexed by Type
)

// typeNames are the names fields: declares types with, by Type.
var typeNames = [NumTypes]string{
	TypeString: "string", TypeInt: "int", TypeFloat: "float",
	TypeBool: "bool", TypeDate: "date", TypeList: "list",
}

// String returns the type's name as written in fields:.
func (t Type) String() string {
	if t > 0 && t < NumTypes {
		return typeNames[t]
	}
	return "invalid"
}

// typeNamed returns the type with the given name, or 0.
func typeNamed(name string) (Type, bool) {
	for t := TypeString; t < NumTypes; t++ {
		if typeNames[t] == name {
			return t, true
		}
	}
	return 0, false
}

// decoder walks the YAML node tree of one file and collects every problem
// instead of stopping at the first.
type decoder struct {
	f    *File
	errs ErrorList
	said map[Error]bool // each error once: aliases can bring one node to the decoder more than once
}

// Parse decodes one rule file. It returns the File even when there are
// errors, so that as much as possible can be checked in one pass; the error
// is an ErrorList.
func Parse(name string, src []byte) (*File, error) {
	f := &File{Name: name, Src: src, lines: strings.Split(string(src), "\n")}
	d := &decoder{f: f}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			d.errorf(Pos{File: name, Line: 1, Col: 1}, "missing-key", "empty file (a rule file needs at least ruleset:)")
			return f, d.errs
		}
		d.errs = append(d.errs, d.yamlError(err))
		f.broken, f.notYAML = true, true
		f.Ruleset = rulesetLine(f.lines, name)
		return f, d.errs
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(d.pos(&extra), "yaml-syntax", "a rule file holds one YAML document (remove the second ---)")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.file(root)
	if len(d.errs) > 0 {
		f.broken = true
		d.errs.Sort()
		return f, d.errs
	}
	return f, nil
}

func (d *decoder) pos(n *yaml.Node) Pos {
	return Pos{File: d.f.Name, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(pos Pos, code, format string, args ...any) {
	e := Error{Pos: pos, Code: code, Msg: fmt.Sprintf(format, args...)}
	if d.said[e] {
		return
	}
	if d.said == nil {
		d.said = map[Error]bool{}
	}
	d.said[e] = true
	d.errs = append(d.errs, &e)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return fmt.Sprintf("%q", n.Value)
}

// mapping iterates the key/value pairs of a mapping node, reporting a
// non-mapping as subject's error. Aliases are resolved.
func (d *decoder) mapping(n *yaml.Node, subject string, fn func(key, val *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			return
		}
		d.errorf(d.pos(n), "bad-value", "%s: expected a mapping, found %s", subject, kindName(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			d.mapping(v, subject, fn)
			continue
		}
		fn(k, v)
	}
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// resolveAt is resolve, at the alias: what is wrong with an aliased node
// where an alias puts it is reported where the alias is, not at the
// anchor (a list of aliases of a list said so nine times at the anchor).
func resolveAt(n *yaml.Node) *yaml.Node {
	r := resolve(n)
	if r == n {
		return n
	}
	at := *r
	at.Line, at.Column = n.Line, n.Column
	return &at
}

func (d *decoder) sequence(n *yaml.Node, subject string, fn func(item *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		if n.Tag == "!!null" {
			return
		}
		d.errorf(d.pos(n), "bad-value", "%s: expected a list, found %s", subject, kindName(n))
		return
	}
	for _, it := range n.Content {
		fn(resolveAt(it))
	}
}

func (d *decoder) unknownKey(k *yaml.Node, subject string, known []string) {
	d.errorf(d.pos(k), "unknown-key", "%s: unknown key %q%s", subject, k.Value, DidYouMean(k.Value, known))
}

// text decodes a scalar that must be a string (numbers and booleans are
// accepted as their text, because YAML authors rarely quote them).
func (d *decoder) text(n *yaml.Node, subject string) (Text, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(d.pos(n), "bad-value", "%s: expected a string, found %s", subject, kindName(n))
		return Text{}, false
	}
	t := Text{Value: n.Value, Pos: d.pos(n), Style: n.Style}
	if n.Style == 0 && n.LineComment != "" && d.sameLine(n) {
		t.Comment = n.LineComment
	}
	return t, true
}

// sameLine reports whether a plain scalar's line comment follows it on its
// own line (yaml.v3 also gives a scalar the comment of a line that ends
// the block it closes).
func (d *decoder) sameLine(n *yaml.Node) bool {
	if n.Line < 1 || n.Line > len(d.f.lines) {
		return false
	}
	line := d.f.lines[n.Line-1]
	return strings.Contains(line, n.Value) && strings.Contains(line, n.LineComment)
}

func (d *decoder) integer(n *yaml.Node, subject string) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err == nil && v >= math.MinInt32 && v <= math.MaxInt32 {
			return int(v), true
		}
	}
	d.errorf(d.pos(n), "bad-value", "%s: expected a whole number, found %s", subject, kindName(n))
	return 0, false
}

// rate reads a share from 0 to 1, such as a tier's expected conversion.
func (d *decoder) rate(n *yaml.Node, subject string) (float64, bool) {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!float" || n.Tag == "!!int") {
		f, err := strconv.ParseFloat(n.Value, 64)
		if err == nil && f >= 0 && f <= 1 {
			return f, true
		}
	}
	d.errorf(d.pos(n), "bad-value", "%s: expected a share from 0 to 1 (0.85 for 85%%), found %s", subject, kindName(n))
	return 0, false
}

func (d *decoder) boolean(n *yaml.Node, subject string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	d.errorf(d.pos(n), "bad-value", "%s: expected true or false, found %s", subject, kindName(n))
	return false, false
}

func (d *decoder) stringList(n *yaml.Node, subject string) []string {
	out := []string{}
	if s := resolve(n); s.Kind == yaml.ScalarNode && s.Tag != "!!null" {
		// A single id is accepted for a one-element list.
		return []string{s.Value}
	}
	d.sequence(n, subject, func(it *yaml.Node) {
		if t, ok := d.text(it, subject); ok {
			out = append(out, t.Value)
		}
	})
	return out
}

var fileKeys = []string{"ruleset", "description", "fields", "lists", "macros", "knockouts", "score", "groups", "tiers", "qualify", "tests"}

func (d *decoder) file(root *yaml.Node) {
	f := d.f
	if root.Kind != yaml.MappingNode {
		if root.Kind == 0 || root.Tag == "!!null" {
			d.errorf(Pos{File: f.Name, Line: 1, Col: 1}, "missing-key", "empty file (a rule file needs at least ruleset:)")
			return
		}
		d.errorf(d.pos(root), "bad-value", "a rule file is a mapping with ruleset:, fields:, score: ..., found %s", kindName(root))
		return
	}
	seen := map[string]bool{}
	d.mapping(root, "file", func(k, v *yaml.Node) {
		if seen[k.Value] {
			d.errorf(d.pos(k), "duplicate-id", "key %q appears twice in this file", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "ruleset":
			if t, ok := d.text(v, "ruleset"); ok {
				f.Ruleset = t
				if !kebabRe.MatchString(t.Value) {
					d.errorf(t.Pos, "bad-id", "ruleset name %q must be kebab-case, like b2b-saas", t.Value)
				}
			}
		case "description":
			if t, ok := d.text(v, "description"); ok {
				f.Description = t
			}
		case "fields":
			d.fields(v)
		case "lists":
			d.lists(v)
		case "macros":
			d.macros(v)
		case "knockouts":
			d.sequence(v, "knockouts", func(it *yaml.Node) { d.rule(it, true) })
		case "score":
			d.sequence(v, "score", func(it *yaml.Node) { d.rule(it, false) })
		case "groups":
			d.groups(v)
		case "tiers":
			f.TiersPos = d.pos(k)
			d.sequence(v, "tiers", d.tier)
		case "qualify":
			if t, ok := d.text(v, "qualify"); ok {
				f.Qualify = &t
			}
		case "tests":
			d.sequence(v, "tests", d.test)
		default:
			d.unknownKey(k, "file", fileKeys)
		}
	})
	if !seen["ruleset"] {
		d.errorf(d.pos(root), "missing-key", "missing ruleset: (name the ruleset this file belongs to, like ruleset: b2b-saas)")
	}
}

var (
	kebabRe    = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	identRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	fieldKeyRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

func (d *decoder) fields(n *yaml.Node) {
	d.mapping(n, "fields", d.field)
}

// field decodes one declaration of fields:, `lead.name: type`. The value
// is decoded by fieldType alone, so that a richer form (a mapping with a
// type and more) changes that one call.
func (d *decoder) field(k, v *yaml.Node) {
	pos := d.pos(k)
	ns, key, ok := strings.Cut(k.Value, ".")
	switch {
	case !ok || (ns != "lead" && ns != "account"):
		d.errorf(pos, "bad-field", "field %q: name must start with lead. or account. (like lead.%s)", k.Value, k.Value)
		return
	case !fieldKeyRe.MatchString(key):
		d.errorf(pos, "bad-field", "field %q: %q must be snake_case letters, digits and _", k.Value, key)
		return
	}
	decl := &FieldDecl{Name: k.Value, Pos: pos}
	if !d.fieldType(v, decl) {
		return
	}
	d.f.Fields = append(d.f.Fields, decl)
}

// fieldType decodes a field's type into decl; false when the declaration
// is to be dropped. An unknown type is reported and the field still
// declared, untyped, so that rules reading it do not each report an
// unknown field.
func (d *decoder) fieldType(v *yaml.Node, decl *FieldDecl) bool {
	subject := "field " + strconv.Quote(decl.Name)
	if v.Kind == yaml.MappingNode {
		var typ *yaml.Node
		d.mapping(v, subject, func(k, val *yaml.Node) {
			switch k.Value {
			case "type":
				typ = val
			case "label", "unit":
				t, ok := d.text(val, subject+": "+k.Value)
				if !ok {
					return
				}
				if strings.TrimSpace(t.Value) == "" {
					d.errorf(t.Pos, "bad-value", "%s: %s is empty (leave it out instead)", subject, k.Value)
					return
				}
				if k.Value == "label" {
					decl.Label = t.Value
				} else {
					decl.Unit = t.Value
				}
			default:
				d.unknownKey(k, subject, fieldKeys)
			}
		})
		if typ == nil {
			d.errorf(d.pos(v), "missing-key", "%s: type: is required (write {type: string, label: ...})", subject)
			return false
		}
		v = typ
	}
	t, ok := d.text(v, subject)
	if !ok {
		return false
	}
	typ, ok := typeNamed(t.Value)
	if !ok {
		d.errorf(t.Pos, "bad-field", "field %q: unknown type %q (use %s or %s)%s",
			decl.Name, t.Value, strings.Join(typeNames[1:NumTypes-1], ", "), typeNames[NumTypes-1], typeHint(t.Value))
	}
	decl.Type = typ
	return true
}

func (d *decoder) lists(n *yaml.Node) {
	d.mapping(n, "lists", func(k, v *yaml.Node) {
		subject := fmt.Sprintf("list %q", k.Value)
		if !identRe.MatchString(k.Value) {
			d.errorf(d.pos(k), "bad-id", "%s: name must be letters, digits and _, like target_industries", subject)
			return
		}
		l := &ListDecl{Name: k.Value, Pos: d.pos(k), Values: []any{}}
		var kind string
		d.sequence(v, subject, func(it *yaml.Node) {
			if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
				d.errorf(d.pos(it), "bad-value", "%s: expected strings or numbers, found %s", subject, kindName(it))
				return
			}
			var val any
			k := "string"
			switch it.Tag {
			case "!!int":
				i, err := strconv.ParseInt(strings.ReplaceAll(it.Value, "_", ""), 0, 64)
				if err != nil {
					d.errorf(d.pos(it), "bad-value", "%s: %q is out of range", subject, it.Value)
					return
				}
				val, k = int(i), "number"
			case "!!float":
				var fv float64
				if err := it.Decode(&fv); err != nil {
					d.errorf(d.pos(it), "bad-value", "%s: %q is not a number", subject, it.Value)
					return
				}
				val, k = fv, "number"
			default:
				val = it.Value
			}
			if kind == "" {
				kind = k
			} else if kind != k {
				d.errorf(d.pos(it), "bad-value", "%s: mixes strings and numbers (quote %q if it is a string)", subject, it.Value)
				return
			}
			l.Values = append(l.Values, val)
		})
		d.f.Lists = append(d.f.Lists, l)
	})
}

func (d *decoder) macros(n *yaml.Node) {
	d.mapping(n, "macros", func(k, v *yaml.Node) {
		subject := fmt.Sprintf("macro %q", k.Value)
		if !identRe.MatchString(k.Value) {
			d.errorf(d.pos(k), "bad-id", "%s: name must be letters, digits and _, like decision_maker", subject)
			return
		}
		if t, ok := d.text(v, subject); ok {
			d.f.Macros = append(d.f.Macros, &MacroDecl{Name: k.Value, Expr: t, Pos: d.pos(k)})
		}
	})
}

var (
	knockoutKeys = []string{"id", "when", "reason", "description"}
	scoreKeys    = []string{"id", "group", "when", "points", "reason", "description"}
)

func (d *decoder) rule(n *yaml.Node, knockout bool) {
	r := &RuleDecl{Knockout: knockout, ItemPos: d.pos(n)}
	kind, keys := "score rule", scoreKeys
	if knockout {
		kind, keys = "knockout", knockoutKeys
	}
	subject := func() string {
		if r.ID == "" {
			return kind
		}
		return fmt.Sprintf("%s %q", kind, r.ID)
	}
	// Read the id first so that every other message can name the rule.
	if m := resolve(n); m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "id" {
				if t, ok := d.text(resolve(m.Content[i+1]), kind+" id"); ok {
					r.ID, r.Pos = t.Value, t.Pos
					if !kebabRe.MatchString(t.Value) {
						d.errorf(t.Pos, "bad-id", "%s id %q must be kebab-case, like %s", kind, t.Value, toKebab(t.Value))
					}
				}
			}
		}
	}
	seen := map[string]bool{}
	d.mapping(n, kind, func(k, v *yaml.Node) {
		seen[k.Value] = true
		switch k.Value {
		case "id":
		case "group":
			if knockout {
				d.unknownKey(k, subject(), keys)
				return
			}
			if t, ok := d.text(v, subject()+": group"); ok {
				r.Group, r.GroupPos = t.Value, t.Pos
				if !identRe.MatchString(t.Value) {
					d.errorf(t.Pos, "bad-id", "%s: group %q must be letters, digits and _", subject(), t.Value)
				}
			}
		case "when":
			if t, ok := d.text(v, subject()+": when"); ok {
				r.When = t
			}
		case "points":
			if knockout {
				d.errorf(d.pos(k), "unknown-key", "%s: knockouts have no points (a knockout rejects the lead whatever its score; move it to score: to add points)", subject())
				return
			}
			if p, ok := d.integer(v, subject()+": points"); ok {
				r.Points, r.PointsPos = p, d.pos(v)
				if p == 0 {
					d.errorf(d.pos(v), "bad-value", "%s: points must not be 0 (use a positive number to reward, negative to penalise)", subject())
				}
			}
		case "reason":
			if t, ok := d.text(v, subject()+": reason"); ok {
				r.Reason = &t
			}
		case "description":
			if t, ok := d.text(v, subject()+": description"); ok {
				r.Description = t.Value
			}
		default:
			d.unknownKey(k, subject(), keys)
		}
	})
	if resolve(n).Kind != yaml.MappingNode {
		return
	}
	if !seen["id"] {
		d.errorf(r.ItemPos, "missing-key", "%s: missing id: (give every rule a kebab-case id)", kind)
	}
	if !seen["when"] {
		d.errorf(r.ItemPos, "missing-key", "%s: missing when: (the condition under which it fires)", subject())
	}
	if !knockout && !seen["points"] {
		d.errorf(r.ItemPos, "missing-key", "%s: missing points:", subject())
	}
	if knockout && !seen["reason"] {
		d.errorf(r.ItemPos, "missing-key", "%s: missing reason: (reps see it when a lead is rejected)", subject())
	}
	if knockout {
		d.f.Knockouts = append(d.f.Knockouts, r)
	} else {
		d.f.Score = append(d.f.Score, r)
	}
}

func (d *decoder) groups(n *yaml.Node) {
	d.mapping(n, "groups", func(k, v *yaml.Node) {
		subject := fmt.Sprintf("group %q", k.Value)
		g := &GroupDecl{Name: k.Value, Pos: d.pos(k)}
		d.mapping(v, subject, func(kk, vv *yaml.Node) {
			switch kk.Value {
			case "max", "min":
				p, ok := d.integer(vv, subject+": "+kk.Value)
				if !ok {
					return
				}
				if kk.Value == "max" {
					g.Max = &p
				} else {
					g.Min = &p
				}
			default:
				d.unknownKey(kk, subject, []string{"max", "min"})
			}
		})
		if g.Min != nil && g.Max != nil && *g.Min > *g.Max {
			d.errorf(g.Pos, "bad-value", "%s: min %d is above max %d", subject, *g.Min, *g.Max)
		}
		d.f.Groups = append(d.f.Groups, g)
	})
}

func (d *decoder) tier(n *yaml.Node) {
	t := &TierDecl{Pos: d.pos(n)}
	seenName := false
	d.mapping(n, "tier", func(k, v *yaml.Node) {
		switch k.Value {
		case "name":
			if s, ok := d.text(v, "tier name"); ok {
				t.Name, t.Pos, seenName = s.Value, s.Pos, true
			}
		case "min":
			if p, ok := d.integer(v, "tier min"); ok {
				t.Min = &p
			}
		case "expect":
			if f, ok := d.rate(v, "tier expect"); ok {
				t.Expect = &f
			}
		default:
			d.unknownKey(k, "tier", tierKeys)
		}
	})
	if resolve(n).Kind == yaml.MappingNode && !seenName {
		d.errorf(t.Pos, "missing-key", "tier: missing name:")
		return
	}
	d.f.Tiers = append(d.f.Tiers, t)
}

var (
	testKeys   = []string{"name", "now", "lead", "account", "expect"}
	expectKeys = []string{"tier", "qualified", "score", "score_min", "score_max", "groups", "knockouts", "matched", "not_matched", "missing_fields", "warnings"}
)

func (d *decoder) test(n *yaml.Node) {
	tc := &TestDecl{Pos: d.pos(n), LeadPos: map[string]Pos{}, AcctPos: map[string]Pos{}}
	tc.Expect.RefPos = map[string]Pos{}
	if m := resolve(n); m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "name" {
				tc.Name = m.Content[i+1].Value
			}
		}
	}
	subject := fmt.Sprintf("test %q", tc.Name)
	d.mapping(n, "test", func(k, v *yaml.Node) {
		switch k.Value {
		case "name":
			d.text(v, "test name")
		case "now":
			t, ok := d.text(v, subject+": now")
			if !ok {
				return
			}
			now, err := ParseDate(t.Value)
			if err != nil {
				d.errorf(t.Pos, "bad-value", "%s: now: %q is not a date (use 2026-11-01 or 2026-11-01T09:00:00Z)", subject, t.Value)
				return
			}
			tc.Now = &now
		case "lead", "account":
			vals, poss := map[string]any{}, tc.LeadPos
			if k.Value == "account" {
				poss = tc.AcctPos
			}
			d.mapping(v, subject+": "+k.Value, func(kk, vv *yaml.Node) {
				var x any
				if err := vv.Decode(&x); err != nil {
					d.errorf(d.pos(vv), "bad-value", "%s: %s.%s: %v", subject, k.Value, kk.Value, err)
					return
				}
				if tm, ok := x.(time.Time); ok { // YAML timestamps stay dates in text form
					x = tm.Format(time.RFC3339)
				}
				vals[kk.Value] = x
				poss[kk.Value] = d.pos(kk)
			})
			if k.Value == "lead" {
				tc.Lead = vals
			} else {
				tc.Account = vals
			}
		case "expect":
			tc.Expect.Pos = d.pos(k)
			d.expect(v, subject, &tc.Expect)
		default:
			d.unknownKey(k, subject, testKeys)
		}
	})
	if resolve(n).Kind != yaml.MappingNode {
		return
	}
	if tc.Name == "" {
		d.errorf(tc.Pos, "missing-key", "test: missing name: (say what the case shows)")
	}
	d.f.Tests = append(d.f.Tests, tc)
}

func (d *decoder) expect(n *yaml.Node, subject string, e *Expect) {
	ids := func(v *yaml.Node, key string) []string {
		out := d.stringList(v, subject+": expect: "+key)
		switch s := resolve(v); s.Kind {
		case yaml.SequenceNode: // stringList reported anything else
			d.sequence(s, "", func(it *yaml.Node) { e.RefPos[key+":"+it.Value] = d.pos(it) })
		case yaml.ScalarNode:
			e.RefPos[key+":"+s.Value] = d.pos(s)
		}
		return out
	}
	d.mapping(n, subject+": expect", func(k, v *yaml.Node) {
		switch k.Value {
		case "tier":
			if t, ok := d.text(v, subject+": expect: tier"); ok {
				e.Tier = &t.Value
				e.RefPos["tier:"+t.Value] = t.Pos
			}
		case "qualified":
			if b, ok := d.boolean(v, subject+": expect: qualified"); ok {
				e.Qualified = &b
			}
		case "score", "score_min", "score_max":
			p, ok := d.integer(v, subject+": expect: "+k.Value)
			if !ok {
				return
			}
			switch k.Value {
			case "score":
				e.Score = &p
			case "score_min":
				e.ScoreMin = &p
			default:
				e.ScoreMax = &p
			}
		case "knockouts":
			e.Knockouts = ids(v, "knockouts")
		case "matched":
			e.Matched = ids(v, "matched")
		case "not_matched":
			e.NotMatched = ids(v, "not_matched")
		case "missing_fields":
			e.MissingFields = ids(v, "missing_fields")
		case "warnings":
			e.Warnings = ids(v, "warnings")
		case "groups":
			e.Groups = map[string]int{}
			d.mapping(v, subject+": expect: groups", func(gk, gv *yaml.Node) {
				if p, ok := d.integer(gv, subject+": expect: groups: "+gk.Value); ok {
					e.Groups[gk.Value] = p
					e.RefPos["groups:"+gk.Value] = d.pos(gk)
				}
			})
		default:
			d.unknownKey(k, subject+": expect", expectKeys)
		}
	})
}

// ParseDate accepts the date forms leadq reads: 2006-01-02, RFC 3339 with or
// without fractional seconds, and 2006-01-02 15:04:05.
func ParseDate(s string) (time.Time, error) {
	if len(s) == len("2006-01-02") {
		if t, ok := parseISODate(s); ok {
			return t, nil
		}
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t, nil
		}
	} else if len(s) > 10 && s[10] == 'T' {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02", time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}

// parseISODate reads the date form leads carry most, YYYY-MM-DD, as
// time.Parse("2006-01-02", s) does, in a tenth of its time; ok is false
// for anything else, which the caller leaves to time.Parse.
func parseISODate(s string) (t time.Time, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i] - '0'
			if c > 9 {
				return 0, false
			}
			n = n*10 + int(c)
		}
		return n, true
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int(m-1)%7%2
}

func toKebab(s string) string {
	s = strings.ToLower(strings.NewReplacer("_", "-", " ", "-", ".", "-").Replace(s))
	return strings.Trim(s, "-")
}

// typeHint suggests the leadq type for a misspelt one or a name other
// languages use ("integer", "boolean").
func typeHint(s string) string {
	aliases := map[string]string{
		"integer": "int", "number": "float", "double": "float", "decimal": "float", "boolean": "bool",
		"text": "string", "str": "string", "datetime": "date", "timestamp": "date", "time": "date",
		"array": "list", "strings": "list", "[]string": "list",
	}
	if t, ok := aliases[strings.ToLower(s)]; ok {
		return fmt.Sprintf(" (did you mean %s?)", t)
	}
	return DidYouMean(s, typeNames[1:])
}

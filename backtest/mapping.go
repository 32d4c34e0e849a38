package backtest

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/leadq/leadq/internal/tabular"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
	"gopkg.in/yaml.v3"
)

// Mapping says how the columns of a data file feed a ruleset's fields. A
// field the mapping does not name reads the column whose normalised name
// (lower case, runs of other characters as _) is the field's key or full
// name, so "Total Time Spent on Website" feeds lead.total_time_spent_on_website.
//
// The file form, for --map FILE:
//
//	id: Prospect ID               # column with the lead id (optional)
//	outcome: Converted=1          # COLUMN[=VALUE|VALUE...] (optional; --outcome wins)
//	negative: [Lost]              # outcome values that mean "did not convert"; other values are skipped
//	missing: ["", Select]         # values that mean "no data" (default: the empty value)
//	fields:                       # field: column
//	  lead.employees: Employees
type Mapping struct {
	Fields   map[string]string // field name -> column
	Missing  []string          // nil means the empty value only
	ID       string
	Outcome  string
	Negative []string
	Pos      map[string]rules.Pos // field name -> where the mapping file names it
}

var mappingKeys = []string{"id", "outcome", "negative", "missing", "fields"}

// ParseMapping decodes a mapping file. The error, when not nil, is a
// rules.ErrorList whose entries point into the file.
func ParseMapping(name string, src []byte) (*Mapping, error) {
	m := &Mapping{Fields: map[string]string{}, Pos: map[string]rules.Pos{}}
	var errs rules.ErrorList
	pos := func(n *yaml.Node) rules.Pos { return rules.Pos{File: name, Line: n.Line, Col: n.Column} }
	errorf := func(n *yaml.Node, code, format string, args ...any) {
		p := rules.Pos{File: name, Line: 1, Col: 1}
		if n != nil {
			p = pos(n)
		}
		errs = append(errs, &rules.Error{Pos: p, Code: code, Msg: fmt.Sprintf(format, args...)})
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return m, nil // an empty mapping maps by name
		}
		p := rules.Pos{File: name, Line: 1, Col: 1}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if sm := yamlLineRe.FindStringSubmatch(msg); sm != nil {
			p.Line, _ = strconv.Atoi(sm[1])
			msg = sm[2]
		}
		// yaml.v3 counts a lone \r as a line break and may report the line
		// after the last; keep the position inside the file.
		p.Line = max(1, min(p.Line, yamlLines(src)))
		return nil, rules.ErrorList{{Pos: p, Code: "yaml-syntax", Msg: msg}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return m, nil
	}
	if root.Kind != yaml.MappingNode {
		errorf(root, "bad-value", "a mapping file is a mapping with fields:, missing:, id: and outcome:")
		return nil, errs
	}
	scalar := func(n *yaml.Node, subject string) (string, bool) {
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			errorf(n, "bad-value", "%s: expected a text value", subject)
			return "", false
		}
		return n.Value, true
	}
	list := func(n *yaml.Node, subject string) []string {
		if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
			return []string{n.Value}
		}
		if n.Kind != yaml.SequenceNode {
			errorf(n, "bad-value", "%s: expected a list of values, like [\"\", Select]", subject)
			return nil
		}
		out := []string{}
		for _, it := range n.Content {
			if s, ok := scalar(it, subject); ok {
				out = append(out, s)
			}
		}
		return out
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			errorf(k, "duplicate-id", "key %q appears twice", k.Value)
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "id":
			m.ID, _ = scalar(v, "id")
		case "outcome":
			if s, ok := scalar(v, "outcome"); ok {
				if _, err := ParseOutcome(s); err != nil {
					errorf(v, "bad-value", "outcome: %v", err)
				}
				m.Outcome = s
			}
		case "negative":
			m.Negative = list(v, "negative")
		case "missing":
			m.Missing = list(v, "missing")
		case "fields":
			if v.Kind != yaml.MappingNode {
				if v.Tag != "!!null" {
					errorf(v, "bad-value", "fields: expected field: column pairs, like lead.employees: Employees")
				}
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				fk, fv := v.Content[j], v.Content[j+1]
				if err := checkFieldName(fk.Value); err != nil {
					errorf(fk, "bad-field", "fields: %v", err)
					continue
				}
				if _, dup := m.Fields[fk.Value]; dup {
					errorf(fk, "duplicate-id", "fields: %s mapped twice", fk.Value)
					continue
				}
				if col, ok := scalar(fv, "fields: "+fk.Value); ok {
					m.Fields[fk.Value] = col
					m.Pos[fk.Value] = pos(fk)
				}
			}
		default:
			errorf(k, "unknown-key", "unknown key %q%s", k.Value, rulefile.DidYouMean(k.Value, mappingKeys))
		}
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return m, nil
}

// yamlLines counts lines as YAML does: \n, \r\n and a lone \r end a line.
func yamlLines(src []byte) int {
	n := 1
	for i, c := range src {
		if c == '\n' || (c == '\r' && (i+1 == len(src) || src[i+1] != '\n')) {
			n++
		}
	}
	return n
}

var yamlLineRe = regexp.MustCompile(`^line (\d+): (.*)$`)

var fieldNameRe = regexp.MustCompile(`^(lead|account)\.[a-z_][a-z0-9_]*$`)

func checkFieldName(name string) error {
	if !fieldNameRe.MatchString(name) {
		return fmt.Errorf("%q is not a field name (write lead.x or account.x, snake_case)", name)
	}
	return nil
}

// ParseMapFlag reads a --map value, "lead.employees=Employees": a field
// name, '=', and the column (which may hold spaces and '=').
func ParseMapFlag(s string) (field, column string, err error) {
	field, column, ok := strings.Cut(s, "=")
	field = strings.TrimSpace(field)
	if !ok || column == "" {
		return "", "", fmt.Errorf("--map %q: expected FIELD=COLUMN, like lead.employees=Employees", s)
	}
	if err := checkFieldName(field); err != nil {
		return "", "", fmt.Errorf("--map %q: %w", s, err)
	}
	return field, column, nil
}

// Normalise turns a column name into the snake_case key it feeds by
// default: "Total Time Spent on Website" -> "total_time_spent_on_website".
// Letters are lower-cased, every other run of characters becomes one _, and
// a name that would start with a digit gets a leading _.
func Normalise(col string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(col) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	s := b.String()
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	}
	return s
}

// Outcome reads whether a row converted.
type Outcome struct {
	Column   string
	Positive []string // empty: yes/true/1/won and non-zero numbers are positive
	Negative []string // when set, only these values are negative; others are skipped
}

// ParseOutcome reads COLUMN or COLUMN=VALUE[|VALUE...]: the values that
// mean "converted", compared case-insensitively.
func ParseOutcome(s string) (Outcome, error) {
	col, vals, hasVals := strings.Cut(s, "=")
	col = strings.TrimSpace(col)
	if col == "" {
		return Outcome{}, fmt.Errorf("%q: expected COLUMN or COLUMN=VALUE, like Converted=1", s)
	}
	o := Outcome{Column: col}
	if hasVals {
		for _, v := range strings.Split(vals, "|") {
			o.Positive = append(o.Positive, strings.TrimSpace(v))
		}
	}
	return o, nil
}

// String formats the outcome as it is written on the command line.
func (o Outcome) String() string {
	if len(o.Positive) == 0 {
		return o.Column
	}
	return o.Column + "=" + strings.Join(o.Positive, "|")
}

// Label returns 1 when the row converted, 0 when it did not, and -1 when
// its outcome is unknown (missing, or not among Negative when Negative is
// set, or not a yes/no value when Positive is empty).
func (o Outcome) Label(rec Record) int {
	v, ok := rec.Get(o.Column)
	if !ok {
		return -1
	}
	s := strings.TrimSpace(textOf(v))
	if s == "" {
		return -1
	}
	if len(o.Positive) > 0 {
		for _, p := range o.Positive {
			if strings.EqualFold(s, p) {
				return 1
			}
		}
		if len(o.Negative) == 0 {
			return 0
		}
		for _, n := range o.Negative {
			if strings.EqualFold(s, n) {
				return 0
			}
		}
		return -1
	}
	switch strings.ToLower(s) {
	case "1", "true", "yes", "y", "won", "converted":
		return 1
	case "0", "false", "no", "n", "lost":
		return 0
	}
	if len(o.Negative) > 0 {
		for _, n := range o.Negative {
			if strings.EqualFold(s, n) {
				return 0
			}
		}
		return -1
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f != 0 {
			return 1
		}
		return 0
	}
	return -1
}

// Request turns a payload as a CRM sends it (a HubSpot contact, a
// Salesforce Lead) into leadq's scoring input, {"id", "lead", "account"}:
// each field the mapping names is read at its JSON path, values the
// mapping counts as missing are left out, and the id is read at the id
// path. Keys of the payload the mapping does not name are not read.
func (m *Mapping) Request(payload map[string]any) map[string]any {
	lead, account := map[string]any{}, map[string]any{}
	for field, path := range m.Fields {
		v, ok := tabular.Lookup(payload, path)
		if !ok || m.missing(v) {
			continue
		}
		ns, key, _ := strings.Cut(field, ".")
		if ns == "account" {
			account[key] = v
		} else {
			lead[key] = v
		}
	}
	req := map[string]any{"lead": lead}
	if len(account) > 0 {
		req["account"] = account
	}
	if m.ID != "" {
		if v, ok := tabular.Lookup(payload, m.ID); ok {
			req["id"] = textOf(v)
		}
	}
	return req
}

// missing reports whether a value means "no data" for the mapping: one of
// Missing (compared as text, trimmed), or the empty string by default.
func (m *Mapping) missing(v any) bool {
	s, isText := v.(string)
	if !isText {
		if m.Missing == nil {
			return false
		}
		s = textOf(v)
	}
	s = strings.TrimSpace(s)
	if m.Missing == nil {
		return s == ""
	}
	for _, x := range m.Missing {
		if s == strings.TrimSpace(x) {
			return true
		}
	}
	return false
}

package derive

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// doc is a proposed rule file before it is written out.
type doc struct {
	header      []string
	name        string
	description string
	fields      []fieldDecl
	score       []*ruleProp
	tiers       []tierDecl
	qualify     string
	tests       []testCase
}

type fieldDecl struct {
	name, typ, comment string
	label              string // the column's own name, for reps and the page
	unit               string // what its numbers count, from Options.Units
}

type tierDecl struct {
	name    string
	min     *int
	expect  float64 // the rate of best rows expected in the tier
	comment string
}

type testCase struct {
	name   string
	now    string
	ns     string // lead or account
	values []kv   // in field order
	tier   string
	qual   bool
	score  int
}

type kv struct{ key, value string } // value is a YAML scalar, quoted when needed

// yamlString quotes s as a YAML double-quoted scalar; Go's escapes are a
// subset of YAML's.
func yamlString(s string) string { return strconv.Quote(s) }

// fieldForm is a field's declaration after its name: the short form, int,
// or with a label or a unit the long form on one line, {type: int, label:
// Time on site, unit: seconds}, written by yaml.v3 as leadq fmt writes
// it, so that a label needing quotes gets them.
func fieldForm(f fieldDecl) string {
	if f.label == "" && f.unit == "" {
		return f.typ
	}
	scalar := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{scalar("type"), scalar(f.typ)}}
	if f.label != "" {
		m.Content = append(m.Content, scalar("label"), scalar(oneLine(f.label)))
	}
	if f.unit != "" {
		m.Content = append(m.Content, scalar("unit"), scalar(oneLine(f.unit)))
	}
	out, err := yaml.Marshal(m)
	if err != nil { // a mapping of plain strings always encodes
		return f.typ
	}
	return strings.TrimSuffix(string(out), "\n")
}

// yamlExpr quotes an expression as a single-quoted scalar, in which
// backslashes stay as they are for expr to read.
func yamlExpr(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// oneLine keeps a comment on one line, in valid UTF-8 without control
// characters, as YAML requires.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == 0xFEFF || r == 0xFFFE || r == 0xFFFF {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.Join(strings.Fields(s), " ")
}

func (d *doc) bytes() []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	for _, h := range d.header {
		if h == "" {
			w("#\n")
			continue
		}
		w("# %s\n", oneLine(h))
	}
	w("ruleset: %s\n", d.name)
	w("description: %s\n", yamlString(d.description))
	if len(d.fields) == 0 {
		w("\nfields: {}\n")
	} else {
		w("\nfields:\n")
	}
	decls := make([]string, len(d.fields))
	width := 0
	for i, f := range d.fields {
		decls[i] = f.name + ": " + fieldForm(f)
		width = max(width, len(decls[i]))
	}
	for i, f := range d.fields {
		w("  %-*s  # %s\n", width, decls[i], oneLine(f.comment))
	}
	w("\nscore:")
	if len(d.score) == 0 {
		w(" []  # no bin earns points; see the header\n")
	} else {
		w("\n")
	}
	for i, r := range d.score {
		if i > 0 {
			w("\n")
		}
		for _, e := range r.evidence {
			w("  # %s\n", oneLine(e))
		}
		w("  - id: %s\n", r.id)
		w("    when: %s\n", yamlExpr(r.when))
		w("    points: %d\n", r.points)
		w("    reason: %s\n", yamlString(r.reason))
		w("    description: %s\n", yamlString(r.desc))
	}
	w("\ntiers:\n")
	entries := make([]string, len(d.tiers))
	width = 0
	for i, t := range d.tiers {
		entry := "{name: " + t.name
		if t.min != nil {
			entry += fmt.Sprintf(", min: %d", *t.min)
		}
		entries[i] = entry + ", expect: " + strconv.FormatFloat(math.Round(t.expect*1000)/1000, 'f', -1, 64) + "}"
		width = max(width, len(entries[i]))
	}
	for i, t := range d.tiers {
		w("  - %-*s  # %s\n", width, entries[i], oneLine(t.comment))
	}
	if d.qualify != "" {
		w("\nqualify: %s\n", yamlExpr(d.qualify))
	}
	if len(d.tests) > 0 {
		w("\ntests:\n")
		for i, tc := range d.tests {
			if i > 0 {
				w("\n")
			}
			w("  - name: %s\n", yamlString(tc.name))
			if tc.now != "" {
				w("    now: %s\n", tc.now)
			}
			parts := make([]string, len(tc.values))
			for j, v := range tc.values {
				parts[j] = v.key + ": " + v.value
			}
			w("    %s: {%s}\n", tc.ns, strings.Join(parts, ", "))
			exp := []string{"tier: " + tc.tier, "qualified: " + strconv.FormatBool(tc.qual), "score: " + strconv.Itoa(tc.score)}
			w("    expect: {%s}\n", strings.Join(exp, ", "))
		}
	}
	return b.Bytes()
}

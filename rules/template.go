package rules

import (
	"strconv"
	"strings"
	"time"
)

// Template is a compiled reason such as "{{lead.employees}} employees".
type Template struct {
	Src   string
	parts []tmplPart
}

type tmplPart struct {
	lit   string
	field *Field // nil for a literal part
}

// Fields returns the fields the template shows.
func (t *Template) Fields() []*Field {
	var out []*Field
	for _, p := range t.parts {
		if p.field != nil {
			out = append(out, p.field)
		}
	}
	return out
}

// Static returns the text of a template without fields.
func (t *Template) Static() (string, bool) {
	if len(t.parts) == 1 && t.parts[0].field == nil {
		return t.parts[0].lit, true
	}
	return "", false
}

// Append fills the template with the row's values and appends it to b; a
// field the row lacks is shown as "unknown". The engine renders all of a
// decision's reasons into one buffer this way.
func (t *Template) Append(b []byte, r *Row) []byte {
	for _, p := range t.parts {
		if p.field == nil {
			b = append(b, p.lit...)
			continue
		}
		b = r.appendValue(b, p.field)
	}
	return b
}

// FormatValue writes a field value the way a person reads it: whole floats
// without decimals, dates as 2006-01-02, lists comma-separated, booleans as
// yes or no.
func FormatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "unknown"
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 {
			return v.Format("2006-01-02")
		}
		return v.Format(time.RFC3339)
	case []string:
		return strings.Join(v, ", ")
	}
	return "?"
}

// compileTemplate parses {{field}} references, reporting unknown fields and
// unclosed braces against the file.
func (c *builder) compileTemplate(f *File, t Text, subject string) *Template {
	x := exprSource{file: f, text: t, subject: subject}
	out := &Template{Src: t.Value}
	s := t.Value
	offset := 0 // rune offset of s[0] within t.Value
	ok := true
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				out.parts = append(out.parts, tmplPart{lit: s})
			}
			break
		}
		if i > 0 {
			out.parts = append(out.parts, tmplPart{lit: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		start := offset + len([]rune(s[:i]))
		if j < 0 {
			c.ex.errorAt(x, start, "bad-template", subject+": {{ is not closed (write {{lead.field}})")
			return nil
		}
		inner := s[i+2 : i+j]
		name := strings.TrimSpace(inner)
		nameOff := start + 2 + len([]rune(inner[:strings.Index(inner+" ", strings.TrimLeft(inner, " "))]))
		fd := c.fields[name]
		switch {
		case name == "":
			c.ex.errorAt(x, start, "bad-template", subject+": empty {{}} (write {{lead.field}})")
			ok = false
		case fd == nil:
			c.ex.errorAt(x, nameOff, "unknown-field", subject+": unknown field "+name+didYouMean(name, c.fieldNames))
			ok = false
		default:
			c.usedFields[name] = true
			out.parts = append(out.parts, tmplPart{field: fd})
		}
		consumed := s[:i+j+2]
		offset += len([]rune(consumed))
		s = s[i+j+2:]
	}
	if !ok {
		return nil
	}
	if len(out.parts) == 0 {
		out.parts = []tmplPart{{lit: ""}}
	}
	return out
}

package eval

import "bytes"

// Template is a compiled reason such as "{{lead.employees}} employees".
type Template struct {
	Src   string
	parts []tmplPart
}

type tmplPart struct {
	lit         string // the literal, or the field's fallback when hasFallback
	field       *Field // nil for a literal part
	hasFallback bool
}

// TemplatePart is a piece of a reason: literal Text, or a Field's value
// when Field is set. With HasFallback, Text is shown instead of a value
// that is missing or empty ({{lead.company or This company}}).
type TemplatePart struct {
	Text        string
	Field       *Field
	HasFallback bool
}

// NewTemplate assembles a compiled reason from its parts; no parts is the
// empty reason.
func NewTemplate(src string, parts []TemplatePart) *Template {
	t := &Template{Src: src}
	for _, p := range parts {
		t.parts = append(t.parts, tmplPart{lit: p.Text, field: p.Field, hasFallback: p.Field != nil && p.HasFallback})
	}
	if len(t.parts) == 0 {
		t.parts = []tmplPart{{lit: ""}}
	}
	return t
}

// Unguarded returns the fields the template shows with no fallback: the
// reason reads "unknown", or nothing, where such a field is missing or empty.
func (t *Template) Unguarded() []*Field {
	var out []*Field
	for _, p := range t.parts {
		if p.field != nil && !p.hasFallback {
			out = append(out, p.field)
		}
	}
	return out
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
// field the row lacks is shown as "unknown", or as its fallback when it has
// one; the fallback also replaces a value that renders empty or as spaces
// only. The engine renders all of a decision's reasons into one buffer
// this way.
func (t *Template) Append(b []byte, r *Row) []byte {
	for _, p := range t.parts {
		if p.field == nil {
			b = append(b, p.lit...)
			continue
		}
		if !p.hasFallback {
			b = r.appendValue(b, p.field)
			continue
		}
		if !r.Present.Has(p.field.Index) {
			b = append(b, p.lit...)
			continue
		}
		n := len(b)
		b = r.appendValue(b, p.field)
		if len(bytes.TrimSpace(b[n:])) == 0 {
			b = append(b[:n], p.lit...)
		}
	}
	return b
}

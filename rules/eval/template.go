package eval

// Template is a compiled reason such as "{{lead.employees}} employees".
type Template struct {
	Src   string
	parts []tmplPart
}

type tmplPart struct {
	lit   string
	field *Field // nil for a literal part
}

// TemplatePart is a piece of a reason: literal Text, or a Field's value
// when Field is set.
type TemplatePart struct {
	Text  string
	Field *Field
}

// NewTemplate assembles a compiled reason from its parts; no parts is the
// empty reason.
func NewTemplate(src string, parts []TemplatePart) *Template {
	t := &Template{Src: src}
	for _, p := range parts {
		t.parts = append(t.parts, tmplPart{lit: p.Text, field: p.Field})
	}
	if len(t.parts) == 0 {
		t.parts = []tmplPart{{lit: ""}}
	}
	return t
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

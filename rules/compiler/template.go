package compiler

import (
	"strings"

	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// compileTemplate parses {{field}} references, reporting unknown fields and
// unclosed braces against the file.
func (c *builder) compileTemplate(f *rulefile.File, t rulefile.Text, subject string) *eval.Template {
	x := exprSource{file: f, text: t, subject: subject}
	var parts []eval.TemplatePart
	s := t.Value
	offset := 0 // rune offset of s[0] within t.Value
	ok := true
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				parts = append(parts, eval.TemplatePart{Text: s})
			}
			break
		}
		if i > 0 {
			parts = append(parts, eval.TemplatePart{Text: s[:i]})
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
			c.ex.errorAt(x, nameOff, "unknown-field", subject+": unknown field "+name+rulefile.DidYouMean(name, c.fieldNames))
			ok = false
		default:
			c.usedFields[name] = true
			parts = append(parts, eval.TemplatePart{Field: fd})
		}
		consumed := s[:i+j+2]
		offset += len([]rune(consumed))
		s = s[i+j+2:]
	}
	if !ok {
		return nil
	}
	return eval.NewTemplate(t.Value, parts)
}

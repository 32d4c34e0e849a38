package compiler

import (
	"strings"

	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// splitFallback reads the inside of {{...}}: a field name, optionally
// followed by "or" and the text shown when the value is missing or empty,
// bare ({{lead.company or This company}}) or quoted with ' or " to keep
// spaces at its ends. bad says what is wrong with the fallback, or is "".
func splitFallback(inner string) (name, fallback string, has bool, bad string) {
	inner = strings.TrimSpace(inner)
	name, rest := cutSpace(inner)
	if rest == "" {
		return name, "", false, ""
	}
	word, text := cutSpace(rest)
	if word != "or" {
		return name, "", false, "{{" + inner + "}}: after the field, only \"or\" and a fallback may follow (write {{" + name + " or fallback text}})"
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return name, "", false, "{{" + inner + "}}: \"or\" needs a fallback text (write {{" + name + " or fallback text}})"
	}
	if q := text[0]; q == '"' || q == '\'' {
		if len(text) < 2 || text[len(text)-1] != q || strings.IndexByte(text[1:len(text)-1], q) >= 0 {
			return name, "", false, "{{" + inner + "}}: the fallback's quote " + string(q) + " is not closed at the end (write {{" + name + " or " + string(q) + "fallback text" + string(q) + "}})"
		}
		text = text[1 : len(text)-1]
	}
	return name, text, true, ""
}

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
		name, fallback, hasFallback, bad := splitFallback(inner)
		nameOff := start + 2 + len([]rune(inner[:strings.Index(inner+" ", strings.TrimLeft(inner, " "))]))
		fd := c.fields[name]
		switch {
		case name == "":
			c.ex.errorAt(x, start, "bad-template", subject+": empty {{}} (write {{lead.field}})")
			ok = false
		case bad != "":
			c.ex.errorAt(x, start, "bad-template", subject+": "+bad)
			ok = false
		case fd == nil:
			c.ex.errorAt(x, nameOff, "unknown-field", subject+": unknown field "+name+rulefile.DidYouMean(name, c.fieldNames))
			ok = false
		default:
			c.usedFields[name] = true
			parts = append(parts, eval.TemplatePart{Field: fd, Text: fallback, HasFallback: hasFallback})
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

// cutSpace splits s at its first space or tab, trimming what follows.
func cutSpace(s string) (before, after string) {
	k := strings.IndexAny(s, " \t")
	if k < 0 {
		return s, ""
	}
	return s[:k], strings.TrimSpace(s[k+1:])
}

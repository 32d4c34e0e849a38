package rulefile

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Pos is a position in a rule file. Line and Col are 1-based; a zero Line
// means the position is the file as a whole.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

// String formats the position as file:line:col.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Severity tells errors, which stop a ruleset from compiling, from warnings,
// which do not.
type Severity int

const (
	SeverityError Severity = iota
	SeverityWarning
)

// Error is one problem found in a rule file. Msg starts with the subject
// (`score rule "x": when: ...`) and ends with how to fix it where we know.
// Snippet, when set, is the offending source line with a caret under Pos.
type Error struct {
	Pos      Pos
	Severity Severity
	Code     string
	Msg      string
	Snippet  string
}

// Error formats the problem as `file:line:col: message` (warnings say so and
// carry their code in brackets). The snippet is not included; see Format.
func (e *Error) Error() string {
	if e.Severity == SeverityWarning {
		return fmt.Sprintf("%s: warning: %s [%s]", e.Pos, e.Msg, e.Code)
	}
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

// Format is Error followed by the snippet lines, if any. A control
// character of the file is shown as its symbol (ESC as U+241B), one
// column wide like the caret expects, and bytes that are not UTF-8 as
// U+FFFD: a rule file's bytes never reach the terminal as escape sequences.
func (e *Error) Format() string {
	if e.Snippet == "" {
		return e.Error()
	}
	return e.Error() + "\n" + printable(e.Snippet)
}

// printable replaces the control characters of s but its line breaks, and
// invalid UTF-8, by visible symbols.
func printable(s string) string {
	clean := func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r < 0x20:
			return 0x2400 + r // the Control Pictures block: U+241B for ESC
		case r == 0x7f:
			return 0x2421
		case r >= 0x80 && r < 0xa0:
			return utf8.RuneError
		}
		return r
	}
	if strings.IndexFunc(s, func(r rune) bool { return clean(r) != r }) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.Map(clean, strings.ToValidUTF8(s, "\uFFFD"))
}

// ErrorList is a list of problems, sorted by position by Sort.
type ErrorList []*Error

// Sort orders the list by file, line, column, then message, so that output
// is stable whatever order the checks ran in.
func (l ErrorList) Sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
}

// Errors returns the entries of severity error.
func (l ErrorList) Errors() ErrorList {
	return l.filter(SeverityError)
}

// Warnings returns the entries of severity warning.
func (l ErrorList) Warnings() ErrorList {
	return l.filter(SeverityWarning)
}

func (l ErrorList) filter(s Severity) ErrorList {
	var out ErrorList
	for _, e := range l {
		if e.Severity == s {
			out = append(out, e)
		}
	}
	return out
}

// maxShown is how many errors Error prints before "and N more".
const maxShown = 20

// Error lists the first errors, one per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == maxShown {
			fmt.Fprintf(&b, "\nand %d more", len(l)-maxShown)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns the list's errors (warnings left out) as an error, or nil when
// there are none.
func (l ErrorList) Err() error {
	errs := l.Errors()
	if len(errs) == 0 {
		return nil
	}
	errs.Sort()
	return errs
}

// Codes is the stable set of problem codes with a one-line description each.
// Tools may rely on the codes; the messages may change.
var Codes = map[string]string{
	"yaml-syntax":         "the file is not valid YAML",
	"unknown-key":         "a key the format does not define",
	"missing-key":         "a required key is absent",
	"bad-value":           "a value of the wrong YAML kind or out of range",
	"bad-id":              "a rule id or name that is not kebab-case or snake_case as required",
	"bad-field":           "a field declaration with a bad name or unknown type",
	"duplicate-id":        "two rules, lists, macros, fields, groups or tiers share a name",
	"unknown-field":       "an expression or template reads a field not declared in fields:",
	"unknown-name":        "an expression uses a name that is not a list, macro or function",
	"expr-syntax":         "an expression that does not parse",
	"type-mismatch":       "an expression whose types do not fit (including a non-boolean condition)",
	"macro-cycle":         "macros that use each other in a loop",
	"expr-too-large":      "an expression over 100,000 parts with its macros written out (macros that use others several times each)",
	"bad-template":        "a reason template that does not parse",
	"bad-tiers":           "tiers out of order, without a catch-all last tier, or unknown in qualify/tests",
	"ruleset-conflict":    "a ruleset-wide setting (tiers, qualify, description) given in two files",
	"bad-test":            "a test case that refers to unknown fields, rules or tiers",
	"unused-list":         "warning: a list no expression uses",
	"unused-macro":        "warning: a macro no expression uses",
	"unused-field":        "warning: a declared field no rule reads",
	"unknown-group":       "warning: a score rule's group has no caps and no other rule uses it",
	"unused-group":        "warning: a group with caps that no score rule is in",
	"always-fires":        "warning: a rule whose condition is true for every lead (a constant, like true or 1 == 1)",
	"never-fires":         "warning: a rule whose condition is false for every lead (a constant, or comparisons that contradict each other)",
	"unreachable-tier":    "warning: a tier no possible score lands in, given the rules' points and the group caps",
	"points-over-cap":     "warning: a score rule whose points alone go past its group's max (or min), so the cap always cuts them",
	"knockout-overlap":    "warning: a score rule that fires only when a knockout fires, so its points never count",
	"reason-may-be-empty": "warning: a reason shows a field without a fallback ({{lead.x or text}}) although the rule can fire with that field missing or empty",
	"costly-condition":    "warning: a condition whose time grows with a lead's values (a range up to a field, a regexp or loop in a loop over a field), stopped at run time by the decision's time budget",
}

// MarshalJSON gives the form shared by `leadq check --format json` and the
// HTTP API: {file, line, col, severity, code, message, snippet}.
func (e *Error) MarshalJSON() ([]byte, error) {
	sev := "error"
	if e.Severity == SeverityWarning {
		sev = "warning"
	}
	return json.Marshal(struct {
		File     string `json:"file"`
		Line     int    `json:"line,omitempty"`
		Col      int    `json:"col,omitempty"`
		Severity string `json:"severity"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		Snippet  string `json:"snippet,omitempty"`
	}{e.Pos.File, e.Pos.Line, e.Pos.Col, sev, e.Code, e.Msg, e.Snippet})
}

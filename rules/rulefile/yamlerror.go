package rulefile

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlHints say how to fix the syntax errors rule authors make most.
var yamlHints = map[string]string{
	"did not find expected ',' or ']'":                             "is a [ not closed?",
	"did not find expected ',' or '}'":                             "is a { not closed?",
	"did not find expected '-' indicator":                          "check this line's indentation",
	"did not find expected key":                                    "check this line's indentation, and that every quote is closed",
	"did not find expected node content":                           "a value is missing, or a [ or { is not closed",
	"found a tab character that violates indentation":              "indent with spaces, not tabs",
	"found character that cannot start any token":                  "quote a value that starts with @, ` or %",
	"found unexpected end of stream":                               "is a quote not closed?",
	"mapping values are not allowed in this context":               "quote a value that contains \": \", or check the indentation",
	"could not find expected ':'":                                  "a key needs a colon, or a quoted value a closing quote",
	"found unknown escape character":                               "in double quotes, write a backslash as \\\\, or use single quotes",
	"found unexpected document indicator":                          "a rule file holds one YAML document",
	"did not find expected whitespace or line break":               "put a space after the colon",
	"found a tab character where an indentation space is expected": "indent with spaces, not tabs",
}

// yamlError turns yaml.v3's syntax error into ours, at the line where the
// file stops being YAML. yaml.v3 names the line where the construct around
// the problem starts (a block mapping, a flow sequence), 0-based for its
// parser's errors and 1-based for its scanner's, and no column. The line
// is found again here: the first line from there on where every longer
// prefix of the file fails to parse, which is where a [ is left open, an
// indentation breaks, or a tab or quote goes wrong.
func (d *decoder) yamlError(err error) *Error {
	msg := err.Error()
	pos := Pos{File: d.f.Name, Line: 1, Col: 1}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if line := failingLine(d.f.lines, pos.Line); line > 0 {
		pos.Line = line
	}
	snippet := ""
	if pos.Line-1 < len(d.f.lines) {
		text := strings.ReplaceAll(strings.TrimRight(d.f.lines[pos.Line-1], "\r"), "\t", " ")
		pos.Col = len(text) - len(strings.TrimLeft(text, " ")) + 1
		for _, open := range []string{"[", "{"} {
			if strings.Contains(msg, "or '"+map[string]string{"[": "]", "{": "}"}[open]+"'") {
				if i := strings.LastIndex(text, open); i >= 0 {
					pos.Col = utf8.RuneCountInString(text[:i]) + 1
				}
			}
		}
		if i := strings.IndexFunc(text, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 && strings.HasPrefix(msg, "control characters") {
			pos.Col = utf8.RuneCountInString(text[:i]) + 1
		}
		if strings.TrimSpace(text) != "" {
			snippet = "  | " + text + "\n  | " + strings.Repeat(" ", pos.Col-1) + "^"
		}
	}
	if hint, ok := yamlHints[msg]; ok {
		msg += " (" + hint + ")"
	}
	return &Error{Pos: pos, Code: "yaml-syntax", Msg: msg, Snippet: snippet}
}

// maxPrefixParses bounds the work failingLine does on a large file, and
// maxLookahead how far a multi-line value may reach.
const (
	maxPrefixParses = 400
	maxLookahead    = 20
)

// failingLine returns the first line L at or after from-1 such that the
// file's first L lines do not parse while its first L-1 do, or 0 when none
// is found within maxPrefixParses tries. yaml.v3's line (from) is where the
// construct around the problem starts, never after the problem.
func failingLine(lines []string, from int) int {
	parses := func(n int) bool {
		var doc yaml.Node
		src := strings.Join(lines[:n], "\n")
		dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
		err := dec.Decode(&doc)
		return err == nil || err.Error() == "EOF"
	}
	start := max(from-1, 1)
	if start > len(lines) || !parses(start-1) {
		return 0
	}
	// A prefix that ends inside a multi-line quoted scalar or flow list
	// fails too: a failing prefix counts only when the next ones fail.
	tries := 0
	for n := start; n <= len(lines) && tries < maxPrefixParses; n++ {
		tries++
		if parses(n) {
			continue
		}
		recovered := 0
		for k := n + 1; k <= min(n+maxLookahead, len(lines)) && tries < maxPrefixParses; k++ {
			tries++
			if parses(k) {
				recovered = k
				break
			}
		}
		if recovered == 0 {
			return n
		}
		n = recovered
	}
	return 0
}

var rulesetLineRe = regexp.MustCompile(`^ruleset:[ \t]*["']?([a-z0-9-]+)["']?[ \t]*(#.*)?$`)

// rulesetLine finds a top-level `ruleset: name` line in a file that is not
// YAML, so that the compiler can tell which ruleset the file belongs to.
func rulesetLine(lines []string, name string) Text {
	for i, l := range lines {
		if m := rulesetLineRe.FindStringSubmatch(strings.TrimRight(l, "\r")); m != nil {
			return Text{Value: m[1], Pos: Pos{File: name, Line: i + 1, Col: strings.Index(l, m[1]) + 1}}
		}
	}
	return Text{}
}

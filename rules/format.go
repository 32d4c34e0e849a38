package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Format returns a rule file in leadq's canonical layout, keeping every
// comment. It is what `leadq fmt` writes:
//
//   - top-level sections in the order of FORMAT.md (ruleset, description,
//     fields, lists, macros, knockouts, score, groups, tiers, qualify,
//     tests), and the keys of each rule, test case and expect: block in
//     their documented order; keys leadq does not know stay, after those;
//   - two-space indentation; sections, rules and test cases in block
//     style, each tier and each group's caps on one line ({name: A, min:
//     70}) unless a comment sits inside;
//   - a blank line between sections that span several lines and between
//     the rules and test cases of a list, and none elsewhere;
//   - trailing comments of neighbouring lines aligned, two spaces after the
//     longest line.
//
// Everything else is kept as written: the order of fields, lists, macros,
// rules and tests (rule order is evaluation order), flow or block style of
// values, quoting and block scalars. Format does not change meaning: the
// result parses to the same declarations. Format(Format(x)) == Format(x).
// name is used in errors, which are an ErrorList for YAML syntax errors.
func Format(name string, src []byte) ([]byte, error) {
	if bytes.Contains(src, []byte(blankMarker)) {
		return nil, fmt.Errorf("%s: contains %q, which leadq fmt uses internally", name, blankMarker)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return src, nil // an empty file has nothing to format
		}
		d := &decoder{f: &File{Name: name}}
		return nil, ErrorList{d.yamlError(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, ErrorList{{Pos: Pos{File: name, Line: extra.Line, Col: extra.Column}, Code: "yaml-syntax",
			Msg: "a rule file holds one YAML document (remove the second ---)"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, ErrorList{{Pos: Pos{File: name, Line: root.Line, Col: root.Column}, Code: "bad-value",
			Msg: "a rule file is a mapping with ruleset:, fields:, score: ..., found " + kindName(root)}}
	}
	formatRoot(root)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return layout(out.Bytes(), lineComments(&doc)), nil
}

// blankMarker is a comment Format puts where a blank line goes; yaml.v3
// writes comments but not blank lines, so layout turns these into blanks.
const blankMarker = "#leadq-fmt:blank-line"

var (
	tierKeys  = []string{"name", "min"}
	groupKeys = []string{"max", "min"}
)

func formatRoot(root *yaml.Node) {
	// The file's header comment belongs at the top, and its last foot
	// comment at the end, whichever sections move.
	firstHead := root.Content[0].HeadComment
	lastFoot := root.Content[len(root.Content)-2].FootComment
	root.Content[0].HeadComment = ""
	root.Content[len(root.Content)-2].FootComment = ""
	sortPairs(root, fileKeys)
	root.Content[0].HeadComment = joinComments(firstHead, root.Content[0].HeadComment)
	last := root.Content[len(root.Content)-2]
	last.FootComment = joinComments(last.FootComment, lastFoot)

	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "fields", "lists", "macros":
			block(v)
		case "groups":
			block(v)
			if v.Kind == yaml.MappingNode {
				for j := 1; j < len(v.Content); j += 2 {
					sortPairs(v.Content[j], groupKeys)
					flowIfQuiet(v.Content[j])
				}
			}
		case "tiers":
			block(v)
			for _, t := range items(v) {
				sortPairs(t, tierKeys)
				flowIfQuiet(t)
			}
		case "knockouts", "score":
			keys := scoreKeys
			if k.Value == "knockouts" {
				keys = knockoutKeys
			}
			block(v)
			for j, r := range items(v) {
				block(r)
				sortPairs(r, keys)
				if j > 0 {
					markBlank(r)
				}
			}
		case "tests":
			block(v)
			for j, tc := range items(v) {
				block(tc)
				sortPairs(tc, testKeys)
				for m := 0; m+1 < len(tc.Content); m += 2 {
					if tc.Content[m].Value == "expect" {
						sortPairs(tc.Content[m+1], expectKeys)
					}
				}
				if j > 0 {
					markBlank(tc)
				}
			}
		}
		if i > 0 && (multiLine(v) || multiLine(root.Content[i-1])) {
			markBlank(k)
		}
	}
}

// sortPairs orders a mapping's keys as in order; keys not in order keep
// their relative order after the known ones. Other nodes are left alone.
func sortPairs(m *yaml.Node, order []string) {
	if m.Kind != yaml.MappingNode {
		return
	}
	type pair struct{ k, v *yaml.Node }
	pairs := make([]pair, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		pairs = append(pairs, pair{m.Content[i], m.Content[i+1]})
	}
	rank := func(p pair) int {
		if i := slices.Index(order, p.k.Value); i >= 0 && p.k.Kind == yaml.ScalarNode {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return rank(a) - rank(b) })
	for i, p := range pairs {
		m.Content[2*i], m.Content[2*i+1] = p.k, p.v
	}
}

func items(n *yaml.Node) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// block writes a mapping or sequence in block style. An empty one stays
// flow ({} or []), the only way YAML can write it.
func block(n *yaml.Node) {
	if (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && len(n.Content) > 0 {
		n.Style &^= yaml.FlowStyle
	}
}

// flowIfQuiet writes a small mapping of scalars on one line, unless a
// comment inside it would be lost.
func flowIfQuiet(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.HeadComment != "" || c.FootComment != "" || (c.LineComment != "" && c != n.Content[len(n.Content)-1]) {
			return
		}
	}
	if last := n.Content[len(n.Content)-1]; last.LineComment != "" {
		n.LineComment = joinComments(n.LineComment, last.LineComment)
		last.LineComment = ""
	}
	n.Style |= yaml.FlowStyle
}

// multiLine reports whether a value takes more than its key's line.
func multiLine(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		return len(n.Content) > 0 && n.Style&yaml.FlowStyle == 0
	case yaml.ScalarNode:
		return n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || strings.Contains(n.Value, "\n")
	}
	return false
}

func markBlank(n *yaml.Node) { n.HeadComment = joinComments(blankMarker, n.HeadComment) }

func joinComments(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// lineComments collects the trailing comments of every node, which layout
// aligns.
func lineComments(n *yaml.Node) map[string]bool {
	set := map[string]bool{}
	var visit func(*yaml.Node)
	visit = func(n *yaml.Node) {
		if n.LineComment != "" {
			set[n.LineComment] = true
		}
		for _, c := range n.Content {
			visit(c)
		}
	}
	visit(n)
	return set
}

// layout turns blank-line markers into blank lines and aligns trailing
// comments: in each run of neighbouring lines with the same indentation
// (no blank or comment-only line between them), the comments start two
// spaces after the longest line that has one.
func layout(out []byte, comments map[string]bool) []byte {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	type row struct {
		code, comment string
		indent        int
		plain         bool // neither blank nor comment-only
	}
	rows := make([]row, len(lines))
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if trimmed == blankMarker {
			// yaml.v3 already ends some block scalars with a blank line.
			if i > 0 && lines[i-1] == "" {
				rows[i] = row{code: "\x00"}
			} else {
				rows[i] = row{}
			}
			continue
		}
		r := row{code: l, indent: len(l) - len(strings.TrimLeft(l, " ")), plain: trimmed != "" && !strings.HasPrefix(trimmed, "#")}
		if r.plain {
			for at := 0; ; {
				j := strings.Index(l[at:], " #")
				if j < 0 {
					break
				}
				j += at
				if comments[l[j+1:]] {
					r.code, r.comment = strings.TrimRight(l[:j], " "), l[j+1:]
					break
				}
				at = j + 1
			}
		}
		rows[i] = r
	}
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) && rows[start].plain && rows[end].plain && rows[end].indent == rows[start].indent {
			end++
		}
		width := 0
		for _, r := range rows[start:end] {
			if r.comment != "" {
				width = max(width, utf8.RuneCountInString(r.code))
			}
		}
		for i := start; i < end; i++ {
			if r := rows[i]; r.comment != "" {
				rows[i].code = r.code + strings.Repeat(" ", width-utf8.RuneCountInString(r.code)+2) + r.comment
			}
		}
		start = end
	}
	var b strings.Builder
	for _, r := range rows {
		if r.code == "\x00" {
			continue
		}
		b.WriteString(r.code)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

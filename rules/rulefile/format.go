package rulefile

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
	if bytes.Contains(src, []byte(markerPrefix)) {
		return nil, fmt.Errorf("%s: contains %q, which leadq fmt uses internally", name, markerPrefix)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return src, nil // an empty file has nothing to format
		}
		d := &decoder{f: &File{Name: name, lines: strings.Split(string(src), "\n")}}
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
	// Sorting may move an alias above its anchor (&x ... *x), and yaml.v3
	// writes a few odd block scalars (a folded one that starts with a
	// blank line) with another value. Each attempt is checked: it must
	// parse to the same data as src. The later attempts quote block
	// scalars, then keep the key order as written. (Quoting before giving
	// up the order keeps Format idempotent: the quoted output sorts.)
	want, err := yamlData(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// yaml.v3 attaches a comment to a node by where it sits, so a comment
	// the first pass moves may attach elsewhere the next time: format
	// until nothing moves, so that Format(Format(x)) == Format(x).
	cur := src
	for range 4 {
		next, ok := formatPass(cur, want)
		if !ok {
			return nil, fmt.Errorf("%s: leadq fmt cannot lay this file out without changing it; please report it", name)
		}
		if bytes.Equal(next, cur) {
			return next, nil
		}
		cur = next
	}
	return nil, fmt.Errorf("%s: leadq fmt cannot lay this file out stably; please report it", name)
}

// formatPass makes one layout of src whose data is still want.
func formatPass(src []byte, want string) ([]byte, bool) {
	for _, try := range []struct{ sort, quote bool }{{true, false}, {true, true}, {false, false}, {false, true}} {
		if out, ok := formatAttempt(src, try.sort, try.quote); ok {
			if got, err := yamlData(out); err == nil && got == want && !bytes.Contains(out, []byte(markerPrefix)) {
				return out, true
			}
		}
	}
	return nil, false
}

// formatAttempt lays src out; ok is false when the result would not be
// valid YAML.
func formatAttempt(src []byte, sort, quote bool) ([]byte, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || len(doc.Content) != 1 {
		return nil, false
	}
	root := doc.Content[0]
	closing(&doc, root)
	formatRoot(root, sort)
	if quote {
		quoteBlockScalars(&doc)
	}
	if !anchorsFirst(&doc) {
		return nil, false
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if enc.Encode(&doc) != nil || enc.Close() != nil {
		return nil, false
	}
	return layout(out.Bytes(), lineComments(&doc)), true
}

// yamlData is the data a YAML document holds, printed: two documents with
// the same data print the same (fmt sorts map keys; NaN equals NaN here).
func yamlData(src []byte) (string, error) {
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		return "", err
	}
	return fmt.Sprintf("%#v", v), nil
}

func quoteBlockScalars(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		quoteBlockScalars(c)
	}
}

// anchorsFirst reports whether every alias comes after its anchor in
// document order, as YAML requires.
func anchorsFirst(n *yaml.Node) bool {
	seen := map[*yaml.Node]bool{}
	ok := true
	var visit func(*yaml.Node)
	visit = func(n *yaml.Node) {
		if !ok {
			return
		}
		if n.Kind == yaml.AliasNode && !seen[n.Alias] {
			ok = false
			return
		}
		seen[n] = true
		for _, c := range n.Content {
			visit(c)
		}
	}
	visit(n)
	return ok
}

// Format puts marker comments where blank lines may go, as yaml.v3 writes
// comments but not blank lines; layout turns them into blank lines. A
// sectionMarker, before a top-level key, becomes one only when that
// section or the one before it spans several lines of the output.
const (
	markerPrefix  = "#leadq-fmt:"
	blankMarker   = markerPrefix + "blank-line"
	sectionMarker = markerPrefix + "section"
)

var (
	tierKeys  = []string{"name", "min", "expect"}
	groupKeys = []string{"max", "min"}
)

// closing makes the comments after the last section the document's foot
// comment. yaml.v3 attaches them to the last key, the mapping or the
// document depending on blank lines, and writes each differently; one
// place keeps them at the end whatever moves, and Format idempotent.
func closing(doc, root *yaml.Node) {
	if len(root.Content) == 0 {
		return
	}
	last := root.Content[len(root.Content)-2]
	doc.FootComment = joinComments(joinComments(last.FootComment, root.FootComment), doc.FootComment)
	last.FootComment, root.FootComment = "", ""
}

// formatRoot lays out the root mapping; sort false keeps every key where
// it is.
func formatRoot(root *yaml.Node, sort bool) {
	order := func(m *yaml.Node, keys []string) {
		if sort {
			sortPairs(m, keys)
		}
	}
	if len(root.Content) == 0 {
		return
	}
	block(root)
	// The file's header comment belongs at the top whichever section
	// comes first. (Its closing comments are the document's; see Format.)
	firstHead := root.Content[0].HeadComment
	root.Content[0].HeadComment = ""
	order(root, fileKeys)
	root.Content[0].HeadComment = joinComments(firstHead, root.Content[0].HeadComment)

	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "fields":
			block(v)
			if v.Kind == yaml.MappingNode {
				for j := 1; j < len(v.Content); j += 2 {
					v.Content[j] = fieldForm(v.Content[j], sort)
				}
			}
		case "lists", "macros":
			block(v)
		case "groups":
			block(v)
			if v.Kind == yaml.MappingNode {
				for j := 1; j < len(v.Content); j += 2 {
					order(v.Content[j], groupKeys)
					flowIfQuiet(v.Content[j])
				}
			}
		case "tiers":
			block(v)
			for _, t := range items(v) {
				order(t, tierKeys)
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
				order(r, keys)
				if j > 0 {
					markBlank(r)
				}
			}
		case "tests":
			block(v)
			for j, tc := range items(v) {
				block(tc)
				order(tc, testKeys)
				for m := 0; m+1 < len(tc.Content); m += 2 {
					if tc.Content[m].Value == "expect" {
						order(tc.Content[m+1], expectKeys)
					}
				}
				if j > 0 {
					markBlank(tc)
				}
			}
		}
		if i > 0 {
			k.HeadComment = joinComments(sectionMarker, k.HeadComment)
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

// fieldForm lays out a field's declaration: the short form, lead.x: float,
// as written; the long form on one line with its keys in order,
// {type: float, label: Annual revenue, unit: USD}.
func fieldForm(n *yaml.Node, sort bool) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return n
	}
	if sort {
		sortPairs(n, fieldKeys)
	}
	flowIfQuiet(n)
	return n
}

// flowIfQuiet writes a small mapping of scalars on one line, unless a
// comment inside it would be lost.
func flowIfQuiet(n *yaml.Node) {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
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

// sections decides each section marker: it becomes a blank-line marker
// when the section before it or after it has lines below its key (a block
// collection or a block scalar), and disappears otherwise, so that
// one-line sections such as ruleset: and description: stay together.
func sections(lines []string) {
	isKey := func(l string) bool { return l != "" && l[0] != ' ' && l[0] != '#' }
	// body reports whether the lines from i up to the next top-level key
	// or marker include one below the key that is not a comment.
	body := func(i int) bool {
		for ; i < len(lines) && !isKey(lines[i]) && lines[i] != sectionMarker; i++ {
			if t := strings.TrimSpace(lines[i]); t != "" && !strings.HasPrefix(t, "#") {
				return true
			}
		}
		return false
	}
	for m, l := range lines {
		if l != sectionMarker {
			continue
		}
		prev := m - 1
		for prev >= 0 && !isKey(lines[prev]) {
			prev--
		}
		next := m + 1
		for next < len(lines) && !isKey(lines[next]) {
			next++
		}
		if (prev >= 0 && body(prev+1)) || (next < len(lines) && body(next+1)) {
			lines[m] = blankMarker
		} else {
			lines[m] = markerPrefix + "drop"
		}
	}
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
	sections(lines)
	type row struct {
		code, comment string
		indent        int
		plain         bool // neither blank nor comment-only
	}
	rows := make([]row, len(lines))
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if trimmed == markerPrefix+"drop" {
			rows[i] = row{code: "\x00"}
			continue
		}
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

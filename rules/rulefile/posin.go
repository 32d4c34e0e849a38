package rulefile

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// PosIn maps a rune offset within a scalar's value to a position in the
// file, and draws the source line with a caret under it.
//
// Plain and quoted scalars on one line start at the node's column (+1 for
// the quote); literal blocks (|) start on the next line at the block's
// indent; folded blocks (>) and anything that cannot be mapped exactly
// fall back to the node's own position.
func (f *File) PosIn(t Text, offset int) (Pos, string) {
	line, col := 1, 0 // within the value; col 0-based in runes
	for i, r := range []rune(t.Value) {
		if i == offset {
			break
		}
		if r == '\n' {
			line++
			col = 0
		} else {
			col++
		}
	}
	pos := t.Pos
	switch {
	case t.Style&yaml.LiteralStyle != 0:
		n := t.Pos.Line + line
		if n-1 < len(f.lines) {
			indent := blockIndent(f.lines, t.Pos.Line)
			pos = Pos{File: t.Pos.File, Line: n, Col: indent + col + 1}
		}
	case t.Style&yaml.FoldedStyle != 0:
	case t.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		if line == 1 {
			pos.Col = t.Pos.Col + 1 + col
		}
	default:
		if line == 1 {
			pos.Col = t.Pos.Col + col
		}
	}
	if pos.Line-1 >= len(f.lines) || pos.Line < 1 {
		return t.Pos, ""
	}
	src := strings.ReplaceAll(strings.TrimRight(f.lines[pos.Line-1], "\r"), "\t", " ")
	if pos.Col-1 > utf8.RuneCountInString(src) {
		pos = t.Pos
		src = strings.ReplaceAll(strings.TrimRight(f.lines[pos.Line-1], "\r"), "\t", " ")
	}
	return pos, "  | " + src + "\n  | " + strings.Repeat(" ", max(pos.Col-1, 0)) + "^"
}

// blockIndent is the indentation of the first non-blank line after a block
// scalar's header line.
func blockIndent(lines []string, header int) int {
	for i := header; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" {
			continue
		}
		return len(l) - len(strings.TrimLeft(l, " "))
	}
	return 0
}

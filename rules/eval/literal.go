package eval

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"slices"
)

// Most patterns in rule files name a handful of words:
// `lead.title matches "(?i)\b(student|intern|apprentice)\b"`. Go's regexp
// runs those on its backtracker, rune by rune, with case folding: about a
// microsecond a title, the largest single cost of a decision. A literal
// matcher answers the same question with a byte search per word.
//
// It is exact, not a heuristic: it is built only when the pattern's
// language is a small finite set of words, optionally case-insensitive,
// optionally between \b, ^ or $ at its ends; and it decides only ASCII
// inputs, where case folding and \b are plain byte rules. Anything else
// (a non-ASCII title, a long text) goes to the regexp. FuzzLiteralMatcher
// checks it against regexp on arbitrary patterns and inputs.

const (
	maxLiteralWords = 64  // beyond this, a set of words is no faster than the regexp
	maxLiteralInput = 256 // longer inputs are folded on the stack no further
)

// literalMatcher is a compiled pattern of the shape above.
type literalMatcher struct {
	re    *regexp.Regexp // the fallback, for inputs the matcher does not decide
	words [][]byte       // lower-cased when fold is set
	fold  bool           // case-insensitive
	start edge           // what must hold before a word
	end   edge           // what must hold after a word
	// byFirst lists the words by their first byte, when every word must
	// start a word of the input (start is \b and words begin with a word
	// byte): then only the input's word starts can begin a match, and one
	// pass over them replaces a search per word. Nil otherwise.
	byFirst *[128][]int32
}

type edge uint8

const (
	edgeNone     edge = iota
	edgeWord          // \b
	edgeTextEdge      // ^ at the start, $ at the end (without (?m))
)

// newLiteralMatcher returns nil when the pattern does not have the shape.
func newLiteralMatcher(re *regexp.Regexp) *literalMatcher {
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	parsed = parsed.Simplify()
	parts := []*syntax.Regexp{parsed}
	if parsed.Op == syntax.OpConcat {
		parts = parsed.Sub
	}
	m := &literalMatcher{re: re}
	if len(parts) > 0 {
		switch parts[0].Op {
		case syntax.OpWordBoundary:
			m.start, parts = edgeWord, parts[1:]
		case syntax.OpBeginText:
			m.start, parts = edgeTextEdge, parts[1:]
		}
	}
	if n := len(parts); n > 0 {
		switch parts[n-1].Op {
		case syntax.OpWordBoundary:
			m.end, parts = edgeWord, parts[:n-1]
		case syntax.OpEndText:
			m.end, parts = edgeTextEdge, parts[:n-1]
		}
	}
	if len(parts) == 0 {
		return nil
	}
	folds, plain := caseOf(parts)
	if folds && plain {
		return nil // mixed case sensitivity: leave it to the regexp
	}
	m.fold = folds
	words := []string{""}
	for _, p := range parts {
		w, ok := m.expand(p)
		if !ok {
			return nil
		}
		words = product(words, w)
		if words == nil {
			return nil
		}
	}
	slices.Sort(words)
	words = slices.Compact(words)
	if len(words) == 0 || slices.Contains(words, "") {
		return nil
	}
	for _, w := range words {
		m.words = append(m.words, []byte(w))
	}
	if m.start == edgeWord && !slices.ContainsFunc(m.words, func(w []byte) bool { return !isWordByte(w[0]) }) {
		m.byFirst = new([128][]int32)
		for i, w := range m.words {
			m.byFirst[w[0]] = append(m.byFirst[w[0]], int32(i))
		}
	}
	return m
}

// caseOf reports whether the pattern has case-insensitive letters and
// whether it has case-sensitive ones.
func caseOf(parts []*syntax.Regexp) (folds, plain bool) {
	var walk func(*syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			for _, r := range re.Rune {
				if isASCIILetter(r) {
					if re.Flags&syntax.FoldCase != 0 {
						folds = true
					} else {
						plain = true
					}
				}
			}
		case syntax.OpCharClass:
			letters, closed := false, true
			for i := 0; i+1 < len(re.Rune); i += 2 {
				for r := re.Rune[i]; r <= re.Rune[i+1] && r < 0x80; r++ {
					if isASCIILetter(r) {
						letters = true
						if !classHas(re.Rune, r^0x20) {
							closed = false
						}
					}
				}
			}
			if letters {
				if closed {
					folds = true // [Ss]: either case, as (?i) writes it
				} else {
					plain = true
				}
			}
		}
		for _, s := range re.Sub {
			walk(s)
		}
	}
	for _, p := range parts {
		walk(p)
	}
	return folds, plain
}

// expand returns the words re matches, or false when they are not a small
// finite set. Non-ASCII runes can never match an ASCII input, so words
// that need one are dropped.
func (m *literalMatcher) expand(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		b := make([]byte, 0, len(re.Rune))
		for _, r := range re.Rune {
			if r >= 0x80 {
				return nil, true
			}
			b = append(b, m.foldByte(byte(r)))
		}
		return []string{string(b)}, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1] && r < 0x80; r++ {
				out = append(out, string([]byte{m.foldByte(byte(r))}))
				if len(out) > maxLiteralWords {
					return nil, false
				}
			}
		}
		slices.Sort(out)
		return slices.Compact(out), true
	case syntax.OpCapture:
		return m.expand(re.Sub[0])
	case syntax.OpQuest:
		w, ok := m.expand(re.Sub[0])
		return append(w, ""), ok
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			w, ok := m.expand(s)
			if !ok {
				return nil, false
			}
			out = append(out, w...)
			if len(out) > maxLiteralWords {
				return nil, false
			}
		}
		return out, true
	case syntax.OpConcat:
		out := []string{""}
		for _, s := range re.Sub {
			w, ok := m.expand(s)
			if !ok {
				return nil, false
			}
			if out = product(out, w); out == nil {
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}

// product is every a followed by every b, or nil when there are too many.
func product(a, b []string) []string {
	if len(a)*len(b) > maxLiteralWords {
		return nil
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

func (m *literalMatcher) foldByte(c byte) byte {
	if m.fold && 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// match is regexp.MatchString for the pattern.
func (m *literalMatcher) match(s string) bool {
	if len(s) > maxLiteralInput {
		return m.re.MatchString(s)
	}
	if m.byFirst != nil {
		return m.matchAtWordStarts(s)
	}
	var buf [maxLiteralInput]byte
	in := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return m.re.MatchString(s) // folding and \b are Unicode matters now
		}
		in[i] = m.foldByte(c)
	}
	for _, w := range m.words {
		for from := 0; from+len(w) <= len(in); {
			i := bytes.Index(in[from:], w)
			if i < 0 {
				break
			}
			i += from
			if m.startOK(in, i, w) && endOK(m.end, in, i+len(w), w) {
				return true
			}
			from = i + 1
		}
	}
	return false
}

// matchAtWordStarts is match for a matcher with byFirst. It folds bytes
// as it compares them, so that it needs no folded copy of s; a match found
// before a non-ASCII byte stands (the regexp finds it too), and the first
// such byte with none found sends s to the regexp.
func (m *literalMatcher) matchAtWordStarts(s string) bool {
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return m.re.MatchString(s)
		}
		if isWordByte(c) == inWord {
			continue
		}
		if inWord = !inWord; !inWord {
			continue
		}
		for _, j := range m.byFirst[m.foldByte(c)] {
			if w := m.words[j]; m.wordAt(s, i, w) && endOK(m.end, s, i+len(w), w) {
				return true
			}
		}
	}
	return false
}

// wordAt reports whether s holds word w at i, folding s's bytes as the
// matcher does.
func (m *literalMatcher) wordAt(s string, i int, w []byte) bool {
	if len(s)-i < len(w) {
		return false
	}
	for k, want := range w {
		if m.foldByte(s[i+k]) != want {
			return false
		}
	}
	return true
}

func (m *literalMatcher) startOK(in []byte, i int, w []byte) bool {
	switch m.start {
	case edgeWord:
		return (i > 0 && isWordByte(in[i-1])) != isWordByte(w[0])
	case edgeTextEdge:
		return i == 0
	}
	return true
}

// endOK reports whether what follows a word of in ending at j is what end
// asks for.
func endOK[T string | []byte](end edge, in T, j int, w []byte) bool {
	switch end {
	case edgeWord:
		return (j < len(in) && isWordByte(in[j])) != isWordByte(w[len(w)-1])
	case edgeTextEdge:
		return j == len(in)
	}
	return true
}

// isWordByte is \w in Go's regexp: [0-9A-Za-z_].
func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isASCIILetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

// classHas reports whether the ranges of a character class hold r.
func classHas(ranges []rune, r rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= r && r <= ranges[i+1] {
			return true
		}
	}
	return false
}

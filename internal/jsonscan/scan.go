package jsonscan

import "github.com/leadq/leadq/internal/swar"

// Space returns the index of the first byte of b at or after i that is not
// JSON whitespace (space, tab, line feed, carriage return), or len(b).
func Space(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// End returns where the value that starts at b[i] ends, matching quotes
// and brackets without validating what lies between them: just after the
// quote that closes a string or the bracket that closes an object or array
// (brackets of either kind are counted alike), or, for anything else
// (numbers, literals, garbage), at the first whitespace, comma, colon,
// quote or bracket. complete is false when b ends first: the value may go
// on in bytes not yet read (a bare value that reaches the end of b is
// incomplete too). A byte that cannot start a value (whitespace, a comma, a
// colon or a closing bracket) gives end == i.
func End(b []byte, i int) (end int, complete bool) {
	switch b[i] {
	case '"':
		if i = swar.StringEnd(b, i+1); i == len(b) {
			return i, false
		}
		return i + 1, true
	case '{', '[':
	default:
		for ; i < len(b); i++ {
			switch b[i] {
			case ' ', '\t', '\n', '\r', ',', ':', '"', '{', '}', '[', ']':
				return i, true
			}
		}
		return i, false
	}
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			if i = swar.StringEnd(b, i+1); i == len(b) {
				return i, false
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1, true
			}
		}
	}
	return i, false
}

// TooDeep returns the index of the first '{' or '[' in b that opens an
// object or array nested deeper than max, or -1 when none does. It looks at
// brackets and quotes only (malformed JSON is for the decoder to describe),
// so that deep input can be refused before any decoder sees it.
func TooDeep(b []byte, max int) int {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = swar.StringEnd(b, i+1) // its closing quote, or the end
		case '{', '[':
			if depth++; depth > max {
				return i
			}
		case '}', ']':
			depth--
		}
	}
	return -1
}

// Skip passes over the JSON value that starts at b[i] and returns where it
// ends. ok is true only when b[i:end] is a value that encoding/json's Valid
// accepts and that nests objects and arrays at most depth deep (depth 0
// accepts strings, numbers and literals only). Like Valid, it accepts
// strings that are not valid UTF-8, which decoders replace. What follows
// the value is the caller's: Skip of "1x" ends at 1, ok. It allocates only
// for values nested more than 256 deep.
func Skip(b []byte, i, depth int) (end int, ok bool) {
	var objects stack // one bit per open container: object or array
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; {
		case c == '"':
			if i = stringEnd(b, i); i < 0 {
				return len(b), false
			}
		case c == '{' || c == '[':
			if objects.n >= depth {
				return i, false
			}
			objects.push(c == '{')
			if i = Space(b, i+1); i < len(b) && b[i] == c+2 { // '}' and ']' are 2 above '{' and '['
				objects.pop()
				i++
				break
			}
			if c == '{' {
				if i = member(b, i); i < 0 {
					return len(b), false
				}
			}
			continue // the first element or member's value
		case c == '-' || c >= '0' && c <= '9':
			if i = Number(b, i); i < 0 {
				return len(b), false
			}
		case c == 't':
			if i = literal(b, i, "true"); i < 0 {
				return len(b), false
			}
		case c == 'f':
			if i = literal(b, i, "false"); i < 0 {
				return len(b), false
			}
		case c == 'n':
			if i = literal(b, i, "null"); i < 0 {
				return len(b), false
			}
		default:
			return i, false
		}
		// A value ended at i: close the containers it ends, then go on
		// with the next element or member, if any.
		for {
			if objects.n == 0 {
				return i, true
			}
			if i = Space(b, i); i >= len(b) {
				return i, false
			}
			obj := objects.top()
			switch b[i] {
			case ',':
				i = Space(b, i+1)
				if obj {
					if i = member(b, i); i < 0 {
						return len(b), false
					}
				}
			case '}', ']':
				if obj != (b[i] == '}') {
					return i, false
				}
				objects.pop()
				i++
				continue
			default:
				return i, false
			}
			break
		}
	}
}

// member passes over an object member's key and colon at b[i], and the
// whitespace after them: where its value starts, or -1.
func member(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = stringEnd(b, i); i < 0 {
		return -1
	}
	if i = Space(b, i); i >= len(b) || b[i] != ':' {
		return -1
	}
	return Space(b, i+1)
}

// stringEnd returns the index just after the JSON string whose opening
// quote is b[i], or -1 when it does not end or holds a control character
// or an escape JSON does not have.
func stringEnd(b []byte, i int) int {
	i++
	for {
		i = swar.SkipPlain(b, i)
		for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
			i++ // the last bytes, which SkipPlain leaves
		}
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !hex(b[i+2]) || !hex(b[i+3]) || !hex(b[i+4]) || !hex(b[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default:
			return -1 // a control character
		}
	}
}

func hex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Number returns the index just after the JSON number that starts at b[i],
// or -1 when no number starts there: an optional minus, an integer without
// leading zeros, an optional fraction and an optional exponent. Like Skip,
// it leaves what follows to the caller ("01" is the number 0, then 1).
func Number(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i = digits(b, i+1); b[i-1] == '.' {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		if i = digits(b, i); i == start {
			return -1
		}
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func literal(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// stack is a stack of bits, one per open object (1) or array (0), in a
// fixed array for the first 256 levels, so that Skip allocates nothing
// for the nesting real input has.
type stack struct {
	n     int
	fixed [4]uint64
	more  []uint64 // levels 256 and deeper
}

func (s *stack) word(level int) *uint64 {
	if w := level / 64; w < len(s.fixed) {
		return &s.fixed[w]
	}
	return &s.more[level/64-len(s.fixed)]
}

func (s *stack) push(object bool) {
	if s.n/64 == len(s.fixed)+len(s.more) {
		s.more = append(s.more, 0) // levels are pushed one at a time
	}
	bit := uint64(1) << (s.n % 64)
	if w := s.word(s.n); object {
		*w |= bit
	} else {
		*w &^= bit
	}
	s.n++
}

func (s *stack) pop() { s.n-- }

func (s *stack) top() bool {
	return *s.word(s.n - 1)>>((s.n-1)%64)&1 == 1
}

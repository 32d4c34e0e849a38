package engine

import (
	"fmt"

	"github.com/leadq/leadq/internal/swar"
)

// CheckDepth refuses JSON nested deeper than max objects and arrays, before
// any decoding: a lead is flat, and deep nesting is only ever an attack on
// the decoder. It scans bytes, skipping strings; malformed JSON is left to
// the decoder to describe.
func CheckDepth(data []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString && !escaped:
			// Skip the plain bytes of the string eight at a time.
			if i = swar.SkipPlain(data, i); i >= len(data) {
				return nil
			}
			switch c = data[i]; c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return &InputError{Offset: int64(i + 1),
					Message: fmt.Sprintf("JSON nested deeper than %d objects and arrays", max)}
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

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
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = swar.StringEnd(data, i+1) // its closing quote, or the end
		case '{', '[':
			if depth++; depth > max {
				return &InputError{Offset: int64(i + 1),
					Message: fmt.Sprintf("JSON nested deeper than %d objects and arrays", max)}
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

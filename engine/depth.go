package engine

import (
	"fmt"

	"github.com/leadq/leadq/internal/jsonscan"
)

// CheckDepth refuses JSON nested deeper than max objects and arrays, before
// any decoding: a lead is flat, and deep nesting is only ever an attack on
// the decoder. It looks at brackets and quotes only (jsonscan.TooDeep);
// malformed JSON is left to the decoder to describe.
func CheckDepth(data []byte, max int) error {
	if i := jsonscan.TooDeep(data, max); i >= 0 {
		return &InputError{Offset: int64(i + 1),
			Message: fmt.Sprintf("JSON nested deeper than %d objects and arrays", max)}
	}
	return nil
}

package engine

import (
	"math"
	"strconv"
	"testing"
)

// FuzzSmallNumbers holds the decoder's short paths for numbers to strconv:
// whatever they take, they read as ParseInt and ParseFloat do.
func FuzzSmallNumbers(f *testing.F) {
	for _, s := range []string{"0", "-0", "7", "007", "-12", "123456789012345678", "9007199254740993",
		"-9007199254740992", "1e3", "1.5", "+5", "-", "", "1234567890123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if i, ok := smallInt(s); ok {
			if want, err := strconv.ParseInt(s, 10, 64); err != nil || int64(i) != want {
				t.Fatalf("smallInt(%q) = %d; ParseInt gives %d, %v", s, i, want, err)
			}
		}
		if x, ok := smallFloat(s); ok {
			if want, err := strconv.ParseFloat(s, 64); err != nil || math.Float64bits(x) != math.Float64bits(want) {
				t.Fatalf("smallFloat(%q) = %v; ParseFloat gives %v, %v", s, x, want, err)
			}
		}
	})
}

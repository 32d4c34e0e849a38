package eval

import "strings"

// foldSet decides contains_any and contains_all against a constant list
// of ASCII strings: each item of the lead's list is lowered once and
// looked up, instead of compared by strings.EqualFold with every entry
// (a stack of five against a list of ten is fifty comparisons).
//
// It agrees with EqualFold: for ASCII strings, simple case folding is
// ASCII case folding. An item with other bytes is compared the slow way,
// since some non-ASCII letters fold to ASCII ones (U+212A, the Kelvin
// sign, is k); and lists with non-ASCII entries do not get a foldSet.
type foldSet struct {
	index   map[string]int // lowered entry → its bit in a mask
	lowered []string       // the entries, lowered, by bit: few are faster scanned than hashed
	want    []string
	full    uint64 // every entry's bit: what contains_all must see
	lengths uint64 // bit n: an entry of n bytes; bit 63: of 63 or more
}

// foldScanMax is how many entries a foldSet scans rather than hashes.
const foldScanMax = 16

// newFoldSet returns the set of want, or nil when it cannot be one: an
// entry is not ASCII, or there are more than 64 distinct entries.
func newFoldSet(want []string) *foldSet {
	s := &foldSet{index: map[string]int{}, want: want}
	for _, w := range want {
		if !isASCII(w) {
			return nil
		}
		k := strings.ToLower(w)
		if _, dup := s.index[k]; !dup {
			if len(s.index) == 64 {
				return nil
			}
			s.index[k] = len(s.index)
			s.lowered = append(s.lowered, k)
			s.lengths |= 1 << min(len(k), 63)
		}
		s.full |= 1 << s.index[k]
	}
	return s
}

// test reports whether have holds any entry of the set (all false) or
// every entry (all true), ignoring case.
func (s *foldSet) test(have []string, all bool) bool {
	var seen uint64
	var buf [64]byte
	for _, h := range have {
		bit := -1
		if s.lengths&(1<<min(len(h), 63)) == 0 && isASCII(h) {
			continue // no entry has its length: most items are not in the set
		}
		if len(s.lowered) <= foldScanMax && isASCII(h) {
			for i, w := range s.lowered {
				if len(w) == len(h) && equalFoldASCII(h, w) {
					bit = i
					break
				}
			}
		} else if len(h) <= len(buf) && isASCII(h) {
			lowered := buf[:len(h)]
			for i := 0; i < len(h); i++ {
				c := h[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				lowered[i] = c
			}
			if i, ok := s.index[string(lowered)]; ok {
				bit = i
			}
		} else {
			for _, w := range s.want {
				if strings.EqualFold(h, w) {
					bit = s.index[strings.ToLower(w)]
					break
				}
			}
		}
		if bit < 0 {
			continue
		}
		if !all {
			return true
		}
		seen |= 1 << bit
	}
	if !all {
		return false
	}
	return seen == s.full
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// equalFoldASCII reports whether ASCII s, lowered, is lower, of the same length.
func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

package rulefile

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// DidYouMean returns " (did you mean X?)" for the candidate closest to s, or
// "" when none is close enough to be a likely typo. Case does not count: a
// column header "Lead Source" is one typo away from "lead source". Every
// did-you-mean leadq prints (rule files, input keys, mappings, derive's
// columns) comes from here.
func DidYouMean(s string, candidates []string) string {
	best, bestDist := "", len(s)/2+2
	lower := strings.ToLower(s)
	n := utf8.RuneCountInString(lower)
	for _, c := range candidates {
		// The difference of the lengths is a lower bound of the distance:
		// a long key (an input's keys are anyone's) costs nothing to refuse.
		if m := utf8.RuneCountInString(c); n-m > bestDist || m-n > bestDist {
			continue
		}
		if d := editDistance(lower, strings.ToLower(c)); d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > max(2, len(s)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance between a and b, by characters.
// Its rows are on the stack for the short strings it mostly compares (a key
// of a lead against the fields' names, once per undeclared key).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	var buf [2 * 48]int
	var prev, cur []int
	if len(rb) < 48 {
		prev, cur = buf[:len(rb)+1], buf[48:48+len(rb)+1]
	} else {
		prev, cur = make([]int, len(rb)+1), make([]int, len(rb)+1)
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

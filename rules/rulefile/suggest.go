package rulefile

import (
	"fmt"
	"strings"
)

// DidYouMean returns " (did you mean X?)" for the candidate closest to s, or
// "" when none is close enough to be a likely typo. Case does not count: a
// column header "Lead Source" is one typo away from "lead source". Every
// did-you-mean leadq prints (rule files, input keys, mappings, derive's
// columns) comes from here.
func DidYouMean(s string, candidates []string) string {
	best, bestDist := "", len(s)/2+2
	lower := strings.ToLower(s)
	for _, c := range candidates {
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
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
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

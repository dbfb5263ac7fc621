package kit

import (
	"fmt"
	"sort"
	"strings"
)

// Suggest returns ` (did you mean "x"?)` for the candidate closest to s
// by edit distance, or the list of valid candidates when none is close
// (and there are few), or "".
func Suggest(s string, candidates []string) string {
	if dym := DidYouMean(s, candidates); dym != "" {
		return dym
	}
	if len(candidates) > 0 && len(candidates) <= 12 {
		c := append([]string(nil), candidates...)
		sort.Strings(c)
		return " (valid: " + strings.Join(c, ", ") + ")"
	}
	return ""
}

// DidYouMean returns ` (did you mean "x"?)` for the candidate closest to
// s by edit distance if it is close (at most max(2, len(s)/3) edits),
// else "": for messages that list the valid values already.
func DidYouMean(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(s)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of neighbours
// each cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2, prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1), make([]int, len(rb)+1)
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
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

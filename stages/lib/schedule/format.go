package schedule

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Rank orders schedules from the most to the least training of the lower
// layers: joint, bfc-x, layerwise, lower-only, end2end (the order in which
// tables and figures list them); unknown names come last.
func Rank(name string) int {
	if i := slices.Index([]string{Joint, BFCX, Layerwise, LowerOnly, End2End}, name); i >= 0 {
		return i
	}
	return 99
}

// FormatLayers writes a list of layers as history tables store it: "2,3".
func FormatLayers(ls []int) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = strconv.Itoa(l)
	}
	return strings.Join(s, ",")
}

// ParseLayers reads a list written by FormatLayers.
func ParseLayers(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		l, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("layer list %q: %w", s, err)
		}
		out = append(out, l)
	}
	return out, nil
}

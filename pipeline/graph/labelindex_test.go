package graph

import (
	"fmt"
	"slices"
	"testing"
)

// TestLabelIndexMatchesAScan checks that labelIndex.match returns what
// scanning every point with consistent returns, in the same order, with
// uniform axes (indexed) and mixed ones (scanned).
func TestLabelIndexMatchesAScan(t *testing.T) {
	pt := func(labels map[string]string) *Point { return &Point{ID: PointID("s", labels), Labels: labels} }
	var uniform []*Point
	for seed := 1; seed <= 4; seed++ {
		for _, n := range []string{"8", "16", "1:6"} {
			uniform = append(uniform, pt(map[string]string{"seed": fmt.Sprint(seed), "n": n}))
		}
	}
	mixed := append(slices.Clone(uniform), pt(map[string]string{"seed": "1"}), pt(map[string]string{}))
	cases := []struct {
		name    string
		pts     []*Point
		parts   []map[string]string
		indexed bool
	}{
		{"shared seed", uniform, []map[string]string{{"seed": "2", "d": "4"}, {"seed": "9", "d": "4"}}, true},
		{"shared seed and n", uniform, []map[string]string{{"seed": "3", "n": "16"}, {"seed": "1", "n": "1:6"}}, true},
		{"nothing shared", uniform, []map[string]string{{"d": "4"}}, true},
		{"no labels", uniform, []map[string]string{{}}, true},
		{"mixed points", mixed, []map[string]string{{"seed": "1"}, {"seed": "2", "n": "8"}}, false},
		{"mixed partials", uniform, []map[string]string{{"seed": "1"}, {"n": "8"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parts := make([]partial, len(c.parts))
			for i, l := range c.parts {
				parts[i] = partial{labels: l}
			}
			ix := newLabelIndex(c.pts, parts)
			if got := ix.shared != nil; got != c.indexed {
				t.Fatalf("indexed = %v, want %v", got, c.indexed)
			}
			for _, pa := range parts {
				var want []*Point
				for _, p := range c.pts {
					if consistent(pa.labels, p.Labels) {
						want = append(want, p)
					}
				}
				if got := ix.match(pa.labels); !slices.Equal(got, want) {
					t.Errorf("match(%v) = %v, want %v", pa.labels, ids(got), ids(want))
				}
			}
		})
	}
}

func ids(pts []*Point) []string {
	out := make([]string, len(pts))
	for i, p := range pts {
		out[i] = p.ID
	}
	return out
}

// TestPointIDFormat checks PointID's text, which names refs and appears in
// keys (input components): "stage[a=1,b=x]" with axes in name order.
func TestPointIDFormat(t *testing.T) {
	cases := []struct {
		labels map[string]string
		want   string
	}{
		{nil, "s"},
		{map[string]string{"seed": "1"}, "s[seed=1]"},
		{map[string]string{"seed": "1", "d": "8", "method": "krr_poly", "n": "128"}, "s[d=8,method=krr_poly,n=128,seed=1]"},
		{map[string]string{"b": "", "a": "x=y,z"}, "s[a=x=y,z,b=]"},
		{map[string]string{"a9": "1", "a10": "2", "b": "3", "c": "4", "d": "5", "e": "6", "f": "7", "g": "8", "h": "9"}, "s[a10=2,a9=1,b=3,c=4,d=5,e=6,f=7,g=8,h=9]"},
	}
	for _, c := range cases {
		if got := PointID("s", c.labels); got != c.want {
			t.Errorf("PointID(s, %v) = %q, want %q", c.labels, got, c.want)
		}
	}
}

package view

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// Selectors. A command-line name selects points of a graph:
//
//	E5_kernel                    every point of a stage
//	E5_*                         every point of every stage the glob matches
//	E5_kernel[n=128]             the points with that label, whatever their other axes
//	E5_kernel[seed=1,method=krr_poly,d=8]   axes in any order, any subset
//	E5_*[d=1*]                   globs in stage names and values (path.Match: * ? [...])
//
// A point id as bfc prints it (axes in name order, all of them) is a
// selector that matches exactly that point. An unknown stage, an axis no
// selected stage has, or a value no point has is an error that lists the
// valid ones.

// Select resolves command-line selectors to points, in the order given
// (each point once). No names select every point.
func Select(g *graph.Graph, names []string) ([]*graph.Point, error) {
	if len(names) == 0 {
		return g.Points, nil
	}
	var out []*graph.Point
	seen := map[*graph.Point]bool{}
	for _, n := range names {
		pts, err := selectOne(g, n)
		if err != nil {
			return nil, err
		}
		for _, p := range pts {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// cond is one axis=pattern of a selector.
type cond struct{ axis, pattern string }

// parseSelector splits "STAGE[a=x,b=y]" into the stage pattern and its
// conditions, checking every glob's syntax.
func parseSelector(s string) (string, []cond, error) {
	bad := func(why string) error {
		return fmt.Errorf("selector %q: %s (write STAGE or STAGE[axis=value,...], globs allowed)", s, why)
	}
	stage, rest, hasConds := strings.Cut(s, "[")
	if stage == "" {
		return "", nil, bad("no stage name")
	}
	if _, err := path.Match(stage, ""); err != nil {
		return "", nil, bad("bad glob " + strconv.Quote(stage))
	}
	if !hasConds {
		if strings.ContainsAny(s, "]=,") {
			return "", nil, bad("unexpected ] = or , outside brackets")
		}
		return stage, nil, nil
	}
	body, ok := strings.CutSuffix(rest, "]")
	if !ok {
		return "", nil, bad("missing the closing ]")
	}
	var conds []cond
	seen := map[string]bool{}
	for _, part := range strings.Split(body, ",") {
		axis, val, ok := strings.Cut(part, "=")
		axis, val = strings.TrimSpace(axis), strings.TrimSpace(val)
		if !ok || axis == "" || val == "" {
			return "", nil, bad(fmt.Sprintf("%q is not axis=value", part))
		}
		if seen[axis] {
			return "", nil, bad("axis " + axis + " given twice")
		}
		seen[axis] = true
		if _, err := path.Match(val, ""); err != nil {
			return "", nil, bad("bad glob " + strconv.Quote(val))
		}
		conds = append(conds, cond{axis, val})
	}
	return stage, conds, nil
}

func selectOne(g *graph.Graph, s string) ([]*graph.Point, error) {
	if p, ok := g.Point(s); ok { // an exact point id, as printed
		return []*graph.Point{p}, nil
	}
	pat, conds, err := parseSelector(s)
	if err != nil {
		return nil, err
	}
	var stages []*graph.Stage
	var ids []string
	for _, st := range g.Stages {
		ids = append(ids, st.ID)
		if ok, _ := path.Match(pat, st.ID); ok {
			stages = append(stages, st)
		}
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no stage matches %q in %s%s", pat, g.Config.File, config.Suggest(pat, ids))
	}
	what := stages[0].ID
	if len(stages) > 1 || pat != stages[0].ID {
		what = fmt.Sprintf("stages matching %q", pat)
	}
	axes := map[string]map[string]bool{} // axis -> values, over the selected stages
	for _, st := range stages {
		for _, p := range st.Points {
			for a, v := range p.Labels {
				if axes[a] == nil {
					axes[a] = map[string]bool{}
				}
				axes[a][v] = true
			}
		}
	}
	for _, c := range conds {
		vals, ok := axes[c.axis]
		if !ok {
			valid := "it has no grid axes"
			if len(axes) > 0 {
				valid = "axes: " + strings.Join(slices.Sorted(maps.Keys(axes)), ", ")
			}
			return nil, fmt.Errorf("%s: no axis %q (%s)", what, c.axis, valid)
		}
		if !slices.ContainsFunc(slices.Collect(maps.Keys(vals)), func(v string) bool { return match(c.pattern, v) }) {
			return nil, fmt.Errorf("%s: no point has %s=%s (%s: %s)", what, c.axis, c.pattern, c.axis, strings.Join(sortedValues(vals), ", "))
		}
	}
	var out []*graph.Point
	for _, st := range stages {
		for _, p := range st.Points {
			if matchAll(p.Labels, conds) {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no point has all of %s", what, s[strings.IndexByte(s, '[')+1:len(s)-1])
	}
	return out, nil
}

// matchAll reports whether labels satisfy every condition; a point
// without one of the axes does not match.
func matchAll(labels map[string]string, conds []cond) bool {
	for _, c := range conds {
		v, ok := labels[c.axis]
		if !ok || !match(c.pattern, v) {
			return false
		}
	}
	return true
}

func match(pattern, v string) bool {
	ok, _ := path.Match(pattern, v)
	return ok
}

// sortedValues orders label values numerically when they all are numbers.
func sortedValues(vals map[string]bool) []string {
	out := slices.Collect(maps.Keys(vals))
	slices.SortFunc(out, func(a, b string) int {
		x, errA := strconv.ParseFloat(a, 64)
		y, errB := strconv.ParseFloat(b, 64)
		switch {
		case errA == nil && errB == nil && x != y:
			if x < y {
				return -1
			}
			return 1
		case errA == nil && errB != nil:
			return -1
		case errA != nil && errB == nil:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

package figure

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

func init() {
	Register("E10-depth", Plot{Build: e10Depth, Reads: trainReads})
}

// e10Depth plots the depth series (E10): at every depth L, the final test
// error and eps_2 of each schedule (joint, layerwise, the lower-only
// control), and the layerwise/joint ratio of every seed against L, one
// line per seed, whose growth per added layer claim 3 decides.
func e10Depth(env kit.Env, _ kit.Params) (*Spec, error) {
	all, Ls, err := finishedRuns(env)
	if err != nil {
		return nil, err
	}
	if len(Ls) < 2 {
		return nil, fmt.Errorf("train inputs of one depth L = %d: the depth series needs at least two", Ls[0])
	}
	names, groups := bySchedule(all)
	cats := make([]string, len(Ls))
	col := map[int]float64{}
	for i, L := range Ls {
		cats[i], col[L] = "L = "+strconv.Itoa(L), float64(i)
	}
	xAxis := Axis{Label: "depth L of target and learner", Categories: cats}
	test := Panel{Title: "final test error", X: xAxis, Y: Axis{Label: "test MSE / Var(y) (log scale)", Scale: Log}, Series: reserveColours()}
	eps := Panel{Title: "final feature error of layer 2", X: xAxis, Y: Axis{Label: "ε₂ (log scale)", Scale: Log}}
	const step = 0.06
	seeds := 0
	for _, p := range []struct {
		panel *Panel
		val   func(train.Run) float64
	}{{&test, func(r train.Run) float64 { return r.TestRelErr }}, {&eps, func(r train.Run) float64 { return r.Eps[2] }}} {
		for _, name := range names {
			med := Series{Name: name + " (median)", Group: name, Style: LinePoints}
			pts := Series{Group: name, Style: Points}
			for _, L := range Ls {
				rs := atDepth(groups[name], L)
				v := make([]float64, len(rs))
				for i, r := range rs {
					v[i] = p.val(r)
					pts.X, pts.Y = append(pts.X, col[L]+seedOffset(i, len(rs), step)), append(pts.Y, v[i])
				}
				seeds = max(seeds, len(rs))
				if len(v) > 0 {
					med.X, med.Y = append(med.X, col[L]), append(med.Y, metrics.Median(v))
				}
			}
			p.panel.Series = append(p.panel.Series, med, pts)
		}
	}
	spec := &Spec{Title: "E10: the depth series — joint, layerwise and the lower-only control at one budget rule", Panels: []Panel{test, eps}, Cols: 3}
	var medRatios []string
	if lw, jt := groups["layerwise"], groups["joint"]; len(lw) > 0 && len(jt) > 0 {
		ratio := Panel{Title: "layerwise / joint, same seed", X: xAxis, Y: Axis{Label: "test error ratio (log scale)", Scale: Log}}
		med := Series{Name: "median over seeds", Style: LinePoints, Reference: true}
		bySeed := map[string]*Series{}
		var order []string
		for _, L := range Ls {
			var v []float64
			for _, r := range atDepth(lw, L) {
				j, ok := findReplicate(jt, r.Replicate)
				if !ok {
					continue
				}
				q := r.TestRelErr / j.TestRelErr
				v = append(v, q)
				s, seen := bySeed[r.Label()]
				if !seen {
					order = append(order, r.Label())
					s = &Series{Group: "layerwise", Style: LinePoints, Glyph: len(order) - 1}
					bySeed[r.Label()] = s
				}
				s.X, s.Y = append(s.X, col[L]), append(s.Y, q)
			}
			if len(v) > 0 {
				med.X, med.Y = append(med.X, col[L]), append(med.Y, metrics.Median(v))
				medRatios = append(medRatios, fmt.Sprintf("L = %d: %s", L, fmtNum(metrics.Median(v))))
			}
		}
		for _, s := range order {
			ratio.Series = append(ratio.Series, *bySeed[s])
		}
		ratio.Series = append(ratio.Series, med)
		spec.Panels = append(spec.Panels, ratio)
	}
	notes := []string{
		fmt.Sprintf("One target network per depth and seed, the same d, k and gamma at every depth; every depth trained under one budget rule "+
			"(docs/science.md#e10). Lines: medians over seeds (up to %d per depth); dots: individual seeds, spread sideways. "+
			"All schedules of one target continue one shared run of layer 2 alone; layerwise keeps layer 2 frozen after it.", seeds),
	}
	if len(medRatios) > 0 {
		notes = append(notes, "Right: the ratio of final test errors layerwise / joint of every seed (one line and marker per seed) and their median: "+
			strings.Join(medRatios, ", ")+". Its growth per added layer (exp of the median per-seed slope of its log against L) and the verdict: "+
			"claim 3 of the claims table.")
	}
	notes = append(notes, trainSetup(all[0]))
	spec.Notes = notes
	return spec, nil
}

// atDepth returns the runs of depth L.
func atDepth(rs []train.Run, L int) []train.Run {
	return runsWhere(rs, func(r train.Run) bool { return r.L == L })
}

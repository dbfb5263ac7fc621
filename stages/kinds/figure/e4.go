package figure

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

func init() {
	Register("E4-information-gap", Plot{Build: e4InformationGap, Reads: trainReads, Options: []kit.Param{depthOption}})
}

// e4InformationGap plots the final eps_2 and test error of joint and
// layerwise training against the information gap gamma (the runs' "gap"
// label), and their paired ratio.
func e4InformationGap(env kit.Env, opts kit.Params) (*Spec, error) {
	all, err := trainRunsOfOneDepth(env, opts)
	if err != nil {
		return nil, err
	}
	var runs []train.Run
	var gaps []float64
	for _, r := range all {
		if math.IsNaN(r.Gap) {
			continue
		}
		runs = append(runs, r)
		if !slices.Contains(gaps, r.Gap) {
			gaps = append(gaps, r.Gap)
		}
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("no train input with a gap label among %d (E4 sweeps the target's gap)", len(all))
	}
	slices.Sort(gaps)
	L := runs[0].L
	names, groups := bySchedule(runs)
	seeds := 0
	// One column per gamma: the sweep's values are typically log-spaced.
	cats := make([]string, len(gaps))
	for i, g := range gaps {
		cats[i] = strconv.FormatFloat(g, 'g', -1, 64)
	}
	xAxis := Axis{Label: "information gap gamma (α_l = gamma^(l−2))", Categories: cats}
	eps := Panel{Title: "final feature error of layer 2", X: xAxis, Y: Axis{Label: "ε₂ (log scale)", Scale: Log}, Series: reserveColours()}
	test := Panel{Title: "final test error", X: xAxis, Y: Axis{Label: "test MSE / Var(y) (log scale)", Scale: Log}}
	ratio := Panel{Title: "layerwise / joint, same seed", X: xAxis, Y: Axis{Label: "test error ratio (log scale)", Scale: Log}}
	// Seeds are spread sideways around their gamma's column.
	const step = 0.06
	at := func(gi, i, n int) float64 { return float64(gi) + seedOffset(i, n, step) }
	for _, p := range []struct {
		panel *Panel
		val   func(train.Run) float64
	}{{&eps, func(r train.Run) float64 { return r.Eps[2] }}, {&test, func(r train.Run) float64 { return r.TestRelErr }}} {
		for _, name := range names {
			med := Series{Name: name + " (median)", Group: name, Style: LinePoints}
			pts := Series{Group: name, Style: Points}
			for gi, g := range gaps {
				var v []float64
				rs := atGap(groups[name], g)
				for i, r := range rs {
					v = append(v, p.val(r))
					pts.X, pts.Y = append(pts.X, at(gi, i, len(rs))), append(pts.Y, p.val(r))
				}
				seeds = max(seeds, len(rs))
				if len(v) > 0 {
					med.X, med.Y = append(med.X, float64(gi)), append(med.Y, metrics.Median(v))
				}
			}
			p.panel.Series = append(p.panel.Series, med, pts)
		}
	}
	var medRatios []string
	if lw, jt := groups["layerwise"], groups["joint"]; len(lw) > 0 && len(jt) > 0 {
		med := Series{Name: "layerwise / joint (median)", Group: "layerwise", Style: LinePoints}
		pts := Series{Group: "layerwise", Style: Points}
		for gi, g := range gaps {
			var v []float64
			rs := atGap(lw, g)
			for i, r := range rs {
				if j, ok := findReplicate(jt, r.Replicate); ok {
					q := r.TestRelErr / j.TestRelErr
					v = append(v, q)
					pts.X, pts.Y = append(pts.X, at(gi, i, len(rs))), append(pts.Y, q)
				}
			}
			if len(v) > 0 {
				med.X, med.Y = append(med.X, float64(gi)), append(med.Y, metrics.Median(v))
				medRatios = append(medRatios, fmt.Sprintf("gamma %g: %s", g, fmtNum(metrics.Median(v))))
			}
		}
		ratio.Series = append(ratio.Series, med, pts)
	}
	spec := &Spec{Title: fmt.Sprintf("E4: information gap — joint versus layerwise training at L = %d", L), Panels: []Panel{eps, test}}
	if len(ratio.Series) > 0 {
		spec.Panels = append(spec.Panels, ratio)
	}
	notes := []string{
		fmt.Sprintf("One target network per gamma and seed (α_2 = 1, α_3 = gamma: a larger gamma is a weaker information gap; ours). "+
			"One column per gamma, equally spaced. Lines: medians over seeds (up to %d per gamma); dots: individual seeds, spread sideways. "+
			"Both schedules continue one shared run of layer 2 alone per target; layerwise keeps layer 2 frozen after it, so its ε₂ is the value at the switch.",
			seeds),
	}
	if len(medRatios) > 0 {
		notes = append(notes, "Median ratio of final test errors layerwise / joint (paired by seed): "+strings.Join(medRatios, ", ")+
			". Whether it grows as the gap weakens: claim 3 of the claims table.")
	}
	notes = append(notes, trainSetup(runs[0]))
	spec.Notes = notes
	return spec, nil
}

// runsWhere returns the runs for which keep holds, in order.
func runsWhere(rs []train.Run, keep func(train.Run) bool) []train.Run {
	var out []train.Run
	for _, r := range rs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// atGap returns the runs with gap g.
func atGap(rs []train.Run, g float64) []train.Run {
	return runsWhere(rs, func(r train.Run) bool { return r.Gap == g })
}

package figure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

func init() {
	Register("E3-bfc-depth", Plot{Build: e3BFCDepth, Reads: trainReads, Options: []kit.Param{depthOption}})
}

// e3BFCDepth plots, at one depth L, the final test error and feature
// errors against the depth of the correction x (0 = layerwise .. L-2 =
// joint): each seed a point coloured by schedule, the median a grey line.
func e3BFCDepth(env kit.Env, opts kit.Params) (*Spec, error) {
	all, err := trainRunsOfOneDepth(env, opts)
	if err != nil {
		return nil, err
	}
	var runs []train.Run
	for _, r := range all {
		if r.Staged() {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("no joint, layerwise or bfc-x run among %d train inputs", len(all))
	}
	L := runs[0].L
	var xs []int
	byX := map[int][]train.Run{}
	for _, r := range runs {
		if _, ok := byX[r.X]; !ok {
			xs = append(xs, r.X)
		}
		byX[r.X] = append(byX[r.X], r)
	}
	slices.Sort(xs)
	type panelDef struct {
		title, ylabel string
		val           func(train.Run) float64
		start         func(train.Run) float64 // value before the switch, or nil
	}
	defs := []panelDef{{"final test error", "test MSE / Var(y) (log scale)",
		func(r train.Run) float64 { return r.TestRelErr }, func(r train.Run) float64 { return r.TestRelErrSwitch }}}
	for l := 2; l <= L; l++ {
		d := panelDef{title: fmt.Sprintf("final feature error of layer %d", l), ylabel: fmt.Sprintf("ε%s (log scale)", subscript(l)),
			val: func(r train.Run) float64 { return r.Eps[l] }}
		if l == 2 {
			d.start = func(r train.Run) float64 { return r.EpsSwitch[2] }
		}
		defs = append(defs, d)
	}
	cats := make([]string, len(xs))
	for i, x := range xs {
		cats[i] = fmt.Sprintf("x = %d", x)
		switch scheduleOf(byX[x][0]) {
		case "layerwise":
			cats[i] += " (layerwise)"
		case "joint":
			cats[i] += " (joint)"
		}
	}
	const xLabel = "x: layers below the newest that keep training"
	spec := &Spec{Title: fmt.Sprintf("E3: how deep must the correction go? bfc-x at L = %d", L), Cols: 2}
	if len(defs) == 3 {
		spec.Cols = 3
	}
	const step = 0.06
	for pi, d := range defs {
		p := Panel{Title: d.title, X: Axis{Label: xLabel, Categories: cats}, Y: Axis{Label: d.ylabel, Scale: Log}}
		if pi == 0 {
			p.Series = reserveColours()
		}
		med := Series{Name: "median over seeds", Style: LinePoints, Reference: true}
		var seeds []Series
		for xi, x := range xs {
			rs := byX[x]
			pts := Series{Group: scheduleOf(rs[0]), Style: Points}
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = d.val(r)
				pts.X, pts.Y = append(pts.X, float64(xi)+seedOffset(i, len(rs), step)), append(pts.Y, v[i])
			}
			med.X, med.Y = append(med.X, float64(xi)), append(med.Y, metrics.Median(v))
			seeds = append(seeds, pts)
		}
		// The median line first, so that the seeds' points are drawn over it.
		p.Series = append(append(p.Series, med), seeds...)
		if d.start != nil {
			var v []float64
			for _, r := range byX[xs[0]] {
				v = append(v, d.start(r))
			}
			m := metrics.Median(v)
			p.Series = append(p.Series, Series{Name: "layer 2 alone, at the switch (median)", X: []float64{-0.3, float64(len(xs)-1) + 0.3},
				Y: []float64{m, m}, Dashed: true, Reference: true})
		}
		spec.Panels = append(spec.Panels, p)
	}
	notes := []string{
		fmt.Sprintf("bfc-x: when layer s switches on, layers max(2, s−x)..s train and the ones below are frozen; x = 0 is layerwise, x = %d = L−2 joint. "+
			"All x of one seed continue one shared run of layer 2 alone; dashed: its median at the switch (test error and ε₂). "+
			"Dots: individual seeds (up to %d, spread sideways), coloured as the schedules of E1 and E2 (bfc-1 in orange); grey line: medians over seeds.", L-2, maxSeeds(byX)),
	}
	// The share of joint's improvement that each intermediate x recovers,
	// by the same function as claim 5 of the claims table.
	var shares []string
	if lw, jt := byX[0], byX[L-2]; len(lw) > 0 && len(jt) > 0 {
		for _, x := range xs {
			if x == 0 || x == L-2 {
				continue
			}
			var e0, ex, ej []float64
			for _, r := range byX[x] {
				a, ok1 := findReplicate(lw, r.Replicate)
				b, ok2 := findReplicate(jt, r.Replicate)
				if ok1 && ok2 {
					e0, ex, ej = append(e0, a.TestRelErr), append(ex, r.TestRelErr), append(ej, b.TestRelErr)
				}
			}
			if len(e0) > 0 {
				shares = append(shares, fmt.Sprintf("bfc-%d recovers %.0f%% on the log scale (%.0f%% on the linear scale)", x,
					100*metrics.LogShareRecovered(e0, ex, ej), 100*metrics.ShareRecovered(e0, ex, ej)))
			}
		}
	}
	if len(shares) > 0 {
		notes = append(notes, "Of the median improvement in final test error from layerwise to joint training (paired by seed), "+
			strings.Join(shares, "; ")+". Intervals and verdict: claim 5 of the claims table.")
	}
	notes = append(notes, trainSetup(runs[0]))
	spec.Notes = notes
	return spec, nil
}

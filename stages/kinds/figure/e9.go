package figure

import (
	"fmt"
	"math"
	"slices"

	"github.com/bfc-repro/bfc/stages/kinds/nstarfit"
	"github.com/bfc-repro/bfc/stages/kit"
)

func init() {
	Register("E9-nstar", Plot{Build: e9NStar, Reads: nstarfit.Needs(), Options: []kit.Param{
		kit.BoolParam("fixed", false, "also draw the fixed thresholds (secondary), one panel each"),
	}})
}

// e9NStar plots N* against d on log-log axes for every learner of an
// nstarfit stage, one panel per (L, threshold): the median N* over seeds
// with a bar over the range of the seeds' brackets, censored medians as a
// bar at the bound with a dashed tail pointing the way, the censored
// fit's line, and beside each fitted line a grey line of the slope that
// the monomial count C(d+2^L, 2^L) has over the same d, from the same
// starting point.
func e9NStar(env kit.Env, opts kit.Params) (*Spec, error) {
	in, err := kit.OneInput(env, nstarfit.Kind{}.Name())
	if err != nil {
		return nil, err
	}
	a, err := nstarfit.Read(in)
	if err != nil {
		return nil, err
	}
	if len(a.Points) == 0 {
		return nil, fmt.Errorf("nstarfit %s has no points", in.Key())
	}
	type panelKey struct {
		L         int
		threshold string
	}
	var keys []panelKey
	for _, p := range a.Points {
		k := panelKey{p.L, p.Threshold}
		_, primary := nstarfit.PrimaryF(k.threshold)
		if !slices.Contains(keys, k) && (opts.Bool("fixed") || primary) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("nstarfit %s has no primary threshold (set the option fixed=true to draw the others)", in.Key())
	}
	spec := &Spec{Title: "E9: sample need N*(d) from the adaptive search, against the input dimension d", Cols: min(2, len(keys)),
		PanelWidth: 5.2, PanelHeight: 4.2}
	var nBracket, nAbove, nBelow, maxSeeds int
	var methods []string
	for _, k := range keys {
		pts := slices.DeleteFunc(slices.Clone(a.Points), func(p nstarfit.Point) bool { return p.L != k.L || p.Threshold != k.threshold })
		ms := methodsOf(pts, func(p nstarfit.Point) string { return p.Method })
		for _, m := range ms {
			if !slices.Contains(methods, m) {
				methods = append(methods, m)
			}
		}
		ds := distinct(pts, func(p nstarfit.Point) int { return p.D })
		title := fmt.Sprintf("L = %d, τ = %s", k.L, k.threshold)
		if f, ok := nstarfit.PrimaryF(k.threshold); ok {
			title = fmt.Sprintf("L = %d, primary τ = f·share of Var(y) above degree %d (f = %s)", k.L, 1<<(k.L-1), f)
		}
		panel := Panel{Title: title, X: Axis{Label: fmt.Sprintf("input dimension d (log scale; d = %s)", fmtList(ds)), Scale: Log},
			Y: Axis{Label: "N* (training samples, log scale)", Scale: Log}, Series: reserveLearnerColours()}
		for li, m := range ms {
			dodge := math.Exp((float64(li) - float64(len(ms)-1)/2) * e6Dodge)
			fi := slices.IndexFunc(a.Fits, func(f nstarfit.Fit) bool { return f.Method == m && f.L == k.L && f.Threshold == k.threshold })
			label := learnerLabel(m) + ": no fit"
			var fit nstarfit.Fit
			if fi >= 0 {
				fit = a.Fits[fi]
				if !math.IsNaN(fit.Slope) {
					label = fmt.Sprintf("%s: slope %.2f [%.2f, %.2f]; C(d+%d,%d): %.2f", learnerLabel(m), fit.Slope, fit.Lo, fit.Hi,
						1<<k.L, 1<<k.L, fit.MonomialSlope)
				}
			}
			dots := Series{Name: label, Group: m, Style: Points}
			var glyphs []Series
			for _, p := range pts {
				if p.Method != m {
					continue
				}
				maxSeeds = max(maxSeeds, p.Seeds)
				x := float64(p.D) * dodge
				switch {
				case p.Median == 0 || math.IsInf(p.Median, 1):
					bound, tail := p.MedianHi, 1/e6Tail
					if math.IsInf(p.Median, 1) {
						bound, tail = p.MedianLo, e6Tail
						nAbove++
					} else {
						nBelow++
					}
					glyphs = append(glyphs,
						Series{Group: m, Style: Line, X: []float64{x * (1 - e6Cap), x * (1 + e6Cap)}, Y: []float64{bound, bound}},
						Series{Group: m, Style: Line, Dashed: true, X: []float64{x, x}, Y: []float64{bound, bound * tail}})
				default:
					nBracket++
					dots.X, dots.Y = append(dots.X, x), append(dots.Y, p.Median)
					lo, hi := math.Max(p.Lo, p.Median/e6Tail), p.Hi
					if math.IsInf(hi, 1) {
						hi = p.Median * e6Tail
					}
					glyphs = append(glyphs, Series{Group: m, Style: Line, X: []float64{x, x}, Y: []float64{lo, hi}})
				}
			}
			if len(dots.X) == 0 && len(glyphs) > 0 {
				dots.X, dots.Y, dots.Style = glyphs[0].X, glyphs[0].Y, Line
			}
			panel.Series = append(panel.Series, dots)
			panel.Series = append(panel.Series, glyphs...)
			if fi >= 0 && !math.IsNaN(fit.Slope) && len(ds) >= 2 {
				d0, d1 := float64(ds[0]), float64(ds[len(ds)-1])
				y0 := math.Exp(fit.Intercept + fit.Slope*math.Log(d0))
				panel.Series = append(panel.Series,
					Series{Group: m, Style: Line, X: []float64{d0, d1}, Y: []float64{y0, math.Exp(fit.Intercept + fit.Slope*math.Log(d1))}},
					Series{Reference: true, Dashed: true, Style: Line, X: []float64{d0, d1},
						Y: []float64{y0, y0 * math.Exp(fit.MonomialSlope*math.Log(d1/d0))}})
			}
		}
		for _, d := range ds {
			panel.Markers = append(panel.Markers, Marker{X: float64(d)})
		}
		spec.Panels = append(spec.Panels, panel)
	}
	spec.Notes = []string{
		fmt.Sprintf("N*: the smallest n at which a learner's test MSE / exact Var(y) reaches τ, bracketed per target by an adaptive "+
			"search (doubling from n_min, then bisection to hi/lo ≤ 1.25; docs/science.md#nstar-search). Dots: the median over seeds "+
			"(up to %d per d) of the brackets' geometric midpoints; bars: from the smallest lower to the largest upper end of the "+
			"seeds' brackets. Censored medians: a short bar at the bound (the median of the seeds' lower, or upper, ends) "+
			"with a dashed tail pointing up (N* > n_max) or down (N* ≤ n_min). "+
			"Over all panels: %d bracketed medians, %d above the budget, %d below n_min.", maxSeeds, nBracket, nAbove, nBelow),
		"Solid lines: the interval-censored maximum-likelihood fit of log N* on log d (every search enters with its bracket, censored " +
			"ones as bounds); the legend gives its slope with the bootstrap interval over seeds and, after it, the slope of " +
			"log C(d+2^L, 2^L) on log d over the same d, drawn as the grey dashed line from the fit's start: the growth of a learner " +
			"whose sample need follows the number of Hermite coefficients of degree ≤ 2^L over the measured range.",
		learnerNote(methods),
		"The claims stage decides claim 4 from these fits: the kernel's slope minus the deep learner's, at the primary threshold, against the margin of the frozen rules.",
	}
	return spec, nil
}

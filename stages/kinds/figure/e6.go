package figure

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kit"
)

func init() {
	Register("E6-lower-bound", Plot{Build: e6LowerBound, Reads: scaling.Needs(), Options: []kit.Param{depthOption}})
}

// Geometry of the censored and dodged glyphs of E6, as factors on the log
// axes.
const (
	// e6Dodge spreads the learners sideways: learner i of k is drawn at
	// d·exp((i − (k−1)/2)·e6Dodge), so that equal values do not hide
	// each other.
	e6Dodge = 0.018
	// e6Cap is the half-width of the bar at a censoring bound (less than
	// half the dodge, so that neighbouring bars stay apart), and e6Tail
	// the length of its dashed tail (a factor on n).
	e6Cap  = 0.007
	e6Tail = 1.6
	// e6RefSamples is the number of points of each reference curve.
	e6RefSamples = 60
)

// superscript writes a small non-negative integer with Unicode
// superscript digits.
func superscript(n int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	sup := []rune(digits)
	var b strings.Builder
	for _, c := range strconv.Itoa(n) {
		b.WriteRune(sup[c-'0'])
	}
	return b.String()
}

// logBinomial returns log C(d+p, p) for real d > -1.
func logBinomial(d float64, p int) float64 {
	a, _ := math.Lgamma(d + float64(p) + 1)
	b, _ := math.Lgamma(d + 1)
	c, _ := math.Lgamma(float64(p) + 1)
	return a - b - c
}

// slopeText is a fit's slope with its interval for a legend, or why there
// is none.
func slopeText(f fitRow, ok bool) string {
	if !ok {
		return "no fit"
	}
	if math.IsNaN(f.slope) {
		return fmt.Sprintf("no fit (N* at %d of %d d)", f.points, f.points+f.censored)
	}
	s := fmt.Sprintf("slope %.2f", f.slope)
	if lo, hi, which := f.interval(); which != "" {
		s += fmt.Sprintf(" [%.2f, %.2f]", lo, hi)
		if which == "t" {
			s += " (t)"
		}
	}
	return s
}

// e6LowerBound plots log N* against log d for every learner, one panel per
// threshold tau: interpolated N* with their bootstrap intervals, censored
// values as bars at the grid edge with a dashed tail pointing the way,
// the least-squares fits (slopes in the legend), and the references d^{2^L}
// and C(d+2^L, 2^L) drawn through a common point (only their slopes
// matter).
func e6LowerBound(env kit.Env, opts kit.Params) (*Spec, error) {
	s, err := readScaling(env, opts)
	if err != nil {
		return nil, err
	}
	taus := distinct(s.nstar, func(r nstarRow) float64 { return r.tau })
	if len(taus) == 0 {
		return nil, fmt.Errorf("scaling %s has no N* (nstar table empty)", s.key)
	}
	p := 1 << s.L
	methods := methodsOf(s.nstar, func(r nstarRow) string { return r.method })
	spec := &Spec{Title: fmt.Sprintf("E6: sample need N*(d) against the input dimension d (L = %d)", s.L), Cols: min(3, len(taus)),
		PanelWidth: 5.2, PanelHeight: 4.2}
	var nInterp, nAbove, nBelow, maxSeeds int
	xLabel := fmt.Sprintf("input dimension d (log scale; d = %s)", fmtList(distinct(s.nstar, func(r nstarRow) int { return r.d })))
	for _, tau := range taus {
		rows := slices.DeleteFunc(slices.Clone(s.nstar), func(r nstarRow) bool { return r.tau != tau })
		panel := Panel{Title: fmt.Sprintf("τ = %g: N* = first n with median test error ≤ %g", tau, tau),
			X: Axis{Label: xLabel, Scale: Log},
			Y: Axis{Label: "N* (training samples, log scale)", Scale: Log}, Series: reserveLearnerColours()}
		for li, m := range methods {
			dodge := math.Exp((float64(li) - float64(len(methods)-1)/2) * e6Dodge)
			fi := slices.IndexFunc(s.fits, func(f fitRow) bool { return f.method == m && f.tau == tau })
			var f fitRow
			if fi >= 0 {
				f = s.fits[fi]
			}
			pts := Series{Name: learnerLabel(m) + ": " + slopeText(f, fi >= 0), Group: m, Style: Points}
			var glyphs []Series
			for _, r := range rows {
				if r.method != m {
					continue
				}
				maxSeeds = max(maxSeeds, r.seeds)
				x := float64(r.d) * dodge
				switch r.status {
				case scaling.Interpolated:
					nInterp++
					pts.X, pts.Y = append(pts.X, x), append(pts.Y, r.nstar)
					lo, hi := math.Max(r.lo, float64(r.nMin)), math.Min(r.hi, float64(r.nMax))
					if !math.IsNaN(lo) && !math.IsNaN(hi) && hi > lo {
						glyphs = append(glyphs, Series{Group: m, Style: Line, X: []float64{x, x}, Y: []float64{lo, hi}})
					}
				case scaling.NotReached, scaling.BelowGrid:
					tail := e6Tail
					if r.status == scaling.BelowGrid {
						tail, nBelow = 1/e6Tail, nBelow+1
					} else {
						nAbove++
					}
					glyphs = append(glyphs,
						Series{Group: m, Style: Line, X: []float64{x * (1 - e6Cap), x * (1 + e6Cap)}, Y: []float64{r.bound, r.bound}},
						Series{Group: m, Style: Line, Dashed: true, X: []float64{x, x}, Y: []float64{r.bound, r.bound * tail}})
				default:
					return nil, fmt.Errorf("scaling %s: %s d=%d tau=%g: unknown N* status %q", s.key, m, r.d, tau, r.status)
				}
			}
			if len(pts.X) == 0 {
				// A legend entry (with the learner's colour) even when every
				// value is censored: the censoring bar at its first position.
				for _, g := range glyphs {
					if !g.Dashed {
						pts.X, pts.Y, pts.Style = g.X, g.Y, Line
						break
					}
				}
			}
			panel.Series = append(panel.Series, pts)
			panel.Series = append(panel.Series, glyphs...)
			if fi >= 0 && !math.IsNaN(f.slope) {
				ds := strings.Split(f.dims, ",")
				lo, _ := strconv.Atoi(ds[0])
				hi, _ := strconv.Atoi(ds[len(ds)-1])
				line := Series{Group: m, Style: Line}
				for _, d := range []float64{float64(lo), float64(hi)} {
					line.X, line.Y = append(line.X, d), append(line.Y, math.Exp(f.intercept+f.slope*math.Log(d)))
				}
				panel.Series = append(panel.Series, line)
			}
		}
		panel.Series = append(panel.Series, e6References(rows, p)...)
		// Unlabelled lines at the grid's dimensions, which the log axis's
		// ticks do not show (the glyphs are spread around them).
		for _, d := range distinct(rows, func(r nstarRow) int { return r.d }) {
			panel.Markers = append(panel.Markers, Marker{X: float64(d)})
		}
		spec.Panels = append(spec.Panels, panel)
	}
	level := "the"
	if !math.IsNaN(s.level) {
		level = fmt.Sprintf("%g%%", 100*s.level)
	}
	notes := []string{
		fmt.Sprintf("N*(d): the smallest number of training samples n at which the median test error over seeds (up to %d per d) reaches τ, "+
			"interpolated linearly in log error against log n between the grid values of E5. Dots: N*; vertical bars: its %s percentile "+
			"bootstrap interval over seeds, cut at the ends of the n grid. Solid lines: least-squares fits of log N* on log d over the dimensions "+
			"with an interpolated N*; the legend gives the slope b of N* = c·d^b with its %s interval (bootstrap over seeds; \"(t)\": t interval).",
			maxSeeds, level, level),
		fmt.Sprintf("Censored values, left out of the fits and never extrapolated: a short bar at the grid edge with a dashed tail pointing up, "+
			"N* > n_max (the median never reaches τ on the grid), or down, N* ≤ n_min (reached at the smallest n). "+
			"Over all panels: %d interpolated, %d beyond the grid, %d below it. Dotted vertical lines: the dimensions d of the grid; learners are spread sideways around them by a few percent of d so that equal values stay visible.",
			nInterp, nAbove, nBelow),
		fmt.Sprintf("Grey references, drawn through a common point so that only their slopes matter: dashed d%s, the exponent 2^L = %d that "+
			"theory gives for kernel methods and fixed features, d^Θ(2^L) (an order, not a constant-exact prediction); solid C(d+%d, %d), "+
			"the number of monomials of degree ≤ %d in d variables, its finite-d version.%s",
			superscript(p), p, p, p, p, monomialSlopes(s.fits)),
	}
	if c := censoredAgainstFits(s); c != "" {
		notes = append(notes, c)
	}
	notes = append(notes,
		learnerNote(methods),
		"The verdict on claim 4 (the claims table) compares each learner's slope with the deep learner's.")
	spec.Notes = notes
	return spec, nil
}

// censoredAgainstFits lists, for a caption, the censored N* that lie on
// the wrong side of their learner's fitted line: N* > n_max where the line
// gives less, or N* ≤ n_min where it gives more ("" if none). Such a value
// at a dimension beyond the fitted ones means that N* grows faster there
// than the fitted slope says.
func censoredAgainstFits(s *scalingData) string {
	var parts []string
	steeper := false
	for _, f := range s.fits {
		if math.IsNaN(f.slope) {
			continue
		}
		var fitted []int
		for _, d := range strings.Split(f.dims, ",") {
			v, _ := strconv.Atoi(d)
			fitted = append(fitted, v)
		}
		for _, r := range s.nstar {
			if r.method != f.method || r.tau != f.tau {
				continue
			}
			at := math.Exp(f.intercept + f.slope*math.Log(float64(r.d)))
			switch {
			case r.status == scaling.NotReached && at < r.bound:
				parts = append(parts, fmt.Sprintf("%s, τ = %g: N* > %s at d = %d, where the fit gives %s", learnerLabel(f.method), f.tau, fmtNum(r.bound), r.d, fmtNum(at)))
				steeper = steeper || r.d > slices.Max(fitted)
			case r.status == scaling.BelowGrid && at > r.bound:
				parts = append(parts, fmt.Sprintf("%s, τ = %g: N* ≤ %s at d = %d, where the fit gives %s", learnerLabel(f.method), f.tau, fmtNum(r.bound), r.d, fmtNum(at)))
				steeper = steeper || r.d < slices.Min(fitted)
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	out := "Censored values on the wrong side of their learner's fitted line: " + strings.Join(parts, "; ") + "."
	if steeper {
		out += " Where such a value lies beyond the fitted dimensions, N* grows faster there than the fitted slope says: " +
			"the n grid is too short to measure the slope over all d."
	}
	return out
}

// monomialSlopes lists the slope of log C(d+2^L, 2^L) on log d over the
// dimension sets of the fits, as a caption sentence ("" if none).
func monomialSlopes(fits []fitRow) string {
	seen := map[string]bool{}
	var parts []string
	for _, f := range fits {
		if math.IsNaN(f.monoSlope) || seen[f.dims] {
			continue
		}
		seen[f.dims] = true
		parts = append(parts, fmt.Sprintf("%.2f over d = %s", f.monoSlope, strings.ReplaceAll(f.dims, ",", ", ")))
	}
	if len(parts) == 0 {
		return ""
	}
	return " Its least-squares slope on the dimensions of the fits: " + strings.Join(parts, "; ") + "."
}

// e6References returns the grey reference curves d^p and C(d+p, p) over
// the dimensions of rows, both through the anchor (d0, y0): d0 the
// smallest dimension with an interpolated N*, y0 the geometric mean of its
// N* values (without any, the smallest dimension and the geometric mean of
// its grid ends). Each is cut where it leaves the grid's range of n by
// more than the censoring tails, so that it does not stretch the axis.
func e6References(rows []nstarRow, p int) []Series {
	dims := distinct(rows, func(r nstarRow) int { return r.d })
	if len(dims) < 2 {
		return nil
	}
	d0, y0 := 0, 0.0
	for _, d := range dims {
		var logs []float64
		for _, r := range rows {
			if r.d == d && r.status == scaling.Interpolated {
				logs = append(logs, math.Log(r.nstar))
			}
		}
		if len(logs) > 0 {
			d0, y0 = d, math.Exp(mean(logs))
			break
		}
	}
	nLo, nHi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		nLo, nHi = math.Min(nLo, float64(r.nMin)), math.Max(nHi, float64(r.nMax))
	}
	if d0 == 0 {
		d0, y0 = dims[0], math.Sqrt(nLo*nHi)
	}
	yLo, yHi := nLo/e6Tail, nHi*e6Tail
	lo, hi := math.Log(float64(dims[0])), math.Log(float64(dims[len(dims)-1]))
	power := Series{Name: fmt.Sprintf("d%s (theory, kernels)", superscript(p)), Dashed: true, Reference: true}
	binom := Series{Name: fmt.Sprintf("C(d+%d, %d)", p, p), Reference: true}
	for i := 0; i < e6RefSamples; i++ {
		d := math.Exp(lo + (hi-lo)*float64(i)/(e6RefSamples-1))
		for _, c := range []struct {
			s *Series
			y float64
		}{
			{&power, y0 * math.Pow(d/float64(d0), float64(p))},
			{&binom, y0 * math.Exp(logBinomial(d, p)-logBinomial(float64(d0), p))},
		} {
			if c.y >= yLo && c.y <= yHi {
				c.s.X, c.s.Y = append(c.s.X, d), append(c.s.Y, c.y)
			}
		}
	}
	return []Series{power, binom}
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

package figure

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kit"
)

// E5-E7 figures: the sample complexity of non-hierarchical learners
// against the deep learner. E5 and E6 read the three tables of one
// "scaling" input (stages/kinds/scaling: curves, nstar, fits), E7 the table of a
// "collect" input of sweep points (stages/kinds/sweep, stages/kinds/collect).
func init() {
	Register("E5-sample-complexity", Plot{Build: e5SampleComplexity, Reads: scaling.Needs(), Options: []kit.Param{depthOption,
		kit.StringParam("spread", "minmax", "the band around the median: min-max over seeds or the inter-quartile range").OneOf("minmax", "iqr")}})
}

// learnerGroups is the fixed order in which the E5-E7 figures reserve
// colours: a learner has the same colour in all three. The spare entry
// takes the palette's sky blue (too close to krr_poly's blue), so that the
// deep learner, the one the figures compare against, is drawn in black.
var learnerGroups = []string{sweep.KRRPoly, sweep.KRRNTK, sweep.Monomial, sweep.TwoLayerReLU, sweep.TwoLayerQuad, "(spare)", sweep.Deep}

// learnerLabels are the short legend names of the sweep's methods.
var learnerLabels = map[string]string{
	sweep.KRRPoly:      "kernel ridge (polynomial)",
	sweep.KRRNTK:       "kernel ridge (ReLU NTK)",
	sweep.Monomial:     "ridge on monomials",
	sweep.TwoLayerReLU: "two-layer ReLU",
	sweep.TwoLayerQuad: "two-layer quadratic",
	sweep.Deep:         "deep learner",
}

// learnerLabel is the legend name of method (the method itself if it has
// none).
func learnerLabel(method string) string {
	if l, ok := learnerLabels[method]; ok {
		return l
	}
	return method
}

// learnerOrder orders methods as learnerGroups, unknown ones last by name.
func learnerOrder(a, b string) int {
	rank := func(m string) int {
		if i := slices.Index(learnerGroups, m); i >= 0 {
			return i
		}
		return len(learnerGroups)
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
}

// reserveLearnerColours returns empty series of every learner group, to be
// placed first in a figure (see reserveColours).
func reserveLearnerColours() []Series {
	out := make([]Series, len(learnerGroups))
	for i, g := range learnerGroups {
		out[i] = Series{Group: g}
	}
	return out
}

// learnerNote explains the learners that appear among methods, for a
// caption.
func learnerNote(methods []string) string {
	what := map[string]string{
		sweep.KRRPoly:  "kernel ridge (polynomial): kernel ridge regression with the kernel (1 + x·x'/d)^p",
		sweep.KRRNTK:   "kernel ridge (ReLU NTK): with the neural tangent kernel of a two-layer ReLU network",
		sweep.Monomial: "ridge on monomials: ridge regression on all C(d+p, p) monomials of degree ≤ p (only feasible at small d)",
		"twolayer":     "two-layer ReLU and quadratic: one hidden layer with σ(z) = max(z, 0) or z², trained with Adam, early stopping on a validation split",
		sweep.Deep:     "deep learner: the hierarchical learner of docs/science.md#learner, joint training",
	}
	var parts []string
	ridge := false
	for _, m := range methods {
		key := m
		if strings.HasPrefix(m, "twolayer") {
			key = "twolayer"
		}
		if w, ok := what[key]; ok && !slices.Contains(parts, w) {
			parts = append(parts, w)
		}
		ridge = ridge || m == sweep.KRRPoly || m == sweep.KRRNTK || m == sweep.Monomial
	}
	s := "Learners (docs/science.md#baselines): " + strings.Join(parts, "; ") + "."
	if ridge {
		s += " Ridge methods choose the ridge on a validation split and refit; p is the sweep's degree (by default 2^L, the target's degree)."
	}
	return s
}

// scalingData is what a "scaling" stage computed, restricted to one depth L.
type scalingData struct {
	key    string
	L      int
	level  float64 // confidence level of the intervals
	curves []curveRow
	nstar  []nstarRow
	fits   []fitRow
}

// curveRow is one row of scaling's curves table: the error of a learner
// at one (d, n), over seeds.
type curveRow struct {
	method                     string
	L, d, n, count             int
	median, q25, q75, min, max float64
}

// nstarRow is one row of scaling's nstar table.
type nstarRow struct {
	method            string
	L, d              int
	tau               float64
	seeds, nMin, nMax int
	monomials, nstar  float64
	status            string
	bound, lo, hi     float64
}

// fitRow is one row of scaling's fits table.
type fitRow struct {
	method                               string
	L                                    int
	tau                                  float64
	points, censored                     int
	dims                                 string
	slope, intercept, loT, hiT, loB, hiB float64
	theory, monoSlope                    float64
}

// interval returns the fit's slope interval: the bootstrap interval if
// there is one, else the t interval (NaN if neither), and which it is.
func (f fitRow) interval() (lo, hi float64, which string) {
	if !math.IsNaN(f.loB) && !math.IsNaN(f.hiB) {
		return f.loB, f.hiB, "bootstrap"
	}
	if !math.IsNaN(f.loT) && !math.IsNaN(f.hiT) {
		return f.loT, f.hiT, "t"
	}
	return math.NaN(), math.NaN(), ""
}

// readScaling reads the one "scaling" input of env, keeping depth L
// (option "L"; by default the input must hold one depth only).
func readScaling(env kit.Env, opts kit.Params) (*scalingData, error) {
	in, err := kit.OneInput(env, "scaling")
	if err != nil {
		return nil, err
	}
	a, level, err := scaling.Read(in)
	if err != nil {
		return nil, err
	}
	s := &scalingData{key: in.Key(), level: level}
	for _, r := range a.Curves {
		s.curves = append(s.curves, curveRow{r.Method, r.L, r.D, r.N, r.Count, r.Median, r.Q25, r.Q75, r.Min, r.Max})
	}
	for _, r := range a.NStar {
		s.nstar = append(s.nstar, nstarRow{r.Method, r.L, r.D, r.Threshold, r.Reps, r.NMin, r.NMax, r.Monomials, r.NStar, r.Status, r.Bound, r.Lo, r.Hi})
	}
	for _, f := range a.Fits {
		s.fits = append(s.fits, fitRow{f.Method, f.L, f.Threshold, f.Points, f.Censored, f.Dims, f.Slope, f.Intercept,
			f.SlopeLoT, f.SlopeHiT, f.SlopeLoBoot, f.SlopeHiBoot, f.Theory, f.MonomialSlope})
	}
	var Ls []int
	for _, r := range s.curves {
		if !slices.Contains(Ls, r.L) {
			Ls = append(Ls, r.L)
		}
	}
	if len(Ls) == 0 {
		return nil, fmt.Errorf("scaling %s has no curves (no sweep results)", in.Key())
	}
	slices.Sort(Ls)
	if s.L, err = chooseL(opts, Ls); err != nil {
		return nil, fmt.Errorf("scaling %s: %w", in.Key(), err)
	}
	s.curves = keepL(s.curves, s.L, func(r curveRow) int { return r.L })
	s.nstar = keepL(s.nstar, s.L, func(r nstarRow) int { return r.L })
	s.fits = keepL(s.fits, s.L, func(r fitRow) int { return r.L })
	return s, nil
}

// chooseL returns the depth given by option "L", which must be one of Ls,
// or the only element of Ls.
func chooseL(opts kit.Params, Ls []int) (int, error) {
	L := opts.Int("L")
	if L == 0 {
		if len(Ls) > 1 {
			return 0, fmt.Errorf("results at depths %v: choose one with the option L=...", Ls)
		}
		return Ls[0], nil
	}
	if !slices.Contains(Ls, L) {
		return 0, fmt.Errorf("no results at depth L = %d (have %v)", L, Ls)
	}
	return L, nil
}

func keepL[T any](rows []T, L int, of func(T) int) []T {
	var out []T
	for _, r := range rows {
		if of(r) == L {
			out = append(out, r)
		}
	}
	return out
}

// distinct returns the sorted distinct values of f over rows.
func distinct[T any, V cmp.Ordered](rows []T, f func(T) V) []V {
	var out []V
	for _, r := range rows {
		if v := f(r); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// methodsOf returns the distinct methods of rows in learnerOrder.
func methodsOf[T any](rows []T, method func(T) string) []string {
	ms := distinct(rows, method)
	slices.SortFunc(ms, learnerOrder)
	return ms
}

// fmtList joins numbers as "0.2, 0.3 and 0.5".
func fmtList[V int | float64](v []V) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(float64(x), 'g', -1, 64)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// e5SampleComplexity plots the test relative error against n for every
// learner, one panel per input dimension d: the median over seeds and
// its spread (option spread=minmax, the default, or iqr), log-log, with
// horizontal lines at the thresholds tau that define N* in E6.
func e5SampleComplexity(env kit.Env, opts kit.Params) (*Spec, error) {
	s, err := readScaling(env, opts)
	if err != nil {
		return nil, err
	}
	spreadName := opts.String("spread")
	band := map[string]struct {
		lo, hi func(curveRow) float64
		text   string
	}{
		"minmax": {func(r curveRow) float64 { return r.min }, func(r curveRow) float64 { return r.max }, "min–max over seeds"},
		"iqr":    {func(r curveRow) float64 { return r.q25 }, func(r curveRow) float64 { return r.q75 }, "25–75% quantiles over seeds"},
	}
	b := band[spreadName] // one of the two: the option is validated
	taus := distinct(s.nstar, func(r nstarRow) float64 { return r.tau })
	dims := distinct(s.curves, func(r curveRow) int { return r.d })
	methods := methodsOf(s.curves, func(r curveRow) string { return r.method })
	spec := &Spec{Title: fmt.Sprintf("E5: test error against the number of training samples n (L = %d: the target has degree %d)", s.L, 1<<s.L),
		Cols: min(3, len(dims))}
	maxSeeds, minSeeds := 0, math.MaxInt
	const xLabel = "training samples n (log scale)"
	ns := distinct(s.curves, func(r curveRow) int { return r.n })
	for _, d := range dims {
		p := Panel{Title: fmt.Sprintf("d = %d", d), X: Axis{Label: xLabel, Scale: Log},
			Y: Axis{Label: "test MSE / Var(y) (log scale)", Scale: Log}, Series: reserveLearnerColours()}
		nLo, nHi := math.Inf(1), math.Inf(-1)
		for _, m := range methods {
			sr := Series{Name: learnerLabel(m), Group: m, Style: LinePoints}
			for _, r := range s.curves {
				if r.d != d || r.method != m {
					continue
				}
				sr.X, sr.Y = append(sr.X, float64(r.n)), append(sr.Y, r.median)
				sr.Lo, sr.Hi = append(sr.Lo, b.lo(r)), append(sr.Hi, b.hi(r))
				nLo, nHi = math.Min(nLo, float64(r.n)), math.Max(nHi, float64(r.n))
				maxSeeds, minSeeds = max(maxSeeds, r.count), min(minSeeds, r.count)
			}
			if len(sr.X) > 0 {
				p.Series = append(p.Series, sr)
			}
		}
		for i, tau := range taus {
			t := Series{X: []float64{nLo, nHi}, Y: []float64{tau, tau}, Dashed: true, Reference: true}
			if i == 0 {
				t.Name = "thresholds τ of N* (E6)"
			}
			p.Series = append(p.Series, t)
		}
		spec.Panels = append(spec.Panels, p)
	}
	// Learners that do not run at every d, with the dimensions where they do.
	var partial []string
	for _, m := range methods {
		mine := slices.DeleteFunc(slices.Clone(s.curves), func(r curveRow) bool { return r.method != m })
		at := distinct(mine, func(r curveRow) int { return r.d })
		if len(at) < len(dims) {
			partial = append(partial, fmt.Sprintf("%s at d = %s only", learnerLabel(m), fmtList(at)))
		}
	}
	seeds := strconv.Itoa(maxSeeds)
	if minSeeds < maxSeeds {
		seeds = fmt.Sprintf("%d to %d", minSeeds, maxSeeds)
	}
	notes := []string{
		fmt.Sprintf("Test relative error (test MSE / Var(y) on held-out samples) of each learner trained on the first n samples of a target network "+
			"of depth L = %d, at n = %s. Lines: median over seeds (%s per point; each seed is its own target network and its own training run); bands: %s.",
			s.L, fmtList(ns), seeds, b.text),
	}
	if len(taus) > 0 {
		notes = append(notes, fmt.Sprintf("Dashed grey lines: the thresholds τ = %s; E6 reads N*(d), the smallest n at which the median reaches τ "+
			"(interpolated on the log-n grid), off these curves.", fmtList(taus)))
	}
	if len(partial) > 0 {
		notes = append(notes, "Not every learner runs at every d: "+strings.Join(partial, "; ")+".")
	}
	notes = append(notes, learnerNote(methods))
	spec.Notes = notes
	return spec, nil
}

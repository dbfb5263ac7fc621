// Package scaling is the stage kind "scaling" (experiment E6): from the
// collected results of a sample-complexity sweep it computes, for every
// learner and dimension d, the sample need N*(d) and fits its growth
// log N* = a + b·log d.
//
// # N*(d)
//
// For a group (method, L, d) the test relative errors are first reduced to
// a median curve m(n): for each n of the group's grid, the median over
// replicates (seeds) of the test relative error (metrics.Median). N* is the
// first crossing of the threshold τ, interpolated on the log-n grid: with
// n_i the smallest grid value whose median is <= τ and n_{i-1} the one
// before it,
//
//	log N* = log n_{i-1} + (log τ − log m_{i-1}) · (log n_i − log n_{i-1}) / (log m_i − log m_{i-1}),
//
// that is linear interpolation of log m against log n (errors fall like
// powers of n); if m_i = 0 the interpolation is linear in m instead.
// Two cases have no value and are reported as such, never invented:
// "below_grid" (already m(n_min) <= τ: N* <= n_min, column bound = n_min)
// and "not_reached" (m(n) > τ on the whole grid: N* > n_max, bound =
// n_max). Column stays_below says whether every later median stays <= τ
// (kernel ridge regression can have a bump near n ≈ number of features).
//
// # Intervals
//
// A percentile bootstrap over replicates: the seeds of a group are
// resampled with replacement (B times, from the stage seed), the median
// curve and N* are recomputed, and the (1−level)/2 and (1+level)/2
// quantiles (metrics.Quantile) of the B values are reported. Replicates
// below the grid count as 0 and those that never reach τ as +Inf, so
// nstar_lo = 0 means "the lower end is below the grid" and nstar_hi = +Inf
// "the upper end is beyond it"; boot_censored_frac is the fraction of such
// replicates.
//
// # Fits
//
// Per (method, L, threshold), an ordinary least-squares fit of log N*
// against log d over the dimensions with an interpolated N* (censored
// dimensions are left out and counted). The slope b estimates the exponent
// in N* ∝ d^b. Two intervals: the t interval of the OLS slope (needs >= 3
// dimensions) and a bootstrap interval that resamples the seeds within
// every d independently and refits (replicates in which fewer than two
// dimensions have an interpolated N* are dropped and counted in
// boot_ok_frac). Next to it, the exponent theory predicts: kernel methods
// and regression on fixed features need d^{Θ(2^L)} samples (docs/science.md#claims,
// claim 4), so theory_exponent = 2^L for krr_poly, krr_ntk and monomial —
// an order, Θ(·), not a constant-exact prediction; for networks the column
// is NaN (no prediction). Because d^{2^L} is only the large-d behaviour, the
// tables also carry a finite-d reference: monomials = C(d+2^L, 2^L), the
// number of coefficients of a degree-2^L polynomial in d variables (what a
// kernel or fixed-feature learner must pin down to fit the target
// exactly), and monomial_slope, the OLS slope of log C(d+2^L, 2^L) on log d
// over the same dimensions as the fit. For d comparable to 2^L it is far
// below 2^L (d·ln((d+2^L)/d) locally).
package scaling

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/bfc-repro/bfc/stages/kinds/collect"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// Status values of an N* estimate.
const (
	Interpolated = "interpolated"
	BelowGrid    = "below_grid"
	NotReached   = "not_reached"
)

// Kind is the stage kind "scaling".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "scaling" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Sample need of each learner (E6): from a collect table of sweep results, the median test-error curve per " +
		"(method, L, d), N*(d) = first n where it reaches a threshold (log-log interpolation, censored values reported " +
		"as such) with a bootstrap interval over seeds, and a least-squares fit of log N* on log d per method with " +
		"t and bootstrap intervals next to the theoretical kernel exponent 2^L. Outputs: curves, nstar, fits."
}

// Params implements kit.Kind.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.FloatsParam("thresholds", []float64{0.1}, "test relative error thresholds tau defining N*").In(1e-12, 1e6).NonEmpty(1),
		kit.StringParam("replicate", "seed", "grid label (or string or integer column of the sweep results) that identifies a replicate, resampled by the bootstrap"),
		kit.StringParam("error", sweep.ColTestRelErr, "column of the sweep results holding the error to threshold").OneOf(sweep.ErrorColumns()...),
		kit.FloatParam("level", 0.9, "confidence level of the intervals").In(0.5, 0.999),
		kit.IntParam("boot", 2000, "bootstrap resamples").In(10, 1e6),
	}
}

// config is the typed form of a scaling stage's parameters.
type config struct {
	thresholds       []float64
	replicate, error string
	level            float64
	boot             int
}

func configOf(p kit.Params) config {
	return config{thresholds: p.Floats("thresholds"), replicate: p.String("replicate"), error: p.String("error"),
		level: p.Float("level"), boot: p.Int("boot")}
}

// Consumes implements kit.Consumer: a collect table of sweep results.
func (Kind) Consumes(kit.Params) []kit.TableNeed {
	return []kit.TableNeed{collect.Need(sweep.ResultDesc)}
}

// Row is one sweep result as scaling needs it.
type Row struct {
	Method string
	L, D   int
	N      int
	Rep    string // replicate id
	Err    float64
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	cfg := configOf(env.Params())
	in, err := kit.OneInput(env, "collect")
	if err != nil {
		return fmt.Errorf("scaling: %w", err)
	}
	tab, err := collect.Read(in, sweep.ResultDesc)
	if err != nil {
		return fmt.Errorf("scaling: %w", err)
	}
	defer tab.Release()
	rows, err := ReadRows(tab, cfg.replicate, cfg.error)
	if err != nil {
		return fmt.Errorf("scaling: input %s: %w", in.Key(), err)
	}
	a := Analyze(rows, cfg.thresholds, cfg.level, cfg.boot, env.Seed())
	for _, g := range a.NStar {
		env.Logf("%s L=%d d=%d tau=%g: N* %s", g.Method, g.L, g.D, g.Threshold, g.describe())
	}
	for _, f := range a.Fits {
		env.Logf("%s L=%d tau=%g: slope %.3g over %d dimensions (theory %v)", f.Method, f.L, f.Threshold, f.Slope, f.Points, f.Theory)
	}
	if err := kit.WriteAll(env, kit.Output{Name: TableCurves, Build: a.curvesTable}, kit.Output{Name: TableNStar, Build: a.nstarTable},
		kit.Output{Name: TableFits, Build: a.fitsTable}); err != nil {
		return fmt.Errorf("scaling: %w", err)
	}
	return nil
}

// ReadRows extracts (method, L, d, n, replicate, error) from a collect
// table of sweep results. The replicate is a grid label or a string or
// integer column of the results; errCol one of sweep.ErrorColumns.
func ReadRows(tab *kit.Rows, repCol, errCol string) ([]Row, error) {
	pts := sweep.Points(tab)
	errs := tab.Float64s(errCol)
	reps, err := readIDs(tab, repCol)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, len(pts))
	seen := map[string]int{}
	for i, p := range pts {
		rows[i] = Row{Method: p.Method, L: p.L, D: p.D, N: p.N, Rep: reps[i], Err: errs[i]}
		if math.IsNaN(errs[i]) || errs[i] < 0 {
			return nil, fmt.Errorf("row %d (%s d=%d n=%d %s=%s): %s is %v", i, p.Method, p.D, p.N, repCol, reps[i], errCol, errs[i])
		}
		id := fmt.Sprintf("%s/%d/%d/%d/%s", p.Method, p.L, p.D, p.N, reps[i])
		if j, dup := seen[id]; dup {
			return nil, fmt.Errorf("rows %d and %d are the same point (%s L=%d d=%d n=%d %s=%s): is %q the replicate column?", j, i, p.Method, p.L, p.D, p.N, repCol, reps[i], repCol)
		}
		seen[id] = i
	}
	return rows, nil
}

// readIDs returns the replicate of every row: a label column, else a
// string or integer column of the results.
func readIDs(tab *kit.Rows, name string) ([]string, error) {
	if v, ok := tab.Labels(name); ok {
		return v, nil
	}
	c, ok := tab.Desc.Column(name)
	switch {
	case !ok:
		return nil, fmt.Errorf("table has no replicate column %q (labels: %v)", name, tab.Desc.LabelNames(tab.Rec))
	case c.Type == kit.ColString:
		return tab.Strings(name), nil
	case c.Type == kit.ColInt64:
		v := tab.Int64s(name)
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = strconv.FormatInt(x, 10)
		}
		return out, nil
	}
	return nil, fmt.Errorf("replicate column %q is %s, want string or int64", name, c.Type)
}

// group is the data of one (method, L, d): errs[r][i] is the error of
// replicate r at grid value ns[i] (NaN if that point is missing).
type group struct {
	method string
	L, D   int
	ns     []int
	reps   []string
	errs   [][]float64
}

// groupRows splits rows by (method, L, d), in sorted order.
func groupRows(rows []Row) []*group {
	type key struct {
		m    string
		l, d int
	}
	byKey := map[key][]Row{}
	for _, r := range rows {
		k := key{r.Method, r.L, r.D}
		byKey[k] = append(byKey[k], r)
	}
	keys := make([]key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.m, b.m), cmp.Compare(a.l, b.l), cmp.Compare(a.d, b.d))
	})
	var out []*group
	for _, k := range keys {
		rs := byKey[k]
		g := &group{method: k.m, L: k.l, D: k.d}
		for _, r := range rs {
			g.ns = append(g.ns, r.N)
			g.reps = append(g.reps, r.Rep)
		}
		slices.Sort(g.ns)
		g.ns = slices.Compact(g.ns)
		slices.Sort(g.reps)
		g.reps = slices.Compact(g.reps)
		g.errs = make([][]float64, len(g.reps))
		for i := range g.errs {
			g.errs[i] = make([]float64, len(g.ns))
			for j := range g.errs[i] {
				g.errs[i][j] = math.NaN()
			}
		}
		for _, r := range rs {
			ri, _ := slices.BinarySearch(g.reps, r.Rep)
			ni, _ := slices.BinarySearch(g.ns, r.N)
			g.errs[ri][ni] = r.Err
		}
		out = append(out, g)
	}
	return out
}

// medianCurve returns, for every grid value, the median error over the
// replicates listed in reps (indices into g.reps, repeats allowed),
// skipping missing points; NaN where no replicate has the point.
func (g *group) medianCurve(reps []int, buf []float64) []float64 {
	out := make([]float64, len(g.ns))
	for j := range g.ns {
		buf = buf[:0]
		for _, r := range reps {
			if v := g.errs[r][j]; !math.IsNaN(v) {
				buf = append(buf, v)
			}
		}
		out[j] = math.NaN()
		if len(buf) > 0 {
			out[j] = metrics.Median(buf)
		}
	}
	return out
}

// Crossing is N* read off one median curve.
type Crossing struct {
	NStar      float64 // interpolated value; NaN unless Status == Interpolated
	Status     string
	Bound      float64 // n_min (below_grid) or n_max (not_reached); NaN otherwise
	StaysBelow bool    // every median after the crossing is <= tau as well
}

// Cross finds the first grid value whose median error is <= tau and
// interpolates N* (see the package documentation). Grid values with a
// NaN median are skipped.
func Cross(ns []int, med []float64, tau float64) Crossing {
	var xs []float64
	var ys []float64
	for i, n := range ns {
		if !math.IsNaN(med[i]) {
			xs = append(xs, float64(n))
			ys = append(ys, med[i])
		}
	}
	c := Crossing{NStar: math.NaN(), Bound: math.NaN()}
	if len(xs) == 0 {
		c.Status = NotReached
		return c
	}
	i := slices.IndexFunc(ys, func(v float64) bool { return v <= tau })
	switch {
	case i < 0:
		c.Status, c.Bound = NotReached, xs[len(xs)-1]
		return c
	case i == 0:
		c.Status, c.Bound = BelowGrid, xs[0]
	default:
		c.Status = Interpolated
		lx0, lx1 := math.Log(xs[i-1]), math.Log(xs[i])
		var t float64
		if ys[i] > 0 {
			t = (math.Log(tau) - math.Log(ys[i-1])) / (math.Log(ys[i]) - math.Log(ys[i-1]))
		} else {
			t = (tau - ys[i-1]) / (ys[i] - ys[i-1])
		}
		c.NStar = math.Exp(lx0 + t*(lx1-lx0))
	}
	c.StaysBelow = !slices.ContainsFunc(ys[i:], func(v float64) bool { return v > tau })
	return c
}

// censored returns the bootstrap encoding of a crossing: the value, 0
// below the grid, +Inf when not reached.
func (c Crossing) censored() float64 {
	switch c.Status {
	case BelowGrid:
		return 0
	case NotReached:
		return math.Inf(1)
	}
	return c.NStar
}

// NStar is one row of the nstar table.
type NStar struct {
	Method     string
	L, D       int
	Threshold  float64
	Reps       int
	NMin, NMax int
	Monomials  float64 // C(d+2^L, 2^L)
	Crossing
	Lo, Hi       float64 // bootstrap interval (0: below the grid, +Inf: beyond it)
	CensoredFrac float64 // fraction of bootstrap replicates without an interpolated N*
}

func (s NStar) describe() string {
	switch s.Status {
	case Interpolated:
		return fmt.Sprintf("%.4g [%.4g, %.4g]", s.NStar, s.Lo, s.Hi)
	case BelowGrid:
		return fmt.Sprintf("<= %d (below the grid)", s.NMin)
	}
	return fmt.Sprintf("> %d (not reached)", s.NMax)
}

// Fit is one row of the fits table.
type Fit struct {
	Method                   string
	L                        int
	Threshold                float64
	Points                   int    // dimensions with an interpolated N*
	Censored                 int    // dimensions left out (below the grid or not reached)
	Dims                     string // the dimensions used, comma-separated
	Slope, Intercept         float64
	SlopeSE                  float64
	SlopeLoT, SlopeHiT       float64 // t interval (NaN with fewer than 3 points)
	SlopeLoBoot, SlopeHiBoot float64
	BootOKFrac               float64
	Theory                   float64 // 2^L for kernel and fixed-feature methods, NaN otherwise
	MonomialSlope            float64 // slope of log C(d+2^L, 2^L) on log d over the fitted dimensions
}

// Curve is one row of the curves table: the spread over replicates of
// the error at one grid value.
type Curve struct {
	Method           string
	L, D, N, Count   int
	Median, Q25, Q75 float64
	Min, Max         float64
}

// Analysis is the output of Analyze.
type Analysis struct {
	Curves []Curve
	NStar  []NStar
	Fits   []Fit
}

// monomials returns C(d+2^L, 2^L) as a float (it may exceed any int).
func monomials(d, L int) float64 {
	p := 1 << L
	c := 1.0
	for k := 1; k <= p; k++ {
		c = c * float64(d+k) / float64(k)
	}
	return math.Round(c)
}

// theoryExponent is the exponent of d^{Θ(2^L)} for the learners the lower
// bound covers.
func theoryExponent(method string, L int) float64 {
	switch method {
	case sweep.KRRPoly, sweep.KRRNTK, sweep.Monomial:
		return math.Ldexp(1, L)
	}
	return math.NaN()
}

// Analyze computes the curves, N* and fits of rows.
func Analyze(rows []Row, thresholds []float64, level float64, boot int, seed uint64) *Analysis {
	a := &Analysis{}
	groups := groupRows(rows)
	buf := make([]float64, 0, 64)
	for _, g := range groups {
		for j, n := range g.ns {
			var v []float64
			for r := range g.reps {
				if e := g.errs[r][j]; !math.IsNaN(e) {
					v = append(v, e)
				}
			}
			a.Curves = append(a.Curves, Curve{Method: g.method, L: g.L, D: g.D, N: n, Count: len(v),
				Median: metrics.Median(v), Q25: metrics.Quantile(v, 0.25), Q75: metrics.Quantile(v, 0.75),
				Min: metrics.Quantile(v, 0), Max: metrics.Quantile(v, 1)})
		}
	}
	qlo, qhi := (1-level)/2, (1+level)/2
	for _, tau := range thresholds {
		// N* per group, with its bootstrap distribution.
		boots := make([][]float64, len(groups)) // boots[g][b]: censored-encoded N* of replicate b
		for gi, g := range groups {
			all := make([]int, len(g.reps))
			for i := range all {
				all[i] = i
			}
			s := NStar{Method: g.method, L: g.L, D: g.D, Threshold: tau, Reps: len(g.reps), NMin: g.ns[0], NMax: g.ns[len(g.ns)-1],
				Monomials: monomials(g.D, g.L), Crossing: Cross(g.ns, g.medianCurve(all, buf), tau)}
			rng := kit.RNG(seed, fmt.Sprintf("scaling/nstar/%s/%d/%d/%g", g.method, g.L, g.D, tau))
			idx := make([]int, len(g.reps))
			vals := make([]float64, boot)
			censored := 0
			for b := range vals {
				for i := range idx {
					idx[i] = rng.IntN(len(g.reps))
				}
				c := Cross(g.ns, g.medianCurve(idx, buf), tau)
				vals[b] = c.censored()
				if c.Status != Interpolated {
					censored++
				}
			}
			boots[gi] = vals
			s.Lo, s.Hi = censoredQuantile(vals, qlo), censoredQuantile(vals, qhi)
			s.CensoredFrac = float64(censored) / float64(boot)
			a.NStar = append(a.NStar, s)
		}
		a.Fits = append(a.Fits, fits(a.NStar[len(a.NStar)-len(groups):], boots, tau, level, boot)...)
	}
	return a
}

// censoredQuantile is metrics.Quantile over values where +Inf marks
// "beyond the grid": Quantile interpolates, and Inf − Inf is NaN, so a
// quantile that falls among the +Inf values is reported as +Inf.
func censoredQuantile(v []float64, q float64) float64 {
	x := metrics.Quantile(v, q)
	if math.IsNaN(x) {
		return math.Inf(1)
	}
	return x
}

// fits fits log N* on log d per (method, L) among the rows of one
// threshold; boots are the rows' bootstrap values, aligned with rows.
// Bootstrap replicate b pairs the b-th resample of every dimension: the
// dimensions' resamples are independent, so this is a stratified resample.
func fits(rows []NStar, boots [][]float64, tau, level float64, boot int) []Fit {
	var out []Fit
	for start := 0; start < len(rows); {
		end := start
		for end < len(rows) && rows[end].Method == rows[start].Method && rows[end].L == rows[start].L {
			end++
		}
		f := Fit{Method: rows[start].Method, L: rows[start].L, Threshold: tau, Theory: theoryExponent(rows[start].Method, rows[start].L),
			Slope: math.NaN(), Intercept: math.NaN(), SlopeSE: math.NaN(), SlopeLoT: math.NaN(), SlopeHiT: math.NaN(),
			SlopeLoBoot: math.NaN(), SlopeHiBoot: math.NaN()}
		f.MonomialSlope = math.NaN()
		var xs, ys, ms []float64
		var dims []string
		for _, r := range rows[start:end] {
			if r.Status == Interpolated {
				xs = append(xs, math.Log(float64(r.D)))
				ys = append(ys, math.Log(r.NStar))
				ms = append(ms, math.Log(r.Monomials))
				dims = append(dims, strconv.Itoa(r.D))
			} else {
				f.Censored++
			}
		}
		f.Points, f.Dims = len(xs), strings.Join(dims, ",")
		if len(xs) >= 2 {
			f.Intercept, f.Slope = stat.LinearRegression(xs, ys, nil, false)
			_, f.MonomialSlope = stat.LinearRegression(xs, ms, nil, false)
			if len(xs) >= 3 {
				var rss, sxx float64
				mx := stat.Mean(xs, nil)
				for i := range xs {
					r := ys[i] - f.Intercept - f.Slope*xs[i]
					rss += r * r
					sxx += (xs[i] - mx) * (xs[i] - mx)
				}
				f.SlopeSE = math.Sqrt(rss / float64(len(xs)-2) / sxx)
				t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 2)}.Quantile((1 + level) / 2)
				f.SlopeLoT, f.SlopeHiT = f.Slope-t*f.SlopeSE, f.Slope+t*f.SlopeSE
			}
			var slopes []float64
			bx, by := make([]float64, 0, end-start), make([]float64, 0, end-start)
			for b := 0; b < boot; b++ {
				bx, by = bx[:0], by[:0]
				for i, r := range rows[start:end] {
					if v := boots[start+i][b]; v > 0 && !math.IsInf(v, 1) {
						bx = append(bx, math.Log(float64(r.D)))
						by = append(by, math.Log(v))
					}
				}
				if len(bx) >= 2 && slices.ContainsFunc(bx, func(x float64) bool { return x != bx[0] }) {
					_, s := stat.LinearRegression(bx, by, nil, false)
					slopes = append(slopes, s)
				}
			}
			f.BootOKFrac = float64(len(slopes)) / float64(boot)
			if len(slopes) > 0 {
				f.SlopeLoBoot, f.SlopeHiBoot = metrics.Quantile(slopes, (1-level)/2), metrics.Quantile(slopes, (1+level)/2)
			}
		}
		out = append(out, f)
		start = end
	}
	return out
}

func (a *Analysis) curvesTable() (arrow.Record, error) {
	var m []string
	var l, d, n, c []int
	var med, q25, q75, lo, hi []float64
	for _, r := range a.Curves {
		m, l, d, n, c = append(m, r.Method), append(l, r.L), append(d, r.D), append(n, r.N), append(c, r.Count)
		med, q25, q75, lo, hi = append(med, r.Median), append(q25, r.Q25), append(q75, r.Q75), append(lo, r.Min), append(hi, r.Max)
	}
	return kit.NewTable().String(ColMethod, m).Ints(ColL, l).Ints(ColD, d).Ints(ColN, n).Ints(ColCount, c).
		Float64(ColMedian, med).Float64(ColQ25, q25).Float64(ColQ75, q75).Float64(ColMin, lo).Float64(ColMax, hi).Record()
}

func (a *Analysis) nstarTable() (arrow.Record, error) {
	var m, status []string
	var l, d, reps, nmin, nmax []int
	var tau, ns, bound, lo, hi, cens, mono []float64
	var stays []bool
	for _, r := range a.NStar {
		m, status, stays = append(m, r.Method), append(status, r.Status), append(stays, r.StaysBelow)
		l, d, reps, nmin, nmax = append(l, r.L), append(d, r.D), append(reps, r.Reps), append(nmin, r.NMin), append(nmax, r.NMax)
		tau, ns, bound = append(tau, r.Threshold), append(ns, r.NStar), append(bound, r.Bound)
		lo, hi, cens, mono = append(lo, r.Lo), append(hi, r.Hi), append(cens, r.CensoredFrac), append(mono, r.Monomials)
	}
	return kit.NewTable().String(ColMethod, m).Ints(ColL, l).Ints(ColD, d).Float64(ColThreshold, tau).Ints(ColSeeds, reps).
		Ints(ColNMin, nmin).Ints(ColNMax, nmax).Float64(ColMonomials, mono).Float64(ColNStar, ns).String(ColStatus, status).Float64(ColBound, bound).
		Bool(ColStaysBelow, stays).Float64(ColNStarLo, lo).Float64(ColNStarHi, hi).Float64(ColBootCensoredFrac, cens).Record()
}

func (a *Analysis) fitsTable() (arrow.Record, error) {
	var m, dims []string
	var l, pts, cens []int
	var tau, slope, icpt, se, lot, hit, lob, hib, ok, th, ms []float64
	for _, f := range a.Fits {
		m, dims, l, pts, cens = append(m, f.Method), append(dims, f.Dims), append(l, f.L), append(pts, f.Points), append(cens, f.Censored)
		tau, slope, icpt, se = append(tau, f.Threshold), append(slope, f.Slope), append(icpt, f.Intercept), append(se, f.SlopeSE)
		lot, hit, lob, hib = append(lot, f.SlopeLoT), append(hit, f.SlopeHiT), append(lob, f.SlopeLoBoot), append(hib, f.SlopeHiBoot)
		ok, th, ms = append(ok, f.BootOKFrac), append(th, f.Theory), append(ms, f.MonomialSlope)
	}
	return kit.NewTable().String(ColMethod, m).Ints(ColL, l).Float64(ColThreshold, tau).Ints(ColPoints, pts).Ints(ColCensored, cens).
		String(ColDims, dims).Float64(ColSlope, slope).Float64(ColIntercept, icpt).Float64(ColSlopeSE, se).
		Float64(ColSlopeLoT, lot).Float64(ColSlopeHiT, hit).Float64(ColSlopeLoBoot, lob).Float64(ColSlopeHiBoot, hib).
		Float64(ColBootOKFrac, ok).Float64(ColTheoryExponent, th).Float64(ColMonomialSlope, ms).Record()
}

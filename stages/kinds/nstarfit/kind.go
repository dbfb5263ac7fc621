// Package nstarfit is the stage kind "nstarfit": it gathers the N*
// searches of the nstar kind (experiment E9) and decides claim 4 from
// them (docs/science.md#nstar-search).
//
// # Fits
//
// Per (learner, L, threshold), the exponent b of N* ∝ d^b is the slope of
// an interval-censored (Tobit-style) maximum-likelihood regression of
// log N* on log d (FitCensored): every search enters through its bracket
// (lo, hi], a search censored at n_min as (0, n_min] and one not reached
// by n_max as (n_max, +Inf): bounds, never dropped. The threshold is
// either the primary one (tau = f · share_high, per target) or a fixed τ.
// The interval of b is a percentile bootstrap that resamples the seeds
// within every d independently (B = boot, from the stage seed) and refits;
// resamples in which the slope is not identified (fewer than two d with a
// two-sided bracket) count in boot_ok_frac and give no slope. Next to it:
// slope_mid, the least-squares slope through the brackets' geometric
// midpoints (bounds at their value), a cross-check; and monomial_slope,
// the least-squares slope of log C(d+2^L, 2^L) on log d over the same
// d's, what a learner needing about as many samples as the target has
// Hermite coefficients of degree <= 2^L would show over that range.
//
// # Decisions
//
// This kind fits; it does not decide. The claims kind reads the fits
// table and decides claim 4 from it by the frozen rules (the exponent gap
// of each learner to the deep learner against exponent_margin, the
// primary patterns, min_seeds), with the same code that decides the
// scaling fits of E6.
//
// Outputs: fits, points (per learner, L, threshold and d: the
// median N* over seeds, with censored values as 0 and +Inf, the range of
// the seeds' brackets and the censoring counts, which the figure draws).
package nstarfit

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/bfc-repro/bfc/stages/kinds/nstar"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// Kind is the stage kind "nstarfit".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "nstarfit" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Claim 4 from the N* searches (E9, docs/science.md#nstar-search): per learner, L and threshold the exponent of N* ∝ d^b " +
		"by interval-censored maximum likelihood (censored searches as bounds) with a bootstrap interval over seeds, the slope of " +
		"log C(d+2^L, 2^L) over the same d; the claims kind decides claim 4 from the fits. Outputs: fits, points."
}

// Params implements kit.Kind.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.FloatParam("level", 0.9, "confidence level of the bootstrap intervals").In(0.5, 0.999),
		kit.IntParam("boot", 500, "bootstrap resamples").In(10, 1e6),
	}
}

// Consumes implements kit.Consumer.
func (Kind) Consumes(kit.Params) []kit.TableNeed { return nstar.Needs() }

// group is the searches of one learner, depth and threshold.
type group struct {
	method  string
	L       int
	tauName string
	tau     float64 // fixed τ, or f for the primary threshold
	byD     map[int][]nstar.Result
}

// key names a threshold: "primary(f=0.5)" or "tau=0.2".
func (g *group) key() string { return thresholdKey(g.tauName, g.tau) }

func thresholdKey(name string, v float64) string {
	if name == nstar.TauPrimary {
		return primaryPrefix + fmtG(v) + ")"
	}
	return "tau=" + fmtG(v)
}

const primaryPrefix = nstar.TauPrimary + "(f="

// PrimaryF reports whether a threshold column value names the primary
// threshold, and its f as written ("0.5").
func PrimaryF(threshold string) (string, bool) {
	f, ok := strings.CutPrefix(threshold, primaryPrefix)
	return strings.TrimSuffix(f, ")"), ok
}

func fmtG(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

func (g *group) dims() []int {
	var ds []int
	for d := range g.byD {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return ds
}

func obsOf(rs []nstar.Result) []Obs {
	out := make([]Obs, len(rs))
	for i, r := range rs {
		out[i] = Obs{D: float64(r.D), Lo: r.Lo, Hi: r.Hi}
	}
	return out
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	var all []nstar.Result
	for _, in := range kit.InputsOfKind(env, nstar.Kind{}.Name()) {
		rs, err := nstar.ReadResults(in)
		if err != nil {
			return fmt.Errorf("nstarfit: %w", err)
		}
		all = append(all, rs...)
	}
	if len(all) == 0 {
		return fmt.Errorf("nstarfit: no nstar results among %d inputs", len(env.Inputs()))
	}
	p := env.Params()
	a := Analyze(all, Config{Level: p.Float("level"), Boot: p.Int("boot"), Seed: env.Seed()})
	for _, f := range a.Fits {
		env.Logf("%s L=%d %s: slope %s [%s, %s] over d = %s (monomial count %s)", f.Method, f.L, f.Threshold, fmtG(f.Slope),
			fmtG(f.Lo), fmtG(f.Hi), f.DimList, fmtG(f.MonomialSlope))
	}
	return a.write(env)
}

// Config holds the analysis settings.
type Config struct {
	Level float64
	Boot  int
	Seed  uint64
}

// Analysis is what the kind writes.
type Analysis struct {
	Fits   []Fit
	Points []Point
}

// Analyze groups the searches and fits every group.
func Analyze(all []nstar.Result, c Config) *Analysis {
	groups := map[string]*group{}
	var order []*group
	for _, r := range all {
		v := r.Tau
		if r.TauName == nstar.TauPrimary {
			v = r.F
		}
		k := fmt.Sprintf("%s|%d|%s", r.Method, r.L, thresholdKey(r.TauName, v))
		g, ok := groups[k]
		if !ok {
			g = &group{method: r.Method, L: r.L, tauName: r.TauName, tau: v, byD: map[int][]nstar.Result{}}
			groups[k] = g
			order = append(order, g)
		}
		g.byD[r.D] = append(g.byD[r.D], r)
	}
	for _, g := range order {
		for _, rs := range g.byD {
			slices.SortFunc(rs, func(a, b nstar.Result) int { return metrics.CompareSeeds(a.Replicate, b.Replicate) })
		}
	}
	slices.SortFunc(order, func(a, b *group) int {
		return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(rankTau(a.tauName), rankTau(b.tauName)), cmp.Compare(a.tau, b.tau),
			cmp.Compare(rankMethod(a.method), rankMethod(b.method)), cmp.Compare(a.method, b.method))
	})
	an := &Analysis{}
	for _, g := range order {
		an.Fits = append(an.Fits, fitGroup(g, c))
		an.Points = append(an.Points, pointsOf(g)...)
	}
	return an
}

func rankTau(name string) int {
	if name == nstar.TauPrimary {
		return 0
	}
	return 1
}

// rankMethod orders learners as sweep.Methods lists them.
func rankMethod(m string) int {
	if i := slices.Index(sweep.Methods(), m); i >= 0 {
		return i
	}
	return len(sweep.Methods())
}

// Fit is one row of the fits table.
type Fit struct {
	Method, Threshold       string
	L                       int
	Slope, Lo, Hi           float64
	Intercept, Sigma        float64
	SlopeMid                float64
	MonomialSlope           float64
	Obs, Dims               int
	DimList                 string
	SeedList                string // the seeds (replicate labels) of its searches, comma-separated
	MinSeeds, NLeft, NRight int
	BootOKFrac              float64
}

func fitGroup(g *group, c Config) Fit {
	ds := g.dims()
	var obs []Obs
	f := Fit{Method: g.method, Threshold: g.key(), L: g.L, Dims: len(ds), MinSeeds: math.MaxInt}
	var xs, ms []float64
	var names, seeds []string
	for _, d := range ds {
		o := obsOf(g.byD[d])
		obs = append(obs, o...)
		for _, r := range g.byD[d] {
			if !slices.Contains(seeds, r.Replicate) {
				seeds = append(seeds, r.Replicate)
			}
		}
		f.MinSeeds = min(f.MinSeeds, len(o))
		for _, v := range o {
			if v.Lo <= 0 {
				f.NLeft++
			}
			if math.IsInf(v.Hi, 1) {
				f.NRight++
			}
		}
		xs, ms = append(xs, math.Log(float64(d))), append(ms, LogMonomials(d, g.L))
		names = append(names, strconv.Itoa(d))
	}
	slices.SortFunc(seeds, metrics.CompareSeeds)
	f.Obs, f.DimList, f.SeedList = len(obs), strings.Join(names, ","), strings.Join(seeds, ",")
	line := FitCensored(obs)
	f.Slope, f.Intercept, f.Sigma = line.B, line.A, line.Sigma
	_, f.SlopeMid = MidpointOLS(obs)
	f.MonomialSlope = math.NaN()
	if len(xs) >= 2 {
		_, f.MonomialSlope = stat.LinearRegression(xs, ms, nil, false)
	}
	// Bootstrap: resample the seeds within every d, refit.
	rng := kit.RNG(c.Seed, "nstarfit/"+g.method+"/"+strconv.Itoa(g.L)+"/"+g.key())
	var slopes []float64
	buf := make([]Obs, 0, len(obs))
	boot := c.Boot
	if math.IsNaN(f.Slope) {
		boot = 0 // no slope to give an interval to
	}
	for range boot {
		buf = buf[:0]
		for _, d := range ds {
			o := obsOf(g.byD[d])
			for range o {
				buf = append(buf, o[rng.IntN(len(o))])
			}
		}
		if l := FitCensoredFrom(buf, line); !math.IsNaN(l.B) {
			slopes = append(slopes, l.B)
		}
	}
	f.Lo, f.Hi = math.NaN(), math.NaN()
	if c.Boot > 0 {
		f.BootOKFrac = float64(len(slopes)) / float64(c.Boot)
	}
	if len(slopes) > 0 && !math.IsNaN(f.Slope) {
		f.Lo = metrics.Quantile(slopes, (1-c.Level)/2)
		f.Hi = metrics.Quantile(slopes, (1+c.Level)/2)
	}
	return f
}

// LogMonomials is log C(d+p, p) with p = 2^L: the number of monomials
// of degree <= 2^L in d variables, the dimension of the space a kernel
// or fixed-feature learner must pin the target down in.
func LogMonomials(d, L int) float64 {
	p := float64(int(1) << L)
	a, _ := math.Lgamma(float64(d) + p + 1)
	b, _ := math.Lgamma(float64(d) + 1)
	c, _ := math.Lgamma(p + 1)
	return a - b - c
}

// Point is one row of the points table: one learner, L, threshold and d.
type Point struct {
	Method, Threshold    string
	L, D                 int
	Seeds, NLeft, NRight int
	Median, Lo, Hi       float64
	// MedianLo and MedianHi are the medians of the seeds' lower and upper
	// ends: the median N* lies in (MedianLo, MedianHi].
	MedianLo, MedianHi float64
	Tau                float64 // median τ over the seeds (the primary τ is per target)
	ShareHigh          float64 // median share_high over the seeds
}

func pointsOf(g *group) []Point {
	var out []Point
	for _, d := range g.dims() {
		rs := g.byD[d]
		p := Point{Method: g.method, Threshold: g.key(), L: g.L, D: d, Seeds: len(rs), Lo: math.Inf(1), Hi: 0}
		var vals, los, his, taus, shares []float64
		for _, r := range rs {
			v := math.Sqrt(r.Lo * r.Hi)
			switch {
			case r.Lo <= 0:
				p.NLeft++
				v = 0
			case math.IsInf(r.Hi, 1):
				p.NRight++
				v = math.Inf(1)
			}
			vals, taus, shares = append(vals, v), append(taus, r.Tau), append(shares, r.ShareHigh)
			los, his = append(los, r.Lo), append(his, r.Hi)
			p.Lo, p.Hi = math.Min(p.Lo, r.Lo), math.Max(p.Hi, r.Hi)
		}
		p.Median, p.Tau, p.ShareHigh = censoredMedian(vals), metrics.Median(taus), metrics.Median(shares)
		p.MedianLo, p.MedianHi = censoredMedian(los), censoredMedian(his)
		out = append(out, p)
	}
	return out
}

// censoredMedian is the median of values that may be 0 (below) or +Inf
// (above): sorted, the middle one, or the geometric mean of the middle
// two (0 or +Inf if either is).
func censoredMedian(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	a, b := s[n/2-1], s[n/2]
	if a == 0 || math.IsInf(b, 1) {
		if a == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Sqrt(a * b)
}

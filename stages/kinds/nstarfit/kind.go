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
// Per (L, threshold) and learner M other than the deep learner, the row
// exponent_gap[M-deep]: b_M − b_deep with the interval [lo_M − hi_deep,
// hi_M − lo_deep] from the two bootstrap intervals, decided as the claims
// kind decides claim 4's rows (the same three-way rule, re-stated here
// because claims will read this kind's table and cannot be imported by
// it): reproduced if the interval lies above exponent_margin, not
// reproduced if it lies below, otherwise, or with fewer than min_seeds
// seeds at some d, inconclusive. Rows of kernel and fixed-feature
// learners at the primary threshold are primary; two-layer networks and
// the fixed thresholds are supporting. ReadDecisions is the typed reader.
//
// Outputs: fits, decisions, points (per learner, L, threshold and d: the
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

// Verdicts, as the claims kind writes them.
const (
	Reproduced    = "reproduced"
	NotReproduced = "not reproduced"
	Inconclusive  = "inconclusive"
)

// Kind is the stage kind "nstarfit".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "nstarfit" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Claim 4 from the N* searches (E9, docs/science.md#nstar-search): per learner, L and threshold the exponent of N* ∝ d^b " +
		"by interval-censored maximum likelihood (censored searches as bounds) with a bootstrap interval over seeds, the slope of " +
		"log C(d+2^L, 2^L) over the same d, and the exponent gap of each learner to the deep learner decided by the margin rule. " +
		"Outputs: fits, decisions, points."
}

// Params implements kit.Kind.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.FloatParam("level", 0.9, "confidence level of the bootstrap intervals").In(0.5, 0.999),
		kit.IntParam("boot", 500, "bootstrap resamples").In(10, 1e6),
		kit.IntParam("min_seeds", 3, "fewer seeds than this at any d make a decision inconclusive").In(1, 1000),
		kit.FloatParam("exponent_margin", 1, "a learner's exponent must exceed the deep learner's by more than this").In(0, 100),
		kit.StringsParam("primary_methods", []string{sweep.KRRPoly, sweep.KRRNTK, sweep.Monomial},
			"learners whose gap at the primary threshold is a primary row (the lower bound's learners)").OneOf(sweep.Methods()...),
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
	a := Analyze(all, Config{Level: p.Float("level"), Boot: p.Int("boot"), MinSeeds: p.Int("min_seeds"),
		Margin: p.Float("exponent_margin"), Primary: p.Strings("primary_methods"), Seed: env.Seed()})
	for _, d := range a.Decisions {
		env.Logf("%s: %s [%s, %s] %s", d.Statistic, fmtG(d.Value), fmtG(d.Lo), fmtG(d.Hi), d.Verdict)
	}
	return a.write(env)
}

// Config holds the analysis settings.
type Config struct {
	Level    float64
	Boot     int
	MinSeeds int
	Margin   float64
	Primary  []string
	Seed     uint64
}

// Analysis is what the kind writes.
type Analysis struct {
	Fits      []Fit
	Decisions []Decision
	Points    []Point
}

// Analyze groups the searches, fits every group and decides the gaps.
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
	an.Decisions = decide(an.Fits, c)
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
	MinSeeds, NLeft, NRight int
	BootOKFrac              float64
}

func fitGroup(g *group, c Config) Fit {
	ds := g.dims()
	var obs []Obs
	f := Fit{Method: g.method, Threshold: g.key(), L: g.L, Dims: len(ds), MinSeeds: math.MaxInt}
	var xs, ms []float64
	var names []string
	for _, d := range ds {
		o := obsOf(g.byD[d])
		obs = append(obs, o...)
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
	f.Obs, f.DimList = len(obs), strings.Join(names, ",")
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

// Decision is one row of the decisions table, in the claims kind's terms.
type Decision struct {
	Claim, Experiment, Statistic string
	Primary                      bool
	N                            int
	Value, Lo, Hi, Level         float64
	Threshold                    float64
	Verdict, Rule, Detail        string
}

// Decide is the three-way rule of the claims kind for a statistic that
// supports the claim when above t: reproduced if lo > t, not reproduced
// if hi < t, otherwise (a NaN, or n < minN) inconclusive.
func Decide(lo, hi, t float64, n, minN int) string {
	switch {
	case n < minN || math.IsNaN(lo) || math.IsNaN(hi) || math.IsNaN(t):
		return Inconclusive
	case lo > t:
		return Reproduced
	case hi < t:
		return NotReproduced
	}
	return Inconclusive
}

func decide(fits []Fit, c Config) []Decision {
	var out []Decision
	for _, f := range fits {
		if f.Method == sweep.Deep {
			continue
		}
		i := slices.IndexFunc(fits, func(g Fit) bool { return g.Method == sweep.Deep && g.L == f.L && g.Threshold == f.Threshold })
		where := fmt.Sprintf("L=%d,%s", f.L, f.Threshold)
		_, atPrimary := PrimaryF(f.Threshold)
		primary := slices.Contains(c.Primary, f.Method) && atPrimary
		desc := fmt.Sprintf("%s: slope %s [%s, %s] over d = %s (censored: %d left, %d right of %d; midpoint OLS %s); "+
			"slope of log C(d+2^L, 2^L) over the same d: %s", f.Method, fmtG(f.Slope), fmtG(f.Lo), fmtG(f.Hi), f.DimList,
			f.NLeft, f.NRight, f.Obs, fmtG(f.SlopeMid), fmtG(f.MonomialSlope))
		if i < 0 {
			out = append(out, Decision{Claim: "4", Experiment: "E9", Statistic: fmt.Sprintf("exponent[%s,%s]", f.Method, where),
				Primary: primary, N: f.MinSeeds, Value: f.Slope, Lo: f.Lo, Hi: f.Hi, Level: c.Level, Threshold: math.NaN(),
				Verdict: Inconclusive, Rule: "no fit of the deep learner at this L and threshold to compare with, so inconclusive", Detail: desc})
			continue
		}
		d := fits[i]
		n := min(f.MinSeeds, d.MinSeeds)
		lo, hi := f.Lo-d.Hi, f.Hi-d.Lo
		rule := fmt.Sprintf("exponent b of N*(d) ∝ d^b (N* = smallest n with test MSE / exact Var(y) <= tau, bracketed by an "+
			"adaptive search; interval-censored fit, censored searches as bounds) of %s minus that of the deep learner, with the "+
			"interval [lo_%s - hi_deep, hi_%s - lo_deep] from the two %s%% bootstrap intervals over seeds; reproduced if it lies "+
			"above %s, not reproduced if it lies below %s, otherwise (or with fewer than %d seeds at some d) inconclusive",
			f.Method, f.Method, f.Method, fmtG(100*c.Level), fmtG(c.Margin), fmtG(c.Margin), c.MinSeeds)
		if !primary {
			rule += " (supporting)"
		}
		out = append(out, Decision{Claim: "4", Experiment: "E9", Statistic: fmt.Sprintf("exponent_gap[%s-deep,%s]", f.Method, where),
			Primary: primary, N: n, Value: f.Slope - d.Slope, Lo: lo, Hi: hi, Level: c.Level, Threshold: c.Margin,
			Verdict: Decide(lo, hi, c.Margin, n, c.MinSeeds), Rule: rule,
			Detail: desc + fmt.Sprintf("; deep: slope %s [%s, %s] (censored: %d left, %d right of %d)", fmtG(d.Slope), fmtG(d.Lo),
				fmtG(d.Hi), d.NLeft, d.NRight, d.Obs)})
	}
	return out
}

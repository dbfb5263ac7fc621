package claims

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/classify"
	"github.com/bfc-repro/bfc/stages/kinds/nstarfit"
	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	sched "github.com/bfc-repro/bfc/stages/lib/schedule"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// fit is one exponent fit of N* ∝ d^b, from a scaling stage (E6) or an
// nstarfit stage (E9).
type fit struct {
	method        string
	L             int
	where         string // "L=3,tau=0.1" (E6), "L=2,primary(f=0.5)" (E9): the fit's depth and threshold
	slope, lo, hi float64
	desc          string // the numbers behind the fit, for the detail column
	seeds         int    // fewest seeds at any d
}

// fits is the exponent fits of one stage and how its N* was measured.
type fits struct {
	experiment string
	level      float64 // of the fits' intervals
	nstar      string  // what N* is, for the rule
	fits       []fit
}

// scalingRows adds claim 4's rows from one "scaling" input (E6).
func (c *config) scalingRows(in kit.Input) error {
	fs, err := readScalingFits(in)
	if err != nil {
		return err
	}
	c.exponentRows(fs)
	return nil
}

// nstarRows adds claim 4's rows from one "nstarfit" input (E9).
func (c *config) nstarRows(in kit.Input) error {
	nf, err := nstarfit.ReadFits(in)
	if err != nil {
		return err
	}
	sample, err := c.sampleOf(nf)
	if err != nil {
		return err
	}
	defer func(s string) { c.sample = s }(c.sample)
	c.sample = sample
	fs := fits{experiment: "E9", level: in.Params().Float("level"),
		nstar: "N* = the smallest n with test MSE / exact Var(y) <= tau, bracketed within a declared ratio by an adaptive search; " +
			"interval-censored fit, a search that did not reach tau within its budget entering as a bound"}
	for _, f := range nf {
		fs.fits = append(fs.fits, fit{method: f.Method, L: f.L, where: fmt.Sprintf("L=%d,%s", f.L, f.Threshold), slope: f.Slope,
			lo: f.Lo, hi: f.Hi, seeds: f.MinSeeds,
			desc: fmt.Sprintf("%s: slope %s [%s, %s] over d = %s (min %d seeds per d; censored: %d left, %d right of %d; "+
				"midpoint least squares %s); slope of log C(d+2^L, 2^L) over the same d: %s", f.Method, fmtG(f.Slope), fmtG(f.Lo),
				fmtG(f.Hi), f.DimList, f.MinSeeds, f.NLeft, f.NRight, f.Obs, fmtG(f.SlopeMid), fmtG(f.MonomialSlope))})
	}
	c.exponentRows(fs)
	return nil
}

// sampleOf is the sample of an nstarfit stage's fits: confirmatory if
// every seed of every fit is among the confirmatory seeds, exploratory if
// none is; a mix is an error (one fit would blend the two samples).
func (c *config) sampleOf(fits []nstarfit.Fit) (string, error) {
	var conf, expl []string
	for _, f := range fits {
		for _, s := range strings.Split(f.SeedList, ",") {
			switch {
			case s == "":
			case slices.Contains(c.confirm, s):
				conf = append(conf, s)
			default:
				expl = append(expl, s)
			}
		}
	}
	switch {
	case len(conf) > 0 && len(expl) > 0:
		return "", fmt.Errorf("its fits mix confirmatory seeds (%s) with exploratory ones (%s): fit each sample in its own stage",
			conf[0], expl[0])
	case len(conf) > 0:
		return Confirmatory, nil
	}
	return Exploratory, nil
}

// exponentRows adds, for every fit of a learner other than the deep one,
// its exponent minus the deep learner's at the same depth and threshold
// (or its exponent alone, inconclusive, where the deep learner has no
// fit), decided against exponent_margin.
func (c *config) exponentRows(fs fits) {
	for _, f := range fs.fits {
		if f.method == sweep.Deep {
			continue
		}
		i := slices.IndexFunc(fs.fits, func(g fit) bool { return g.method == sweep.Deep && g.where == f.where })
		if i < 0 {
			c.add(Row{Claim: "4", Experiment: fs.experiment, Statistic: fmt.Sprintf("exponent[%s,%s]", f.method, f.where), N: f.seeds,
				Value: f.slope, Lo: f.lo, Hi: f.hi, Level: fs.level, Threshold: math.NaN(), Verdict: Inconclusive,
				Rule:   "fitted exponent b of N* ∝ d^b; no fit of the deep learner at this L and threshold to compare it with, so inconclusive",
				Detail: f.desc}, Above)
			continue
		}
		d := fs.fits[i]
		r := Row{Claim: "4", Experiment: fs.experiment, Statistic: fmt.Sprintf("exponent_gap[%s-deep,%s]", f.method, f.where),
			N: min(f.seeds, d.seeds), Value: f.slope - d.slope, Lo: f.lo - d.hi, Hi: f.hi - d.lo, Level: fs.level, Threshold: c.exponentMargin,
			Rule: fmt.Sprintf("fitted exponent b of N*(d) ∝ d^b (%s) of %s minus that of the deep learner, "+
				"with the interval [lo_%s - hi_deep, hi_%s - lo_deep] from the two fits' own %s%% intervals (bootstrap over seeds, "+
				"else t); reproduced if it lies above %s, not reproduced if it lies below %s, otherwise (or with fewer than %d seeds) inconclusive",
				fs.nstar, f.method, f.method, f.method, fmtG(100*fs.level), fmtG(c.exponentMargin), fmtG(c.exponentMargin), c.minSeeds),
			Detail: f.desc + "; deep: " + d.desc}
		if !c.isPrimary(r.Experiment, r.Statistic) {
			r.Rule += " (supporting)"
		}
		c.add(r, Above)
	}
}

// readScalingFits reads the fits of a scaling input, each with the
// smallest number of seeds of any of its dimensions (from the nstar
// table), and the confidence level of their intervals.
func readScalingFits(in kit.Input) (fits, error) {
	a, level, err := scaling.Read(in)
	if err != nil {
		return fits{}, err
	}
	seeds := map[string]int{}
	key := func(method string, L int, tau float64) string { return fmt.Sprintf("%s/%d/%g", method, L, tau) }
	for _, s := range a.NStar {
		k := key(s.Method, s.L, s.Threshold)
		if n, ok := seeds[k]; !ok || s.Reps < n {
			seeds[k] = s.Reps
		}
	}
	fs := fits{experiment: "E6", level: level, nstar: "N* = smallest n of the fixed grid reaching test error tau"}
	for _, f := range a.Fits {
		lo, hi := f.SlopeLoBoot, f.SlopeHiBoot
		if math.IsNaN(lo) || math.IsNaN(hi) {
			lo, hi = f.SlopeLoT, f.SlopeHiT
		}
		n := seeds[key(f.Method, f.L, f.Threshold)]
		desc := fmt.Sprintf("%s: slope %s [%s, %s] over d = %s (min %d seeds per d)", f.Method, fmtG(f.Slope), fmtG(lo), fmtG(hi), f.Dims, n)
		if !math.IsNaN(f.Theory) {
			desc += fmt.Sprintf("; theory d^Θ(2^L): 2^L = %s; finite-d reference slope of log C(d+2^L, 2^L): %s", fmtG(f.Theory), fmtG(f.MonomialSlope))
		}
		fs.fits = append(fs.fits, fit{method: f.Method, L: f.L, where: fmt.Sprintf("L=%d,tau=%s", f.L, fmtG(f.Threshold)),
			slope: f.Slope, lo: lo, hi: hi, seeds: n, desc: desc})
	}
	return fs, nil
}

// finalClassifyRuns reads the final classify runs of ins, ordered by
// depth, correction depth, schedule and seed.
func finalClassifyRuns(ins []kit.Input) ([]classify.Run, error) {
	all, err := classify.Runs(ins)
	if err != nil {
		return nil, err
	}
	runs := slices.DeleteFunc(all, func(r classify.Run) bool { return !r.Final })
	slices.SortFunc(runs, func(a, b classify.Run) int {
		return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(a.X, b.X), cmp.Compare(sched.Rank(a.Schedule), sched.Rank(b.Schedule)),
			metrics.CompareSeeds(a.Seed, b.Seed))
	})
	return runs, nil
}

// classifyRows adds the E8 rows (Fashion-MNIST) of runs: layerwise falls
// behind joint (claim 3, supporting) and a small x recovers most of
// joint's advantage (claim 5), measured on the classification error
// 1 - accuracy on both scales, the rules' recover_scale deciding.
func (c *config) classifyRows(runs []classify.Run) {
	var Ls []int
	for _, r := range runs {
		if !slices.Contains(Ls, r.L) {
			Ls = append(Ls, r.L)
		}
	}
	for _, L := range Ls {
		lw := pairedAcc(runs, L, 0)
		jt := pairedAcc(runs, L, L-1)
		seedsLJ := metrics.CommonSeeds(lw, jt)
		if len(seedsLJ) > 0 && L >= 2 {
			a, b := accAt(lw, seedsLJ), accAt(jt, seedsLJ)
			diff := make([]float64, len(a))
			for i := range a {
				diff[i] = b[i] - a[i]
			}
			stat := fmt.Sprintf("acc_joint-layerwise[L=%d]", L)
			lo, hi := c.ci("3/E8/"+stat, len(diff), medianAt(diff))
			c.add(Row{Claim: "3", Experiment: "E8", Statistic: stat, N: len(diff), Value: metrics.Median(diff), Lo: lo, Hi: hi,
				Threshold: c.accMargin,
				Rule: c.ruleText(fmt.Sprintf("Fashion-MNIST (supporting, real data): median over paired seeds of the final test accuracy "+
					"of joint minus that of layerwise training with %d blocks", L), c.accMargin, Above),
				Detail: fmt.Sprintf("median accuracy: layerwise %s, joint %s; per seed %s", fmtG(metrics.Median(a)), fmtG(metrics.Median(b)),
					seedList(seedsLJ, diff))}, Above)
		}
		for x := 1; x < L-1; x++ {
			mid := pairedAcc(runs, L, x)
			seeds := metrics.CommonSeeds(lw, mid, jt)
			if len(seeds) == 0 {
				continue
			}
			e0, ex, ej := errAt(lw, seeds), errAt(mid, seeds), errAt(jt, seeds)
			for _, sc := range shareScales {
				stat := fmt.Sprintf("%s[x=%d,L=%d]", sc.name, x, L)
				lo, hi := c.ci("5/E8/"+stat, len(seeds), func(idx []int) float64 {
					return sc.share(pick(e0, idx), pick(ex, idx), pick(ej, idx))
				})
				c.add(Row{Claim: "5", Experiment: "E8", Statistic: stat, Primary: sc.scale == c.recoverScale && x == c.recoverX, N: len(seeds),
					Value: sc.share(e0, ex, ej), Lo: lo, Hi: hi, Threshold: c.recoverFrac,
					Rule: c.ruleText(fmt.Sprintf("Fashion-MNIST: share of the layerwise-to-joint improvement in %s that "+
						"bfc-%d recovers with %d blocks, median over paired seeds of (%s_layerwise - %s_bfc-%d) / median of "+
						"(%s_layerwise - %s_joint)%s", sc.of("1 - test accuracy"), x, L, sc.sym, sc.sym, x, sc.sym, sc.sym, c.scaleNote(sc.scale)), c.recoverFrac, Above),
					Detail: fmt.Sprintf("median test error 1 - accuracy: layerwise %s, bfc-%d %s, joint %s; per seed (layerwise, bfc-%d, joint): %s",
						fmtG(metrics.Median(e0)), x, fmtG(metrics.Median(ex)), fmtG(metrics.Median(ej)), x, triples(seeds, e0, ex, ej))}, Above)
			}
		}
	}
}

// pairedAcc returns the runs of depth L and correction depth x by seed
// (the first run of a seed).
func pairedAcc(runs []classify.Run, L, x int) map[string]float64 {
	out := map[string]float64{}
	for _, r := range runs {
		if r.L == L && r.X == x {
			if _, dup := out[r.Seed]; !dup {
				out[r.Seed] = r.TestAcc
			}
		}
	}
	return out
}

func accAt(m map[string]float64, seeds []string) []float64 {
	out := make([]float64, len(seeds))
	for i, s := range seeds {
		out[i] = m[s]
	}
	return out
}

func errAt(m map[string]float64, seeds []string) []float64 {
	out := accAt(m, seeds)
	for i := range out {
		out[i] = 1 - out[i]
	}
	return out
}

func seedList(seeds []string, v []float64) string {
	s := ""
	for i := range v {
		if i > 0 {
			s += ", "
		}
		s += seeds[i] + ": " + fmtG(v[i])
	}
	return s
}

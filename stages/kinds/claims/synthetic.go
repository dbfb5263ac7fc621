package claims

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// experiment is the set of train runs of one setting.
type experiment struct {
	name string // E1, E3, E4
	L    int
	gap  float64 // NaN unless a point of the gap sweep
	runs []train.Run
}

// synthetic adds the rows of claims 1, 2, 3 and 5 from the train runs.
func (c *config) synthetic(runs []train.Run) {
	var e1, e3 experiment
	e1 = experiment{name: "E1", L: c.e1Depth, gap: math.NaN()}
	e3 = experiment{name: "E3", L: c.e3Depth, gap: math.NaN()}
	var e4, e10 []experiment
	for _, r := range runs {
		_, series := r.Input.Labels()["L"]
		switch {
		case !math.IsNaN(r.Gap):
			i := slices.IndexFunc(e4, func(e experiment) bool { return e.gap == r.Gap && e.L == r.L })
			if i < 0 {
				e4 = append(e4, experiment{name: "E4", L: r.L, gap: r.Gap})
				i = len(e4) - 1
			}
			e4[i].runs = append(e4[i].runs, r)
		case series:
			i := slices.IndexFunc(e10, func(e experiment) bool { return e.L == r.L })
			if i < 0 {
				e10 = append(e10, experiment{name: "E10", L: r.L, gap: math.NaN()})
				i = len(e10) - 1
			}
			e10[i].runs = append(e10[i].runs, r)
		case r.L == c.e1Depth:
			e1.runs = append(e1.runs, r)
		case r.L == c.e3Depth:
			e3.runs = append(e3.runs, r)
		}
	}
	// Claim 1: joint reaches a small error.
	c.jointError(e1)
	c.jointError(e3)
	// Claim 2: BFC against the lower-only control.
	c.featureCorrection(e1)
	c.featureCorrection(e3)
	// Claim 3: layerwise is worse, more so deeper and with a weaker gap.
	r3, ok3 := c.layerwiseRatio(e1)
	r4, ok4 := c.layerwiseRatio(e3)
	if ok3 && ok4 {
		c.growth("3", e1.name+"+"+e3.name, fmt.Sprintf("ratio_growth_L%d/L%d", e3.L, e1.L), r4, r3,
			fmt.Sprintf("L = %d (%s)", e3.L, epochsOf(e3)), fmt.Sprintf("L = %d (%s)", e1.L, epochsOf(e1)),
			"layerwise/joint test-error ratio at the larger depth divided by that at the smaller depth")
	}
	var gapRatios []ratioResult
	var gaps []float64
	for _, e := range e4 {
		if r, ok := c.layerwiseRatio(e); ok {
			gapRatios, gaps = append(gapRatios, r), append(gaps, e.gap)
		}
	}
	if len(gapRatios) >= 2 {
		lo, hi := 0, len(gaps)-1 // sorted by gap (TrainRuns sorts by L, then gap)
		c.growth("3", "E4", fmt.Sprintf("ratio_growth_gamma%s/gamma%s", fmtG(gaps[hi]), fmtG(gaps[lo])), gapRatios[hi], gapRatios[lo],
			fmt.Sprintf("gamma = %s", fmtG(gaps[hi])), fmt.Sprintf("gamma = %s", fmtG(gaps[lo])),
			"layerwise/joint test-error ratio at the largest information-gap parameter gamma (the weakest gap) divided by that at the smallest")
	}
	// Claim 5: how much of joint's benefit bfc-x recovers.
	c.recovery(e1)
	c.recovery(e3)
	// The depth series (sorted by L: TrainRuns sorts by L first): claims
	// 1-3 at every depth, and claim 3's growth per added layer.
	for _, e := range e10 {
		c.jointError(e)
		c.featureCorrection(e)
		c.layerwiseRatio(e)
	}
	c.depthSlope(e10)
}

// sel returns the runs for which keep is true.
func sel(runs []train.Run, keep func(train.Run) bool) []train.Run {
	var out []train.Run
	for _, r := range runs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// atX selects the staged runs with correction depth x.
func atX(runs []train.Run, x int) []train.Run {
	return sel(runs, func(r train.Run) bool { return r.Staged() && r.X == x })
}

func schedule(name string) func(train.Run) bool {
	return func(r train.Run) bool { return r.Schedule == name }
}

// align keeps the replicates present in every group, in the order of the
// first group, and returns each group's run for them (the first run of a
// group if it has several for one replicate).
func align(groups ...[]train.Run) [][]train.Run {
	out := make([][]train.Run, len(groups))
	if len(groups) == 0 {
		return out
	}
	var seen []string
	for _, r := range groups[0] {
		if slices.Contains(seen, r.Replicate) {
			continue
		}
		seen = append(seen, r.Replicate)
		row := make([]train.Run, len(groups))
		ok := true
		for g, grp := range groups {
			i := slices.IndexFunc(grp, func(q train.Run) bool { return q.Replicate == r.Replicate })
			if i < 0 {
				ok = false
				break
			}
			row[g] = grp[i]
		}
		if ok {
			for g := range groups {
				out[g] = append(out[g], row[g])
			}
		}
	}
	return out
}

func field(rs []train.Run, f func(train.Run) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func testErr(r train.Run) float64 { return r.TestRelErr }

func eps2(r train.Run) float64 { return r.Eps[2] }

// labels returns the seed labels of rs.
func labels(rs []train.Run) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Label()
	}
	return out
}

func schedules(rs []train.Run) string {
	var s []string
	for _, r := range rs {
		if !slices.Contains(s, r.Schedule) {
			s = append(s, r.Schedule)
		}
	}
	return strings.Join(s, "/")
}

// jointError adds claim 1's row for one depth.
func (c *config) jointError(e experiment) {
	joint := align(atX(e.runs, e.L-2))[0]
	if len(joint) == 0 {
		return
	}
	v := field(joint, testErr)
	sw := field(joint, func(r train.Run) float64 { return r.TestRelErrSwitch })
	name := fmt.Sprintf("joint_test_err[L=%d]", e.L)
	lo, hi := c.ci("1/"+e.name+"/"+name, len(v), medianAt(v))
	c.add(Row{Claim: "1", Experiment: e.name, Statistic: name, N: len(v), Value: metrics.Median(v), Lo: lo, Hi: hi,
		Threshold: c.smallError,
		Rule: c.ruleText(fmt.Sprintf("median over seeds of the final test MSE/Var(y) of joint training (x = L-2) at L = %d "+
			"(one sample size, n_train = %d: whether the sample need grows like poly(d) is not tested here)", e.L, joint[0].NTrain), c.smallError, Below),
		Detail: fmt.Sprintf("%s after %d epochs: %s; after stage 2 alone (layer 2 only): median %s", schedules(joint), joint[0].Epochs,
			seedList(labels(joint), v), fmtG(metrics.Median(sw)))}, Below)
}

// ratioResult is a median ratio over paired seeds and its interval.
type ratioResult struct {
	value, lo, hi float64
	n             int
}

// logRatioRow adds a row whose statistic is exp(median_i log(a_i/b_i))
// over the replicates paired between a and b (values f of each run), and
// returns it.
func (c *config) logRatioRow(r Row, a, b []train.Run, f func(train.Run) float64, aName, bName string, dir Direction, what string) ratioResult {
	al := align(a, b)
	return c.ratioOf(r, al[0], field(al[0], f), field(al[1], f), aName, bName, dir, what)
}

// logRatioRowWith is logRatioRow for two quantities f and g of the same runs.
func (c *config) logRatioRowWith(r Row, rs []train.Run, f, g func(train.Run) float64, fName, gName string, dir Direction, what string) ratioResult {
	rs = align(rs)[0]
	return c.ratioOf(r, rs, field(rs, f), field(rs, g), fName, gName, dir, what)
}

// ratioOf adds the ratio row of the paired values va and vb (one per
// replicate of reps); r.Detail is appended to the generated detail.
func (c *config) ratioOf(r Row, reps []train.Run, va, vb []float64, aName, bName string, dir Direction, what string) ratioResult {
	lr := logRatios(va, vb)
	lo, hi := c.ci(r.Claim+"/"+r.Experiment+"/"+r.Statistic, len(lr), medianAt(lr))
	r.N, r.Value, r.Lo, r.Hi, r.Log = len(lr), math.Exp(metrics.Median(lr)), math.Exp(lo), math.Exp(hi), true
	r.Rule = c.ruleText(what, r.Threshold, dir)
	parts := make([]string, len(lr))
	for i := range lr {
		parts[i] = fmt.Sprintf("%s: %s / %s = %s", reps[i].Label(), fmtG(va[i]), fmtG(vb[i]), fmtG(math.Exp(lr[i])))
	}
	r.Detail = fmt.Sprintf("median %s %s, %s %s; per seed (%s / %s): %s", aName, fmtG(metrics.Median(va)), bName, fmtG(metrics.Median(vb)),
		aName, bName, strings.Join(parts, ", ")) + r.Detail
	c.add(r, dir)
	return ratioResult{r.Value, r.Lo, r.Hi, r.N}
}

// featureCorrection adds claim 2's rows for an experiment with a
// lower-only control.
func (c *config) featureCorrection(e experiment) {
	lower := sel(e.runs, schedule("lower-only"))
	joint := atX(e.runs, e.L-2)
	if len(lower) == 0 || len(joint) == 0 {
		return
	}
	ctrl := align(lower)[0]
	drift := make([]float64, len(ctrl))
	for i, r := range ctrl {
		drift[i] = r.Eps[2] / r.EpsSwitch[2]
	}
	c.logRatioRow(Row{Claim: "2", Experiment: e.name, Statistic: fmt.Sprintf("eps2_joint/lower-only[L=%d]", e.L),
		Threshold: c.bfcRatio,
		Detail:    fmt.Sprintf("; the control's own final/switch eps_2: median %s (%s)", fmtG(metrics.Median(drift)), seedList(labels(ctrl), drift))},
		joint, lower, eps2, "joint", "lower-only", Below,
		fmt.Sprintf("exp(median over paired seeds of log(final eps_2 under joint / final eps_2 under the lower-only control)) at L = %d: "+
			"both continue the same stage-2 checkpoint for the same epochs, only joint switches the higher layers on", e.L))
	sw := func(r train.Run) float64 { return r.EpsSwitch[2] }
	c.logRatioRowWith(Row{Claim: "2", Experiment: e.name, Statistic: fmt.Sprintf("eps2_final/switch_joint[L=%d]", e.L), Threshold: c.bfcRatio},
		joint, eps2, sw, "final", "at switch", Below,
		fmt.Sprintf("exp(median over seeds of log(final eps_2 / eps_2 when layer 3 switches on)) under joint training at L = %d", e.L))
	if lw := atX(e.runs, 0); len(lw) > 0 {
		c.logRatioRowWith(Row{Claim: "2", Experiment: e.name, Statistic: fmt.Sprintf("eps2_final/switch_layerwise[L=%d]", e.L), Threshold: 1 + c.flatTol},
			lw, eps2, sw, "final", "at switch", Within,
			fmt.Sprintf("exp(median over seeds of log(final eps_2 / eps_2 when layer 3 switches on)) under layerwise training at L = %d "+
				"(layer 2 is frozen after the switch, so this holds by construction: a check of the pipeline, not evidence)", e.L))
	}
}

// layerwiseRatio adds claim 3's ratio row of layerwise over joint final
// test error for one setting.
func (c *config) layerwiseRatio(e experiment) (ratioResult, bool) {
	lw, joint := atX(e.runs, 0), atX(e.runs, e.L-2)
	if len(lw) == 0 || len(joint) == 0 || e.L < 3 {
		return ratioResult{}, false
	}
	where := fmt.Sprintf("L=%d", e.L)
	if !math.IsNaN(e.gap) {
		where = fmt.Sprintf("L=%d,gamma=%s", e.L, fmtG(e.gap))
	}
	r := c.logRatioRow(Row{Claim: "3", Experiment: e.name, Statistic: "test_err_layerwise/joint[" + where + "]",
		Threshold: c.worseRatio}, lw, joint, testErr, "layerwise", "joint", Above,
		fmt.Sprintf("exp(median over paired seeds of log(final test error of layerwise (x = 0) / that of joint (x = L-2))) at %s", where))
	return r, r.n > 0
}

// growth adds a row comparing two ratios by their intervals: reproduced
// if a's interval lies wholly above b's, not reproduced if wholly below,
// inconclusive if they overlap. The value is a/b and the interval
// [a.lo/b.hi, a.hi/b.lo], which excludes 1 exactly when the two intervals
// do not overlap.
func (c *config) growth(claim, exp, stat string, a, b ratioResult, aName, bName, what string) {
	r := Row{Claim: claim, Experiment: exp, Statistic: stat, N: min(a.n, b.n), Value: a.value / b.value,
		Lo: a.lo / b.hi, Hi: a.hi / b.lo, Threshold: 1, Log: true,
		Rule: what + fmt.Sprintf("; interval [lo_a/hi_b, hi_a/lo_b] built from the two ratios' own %s%% intervals: "+
			"reproduced if it lies above 1 (the intervals do not overlap and the first is higher), not reproduced if it lies below 1, "+
			"inconclusive if the intervals overlap (or with fewer than %d seeds)", fmtG(100*c.level), c.minSeeds),
		Detail: fmt.Sprintf("%s: %s [%s, %s] (n = %d); %s: %s [%s, %s] (n = %d)", aName, fmtG(a.value), fmtG(a.lo), fmtG(a.hi), a.n,
			bName, fmtG(b.value), fmtG(b.lo), fmtG(b.hi), b.n)}
	c.add(r, Above)
}

// shareScale is one scale of claim 5's recovered share.
type shareScale struct {
	scale, name, sym string
	share            func(from, mid, to []float64) float64
}

// shareScales are the two scales of claim 5, the rules' recover_scale
// deciding and the other shown as secondary.
var shareScales = []shareScale{
	{ScaleLog, "log_err_share_recovered", "log e", metrics.LogShareRecovered},
	{ScaleLinear, "err_share_recovered", "e", metrics.ShareRecovered},
}

// of names the quantity whose share is taken on this scale.
func (s shareScale) of(quantity string) string {
	if s.scale == ScaleLog {
		return "log(" + quantity + ")"
	}
	return quantity + " (linear scale)"
}

// scaleNote says whether a scale is the declared one.
func (c *config) scaleNote(scale string) string {
	if scale == c.recoverScale {
		return fmt.Sprintf(" (the scale declared in the rules, recover_scale = %s)", c.recoverScale)
	}
	return fmt.Sprintf(" (secondary: the rules decide claim 5 on the %s scale)", c.recoverScale)
}

// recovery adds claim 5's rows: the share of the layerwise-to-joint
// improvement that bfc-x recovers, for every intermediate x, on both
// scales; the row of the rules' recover_scale at recover_x is primary.
func (c *config) recovery(e experiment) {
	for x := 1; x < e.L-2; x++ {
		al := align(atX(e.runs, 0), atX(e.runs, x), atX(e.runs, e.L-2))
		if len(al[0]) == 0 {
			continue
		}
		e0, ex, ej := field(al[0], testErr), field(al[1], testErr), field(al[2], testErr)
		where := fmt.Sprintf("[x=%d,L=%d]", x, e.L)
		for _, s := range shareScales {
			stat := s.name + where
			n := len(e0)
			lo, hi := c.ci("5/"+e.name+"/"+stat, n, func(idx []int) float64 { return s.share(pick(e0, idx), pick(ex, idx), pick(ej, idx)) })
			c.add(Row{Claim: "5", Experiment: e.name, Statistic: stat, Primary: s.scale == c.recoverScale && x == c.recoverX, N: n,
				Value: s.share(e0, ex, ej), Lo: lo, Hi: hi, Threshold: c.recoverFrac,
				Rule: c.ruleText(fmt.Sprintf("share of the layerwise-to-joint improvement in %s that bfc-%d recovers at L = %d: "+
					"median over paired seeds of (%s_layerwise - %s_bfc-%d) / median of (%s_layerwise - %s_joint)%s", s.of("test error"), x, e.L,
					s.sym, s.sym, x, s.sym, s.sym, c.scaleNote(s.scale)), c.recoverFrac, Above),
				Detail: fmt.Sprintf("median final test error: layerwise %s, bfc-%d %s, joint %s; per seed (layerwise, bfc-%d, joint): %s",
					fmtG(metrics.Median(e0)), x, fmtG(metrics.Median(ex)), fmtG(metrics.Median(ej)), x, triples(labels(al[0]), e0, ex, ej))}, Above)
		}
	}
}

// triples formats per-seed triples as "1: (a, b, c), 2: ...".
func triples(seeds []string, a, b, c []float64) string {
	parts := make([]string, len(a))
	for i := range a {
		parts[i] = fmt.Sprintf("%s: (%s, %s, %s)", seeds[i], fmtG(a[i]), fmtG(b[i]), fmtG(c[i]))
	}
	return strings.Join(parts, ", ")
}

// epochsOf describes the training length of an experiment's staged runs.
func epochsOf(e experiment) string {
	for _, r := range e.runs {
		if r.Staged() && r.L > 2 {
			return fmt.Sprintf("%d epochs of layer 2 alone, then %d per stage", r.EpochsFirst, (r.Epochs-r.EpochsFirst)/(r.L-2))
		}
	}
	return "no staged run"
}

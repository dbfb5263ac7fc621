package claims

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// depthSeries is the per-seed log ratio log(e_layerwise / e_joint) of the
// depth series at every depth, for the seeds present at all of them.
type depthSeries struct {
	depths []int       // sorted
	seeds  []string    // seed labels, in the order of the first depth
	logR   [][]float64 // logR[s][d]: seed s at depths[d]
	budget []string    // the training budget of each depth, in words
}

// seriesOf pairs layerwise (x = 0) with joint (x = L-2) runs of every
// depth by target (as layerwiseRatio does) and then the depths by seed
// label (the targets of one seed differ between depths), keeping the
// seeds that have a pair at every depth.
func seriesOf(es []experiment) depthSeries {
	var ds depthSeries
	perDepth := map[int]map[string]float64{}
	var order []string
	for _, e := range es {
		al := align(atX(e.runs, 0), atX(e.runs, e.L-2))
		if len(al[0]) == 0 || e.L < 3 {
			continue
		}
		lr := logRatios(field(al[0], testErr), field(al[1], testErr))
		m := map[string]float64{}
		for i, r := range al[0] {
			if _, dup := m[r.Label()]; !dup {
				m[r.Label()] = lr[i]
			}
			if len(ds.depths) == 0 && !slices.Contains(order, r.Label()) {
				order = append(order, r.Label())
			}
		}
		perDepth[e.L] = m
		ds.depths = append(ds.depths, e.L)
		ds.budget = append(ds.budget, fmt.Sprintf("L = %d: %s", e.L, epochsOf(e)))
	}
	for _, s := range order {
		row := make([]float64, len(ds.depths))
		ok := true
		for d, L := range ds.depths {
			v, has := perDepth[L][s]
			ok = ok && has
			row[d] = v
		}
		if ok {
			ds.seeds, ds.logR = append(ds.seeds, s), append(ds.logR, row)
		}
	}
	return ds
}

// Slope is the least-squares slope of y against x (NaN with fewer than
// two distinct x).
func Slope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx, my = mx+x[i]/float64(len(x)), my+y[i]/float64(len(x))
	}
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return math.NaN()
	}
	return sxy / sxx
}

// depthSlope adds claim 3's row on the growth of the layerwise/joint ratio
// with depth over the depth series: per seed, the least-squares slope of
// log(e_layerwise / e_joint) against L over every depth; the row's value
// is exp(median slope), the factor by which the ratio grows per added
// layer, with the bootstrap interval over seeds, reproduced if it lies
// above depth_growth. When the depths were not trained under one budget
// rule (the same epochs of layer 2 alone and per later stage), the
// growth is confounded by the budget and the row is inconclusive.
func (c *config) depthSlope(es []experiment) {
	ds := seriesOf(es)
	if len(ds.depths) < 2 {
		return
	}
	x := make([]float64, len(ds.depths))
	for i, L := range ds.depths {
		x[i] = float64(L)
	}
	slopes := make([]float64, len(ds.seeds))
	parts := make([]string, len(ds.seeds))
	for s, lr := range ds.logR {
		slopes[s] = Slope(x, lr)
		ratios := make([]string, len(lr))
		for d, v := range lr {
			ratios[d] = fmtG(math.Exp(v))
		}
		parts[s] = fmt.Sprintf("%s: (%s) -> %s", ds.seeds[s], strings.Join(ratios, ", "), fmtG(math.Exp(slopes[s])))
	}
	span := fmt.Sprintf("L=%d-%d", ds.depths[0], ds.depths[len(ds.depths)-1])
	r := Row{Claim: "3", Experiment: "E10", Statistic: "ratio_growth_per_layer[" + span + "]", N: len(slopes),
		Threshold: c.depthGrowth, Log: true}
	lo, hi := c.ci("3/E10/"+r.Statistic, len(slopes), medianAt(slopes))
	r.Value, r.Lo, r.Hi = math.Exp(metrics.Median(slopes)), math.Exp(lo), math.Exp(hi)
	depths := make([]string, len(ds.depths))
	for i, L := range ds.depths {
		depths[i] = fmt.Sprint(L)
	}
	r.Rule = c.ruleText(fmt.Sprintf("growth of the layerwise/joint final test-error ratio per added layer over the depth series "+
		"(L = %s, every depth under one budget rule): exp(median over seeds of the least-squares slope of "+
		"log(test error of layerwise / that of joint) against L)", strings.Join(depths, ", ")), c.depthGrowth, Above)
	budgets := budgetRules(es)
	slices.Sort(budgets)
	budgets = slices.Compact(budgets)
	r.Detail = fmt.Sprintf("budget: %s; per seed (ratios at L = %s) -> growth per layer: %s", strings.Join(ds.budget, "; "),
		strings.Join(depths, ", "), strings.Join(parts, ", "))
	if len(budgets) > 1 {
		r.Verdict = Inconclusive
		r.Detail += "; inconclusive by rule: the depths were trained under different budget rules, so the growth is confounded by the budget"
	}
	c.add(r, Above)
}

// budgetRules is the (epochs of layer 2 alone, epochs per later stage) of
// each depth's staged runs, in words, in the order of es.
func budgetRules(es []experiment) []string {
	var out []string
	for _, e := range es {
		for _, r := range e.runs {
			if r.Staged() && r.L > 2 {
				out = append(out, fmt.Sprintf("%d/%d", r.EpochsFirst, (r.Epochs-r.EpochsFirst)/(r.L-2)))
			}
		}
	}
	return out
}

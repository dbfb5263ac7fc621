package figure

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// E0 figures describe the target networks themselves, from any number of
// "target" inputs (typically a grid over gap, L and seed).
func init() {
	Register("E0-information-gap", Plot{Build: informationGap, Reads: []kit.TableNeed{target.LayersDesc.Need()}})
	Register("E0-label-distribution", Plot{Build: labelDistribution, Reads: []kit.TableNeed{
		target.SplitDesc(target.TableTrain, 2).Of(target.ColY), target.SummaryDesc.Need()}})
}

// setting identifies a target configuration up to its seed.
type setting struct {
	L   int
	gap float64
}

func compareSettings(a, b setting) int {
	return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(a.gap, b.gap))
}

// targetsBySetting groups the "target" inputs by (L, gap), in a
// deterministic order.
func targetsBySetting(env kit.Env) ([]setting, map[setting][]kit.Input, error) {
	ins := kit.InputsOfKind(env, "target")
	if len(ins) == 0 {
		return nil, nil, fmt.Errorf("needs at least one target input, have %d inputs", len(env.Inputs()))
	}
	groups := map[setting][]kit.Input{}
	var keys []setting
	for _, in := range ins {
		c := target.ConfigOf(in.Params())
		s := setting{c.L, c.Gap}
		if _, ok := groups[s]; !ok {
			keys = append(keys, s)
		}
		groups[s] = append(groups[s], in)
	}
	slices.SortFunc(keys, compareSettings)
	return keys, groups, nil
}

// spread returns the median of v and, when there is more than one value,
// its minimum and maximum (NaN otherwise).
func spread(v []float64) (med, lo, hi float64) {
	if len(v) < 2 {
		return metrics.Median(v), math.NaN(), math.NaN()
	}
	return metrics.Median(v), slices.Min(v), slices.Max(v)
}

// bandOrNil drops a band that is NaN everywhere (a single seed).
func bandOrNil(lo, hi []float64) ([]float64, []float64) {
	for _, v := range lo {
		if !math.IsNaN(v) {
			return lo, hi
		}
	}
	return nil, nil
}

func distinctLs(keys []setting) []int {
	var Ls []int
	for _, k := range keys {
		if !slices.Contains(Ls, k.L) {
			Ls = append(Ls, k.L)
		}
	}
	return Ls
}

func maxReplicates(groups map[setting][]kit.Input) int {
	n := 0
	for _, g := range groups {
		n = max(n, len(g))
	}
	return n
}

// informationGap plots, for each L, the share of Var(y) carried by each
// layer's term alpha_l ||S*_l||^2 against gamma (log-log). The Greek
// gamma is spelled out: in Liberation Sans it is easily misread as y.
func informationGap(env kit.Env, _ kit.Params) (*Spec, error) {
	keys, groups, err := targetsBySetting(env)
	if err != nil {
		return nil, err
	}
	spec := &Spec{Title: "E0: information gap — share of Var(y) carried by each layer's term"}
	for _, L := range distinctLs(keys) {
		panel := Panel{Title: fmt.Sprintf("L = %d (y has degree %d)", L, 1<<L),
			X: Axis{Label: "information gap gamma (α_l = gamma^(l−2))", Scale: Log},
			Y: Axis{Label: "Var(α_l ||S*_l||²) / Var(y)", Scale: Log}}
		for l := 2; l <= L; l++ {
			s := Series{Name: fmt.Sprintf("layer %d (degree %d)", l, 1<<l), Group: fmt.Sprintf("layer %d", l), Style: LinePoints}
			for _, k := range keys {
				if k.L != L {
					continue
				}
				var vals []float64
				for _, in := range groups[k] {
					layers, err := target.ReadLayers(in)
					if err != nil {
						return nil, err
					}
					vals = append(vals, layers[l-2].Share)
				}
				med, lo, hi := spread(vals)
				s.X, s.Y, s.Lo, s.Hi = append(s.X, k.gap), append(s.Y, med), append(s.Lo, lo), append(s.Hi, hi)
			}
			s.Lo, s.Hi = bandOrNil(s.Lo, s.Hi)
			panel.Series = append(panel.Series, s)
		}
		spec.Panels = append(spec.Panels, panel)
	}
	spec.Notes = []string{
		"Share of Var(y) carried by the term α_l ||S*_l||² of each layer, estimated by Monte Carlo on each target's norm_samples inputs. " +
			"The shares need not sum to 1 because the terms are correlated (S*_l is built from S*_(l−1)).",
		"Information gap α_l = gamma^(l−2) is our choice of form (docs/science.md#target).",
	}
	if n := maxReplicates(groups); n > 1 {
		spec.Notes = append(spec.Notes, fmt.Sprintf("Lines: median over up to %d seeds per setting; bands: min–max.", n))
	}
	return spec, nil
}

// labelDistribution plots, for each L, the density of y / sd(y) on a log
// scale (so heavy tails show) for every gamma, against a standard normal.
func labelDistribution(env kit.Env, _ kit.Params) (*Spec, error) {
	keys, groups, err := targetsBySetting(env)
	if err != nil {
		return nil, err
	}
	const bins = 60
	const tailFrac = 5e-4
	spec := &Spec{Title: "E0: distribution of the labels y (train split)"}
	nSamples := 0
	for _, L := range distinctLs(keys) {
		panel := Panel{Title: fmt.Sprintf("L = %d", L),
			X: Axis{Label: "y / sd(y)"}, Y: Axis{Label: "density (log scale)", Scale: Log}}
		// Pool standardised labels over seeds; one histogram per gamma on
		// common bins.
		pooled := map[setting][]float64{}
		kurt := map[setting]float64{}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, k := range keys {
			if k.L != L {
				continue
			}
			var ks []float64
			for _, in := range groups[k] {
				y, err := target.ReadTrainLabels(in)
				if err != nil {
					return nil, err
				}
				sum, err := target.ReadSummary(in)
				if err != nil {
					return nil, err
				}
				varY, kappa := sum.VarY, sum.KurtosisY
				sd := math.Sqrt(varY)
				for _, v := range y {
					z := v / sd
					pooled[k] = append(pooled[k], z)
					lo, hi = math.Min(lo, z), math.Max(hi, z)
				}
				ks = append(ks, kappa)
				nSamples = max(nSamples, len(y))
			}
			kurt[k] = metrics.Median(ks)
		}
		// Bin up to the 99.95% quantile of the pooled labels, so that a few
		// extreme labels do not squash the body; the rest are counted.
		var all []float64
		for _, z := range pooled {
			all = append(all, z...)
		}
		hi = metrics.Quantile(all, 1-tailFrac)
		width := (hi - lo) / bins
		if !(width > 0) {
			return nil, fmt.Errorf("L=%d: labels span [%v, %v], cannot bin them", L, lo, hi)
		}
		beyond := 0
		for _, v := range all {
			if v > hi {
				beyond++
			}
		}
		if beyond > 0 {
			spec.Notes = append(spec.Notes, fmt.Sprintf("L = %d: %d of %d pooled labels lie beyond y/sd(y) = %.3g (up to %.3g) and are not shown.",
				L, beyond, len(all), hi, slices.Max(all)))
		}
		floor := math.Inf(1)
		for _, k := range keys {
			z, ok := pooled[k]
			if !ok {
				continue
			}
			counts := make([]int, bins)
			for _, v := range z {
				if v <= hi {
					counts[min(bins-1, int((v-lo)/width))]++
				}
			}
			s := Series{Name: fmt.Sprintf("gamma = %g (kurtosis %s)", k.gap, fmtNum(kurt[k])), Group: fmt.Sprintf("gamma = %g", k.gap)}
			for b, c := range counts {
				if c == 0 {
					continue // log scale: empty bins are not drawn
				}
				d := float64(c) / (float64(len(z)) * width)
				s.X, s.Y = append(s.X, lo+(float64(b)+0.5)*width), append(s.Y, d)
				floor = math.Min(floor, d)
			}
			panel.Series = append(panel.Series, s)
		}
		// Standard normal reference, down to the smallest drawn density.
		ref := Series{Name: "N(0, 1)", Dashed: true, Reference: true}
		for i := 0; i <= 200; i++ {
			x := lo + (hi-lo)*float64(i)/200
			if d := math.Exp(-x*x/2) / math.Sqrt(2*math.Pi); d >= floor/2 {
				ref.X, ref.Y = append(ref.X, x), append(ref.Y, d)
			}
		}
		panel.Series = append(panel.Series, ref)
		spec.Panels = append(spec.Panels, panel)
	}
	spec.Notes = append([]string{
		fmt.Sprintf("Histogram (%d equal bins per panel up to the %.4g quantile, empty bins omitted) of the training labels y divided by sd(y), "+
			"pooled over seeds (up to %d seeds, %d labels each). "+
			"Kurtosis E(y−Ey)⁴/Var(y)² (3 for a Gaussian) is the Monte Carlo estimate of each target's summary (median over seeds); "+
			"at degree 2^L its estimate is itself heavy-tailed.", bins, 1-tailFrac, maxReplicates(groups), nSamples),
	}, spec.Notes...)
	return spec, nil
}

// fmtNum prints a positive number with three significant digits, without
// an exponent below 1e6: 3.14, 202, 2905, 1.05e+06.
func fmtNum(v float64) string {
	if math.Abs(v) >= 100 && math.Abs(v) < 1e6 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

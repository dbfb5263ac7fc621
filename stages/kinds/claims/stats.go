package claims

import (
	"fmt"
	"math"
	"strconv"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// Verdicts.
const (
	Reproduced    = "reproduced"
	NotReproduced = "not reproduced"
	Inconclusive  = "inconclusive"
)

// Direction says on which side of its threshold a statistic supports the
// claim.
type Direction int

const (
	// Above: the claim holds when the statistic is above the threshold.
	Above Direction = iota
	// Below: the claim holds when the statistic is below the threshold.
	Below
	// Within: the claim holds when the statistic lies in [1/t, t] (a
	// ratio that should be 1).
	Within
)

// Decide applies the three-way rule to a confidence interval [lo, hi]
// from n replicates: with direction Above, reproduced if lo > t, not
// reproduced if hi < t; Below mirrors it; Within (t > 1) is reproduced if
// [lo, hi] lies inside [1/t, t] and not reproduced if it lies wholly
// outside. Anything else, a NaN bound, or n < minN is inconclusive.
func Decide(lo, hi, t float64, dir Direction, n, minN int) string {
	if n < minN || math.IsNaN(lo) || math.IsNaN(hi) || math.IsNaN(t) {
		return Inconclusive
	}
	switch dir {
	case Above:
		if lo > t {
			return Reproduced
		}
		if hi < t {
			return NotReproduced
		}
	case Below:
		if hi < t {
			return Reproduced
		}
		if lo > t {
			return NotReproduced
		}
	case Within:
		if lo >= 1/t && hi <= t {
			return Reproduced
		}
		if hi < 1/t || lo > t {
			return NotReproduced
		}
	}
	return Inconclusive
}

// SeedsNeeded is the number of seeds for which the interval [lo, hi] of
// a statistic with value v, measured on n seeds, would have a half-width
// on the threshold's side below the distance from v to the threshold t
// (for Within, to the nearer end of [1/t, t]), if that half-width shrinks
// like 1/sqrt(n), as the interval of a median does:
// ceil(n (h/|v - t|)^2), at least minN; ratios (log) are measured on the
// log scale. It is -1 when no number of seeds would do (v on the
// threshold) or a bound is missing (NaN, n = 0).
func SeedsNeeded(v, lo, hi, t float64, dir Direction, n, minN int, log bool) int {
	f := func(x float64) float64 { return x }
	if log {
		if v <= 0 || lo <= 0 || hi <= 0 || t <= 0 {
			return -1
		}
		f = math.Log
	}
	if dir == Within {
		if math.Abs(f(v)-f(1/t)) < math.Abs(f(v)-f(t)) {
			t = 1 / t
		}
	}
	fv, ft := f(v), f(t)
	if n == 0 || math.IsNaN(fv) || math.IsNaN(f(lo)) || math.IsNaN(f(hi)) || math.IsNaN(ft) || fv == ft {
		return -1
	}
	h := fv - f(lo)
	if ft > fv {
		h = f(hi) - fv
	}
	q := h / math.Abs(fv-ft)
	need := math.Ceil(float64(n) * q * q)
	if need > 1e9 {
		return -1
	}
	return max(minN, int(need))
}

// ruleText states a decision rule for a statistic described by what.
func (c *config) ruleText(what string, t float64, dir Direction) string {
	ci := fmt.Sprintf("the %s%% bootstrap CI over seeds", fmtG(100*c.level))
	var r string
	switch dir {
	case Above:
		r = fmt.Sprintf("reproduced if %s lies above %s, not reproduced if it lies below %s", ci, fmtG(t), fmtG(t))
	case Below:
		r = fmt.Sprintf("reproduced if %s lies below %s, not reproduced if it lies above %s", ci, fmtG(t), fmtG(t))
	case Within:
		r = fmt.Sprintf("reproduced if %s lies within [%s, %s], not reproduced if it lies wholly outside", ci, fmtG(1/t), fmtG(t))
	}
	return fmt.Sprintf("%s; %s, otherwise (or with fewer than %d seeds) inconclusive", what, r, c.minSeeds)
}

// fmtG prints a number with up to 3 significant digits.
func fmtG(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// ci returns a percentile bootstrap interval (B = c.boot resamples, level
// c.level) of stat over n paired replicates: each resample draws n
// replicate indices with replacement, so the values of one replicate stay
// together. The random stream is derived from the stage seed and name, so
// adding a statistic does not move the others' intervals.
func (c *config) ci(name string, n int, stat func(idx []int) float64) (lo, hi float64) {
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i)
	}
	idx := make([]int, n)
	seed := kit.RNG(c.seed, "claims/"+name).Uint64()
	return metrics.BootstrapCI(x, func(res []float64) float64 {
		for i, v := range res {
			idx[i] = int(v)
		}
		return stat(idx)
	}, c.level, c.boot, seed)
}

// identity returns the indices 0..n-1.
func identity(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// pick returns v at the indices idx.
func pick(v []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for i, j := range idx {
		out[i] = v[j]
	}
	return out
}

// medianAt returns the statistic "median of v over the resampled
// replicates".
func medianAt(v []float64) func(idx []int) float64 {
	return func(idx []int) float64 { return metrics.Median(pick(v, idx)) }
}

// logRatios returns log(a_i / b_i).
func logRatios(a, b []float64) []float64 {
	la, lb := metrics.Logs(a), metrics.Logs(b)
	for i := range la {
		la[i] -= lb[i]
	}
	return la
}

package metrics

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/bfc-repro/bfc/stages/kit"
)

// Median returns Quantile(x, 0.5): the middle value of x, or the mean of
// the two middle values when len(x) is even. x is not modified.
func Median(x []float64) float64 { return Quantile(x, 0.5) }

// Quantile returns the q-quantile of x by linear interpolation between
// order statistics (Hyndman & Fan type 7, the default of R and NumPy):
// with x sorted ascending and h = (n-1) q, it is
// x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]). Quantile(x, 0)
// is the minimum and Quantile(x, 1) the maximum. It returns NaN if x is
// empty, holds a NaN, or q is outside [0, 1]. x is not modified.
func Quantile(x []float64, q float64) float64 {
	if len(x) == 0 || !(q >= 0 && q <= 1) || slices.ContainsFunc(x, math.IsNaN) {
		return math.NaN()
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return quantileSorted(s, q)
}

// quantileSorted is Quantile for a sorted, NaN-free, non-empty s.
func quantileSorted(s []float64, q float64) float64 {
	h := float64(len(s)-1) * q
	i := int(math.Floor(h))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	f := h - float64(i)
	if f == 0 {
		return s[i]
	}
	return s[i] + f*(s[i+1]-s[i])
}

// BootstrapCI returns a percentile bootstrap confidence interval for
// stat(x): it draws B resamples of x with replacement (random stream
// "metrics/bootstrap" of seed), evaluates stat on each, and returns the
// (1-level)/2 and (1+level)/2 quantiles of those values. The interval is
// deterministic given the arguments. It returns NaNs if x is empty, B < 1,
// level is outside (0, 1), or some resample's statistic is NaN.
func BootstrapCI(x []float64, stat func([]float64) float64, level float64, B int, seed uint64) (lo, hi float64) {
	nan := math.NaN()
	if B < 1 || !(level > 0 && level < 1) || len(x) == 0 {
		return nan, nan
	}
	r := kit.RNG(seed, "metrics/bootstrap")
	res := make([]float64, len(x))
	vals := make([]float64, B)
	for b := range vals {
		for j := range res {
			res[j] = x[r.IntN(len(x))]
		}
		vals[b] = stat(res)
	}
	if slices.ContainsFunc(vals, math.IsNaN) {
		return nan, nan
	}
	slices.Sort(vals)
	return quantileSorted(vals, (1-level)/2), quantileSorted(vals, (1+level)/2)
}

// CompareSeeds orders seed labels numerically when both are integers,
// else as strings.
func CompareSeeds(a, b string) int {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return cmp.Compare(x, y)
	}
	return cmp.Compare(a, b)
}

// CommonSeeds returns the seed labels present in every map, in seed order
// (for statistics paired by seed).
func CommonSeeds[V any](ms ...map[string]V) []string {
	if len(ms) == 0 {
		return nil
	}
	var out []string
	for s := range ms[0] {
		ok := true
		for _, m := range ms[1:] {
			if _, has := m[s]; !has {
				ok = false
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, CompareSeeds)
	return out
}

// Logs returns the natural logarithms of v (NaN for non-positive values).
func Logs(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.NaN()
		if x > 0 {
			out[i] = math.Log(x)
		}
	}
	return out
}

// ShareRecovered returns median_i(from_i - mid_i) / median_i(from_i - to_i):
// the share of the typical improvement from "from" to "to" that "mid"
// achieves, with every replicate i paired across the three. On log test
// errors (from = layerwise, mid = bfc-x, to = joint) it is the share of the
// layerwise-to-joint improvement, in orders of magnitude, that bfc-x
// recovers (claim 5). It is NaN when the denominator is 0 or the inputs
// have different lengths.
func ShareRecovered(from, mid, to []float64) float64 {
	if len(from) != len(mid) || len(from) != len(to) || len(from) == 0 {
		return math.NaN()
	}
	num, den := make([]float64, len(from)), make([]float64, len(from))
	for i := range from {
		num[i], den[i] = from[i]-mid[i], from[i]-to[i]
	}
	d := Median(den)
	if d == 0 {
		return math.NaN()
	}
	return Median(num) / d
}

// LogShareRecovered is ShareRecovered on the logarithms of errors.
func LogShareRecovered(from, mid, to []float64) float64 {
	return ShareRecovered(Logs(from), Logs(mid), Logs(to))
}

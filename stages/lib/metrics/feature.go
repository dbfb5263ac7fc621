// Package metrics computes the numbers every bfc experiment reports: how
// well learned features match the target's features, and robust summaries
// over seeds.
//
// # Feature error
//
// A learner can only recover a target feature map S*_l up to an orthogonal
// transformation, because the target depends on S*_l only through
// ||S*_l||^2 = ||U S*_l||^2. The feature error (docs/science.md#schedules) is therefore
//
//	eps = min_{U in O(k)} E||U s - s*||^2 / E||s*||^2,
//
// with s = S(x), s* = S*(x) in R^k and E the average over samples (no
// centring: S*_l of the target has a non-zero mean for l >= 3, and the
// mean is part of the feature). Writing M = sum_i s_i s*_i^T = S^T S*
// (k x k) for sample matrices S, S* with one sample per row,
//
//	sum_i ||U s_i - s*_i||^2 = ||S||_F^2 + ||S*||_F^2 - 2 tr(U M),
//
// and tr(U M) is maximised over O(k) by U = B A^T where M = A Sigma B^T is
// an SVD (orthogonal Procrustes), with maximum tr(Sigma), the nuclear norm
// of M. U ranges over all of O(k), reflections included, so no determinant
// correction is applied: a reflected copy of S* has error 0. eps = 0 means
// the features agree up to rotation/reflection, eps = 1 is the error of
// S = 0; since tr(Sigma) >= 0, eps <= 1 + E||s||^2/E||s*||^2, so it exceeds
// 1 only for features larger than S* and poorly aligned with it.
//
// # Quadratic-form error
//
// The target uses its features only through the quadratic form ||S*_l||^2,
// which the learner may match even when the features themselves differ
// (e.g. with a different width). QuadFormError measures that directly:
//
//	qerr = E[(||s||^2 - ||s*||^2)^2] / Var(||s*||^2),
//
// the mean squared error of ||s||^2 as a predictor of ||s*||^2 relative
// to the error of the best constant predictor E||s*||^2. It is 0 when the
// quadratic forms agree on every sample (e.g. s = U s* for orthogonal U),
// 1 for the constant predictor, and invariant under any orthogonal U
// applied to s; it is defined for S and S* of different widths.
//
// # Relative error
//
// RelErr is the test error every learner reports: mean squared error over
// the population variance of the labels (1 for the best constant).
//
// # Robust summaries
//
// Median, Quantile (Hyndman-Fan type 7: linear interpolation between order
// statistics, the default of R and NumPy), a percentile bootstrap
// confidence interval for any statistic of a sample (BootstrapCI,
// deterministic given its seed), and the share of an improvement that an
// intermediate recovers (ShareRecovered, LogShareRecovered).
package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// FeatureError returns the feature error eps of S against the target
// features Sstar (see the package doc) and the orthogonal k x k matrix U
// attaining it, so that U s_i approximates s*_i (S U^T approximates
// Sstar). S and Sstar hold one sample per row and must have the same
// shape; FeatureError panics otherwise, like gonum on a shape mismatch.
// It returns NaN and a nil U if either input holds a NaN or Inf or
// E||s*||^2 = 0.
func FeatureError(S, Sstar *mat.Dense) (eps float64, U *mat.Dense) {
	n, k := S.Dims()
	if n2, k2 := Sstar.Dims(); n2 != n || k2 != k {
		panic(fmt.Sprintf("metrics: FeatureError of a %dx%d S against a %dx%d S*", n, k, n2, k2))
	}
	ss, tt := frob2(S), frob2(Sstar)
	if math.IsNaN(ss) || math.IsInf(ss, 0) || math.IsNaN(tt) || math.IsInf(tt, 0) || tt == 0 {
		return math.NaN(), nil
	}
	var M mat.Dense
	M.Mul(S.T(), Sstar)
	var svd mat.SVD
	if !svd.Factorize(&M, mat.SVDFull) {
		return math.NaN(), nil
	}
	var A, B mat.Dense
	svd.UTo(&A)
	svd.VTo(&B)
	U = mat.NewDense(k, k, nil)
	U.Mul(&B, A.T())
	var nuc float64
	for _, v := range svd.Values(nil) {
		nuc += v
	}
	// Cancellation can leave a tiny negative number for an exact match.
	return max(0, (ss+tt-2*nuc)/tt), U
}

// frob2 returns the squared Frobenius norm of a.
func frob2(a *mat.Dense) float64 {
	raw := a.RawMatrix()
	var s float64
	for i := 0; i < raw.Rows; i++ {
		for _, v := range raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols] {
			s += v * v
		}
	}
	return s
}

// rowSqNorms returns ||row_i||^2 for every row of a.
func rowSqNorms(a *mat.Dense) []float64 {
	raw := a.RawMatrix()
	out := make([]float64, raw.Rows)
	for i := range out {
		for _, v := range raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols] {
			out[i] += v * v
		}
	}
	return out
}

// QuadFormError returns E[(||s||^2 - ||s*||^2)^2] / Var(||s*||^2) over the
// rows of S and Sstar (see the package doc); the widths may differ, the
// numbers of rows must agree (it panics otherwise). It returns NaN if
// Var(||s*||^2) = 0 or an input is not finite.
func QuadFormError(S, Sstar *mat.Dense) float64 {
	n, _ := S.Dims()
	if n2, _ := Sstar.Dims(); n2 != n {
		panic(fmt.Sprintf("metrics: QuadFormError of %d samples against %d", n, n2))
	}
	q, qs := rowSqNorms(S), rowSqNorms(Sstar)
	var mean float64
	for _, v := range qs {
		mean += v
	}
	mean /= float64(n)
	var mse, variance float64
	for i, v := range qs {
		mse += (q[i] - v) * (q[i] - v)
		variance += (v - mean) * (v - mean)
	}
	r := mse / variance
	if variance == 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return math.NaN()
	}
	return r
}

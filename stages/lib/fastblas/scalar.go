package fastblas

import "math"

// The vector operations below have a SIMD twin in kernel_simd.go that
// performs the same operation on every element (one fma, one division),
// so that either gives the same bits. Each microKernel carries the pair it
// is used with.

// axpyGo sets y[i] = fma(alpha, x[i], y[i]) for i < len(y).
func axpyGo(alpha float64, x, y []float64) {
	x = x[:len(y)]
	for i := range y {
		y[i] = math.FMA(alpha, x[i], y[i])
	}
}

// axpy4Go applies axpyGo(a[0], x0, y), ..., axpyGo(a[3], x3, y) in one
// pass: y[i] = fma(a[3], x3[i], fma(a[2], x2[i], fma(a[1], x1[i], fma(a[0], x0[i], y[i])))).
func axpy4Go(a *[4]float64, x0, x1, x2, x3, y []float64) {
	n := len(y)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	for i := range y {
		y[i] = math.FMA(a[3], x3[i], math.FMA(a[2], x2[i], math.FMA(a[1], x1[i], math.FMA(a[0], x0[i], y[i]))))
	}
}

// divGo sets y[i] = y[i] / d.
func divGo(y []float64, d float64) {
	for i := range y {
		y[i] /= d
	}
}

// subDot returns s - Σ x[i]·y[i] as one chain s = fma(-x[i], y[i], s) in
// index order: the operations axpyGo(-x[i], ...) applies to one element.
func subDot(s float64, x, y []float64) float64 {
	y = y[:len(x)]
	for i, v := range x {
		s = math.FMA(-v, y[i], s)
	}
	return s
}

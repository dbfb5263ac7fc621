package kernel_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/lib/kernel"
)

// The polynomial kernel (1 + ⟨x,y⟩/d)^p, evaluated directly and through
// kernel.Eval, and kernel ridge regression with it on a degree-2 target it
// can represent exactly: the held-out error is tiny once n exceeds the
// number of monomials of degree <= 2 in d = 3 variables (10).
func ExampleFit() {
	k, err := kernel.NewPoly(2, 3)
	if err != nil {
		panic(err)
	}
	x, y := []float64{1, 2, 3}, []float64{0.5, -1, 2}
	direct := math.Pow(1+(1*0.5+2*-1+3*2)/3.0, 2)
	fmt.Printf("k(x, y) = %.4f, directly %.4f\n", kernel.Eval(k, x, y), direct)

	r := rand.New(rand.NewPCG(7, 8))
	sample := func(n int) (*mat.Dense, []float64) {
		xs, ys := mat.NewDense(n, 3, nil), make([]float64, n)
		for i := range n {
			for j := range 3 {
				xs.Set(i, j, r.NormFloat64())
			}
			ys[i] = xs.At(i, 0)*xs.At(i, 1) - xs.At(i, 2)
		}
		return xs, ys
	}
	xtr, ytr := sample(200)
	xte, yte := sample(100)
	m, info, err := kernel.Fit(context.Background(), xtr, ytr, kernel.Config{Kernel: k, Ridges: []float64{1e-10, 1e-6},
		ValFrac: 0.2, Refit: true, Threads: 1})
	if err != nil {
		panic(err)
	}
	pred, err := m.Predict(context.Background(), xte, 1)
	if err != nil {
		panic(err)
	}
	var mse, vy, mean float64
	for _, v := range yte {
		mean += v / float64(len(yte))
	}
	for i, v := range yte {
		mse += (pred[i] - v) * (pred[i] - v)
		vy += (v - mean) * (v - mean)
	}
	fmt.Printf("fitted on %d samples, test MSE / Var(y) below 1e-6: %v\n", info.NFit, mse/vy < 1e-6)
	// Output:
	// k(x, y) = 6.2500, directly 6.2500
	// fitted on 200 samples, test MSE / Var(y) below 1e-6: true
}

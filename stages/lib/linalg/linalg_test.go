package linalg_test

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"

	"github.com/bfc-repro/bfc/stages/lib/linalg"
)

// TestBackendSolves checks that whichever backend is linked computes a
// Cholesky factorisation and a matrix product correctly.
func TestBackendSolves(t *testing.T) {
	t.Logf("backend %s", linalg.Backend())
	n := 50
	a := blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			a.Data[i*n+j] = math.Sin(float64(i*7+j*3)) / 10
		}
	}
	// S = A A^T + n I is symmetric positive definite.
	s := blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, a, a, 0, s)
	for i := 0; i < n; i++ {
		s.Data[i*n+i] += float64(n)
	}
	orig := append([]float64(nil), s.Data...)
	sym := blas64.Symmetric{N: n, Stride: n, Data: s.Data, Uplo: blas.Upper}
	tri, ok := lapack64.Potrf(sym)
	if !ok {
		t.Fatal("Potrf failed on an SPD matrix")
	}
	// Check U^T U = S.
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			var sum float64
			for k := 0; k <= i; k++ {
				sum += tri.Data[k*n+i] * tri.Data[k*n+j]
			}
			if d := math.Abs(sum - orig[i*n+j]); d > 1e-10*float64(n) {
				t.Fatalf("U^T U differs from S at (%d,%d) by %g", i, j, d)
			}
		}
	}
}

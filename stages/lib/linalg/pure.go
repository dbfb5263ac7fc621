//go:build !openblas

package linalg

import (
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"

	"github.com/bfc-repro/bfc/stages/lib/fastblas"
)

const backend = "fastblas"

func init() {
	// gonum's BLAS and LAPACK with the level-3 routines and the Cholesky
	// factorisation on fastblas's kernels: pure Go, the same bits on
	// every machine and for every thread count (see package fastblas).
	blas64.Use(fastblas.Implementation{})
	lapack64.Use(fastblas.Lapack{})
}

// SetThreads sets the number of goroutines fastblas splits large products
// and factorisations over (1 by default; results do not depend on it).
func SetThreads(n int) { fastblas.SetThreads(n) }

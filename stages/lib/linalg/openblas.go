//go:build openblas && cgo

package linalg

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

import (
	"os"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

const backend = "openblas"

func init() {
	// gonum's LAPACK (Cholesky and friends) is blocked and spends its time
	// in level-3 BLAS, so routing blas64 is enough to make it fast.
	blas64.Use(netlib.Implementation{})
	// OpenBLAS starts one thread per core. Stages that call BLAS on small
	// matrices from several goroutines (the learner) are then ~10x slower
	// from oversubscription, so unless OPENBLAS_NUM_THREADS says otherwise
	// use one thread; kernel.Fit asks for the stage's CPUs for its solves.
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" {
		SetThreads(1)
	}
}

// SetThreads sets the number of OpenBLAS threads.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(max(1, n))) }

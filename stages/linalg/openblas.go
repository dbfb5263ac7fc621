//go:build openblas && cgo

package linalg

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

const backend = "openblas"

func init() {
	// gonum's LAPACK (Cholesky and friends) is blocked and spends its time
	// in level-3 BLAS, so routing blas64 is enough to make it fast.
	blas64.Use(netlib.Implementation{})
}

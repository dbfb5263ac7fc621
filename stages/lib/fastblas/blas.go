package fastblas

import (
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Implementation is gonum's pure-Go blas.Float64 with the level-3
// routines that dominate this project's compute (Dgemm, Dsyrk, Dtrsm,
// Dtrmm) replaced by the kernels of this package. Install it with
// blas64.Use(fastblas.Implementation{}); gonum's LAPACK (lapack64) and mat
// then call it too. Invalid arguments panic, as in gonum.
type Implementation struct {
	gonum.Implementation
}

var _ blas.Float64 = Implementation{}

// threads is the number of goroutines a large call may use.
var threads atomic.Int32

func init() { threads.Store(1) }

// SetThreads sets the number of goroutines that later calls split large
// products over (values below 1 mean 1; the default is 1). Results do not
// depend on it. It is process-wide, like OpenBLAS's thread count: the
// caller that owns the CPUs (a stage granted n CPUs) sets it.
func SetThreads(n int) { threads.Store(int32(max(1, n))) }

// Threads returns the number set by SetThreads.
func Threads() int { return int(threads.Load()) }

// config is what a call runs with; tests override it.
type config struct {
	kern    *microKernel
	threads int
}

func current() config { return config{kern: bestKernel(), threads: Threads()} }

// Dgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// op(A) m×k, op(B) k×n, C m×n.
func (Implementation) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	current().dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (cf config) dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	aT, bT := isTrans(tA), isTrans(tB)
	checkDims(m, n, k)
	ar, ac := m, k
	if aT {
		ar, ac = k, m
	}
	br, bc := k, n
	if bT {
		br, bc = n, k
	}
	checkMatrix("A", ar, ac, a, lda)
	checkMatrix("B", br, bc, b, ldb)
	checkMatrix("C", m, n, c, ldc)
	gemm(cf.kern, product{m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: rowMajor(a, lda, aT), b: rowMajor(b, ldb, bT), c: c, ldc: ldc}, cf.threads)
}

// Dsyrk computes the ul triangle of C = alpha·A·Aᵀ + beta·C (tA = NoTrans,
// A n×k) or C = alpha·Aᵀ·A + beta·C (tA = Trans, A k×n).
func (Implementation) Dsyrk(ul blas.Uplo, tA blas.Transpose, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	current().dsyrk(ul, tA, n, k, alpha, a, lda, beta, c, ldc)
}

func (cf config) dsyrk(ul blas.Uplo, tA blas.Transpose, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	tri := partOf(ul)
	aT := isTrans(tA)
	checkDims(n, n, k)
	ar, ac := n, k
	if aT {
		ar, ac = k, n
	}
	checkMatrix("A", ar, ac, a, lda)
	checkMatrix("C", n, n, c, ldc)
	op := rowMajor(a, lda, aT)
	gemm(cf.kern, product{m: n, n: n, k: k, alpha: alpha, beta: beta, a: op, b: op.t(), c: c, ldc: ldc, tri: tri}, cf.threads)
}

func isTrans(t blas.Transpose) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic("fastblas: bad transpose")
}

func partOf(ul blas.Uplo) part {
	switch ul {
	case blas.Lower:
		return lower
	case blas.Upper:
		return upper
	}
	panic("fastblas: bad uplo")
}

func checkDims(m, n, k int) {
	if m < 0 || n < 0 || k < 0 {
		panic("fastblas: negative dimension")
	}
}

// checkMatrix panics unless data holds a row-major r×c matrix with
// leading dimension ld.
func checkMatrix(name string, r, c int, data []float64, ld int) {
	if ld < max(1, c) {
		panic("fastblas: bad leading dimension of " + name)
	}
	if r > 0 && c > 0 && len(data) < (r-1)*ld+c {
		panic("fastblas: insufficient length of " + name)
	}
}

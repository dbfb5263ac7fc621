package fastblas

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// Lapack is gonum's pure-Go lapack.Float64 with the Cholesky
// factorisation Dpotrf replaced by a blocked right-looking one on this
// package's kernels. Install it with lapack64.Use(fastblas.Lapack{});
// gonum's other routines (Dpotrs among them) call whatever blas64 holds.
type Lapack struct {
	lapackgonum.Implementation
}

var _ lapack.Float64 = Lapack{}

// Dpotrf's blocks: the matrix in diagonal blocks of cholBlock, each
// factored in blocks of cholInner, whose diagonal blocks are factored
// unblocked. Both shape the results (they fix the order of the updates).
const (
	cholBlock = 192
	cholInner = 32
)

// Dpotrf computes the Cholesky factorisation A = L·Lᵀ (ul = Lower) or
// A = Uᵀ·U (Upper) of the symmetric positive definite n×n matrix A,
// reading and overwriting only the ul triangle. It reports whether A was
// positive definite; if not, the factorisation is incomplete (as in
// LAPACK, the failing diagonal entry holds the non-positive pivot).
//
// Block by block: factor the diagonal block (itself blocked the same way,
// with unblocked factorisations of its diagonal blocks: one fma chain per
// entry), solve for the panel beside it (Dtrsm), and subtract the panel's
// outer product from the trailing matrix (a triangular gemm, which is
// nearly all the flops and runs on the Threads workers).
func (Lapack) Dpotrf(ul blas.Uplo, n int, a []float64, lda int) bool {
	return current().dpotrf(ul, n, a, lda)
}

func (cf config) dpotrf(ul blas.Uplo, n int, a []float64, lda int) bool {
	up := partOf(ul) == upper
	checkDims(n, n, 0)
	checkMatrix("A", n, n, a, lda)
	return cf.potrfBlocked(up, n, a, lda, cholBlock)
}

// potrfBlocked is the blocked factorisation with diagonal blocks of nb.
func (cf config) potrfBlocked(up bool, n int, a []float64, lda, nb int) bool {
	for j0 := 0; j0 < n; j0 += nb {
		j1 := min(j0+nb, n)
		diag := a[j0*lda+j0:]
		if nb > cholInner {
			inner := config{kern: cf.kern, threads: 1}
			if !inner.potrfBlocked(up, j1-j0, diag, lda, cholInner) {
				return false
			}
		} else if !potf2(diag, lda, j1-j0, up) {
			return false
		}
		if j1 == n {
			break
		}
		nt := n - j1
		if up {
			cf.dtrsm(blas.Left, blas.Upper, blas.Trans, blas.NonUnit, j1-j0, nt, 1, diag, lda, a[j0*lda+j1:], lda)
			panel := operand{data: a[j0*lda+j1:], rs: lda, cs: 1} // (j1-j0)×nt
			gemm(cf.kern, product{m: nt, n: nt, k: j1 - j0, alpha: -1, beta: 1, a: panel.t(), b: panel,
				c: a[j1*lda+j1:], ldc: lda, tri: upper}, cf.threads)
			continue
		}
		cf.dtrsm(blas.Right, blas.Lower, blas.Trans, blas.NonUnit, nt, j1-j0, 1, diag, lda, a[j1*lda+j0:], lda)
		panel := operand{data: a[j1*lda+j0:], rs: lda, cs: 1} // nt×(j1-j0)
		gemm(cf.kern, product{m: nt, n: nt, k: j1 - j0, alpha: -1, beta: 1, a: panel, b: panel.t(),
			c: a[j1*lda+j1:], ldc: lda, tri: lower}, cf.threads)
	}
	return true
}

// potf2 factors the nb×nb diagonal block at a (leading dimension lda) in
// place: l_jj = √(a_jj − Σ_{p<j} l_jp²), l_ij = (a_ij − Σ_{p<j} l_ip·l_jp)/l_jj,
// each sum one fma chain in ascending p. The upper case factors the
// transpose of the block, copied to scratch, so both run the same code.
func potf2(a []float64, lda, nb int, up bool) bool {
	buf := getBuf(nb * nb)
	defer putBuf(buf)
	l := (*buf)[:nb*nb]
	// at returns the entry of a that holds l[i][j], i >= j.
	at := func(i, j int) *float64 {
		if up {
			return &a[j*lda+i]
		}
		return &a[i*lda+j]
	}
	for i := range nb {
		for j := 0; j <= i; j++ {
			l[i*nb+j] = *at(i, j)
		}
	}
	ok := true
	for j := 0; j < nb; j++ {
		rj := l[j*nb : j*nb+j]
		s := subDot(l[j*nb+j], rj, rj)
		if !(s > 0) { // also NaN
			l[j*nb+j] = s
			ok = false
			break
		}
		d := math.Sqrt(s)
		l[j*nb+j] = d
		for i := j + 1; i < nb; i++ {
			l[i*nb+j] = subDot(l[i*nb+j], l[i*nb:i*nb+j], rj) / d
		}
	}
	for i := range nb {
		for j := 0; j <= i; j++ {
			*at(i, j) = l[i*nb+j]
		}
	}
	return ok
}

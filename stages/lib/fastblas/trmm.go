package fastblas

import "gonum.org/v1/gonum/blas"

// Dtrmm computes B = alpha·op(A)·B (side Left, A m×m) or B = alpha·B·op(A)
// (side Right, A n×n) for triangular A. It copies op(A) into a full matrix
// with explicit zeros and B into a scratch copy and runs one gemm: twice
// the flops of a triangular product, at gemm speed. The zeros multiply B,
// so an Inf or NaN in B spreads to entries that the triangular product
// would not touch; finite B gives the triangular product's result.
func (Implementation) Dtrmm(s blas.Side, ul blas.Uplo, tA blas.Transpose, d blas.Diag, m, n int, alpha float64, a []float64, lda int, b []float64, ldb int) {
	current().dtrmm(s, ul, tA, d, m, n, alpha, a, lda, b, ldb)
}

func (cf config) dtrmm(s blas.Side, ul blas.Uplo, tA blas.Transpose, d blas.Diag, m, n int, alpha float64, a []float64, lda int, b []float64, ldb int) {
	left, t := triArgs(s, ul, tA, d, m, n, a, lda, b, ldb)
	k := n
	if left {
		k = m
	}
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 {
		scaleRows(m, n, 0, b, ldb)
		return
	}
	full := getBuf(k * k)
	defer putBuf(full)
	tf := (*full)[:k*k]
	for i := range k {
		row := tf[i*k : (i+1)*k]
		for j := range row {
			switch {
			case i == j && t.unit:
				row[j] = 1
			case i == j || (i > j) == t.lower:
				row[j] = t.at(i, j)
			default:
				row[j] = 0
			}
		}
	}
	cp := getBuf(m * n)
	defer putBuf(cp)
	bc := (*cp)[:m*n]
	for i := range m {
		copy(bc[i*n:(i+1)*n], b[i*ldb:i*ldb+n])
	}
	p := product{m: m, n: n, k: k, alpha: alpha, beta: 0, c: b, ldc: ldb}
	if left {
		p.a, p.b = operand{data: tf, rs: k, cs: 1}, operand{data: bc, rs: n, cs: 1}
	} else {
		p.a, p.b = operand{data: bc, rs: n, cs: 1}, operand{data: tf, rs: k, cs: 1}
	}
	gemm(cf.kern, p, cf.threads)
}

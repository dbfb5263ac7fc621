package fastblas

import "gonum.org/v1/gonum/blas"

// Blocking of the triangular solves: the triangle is cut into diagonal
// blocks of trsmBlock; a diagonal block is solved with row operations
// (axpy and division, one fma per element and term), and its contribution
// to the unsolved part is one gemm. Independent columns (left side) or
// rows (right side) of B go in panels of trsmPanel to the workers. Only
// trsmBlock shapes the results; trsmPanel does not.
const (
	trsmBlock = 32
	trsmPanel = 256
)

// Dtrsm solves op(A)·X = alpha·B (side Left, A m×m) or X·op(A) = alpha·B
// (side Right, A n×n) for X, A triangular, and overwrites B (m×n) with X.
func (Implementation) Dtrsm(s blas.Side, ul blas.Uplo, tA blas.Transpose, d blas.Diag, m, n int, alpha float64, a []float64, lda int, b []float64, ldb int) {
	current().dtrsm(s, ul, tA, d, m, n, alpha, a, lda, b, ldb)
}

// tri is a triangular matrix op(A) as a view, with its shape.
type tri struct {
	op    operand
	lower bool // op(A) is lower triangular
	unit  bool
}

func triangle(ul blas.Uplo, tA blas.Transpose, d blas.Diag, a []float64, lda int) tri {
	trans := isTrans(tA)
	t := tri{op: rowMajor(a, lda, trans), lower: (partOf(ul) == lower) != trans}
	switch d {
	case blas.Unit:
		t.unit = true
	case blas.NonUnit:
	default:
		panic("fastblas: bad diag")
	}
	return t
}

func (t tri) at(i, j int) float64 { return t.op.data[i*t.op.rs+j*t.op.cs] }

// triArgs checks the arguments of Dtrsm and Dtrmm and returns whether A
// is on the left and the triangle op(A).
func triArgs(s blas.Side, ul blas.Uplo, tA blas.Transpose, d blas.Diag, m, n int, a []float64, lda int, b []float64, ldb int) (bool, tri) {
	left := sideLeft(s)
	t := triangle(ul, tA, d, a, lda)
	checkDims(m, n, 0)
	k := n
	if left {
		k = m
	}
	checkMatrix("A", k, k, a, lda)
	checkMatrix("B", m, n, b, ldb)
	return left, t
}

// substOrder returns the r-th row (or column) i of the block [lo, hi)
// in substitution order and the range [p0, p1) of the block's solved
// entries it depends on: ascending for forward substitution, descending
// otherwise.
func substOrder(forward bool, lo, hi, r int) (i, p0, p1 int) {
	if forward {
		return lo + r, lo, lo + r
	}
	i = hi - 1 - r
	return i, i + 1, hi
}

func (cf config) dtrsm(s blas.Side, ul blas.Uplo, tA blas.Transpose, d blas.Diag, m, n int, alpha float64, a []float64, lda int, b []float64, ldb int) {
	left, t := triArgs(s, ul, tA, d, m, n, a, lda, b, ldb)
	if m == 0 || n == 0 {
		return
	}
	scaleRows(m, n, alpha, b, ldb)
	if alpha == 0 {
		return
	}
	if left && n == 1 {
		cf.trsv(t, m, b, ldb)
		return
	}
	// Independent panels of B go to the workers; with fewer panels than
	// workers, the panels run in turn and each gemm update gets them all.
	panels := (n + trsmPanel - 1) / trsmPanel
	if !left {
		panels = (m + trsmPanel - 1) / trsmPanel
	}
	inner, outer := cf, 1
	if panels >= cf.threads {
		inner.threads, outer = 1, cf.threads
	}
	parallel(outer, panels, taskFunc(func(q, _ int) {
		if left {
			j0 := q * trsmPanel
			inner.trsmLeft(t, m, min(trsmPanel, n-j0), b[j0:], ldb)
			return
		}
		i0 := q * trsmPanel
		inner.trsmRight(t, min(trsmPanel, m-i0), n, b[i0*ldb:], ldb)
	}))
}

func sideLeft(s blas.Side) bool {
	switch s {
	case blas.Left:
		return true
	case blas.Right:
		return false
	}
	panic("fastblas: bad side")
}

// scaleRows sets B = alpha·B (B = 0 if alpha = 0).
func scaleRows(m, n int, alpha float64, b []float64, ldb int) {
	if alpha == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := b[i*ldb : i*ldb+n]
		if alpha == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= alpha
		}
	}
}

// blocks returns the diagonal blocks [lo, hi) of a triangle of order n in
// solving order: ascending for forward substitution, else descending.
func blocks(n int, forward bool) [][2]int {
	var bs [][2]int
	for lo := 0; lo < n; lo += trsmBlock {
		bs = append(bs, [2]int{lo, min(lo+trsmBlock, n)})
	}
	if !forward {
		for i, j := 0, len(bs)-1; i < j; i, j = i+1, j-1 {
			bs[i], bs[j] = bs[j], bs[i]
		}
	}
	return bs
}

// trsmLeft solves op(A)·X = B for the m×n panel b, block by block in
// solving order: solve the diagonal block, X_I = T_II⁻¹·B_I, then subtract
// its contribution from the rows still to solve, B_R −= T_{R,I}·X_I (one
// gemm of depth trsmBlock).
func (cf config) trsmLeft(t tri, m, n int, b []float64, ldb int) {
	bv := operand{data: b, rs: ldb, cs: 1}
	for _, blk := range blocks(m, t.lower) {
		lo, hi := blk[0], blk[1]
		// The diagonal block, row by row in solving order; within a row
		// the solved rows of the block in ascending order.
		for r := range hi - lo {
			i, p0, p1 := substOrder(t.lower, lo, hi, r)
			xi := b[i*ldb : i*ldb+n]
			cf.subRows(xi, p0, p1, func(p int) float64 { return t.at(i, p) }, func(p int) []float64 { return b[p*ldb : p*ldb+n] })
			if !t.unit {
				cf.kern.div(xi, t.at(i, i))
			}
		}
		r0, r1 := hi, m // rows still to solve
		if !t.lower {
			r0, r1 = 0, lo
		}
		if r1 > r0 {
			gemm(cf.kern, product{m: r1 - r0, n: n, k: hi - lo, alpha: -1, beta: 1,
				a: t.op.sub(r0, lo), b: bv.sub(lo, 0), c: b[r0*ldb:], ldc: ldb}, cf.threads)
		}
	}
}

// trsmRight solves X·op(A) = B for the m×n panel b, block by block in
// solving order: solve the diagonal block, X_J = B_J·T_JJ⁻¹, then subtract
// its contribution from the columns still to solve, B_R −= X_J·T_{J,R}.
// The diagonal block is solved on its transpose, so that the row
// operations run along the m rows.
func (cf config) trsmRight(t tri, m, n int, b []float64, ldb int) {
	forward := !t.lower // x·T = b with T upper: columns in ascending order
	bv := operand{data: b, rs: ldb, cs: 1}
	buf := getBuf(trsmBlock * m)
	defer putBuf(buf)
	for _, blk := range blocks(n, forward) {
		lo, hi := blk[0], blk[1]
		w := hi - lo
		pt := (*buf)[:w*m] // pt[j*m+r] = B[r][lo+j]
		interleave(pt, m, m, b[lo:], ldb, w)
		for c := range w {
			j, p0, p1 := substOrder(forward, lo, hi, c)
			xj := pt[(j-lo)*m : (j-lo+1)*m]
			cf.subRows(xj, p0, p1, func(p int) float64 { return t.at(p, j) }, func(p int) []float64 { return pt[(p-lo)*m : (p-lo+1)*m] })
			if !t.unit {
				cf.kern.div(xj, t.at(j, j))
			}
		}
		interleave(b[lo:], ldb, w, pt, m, m)
		c0, c1 := hi, n // columns still to solve
		if !forward {
			c0, c1 = 0, lo
		}
		if c1 > c0 {
			gemm(cf.kern, product{m: m, n: c1 - c0, k: w, alpha: -1, beta: 1,
				a: bv.sub(0, lo), b: t.op.sub(lo, c0), c: b[c0:], ldc: ldb}, cf.threads)
		}
	}
}

// subRows sets y −= coef(p)·row(p) for p = p0..p1-1 in ascending order,
// one fma per element and term (four terms per pass where it can).
func (cf config) subRows(y []float64, p0, p1 int, coef func(int) float64, row func(int) []float64) {
	p := p0
	for ; p+4 <= p1; p += 4 {
		a := [4]float64{-coef(p), -coef(p + 1), -coef(p + 2), -coef(p + 3)}
		cf.kern.axpy4(&a, row(p), row(p+1), row(p+2), row(p+3), y)
	}
	for ; p < p1; p++ {
		cf.kern.axpy(-coef(p), row(p), y)
	}
}

// trsv solves op(A)·x = b for one right-hand side (the column b[i*ldb]):
// x_i = (b_i − Σ_p T_ip·x_p)/T_ii with the terms in ascending p, one fma
// each: a dot product per row, or, for forward substitution when the
// columns of T are contiguous, the column of each solved x_p subtracted
// from the entries below (the same operations per entry).
func (cf config) trsv(t tri, m int, b []float64, ldb int) {
	if ldb == 1 && t.op.rs == 1 && t.lower {
		for p := range m {
			if !t.unit {
				b[p] /= t.at(p, p)
			}
			if p+1 < m {
				cf.kern.axpy(-b[p], t.op.data[p*t.op.cs+p+1:p*t.op.cs+m], b[p+1:m])
			}
		}
		return
	}
	x := b[:m]
	if ldb != 1 {
		xb := getBuf(m)
		defer putBuf(xb)
		x = *xb
		for i := range m {
			x[i] = b[i*ldb]
		}
	}
	row := getBuf(m)
	defer putBuf(row)
	for r := range m {
		i, p0, p1 := substOrder(t.lower, 0, m, r)
		seg := (*row)[:p1-p0]
		if t.op.cs == 1 {
			seg = t.op.data[i*t.op.rs+p0 : i*t.op.rs+p1]
		} else {
			for p := range seg {
				seg[p] = t.at(i, p0+p)
			}
		}
		s := subDot(x[i], seg, x[p0:p1])
		if !t.unit {
			s /= t.at(i, i)
		}
		x[i] = s
	}
	if ldb != 1 {
		for i := range m {
			b[i*ldb] = x[i]
		}
	}
}

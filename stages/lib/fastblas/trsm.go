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

func (cf config) dtrsm(s blas.Side, ul blas.Uplo, tA blas.Transpose, d blas.Diag, m, n int, alpha float64, a []float64, lda int, b []float64, ldb int) {
	left := sideLeft(s)
	t := triangle(ul, tA, d, a, lda)
	checkDims(m, n, 0)
	k := n
	if left {
		k = m
	}
	checkMatrix("A", k, k, a, lda)
	checkMatrix("B", m, n, b, ldb)
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
	if left {
		panels := (n + trsmPanel - 1) / trsmPanel
		parallel(cf.threads, panels, taskFunc(func(q, _ int) {
			j0 := q * trsmPanel
			cf.trsmLeft(t, m, min(trsmPanel, n-j0), b[j0:], ldb)
		}))
		return
	}
	panels := (m + trsmPanel - 1) / trsmPanel
	parallel(cf.threads, panels, taskFunc(func(q, _ int) {
		i0 := q * trsmPanel
		cf.trsmRight(t, min(trsmPanel, m-i0), n, b[i0*ldb:], ldb)
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
			i := lo + r
			if !t.lower {
				i = hi - 1 - r
			}
			xi := b[i*ldb : i*ldb+n]
			p0, p1 := lo, i
			if !t.lower {
				p0, p1 = i+1, hi
			}
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
				a: t.op.sub(r0, lo), b: bv.sub(lo, 0), c: b[r0*ldb:], ldc: ldb}, 1)
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
			j := lo + c
			if !forward {
				j = hi - 1 - c
			}
			xj := pt[(j-lo)*m : (j-lo+1)*m]
			p0, p1 := lo, j
			if !forward {
				p0, p1 = j+1, hi
			}
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
				a: bv.sub(0, lo), b: t.op.sub(lo, c0), c: b[c0:], ldc: ldb}, 1)
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
// each, whether the row of T or its column is contiguous.
func (cf config) trsv(t tri, m int, b []float64, ldb int) {
	if ldb == 1 && t.op.cs == 1 {
		// Rows of T contiguous: a dot product per row.
		for r := range m {
			i := r
			p0, p1 := 0, i
			if !t.lower {
				i = m - 1 - r
				p0, p1 = i+1, m
			}
			s := subDot(b[i], t.op.data[i*t.op.rs+p0:i*t.op.rs+p1], b[p0:p1])
			if !t.unit {
				s /= t.at(i, i)
			}
			b[i] = s
		}
		return
	}
	if ldb == 1 && t.op.rs == 1 {
		// Columns of T contiguous: once x_p is known, subtract its
		// column from the unsolved entries (each entry still sees the
		// terms in ascending p only for forward substitution; backward
		// substitution takes the dot form on the gathered row below).
		if t.lower {
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
	}
	// General strides: gather each row of T.
	row := getBuf(m)
	defer putBuf(row)
	x := getBuf(m)
	defer putBuf(x)
	for i := range m {
		(*x)[i] = b[i*ldb]
	}
	for r := range m {
		i := r
		p0, p1 := 0, i
		if !t.lower {
			i = m - 1 - r
			p0, p1 = i+1, m
		}
		rw := (*row)[:p1-p0]
		for p := range rw {
			rw[p] = t.at(i, p0+p)
		}
		s := subDot((*x)[i], rw, (*x)[p0:p1])
		if !t.unit {
			s /= t.at(i, i)
		}
		(*x)[i] = s
	}
	for i := range m {
		b[i*ldb] = (*x)[i]
	}
}

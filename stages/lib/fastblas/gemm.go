package fastblas

import (
	"sync"
	"sync/atomic"
)

// operand is a strided matrix view: element (i, j) is data[i*rs+j*cs].
// A row-major matrix is {rs: ld, cs: 1}, its transpose {rs: 1, cs: ld}.
type operand struct {
	data   []float64
	rs, cs int
}

// sub returns the view whose (0, 0) is element (i, j) of o.
func (o operand) sub(i, j int) operand {
	if off := i*o.rs + j*o.cs; off > 0 {
		o.data = o.data[off:]
	}
	return o
}

// t returns the transposed view.
func (o operand) t() operand { return operand{data: o.data, rs: o.cs, cs: o.rs} }

// rowMajor returns the view of a row-major matrix with leading dimension
// ld, transposed if trans.
func rowMajor(data []float64, ld int, trans bool) operand {
	if trans {
		return operand{data: data, rs: 1, cs: ld}
	}
	return operand{data: data, rs: ld, cs: 1}
}

// part says which elements of C a product writes.
type part int

const (
	full  part = iota
	lower      // i >= j
	upper      // i <= j
)

// product is C = alpha·A·B + beta·C (only the part tri of C, for SYRK)
// with A m×k, B k×n and C row-major m×n (leading dimension ldc).
type product struct {
	m, n, k     int
	alpha, beta float64
	a, b        operand
	c           []float64
	ldc         int
	tri         part
}

// gemm computes p with kernel kern on up to threads goroutines. Every
// element of C is computed by one goroutine with the operations that the
// kernel contract fixes, so the result depends neither on threads nor on
// the kernel.
func gemm(kern *microKernel, p product, threads int) {
	if p.m == 0 || p.n == 0 {
		return
	}
	if p.k == 0 || p.alpha == 0 {
		scaleC(p)
		return
	}
	mr, nr := kern.mr, kern.nr
	mc := max(mr, mcRows/mr*mr)
	nc := max(nr, ncCols/nr*nr)
	threads = max(1, threads)
	bufB := getBuf(min(kBlock, p.k) * roundUp(min(nc, p.n), nr))
	defer putBuf(bufB)
	nIC := (p.m + mc - 1) / mc
	workers := min(threads, nIC*((min(nc, p.n)+nr-1)/nr))
	bufA := make([]*[]float64, workers)
	for w := range bufA {
		bufA[w] = getBuf(min(mc, roundUp(p.m, mr)) * min(kBlock, p.k))
	}
	defer func() {
		for _, b := range bufA {
			putBuf(b)
		}
	}()
	for jc := 0; jc < p.n; jc += nc {
		ncc := min(nc, p.n-jc)
		nPanels := (ncc + nr - 1) / nr
		for pc := 0; pc < p.k; pc += kBlock {
			kc := min(kBlock, p.k-pc)
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			bp := (*bufB)[:kc*nPanels*nr]
			// Pack B, panels split among the workers.
			parallel(min(workers, nPanels), nPanels, func(q, _ int) {
				packB(bp[q*kc*nr:(q+1)*kc*nr], p.b.sub(pc, jc+q*nr), kc, min(nr, ncc-q*nr), nr)
			})
			// Tasks: row blocks of C, each split into column chunks when
			// there are fewer row blocks than workers.
			chunks := 1
			if nIC < workers {
				chunks = min(nPanels, (workers+nIC-1)/nIC)
			}
			perChunk := (nPanels + chunks - 1) / chunks
			parallel(workers, nIC*chunks, func(t, w int) {
				ic := (t / chunks) * mc
				q0 := (t % chunks) * perChunk
				q1 := min(nPanels, q0+perChunk)
				if q0 >= q1 {
					return
				}
				mcc := min(mc, p.m-ic)
				if p.tri != full && !blockTouches(p.tri, ic, ic+mcc, jc+q0*nr, jc+min(ncc, q1*nr)) {
					return
				}
				ap := (*bufA[w])[:roundUp(mcc, mr)*kc]
				packA(ap, p.a.sub(ic, pc), mcc, kc, mr)
				macro(kern, ap, bp, p, ic, mcc, jc, ncc, q0, q1, kc, beta)
			})
		}
	}
}

// macro runs the kernel over the row panels of the packed block ap
// (rows ic..ic+mcc of C) and the column panels q0..q1 of bp (columns from
// jc, ncc in all).
func macro(kern *microKernel, ap, bp []float64, p product, ic, mcc, jc, ncc, q0, q1, kc int, beta float64) {
	mr, nr := kern.mr, kern.nr
	var tmp [tileMax]float64
	// The coefficients go by pointer so that they do not occupy vector
	// registers during the kernel's loop.
	ab, raw := [2]float64{p.alpha, beta}, [2]float64{1, 0}
	for q := q0; q < q1; q++ {
		j0 := jc + q*nr
		nj := min(nr, ncc-q*nr)
		b := bp[q*kc*nr : (q+1)*kc*nr]
		for r := 0; r*mr < mcc; r++ {
			i0 := ic + r*mr
			ni := min(mr, mcc-r*mr)
			if p.tri != full && !blockTouches(p.tri, i0, i0+ni, j0, j0+nj) {
				continue
			}
			a := ap[r*kc*mr : (r+1)*kc*mr]
			if ni == mr && nj == nr && (p.tri == full || blockInside(p.tri, i0, i0+ni, j0, j0+nj)) {
				kern.fn(kc, a, b, p.c[i0*p.ldc+j0:], p.ldc, &ab)
				continue
			}
			// Edge or diagonal tile: the raw sums into tmp, then the
			// same combine, element by element, for the wanted part.
			kern.fn(kc, a, b, tmp[:], nr, &raw)
			for i := 0; i < ni; i++ {
				row := p.c[(i0+i)*p.ldc:]
				for j := 0; j < nj; j++ {
					if inPart(p.tri, i0+i, j0+j) {
						row[j0+j] = combine(row[j0+j], tmp[i*nr+j], p.alpha, beta)
					}
				}
			}
		}
	}
}

// tileMax bounds mr·nr over all kernels.
const tileMax = 128

func inPart(t part, i, j int) bool {
	switch t {
	case lower:
		return i >= j
	case upper:
		return i <= j
	}
	return true
}

// blockTouches reports whether rows [i0,i1) × columns [j0,j1) hold an
// element of part t.
func blockTouches(t part, i0, i1, j0, j1 int) bool {
	switch t {
	case lower:
		return i1-1 >= j0
	case upper:
		return i0 <= j1-1
	}
	return true
}

// blockInside reports whether every element of the block is in part t.
func blockInside(t part, i0, i1, j0, j1 int) bool {
	switch t {
	case lower:
		return i0 >= j1-1
	case upper:
		return i1-1 <= j0
	}
	return true
}

// scaleC sets C = beta·C on part p.tri (C = 0 if beta = 0, whatever C
// held, as BLAS specifies).
func scaleC(p product) {
	if p.beta == 1 {
		return
	}
	for i := 0; i < p.m; i++ {
		row := p.c[i*p.ldc : i*p.ldc+p.n]
		j0, j1 := 0, p.n
		switch p.tri {
		case lower:
			j1 = min(p.n, i+1)
		case upper:
			j0 = min(p.n, i)
		}
		for j := j0; j < j1; j++ {
			if p.beta == 0 {
				row[j] = 0
			} else {
				row[j] *= p.beta
			}
		}
	}
}

// packA copies rows 0..mc-1, columns 0..kc-1 of a into dst as mr-row
// panels: panel r holds a(r*mr+i, p) at dst[r*mr*kc + p*mr + i], rows past
// mc zero.
func packA(dst []float64, a operand, mc, kc, mr int) {
	for r := 0; r*mr < mc; r++ {
		d := dst[r*mr*kc : (r+1)*mr*kc]
		ni := min(mr, mc-r*mr)
		if ni < mr {
			clear(d)
		}
		src := a.sub(r*mr, 0)
		switch {
		case src.cs == 1:
			for i := 0; i < ni; i++ {
				row := src.data[i*src.rs : i*src.rs+kc]
				for p, v := range row {
					d[p*mr+i] = v
				}
			}
		case src.rs == 1:
			for p := 0; p < kc; p++ {
				copy(d[p*mr:p*mr+ni], src.data[p*src.cs:p*src.cs+ni])
			}
		default:
			for i := 0; i < ni; i++ {
				for p := 0; p < kc; p++ {
					d[p*mr+i] = src.data[i*src.rs+p*src.cs]
				}
			}
		}
	}
}

// packB copies rows 0..kc-1, columns 0..nj-1 (nj <= nr) of b into the
// kc×nr panel dst (b(p, j) at dst[p*nr+j]), columns past nj zero.
func packB(dst []float64, b operand, kc, nj, nr int) {
	if nj < nr {
		clear(dst)
	}
	switch {
	case b.cs == 1:
		for p := 0; p < kc; p++ {
			copy(dst[p*nr:p*nr+nj], b.data[p*b.rs:p*b.rs+nj])
		}
	case b.rs == 1:
		for j := 0; j < nj; j++ {
			col := b.data[j*b.cs : j*b.cs+kc]
			for p, v := range col {
				dst[p*nr+j] = v
			}
		}
	default:
		for p := 0; p < kc; p++ {
			for j := 0; j < nj; j++ {
				dst[p*nr+j] = b.data[p*b.rs+j*b.cs]
			}
		}
	}
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// parallel runs task(t, w) for t = 0..tasks-1 on min(workers, tasks)
// goroutines (the caller's among them), w being the goroutine's index.
// Which goroutine runs which task varies; callers make a task's result
// depend on t only.
func parallel(workers, tasks int, task func(t, w int)) {
	workers = min(workers, tasks)
	if workers <= 1 {
		for t := 0; t < tasks; t++ {
			task(t, 0)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	run := func(w int) {
		for {
			t := int(next.Add(1)) - 1
			if t >= tasks {
				return
			}
			task(t, w)
		}
	}
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			run(w)
		}(w)
	}
	run(0)
	wg.Wait()
}

// bufs recycles packing buffers.
var bufs sync.Pool

func getBuf(n int) *[]float64 {
	if v, ok := bufs.Get().(*[]float64); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	b := make([]float64, n)
	return &b
}

func putBuf(b *[]float64) { bufs.Put(b) }

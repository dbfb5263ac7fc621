package fastblas

import (
	"math/bits"
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
// the kernel. A call on one goroutine does not allocate (in steady state).
func gemm(kern *microKernel, p product, threads int) {
	if p.m == 0 || p.n == 0 {
		return
	}
	if p.k == 0 || p.alpha == 0 {
		scaleC(p)
		return
	}
	j := jobs.Get().(*gemmJob)
	j.setup(kern, p, threads)
	for pc := 0; pc < p.k; pc += kBlock {
		j.kc = min(kBlock, p.k-pc)
		j.pc = pc
		j.beta = p.beta
		if pc > 0 {
			j.beta = 1
		}
		j.ab = [2]float64{p.alpha, j.beta}
		// Pack B's k block (all of it, or only a partial last panel of
		// a small B used in place), panels split among the workers, so
		// that each block of A is packed once.
		j.phase = packPhase
		parallel(min(j.workers, j.np-j.packFrom), j.np-j.packFrom, j)
		j.phase = computePhase
		parallel(j.workers, j.nIC*j.chunks, j)
	}
	j.p = product{} // drop references to the caller's matrices
	jobs.Put(j)
}

// gemmJob is the state of one gemm call, pooled so that calls do not
// allocate.
type gemmJob struct {
	kern                  *microKernel
	p                     product
	mc, np, qc            int // rows per A block, column panels, panels per L2 slice of B
	nIC, chunks, perChunk int // tasks: row blocks × column chunks
	workers               int
	phase                 int
	pc, kc                int
	beta                  float64
	ab                    [2]float64         // alpha and the current beta, for the kernel
	bp                    []float64          // packed B
	direct                bool               // full panels of B used in place
	packFrom              int                // first panel of B to pack
	ap                    [][]float64        // packed A block per worker
	tmp                   [][tileMax]float64 // diagonal tile per worker
}

const (
	packPhase = iota
	computePhase
)

var jobs = sync.Pool{New: func() any { return new(gemmJob) }}

func (j *gemmJob) setup(kern *microKernel, p product, threads int) {
	mr, nr := kern.mr, kern.nr
	j.kern, j.p = kern, p
	j.mc = max(mr, mcRows/mr*mr)
	j.np = (p.n + nr - 1) / nr
	j.qc = max(1, ncCols/nr)
	// Tasks: row blocks of C, each split into column chunks when there
	// are fewer row blocks than workers.
	j.nIC = (p.m + j.mc - 1) / j.mc
	j.workers = min(max(1, threads), j.nIC*j.np, max(1, p.m*p.n*p.k/minWork))
	j.chunks = 1
	if j.nIC < j.workers {
		j.chunks = min(j.np, (j.workers+j.nIC-1)/j.nIC)
	}
	j.perChunk = (j.np + j.chunks - 1) / j.chunks
	kc0 := min(kBlock, p.k)
	j.bp = grow(j.bp, kc0*j.np*nr)
	// A small B with contiguous rows is read where it is; its partial
	// last panel, if any, is packed (the kernel reads whole panels).
	j.direct = p.b.cs == 1 && p.b.rs >= max(p.n, nr) && p.k*p.n <= directB
	j.packFrom = 0
	if j.direct {
		j.packFrom = p.n / nr
	}
	for len(j.ap) < j.workers {
		j.ap = append(j.ap, nil)
		j.tmp = append(j.tmp, [tileMax]float64{})
	}
	for w := range j.workers {
		j.ap[w] = grow(j.ap[w], min(j.mc, roundUp(p.m, mr))*kc0)
	}
}

// run is one task of the current phase: packing column panel t of B, or
// computing row block and column chunk t of C.
func (j *gemmJob) run(t, w int) {
	p, kern, kc := &j.p, j.kern, j.kc
	mr, nr := kern.mr, kern.nr
	if j.phase == packPhase {
		q := j.packFrom + t
		packB(j.bp[q*kc*nr:(q+1)*kc*nr], p.b.sub(j.pc, q*nr), kc, min(nr, p.n-q*nr), nr)
		return
	}
	blk := t / j.chunks
	if j.p.tri == lower {
		// The last row blocks of a lower triangle hold the most work:
		// hand them out first, so that the workers finish together.
		blk = j.nIC - 1 - blk
	}
	ic := blk * j.mc
	q0 := (t % j.chunks) * j.perChunk
	q1 := min(j.np, q0+j.perChunk)
	mcc := min(j.mc, p.m-ic)
	if q0 >= q1 || (p.tri != full && !blockTouches(p.tri, ic, ic+mcc, q0*nr, min(p.n, q1*nr))) {
		return
	}
	ap := j.ap[w][:roundUp(mcc, mr)*kc]
	packA(ap, p.a.sub(ic, j.pc), mcc, kc, mr)
	for b0 := q0; b0 < q1; b0 += j.qc {
		j.macro(ap, ic, mcc, b0, min(q1, b0+j.qc), &j.tmp[w])
	}
}

// panelB returns column panel q of B's current k block and its row
// stride.
func (j *gemmJob) panelB(q int) ([]float64, int) {
	nr := j.kern.nr
	if q < j.packFrom {
		return j.p.b.data[j.pc*j.p.b.rs+q*nr:], j.p.b.rs
	}
	return j.bp[q*j.kc*nr : (q+1)*j.kc*nr], nr
}

// directB is the largest k·n for which B is read in place rather than
// packed (512 KiB: small enough to stay in L2).
const directB = 1 << 16

// grow returns s resliced to n, reallocated if its capacity is short.
func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// macro runs the kernel over the row panels of the packed block ap
// (rows ic..ic+mcc of C) and the column panels q0..q1 of bp. The row panel is the outer loop: its kc×mr panel of A
// stays in L1 while the panels of B stream from L2, and each call moves
// along the same mr rows of C, which the hardware prefetchers follow (Go
// has no prefetch instruction; column-wise, every tile of C would miss).
func (j *gemmJob) macro(ap []float64, ic, mcc, q0, q1 int, tmp *[tileMax]float64) {
	p, kern, kc, beta := &j.p, j.kern, j.kc, j.beta
	mr, nr := kern.mr, kern.nr
	for r := 0; r*mr < mcc; r++ {
		i0 := ic + r*mr
		ni := min(mr, mcc-r*mr)
		a := ap[r*kc*mr : (r+1)*kc*mr]
		for q := q0; q < q1; q++ {
			j0 := q * nr
			nj := min(nr, p.n-j0)
			if p.tri != full && !blockTouches(p.tri, i0, i0+ni, j0, j0+nj) {
				continue
			}
			b, ldb := j.panelB(q)
			if p.tri == full || blockInside(p.tri, i0, i0+ni, j0, j0+nj) {
				kern.fn(kc, a, b, ldb, p.c[i0*p.ldc+j0:], p.ldc, ni, nj, &j.ab)
				continue
			}
			// A tile on the diagonal of a triangular product: the raw
			// sums into tmp, then the same combine, element by element,
			// for the wanted part.
			kern.fn(kc, a, b, ldb, tmp[:], nr, mr, nr, &rawSums)
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

// rawSums are the coefficients that make a kernel store its sums as they
// are (alpha = 1, beta = 0). The coefficients go to the kernel by pointer
// so that they do not occupy vector registers during its loop.
var rawSums = [2]float64{1, 0}

// minWork is the number of multiply-adds (m·n·k) per goroutine below
// which a product does not fan out: small products, such as the learner's
// from its own goroutines, stay on the calling goroutine.
const minWork = 1 << 20

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
			interleave(d, mr, ni, src.data, src.rs, kc)
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
		interleave(dst, nr, nj, b.data, b.cs, kc)
	default:
		for p := 0; p < kc; p++ {
			for j := 0; j < nj; j++ {
				dst[p*nr+j] = b.data[p*b.rs+j*b.cs]
			}
		}
	}
}

// interleave sets dst[p*w+i] = src[i*stride+p] for i < ni <= w, p < kc:
// ni vectors of length kc, stride apart, interleaved (a transpose), four
// at a time so that the writes are contiguous.
func interleave(dst []float64, w, ni int, src []float64, stride, kc int) {
	i := 0
	for ; i+4 <= ni; i += 4 {
		r0 := src[i*stride : i*stride+kc]
		r1 := src[(i+1)*stride : (i+1)*stride+kc]
		r2 := src[(i+2)*stride : (i+2)*stride+kc]
		r3 := src[(i+3)*stride : (i+3)*stride+kc]
		for p := range kc {
			d := dst[p*w+i : p*w+i+4 : p*w+i+4]
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		}
	}
	for ; i < ni; i++ {
		r := src[i*stride : i*stride+kc]
		for p, v := range r {
			dst[p*w+i] = v
		}
	}
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// tasker is a unit of parallel work split into tasks.
type tasker interface {
	run(t, w int)
}

// taskFunc adapts a function to tasker.
type taskFunc func(t, w int)

func (f taskFunc) run(t, w int) { f(t, w) }

// parallel runs job.run(t, w) for t = 0..tasks-1 on min(workers, tasks)
// goroutines (the caller's among them), w being the goroutine's index.
// Which goroutine runs which task varies; callers make a task's result
// depend on t only. On one goroutine it does not allocate.
func parallel(workers, tasks int, job tasker) {
	workers = min(workers, tasks)
	if workers <= 1 {
		for t := 0; t < tasks; t++ {
			job.run(t, 0)
		}
		return
	}
	parallelGo(workers, tasks, job)
}

func parallelGo(workers, tasks int, job tasker) {
	var next atomic.Int64
	var wg sync.WaitGroup
	run := func(w int) {
		for {
			t := int(next.Add(1)) - 1
			if t >= tasks {
				return
			}
			job.run(t, w)
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

// bufPools recycles scratch buffers by size class: class c holds slices
// of capacity 2^c, so a buffer fits every request of its class.
var bufPools [64]sync.Pool

func getBuf(n int) *[]float64 {
	c := bits.Len(uint(max(n, 1) - 1))
	if v, ok := bufPools[c].Get().(*[]float64); ok {
		*v = (*v)[:n]
		return v
	}
	b := make([]float64, n, 1<<c)
	return &b
}

func putBuf(b *[]float64) {
	c := bits.Len(uint(max(cap(*b), 1) - 1))
	if cap(*b) == 1<<c {
		bufPools[c].Put(b)
	}
}

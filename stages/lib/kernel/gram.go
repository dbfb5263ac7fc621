package kernel

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

const (
	// gramTile is the edge of the square Gram tiles: a 256×256 tile of
	// float64 is 512 KiB and its two row panels of X (256×d) stay in L2.
	gramTile = 256
	// predRows is the number of query rows per prediction block; each
	// worker holds one predRows×n block of cross-kernel values.
	predRows = 64
)

// rowNorms returns the squared Euclidean norm of every row of x.
func rowNorms(x blas64.General) []float64 {
	out := make([]float64, x.Rows)
	for i := range out {
		out[i] = blas64.Dot(blas64.Vector{N: x.Cols, Inc: 1, Data: x.Data[i*x.Stride:]},
			blas64.Vector{N: x.Cols, Inc: 1, Data: x.Data[i*x.Stride:]})
	}
	return out
}

// rows returns the view of rows [r0, r1) of g.
func rows(g blas64.General, r0, r1 int) blas64.General {
	if r1 <= r0 {
		return blas64.General{Rows: 0, Cols: g.Cols, Stride: g.Stride}
	}
	return blas64.General{Rows: r1 - r0, Cols: g.Cols, Stride: g.Stride, Data: g.Data[r0*g.Stride : (r1-1)*g.Stride+g.Cols]}
}

// parallel runs task(t, w) for t = 0..tasks-1 on min(threads, tasks)
// workers, w being the worker's index (for per-worker buffers). Which
// worker runs which task varies, so a task's result must depend only on t.
// It stops early and returns the context's error if ctx is cancelled.
func parallel(ctx context.Context, tasks, threads int, task func(t, w int)) error {
	workers := min(max(threads, 1), tasks)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				t := int(next.Add(1)) - 1
				if t >= tasks || ctx.Err() != nil {
					return
				}
				task(t, w)
			}
		}(w)
	}
	wg.Wait()
	return ctx.Err()
}

// Linear is the kernel k(x, y) = ⟨x, y⟩. With GramUpper it computes the
// Gram matrix X Xᵀ of any set of vectors (for instance the normal matrix
// ΦᵀΦ of the monomial learner, from the rows of Φᵀ).
type Linear struct{}

// Name returns "linear".
func (Linear) Name() string { return "linear" }

// Map implements Kernel: the inner products are the kernel values.
func (Linear) Map([]float64, float64, []float64) {}

// GramUpper writes k(x_i, x_j) for the rows x_i of x into the upper
// triangle (diagonal included) of the row-major n×n buffer g, n = x.Rows,
// in fixed square tiles computed in parallel by threads workers; the
// values do not depend on threads. The strict lower triangle is scratch.
func GramUpper(ctx context.Context, k Kernel, x blas64.General, g []float64, threads int) error {
	return gramUpper(ctx, k, x, rowNorms(x), g, threads)
}

// gramUpper writes k(x_i, x_j) into g[i*n+j] for every i <= j (the
// diagonal tiles are filled completely; the strict lower triangle outside
// them is left alone). g is row-major n×n with n = x.Rows. Tiles (I, J),
// I <= J, form a fixed list that workers take in any order; each tile is
// one Gemm plus Map, so the values are identical for any thread count.
func gramUpper(ctx context.Context, k Kernel, x blas64.General, norms, g []float64, threads int) error {
	n := x.Rows
	if len(g) != n*n {
		return fmt.Errorf("gram: buffer of %d values for n = %d", len(g), n)
	}
	nt := (n + gramTile - 1) / gramTile
	type tileIJ struct{ i, j int }
	tiles := make([]tileIJ, 0, nt*(nt+1)/2)
	for i := 0; i < nt; i++ {
		for j := i; j < nt; j++ {
			tiles = append(tiles, tileIJ{i, j})
		}
	}
	return parallel(ctx, len(tiles), threads, func(t, _ int) {
		i0, j0 := tiles[t].i*gramTile, tiles[t].j*gramTile
		i1, j1 := min(i0+gramTile, n), min(j0+gramTile, n)
		c := blas64.General{Rows: i1 - i0, Cols: j1 - j0, Stride: n, Data: g[i0*n+j0 : (i1-1)*n+j1]}
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, rows(x, i0, i1), rows(x, j0, j1), 0, c)
		if i0 == j0 {
			// Make ⟨x_i, x_i⟩ equal to the norm passed to Map bit for bit
			// (Gemm and Dot may sum in different orders): kernels of the
			// angle, like the NTK, are ill-conditioned at angle 0.
			for i := i0; i < i1; i++ {
				g[i*n+i] = norms[i]
			}
		}
		for i := i0; i < i1; i++ {
			k.Map(g[i*n+j0:i*n+j1], norms[i], norms[j0:j1])
		}
	})
}

// crossApply computes out[q] = Σ_i k(xq_q, xt_i)·coef[i] for every query
// row q, in blocks of predRows query rows (a fixed partition, so the values
// do not depend on threads). Each worker holds one predRows×len(coef) block.
func crossApply(ctx context.Context, k Kernel, xq blas64.General, nq []float64, xt blas64.General, nt, coef, out []float64, threads int) error {
	m, n := xq.Rows, xt.Rows
	if len(out) != m || len(coef) != n || len(nq) != m || len(nt) != n || xq.Cols != xt.Cols {
		return fmt.Errorf("cross kernel: shapes %d×%d queries, %d×%d training inputs, %d coefficients, %d outputs", m, xq.Cols, n, xt.Cols, len(coef), len(out))
	}
	if m == 0 {
		return nil
	}
	blocks := (m + predRows - 1) / predRows
	workers := min(max(threads, 1), blocks)
	bufs := make([][]float64, workers)
	for w := range bufs {
		bufs[w] = make([]float64, predRows*n)
	}
	coefV := blas64.Vector{N: n, Inc: 1, Data: coef}
	return parallel(ctx, blocks, threads, func(b, w int) {
		q0 := b * predRows
		q1 := min(q0+predRows, m)
		c := blas64.General{Rows: q1 - q0, Cols: n, Stride: n, Data: bufs[w][:(q1-q0)*n]}
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, rows(xq, q0, q1), xt, 0, c)
		for q := q0; q < q1; q++ {
			k.Map(c.Data[(q-q0)*n:(q-q0+1)*n], nq[q], nt)
		}
		blas64.Gemv(blas.NoTrans, 1, c, coefV, 0, blas64.Vector{N: q1 - q0, Inc: 1, Data: out[q0:q1]})
	})
}

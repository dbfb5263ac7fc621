// Package ridge solves ridge-regularised symmetric positive semidefinite
// systems (A + shift·I) x = b for a grid of shifts, with one n×n buffer.
//
// Kernel ridge regression (dual form, A = the Gram matrix K) and linear
// ridge regression over explicit features (primal form, A = ΦᵀΦ) both need
// the Cholesky factor of A + λ·I for several λ, then pick λ on a validation
// split. Cholesky overwrites its input, so the obvious implementation keeps
// a second copy of A. Sym avoids that: the pristine A lives in the strict
// upper triangle of the buffer and in a saved diagonal; Factor copies the
// upper triangle of the leading k×k block onto its lower triangle, adds the
// shift to the diagonal and calls lapack64.Potrf (lower), which reads and
// writes only the lower triangle. The upper triangle therefore survives any
// number of factorisations, and memory is n²·8 bytes, not twice that.
//
// The ridge is relative: a grid value λ means the shift λ·mean(diag A_k) on
// the leading block A_k, so one grid serves matrices of any scale (kernels
// whose diagonal is 1 or 10⁴, feature Gram matrices of any n).
//
// Run drives a whole fit: it splits the samples into a training part and
// a validation part (the last ValFrac of them), tries every grid value on
// the training part, keeps the one with the smallest validation error and
// refits on all samples. The learner supplies only its linear system
// through the System interface (the kernel learner its Gram matrix, the
// feature learner its normal matrix), so both share one selection logic.
//
// The factorisation calls lapack64 and blas64 only, so that the BLAS/LAPACK
// implementation can be swapped (pure Go gonum by default, OpenBLAS through
// gonum.org/v1/netlib under a build tag).
package ridge

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// tile is the edge of the square tiles used to copy the upper triangle
// onto the lower one; 64×64 float64 tiles (32 KiB) fit in L1/L2 cache.
const tile = 64

// Sym is a symmetric positive semidefinite n×n matrix A stored so that the
// Cholesky factor of a leading block of A + shift·I can be computed many
// times in place. See the package documentation.
type Sym struct {
	n        int
	a        []float64 // row-major n×n; strict upper = pristine A, lower = workspace
	diag     []float64 // pristine diagonal of A
	factored int       // size of the leading block whose factor is in the lower triangle
}

// NewSym takes ownership of a, a row-major n×n buffer whose upper triangle
// (diagonal included) holds A; the strict lower triangle is ignored and
// will be overwritten.
func NewSym(n int, a []float64) (*Sym, error) {
	if n < 1 || len(a) != n*n {
		return nil, fmt.Errorf("ridge: buffer of %d values is not %d×%d", len(a), n, n)
	}
	s := &Sym{n: n, a: a, diag: make([]float64, n)}
	for i := 0; i < n; i++ {
		s.diag[i] = a[i*n+i]
	}
	return s, nil
}

// N returns the order of A.
func (s *Sym) N() int { return s.n }

// At returns the pristine entry A[i][j].
func (s *Sym) At(i, j int) float64 {
	switch {
	case i == j:
		return s.diag[i]
	case i < j:
		return s.a[i*s.n+j]
	default:
		return s.a[j*s.n+i]
	}
}

// Block returns the pristine block A[r0:r0+rows, c0:c0+cols] of the strict
// upper triangle (it must satisfy r0+rows <= c0) as a view that shares the
// buffer; it stays valid across factorisations.
func (s *Sym) Block(r0, rows, c0, cols int) (blas64.General, error) {
	if r0 < 0 || rows < 0 || cols < 0 || r0+rows > c0 || c0+cols > s.n {
		return blas64.General{}, fmt.Errorf("ridge: block [%d:%d, %d:%d] is not in the strict upper triangle of a %d×%d matrix", r0, r0+rows, c0, c0+cols, s.n, s.n)
	}
	if rows == 0 || cols == 0 {
		return blas64.General{Rows: rows, Cols: cols, Stride: max(1, cols)}, nil
	}
	return blas64.General{Rows: rows, Cols: cols, Stride: s.n, Data: s.a[r0*s.n+c0 : (r0+rows-1)*s.n+c0+cols]}, nil
}

// MeanDiag returns the mean of the first k diagonal entries of A.
func (s *Sym) MeanDiag(k int) float64 {
	var sum float64
	for _, v := range s.diag[:k] {
		sum += v
	}
	return sum / float64(k)
}

// ErrNotPD reports that A + shift·I was not numerically positive definite.
var ErrNotPD = errors.New("matrix is not positive definite")

// Factor computes the lower Cholesky factor of the leading k×k block of
// A + shift·I in the lower triangle of the buffer. It returns ErrNotPD
// (wrapped with k and shift) when Potrf fails, in which case no factor is
// held and Solve must not be called.
func (s *Sym) Factor(k int, shift float64) error {
	if k < 1 || k > s.n {
		return fmt.Errorf("ridge: factor a leading block of order %d of a %d×%d matrix", k, s.n, s.n)
	}
	s.factored = 0
	n := s.n
	// Copy the strict upper triangle of the leading block onto the lower
	// one, tile by tile so that both the reads and the writes stay in cache.
	for i0 := 0; i0 < k; i0 += tile {
		i1 := min(i0+tile, k)
		for j0 := 0; j0 <= i0; j0 += tile {
			j1 := min(j0+tile, k)
			for i := i0; i < i1; i++ {
				row := s.a[i*n:]
				for j := j0; j < min(j1, i); j++ {
					row[j] = s.a[j*n+i]
				}
			}
		}
	}
	for i := 0; i < k; i++ {
		s.a[i*n+i] = s.diag[i] + shift
	}
	if _, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Lower, N: k, Stride: n, Data: s.a}); !ok {
		return fmt.Errorf("order %d, shift %g: %w", k, shift, ErrNotPD)
	}
	s.factored = k
	return nil
}

// Solve overwrites b (of length k, the order of the last successful
// Factor) with the solution of (A_k + shift·I) x = b.
func (s *Sym) Solve(b []float64) error {
	if s.factored == 0 {
		return errors.New("ridge: solve without a factor")
	}
	if len(b) != s.factored {
		return fmt.Errorf("ridge: right-hand side has %d values, factor has order %d", len(b), s.factored)
	}
	lapack64.Potrs(blas64.Triangular{Uplo: blas.Lower, Diag: blas.NonUnit, N: s.factored, Stride: s.n, Data: s.a},
		blas64.General{Rows: s.factored, Cols: 1, Stride: 1, Data: b})
	return nil
}

// Problem is a ridge-selection problem on the matrix Sym: fit on the
// leading Train×Train block with right-hand side RHS, then score each
// solution with ValErr (smaller is better; for instance the validation
// mean squared error).
type Problem struct {
	Sym    *Sym
	Train  int
	RHS    []float64 // length Train; not modified
	ValErr func(sol []float64) (float64, error)
}

// Options control Select and FactorRetry.
type Options struct {
	// Retries is how many times a failed factorisation is retried with
	// the ridge multiplied by Growth before giving up.
	Retries int
	// Growth is the factor by which the ridge grows per retry (> 1).
	Growth float64
	// Logf receives one line per failed factorisation (may be nil).
	Logf func(format string, args ...any)
}

// DefaultOptions retries up to 6 times, growing the ridge tenfold each time.
var DefaultOptions = Options{Retries: 6, Growth: 10}

// Trial is the outcome of one grid value.
type Trial struct {
	Ridge     float64 // the grid value asked for (relative)
	Effective float64 // the relative ridge actually used (after retries); NaN if it failed
	Retries   int     // failed factorisations before success
	ValErr    float64 // validation error; NaN if the factorisation failed
}

// Choice is the result of Select.
type Choice struct {
	Trials []Trial
	Best   int // index into Trials of the smallest validation error
}

// FactorRetry factors the leading k×k block of A + λ·mean(diag A_k)·I,
// multiplying λ by opt.Growth after each failure, up to opt.Retries times.
// It returns the relative ridge used and the number of failures. λ = 0 is
// retried from the smallest positive ridge 1e-12.
func FactorRetry(s *Sym, k int, lambda float64, opt Options) (used float64, retries int, err error) {
	scale := s.MeanDiag(k)
	if !(scale > 0) || math.IsInf(scale, 0) {
		return math.NaN(), 0, fmt.Errorf("ridge: mean diagonal of the order-%d block is %g", k, scale)
	}
	used = lambda
	for {
		err = s.Factor(k, used*scale)
		if err == nil {
			return used, retries, nil
		}
		if !errors.Is(err, ErrNotPD) || retries >= opt.Retries {
			return math.NaN(), retries, fmt.Errorf("ridge %g (retried %d times, last %g): %w", lambda, retries, used, err)
		}
		next := used * opt.Growth
		if used == 0 {
			next = 1e-12
		}
		if opt.Logf != nil {
			opt.Logf("Cholesky of order %d failed at relative ridge %g; retrying with %g", k, used, next)
		}
		used = next
		retries++
	}
}

// Select tries every relative ridge of grid on p and returns the trials
// and the index of the best one (the first of equal errors, so the result
// does not depend on anything but the grid order). A grid value whose
// factorisation fails even after retries is recorded with NaN errors;
// Select fails only if every value fails.
func Select(p Problem, grid []float64, opt Options) (Choice, error) {
	if len(grid) == 0 {
		return Choice{}, errors.New("ridge: empty ridge grid")
	}
	if len(p.RHS) != p.Train {
		return Choice{}, fmt.Errorf("ridge: right-hand side has %d values, training block has %d", len(p.RHS), p.Train)
	}
	c := Choice{Best: -1}
	sol := make([]float64, p.Train)
	var lastErr error
	for _, lambda := range grid {
		t := Trial{Ridge: lambda, Effective: math.NaN(), ValErr: math.NaN()}
		used, retries, err := FactorRetry(p.Sym, p.Train, lambda, opt)
		t.Retries = retries
		if err != nil {
			lastErr = err
			if opt.Logf != nil {
				opt.Logf("ridge %g skipped: %v", lambda, err)
			}
			c.Trials = append(c.Trials, t)
			continue
		}
		t.Effective = used
		copy(sol, p.RHS)
		if err := p.Sym.Solve(sol); err != nil {
			return Choice{}, err
		}
		v, err := p.ValErr(sol)
		if err != nil {
			return Choice{}, fmt.Errorf("ridge %g: %w", lambda, err)
		}
		t.ValErr = v
		c.Trials = append(c.Trials, t)
		if !math.IsNaN(v) && (c.Best < 0 || v < c.Trials[c.Best].ValErr) {
			c.Best = len(c.Trials) - 1
		}
	}
	if c.Best < 0 {
		if lastErr == nil {
			lastErr = errors.New("every validation error is NaN")
		}
		return c, fmt.Errorf("ridge: no grid value worked: %w", lastErr)
	}
	return c, nil
}

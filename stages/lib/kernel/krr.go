package kernel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bfc-repro/bfc/stages/lib/linalg"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/lib/kernel/ridge"
)

// Config controls Fit.
type Config struct {
	Kernel Kernel
	// Ridges is the grid of relative ridges λ (shift λ·mean(diag K)).
	Ridges []float64
	// ValFrac is the fraction of the n samples (the last ones) held out to
	// choose the ridge, in [0, 1); it may be 0 only with a single ridge.
	ValFrac float64
	// Refit refits on all n samples with the chosen ridge; otherwise the
	// model keeps the fit on the training part.
	Refit bool
	// MemBudget is the most bytes Fit may allocate for its n×n Gram
	// matrix and work space (see MemoryBytes); 0 means no limit.
	MemBudget int64
	// Threads is the number of workers for the Gram matrix and
	// predictions (the values do not depend on it).
	Threads int
	// Retry says how failed Cholesky factorisations are retried.
	Retry ridge.Options
	// Progress, if not nil, is called after the Gram matrix and after
	// each factorisation.
	Progress func(done, total int, msg string)
	// Logf, if not nil, receives timings and retries.
	Logf func(format string, args ...any)
}

// Model is a fitted kernel ridge regressor f(x) = Mean + Σ_i Alpha_i k(x, X_i).
type Model struct {
	Kernel Kernel
	X      *mat.Dense // the training inputs the coefficients refer to
	Alpha  []float64
	Mean   float64
	norms  []float64
}

// Info describes a fit.
type Info struct {
	ridge.Info
	Bytes int64 // memory estimate that was checked against the budget
}

// MemoryBytes estimates the bytes Fit allocates for n samples with the
// given number of workers: one n×n float64 Gram buffer (ridge.Sym keeps
// the pristine matrix and the factor in the same buffer), one predRows×n
// block per worker for predictions, and O(n) vectors.
func MemoryBytes(n, threads int) int64 {
	nn := int64(n)
	return 8 * (nn*nn + int64(max(threads, 1))*predRows*nn + 8*nn)
}

// ErrMemory is wrapped by Fit's error when a fit would exceed the budget.
var ErrMemory = errors.New("memory budget exceeded")

// system is the dual ridge system: the Gram matrix of all n samples, whose
// leading k×k block serves a fit on the first k.
type system struct {
	sym   *ridge.Sym
	cross blas64.General // K(train, val), pristine upper-right block
}

func (s *system) System(k int) (*ridge.Sym, int, error) { return s.sym, k, nil }
func (s *system) RHS(yc []float64) []float64            { return yc }
func (s *system) PredictVal(sol, out []float64) {
	blas64.Gemv(blas.Trans, 1, s.cross, blas64.Vector{N: len(sol), Inc: 1, Data: sol}, 0, blas64.Vector{N: len(out), Inc: 1, Data: out})
}

// Fit fits kernel ridge regression to the rows of x and the labels y.
func Fit(ctx context.Context, x *mat.Dense, y []float64, cfg Config) (*Model, Info, error) {
	n, d := x.Dims()
	var info Info
	if cfg.Kernel == nil {
		return nil, info, errors.New("kernel ridge regression: no kernel")
	}
	name := cfg.Kernel.Name() + " kernel"
	// The factorisations are the one place where BLAS threads pay: give
	// OpenBLAS (in the openblas build) the stage's CPUs for the solve and
	// return to one thread, which suits the small products elsewhere.
	linalg.SetThreads(cfg.Threads)
	defer linalg.SetThreads(1)
	if len(y) != n {
		return nil, info, fmt.Errorf("%s: %d inputs, %d labels", name, n, len(y))
	}
	nTr, nVal, err := ridge.Split(n, cfg.ValFrac, len(cfg.Ridges))
	if err != nil {
		return nil, info, fmt.Errorf("%s: %w", name, err)
	}
	info.Bytes = MemoryBytes(n, cfg.Threads)
	if cfg.MemBudget > 0 && info.Bytes > cfg.MemBudget {
		return nil, info, fmt.Errorf("%s with n = %d needs about %.2f GiB (an %d×%d float64 Gram matrix plus work space), more than the memory budget of %.2f GiB: %w",
			name, n, gib(info.Bytes), n, n, gib(cfg.MemBudget), ErrMemory)
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}

	t0 := time.Now()
	xg := x.RawMatrix()
	norms := rowNorms(xg)
	g := make([]float64, n*n)
	if err := gramUpper(ctx, cfg.Kernel, xg, norms, g, cfg.Threads); err != nil {
		return nil, info, err
	}
	if err := finite(g, n); err != nil {
		return nil, info, fmt.Errorf("%s Gram matrix: %w", name, err)
	}
	sym, err := ridge.NewSym(n, g)
	if err != nil {
		return nil, info, err
	}
	sys := &system{sym: sym}
	if nVal > 0 {
		if sys.cross, err = sym.Block(0, nTr, nTr, nVal); err != nil {
			return nil, info, err
		}
	}
	logf("%s: Gram matrix %d×%d in %v", name, n, n, time.Since(t0).Round(time.Millisecond))
	// Progress counts the Gram matrix as one step before ridge.Run's
	// factorisations.
	var progress func(done, total int, msg string)
	if cfg.Progress != nil {
		steps := 1 + len(cfg.Ridges)
		if nVal == 0 {
			steps = 1
		}
		cfg.Progress(1, 1+steps, "gram")
		progress = func(done, total int, msg string) { cfg.Progress(1+done, 1+total, msg) }
	}
	res, err := ridge.Run(ctx, sys, y, ridge.Config{Name: name, Grid: cfg.Ridges, ValFrac: cfg.ValFrac,
		Refit: cfg.Refit, Retry: cfg.Retry, Progress: progress, Logf: logf})
	if err != nil {
		return nil, info, err
	}
	info.Info = res.Info
	m := &Model{Kernel: cfg.Kernel, X: mat.DenseCopyOf(x.Slice(0, res.NFit, 0, d)), Alpha: res.Solution,
		Mean: res.Mean, norms: norms[:res.NFit]}
	return m, info, nil
}

// Predict returns the model's predictions for the rows of x.
func (m *Model) Predict(ctx context.Context, x *mat.Dense, threads int) ([]float64, error) {
	r, c := x.Dims()
	if _, d := m.X.Dims(); c != d {
		return nil, fmt.Errorf("predict: inputs have %d columns, model has %d", c, d)
	}
	xg := x.RawMatrix()
	out := make([]float64, r)
	if err := crossApply(ctx, m.Kernel, xg, rowNorms(xg), m.X.RawMatrix(), m.norms, m.Alpha, out, threads); err != nil {
		return nil, err
	}
	for i := range out {
		out[i] += m.Mean
	}
	return out, nil
}

// finite checks the upper triangle of the row-major n×n matrix g.
func finite(g []float64, n int) error {
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			if v := g[i*n+j]; math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("entry (%d, %d) is %v", i, j, v)
			}
		}
	}
	return nil
}

func gib(b int64) float64 { return float64(b) / (1 << 30) }

package monomial

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/lib/kernel"
	"github.com/bfc-repro/bfc/stages/lib/kernel/ridge"
	"github.com/bfc-repro/bfc/stages/lib/linalg"
)

// Config controls Fit.
type Config struct {
	Degree      int       // p: monomials of total degree <= p
	MaxFeatures int       // refuse bases with more monomials than this
	Ridges      []float64 // relative ridge grid (shift λ·mean(diag ΦᵀΦ))
	ValFrac     float64   // fraction of the samples (the last ones) used to choose λ; 0 only with one ridge
	Refit       bool      // refit on all samples with the chosen ridge
	MemBudget   int64     // bytes for the feature matrix and normal matrix; 0 = no limit
	Threads     int       // workers for the normal matrix (the values do not depend on it)
	Retry       ridge.Options
	Progress    func(done, total int, msg string)
	Logf        func(format string, args ...any)
}

// Model is f(x) = Mean + Σ_t W_t (φ_t(x) − Mu_t)·Inv_t over the
// non-constant monomials t = 1..Len−1.
type Model struct {
	Basis   *Basis
	Mu, Inv []float64 // per-feature mean and 1/std (index 0, the constant, unused)
	W       []float64 // coefficients of the standardised features (index 0 unused, 0)
	Mean    float64
}

// Info describes a fit.
type Info struct {
	ridge.Info
	Features int   // monomials including the constant
	Bytes    int64 // memory estimate that was checked against the budget
}

// MemoryBytes estimates Fit's allocation for n samples and F monomials:
// the standardised feature matrix twice (row-major, then transposed for
// the normal matrix) and one (F−1)×(F−1) normal matrix.
func MemoryBytes(n, features int) int64 {
	f := int64(features - 1)
	return 8 * (2*int64(n)*f + f*f + 4*f)
}

// ErrMemory is wrapped by Fit's error when a fit would exceed the budget.
var ErrMemory = errors.New("memory budget exceeded")

// system is the primal ridge system over the first k samples with an
// unpenalised intercept: the features are centred on the mean μ_k of those
// k rows, A = Φ_kᵀΦ_k − k·μ_kμ_kᵀ, in one reused f×f buffer. (Since the
// features are already standardised over all n rows, μ_k is small and the
// rank-one downdate loses no precision.) The features are held transposed
// (phiT is f×n), so that ΦᵀΦ is the Gram matrix of the rows of phiT,
// computed in parallel tiles by kernel.GramUpper.
type system struct {
	ctx     context.Context
	threads int
	phiT    blas64.General // f×n standardised features, one row per monomial
	nTr     int            // samples of the training part
	normal  []float64
	sym     *ridge.Sym
	rows    int       // samples in the current normal matrix (0: none)
	mu      []float64 // feature means over those samples
}

// cols returns the first k columns (samples) of phiT.
func (s *system) cols(k int) blas64.General {
	f, n := s.phiT.Rows, s.phiT.Stride
	return blas64.General{Rows: f, Cols: k, Stride: n, Data: s.phiT.Data[:(f-1)*n+k]}
}

func (s *system) System(k int) (*ridge.Sym, int, error) {
	f := s.phiT.Rows
	if s.rows != k {
		if err := kernel.GramUpper(s.ctx, kernel.Linear{}, s.cols(k), s.normal, s.threads); err != nil {
			return nil, 0, err
		}
		s.mu = make([]float64, f)
		for t := range s.mu {
			s.mu[t] = floats.Sum(s.phiT.Data[t*s.phiT.Stride:t*s.phiT.Stride+k]) / float64(k)
		}
		blas64.Syr(-float64(k), blas64.Vector{N: f, Inc: 1, Data: s.mu}, blas64.Symmetric{Uplo: blas.Upper, N: f, Stride: f, Data: s.normal})
		sym, err := ridge.NewSym(f, s.normal)
		if err != nil {
			return nil, 0, err
		}
		s.sym, s.rows = sym, k
	}
	return s.sym, f, nil
}

// RHS relies on Σ yc = 0: Φ_kᵀ yc equals the centred (Φ_k − 1μ_kᵀ)ᵀ yc.
func (s *system) RHS(yc []float64) []float64 {
	rhs := make([]float64, s.phiT.Rows)
	blas64.Gemv(blas.NoTrans, 1, s.cols(len(yc)), blas64.Vector{N: len(yc), Inc: 1, Data: yc}, 0,
		blas64.Vector{N: len(rhs), Inc: 1, Data: rhs})
	return rhs
}

func (s *system) PredictVal(w, out []float64) {
	f, n := s.phiT.Rows, s.phiT.Stride
	val := blas64.General{Rows: f, Cols: len(out), Stride: n, Data: s.phiT.Data[s.nTr : (f-1)*n+s.nTr+len(out)]}
	blas64.Gemv(blas.Trans, 1, val, blas64.Vector{N: len(w), Inc: 1, Data: w}, 0, blas64.Vector{N: len(out), Inc: 1, Data: out})
	floats.AddConst(-floats.Dot(s.mu, w), out)
}

// Fit fits ridge regression on the monomial features of the rows of x.
func Fit(ctx context.Context, x *mat.Dense, y []float64, cfg Config) (*Model, Info, error) {
	n, d := x.Dims()
	var info Info
	name := fmt.Sprintf("monomial regression (degree %d)", cfg.Degree)
	if len(y) != n {
		return nil, info, fmt.Errorf("%s: %d inputs, %d labels", name, n, len(y))
	}
	basis, err := NewBasis(d, cfg.Degree, cfg.MaxFeatures)
	if err != nil {
		return nil, info, fmt.Errorf("%s: %w", name, err)
	}
	if basis.Len() < 2 {
		return nil, info, fmt.Errorf("%s: no non-constant feature", name)
	}
	// The Cholesky solves use the granted CPUs (the values do not depend on it).
	linalg.SetThreads(cfg.Threads)
	defer linalg.SetThreads(1)
	nTr, _, err := ridge.Split(n, cfg.ValFrac, len(cfg.Ridges))
	if err != nil {
		return nil, info, fmt.Errorf("%s: %w", name, err)
	}
	info.Features = basis.Len()
	info.Bytes = MemoryBytes(n, basis.Len())
	if cfg.MemBudget > 0 && info.Bytes > cfg.MemBudget {
		return nil, info, fmt.Errorf("%s with n = %d and %d features needs about %.2f GiB, more than the memory budget of %.2f GiB: %w",
			name, n, basis.Len(), float64(info.Bytes)/(1<<30), float64(cfg.MemBudget)/(1<<30), ErrMemory)
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	t0 := time.Now()
	m := &Model{Basis: basis}
	phi := m.features(x, true)
	f := phi.Cols
	sys := &system{ctx: ctx, threads: cfg.Threads, nTr: nTr, normal: make([]float64, f*f),
		phiT: blas64.General{Rows: f, Cols: n, Stride: n, Data: make([]float64, f*n)}}
	transpose(phi, sys.phiT)
	logf("%s: %d features of %d samples in %v", name, basis.Len(), n, time.Since(t0).Round(time.Millisecond))
	res, err := ridge.Run(ctx, sys, y, ridge.Config{Name: name, Grid: cfg.Ridges, ValFrac: cfg.ValFrac,
		Refit: cfg.Refit, Retry: cfg.Retry, Progress: cfg.Progress, Logf: logf})
	if err != nil {
		return nil, info, err
	}
	info.Info = res.Info
	// f(x) = ȳ + (φ(x) − μ)·w: fold −μ·w into the constant.
	m.Mean = res.Mean - floats.Dot(sys.mu, res.Solution)
	m.W = append([]float64{0}, res.Solution...)
	return m, info, nil
}

// transpose writes the transpose of src (r×c) into dst (c×r), in 64×64
// tiles so that reads and writes both stay in cache.
func transpose(src, dst blas64.General) {
	const tile = 64
	for i0 := 0; i0 < src.Rows; i0 += tile {
		for j0 := 0; j0 < src.Cols; j0 += tile {
			for i := i0; i < min(i0+tile, src.Rows); i++ {
				for j := j0; j < min(j0+tile, src.Cols); j++ {
					dst.Data[j*dst.Stride+i] = src.Data[i*src.Stride+j]
				}
			}
		}
	}
}

// features returns the standardised non-constant features of the rows of
// x as a row-major n×(Len−1) matrix; with learn it first sets Mu and Inv
// from these rows (features with zero spread get Inv = 0).
func (m *Model) features(x *mat.Dense, learn bool) blas64.General {
	n, _ := x.Dims()
	full := m.Basis.Len()
	f := full - 1
	out := blas64.General{Rows: n, Cols: f, Stride: f, Data: make([]float64, n*f)}
	row := make([]float64, full)
	for i := 0; i < n; i++ {
		m.Basis.Eval(x.RawRowView(i), row)
		copy(out.Data[i*f:(i+1)*f], row[1:])
	}
	if learn {
		m.Mu, m.Inv = make([]float64, full), make([]float64, full)
		for t := 0; t < f; t++ {
			var s float64
			for i := 0; i < n; i++ {
				s += out.Data[i*f+t]
			}
			mu := s / float64(n)
			var v float64
			for i := 0; i < n; i++ {
				dv := out.Data[i*f+t] - mu
				v += dv * dv
			}
			m.Mu[t+1] = mu
			if sd := math.Sqrt(v / float64(n)); sd > 0 {
				m.Inv[t+1] = 1 / sd
			}
		}
	}
	for i := 0; i < n; i++ {
		r := out.Data[i*f : (i+1)*f]
		for t := range r {
			r[t] = (r[t] - m.Mu[t+1]) * m.Inv[t+1]
		}
	}
	return out
}

// Predict returns the model's predictions for the rows of x.
func (m *Model) Predict(x *mat.Dense) ([]float64, error) {
	n, d := x.Dims()
	if d != m.Basis.D {
		return nil, fmt.Errorf("predict: inputs have %d columns, model has %d", d, m.Basis.D)
	}
	phi := m.features(x, false)
	out := make([]float64, n)
	blas64.Gemv(blas.NoTrans, 1, phi, blas64.Vector{N: phi.Cols, Inc: 1, Data: m.W[1:]}, 0, blas64.Vector{N: n, Inc: 1, Data: out})
	for i := range out {
		out[i] += m.Mean
	}
	return out, nil
}

package kernel_test

import (
	// The benchmarks measure whichever BLAS the build links (-tags openblas).
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	_ "github.com/bfc-repro/bfc/stages/lib/linalg"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/combin"

	"github.com/bfc-repro/bfc/stages/lib/kernel"
	"github.com/bfc-repro/bfc/stages/lib/kernel/ridge"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
	"github.com/bfc-repro/bfc/stages/lib/monomial"
)

func gaussian(n, d int, seed uint64) *mat.Dense {
	rng := rand.New(rand.NewPCG(seed, 11))
	x := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x.Set(i, j, rng.NormFloat64())
		}
	}
	return x
}

// TestPolyEqualsExplicitFeatures checks (1 + ⟨x,y⟩/s)^p against the inner
// product of the weighted monomial features
// √(C(p,|α|)·multinomial(|α|;α)/s^|α|)·x^α of monomial.Basis. The sum has
// at most C(13,8) = 1287 terms of mixed sign, so the rounding error is
// bounded by ~1e-16·(number of terms)·Σ|terms|; 1e-12·Σ|terms| is safe.
func TestPolyEqualsExplicitFeatures(t *testing.T) {
	cases := []struct{ d, p int }{{1, 1}, {1, 5}, {2, 3}, {3, 2}, {4, 4}, {5, 8}}
	for _, c := range cases {
		k, err := kernel.NewPoly(c.p, c.d)
		if err != nil {
			t.Fatal(err)
		}
		b, err := monomial.NewBasis(c.d, c.p, 0)
		if err != nil {
			t.Fatal(err)
		}
		x := gaussian(2, c.d, uint64(c.d*10+c.p))
		fx, fy := make([]float64, b.Len()), make([]float64, b.Len())
		b.Eval(x.RawRowView(0), fx)
		b.Eval(x.RawRowView(1), fy)
		var sum, abs float64
		for tt := 0; tt < b.Len(); tt++ {
			alpha := b.Exponent(tt)
			deg := b.Degree(tt)
			w := float64(combin.Binomial(c.p, deg)) * multinomial(alpha) / math.Pow(float64(c.d), float64(deg))
			term := w * fx[tt] * fy[tt]
			sum += term
			abs += math.Abs(term)
		}
		got := kernel.Eval(k, x.RawRowView(0), x.RawRowView(1))
		if math.Abs(got-sum) > 1e-12*abs {
			t.Errorf("d=%d p=%d: kernel %v, explicit features %v (scale %v)", c.d, c.p, got, sum, abs)
		}
	}
}

func multinomial(alpha []int) float64 {
	n := 0
	r := 1.0
	for _, a := range alpha {
		for i := 1; i <= a; i++ {
			n++
			r = r * float64(n) / float64(i)
		}
	}
	return r
}

// TestNTKMonteCarlo compares the closed form with its definition: the
// inner product of the parameter gradients of f(x) = m^{-1/2} Σ_r a_r
// relu(w_r·x/√d + β b_r) at a random initialisation (a_r, w_r, b_r iid
// N(0,1)), which is the mean of m iid terms. The tolerance is 5 standard
// errors of that mean, estimated from the same terms, with m = 200000 (a
// standard error of ~0.3% of the kernel value); a wrong constant, a missing
// term or a wrong angle function is off by far more.
func TestNTKMonteCarlo(t *testing.T) {
	const d, m = 5, 200000
	rng := rand.New(rand.NewPCG(42, 43))
	base := gaussian(1, d, 3).RawRowView(0)
	other := gaussian(1, d, 4).RawRowView(0)
	neg := make([]float64, d)
	for i := range neg {
		neg[i] = -base[i] + 0.1*other[i]
	}
	pairs := []struct {
		name string
		x, y []float64
	}{{"same", base, base}, {"random", base, other}, {"nearly opposite", base, neg}}
	for _, bias := range []bool{true, false} {
		k, _ := kernel.NewNTK(d, bias)
		beta := 0.0
		if bias {
			beta = 1
		}
		w := make([]float64, m*d)
		a := make([]float64, m)
		b := make([]float64, m)
		for i := range w {
			w[i] = rng.NormFloat64()
		}
		for r := 0; r < m; r++ {
			a[r], b[r] = rng.NormFloat64(), rng.NormFloat64()
		}
		for _, pr := range pairs {
			var sum, sumSq, dot float64
			for i := range pr.x {
				dot += pr.x[i] * pr.y[i]
			}
			for r := 0; r < m; r++ {
				ux, uy := beta*b[r], beta*b[r]
				for i := 0; i < d; i++ {
					ux += w[r*d+i] * pr.x[i] / math.Sqrt(d)
					uy += w[r*d+i] * pr.y[i] / math.Sqrt(d)
				}
				// ∂f/∂a_r, ∂f/∂w_r, ∂f/∂b_r, times √m, for both inputs.
				term := relu(ux) * relu(uy)
				if ux > 0 && uy > 0 {
					term += a[r] * a[r] * (dot/d + beta*beta)
				}
				sum += term
				sumSq += term * term
			}
			mean := sum / m
			se := math.Sqrt((sumSq/m - mean*mean) / m)
			want := kernel.Eval(k, pr.x, pr.y)
			if math.Abs(mean-want) > 5*se {
				t.Errorf("%s, %s: Monte Carlo %v ± %v, closed form %v", k.Name(), pr.name, mean, se, want)
			}
		}
	}
}

func relu(u float64) float64 { return max(u, 0) }

func TestNTKDiagonalAndZero(t *testing.T) {
	x := []float64{1, -2, 0.5}
	for _, bias := range []bool{true, false} {
		k, _ := kernel.NewNTK(3, bias)
		z2 := (1 + 4 + 0.25) / 3
		if bias {
			z2++
		}
		// Θ(x,x) = |z|²: κ1(1) = 1/2 and κ0(1) = 1/2. Rounding only (acos(1) = 0 exactly).
		if got := kernel.Eval(k, x, x); math.Abs(got-z2) > 1e-14*z2 {
			t.Errorf("%s: Θ(x,x) = %v, want |z|² = %v", k.Name(), got, z2)
		}
	}
	k, _ := kernel.NewNTK(3, false)
	if got := kernel.Eval(k, []float64{0, 0, 0}, x); got != 0 {
		t.Errorf("Θ(0, x) without bias = %v, want 0", got)
	}
}

// TestGramMatchesEval fills the Gram matrix in tiles (n = 300 crosses the
// 256 tile edge) with 1 and 3 workers: the two must agree bit for bit, and
// with the pairwise kernel.Eval up to the rounding of a length-d dot product
// computed in a different order (1e-13 relative).
func TestGramMatchesEval(t *testing.T) {
	const n, d = 300, 6
	x := gaussian(n, d, 5)
	xg := x.RawMatrix()
	poly, _ := kernel.NewPoly(4, d)
	ntk, _ := kernel.NewNTK(d, true)
	for _, k := range []kernel.Kernel{poly, ntk, kernel.Linear{}} {
		g1 := make([]float64, n*n)
		g3 := make([]float64, n*n)
		if err := kernel.GramUpper(context.Background(), k, xg, g1, 1); err != nil {
			t.Fatal(err)
		}
		if err := kernel.GramUpper(context.Background(), k, xg, g3, 3); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				if g1[i*n+j] != g3[i*n+j] {
					t.Fatalf("%s: K[%d][%d] differs between 1 and 3 workers", k.Name(), i, j)
				}
				want := kernel.Eval(k, x.RawRowView(i), x.RawRowView(j))
				if math.Abs(g1[i*n+j]-want) > 1e-13*math.Abs(want)+1e-13 {
					t.Fatalf("%s: K[%d][%d] = %v, kernel.Eval %v", k.Name(), i, j, g1[i*n+j], want)
				}
			}
		}
	}
}

// polyTarget is a degree-4 polynomial plus noise for the fitting tests.
func polyTarget(x *mat.Dense, seed uint64) []float64 {
	n, _ := x.Dims()
	rng := rand.New(rand.NewPCG(seed, 9))
	y := make([]float64, n)
	for i := range y {
		r := x.RawRowView(i)
		y[i] = r[0]*r[1] + 0.5*r[2]*r[2]*r[0]*r[1] - r[3] + 0.1*rng.NormFloat64()
	}
	return y
}

// directKRR solves (K + λ·mean(diag K)·I) α = y − ȳ on the first k rows
// with an LU solve of an explicitly built K and returns predictions at q.
func directKRR(k kernel.Kernel, x *mat.Dense, y []float64, rows int, lambda float64, q *mat.Dense) []float64 {
	km := mat.NewDense(rows, rows, nil)
	var md float64
	for i := 0; i < rows; i++ {
		for j := 0; j < rows; j++ {
			km.Set(i, j, kernel.Eval(k, x.RawRowView(i), x.RawRowView(j)))
		}
		md += km.At(i, i)
	}
	md /= float64(rows)
	for i := 0; i < rows; i++ {
		km.Set(i, i, km.At(i, i)+lambda*md)
	}
	ybar, _ := stat.PopMeanVariance(y[:rows], nil)
	rhs := mat.NewVecDense(rows, nil)
	for i := 0; i < rows; i++ {
		rhs.SetVec(i, y[i]-ybar)
	}
	var alpha mat.VecDense
	if err := alpha.SolveVec(km, rhs); err != nil {
		panic(err)
	}
	nq, _ := q.Dims()
	out := make([]float64, nq)
	for a := 0; a < nq; a++ {
		out[a] = ybar
		for i := 0; i < rows; i++ {
			out[a] += alpha.AtVec(i) * kernel.Eval(k, q.RawRowView(a), x.RawRowView(i))
		}
	}
	return out
}

// TestFitMatchesDirectSolve checks every validation error and the final
// predictions against LU solves of explicitly built systems. With a
// relative ridge >= 1e-3 the systems have condition numbers below ~1e6, so
// two backward-stable solvers agree to ~1e-10 relative; 1e-7 of the label
// scale is a safe bound that still catches any wrong index or shift.
func TestFitMatchesDirectSolve(t *testing.T) {
	const n, d = 120, 4
	x := gaussian(n, d, 1)
	y := polyTarget(x, 2)
	q := gaussian(25, d, 3)
	poly, _ := kernel.NewPoly(4, d)
	ntk, _ := kernel.NewNTK(d, true)
	for _, k := range []kernel.Kernel{poly, ntk} {
		for _, refit := range []bool{true, false} {
			grid := []float64{1e-3, 1e-1, 1}
			m, info, err := kernel.Fit(context.Background(), x, y, kernel.Config{Kernel: k, Ridges: grid, ValFrac: 0.25, Refit: refit, Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			if info.NTrain != 90 || info.NVal != 30 {
				t.Fatalf("split %d/%d, want 90/30", info.NTrain, info.NVal)
			}
			_, yv := stat.PopMeanVariance(y, nil)
			tol := 1e-7 * math.Sqrt(yv)
			best := 0
			for i, tr := range info.Trials {
				pred := directKRR(k, x, y, 90, grid[i], x.Slice(90, n, 0, d).(*mat.Dense))
				var mse float64
				for j, p := range pred {
					mse += (p - y[90+j]) * (p - y[90+j])
				}
				mse /= 30
				if math.Abs(tr.ValErr-mse) > tol*math.Sqrt(mse) {
					t.Errorf("%s ridge %g: validation MSE %v, direct %v", k.Name(), grid[i], tr.ValErr, mse)
				}
				if tr.ValErr < info.Trials[best].ValErr {
					best = i
				}
			}
			if info.Ridge != grid[best] {
				t.Errorf("%s: chose ridge %g, smallest validation error at %g", k.Name(), info.Ridge, grid[best])
			}
			rows := 90
			if refit {
				rows = n
			}
			if info.NFit != rows {
				t.Errorf("%s refit=%v: final fit on %d samples, want %d", k.Name(), refit, info.NFit, rows)
			}
			want := directKRR(k, x, y, rows, info.Effective, q)
			got, err := m.Predict(context.Background(), q, 2)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if math.Abs(got[i]-want[i]) > tol {
					t.Fatalf("%s refit=%v: prediction %d = %v, direct solve %v", k.Name(), refit, i, got[i], want[i])
				}
			}
		}
	}
}

// TestPolyKRREqualsFeatureRidge is the kernel trick made concrete: KRR
// with the polynomial kernel and shift s predicts exactly what ridge
// regression on the explicit weighted monomial features with the same
// shift predicts, (ΦᵀΦ + sI)⁻¹Φᵀ = Φᵀ(ΦΦᵀ + sI)⁻¹. Both are solved
// independently (Cholesky on the n×n dual, LU on the F×F primal, F = 70);
// condition numbers stay below ~1e5 at this shift, hence 1e-8.
func TestPolyKRREqualsFeatureRidge(t *testing.T) {
	const n, d, p = 50, 4, 4
	x := gaussian(n, d, 7)
	y := polyTarget(x, 8)
	q := gaussian(10, d, 9)
	k, _ := kernel.NewPoly(p, d)
	const lambda = 1e-2
	m, info, err := kernel.Fit(context.Background(), x, y, kernel.Config{Kernel: k, Ridges: []float64{lambda}, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if info.NVal != 0 || info.NFit != n {
		t.Fatalf("without validation: split %+v", info.Info)
	}
	b, _ := monomial.NewBasis(d, p, 0)
	f := b.Len()
	weights := make([]float64, f)
	for tt := range weights {
		deg := b.Degree(tt)
		weights[tt] = math.Sqrt(float64(combin.Binomial(p, deg)) * multinomial(b.Exponent(tt)) / math.Pow(d, float64(deg)))
	}
	feat := func(r []float64) []float64 {
		v := make([]float64, f)
		b.Eval(r, v)
		for i := range v {
			v[i] *= weights[i]
		}
		return v
	}
	phi := mat.NewDense(n, f, nil)
	var trace float64
	for i := 0; i < n; i++ {
		v := feat(x.RawRowView(i))
		phi.SetRow(i, v)
		for _, e := range v {
			trace += e * e
		}
	}
	shift := lambda * trace / n // λ·mean(diag K), diag K = |φ(x_i)|²
	var a mat.Dense
	a.Mul(phi.T(), phi)
	for i := 0; i < f; i++ {
		a.Set(i, i, a.At(i, i)+shift)
	}
	ybar, yv := stat.PopMeanVariance(y, nil)
	yc := mat.NewVecDense(n, nil)
	for i := range y {
		yc.SetVec(i, y[i]-ybar)
	}
	var rhs, w mat.VecDense
	rhs.MulVec(phi.T(), yc)
	if err := w.SolveVec(&a, &rhs); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Predict(context.Background(), q, 1)
	for i := range got {
		want := ybar + mat.Dot(mat.NewVecDense(f, feat(q.RawRowView(i))), &w)
		if math.Abs(got[i]-want) > 1e-8*math.Sqrt(yv) {
			t.Errorf("query %d: KRR %v, feature ridge %v", i, got[i], want)
		}
	}
}

// TestFitDeterministic: identical coefficients and predictions for 1 and
// 4 workers and GOMAXPROCS 1 and 4 (n = 600 spans 6 Gram tiles and BLAS
// calls large enough to go parallel inside gonum).
func TestFitDeterministic(t *testing.T) {
	const n, d = 600, 5
	x := gaussian(n, d, 21)
	y := polyTarget(x, 22)
	q := gaussian(150, d, 23)
	k, _ := kernel.NewPoly(4, d)
	run := func(threads, procs int) ([]float64, []float64) {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		m, _, err := kernel.Fit(context.Background(), x, y, kernel.Config{Kernel: k, Ridges: []float64{1e-4, 1e-2}, ValFrac: 0.2, Refit: true, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Predict(context.Background(), q, threads)
		if err != nil {
			t.Fatal(err)
		}
		return m.Alpha, p
	}
	a1, p1 := run(1, 1)
	a4, p4 := run(4, 4)
	for i := range a1 {
		if a1[i] != a4[i] {
			t.Fatalf("alpha[%d]: %v with 1 thread, %v with 4", i, a1[i], a4[i])
		}
	}
	for i := range p1 {
		if p1[i] != p4[i] {
			t.Fatalf("prediction %d: %v with 1 thread, %v with 4", i, p1[i], p4[i])
		}
	}
}

// TestProgress: one report for the Gram matrix, one per ridge, one for
// the final fit, all with the same total.
func TestProgress(t *testing.T) {
	x := gaussian(50, 3, 1)
	y := polyTarget(gaussian(50, 4, 1), 1)
	k, _ := kernel.NewPoly(2, 3)
	var got []string
	_, _, err := kernel.Fit(context.Background(), x, y, kernel.Config{Kernel: k, Ridges: []float64{1e-3, 1}, ValFrac: 0.2, Refit: true,
		Progress: func(done, total int, msg string) { got = append(got, fmt.Sprintf("%d/%d %s", done, total, msg)) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1/4 gram", "2/4 ridge", "3/4 ridge", "4/4 fit"}
	if !slices.Equal(got, want) {
		t.Errorf("progress %q, want %q", got, want)
	}
}

func TestMemoryGuard(t *testing.T) {
	x := gaussian(500, 3, 1)
	y := make([]float64, 500)
	k, _ := kernel.NewPoly(2, 3)
	_, _, err := kernel.Fit(context.Background(), x, y, kernel.Config{Kernel: k, Ridges: []float64{1}, MemBudget: 1 << 20, Threads: 1})
	if !errors.Is(err, kernel.ErrMemory) || !strings.Contains(err.Error(), "n = 500") || !strings.Contains(err.Error(), "budget of 0.00 GiB") {
		t.Fatalf("err = %v", err)
	}
	if got := kernel.MemoryBytes(1000, 2); got < 8*1000*1000 {
		t.Fatalf("kernel.MemoryBytes(1000) = %d is below one 1000×1000 matrix", got)
	}
}

// TestFitRetriesSingularGram: the degree-1 kernel on d = 2 has rank 3, so
// its 40×40 Gram matrix with ridge 0 is singular and Potrf fails; kernel.Fit must
// retry with a growing ridge and report it.
func TestFitRetriesSingularGram(t *testing.T) {
	x := gaussian(40, 2, 3)
	y := make([]float64, 40)
	for i := range y {
		y[i] = x.At(i, 0) - x.At(i, 1)
	}
	k, _ := kernel.NewPoly(1, 2)
	m, info, err := kernel.Fit(context.Background(), x, y, kernel.Config{Kernel: k, Ridges: []float64{0}, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if info.Retries < 1 || !(info.Effective > 0) {
		t.Fatalf("retries %d, effective ridge %g: the singular system was not retried", info.Retries, info.Effective)
	}
	// A linear target lies in the kernel's span: the fit must be near exact.
	pred, _ := m.Predict(context.Background(), x, 1)
	if e, _ := metrics.RelErr(pred, y); e > 1e-6 {
		t.Fatalf("relative training error %g on a linear target", e)
	}
}

func TestFitErrors(t *testing.T) {
	x := gaussian(10, 2, 1)
	y := make([]float64, 10)
	k, _ := kernel.NewPoly(2, 2)
	cases := []struct {
		name string
		cfg  kernel.Config
		y    []float64
		want string
	}{
		{"no kernel", kernel.Config{Ridges: []float64{1}}, y, "no kernel"},
		{"labels", kernel.Config{Kernel: k, Ridges: []float64{1}}, y[:5], "10 inputs, 5 labels"},
		{"grid without validation", kernel.Config{Kernel: k, Ridges: []float64{1, 2}}, y, "no validation samples"},
		{"fraction", kernel.Config{Kernel: k, Ridges: []float64{1}, ValFrac: 1}, y, "not in [0, 1)"},
	}
	for _, c := range cases {
		_, _, err := kernel.Fit(context.Background(), x, c.y, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
	m, _, err := kernel.Fit(context.Background(), x, y, kernel.Config{Kernel: k, Ridges: []float64{1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict(context.Background(), gaussian(3, 4, 1), 1); err == nil {
		t.Error("Predict accepted inputs of the wrong dimension")
	}
}

func benchGram(b *testing.B, n int) {
	const d = 16
	x := gaussian(n, d, 1)
	xg := x.RawMatrix()
	k, _ := kernel.NewPoly(8, d)
	g := make([]float64, n*n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := kernel.GramUpper(context.Background(), k, xg, g, runtime.GOMAXPROCS(0)); err != nil {
			b.Fatal(err)
		}
	}
}

func benchCholesky(b *testing.B, n int) {
	const d = 16
	x := gaussian(n, d, 1)
	xg := x.RawMatrix()
	k, _ := kernel.NewPoly(8, d)
	g := make([]float64, n*n)
	if err := kernel.GramUpper(context.Background(), k, xg, g, runtime.GOMAXPROCS(0)); err != nil {
		b.Fatal(err)
	}
	s, _ := ridge.NewSym(n, g)
	shift := 1e-3 * s.MeanDiag(n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Factor(n, shift); err != nil {
			b.Fatal(err)
		}
	}
}

// skipLarge skips the n = 10000 benchmarks unless -bench names them
// explicitly (they take minutes and 800 MB) or in -short mode.
func skipLarge(b *testing.B) {
	f := flag.Lookup("test.bench")
	if testing.Short() || f == nil || !strings.Contains(f.Value.String(), "10000") {
		b.Skip("n = 10000: select explicitly with -bench 'Gram10000|Cholesky10000'")
	}
}

func BenchmarkGram4096(b *testing.B)     { benchGram(b, 4096) }
func BenchmarkCholesky4096(b *testing.B) { benchCholesky(b, 4096) }
func BenchmarkGram10000(b *testing.B)    { skipLarge(b); benchGram(b, 10000) }
func BenchmarkCholesky10000(b *testing.B) {
	skipLarge(b)
	benchCholesky(b, 10000)
}

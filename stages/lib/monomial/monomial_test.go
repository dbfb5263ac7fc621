package monomial

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

func TestCount(t *testing.T) {
	cases := []struct {
		d, p, limit int
		want        int
		err         string
	}{
		{1, 3, 0, 4, ""},
		{3, 2, 0, 10, ""},
		{16, 0, 0, 1, ""},
		{16, 4, 0, 4845, ""},
		{16, 8, 0, 735471, ""},
		{32, 8, 0, 76904685, ""},
		{16, 8, 100000, 0, "7.355e+05 monomials of degree <= 8 in d = 16 variables (C(24, 8)) exceed the limit of 100000"},
		{0, 2, 0, 0, "d >= 1"},
	}
	for _, c := range cases {
		got, err := Count(c.d, c.p, c.limit)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Count(%d, %d, %d): err = %v, want %q", c.d, c.p, c.limit, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Count(%d, %d) = %d, %v; want %d", c.d, c.p, got, err, c.want)
		}
	}
}

// TestBasis checks that the enumeration holds every exponent vector of
// degree <= p exactly once, in graded order, and that Eval computes x^α
// (products of at most 6 factors of O(1) numbers: 1e-14 relative).
func TestBasis(t *testing.T) {
	for _, c := range []struct{ d, p int }{{1, 4}, {3, 3}, {4, 6}, {7, 2}} {
		b, err := NewBasis(c.d, c.p, 0)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Count(c.d, c.p, 0)
		if b.Len() != want {
			t.Fatalf("d=%d p=%d: %d monomials, want %d", c.d, c.p, b.Len(), want)
		}
		x := make([]float64, c.d)
		rng := rand.New(rand.NewPCG(uint64(c.d), uint64(c.p)))
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		v := make([]float64, b.Len())
		b.Eval(x, v)
		seen := map[string]bool{}
		prev := 0
		for tt := 0; tt < b.Len(); tt++ {
			a := b.Exponent(tt)
			deg := 0
			prod := 1.0
			for i, e := range a {
				deg += e
				prod *= math.Pow(x[i], float64(e))
			}
			key := fmt.Sprint(a)
			if seen[key] {
				t.Fatalf("d=%d p=%d: exponent %v appears twice", c.d, c.p, a)
			}
			seen[key] = true
			if deg > c.p || deg != b.Degree(tt) || deg < prev {
				t.Fatalf("d=%d p=%d: monomial %d has degree %d (Degree says %d, previous %d)", c.d, c.p, tt, deg, b.Degree(tt), prev)
			}
			prev = deg
			if math.Abs(v[tt]-prod) > 1e-14*math.Abs(prod)+1e-300 {
				t.Fatalf("d=%d p=%d: Eval gives %v for %v, want %v", c.d, c.p, v[tt], a, prod)
			}
		}
	}
}

func data(n, d int, seed uint64, f func(x []float64) float64) (*mat.Dense, []float64) {
	rng := rand.New(rand.NewPCG(seed, 5))
	x := mat.NewDense(n, d, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x.Set(i, j, rng.NormFloat64())
		}
		y[i] = f(x.RawRowView(i))
	}
	return x, y
}

// TestFitRecoversPolynomial: a noise-free target of degree 3 in d = 4 has
// C(7,3) = 35 coefficients; with n = 300 samples and a tiny ridge the fit
// must be exact up to the ridge bias (relative ridge 1e-10 on features of
// unit variance gives a relative error ~1e-10·cond; 1e-6 leaves margin),
// also without refit, where the intercept must be fitted on the 240
// training rows whose feature means are not 0; degree 2 cannot represent
// the target (error well above 1e-2). The validation error must also pick
// the tiny ridge when the target is representable.
func TestFitRecoversPolynomial(t *testing.T) {
	f := func(x []float64) float64 { return x[0]*x[1]*x[2] - 2*x[3]*x[3] + x[1] + 0.5 }
	x, y := data(300, 4, 1, f)
	xt, yt := data(200, 4, 2, f)
	for _, c := range []struct {
		p        int
		refit    bool
		lo, hi   float64
		features int
	}{{3, true, 0, 1e-6, 35}, {3, false, 0, 1e-6, 35}, {2, true, 1e-2, 2, 15}} {
		m, info, err := Fit(context.Background(), x, y, Config{Degree: c.p, MaxFeatures: 1000, Ridges: []float64{1e-10, 1e-4, 1}, ValFrac: 0.2, Refit: c.refit})
		if err != nil {
			t.Fatal(err)
		}
		if c.features > 0 && info.Features != c.features {
			t.Errorf("degree %d: %d features, want %d", c.p, info.Features, c.features)
		}
		pred, err := m.Predict(xt)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := metrics.RelErr(pred, yt)
		if e < c.lo || e > c.hi {
			t.Errorf("degree %d refit %v: test relative error %g, want in [%g, %g]", c.p, c.refit, e, c.lo, c.hi)
		}
		if c.p == 3 && (info.Ridge != 1e-10 || info.ValRelErr > 1e-6) {
			t.Errorf("degree 3 refit %v: chose ridge %g with validation error %g", c.refit, info.Ridge, info.ValRelErr)
		}
	}
}

// TestFitMatchesDirectSolve rebuilds the standardised features from the
// exponents (not from Eval), solves the normal equations with LU and
// compares predictions. Relative ridge 1e-3 on unit-variance features
// keeps the condition number below ~1e4: agreement to 1e-9 of the label
// scale.
func TestFitMatchesDirectSolve(t *testing.T) {
	const n, d, p, lambda = 80, 3, 3, 1e-3
	f := func(x []float64) float64 { return math.Sin(x[0]) + x[1]*x[2] }
	x, y := data(n, d, 3, f)
	xt, _ := data(20, d, 4, f)
	m, info, err := Fit(context.Background(), x, y, Config{Degree: p, Ridges: []float64{lambda}})
	if err != nil {
		t.Fatal(err)
	}
	if info.NFit != n || info.NVal != 0 {
		t.Fatalf("info %+v", info.Info)
	}
	b, _ := NewBasis(d, p, 0)
	F := b.Len() - 1
	raw := func(r []float64) []float64 {
		v := make([]float64, F)
		for tt := 1; tt <= F; tt++ {
			prod := 1.0
			for i, e := range b.Exponent(tt) {
				prod *= math.Pow(r[i], float64(e))
			}
			v[tt-1] = prod
		}
		return v
	}
	phi := mat.NewDense(n, F, nil)
	for i := 0; i < n; i++ {
		phi.SetRow(i, raw(x.RawRowView(i)))
	}
	mu, sd := make([]float64, F), make([]float64, F)
	for j := 0; j < F; j++ {
		col := mat.Col(nil, j, phi)
		mu[j], sd[j] = stat.PopMeanVariance(col, nil)
		sd[j] = math.Sqrt(sd[j])
		for i := 0; i < n; i++ {
			phi.Set(i, j, (phi.At(i, j)-mu[j])/sd[j])
		}
	}
	var a mat.Dense
	a.Mul(phi.T(), phi)
	var tr float64
	for j := 0; j < F; j++ {
		tr += a.At(j, j)
	}
	for j := 0; j < F; j++ {
		a.Set(j, j, a.At(j, j)+lambda*tr/float64(F))
	}
	ybar, yv := stat.PopMeanVariance(y, nil)
	yc := make([]float64, n)
	for i := range y {
		yc[i] = y[i] - ybar
	}
	var rhs, w mat.VecDense
	rhs.MulVec(phi.T(), mat.NewVecDense(n, yc))
	if err := w.SolveVec(&a, &rhs); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Predict(xt)
	for i := range got {
		v := raw(xt.RawRowView(i))
		want := ybar
		for j := range v {
			want += w.AtVec(j) * (v[j] - mu[j]) / sd[j]
		}
		if math.Abs(got[i]-want) > 1e-9*math.Sqrt(yv) {
			t.Errorf("query %d: %v, direct solve %v", i, got[i], want)
		}
	}
}

func TestFitRefusals(t *testing.T) {
	x, y := data(50, 16, 1, func(x []float64) float64 { return x[0] })
	_, _, err := Fit(context.Background(), x, y, Config{Degree: 8, MaxFeatures: 20000, Ridges: []float64{1}})
	if err == nil || !strings.Contains(err.Error(), "exceed the limit of 20000 features") {
		t.Errorf("degree 8 in d = 16 with 20000 features allowed: err = %v", err)
	}
	_, _, err = Fit(context.Background(), x, y, Config{Degree: 2, Ridges: []float64{1}, MemBudget: 1000})
	if !errors.Is(err, ErrMemory) || !strings.Contains(err.Error(), "n = 50 and 153 features") {
		t.Errorf("memory guard: err = %v", err)
	}
	_, _, err = Fit(context.Background(), x, y[:10], Config{Degree: 2, Ridges: []float64{1}})
	if err == nil || !strings.Contains(err.Error(), "50 inputs, 10 labels") {
		t.Errorf("label count: err = %v", err)
	}
}

func BenchmarkFitD16P4N4096(b *testing.B) {
	x, y := data(4096, 16, 1, func(x []float64) float64 { return x[0]*x[1]*x[2]*x[3] + x[4] })
	for i := 0; i < b.N; i++ {
		if _, _, err := Fit(context.Background(), x, y, Config{Degree: 4, Ridges: []float64{1e-6, 1e-3, 1}, ValFrac: 0.2, Refit: true, Threads: 2}); err != nil {
			b.Fatal(err)
		}
	}
}

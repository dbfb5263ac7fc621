package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func randn(r *rand.Rand, n, k int) *mat.Dense {
	m := mat.NewDense(n, k, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			m.Set(i, j, r.NormFloat64())
		}
	}
	return m
}

// randOrth returns a Haar-ish random orthogonal matrix (Q of a Gaussian QR).
func randOrth(r *rand.Rand, k int) *mat.Dense {
	var qr mat.QR
	qr.Factorize(randn(r, k, k))
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

func mul(a, b mat.Matrix) *mat.Dense {
	var c mat.Dense
	c.Mul(a, b)
	return &c
}

func scaled(c float64, a mat.Matrix) *mat.Dense {
	var s mat.Dense
	s.Scale(c, a)
	return &s
}

// directError evaluates E||U s - s*||^2 / E||s*||^2 for a given U.
func directError(S, Sstar, U *mat.Dense) float64 {
	var d mat.Dense
	d.Mul(S, U.T())
	d.Sub(&d, Sstar)
	return frob2(&d) / frob2(Sstar)
}

// orthPerturbation returns E with columns orthogonal to the column space of
// Sstar and ||E||_F^2 = frac ||Sstar||_F^2. Then S = Sstar + E has
// S^T Sstar = Sstar^T Sstar (positive semi-definite), so U = I is optimal
// and eps = frac exactly.
func orthPerturbation(r *rand.Rand, Sstar *mat.Dense, frac float64) *mat.Dense {
	n, k := Sstar.Dims()
	G := randn(r, n, k)
	var qr mat.QR
	qr.Factorize(Sstar)
	var q mat.Dense
	qr.QTo(&q)
	Q := q.Slice(0, n, 0, k)
	proj := mul(Q, mul(Q.T(), G))
	var E mat.Dense
	E.Sub(G, proj)
	return scaled(math.Sqrt(frac*frob2(Sstar)/frob2(&E)), &E)
}

func TestFeatureErrorConstructed(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 500
	S3 := randn(r, n, 3)
	S1 := randn(r, n, 1)
	Q := randOrth(r, 3)
	reflect := mat.NewDiagDense(3, []float64{-1, 1, 1})
	perm := mat.NewDense(3, 3, []float64{0, 1, 0, 0, 0, 1, 1, 0, 0})
	pert := orthPerturbation(r, S3, 0.1)
	var withPert mat.Dense
	withPert.Add(S3, pert)
	tests := []struct {
		name     string
		S, Sstar *mat.Dense
		want     float64
		detU     float64 // expected det(U), 0 = do not check
	}{
		{"identical", S3, S3, 0, 1},
		{"rotated", mul(S3, Q), S3, 0, 0},
		{"reflected", mul(S3, reflect), S3, 0, -1},
		{"rotated and reflected", mul(mul(S3, reflect), Q), S3, 0, 0},
		{"permuted", mul(S3, perm), S3, 0, 0},
		{"half size", scaled(0.5, S3), S3, 0.25, 1},
		{"double size", scaled(2, S3), S3, 1, 1},
		{"negated triple, rotated", mul(scaled(-3, S3), Q), S3, 4, 0},
		{"zero features", mat.NewDense(n, 3, nil), S3, 1, 0},
		{"orthogonal perturbation 0.1", &withPert, S3, 0.1, 1},
		{"orthogonal perturbation 0.1, rotated", mul(&withPert, Q), S3, 0.1, 0},
		{"k=1 negated double", scaled(-2, S1), S1, 1, -1},
		{"k=1 identical", S1, S1, 0, 1},
	}
	for _, tc := range tests {
		eps, U := FeatureError(tc.S, tc.Sstar)
		// eps = (||S||^2 + ||S*||^2 - 2 tr Sigma)/||S*||^2 cancels sums
		// of 500 terms of size ~1: rounding error ~1e-13, tolerance 1e-10.
		if math.Abs(eps-tc.want) > 1e-10 {
			t.Errorf("%s: eps = %.15g, want %g", tc.name, eps, tc.want)
			continue
		}
		k, _ := U.Dims()
		var utu mat.Dense
		utu.Mul(U.T(), U)
		if !mat.EqualApprox(&utu, eye(k), 1e-12) {
			t.Errorf("%s: U is not orthogonal: U^T U = %v", tc.name, mat.Formatted(&utu))
		}
		if tc.detU != 0 && math.Abs(mat.Det(U)-tc.detU) > 1e-12 {
			t.Errorf("%s: det U = %v, want %v", tc.name, mat.Det(U), tc.detU)
		}
		// The returned U attains eps when applied directly.
		if d := directError(tc.S, tc.Sstar, U); math.Abs(d-eps) > 1e-10 {
			t.Errorf("%s: U gives error %.15g directly, FeatureError says %.15g", tc.name, d, eps)
		}
	}
}

func eye(k int) *mat.Dense {
	m := mat.NewDense(k, k, nil)
	for i := 0; i < k; i++ {
		m.Set(i, i, 1)
	}
	return m
}

// TestFeatureErrorIsMinimum compares against brute force: for k = 2, a fine
// grid over all rotations and reflections (step 2 pi / 2e5, so the grid
// minimum exceeds the true one by at most ~ (step/2)^2 * |second
// derivative| ~ 1e-9 relative); for k = 3, random orthogonal matrices never
// beat FeatureError.
func TestFeatureErrorIsMinimum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 5; trial++ {
		S, Sstar := randn(r, 50, 2), randn(r, 50, 2)
		// Correlate them a little so the minimum is not flat.
		S.Add(S, scaled(0.5*float64(trial), Sstar))
		eps, _ := FeatureError(S, Sstar)
		M := mul(S.T(), Sstar)
		ss, tt := frob2(S), frob2(Sstar)
		best := math.Inf(1)
		const steps = 200000
		for i := 0; i < steps; i++ {
			th := 2 * math.Pi * float64(i) / steps
			c, s := math.Cos(th), math.Sin(th)
			for _, sign := range []float64{1, -1} {
				// U = [[c, -s], [sign*s, sign*c]]: rotations and reflections.
				tr := c*M.At(0, 0) - s*M.At(1, 0) + sign*(s*M.At(0, 1)+c*M.At(1, 1))
				best = min(best, (ss+tt-2*tr)/tt)
			}
		}
		if eps > best+1e-12 || best-eps > 1e-8 {
			t.Errorf("trial %d: FeatureError %.12g, brute-force minimum %.12g", trial, eps, best)
		}
	}
	S, Sstar := randn(r, 100, 3), randn(r, 100, 3)
	eps, _ := FeatureError(S, Sstar)
	for i := 0; i < 2000; i++ {
		if d := directError(S, Sstar, randOrth(r, 3)); d < eps-1e-12 {
			t.Fatalf("a random orthogonal U gives %.12g < FeatureError %.12g", d, eps)
		}
	}
}

func TestFeatureErrorDegenerate(t *testing.T) {
	S := mat.NewDense(3, 2, []float64{1, 2, 3, 4, 5, math.NaN()})
	ok := mat.NewDense(3, 2, []float64{1, 2, 3, 4, 5, 6})
	for _, tc := range []struct {
		name     string
		S, Sstar *mat.Dense
	}{
		{"NaN in S", S, ok},
		{"NaN in S*", ok, S},
		{"zero S*", ok, mat.NewDense(3, 2, nil)},
	} {
		if eps, U := FeatureError(tc.S, tc.Sstar); !math.IsNaN(eps) || U != nil {
			t.Errorf("%s: FeatureError = %v, %v; want NaN, nil", tc.name, eps, U)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("FeatureError of mismatched shapes did not panic")
		}
	}()
	FeatureError(ok, mat.NewDense(3, 3, nil))
}

func TestQuadFormError(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 400
	Sstar := randn(r, n, 3)
	q := rowSqNorms(Sstar)
	// Independent reference for S = c S*: E[(c^2-1)^2 q^2] / Var(q).
	var m1, m2 float64
	for _, v := range q {
		m1 += v / n
		m2 += v * v / n
	}
	scaledWant := func(c float64) float64 { return (c*c - 1) * (c*c - 1) * m2 / (m2 - m1*m1) }
	constant := mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		constant.Set(i, 0, math.Sqrt(m1))
	}
	wider := mat.NewDense(n, 4, nil)
	wider.Slice(0, n, 1, 4).(*mat.Dense).Copy(Sstar)
	tests := []struct {
		name string
		S    *mat.Dense
		want float64
	}{
		{"identical", Sstar, 0},
		{"rotated", mul(Sstar, randOrth(r, 3)), 0},
		{"padded with a zero column", wider, 0},
		{"constant predictor E||s*||^2", constant, 1},
		{"scaled 0.5", scaled(0.5, Sstar), scaledWant(0.5)},
		{"scaled -2", scaled(-2, Sstar), scaledWant(-2)},
	}
	for _, tc := range tests {
		// Ratios of sums of 400 O(1) terms: relative rounding ~1e-13.
		if got := QuadFormError(tc.S, Sstar); math.Abs(got-tc.want) > 1e-10*(1+tc.want) {
			t.Errorf("%s: QuadFormError = %.15g, want %.15g", tc.name, got, tc.want)
		}
	}
	twos := mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		twos.Set(i, 0, 2)
	}
	if got := QuadFormError(Sstar, twos); !math.IsNaN(got) {
		t.Errorf("QuadFormError against constant-norm S* = %v, want NaN", got)
	}
}

func TestQuantile(t *testing.T) {
	x := []float64{3, 1, 4, 2}
	tests := []struct {
		x    []float64
		q    float64
		want float64
	}{
		// Reference values: numpy.quantile(x, q) (type 7).
		{x, 0, 1}, {x, 0.1, 1.3}, {x, 0.25, 1.75}, {x, 0.5, 2.5}, {x, 0.9, 3.7}, {x, 1, 4},
		{[]float64{5}, 0.3, 5},
		{[]float64{2, -1, 7}, 0.5, 2},
		{[]float64{1, 1, 2, 10}, 0.75, 4},
		{nil, 0.5, math.NaN()},
		{x, -0.1, math.NaN()},
		{x, 1.1, math.NaN()},
		{[]float64{1, math.NaN()}, 0.5, math.NaN()},
	}
	for _, tc := range tests {
		got := Quantile(tc.x, tc.q)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
			t.Errorf("Quantile(%v, %v) = %v, want %v", tc.x, tc.q, got, tc.want)
		}
	}
	if !slices.Equal(x, []float64{3, 1, 4, 2}) {
		t.Errorf("Quantile modified its input: %v", x)
	}
	for _, tc := range []struct {
		x    []float64
		want float64
	}{{[]float64{9, 1, 5}, 5}, {[]float64{9, 1, 5, 3}, 4}, {[]float64{-2}, -2}} {
		if got := Median(tc.x); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// TestBootstrapCI: for the mean of n = 400 N(0,1) draws the 95% interval
// must have width close to 2 * 1.96/sqrt(n) = 0.196 (sampling noise of
// the sample sd at n = 400 is ~3.5%, of the B = 4000 percentile estimate
// a few %, so 15% is a safe tolerance) and contain the sample mean.
func TestBootstrapCI(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]float64, 400)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	lo, hi := BootstrapCI(x, mean, 0.95, 4000, 1)
	if m := mean(x); !(lo < m && m < hi) {
		t.Errorf("interval [%v, %v] misses the sample mean %v", lo, hi, m)
	}
	if w, want := hi-lo, 2*1.96/20.0; math.Abs(w/want-1) > 0.15 {
		t.Errorf("interval width %v, want %v within 15%%", w, want)
	}
	lo2, hi2 := BootstrapCI(x, mean, 0.95, 4000, 1)
	lo3, hi3 := BootstrapCI(x, mean, 0.95, 4000, 2)
	if lo2 != lo || hi2 != hi {
		t.Errorf("same seed gave [%v, %v] then [%v, %v]", lo, hi, lo2, hi2)
	}
	if lo3 == lo && hi3 == hi {
		t.Error("seeds 1 and 2 gave identical intervals")
	}
	if lo, hi := BootstrapCI([]float64{2, 2, 2}, Median, 0.9, 100, 1); lo != 2 || hi != 2 {
		t.Errorf("constant data: interval [%v, %v], want [2, 2]", lo, hi)
	}
	for _, bad := range []struct {
		x     []float64
		level float64
		B     int
	}{{nil, 0.9, 10}, {x, 0, 10}, {x, 1, 10}, {x, 0.9, 0}} {
		if lo, hi := BootstrapCI(bad.x, mean, bad.level, bad.B, 1); !math.IsNaN(lo) || !math.IsNaN(hi) {
			t.Errorf("BootstrapCI(len %d, level %v, B %d) = [%v, %v], want NaNs", len(bad.x), bad.level, bad.B, lo, hi)
		}
	}
}

func BenchmarkFeatureError(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	S, Sstar := randn(r, 5000, 3), randn(r, 5000, 3)
	for b.Loop() {
		FeatureError(S, Sstar)
	}
}

func TestRelErr(t *testing.T) {
	y := []float64{1, 2, 3, 4} // mean 2.5, sum of squares about the mean 5
	tests := []struct {
		name    string
		pred, y []float64
		want    float64 // NaN: an error is expected
	}{
		{"perfect", y, y, 0},
		{"constant mean", []float64{2.5, 2.5, 2.5, 2.5}, y, 1},
		{"off by one", []float64{2, 3, 4, 5}, y, 4.0 / 5},
		{"zero", []float64{0, 0, 0, 0}, y, 30.0 / 5},
		{"mismatch", []float64{1}, y, math.NaN()},
		{"empty", nil, nil, math.NaN()},
		{"constant labels", []float64{1, 1}, []float64{3, 3}, math.NaN()},
	}
	for _, tc := range tests {
		got, err := RelErr(tc.pred, tc.y)
		if math.IsNaN(tc.want) {
			if err == nil {
				t.Errorf("%s: RelErr = %v, want an error", tc.name, got)
			}
			continue
		}
		// Sums of a few exactly representable terms: exact up to one rounding.
		if err != nil || math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: RelErr = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestShareRecovered(t *testing.T) {
	for _, tc := range []struct {
		name          string
		from, mid, to []float64
		log           bool
		want          float64
	}{
		{"half way", []float64{1, 2, 3}, []float64{0.5, 1, 1.5}, []float64{0, 0, 0}, false, 0.5},
		{"medians of the paired differences", []float64{4, 4, 4}, []float64{3, 1, 4}, []float64{0, 2, 1}, false, 1.0 / 3},
		{"log: one decade of two", []float64{1e-2, 1e-1}, []float64{1e-3, 1e-2}, []float64{1e-4, 1e-3}, true, 0.5},
		{"no improvement", []float64{1, 1}, []float64{1, 1}, []float64{1, 1}, false, math.NaN()},
		{"lengths differ", []float64{1, 1}, []float64{1}, []float64{1, 1}, false, math.NaN()},
	} {
		f := ShareRecovered
		if tc.log {
			f = LogShareRecovered
		}
		got := f(tc.from, tc.mid, tc.to)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

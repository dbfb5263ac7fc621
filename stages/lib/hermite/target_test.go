package hermite

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat"
)

// sources returns J_l for the three connection modes of the target stage.
func sources(mode string, L int) [][]int {
	out := make([][]int, L+1)
	for l := 2; l <= L; l++ {
		switch mode {
		case "chain":
			out[l] = []int{l - 1}
		case "skip0":
			out[l] = []int{l - 1, 0}
		case "dense":
			for j := l - 1; j >= 0; j-- {
				out[l] = append(out[l], j)
			}
		}
	}
	return out
}

// randomTarget draws N(0,1) raw weights and α_l = gap^(l−2).
func randomTarget(d, k, L int, mode string, center bool, gap float64, seed uint64) *Target {
	r := rand.New(rand.NewPCG(seed, 7))
	t := &Target{D: d, K: k, L: L, Sources: sources(mode, L), Center1: center,
		Alpha: make([]float64, L+1), W: make([][][]float64, L+1)}
	for l := 2; l <= L; l++ {
		t.Alpha[l] = math.Pow(gap, float64(l-2))
		for _, j := range t.Sources[l] {
			dim := k
			if j <= 1 {
				dim = d
			}
			w := make([]float64, k*dim)
			for i := range w {
				w[i] = r.NormFloat64()
			}
			t.W[l] = append(t.W[l], w)
		}
	}
	return t
}

// forward evaluates S*_0..S*_L at x pointwise, plain loops over the raw
// weights times scale[l][r] (layers above upTo are left nil). It shares
// no code with the algebra.
func forward(t *Target, scale [][]float64, x []float64, upTo int) [][]float64 {
	s := make([][]float64, t.L+1)
	s[0] = x
	s[1] = make([]float64, t.D)
	for i, v := range x {
		if t.Center1 {
			s[1][i] = (v*v - 1) / math.Sqrt2
		} else {
			s[1][i] = v * v
		}
	}
	for l := 2; l <= upTo; l++ {
		s[l] = make([]float64, t.K)
		for i, j := range t.Sources[l] {
			in := s[j]
			for r := range t.K {
				row := t.W[l][i][r*len(in) : (r+1)*len(in)]
				for c, v := range in {
					if j >= 2 {
						v *= v
					}
					s[l][r] += row[c] * v
				}
			}
		}
		for r := range s[l] {
			s[l][r] *= scale[l][r]
		}
	}
	return s
}

// grid is a tensor Gauss-Hermite rule for N(0, I_d): n nodes per
// variable from gonum's rule for the weight e^{-t²} (z = √2 t, w/√π).
type grid struct {
	d, n   int
	z, w   []float64
	points int
}

func newGrid(d, n int) *grid {
	g := &grid{d: d, n: n, z: make([]float64, n), w: make([]float64, n), points: 1}
	quad.Hermite{}.FixedLocations(g.z, g.w, math.Inf(-1), math.Inf(1))
	for i := range g.z {
		g.z[i] *= math.Sqrt2
		g.w[i] /= math.Sqrt(math.Pi)
	}
	for range d {
		g.points *= n
	}
	return g
}

// node returns the point p's node indices, coordinates and weight.
func (g *grid) node(p int, idx []int, x []float64) float64 {
	w := 1.0
	for i := range g.d {
		idx[i] = p % g.n
		p /= g.n
		x[i] = g.z[idx[i]]
		w *= g.w[idx[i]]
	}
	return w
}

// quadResult is what the quadrature check computes, independently of
// the algebra: the normalisation layer by layer, row means, term means
// and covariances, and the degree spectrum of G* from its Hermite
// coefficients c_β = E[G* He_β]/β! for every |β| <= 2^L.
type quadResult struct {
	scale, rowMean [][]float64
	termMean       []float64
	cov            [][]float64
	spectrum       []float64
}

// quadrature computes them with n nodes per variable; normalise rescales
// every row to unit variance (as Analyze does), else the weights are
// taken as given (Options.AsGiven).
func quadrature(t *Target, n int, normalise bool) *quadResult {
	g := newGrid(t.D, n)
	L, K := t.L, t.K
	res := &quadResult{scale: make([][]float64, L+1), rowMean: make([][]float64, L+1),
		termMean: make([]float64, L+1), cov: make([][]float64, L+1)}
	idx, x := make([]int, t.D), make([]float64, t.D)
	for l := 2; l <= L; l++ {
		res.scale[l] = make([]float64, K)
		for r := range res.scale[l] {
			res.scale[l][r] = 1
		}
		m1, m2 := make([]float64, K), make([]float64, K)
		for p := range g.points {
			w := g.node(p, idx, x)
			for r, v := range forward(t, res.scale, x, l)[l] {
				m1[r] += w * v
				m2[r] += w * v * v
			}
		}
		res.rowMean[l] = make([]float64, K)
		for r := range K {
			if normalise {
				res.scale[l][r] = 1 / math.Sqrt(m2[r]-m1[r]*m1[r])
			}
			res.rowMean[l][r] = m1[r] * res.scale[l][r]
		}
	}
	// Terms T_l at every node, their means and covariances, and G*.
	terms := make([][]float64, g.points)
	gv := make([]float64, g.points)
	wts := make([]float64, g.points)
	for p := range g.points {
		wts[p] = g.node(p, idx, x)
		s := forward(t, res.scale, x, L)
		terms[p] = make([]float64, L+1)
		for l := 2; l <= L; l++ {
			for _, v := range s[l] {
				terms[p][l] += t.Alpha[l] * v * v
			}
			res.termMean[l] += wts[p] * terms[p][l]
		}
	}
	var mean float64
	for l := 2; l <= L; l++ {
		mean += res.termMean[l]
		res.cov[l] = make([]float64, L+1)
	}
	for p := range g.points {
		for a := 2; a <= L; a++ {
			for b := 2; b <= L; b++ {
				res.cov[a][b] += wts[p] * (terms[p][a] - res.termMean[a]) * (terms[p][b] - res.termMean[b])
			}
			gv[p] += terms[p][a]
		}
		gv[p] -= mean
	}
	// Hermite coefficients of G*, multi-index by multi-index.
	D := 1 << L
	he := make([][]float64, n)
	for k, z := range g.z {
		he[k] = hermiteAt(z, D)
	}
	res.spectrum = make([]float64, D+1)
	beta := make([]int, t.D)
	var rec func(i, left int)
	rec = func(i, left int) {
		if i == t.D {
			var c float64
			for p := range g.points {
				v := wts[p] * gv[p]
				q := p
				for j := range t.D {
					v *= he[q%n][beta[j]]
					q /= n
				}
				c += v
			}
			f, deg := 1.0, 0
			for _, b := range beta {
				f *= fact(b)
				deg += b
			}
			c /= f
			res.spectrum[deg] += c * c * f
			return
		}
		for e := 0; e <= left; e++ {
			beta[i] = e
			rec(i+1, left-e)
		}
		beta[i] = 0
	}
	rec(0, D)
	return res
}

func mustAnalyze(t *testing.T, tg *Target, opt Options) *Result {
	t.Helper()
	res, err := Analyze(tg, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestAgainstQuadrature compares Analyze with tensor Gauss-Hermite
// quadrature on small targets. With n = 2^L + 1 nodes per variable the
// rule is exact for polynomials of degree 2n − 1 = 2^(L+1) + 1 in each
// variable, which covers every integrand used: S*_l² (degree <= 2^L),
// T_a T_b and G* He_β (degree <= 2^(L+1)). So the two computations
// agree up to rounding.
func TestAgainstQuadrature(t *testing.T) {
	for _, tc := range []struct {
		name       string
		d, k, L    int
		mode       string
		center     bool
		gap        float64
		seed       uint64
		nodesPerDi int
	}{
		{"L2-chain", 3, 2, 2, "chain", true, 1, 1, 5},
		{"L2-skip0-uncentred", 3, 3, 2, "skip0", false, 1, 2, 5},
		{"L3-skip0", 3, 2, 3, "skip0", true, 0.3, 3, 9},
		{"L3-dense-uncentred", 2, 3, 3, "dense", false, 0.5, 4, 9},
		{"L3-chain", 2, 2, 3, "chain", true, 0.3, 5, 9},
		{"L4-skip0", 2, 2, 4, "skip0", true, 0.3, 6, 17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.nodesPerDi != 1<<tc.L+1 {
				t.Fatalf("%d nodes per variable, the rule needs 2^L+1 = %d", tc.nodesPerDi, 1<<tc.L+1)
			}
			tg := randomTarget(tc.d, tc.k, tc.L, tc.mode, tc.center, tc.gap, tc.seed)
			got := mustAnalyze(t, tg, Options{})
			want := quadrature(tg, tc.nodesPerDi, true)
			const tol = 1e-9
			for l := 2; l <= tc.L; l++ {
				for r := range tc.k {
					if !closeTo(got.Scale[l][r], want.scale[l][r], tol) || !closeTo(got.RowMean[l][r], want.rowMean[l][r], tol) {
						t.Errorf("layer %d row %d: scale %v mean %v, quadrature %v %v", l, r, got.Scale[l][r], got.RowMean[l][r], want.scale[l][r], want.rowMean[l][r])
					}
				}
				if !closeTo(got.TermMean[l], want.termMean[l], tol) {
					t.Errorf("E T_%d = %v, quadrature %v", l, got.TermMean[l], want.termMean[l])
				}
				for m := 2; m <= tc.L; m++ {
					if c := got.Cov(l, m); !closeTo(c, want.cov[l][m], tol) {
						t.Errorf("Cov(T_%d, T_%d) = %v, quadrature %v", l, m, c, want.cov[l][m])
					}
				}
			}
			v := got.Var()
			spec := got.Spectrum()
			for q := range spec {
				if math.Abs(spec[q]-want.spectrum[q]) > tol*v {
					t.Errorf("degree %d: %v, quadrature %v (Var %v)", q, spec[q], want.spectrum[q], v)
				}
			}
			var qv float64
			for a := 2; a <= tc.L; a++ {
				for b := 2; b <= tc.L; b++ {
					qv += want.cov[a][b]
				}
			}
			if !closeTo(v, qv, tol) {
				t.Errorf("Var G = %v, quadrature %v", v, qv)
			}
			var above float64
			for q := 1<<(tc.L-1) + 1; q < len(want.spectrum); q++ {
				above += want.spectrum[q]
			}
			if got := got.ShareAbove(1 << (tc.L - 1)); !closeTo(got, above/qv, tol) {
				t.Errorf("share above degree %d: %v, quadrature %v", 1<<(tc.L-1), got, above/qv)
			}
			for l := 2; l <= tc.L; l++ {
				var sum float64
				for _, s := range got.TermSpectrum(l) {
					sum += s
				}
				if !closeTo(sum, want.cov[l][l], tol) {
					t.Errorf("spectrum of T_%d sums to %v, quadrature Var T_%d = %v", l, sum, l, want.cov[l][l])
				}
			}
			if spec[1<<tc.L] == 0 {
				t.Errorf("no degree-%d part", 1<<tc.L)
			}
			// G() is the expansion itself: centred, with that variance, and
			// its value is the pointwise network.
			gp := got.G()
			if m := gp.Mean(); math.Abs(m) > 1e-12*got.Mean {
				t.Errorf("E G = %v", m)
			}
			x := []float64{0.3, -1.1, 0.8}[:tc.d]
			s := forward(tg, got.Scale, x, tc.L)
			pointwise := -got.Mean
			for l := 2; l <= tc.L; l++ {
				for _, v := range s[l] {
					pointwise += tg.Alpha[l] * v * v
				}
			}
			if e := gp.Eval(x); !closeTo(e, pointwise, 1e-10) {
				t.Errorf("G(x) = %v, pointwise %v", e, pointwise)
			}
		})
	}
}

// TestMonteCarlo checks a d = 8, L = 3 target against 10^6 Gaussian
// samples: row and term means, Var G*, a row's variance and Hermite
// coefficients of degrees 2 and 4 (E[G* He_β] = β! c_β). Every row has variance 1 after normalisation, so the sample
// mean of a row has standard error exactly 10^-3; the term means have the
// exact standard error √(Var T_l / n); the sample variance of G* and of a
// row use the empirical fourth moment, SE² = (m4 − s⁴)/n, and the
// coefficients the sample variance of G* He_β. Each check
// allows 5 standard errors (two-sided p ≈ 6e-7 each, under the CLT).
func TestMonteCarlo(t *testing.T) {
	if testing.Short() {
		t.Skip("10^6 samples")
	}
	tg := randomTarget(8, 3, 3, "skip0", true, 0.3, 11)
	res := mustAnalyze(t, tg, Options{})
	const n = 1_000_000
	r := rand.New(rand.NewPCG(12, 13))
	x := make([]float64, tg.D)
	var sum [4]float64 // Σ T_2, Σ T_3 at indices 2, 3
	var sumS float64   // Σ S*_{3,0}
	gs := make([]float64, n)
	s3 := make([]float64, n)
	// Hermite coefficients of G*: E[G* He_β] = β! c_β.
	betas := [][]int{{2, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 0, 0, 0, 0, 0, 0}, {2, 0, 2, 0, 0, 0, 0, 0}, {0, 3, 0, 1, 0, 0, 0, 0}}
	hb := make([][]float64, len(betas))
	for b := range hb {
		hb[b] = make([]float64, n)
	}
	for i := range n {
		for j := range x {
			x[j] = r.NormFloat64()
		}
		s := forward(tg, res.Scale, x, 3)
		var g float64
		for l := 2; l <= 3; l++ {
			var tl float64
			for _, v := range s[l] {
				tl += tg.Alpha[l] * v * v
			}
			sum[l] += tl
			g += tl
		}
		gs[i] = g - res.Mean
		s3[i] = s[3][0]
		for b, beta := range betas {
			v := gs[i]
			for j, e := range beta {
				v *= hermiteAt(x[j], e)[e]
			}
			hb[b][i] = v
		}
		sumS += s[3][0]
	}
	check := func(name string, got, want, se float64) {
		t.Helper()
		if math.Abs(got-want) > 5*se {
			t.Errorf("%s: Monte Carlo %.6g, exact %.6g, |diff| = %.3g SE", name, got, want, math.Abs(got-want)/se)
		} else {
			t.Logf("%s: Monte Carlo %.6g, exact %.6g (%.2f SE)", name, got, want, math.Abs(got-want)/se)
		}
	}
	check("E S*_{3,0}", sumS/n, res.RowMean[3][0], 1/math.Sqrt(n))
	check("E T_2", sum[2]/n, res.TermMean[2], math.Sqrt(res.Cov(2, 2)/n))
	check("E T_3", sum[3]/n, res.TermMean[3], math.Sqrt(res.Cov(3, 3)/n))
	// The sample variance and its standard error from the fourth moment.
	sampleVar := func(v []float64) (float64, float64) {
		m, m2 := stat.PopMeanVariance(v, nil)
		m4 := stat.MomentAbout(4, v, m, nil)
		return m2, math.Sqrt((m4 - m2*m2) / float64(len(v)))
	}
	v, se := sampleVar(gs)
	check("Var G", v, res.Var(), se)
	gp := res.G()
	for b, beta := range betas {
		var m float64
		for _, v := range hb[b] {
			m += v
		}
		f := 1.0
		for _, e := range beta {
			f *= fact(e)
		}
		sv, _ := sampleVar(hb[b])
		check(fmt.Sprintf("E[G He_%v]", beta), m/n, f*gp.Coef(beta), math.Sqrt(sv/n))
	}
	v, se = sampleVar(s3)
	check("Var S*_{3,0}", v, 1, se)
}

// TestDeterminism: the expansion does not depend on Threads or
// GOMAXPROCS, bit for bit.
func TestDeterminism(t *testing.T) {
	tg := randomTarget(5, 3, 3, "dense", true, 0.3, 21)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ref := mustAnalyze(t, tg, Options{Threads: 1})
	runtime.GOMAXPROCS(4)
	for _, threads := range []int{2, 3, 8} {
		got := mustAnalyze(t, tg, Options{Threads: threads})
		for l := 2; l <= 3; l++ {
			if !got.U[l].Equal(ref.U[l], 0) {
				t.Errorf("threads=%d: U_%d differs", threads, l)
			}
		}
		checkSpectrum(t, "threads", got.Spectrum(), ref.Spectrum(), 0)
		if got.Mean != ref.Mean {
			t.Errorf("threads=%d: mean %v != %v", threads, got.Mean, ref.Mean)
		}
	}
}

// TestGamma: the per-degree quadratic in γ predicts a fresh expansion at
// α_3 = γ, and GammaForShare hits the requested share.
func TestGamma(t *testing.T) {
	tg := randomTarget(4, 3, 3, "skip0", true, 1, 31)
	res := mustAnalyze(t, tg, Options{})
	A, B, C, err := res.GammaQuadratic()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []float64{0.1, 0.3, 0.8} {
		tg.Alpha[3] = g
		fresh := mustAnalyze(t, tg, Options{}).Spectrum()
		want := make([]float64, len(A))
		for q := range A {
			want[q] = A[q] + 2*g*B[q] + g*g*C[q]
		}
		checkSpectrum(t, "quadratic in γ", want, fresh, 1e-12)
	}
	for _, share := range []float64{0.001, 0.01, 0.2} {
		g, err := res.GammaForShare(4, share)
		if err != nil {
			t.Fatal(err)
		}
		spec := res.SpectrumFor([]float64{0, 0, 1, g})
		if got := ShareAbove(spec, 4); !closeTo(got, share, 1e-10) {
			t.Errorf("γ = %v gives share %v above degree 4, want %v", g, got, share)
		}
	}
	if _, err := res.GammaForShare(4, 0.999999); err == nil {
		t.Error("a share above what γ → ∞ reaches: no error")
	}
	res4 := mustAnalyze(t, randomTarget(2, 2, 4, "chain", true, 0.3, 1), Options{})
	if _, _, _, err := res4.GammaQuadratic(); err == nil {
		t.Error("GammaQuadratic at L = 4: no error")
	}
}

// TestTooLarge: with a term limit below the top square, Analyze returns
// the normalisation and means (identical to a complete run) and a
// *TooLargeError; the moments that need U_L are NaN.
func TestTooLarge(t *testing.T) {
	tg := randomTarget(6, 3, 3, "skip0", true, 0.3, 41)
	full := mustAnalyze(t, tg, Options{})
	res, err := Analyze(tg, Options{MaxTerms: float64(full.Terms[2]) * 2})
	var tl *TooLargeError
	if !errors.As(err, &tl) || res == nil {
		t.Fatalf("err = %v, result %v; want a *TooLargeError and a partial result", err, res)
	}
	if !strings.Contains(err.Error(), "layer 3") || tl.Degree != 8 || tl.Terms < float64(full.Terms[3]) {
		t.Errorf("error %q (%+v), U_3 has %d terms", err, tl, full.Terms[3])
	}
	if res.Complete || res.Gram[3][3] != nil || !math.IsNaN(res.Var()) || !math.IsNaN(res.Cov(2, 3)) {
		t.Errorf("partial result claims U_3: complete %v, Var %v", res.Complete, res.Var())
	}
	if res.Mean != full.Mean || res.TermMean[3] != full.TermMean[3] || res.Cov(2, 2) != full.Cov(2, 2) {
		t.Errorf("partial means %v %v, Var T_2 %v; complete %v %v %v", res.Mean, res.TermMean[3], res.Cov(2, 2), full.Mean, full.TermMean[3], full.Cov(2, 2))
	}
	for r := range 3 {
		if res.Scale[3][r] != full.Scale[3][r] || res.RowMean[3][r] != full.RowMean[3][r] {
			t.Errorf("row %d: partial scale/mean differ from the complete run", r)
		}
	}
}

func TestBadTarget(t *testing.T) {
	ok := func() *Target { return randomTarget(3, 2, 3, "skip0", true, 0.3, 1) }
	for _, tc := range []struct {
		name  string
		edit  func(*Target)
		field string
	}{
		{"L", func(t *Target) { t.L = 1 }, "L >= 2"},
		{"sources length", func(t *Target) { t.Sources = t.Sources[:2] }, "Sources"},
		{"source above", func(t *Target) { t.Sources[3] = []int{3, 0} }, "Sources[3]"},
		{"duplicate source", func(t *Target) { t.Sources[3] = []int{2, 2} }, "Sources[3]"},
		{"blocks", func(t *Target) { t.W[2] = t.W[2][:1] }, "W[2]"},
		{"shape", func(t *Target) { t.W[3][1] = t.W[3][1][:5] }, "W[3][1]"},
		{"nan weight", func(t *Target) { t.W[2][0][1] = math.NaN() }, "W[2][0][1]"},
		{"alpha", func(t *Target) { t.Alpha[3] = math.Inf(1) }, "Alpha[3]"},
		{"zero row", func(t *Target) { clear(t.W[2][0][:3]); clear(t.W[2][1][:3]) }, "layer 2 row 0"},
	} {
		tg := ok()
		tc.edit(tg)
		res, err := Analyze(tg, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.field) || res != nil {
			t.Errorf("%s: err = %v, want one naming %q and no result", tc.name, err, tc.field)
		}
	}
}

// TestAsGiven: the weights of a normalised expansion, rescaled row by row
// by its Scale and expanded as given, give the same moments and spectrum
// (the rows' exact variances are then 1), and Scale is 1.
func TestAsGiven(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d, k, L int
		mode    string
	}{{"L2-skip0", 4, 2, 2, "skip0"}, {"L3-dense", 3, 3, 3, "dense"}} {
		t.Run(tc.name, func(t *testing.T) {
			tg := randomTarget(tc.d, tc.k, tc.L, tc.mode, true, 0.3, 11)
			norm := mustAnalyze(t, tg, Options{})
			scaled := *tg
			scaled.W = make([][][]float64, tc.L+1)
			for l := 2; l <= tc.L; l++ {
				for i := range tg.W[l] {
					n := len(tg.W[l][i]) / tc.k
					w := append([]float64(nil), tg.W[l][i]...)
					for e := range w {
						w[e] *= norm.Scale[l][e/n]
					}
					scaled.W[l] = append(scaled.W[l], w)
				}
			}
			got := mustAnalyze(t, &scaled, Options{AsGiven: true})
			const tol = 1e-12
			for l := 2; l <= tc.L; l++ {
				for r := range tc.k {
					if got.Scale[l][r] != 1 || !closeTo(got.RawVar[l][r], 1, tol) {
						t.Errorf("layer %d row %d: scale %v, raw variance %v, want 1 and 1", l, r, got.Scale[l][r], got.RawVar[l][r])
					}
				}
			}
			if !closeTo(got.Mean, norm.Mean, tol) {
				t.Errorf("mean %v, normalised expansion %v", got.Mean, norm.Mean)
			}
			want, spec := norm.Spectrum(), got.Spectrum()
			for q := range spec {
				if math.Abs(spec[q]-want[q]) > tol*norm.Var() {
					t.Errorf("degree %d: %v, normalised expansion %v", q, spec[q], want[q])
				}
			}
		})
	}
}

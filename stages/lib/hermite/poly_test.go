package hermite

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func mustSpace(t testing.TB, d, deg int) *Space {
	t.Helper()
	s, err := NewSpace(d, deg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustHe(t testing.TB, s *Space, i, n int) Poly {
	t.Helper()
	p, err := s.He(i, n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustMul(t testing.TB, p, o Poly) Poly {
	t.Helper()
	r, err := p.Mul(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustSquare(t testing.TB, p Poly) Poly {
	t.Helper()
	r, err := p.Square()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// linear is a·x = Σ a_i He_1(x_i).
func linear(t testing.TB, s *Space, a []float64) Poly {
	t.Helper()
	ps := make([]Poly, len(a))
	for i := range a {
		ps[i] = mustHe(t, s, i, 1)
	}
	return s.Combine(a, ps)
}

func fact(n int) float64 {
	f := 1.0
	for i := 2; i <= n; i++ {
		f *= float64(i)
	}
	return f
}

// closeTo reports |got − want| <= tol·max(1, |want|).
func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func checkSpectrum(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	for q := range max(len(got), len(want)) {
		var g, w float64
		if q < len(got) {
			g = got[q]
		}
		if q < len(want) {
			w = want[q]
		}
		if !closeTo(g, w, tol) {
			t.Errorf("%s: degree %d: got %.15g, want %.15g (tol %g)", name, q, g, w, tol)
		}
	}
}

// hermiteAt evaluates He_0..He_n at z by the three-term recurrence.
func hermiteAt(z float64, n int) []float64 {
	h := make([]float64, n+1)
	h[0] = 1
	if n > 0 {
		h[1] = z
	}
	for m := 1; m < n; m++ {
		h[m+1] = z*h[m] - float64(m)*h[m-1]
	}
	return h
}

func TestSingleHermite(t *testing.T) {
	s := mustSpace(t, 3, 10)
	for n := 0; n <= 10; n++ {
		p := mustHe(t, s, 1, n)
		want := make([]float64, 11)
		want[n] = fact(n)
		checkSpectrum(t, "He_n", p.Spectrum(), want, 0)
		if m := p.Mean(); (n == 0 && m != 1) || (n > 0 && m != 0) {
			t.Errorf("He_%d: mean %v", n, m)
		}
		if v, w := p.Variance(), want[n]*float64(min(n, 1)); v != w {
			t.Errorf("He_%d: variance %v, want %v", n, v, w)
		}
		if p.Degree() != n {
			t.Errorf("He_%d: degree %d", n, p.Degree())
		}
	}
}

func TestProducts(t *testing.T) {
	s := mustSpace(t, 3, 12)
	for _, tc := range []struct{ m, n int }{{0, 3}, {1, 1}, {2, 2}, {3, 5}, {4, 4}, {6, 6}} {
		// Different variables: one term He_m(x0) He_n(x2), E = m! n!.
		p := mustMul(t, mustHe(t, s, 0, tc.m), mustHe(t, s, 2, tc.n))
		want := make([]float64, 13)
		want[tc.m+tc.n] = fact(tc.m) * fact(tc.n)
		checkSpectrum(t, "He_m(x0)He_n(x2)", p.Spectrum(), want, 0)
		if p.Len() != 1 || p.Coef([]int{tc.m, 0, tc.n}) != 1 {
			t.Errorf("He_%d(x0)He_%d(x2) = %d terms, coefficient %v", tc.m, tc.n, p.Len(), p.Coef([]int{tc.m, 0, tc.n}))
		}
		// Same variable: the linearisation, checked term by term against
		// C(m,k) C(n,k) k!, and pointwise against the product of values.
		p = mustMul(t, mustHe(t, s, 1, tc.m), mustHe(t, s, 1, tc.n))
		for k := 0; k <= min(tc.m, tc.n); k++ {
			want := binom(tc.m, k) * binom(tc.n, k) * fact(k)
			if got := p.Coef([]int{0, tc.m + tc.n - 2*k, 0}); got != want {
				t.Errorf("He_%d He_%d: coefficient of He_%d = %v, want %v", tc.m, tc.n, tc.m+tc.n-2*k, got, want)
			}
		}
		if p.Len() != min(tc.m, tc.n)+1 {
			t.Errorf("He_%d He_%d has %d terms, want %d", tc.m, tc.n, p.Len(), min(tc.m, tc.n)+1)
		}
		for _, z := range []float64{-2.5, -0.3, 0.7, 1.9} {
			h := hermiteAt(z, 12)
			// Rounding error of the sum Σ_k c_k He_{m+n−2k}(z).
			var scale float64
			for k := 0; k <= min(tc.m, tc.n); k++ {
				scale += binom(tc.m, k) * binom(tc.n, k) * fact(k) * math.Abs(h[tc.m+tc.n-2*k])
			}
			if got, want := p.Eval([]float64{0.4, z, -1}), h[tc.m]*h[tc.n]; math.Abs(got-want) > 1e-14*scale {
				t.Errorf("He_%d He_%d at %v: %v, want %v", tc.m, tc.n, z, got, want)
			}
		}
	}
}

// TestMonomial builds x^n as He_1^n and compares with
// x^n = Σ_k n!/(k! (n−2k)! 2^k) He_{n−2k}, whose second moment is
// E x^{2n} = (2n−1)!!.
func TestMonomial(t *testing.T) {
	s := mustSpace(t, 2, 12)
	x := mustHe(t, s, 0, 1)
	p := s.Const(1)
	for n := 1; n <= 12; n++ {
		p = mustMul(t, p, x)
		want := make([]float64, 13)
		for k := 0; 2*k <= n; k++ {
			c := fact(n) / (fact(k) * fact(n-2*k) * math.Pow(2, float64(k)))
			want[n-2*k] = c * c * fact(n-2*k)
		}
		checkSpectrum(t, "x^n", p.Spectrum(), want, 1e-14)
		dfact := 1.0
		for m := 2*n - 1; m > 1; m -= 2 {
			dfact *= float64(m)
		}
		if got := p.SecondMoment(); !closeTo(got, dfact, 1e-14) {
			t.Errorf("E x^%d = %v, want %v", 2*n, got, dfact)
		}
	}
}

// TestRotations: for a·x ~ s^(1/2) z with s = ‖a‖², (a·x)^2 = s z²,
// (a·x)^4 = s² z⁴ and (a·x)^8 = s⁴ z⁸. Their spectra follow from
// z² = He_2 + 1, z⁴ = He_4 + 6He_2 + 3, z⁸ = He_8 + 28He_6 + 210He_4 +
// 420He_2 + 105, whatever the direction a: the algebra must see that the
// d-variable expansions are rotations of one-variable ones. Cross terms
// with b·x follow from E[He_n(z_a) He_n(z_b)] = n! ρ^n.
func TestRotations(t *testing.T) {
	s := mustSpace(t, 5, 8)
	a := []float64{0.3, -1.2, 0.5, 2, 0.1}
	b := []float64{1, 0.4, -0.7, 0, 0.9}
	var sa, sb, ab float64
	for i := range a {
		sa += a[i] * a[i]
		sb += b[i] * b[i]
		ab += a[i] * b[i]
	}
	a2 := mustSquare(t, linear(t, s, a))
	b2 := mustSquare(t, linear(t, s, b))
	a4, b4 := mustSquare(t, a2), mustSquare(t, b2)
	a8 := mustSquare(t, a4)
	s2, s4 := sa*sa, sa*sa*sa*sa
	tol := 1e-13
	checkSpectrum(t, "(a.x)^2", a2.Spectrum(), []float64{s2, 0, 2 * s2}, tol)
	checkSpectrum(t, "(a.x)^4", a4.Spectrum(), []float64{9 * s4, 0, 72 * s4, 0, 24 * s4}, tol)
	s8 := s4 * s4
	checkSpectrum(t, "(a.x)^8", a8.Spectrum(),
		[]float64{105 * 105 * s8, 0, 420 * 420 * 2 * s8, 0, 210 * 210 * 24 * s8, 0, 28 * 28 * 720 * s8, 0, 40320 * s8}, tol)
	checkSpectrum(t, "<(a.x)^2,(b.x)^2>", a2.InnerByDegree(b2), []float64{sa * sb, 0, 2 * ab * ab}, tol)
	checkSpectrum(t, "<(a.x)^4,(b.x)^4>", a4.InnerByDegree(b4),
		[]float64{9 * sa * sa * sb * sb, 0, 72 * sa * sb * ab * ab, 0, 24 * ab * ab * ab * ab}, tol)
	// The spectrum of A + γB is S_A + 2γ I_AB + γ² S_B per degree.
	for _, g := range []float64{-1.5, 0.3, 2} {
		sum := a4.AddScaled(g, b4).Spectrum()
		sA, sB, in := a4.Spectrum(), b4.Spectrum(), a4.InnerByDegree(b4)
		want := make([]float64, len(sum))
		for q := range want {
			want[q] = sA[q] + 2*g*in[q] + g*g*sB[q]
		}
		checkSpectrum(t, "A+gB", sum, want, 1e-12)
	}
	// Var((a.x)^4) = E z^8 s^4 − (3s²)² = 96 s^4; the projection above
	// degree 2 keeps only 24 s^4 of it.
	if v := a4.Variance(); !closeTo(v, 96*s4, tol) {
		t.Errorf("Var (a.x)^4 = %v, want %v", v, 96*s4)
	}
	if v := a4.Above(2).Variance(); !closeTo(v, 24*s4, tol) {
		t.Errorf("Var of (a.x)^4 above degree 2 = %v, want %v", v, 24*s4)
	}
	if m := a4.Mean(); !closeTo(m, 3*s2, tol) {
		t.Errorf("E (a.x)^4 = %v, want %v", m, 3*s2)
	}
}

// randomPoly is a polynomial with n random terms of degree <= deg in the
// first nv variables of s.
func randomPoly(s *Space, r *rand.Rand, n, nv, deg int) Poly {
	exps := make([][]int, n)
	coef := make([]float64, n)
	for t := range exps {
		e := make([]int, s.Dim())
		left := r.IntN(deg + 1)
		for left > 0 {
			e[r.IntN(nv)]++
			left--
		}
		exps[t], coef[t] = e, r.NormFloat64()
	}
	p, err := s.FromTerms(exps, coef)
	if err != nil {
		panic(err)
	}
	return p
}

// TestProductPointwise checks products of random polynomials against the
// product of their values, in one-word and multi-word key spaces, and
// checks that Square agrees with Mul and Mul commutes.
func TestProductPointwise(t *testing.T) {
	for _, tc := range []struct{ d, deg, nv int }{{3, 8, 3}, {12, 8, 12}, {40, 8, 40}, {64, 16, 9}, {6, 16, 6}} {
		s := mustSpace(t, tc.d, tc.deg)
		r := rand.New(rand.NewPCG(uint64(tc.d), uint64(tc.deg)))
		p := randomPoly(s, r, 30, tc.nv, tc.deg/2)
		o := randomPoly(s, r, 25, tc.nv, tc.deg/2)
		po, op := mustMul(t, p, o), mustMul(t, o, p)
		if !po.Equal(op, 1e-12) {
			t.Errorf("d=%d: p·o != o·p", tc.d)
		}
		if pp, sq := mustMul(t, p, p), mustSquare(t, p); !pp.Equal(sq, 1e-12) {
			t.Errorf("d=%d: p·p != Square(p)", tc.d)
		}
		x := make([]float64, tc.d)
		for range 5 {
			for i := range x {
				x[i] = 1.5 * r.NormFloat64()
			}
			got, want := po.Eval(x), p.Eval(x)*o.Eval(x)
			if math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
				t.Errorf("d=%d words=%d: (p·o)(x) = %v, p(x)o(x) = %v", tc.d, s.Words(), got, want)
			}
		}
	}
}

// TestEmbedding: the same polynomial in a one-word space (d = 3) and in a
// three-word one (d = 40, using the first 3 variables) has the same
// expansion; spectra agree bit for bit.
func TestEmbedding(t *testing.T) {
	small, large := mustSpace(t, 3, 8), mustSpace(t, 40, 8)
	if large.Words() < 2 {
		t.Fatalf("d = 40 at degree 8 should need several key words, has %d", large.Words())
	}
	a := []float64{0.5, -1, 2}
	ps := mustSquare(t, mustSquare(t, linear(t, small, a)).AddScaled(0.7, mustHe(t, small, 1, 3)))
	pl := mustSquare(t, mustSquare(t, linear(t, large, a)).AddScaled(0.7, mustHe(t, large, 1, 3)))
	checkSpectrum(t, "embedded", pl.Spectrum(), ps.Spectrum(), 0)
	if ps.Len() != pl.Len() {
		t.Errorf("%d terms in d=3, %d in d=40", ps.Len(), pl.Len())
	}
}

func TestAlgebra(t *testing.T) {
	s := mustSpace(t, 4, 6)
	r := rand.New(rand.NewPCG(1, 2))
	p, o := randomPoly(s, r, 20, 4, 3), randomPoly(s, r, 20, 4, 3)
	if z := p.AddScaled(-1, p); z.Len() != 0 {
		t.Errorf("p − p has %d terms", z.Len())
	}
	if !p.Add(o).Equal(s.Combine([]float64{1, 1}, []Poly{p, o}), 1e-15) {
		t.Error("Add and Combine disagree")
	}
	if !p.Scale(3).Equal(s.Combine([]float64{3}, []Poly{p}), 1e-15) {
		t.Error("Scale and Combine disagree")
	}
	x := []float64{0.3, -1, 2, 0.5}
	if got, want := p.AddScaled(-2.5, o).Eval(x), p.Eval(x)-2.5*o.Eval(x); !closeTo(got, want, 1e-12) {
		t.Errorf("(p − 2.5o)(x) = %v, want %v", got, want)
	}
	spec := p.Spectrum()
	var sum, above float64
	for q, v := range spec {
		sum += v
		if q > 2 {
			above += v
		}
	}
	if !closeTo(sum, p.SecondMoment(), 1e-13) || !closeTo(sum-spec[0], p.Variance(), 1e-13) {
		t.Errorf("spectrum sums to %v, second moment %v, variance+mean² %v", sum, p.SecondMoment(), p.Variance()+spec[0])
	}
	if got := p.Above(2).SecondMoment(); !closeTo(got, above, 1e-13) {
		t.Errorf("projection above degree 2 has second moment %v, want %v", got, above)
	}
	// p(x) − its projection above q0 has degree <= q0.
	if deg := p.AddScaled(-1, p.Above(2)).Degree(); deg > 2 {
		t.Errorf("p minus its part above degree 2 has degree %d", deg)
	}
}

func TestErrors(t *testing.T) {
	if _, err := NewSpace(0, 4); err == nil {
		t.Error("NewSpace(0, 4): no error")
	}
	if _, err := NewSpace(1000, 16); err == nil {
		t.Error("NewSpace(1000, 16): no error for a key of more than MaxWords words")
	}
	s := mustSpace(t, 3, 4)
	if _, err := s.He(3, 1); err == nil {
		t.Error("He of variable 3 in d = 3: no error")
	}
	if _, err := s.FromTerms([][]int{{1, 2, 3}}, []float64{1}); err == nil {
		t.Error("term of degree 6 in a degree-4 space: no error")
	}
	if _, err := s.FromTerms([][]int{{1, -1, 0}}, []float64{1}); err == nil {
		t.Error("negative exponent: no error")
	}
	h3 := mustHe(t, s, 0, 3)
	if _, err := h3.Mul(h3); err == nil {
		t.Error("degree 6 product in a degree-4 space: no error")
	}
	big := mustSpace(t, 16, 16)
	p4 := mustSquare(t, mustSquare(t, linear(t, big, make16(1)))) // (Σx_i)^4
	big.MaxTerms = 1000
	_, err := p4.Square() // degree 8 on up to 8 variables: CountBound ≈ 7e5
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("degree-8 square with MaxTerms = 1000: err = %v, want *TooLargeError", err)
	}
	if want := CountBound(16, 8, 8, false); tl.Terms != want || tl.Degree != 8 || tl.Limit != 1000 {
		t.Errorf("TooLargeError %+v, want %v terms at degree 8", tl, want)
	}
}

func make16(v float64) []float64 {
	a := make([]float64, 16)
	for i := range a {
		a[i] = v
	}
	return a
}

// TestCountBound compares CountBound with brute-force enumeration.
func TestCountBound(t *testing.T) {
	for _, tc := range []struct {
		d, deg, supp int
		even         bool
	}{{1, 4, 1, false}, {3, 4, 2, false}, {4, 6, 4, false}, {4, 8, 3, true}, {5, 5, 5, true}, {3, 0, 3, false}} {
		var n int
		var rec func(i, left, supp int, even bool)
		rec = func(i, left, supp int, even bool) {
			if i == tc.d {
				n++
				return
			}
			for e := 0; e <= left; e++ {
				if (tc.even && e%2 == 1) || (e > 0 && supp == 0) {
					continue
				}
				s := supp
				if e > 0 {
					s--
				}
				rec(i+1, left-e, s, even)
			}
		}
		rec(0, tc.deg, tc.supp, tc.even)
		if got := CountBound(tc.d, tc.deg, tc.supp, tc.even); got != float64(n) {
			t.Errorf("CountBound%+v = %v, brute force %d", tc, got, n)
		}
	}
}

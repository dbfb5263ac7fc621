package hermite

import (
	"fmt"
	"math"
)

// Poly is a polynomial Σ_β c_β He_β(x) of a Space: its terms sorted by
// packed key (the constant term, if any, first), with no zero
// coefficients. A Poly is a value: every operation returns a new one and
// never modifies its operands, so Polys may be shared by goroutines.
type Poly struct {
	sp   *Space
	keys []uint64 // len(coef) keys of sp.words words each, ascending
	coef []float64
}

// Zero is the zero polynomial of s.
func (s *Space) Zero() Poly { return Poly{sp: s} }

// Const is the constant polynomial c.
func (s *Space) Const(c float64) Poly {
	if c == 0 {
		return s.Zero()
	}
	return Poly{sp: s, keys: make([]uint64, s.words), coef: []float64{c}}
}

// He is the one-variable Hermite polynomial He_n(x_i).
func (s *Space) He(i, n int) (Poly, error) {
	if i < 0 || i >= s.d {
		return Poly{}, fmt.Errorf("hermite: variable %d outside 0..%d", i, s.d-1)
	}
	exps := make([]int, s.d)
	exps[i] = n
	return s.FromTerms([][]int{exps}, []float64{1})
}

// FromTerms is Σ_t coef[t] He_{exps[t]}; repeated multi-indices add up.
func (s *Space) FromTerms(exps [][]int, coef []float64) (Poly, error) {
	if len(exps) != len(coef) {
		return Poly{}, fmt.Errorf("hermite: %d multi-indices but %d coefficients", len(exps), len(coef))
	}
	acc := newAccum(s.words, len(exps))
	key := make([]uint64, s.words)
	for t, e := range exps {
		if err := s.encode(e, key); err != nil {
			return Poly{}, fmt.Errorf("hermite: term %d: %w", t, err)
		}
		acc.add(key, coef[t])
	}
	return acc.poly(s), nil
}

// Space is the space p belongs to (nil for the zero value Poly{}).
func (p Poly) Space() *Space { return p.sp }

// Len is the number of non-zero terms.
func (p Poly) Len() int { return len(p.coef) }

func (p Poly) key(t int) []uint64 { w := p.sp.words; return p.keys[t*w : (t+1)*w] }

// Term returns the multi-index and coefficient of term t (0 <= t < Len).
func (p Poly) Term(t int) (exps []int, c float64) {
	exps = make([]int, p.sp.d)
	p.sp.decode(p.key(t), exps)
	return exps, p.coef[t]
}

// Coef is the coefficient of He_β, zero if β is not a term (or not a
// multi-index of the space).
func (p Poly) Coef(beta []int) float64 {
	if p.sp == nil {
		return 0
	}
	key := make([]uint64, p.sp.words)
	if p.sp.encode(beta, key) != nil {
		return 0
	}
	if t, ok := p.find(key); ok {
		return p.coef[t]
	}
	return 0
}

func (p Poly) find(key []uint64) (int, bool) {
	lo, hi := 0, p.Len()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cmpKeys(p.key(m), key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < p.Len() && cmpKeys(p.key(lo), key) == 0
}

// Degree is the largest total degree of a term (0 for the zero polynomial).
func (p Poly) Degree() int {
	deg := 0
	for t := range p.coef {
		deg = max(deg, p.sp.keyDegree(p.key(t)))
	}
	return deg
}

// Mean is E[p(x)] under x ~ N(0, I): the coefficient of He_0 = 1.
func (p Poly) Mean() float64 {
	if p.Len() > 0 && p.sp.keyDegree(p.key(0)) == 0 {
		return p.coef[0]
	}
	return 0
}

// SecondMoment is E[p(x)²] = Σ_β c_β² β!.
func (p Poly) SecondMoment() float64 {
	var m float64
	for t, c := range p.coef {
		m += c * c * p.sp.keyFact(p.key(t))
	}
	return m
}

// Variance is Var p(x) = Σ_{β≠0} c_β² β!, summed without the mean (no
// cancellation against E[p]²).
func (p Poly) Variance() float64 {
	var v float64
	for t, c := range p.coef {
		if k := p.key(t); p.sp.keyDegree(k) > 0 {
			v += c * c * p.sp.keyFact(k)
		}
	}
	return v
}

// Spectrum is the degree spectrum of p: element q is
// Σ_{|β|=q} c_β² β! = E[(P_q p)²], for q = 0..MaxDegree of the space.
// Element 0 is Mean², the rest sum to the variance; the share of the
// variance carried by degree q >= 1 is Spectrum[q]/Variance.
func (p Poly) Spectrum() []float64 { return p.InnerByDegree(p) }

// InnerByDegree returns, for q = 0..MaxDegree, the inner product of the
// degree-q parts of p and o, Σ_{|β|=q} a_β b_β β! = E[P_q p · P_q o].
// The spectrum of p + γo is then S_p + 2γ·I + γ²·S_o degree by degree.
// It panics if p and o belong to different spaces (a programming error).
func (p Poly) InnerByDegree(o Poly) []float64 {
	sp := sameSpace(p, o)
	if sp == nil {
		return nil
	}
	out := make([]float64, sp.maxDeg+1)
	i, j := 0, 0
	for i < p.Len() && j < o.Len() {
		switch c := cmpKeys(p.key(i), o.key(j)); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			k := p.key(i)
			out[sp.keyDegree(k)] += p.coef[i] * o.coef[j] * sp.keyFact(k)
			i++
			j++
		}
	}
	return out
}

// Above is the projection of p onto degrees > q0 (the terms with
// |β| > q0); p minus it is the best L2(N(0, I)) approximation of p by a
// polynomial of degree <= q0.
func (p Poly) Above(q0 int) Poly {
	out := Poly{sp: p.sp}
	for t, c := range p.coef {
		if k := p.key(t); p.sp.keyDegree(k) > q0 {
			out.keys = append(out.keys, k...)
			out.coef = append(out.coef, c)
		}
	}
	return out
}

// Scale is a·p.
func (p Poly) Scale(a float64) Poly {
	if a == 0 || p.Len() == 0 {
		return Poly{sp: p.sp}
	}
	out := Poly{sp: p.sp, keys: p.keys, coef: make([]float64, len(p.coef))}
	for t, c := range p.coef {
		out.coef[t] = a * c
	}
	return out
}

// Add is p + o.
func (p Poly) Add(o Poly) Poly { return p.AddScaled(1, o) }

// AddScaled is p + a·o, by a merge of the sorted terms; terms that cancel
// exactly are dropped. It panics if p and o belong to different spaces.
func (p Poly) AddScaled(a float64, o Poly) Poly {
	sp := sameSpace(p, o)
	if sp == nil {
		return Poly{}
	}
	out := Poly{sp: sp, keys: make([]uint64, 0, len(p.keys)+len(o.keys)), coef: make([]float64, 0, p.Len()+o.Len())}
	push := func(k []uint64, c float64) {
		if c != 0 {
			out.keys = append(out.keys, k...)
			out.coef = append(out.coef, c)
		}
	}
	i, j := 0, 0
	for i < p.Len() || j < o.Len() {
		c := 0
		switch {
		case i == p.Len():
			c = 1
		case j == o.Len():
			c = -1
		default:
			c = cmpKeys(p.key(i), o.key(j))
		}
		switch {
		case c < 0:
			push(p.key(i), p.coef[i])
			i++
		case c > 0:
			push(o.key(j), a*o.coef[j])
			j++
		default:
			push(p.key(i), p.coef[i]+a*o.coef[j])
			i++
			j++
		}
	}
	return out
}

// Combine is Σ_i a[i]·ps[i], accumulated in the order of ps. It panics if
// the lengths differ or a polynomial belongs to another space (programming
// errors).
func (s *Space) Combine(a []float64, ps []Poly) Poly {
	if len(a) != len(ps) {
		panic(fmt.Sprintf("hermite: Combine of %d polynomials with %d weights", len(ps), len(a)))
	}
	n := 0
	for _, p := range ps {
		n += p.Len()
	}
	acc := newAccum(s.words, n)
	for i, p := range ps {
		if a[i] == 0 {
			continue
		}
		if p.sp != s && p.Len() > 0 {
			panic("hermite: Combine of a polynomial from another space")
		}
		for t, c := range p.coef {
			acc.add(p.key(t), a[i]*c)
		}
	}
	return acc.poly(s)
}

// Eval is p(x), evaluated term by term with the three-term recurrence
// He_{n+1}(z) = z He_n(z) − n He_{n−1}(z). It is meant for checks: it
// costs O(Len·d).
func (p Poly) Eval(x []float64) float64 {
	if p.sp == nil {
		return 0
	}
	D := p.sp.maxDeg + 1
	he := make([]float64, len(x)*D)
	for i, z := range x {
		h := he[i*D : (i+1)*D]
		h[0] = 1
		if D > 1 {
			h[1] = z
		}
		for n := 1; n+1 < D; n++ {
			h[n+1] = z*h[n] - float64(n)*h[n-1]
		}
	}
	exps := make([]int, p.sp.d)
	var v float64
	for t, c := range p.coef {
		p.sp.decode(p.key(t), exps)
		for i, e := range exps {
			if e > 0 {
				c *= he[i*D+e]
			}
		}
		v += c
	}
	return v
}

// Equal reports whether p and o have the same terms and |a_β − b_β| <=
// tol·max(1, |a_β|) for every β (tol = 0: bit for bit).
func (p Poly) Equal(o Poly, tol float64) bool {
	if p.Len() != o.Len() {
		return false
	}
	for t := range p.coef {
		if cmpKeys(p.key(t), o.key(t)) != 0 || math.Abs(p.coef[t]-o.coef[t]) > tol*math.Max(1, math.Abs(p.coef[t])) {
			return false
		}
	}
	return true
}

// sameSpace returns the common space of p and o (either may be the zero
// value); it panics on two different spaces.
func sameSpace(p, o Poly) *Space {
	switch {
	case p.sp == nil:
		return o.sp
	case o.sp == nil || o.sp == p.sp:
		return p.sp
	}
	panic("hermite: polynomials of different spaces")
}

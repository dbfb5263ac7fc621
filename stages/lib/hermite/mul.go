package hermite

import (
	"fmt"
	"math"
	"math/bits"
)

// TooLargeError is returned by Mul and Square (and wrapped by Analyze)
// when a product would have more terms than the space's MaxTerms.
type TooLargeError struct {
	Degree int     // total degree of the product
	Terms  float64 // upper bound on its number of terms (EstimateProduct)
	Limit  float64 // the space's MaxTerms
	Bytes  float64 // estimated peak memory of computing it
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("too large: the degree-%d product would have up to %.3g Hermite terms (up to %.3g GiB), above the limit of %.3g terms",
		e.Degree, e.Terms, e.Bytes/(1<<30), e.Limit)
}

// peakFactor is the memory of a product per result term in units of
// BytesPerTerm, by construction of accum (see BytesPerTerm).
const peakFactor = 5

// shape summarises a polynomial for EstimateProduct.
type shape struct {
	deg, supp int
	even      bool
}

func (p Poly) shape() shape {
	s := shape{even: true}
	for t := range p.coef {
		k := p.key(t)
		s.deg = max(s.deg, p.sp.keyDegree(k))
		s.supp = max(s.supp, p.sp.keySupport(k))
		s.even = s.even && p.sp.keyEven(k)
	}
	return s
}

// EstimateProduct bounds the number of terms of p·o by the smaller of two
// counts: the multi-indices of degree <= deg p + deg o with at most
// supp p + supp o non-zero exponents (supp: the most non-zero exponents
// of a term), all even when every exponent of p and of o is even
// (CountBound); and the pairs of terms times 2^min(deg p, deg o), the
// most terms one pair can yield (Π_i (m_i+1) <= 2^Σm_i). For the layered
// targets the first is the smaller, 3-6x the true count (their top
// degrees have even exponents only).
func (s *Space) EstimateProduct(p, o Poly) float64 {
	return s.estimate(p.shape(), o.shape(), p.Len(), o.Len())
}

func (s *Space) estimate(a, b shape, na, nb int) float64 {
	fill := CountBound(s.d, a.deg+b.deg, min(s.d, a.supp+b.supp), a.even && b.even)
	pairs := float64(na) * float64(nb) * math.Exp2(float64(min(a.deg, b.deg)))
	return min(fill, pairs)
}

// Mul is the product p·o. Per variable, He_m He_n = Σ_k C(m,k) C(n,k) k!
// He_{m+n−2k}; a pair of terms therefore yields Π_i (min(β_i, β'_i)+1)
// terms, one per choice of k_i on the variables both use. The pairs are
// visited in term order, so the result is the same bit for bit on every
// run. It fails if the degree exceeds the space's or the result would
// exceed MaxTerms (*TooLargeError), and panics on two different spaces.
func (p Poly) Mul(o Poly) (Poly, error) { return product(p, o, false) }

// Square is p·p, visiting each unordered pair of terms once.
func (p Poly) Square() (Poly, error) { return product(p, p, true) }

type mulState struct {
	acc   *accum
	key   []uint64
	lin   []float64
	D     int
	n     int      // shared variables of the current pair
	word  []int    // their key word,
	shift []uint   // bit shift
	a, b  []uint64 // and exponents in the two factors
}

func product(p, o Poly, square bool) (Poly, error) {
	sp := sameSpace(p, o)
	if p.Len() == 0 || o.Len() == 0 {
		return Poly{sp: sp}, nil
	}
	a, b := p.shape(), o.shape()
	if a.deg+b.deg > sp.maxDeg {
		return Poly{}, fmt.Errorf("product of degree %d exceeds the space's maximum degree %d", a.deg+b.deg, sp.maxDeg)
	}
	est := sp.estimate(a, b, p.Len(), o.Len())
	if est > sp.maxTerms() {
		return Poly{}, &TooLargeError{Degree: a.deg + b.deg, Terms: est, Limit: sp.maxTerms(),
			Bytes: est * float64(peakFactor*sp.BytesPerTerm())}
	}
	W := sp.words
	nzP := nonzeroMasks(p)
	nzO := nzP
	if !square {
		nzO = nonzeroMasks(o)
	}
	m := &mulState{acc: newAccum(W, int(est)), key: make([]uint64, W), lin: sp.lin, D: sp.maxDeg + 1,
		word: make([]int, sp.d), shift: make([]uint, sp.d), a: make([]uint64, sp.d), b: make([]uint64, sp.d)}
	mask := sp.fieldMask
	for i, ci := range p.coef {
		ki, nzi := p.key(i), nzP[i*W:(i+1)*W]
		j0 := 0
		if square {
			j0 = i
		}
		for j := j0; j < o.Len(); j++ {
			kj, nzj := o.key(j), nzO[j*W:(j+1)*W]
			c := ci * o.coef[j]
			if square && j != i {
				c *= 2
			}
			m.n = 0
			for w := range W {
				m.key[w] = ki[w] + kj[w]
				for s := nzi[w] & nzj[w]; s != 0; s &= s - 1 {
					t := uint(bits.TrailingZeros64(s))
					m.word[m.n], m.shift[m.n] = w, t
					m.a[m.n], m.b[m.n] = ki[w]>>t&mask, kj[w]>>t&mask
					m.n++
				}
			}
			m.expand(0, c)
		}
	}
	return m.acc.poly(sp), nil
}

// expand adds c·Π_{u>=t} C(a_u,k_u) C(b_u,k_u) k_u! He_{key − 2Σ k_u e_u}
// over every choice of k_u in 0..min(a_u, b_u) for the shared variables
// u = t..n−1.
func (m *mulState) expand(t int, c float64) {
	if t == m.n {
		m.acc.add(m.key, c)
		return
	}
	w, sh, a, b := m.word[t], m.shift[t], int(m.a[t]), int(m.b[t])
	orig := m.key[w]
	lin := m.lin[(a*m.D+b)*m.D:]
	last := t == m.n-1
	for k := 0; k <= min(a, b); k++ {
		m.key[w] = orig - uint64(2*k)<<sh
		if last {
			m.acc.add(m.key, c*lin[k])
		} else {
			m.expand(t+1, c*lin[k])
		}
	}
	m.key[w] = orig
}

// nonzeroMasks returns, for every term of p and key word, the mask of its
// non-zero fields (bit 0 of each).
func nonzeroMasks(p Poly) []uint64 {
	W := p.sp.words
	out := make([]uint64, p.Len()*W)
	for t := range p.coef {
		for w, v := range p.key(t) {
			out[t*W+w] = p.sp.nonzero(v, w)
		}
	}
	return out
}

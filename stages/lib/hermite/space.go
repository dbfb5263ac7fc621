package hermite

import (
	"fmt"
	"math"
	"math/bits"
)

// MaxWords bounds the key width: a multi-index of Space is packed into at
// most MaxWords 64-bit words (for example d = 64 at degree 16, 5 bits per
// exponent, needs 6 words).
const MaxWords = 8

// Space is the set of polynomials in d variables of total degree at most
// MaxDegree, written in the Hermite basis He_β. It fixes how a multi-index
// β is packed into an integer key: every exponent β_i gets a field of
// Bits bits, ⌊64/Bits⌋ fields to a word, as many words as d needs. Bits is
// the bit length of MaxDegree+1, so a field is never all ones; the key
// whose first word is all ones therefore marks an empty hash slot.
//
// A Space is immutable after NewSpace except for MaxTerms, and may be
// shared by goroutines.
type Space struct {
	d, maxDeg int
	bits      uint
	perWord   int
	words     int
	fieldMask uint64
	lowBits   [MaxWords]uint64 // bit 0 of every field in use, per word
	fact      []float64        // fact[n] = n!
	lin       []float64        // lin[(m*(D+1)+n)*(D+1)+k] = C(m,k) C(n,k) k!

	// MaxTerms bounds the number of terms a product may have: Mul and
	// Square bound the result's size before computing it (EstimateProduct)
	// and fail with a *TooLargeError above MaxTerms. Zero means
	// DefaultMaxTerms.
	MaxTerms float64
}

// DefaultMaxTerms is the product size refused when Space.MaxTerms is zero:
// 4 GB at 5 x 16 bytes a term (one-word keys, see BytesPerTerm) if the
// bound were attained. For the targets it is 3-6x the true count, and
// Analyze keeps k squares and their sum alive: the largest expansion
// measured under it, L = 4 at d = 12 (bound 2.7e7, 4.7e6 terms), peaked
// at 1.2 GiB.
const DefaultMaxTerms = 5e7

// NewSpace returns the space of polynomials in d >= 1 variables of degree
// at most maxDeg >= 0.
func NewSpace(d, maxDeg int) (*Space, error) {
	if d < 1 || maxDeg < 0 {
		return nil, fmt.Errorf("hermite space: need d >= 1 and degree >= 0, have d = %d, degree = %d", d, maxDeg)
	}
	if maxDeg > 170 {
		return nil, fmt.Errorf("hermite space: degree %d overflows the float64 factorials (at most 170)", maxDeg)
	}
	b := uint(bits.Len(uint(maxDeg + 1)))
	per := int(64 / b)
	w := (d + per - 1) / per
	if w > MaxWords {
		return nil, fmt.Errorf("hermite space: d = %d at degree %d needs %d key words (%d bits per exponent), more than %d", d, maxDeg, w, b, MaxWords)
	}
	s := &Space{d: d, maxDeg: maxDeg, bits: b, perWord: per, words: w, fieldMask: 1<<b - 1}
	for f := 0; f < d; f++ {
		s.lowBits[f/per] |= 1 << (uint(f%per) * b)
	}
	D := maxDeg + 1
	s.fact = make([]float64, D)
	s.fact[0] = 1
	for n := 1; n < D; n++ {
		s.fact[n] = s.fact[n-1] * float64(n)
	}
	s.lin = make([]float64, D*D*D)
	for m := 0; m < D; m++ {
		for n := 0; n < D; n++ {
			for k := 0; k <= min(m, n); k++ {
				s.lin[(m*D+n)*D+k] = binom(m, k) * binom(n, k) * s.fact[k]
			}
		}
	}
	return s, nil
}

// Dim is the number of variables d.
func (s *Space) Dim() int { return s.d }

// MaxDegree is the largest total degree a polynomial of s may have.
func (s *Space) MaxDegree() int { return s.maxDeg }

// Words is the number of 64-bit words of one packed multi-index.
func (s *Space) Words() int { return s.words }

// BytesPerTerm is the memory of one stored term (key words and
// coefficient). A product needs up to about 5 times this per result term:
// its hash table has 2-4 slots a term (load <= 1/2, doubling), and the
// radix sort a buffer and the result.
func (s *Space) BytesPerTerm() int { return 8*s.words + 8 }

func (s *Space) maxTerms() float64 {
	if s.MaxTerms > 0 {
		return s.MaxTerms
	}
	return DefaultMaxTerms
}

// pos returns the word and bit shift of the field of variable f.
func (s *Space) pos(f int) (w int, shift uint) {
	return f / s.perWord, uint(f%s.perWord) * s.bits
}

// encode packs exps into key (len s.words). It reports an error for a
// negative exponent, a wrong length or a total degree above MaxDegree.
func (s *Space) encode(exps []int, key []uint64) error {
	if len(exps) != s.d {
		return fmt.Errorf("multi-index has %d exponents, the space has d = %d", len(exps), s.d)
	}
	clear(key)
	deg := 0
	for f, e := range exps {
		if e < 0 {
			return fmt.Errorf("exponent %d of variable %d is negative", e, f)
		}
		deg += e
		if deg > s.maxDeg {
			return fmt.Errorf("multi-index %v has degree above the space's %d", exps, s.maxDeg)
		}
		w, sh := s.pos(f)
		key[w] |= uint64(e) << sh
	}
	return nil
}

// decode unpacks key into exps (len s.d).
func (s *Space) decode(key []uint64, exps []int) {
	for f := range exps {
		w, sh := s.pos(f)
		exps[f] = int(key[w] >> sh & s.fieldMask)
	}
}

// nonzero returns, per field, bit 0 set iff the field of word v is
// non-zero (the fields' bits ORed into their lowest bit).
func (s *Space) nonzero(v uint64, w int) uint64 {
	t := v
	for i := uint(1); i < s.bits; i++ {
		t |= v >> i
	}
	return t & s.lowBits[w]
}

// keyDegree is the total degree |β| and keyFact the product β! of the
// multi-index packed in key.
func (s *Space) keyDegree(key []uint64) int {
	deg := 0
	for w, v := range key {
		for nz := s.nonzero(v, w); nz != 0; nz &= nz - 1 {
			deg += int(v >> uint(bits.TrailingZeros64(nz)) & s.fieldMask)
		}
	}
	return deg
}

func (s *Space) keyFact(key []uint64) float64 {
	f := 1.0
	for w, v := range key {
		for nz := s.nonzero(v, w); nz != 0; nz &= nz - 1 {
			f *= s.fact[v>>uint(bits.TrailingZeros64(nz))&s.fieldMask]
		}
	}
	return f
}

// keySupport is the number of variables with a non-zero exponent.
func (s *Space) keySupport(key []uint64) int {
	n := 0
	for w, v := range key {
		n += bits.OnesCount64(s.nonzero(v, w))
	}
	return n
}

// keyEven reports whether every exponent is even.
func (s *Space) keyEven(key []uint64) bool {
	for w, v := range key {
		if v&s.lowBits[w] != 0 {
			return false
		}
	}
	return true
}

// cmpKeys orders packed keys word by word; the zero multi-index is first.
func cmpKeys(a, b []uint64) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// binom is the binomial coefficient C(n, k) as a float64 (exact while it
// is below 2^53).
func binom(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	k = min(k, n-k)
	c := 1.0
	for i := 1; i <= k; i++ {
		c = math.Round(c * float64(n-k+i) / float64(i))
	}
	return c
}

// CountBound is the number of multi-indices β in d variables with
// |β| <= deg and at most supp non-zero exponents; with even, only those
// whose exponents are all even. It is Σ_j C(d, j) C(deg', j) over
// j = 0..supp, with deg' = deg (deg/2 when even): C(d, j) supports of
// size j times C(deg', j) positive j-tuples of sum <= deg'.
func CountBound(d, deg, supp int, even bool) float64 {
	if even {
		deg /= 2
	}
	var n float64
	for j := 0; j <= min(supp, d, deg); j++ {
		n += binom(d, j) * binom(deg, j)
	}
	return n
}

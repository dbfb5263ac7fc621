// Package monomial is the "fixed feature map" baseline: linear ridge
// regression over every monomial x^α = Π_i x_i^{α_i} of total degree
// |α| <= p in d variables.
//
// There are C(d+p, p) such monomials, which is why this learner needs
// d^{Θ(p)} samples: a target of degree p = 2^L has that many coefficients.
// NewBasis refuses a basis larger than a configured feature count with an
// error that names d, p and the count, rather than running out of memory.
//
// Basis enumerates the monomials in graded order (degree 0, 1, ..., p).
// Every monomial of degree k >= 1 is a monomial of degree k−1 times one
// variable whose index is at least the largest index already present, so
// each multiset of variables appears exactly once, and Eval computes all
// features of one sample with one multiplication each.
//
// Fit standardises every non-constant feature to mean 0 and variance 1 over
// the n input rows (an unsupervised step that uses no labels; without it a
// uniform ridge would penalise x_1^8 and x_1 on scales 10⁶ apart), fits an
// unpenalised intercept by centring features and labels on the rows of each
// fit, solves the primal normal equations (ΦᵀΦ + λ·mean(diag ΦᵀΦ)·I) w = Φᵀy
// with Cholesky through ridge.Sym, chooses λ on a validation split (the last
// ValFrac of the samples) and refits on all n samples.
package monomial

import (
	"fmt"
	"math"
)

// Count returns C(d+p, p), the number of monomials of degree <= p in d
// variables, or an error if it exceeds limit (limit <= 0: no limit, but
// the count must fit in an int).
func Count(d, p, limit int) (int, error) {
	if d < 1 || p < 0 {
		return 0, fmt.Errorf("monomials need d >= 1 and degree >= 0, have d = %d, degree = %d", d, p)
	}
	// C(d+k, k) = C(d+k-1, k-1)·(d+k)/k is an integer at every step.
	c := 1.0
	for k := 1; k <= p; k++ {
		c = c * float64(d+k) / float64(k)
		c = math.Round(c)
	}
	if limit > 0 && c > float64(limit) {
		return 0, fmt.Errorf("%.4g monomials of degree <= %d in d = %d variables (C(%d, %d)) exceed the limit of %d features", c, p, d, d+p, p, limit)
	}
	if c > 1<<40 {
		return 0, fmt.Errorf("C(%d, %d) = %.4g monomials is too many to enumerate", d+p, p, c)
	}
	return int(c), nil
}

// Basis is the ordered set of monomials of degree <= P in D variables.
// Index 0 is the constant monomial 1.
type Basis struct {
	D, P   int
	parent []int32 // parent[t]: index of the monomial that t extends (t >= 1)
	vars   []int32 // vars[t]: the variable t multiplies onto its parent (its largest variable)
	starts []int   // starts[k]: index of the first monomial of degree k; starts[P+1] = Len
}

// NewBasis enumerates the monomials of degree <= p in d variables, or
// returns Count's error when there are more than maxFeatures of them.
func NewBasis(d, p, maxFeatures int) (*Basis, error) {
	count, err := Count(d, p, maxFeatures)
	if err != nil {
		return nil, err
	}
	b := &Basis{D: d, P: p, parent: make([]int32, 1, count), vars: make([]int32, 1, count), starts: make([]int, p+2)}
	b.parent[0], b.vars[0] = -1, 0
	b.starts[0], b.starts[1] = 0, 1
	for k := 1; k <= p; k++ {
		for t := b.starts[k-1]; t < b.starts[k]; t++ {
			for v := int(b.vars[t]); v < d; v++ {
				b.parent = append(b.parent, int32(t))
				b.vars = append(b.vars, int32(v))
			}
		}
		b.starts[k+1] = len(b.parent)
	}
	if len(b.parent) != count {
		return nil, fmt.Errorf("monomial basis: enumerated %d monomials, C(%d, %d) = %d", len(b.parent), d+p, p, count)
	}
	return b, nil
}

// Len returns the number of monomials.
func (b *Basis) Len() int { return len(b.parent) }

// Degree returns the total degree of monomial t.
func (b *Basis) Degree(t int) int {
	for k := b.P; k >= 0; k-- {
		if t >= b.starts[k] {
			return k
		}
	}
	return 0
}

// Exponent returns α for monomial t.
func (b *Basis) Exponent(t int) []int {
	a := make([]int, b.D)
	for ; t > 0; t = int(b.parent[t]) {
		a[b.vars[t]]++
	}
	return a
}

// Eval writes every monomial of x (len D) into dst (len Len()).
func (b *Basis) Eval(x, dst []float64) {
	dst[0] = 1
	for t := 1; t < len(dst); t++ {
		dst[t] = dst[b.parent[t]] * x[b.vars[t]]
	}
}

// Package kernel implements kernel ridge regression (KRR) with the two
// kernels of the non-hierarchical baselines: the polynomial kernel and the
// neural tangent kernel (NTK) of a two-layer ReLU network.
//
// # Kernels
//
// Both kernels are functions of the inner product ⟨x,y⟩ and the squared
// norms |x|², |y|², which is what the Kernel interface exposes: a Gram
// block is one matrix product X_I X_Jᵀ (blas64.Gemm) followed by an
// element-wise map, so the expensive part runs in BLAS.
//
// Poly is k(x,y) = (c + ⟨x,y⟩/s)^p, by default c = 1, s = d and p = 2^L: a
// kernel whose feature space holds every polynomial of degree ≤ p, hence
// the target exactly. Its explicit features are the weighted monomials
// √(C(p,|α|)·multinomial(|α|;α)/s^|α|)·x^α (c = 1).
//
// NTK is the neural tangent kernel of f(x) = m^{-1/2} Σ_r a_r relu(w_r·z)
// in the standard NTK parametrisation, with z = (x/√s, β) (β = 1 when the
// hidden units have biases b_r = w_{r,d+1}, else β = 0), w_r ~ N(0, I),
// a_r ~ N(0, 1), and both layers trained. As m → ∞ the inner product of the
// parameter gradients converges to
//
//	Θ(x,y) = E[relu(w·z) relu(w·z')] + E[a²] E[relu'(w·z) relu'(w·z')] ⟨z,z'⟩
//	       = |z||z'| κ1(u) + ⟨z,z'⟩ κ0(u),
//	κ0(u) = (π − arccos u)/(2π),   κ1(u) = (√(1−u²) + (π − arccos u)·u)/(2π),
//
// with u = ⟨z,z'⟩/(|z||z'|): κ0 and κ1 are the arc-cosine kernels of
// degree 0 and 1 (Cho and Saul 2009). Θ(x,x) = |z|².
//
// # Kernel ridge regression
//
// Fit computes α = (K + λ·mean(diag K)·I)⁻¹ (y − ȳ) and predicts
// f(x) = ȳ + Σ_i α_i k(x, x_i). The relative ridge λ is chosen from a grid on
// a validation split (the last ValFrac of the samples); the model is then
// refitted on all n samples with the chosen λ. The n×n Gram matrix is
// computed once, in square tiles of the upper triangle that workers take
// from a fixed list (so the values do not depend on the number of threads),
// and reused for every λ through ridge.Sym, which keeps it in the upper
// triangle while Cholesky factors (lapack64.Potrf/Potrs) are written to the
// lower one: one n×n buffer in all. Measured on this project's 2-core
// machine, pure Go: one Cholesky per λ (n³/3 flops, ~16 GFlop/s) is about
// 100 times faster than the symmetric eigendecomposition (lapack64.Syev) that
// would serve all λ at once, so Fit factors once per grid value.
package kernel

import (
	"fmt"
	"math"
)

// Kernel is a kernel that depends on its arguments only through their
// inner product and squared norms.
type Kernel interface {
	// Name identifies the kernel in logs and tables ("poly8", "ntk").
	Name() string
	// Map overwrites dots[j], the inner product ⟨x, y_j⟩, with k(x, y_j),
	// given nx = |x|² and ny[j] = |y_j|². It must not allocate.
	Map(dots []float64, nx float64, ny []float64)
}

// Eval returns k(x, y) for one pair of vectors of equal length.
func Eval(k Kernel, x, y []float64) float64 {
	var dot, nx, ny float64
	for i := range x {
		dot += x[i] * y[i]
		nx += x[i] * x[i]
		ny += y[i] * y[i]
	}
	v := []float64{dot}
	k.Map(v, nx, []float64{ny})
	return v[0]
}

// Poly is the polynomial kernel (Offset + ⟨x,y⟩/Scale)^Degree.
type Poly struct {
	Degree int     // p >= 1
	Scale  float64 // s > 0, usually the input dimension d
	Offset float64 // c >= 0, usually 1
}

// NewPoly returns (1 + ⟨x,y⟩/d)^p, checking its arguments.
func NewPoly(p, d int) (Poly, error) {
	if p < 1 || d < 1 {
		return Poly{}, fmt.Errorf("polynomial kernel needs degree >= 1 and d >= 1, have %d and %d", p, d)
	}
	return Poly{Degree: p, Scale: float64(d), Offset: 1}, nil
}

// Name returns "poly" followed by the degree.
func (k Poly) Name() string { return fmt.Sprintf("poly%d", k.Degree) }

// Map implements Kernel.
func (k Poly) Map(dots []float64, _ float64, _ []float64) {
	inv := 1 / k.Scale
	for j, v := range dots {
		dots[j] = ipow(k.Offset+v*inv, k.Degree)
	}
}

// ipow returns b^e for e >= 1 by repeated squaring (exact for the small
// integer degrees used here up to rounding, and 5-10 times faster than
// math.Pow).
func ipow(b float64, e int) float64 {
	r := 1.0
	for e > 0 {
		if e&1 == 1 {
			r *= b
		}
		b *= b
		e >>= 1
	}
	return r
}

// NTK is the neural tangent kernel of a two-layer ReLU network; see the
// package documentation for the parametrisation.
type NTK struct {
	Scale float64 // s > 0: the first layer sees x/√s (usually s = d)
	Bias  bool    // hidden units have a bias (z gets a constant coordinate 1)
}

// NewNTK returns the NTK for inputs of dimension d.
func NewNTK(d int, bias bool) (NTK, error) {
	if d < 1 {
		return NTK{}, fmt.Errorf("NTK needs d >= 1, have %d", d)
	}
	return NTK{Scale: float64(d), Bias: bias}, nil
}

// Name returns "ntk" or "ntk_nobias".
func (k NTK) Name() string {
	if k.Bias {
		return "ntk"
	}
	return "ntk_nobias"
}

// Map implements Kernel.
func (k NTK) Map(dots []float64, nx float64, ny []float64) {
	inv := 1 / k.Scale
	beta := 0.0
	if k.Bias {
		beta = 1
	}
	zx2 := nx*inv + beta
	for j, v := range dots {
		zz := v*inv + beta
		// One square root of the product: for z = z' it returns |z|²
		// exactly, so u = 1 and arccos, whose slope is infinite there,
		// is evaluated at an exact argument on the diagonal.
		nn := math.Sqrt(zx2 * (ny[j]*inv + beta))
		if nn == 0 {
			dots[j] = 0
			continue
		}
		u := zz / nn
		if u > 1 {
			u = 1
		} else if u < -1 {
			u = -1
		}
		pa := math.Pi - math.Acos(u)
		dots[j] = (nn*math.Sqrt(1-u*u) + 2*zz*pa) / (2 * math.Pi)
	}
}

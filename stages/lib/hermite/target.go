package hermite

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// Target is a layered quadratic target network (docs/science.md#target)
// as plain data, with the raw weights before row normalisation:
//
//	S*_0 = x, S*_1 = σ1(x) entrywise, S*_l = Σ_{j∈J_l} W*_{l,j} φ_j (l = 2..L)
//	φ_0 = x, φ_1 = S*_1, φ_j = (S*_j)² entrywise (j >= 2)
//	G*(x) = Σ_{l=2..L} α_l ‖S*_l(x)‖² − E[…],  x ~ N(0, I_D)
//
// with σ1(z) = (z²−1)/√2 = He_2(z)/√2 when Center1, else z² = He_2(z)+1,
// and every row of S*_l rescaled to unit variance, layer by layer from
// l = 2 up.
type Target struct {
	D, K, L int
	// Sources[l] is J_l for l = 2..L, the layers feeding layer l, each in
	// 0..l−1 and distinct (Sources[0] and Sources[1] are unused).
	Sources [][]int
	Center1 bool
	// Alpha[l] is α_l for l = 2..L (Alpha[0] and Alpha[1] are unused).
	Alpha []float64
	// W[l][i] is W*_{l,j} for j = Sources[l][i], row-major K × dim(φ_j)
	// (dim D for j <= 1, K for j >= 2), before normalisation.
	W [][][]float64
}

// Options control Analyze.
type Options struct {
	// Threads is the number of rows of a layer expanded at once (<= 1:
	// one). Results do not depend on it: rows are reduced in row order.
	Threads int
	// MaxTerms bounds every product (Space.MaxTerms); 0: DefaultMaxTerms.
	MaxTerms float64
	// GivenWeights takes the weights as they are, without the row
	// normalisation: for weights that were normalised already, such as
	// those a target stage stores (see given.go). Scale is then 1 and
	// RawVar the variance of each row as given.
	GivenWeights bool
}

// Result holds the exact moments of a target. Layer-indexed slices have
// length L+1 and use indices 2..L. With U_l = ‖S*_l‖² the unweighted
// terms (T_l = α_l U_l), everything about G* follows from the per-degree
// inner products Gram[a][b][q] = E[P_q U_a · P_q U_b].
type Result struct {
	D, K, L int
	Alpha   []float64
	// RawVar[l][r] is the variance of row r of S*_l computed with the raw
	// weights of layer l on the already normalised lower layers; Scale is
	// 1/√RawVar, the factor row r of every W*_{l,j} is multiplied by.
	RawVar, Scale [][]float64
	// RowMean[l][r] is E[S*_{l,r}] after normalisation.
	RowMean [][]float64
	// TermMean[l] is E[T_l] = α_l Σ_r E[S*_{l,r}²]; Mean = Σ_l TermMean[l]
	// is the constant subtracted in G*.
	TermMean []float64
	Mean     float64
	// Gram[a][b] (a, b in 2..L) is E[P_q U_a · P_q U_b] for q = 0..2^L,
	// nil where U_a or U_b could not be expanded.
	Gram [][][]float64
	// U[l] is the expansion of U_l (the zero Poly{} where not computed);
	// Terms[l] its number of Hermite terms.
	U     []Poly
	Terms []int
	// Complete reports whether every U_l was expanded. When Analyze fails
	// with a *TooLargeError it still returns the parts that were
	// affordable: the normalisation and means need only expansions of
	// degree 2^(L−1) (the rows S*_L), the moments of T_L need U_L, of
	// degree 2^L.
	Complete bool
}

// Analyze expands the target exactly in the Hermite basis: the row
// normalisation layer by layer, the row means, the term moments and the
// degree spectra of every T_l and of G*. If a product would exceed the
// term limit it returns the partial Result together with an error
// wrapping *TooLargeError (see Result.Complete); on other errors the
// Result is nil.
func Analyze(t *Target, opt Options) (*Result, error) {
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("hermite target: %w", err)
	}
	sp, err := NewSpace(t.D, 1<<t.L)
	if err != nil {
		return nil, fmt.Errorf("hermite target: %w", err)
	}
	sp.MaxTerms = opt.MaxTerms
	L, K := t.L, t.K
	res := &Result{D: t.D, K: K, L: L, Alpha: t.Alpha,
		RawVar: nanRows(L, K), Scale: nanRows(L, K), RowMean: nanRows(L, K),
		TermMean: nanVec(L + 1), Mean: math.NaN(), Gram: make([][][]float64, L+1),
		U: make([]Poly, L+1), Terms: make([]int, L+1)}
	for a := range res.Gram {
		res.Gram[a] = make([][]float64, L+1)
	}
	// phi[j][c] is coordinate c of φ_j.
	phi := make([][]Poly, L+1)
	phi[0], phi[1] = make([]Poly, t.D), make([]Poly, t.D)
	for c := range t.D { // c < d: He cannot fail
		x, _ := sp.He(c, 1)
		he2, _ := sp.He(c, 2)
		phi[0][c] = x
		if t.Center1 {
			phi[1][c] = he2.Scale(1 / math.Sqrt2)
		} else {
			phi[1][c] = he2.Add(sp.Const(1))
		}
	}
	var mean float64
	for l := 2; l <= L; l++ {
		rows := make([]Poly, K)
		sq := make([]Poly, K)
		errs := make([]error, K)
		forRows(K, opt.Threads, func(r int) {
			rows[r], res.RawVar[l][r], errs[r] = t.row(sp, phi, l, r, opt.GivenWeights)
			if errs[r] != nil {
				return
			}
			sq[r], errs[r] = rows[r].Square()
		})
		// Rows whose square failed still have their normalisation.
		var em float64
		var tooLarge error
		for r := range K {
			if errs[r] != nil && rows[r].sp == nil {
				return nil, fmt.Errorf("hermite target: layer %d row %d: %w", l, r, errs[r])
			}
			res.Scale[l][r] = 1 / math.Sqrt(res.RawVar[l][r])
			if opt.GivenWeights {
				res.Scale[l][r] = 1
			}
			res.RowMean[l][r] = rows[r].Mean()
			em += rows[r].SecondMoment()
			if errs[r] != nil && tooLarge == nil {
				tooLarge = fmt.Errorf("hermite target: layer %d: square of row %d: %w", l, r, errs[r])
			}
		}
		res.TermMean[l] = t.Alpha[l] * em
		mean += res.TermMean[l]
		if tooLarge != nil {
			if l == L {
				res.Mean = mean
			}
			return res, tooLarge
		}
		u := sp.Zero()
		for _, s := range sq {
			u = u.Add(s)
		}
		res.U[l], res.Terms[l] = u, u.Len()
		for a := 2; a <= l; a++ {
			res.Gram[a][l] = res.U[a].InnerByDegree(u)
			res.Gram[l][a] = res.Gram[a][l]
		}
		phi[l] = sq
	}
	res.Mean = mean
	res.Complete = true
	return res, nil
}

// row returns row r of S*_l, normalised to unit variance unless given,
// and its variance before normalisation.
func (t *Target) row(sp *Space, phi [][]Poly, l, r int, given bool) (Poly, float64, error) {
	var a []float64
	var ps []Poly
	for i, j := range t.Sources[l] {
		n := len(phi[j])
		a = append(a, t.W[l][i][r*n:(r+1)*n]...)
		ps = append(ps, phi[j]...)
	}
	s := sp.Combine(a, ps)
	v := s.Variance()
	if !(v > 0) || math.IsInf(v, 0) {
		return Poly{}, v, fmt.Errorf("variance %v before normalisation", v)
	}
	if given {
		return s, v, nil
	}
	return s.Scale(1 / math.Sqrt(v)), v, nil
}

// forRows calls fn(r) for r = 0..n−1 on up to threads goroutines.
func forRows(n, threads int, fn func(r int)) {
	threads = max(1, min(threads, n))
	if threads == 1 {
		for r := range n {
			fn(r)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range threads {
		wg.Go(func() {
			for r := range next {
				fn(r)
			}
		})
	}
	for r := range n {
		next <- r
	}
	close(next)
	wg.Wait()
}

func (t *Target) check() error {
	if t.D < 1 || t.K < 1 || t.L < 2 {
		return fmt.Errorf("need D >= 1, K >= 1, L >= 2, have D = %d, K = %d, L = %d", t.D, t.K, t.L)
	}
	if t.L > 6 {
		return fmt.Errorf("L = %d: G* has degree 2^L = %d, more than any expansion can hold", t.L, 1<<t.L)
	}
	if len(t.Sources) != t.L+1 || len(t.Alpha) != t.L+1 || len(t.W) != t.L+1 {
		return fmt.Errorf("L = %d needs Sources, Alpha and W of length %d, have %d, %d, %d",
			t.L, t.L+1, len(t.Sources), len(t.Alpha), len(t.W))
	}
	for l := 2; l <= t.L; l++ {
		src := t.Sources[l]
		if len(src) == 0 {
			return fmt.Errorf("Sources[%d] is empty", l)
		}
		if len(t.W[l]) != len(src) {
			return fmt.Errorf("W[%d] has %d blocks for the %d sources %v", l, len(t.W[l]), len(src), src)
		}
		if a := t.Alpha[l]; math.IsNaN(a) || math.IsInf(a, 0) {
			return fmt.Errorf("Alpha[%d] = %v", l, a)
		}
		seen := map[int]bool{}
		for i, j := range src {
			if j < 0 || j >= l || seen[j] {
				return fmt.Errorf("Sources[%d] = %v: source %d must be a distinct layer in 0..%d", l, src, j, l-1)
			}
			seen[j] = true
			dim := t.K
			if j <= 1 {
				dim = t.D
			}
			if len(t.W[l][i]) != t.K*dim {
				return fmt.Errorf("W[%d][%d] (from layer %d) has %d entries, want K×%d = %d", l, i, j, len(t.W[l][i]), dim, t.K*dim)
			}
			for e, v := range t.W[l][i] {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("W[%d][%d][%d] = %v", l, i, e, v)
				}
			}
		}
	}
	return nil
}

func nanVec(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

func nanRows(L, K int) [][]float64 {
	out := make([][]float64, L+1)
	for l := 2; l <= L; l++ {
		out[l] = nanVec(K)
	}
	return out
}

// Cov is Cov(T_a, T_b) = α_a α_b Σ_{q>=1} Gram[a][b][q] (NaN if not
// computed); Cov(l, l) is Var(T_l).
func (r *Result) Cov(a, b int) float64 {
	g := r.Gram[a][b]
	if g == nil {
		return math.NaN()
	}
	var c float64
	for _, v := range g[1:] {
		c += v
	}
	return r.Alpha[a] * r.Alpha[b] * c
}

// Var is Var(G*) (NaN unless Complete).
func (r *Result) Var() float64 {
	var v float64
	for _, s := range r.Spectrum()[1:] {
		v += s
	}
	return v
}

// Spectrum is the degree spectrum of G* for the target's α: element q
// is the part of Var(G*) carried by degree q (element 0 is 0: G* is
// centred). NaN unless Complete.
func (r *Result) Spectrum() []float64 { return r.SpectrumFor(r.Alpha) }

// SpectrumFor is the spectrum of Σ_l alpha[l] U_l − E[…] for other
// weights alpha (length L+1): Σ_{a,b} alpha_a alpha_b Gram[a][b][q]. The
// normalisation does not depend on α, so one expansion serves every α.
func (r *Result) SpectrumFor(alpha []float64) []float64 {
	out := make([]float64, 1<<r.L+1)
	for a := 2; a <= r.L; a++ {
		for b := 2; b <= r.L; b++ {
			g := r.Gram[a][b]
			for q := 1; q < len(out); q++ {
				if g == nil {
					out[q] = math.NaN()
				} else {
					out[q] += alpha[a] * alpha[b] * g[q]
				}
			}
		}
	}
	return out
}

// TermSpectrum is the degree spectrum of the centred T_l: α_l²
// Gram[l][l][q] for q >= 1, element 0 zero (NaN where not computed).
func (r *Result) TermSpectrum(l int) []float64 {
	alpha := make([]float64, r.L+1)
	alpha[l] = r.Alpha[l]
	return r.SpectrumFor(alpha)
}

// ShareAbove is the share of Var(G*) carried by degrees > q0: the
// relative L2 error of the best approximation of G* by a polynomial of
// degree <= q0, Σ_{q>q0} Spectrum[q] / Var.
func (r *Result) ShareAbove(q0 int) float64 {
	return shareAbove(r.Spectrum(), q0)
}

func shareAbove(spec []float64, q0 int) float64 {
	var hi, all float64
	for q := 1; q < len(spec); q++ {
		all += spec[q]
		if q > q0 {
			hi += spec[q]
		}
	}
	return hi / all
}

// GammaQuadratic returns, for L = 3 with α_2 = 1, α_3 = γ, the
// coefficients of the spectrum as a quadratic in γ: degree q carries
// A[q] + 2γ B[q] + γ² C[q] of Var(G*) (element 0 of each is zero).
func (r *Result) GammaQuadratic() (A, B, C []float64, err error) {
	if r.L != 3 {
		return nil, nil, nil, fmt.Errorf("the spectrum is a quadratic in γ for L = 3, have L = %d", r.L)
	}
	if !r.Complete {
		return nil, nil, nil, errors.New("the expansion of U_3 is missing (Complete is false)")
	}
	centred := func(g []float64) []float64 {
		out := append([]float64(nil), g...)
		out[0] = 0
		return out
	}
	return centred(r.Gram[2][2]), centred(r.Gram[2][3]), centred(r.Gram[3][3]), nil
}

// GammaForShare returns the smallest γ > 0 at which degrees > q0 carry
// the given share of Var(G*) for L = 3 (α_2 = 1, α_3 = γ): the smallest
// positive root of H(γ) − share·V(γ), where H and V are the quadratics
// of the part above q0 and of the whole variance. It fails when no γ > 0
// reaches the share.
func (r *Result) GammaForShare(q0 int, share float64) (float64, error) {
	A, B, C, err := r.GammaQuadratic()
	if err != nil {
		return 0, err
	}
	if !(share > 0 && share < 1) {
		return 0, fmt.Errorf("share %v outside (0, 1)", share)
	}
	var c0, c1, c2 float64 // H − share·V = c0 + 2γ c1 + γ² c2
	for q := 1; q < len(A); q++ {
		w := -share
		if q > q0 {
			w = 1 - share
		}
		c0 += w * A[q]
		c1 += w * B[q]
		c2 += w * C[q]
	}
	g, ok := smallestPositiveRoot(c2, 2*c1, c0)
	if !ok {
		lo := shareAbove(r.SpectrumFor([]float64{0, 0, 1, 0}), q0)
		hi := shareAbove(r.SpectrumFor([]float64{0, 0, 0, 1}), q0)
		return 0, fmt.Errorf("no γ > 0 puts share %v above degree %d (the share is %.4g at γ = 0 and tends to %.4g as γ → ∞)", share, q0, lo, hi)
	}
	return g, nil
}

// smallestPositiveRoot solves a γ² + b γ + c = 0 for its smallest root
// γ > 0, with the cancellation-free form of the quadratic formula.
func smallestPositiveRoot(a, b, c float64) (float64, bool) {
	var roots []float64
	if a == 0 {
		if b != 0 {
			roots = append(roots, -c/b)
		}
	} else {
		disc := b*b - 4*a*c
		if disc < 0 {
			return 0, false
		}
		q := -(b + math.Copysign(math.Sqrt(disc), b)) / 2
		roots = append(roots, q/a)
		if q != 0 {
			roots = append(roots, c/q)
		}
	}
	best, ok := math.Inf(1), false
	for _, x := range roots {
		if x > 0 && x < best {
			best, ok = x, true
		}
	}
	return best, ok
}

// G is the expansion of G* = Σ_l α_l U_l − Mean (the zero Poly{} unless
// Complete).
func (r *Result) G() Poly {
	if !r.Complete {
		return Poly{}
	}
	sp := r.U[2].sp
	g := sp.Const(-r.Mean)
	for l := 2; l <= r.L; l++ {
		g = g.AddScaled(r.Alpha[l], r.U[l])
	}
	return g
}

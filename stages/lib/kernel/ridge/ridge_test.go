package ridge

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// randomPSD returns a row-major n×n matrix BᵀB/r with B r×n Gaussian; with
// r < n it is singular, with r >= n positive definite almost surely.
func randomPSD(n, r int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := mat.NewDense(r, n, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < n; j++ {
			b.Set(i, j, rng.NormFloat64())
		}
	}
	var a mat.Dense
	a.Mul(b.T(), b)
	a.Scale(1/float64(r), &a)
	return append([]float64(nil), a.RawMatrix().Data...)
}

// TestFactorSolveMatchesDirect solves leading blocks for a sequence of
// shifts on one buffer and compares with an LU solve of a fresh copy. The
// matrices have condition number below ~1e4 (shift >= 1e-3 relative to a
// diagonal of order 1), so a backward-stable solve agrees to ~1e-16·1e4;
// 1e-9 relative leaves a wide margin while still catching any corruption
// of the pristine triangle (an O(1) error).
func TestFactorSolveMatchesDirect(t *testing.T) {
	const n = 150
	orig := randomPSD(n, 40, 1) // rank 40: the shift is what makes it definite
	s, err := NewSym(n, append([]float64(nil), orig...))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		k     int
		shift float64
	}{{n, 1}, {100, 1e-3}, {n, 1e-2}, {1, 0.5}, {73, 0.1}, {n, 1e-3}}
	for _, c := range cases {
		if err := s.Factor(c.k, c.shift); err != nil {
			t.Fatalf("k=%d shift=%g: %v", c.k, c.shift, err)
		}
		b := make([]float64, c.k)
		for i := range b {
			b[i] = rng.NormFloat64()
		}
		a := mat.NewDense(c.k, c.k, nil)
		for i := 0; i < c.k; i++ {
			for j := 0; j < c.k; j++ {
				a.Set(i, j, orig[i*n+j])
			}
			a.Set(i, i, a.At(i, i)+c.shift)
		}
		var want mat.VecDense
		if err := want.SolveVec(a, mat.NewVecDense(c.k, append([]float64(nil), b...))); err != nil {
			t.Fatal(err)
		}
		if err := s.Solve(b); err != nil {
			t.Fatal(err)
		}
		for i := range b {
			if d := math.Abs(b[i] - want.AtVec(i)); d > 1e-9*(1+math.Abs(want.AtVec(i))) {
				t.Fatalf("k=%d shift=%g: x[%d]=%v, direct solve %v", c.k, c.shift, i, b[i], want.AtVec(i))
			}
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if s.At(i, j) != orig[i*n+j] {
					t.Fatalf("pristine A[%d][%d] changed to %v after factoring k=%d", i, j, s.At(i, j), c.k)
				}
			}
		}
	}
}

func TestBlockIsPristineCrossBlock(t *testing.T) {
	const n = 9
	orig := randomPSD(n, n, 2)
	s, _ := NewSym(n, append([]float64(nil), orig...))
	if err := s.Factor(n, 0.1); err != nil {
		t.Fatal(err)
	}
	g, err := s.Block(0, 6, 6, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		for j := 0; j < 3; j++ {
			if got := g.Data[i*g.Stride+j]; got != orig[i*n+6+j] {
				t.Fatalf("block[%d][%d] = %v, want %v", i, j, got, orig[i*n+6+j])
			}
		}
	}
	if _, err := s.Block(0, 7, 6, 3); err == nil {
		t.Fatal("a block reaching the diagonal was accepted")
	}
}

func TestFactorRetry(t *testing.T) {
	// A = diag(1, -1e-3) (upper triangle given, off-diagonal 0). Mean
	// diagonal 0.4995; a relative ridge λ succeeds once λ·0.4995 > 1e-3,
	// i.e. λ > 2.002e-3. From 1e-6, growth 10: 1e-5, 1e-4, 1e-3 fail,
	// 1e-2 succeeds after 4 failures (1e-6 itself fails too).
	s, _ := NewSym(2, []float64{1, 0, 0, -1e-3})
	var logged int
	opt := Options{Retries: 6, Growth: 10, Logf: func(string, ...any) { logged++ }}
	used, retries, err := FactorRetry(s, 2, 1e-6, opt)
	if err != nil {
		t.Fatal(err)
	}
	if retries != 4 || logged != 4 || math.Abs(used-1e-2) > 1e-15 {
		t.Fatalf("used %g after %d retries (%d logged), want 1e-2 after 4", used, retries, logged)
	}
	_, _, err = FactorRetry(s, 2, 1e-6, Options{Retries: 2, Growth: 10})
	if !errors.Is(err, ErrNotPD) {
		t.Fatalf("with 2 retries: err = %v, want ErrNotPD", err)
	}
	if err := s.Solve([]float64{1, 1}); err == nil {
		t.Fatal("Solve after a failed factorisation succeeded")
	}
}

func TestSelect(t *testing.T) {
	// Score each solution by its distance from a known vector x0 that
	// solves (A + 0.1·m·I) x0 = b exactly, m = mean diagonal: the grid
	// value 0.1 must win with error ~0, and every trial's error must equal
	// the distance of the directly solved system.
	const n = 30
	orig := randomPSD(n, n+5, 5)
	s, _ := NewSym(n, append([]float64(nil), orig...))
	m := s.MeanDiag(n)
	x0 := make([]float64, n)
	for i := range x0 {
		x0[i] = float64(i%7) - 3
	}
	b := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			b[i] += orig[i*n+j] * x0[j]
		}
		b[i] += 0.1 * m * x0[i]
	}
	dist := func(sol []float64) (float64, error) {
		var d float64
		for i := range sol {
			d += (sol[i] - x0[i]) * (sol[i] - x0[i])
		}
		return d, nil
	}
	grid := []float64{1, 1e-3, 0.1, 10}
	c, err := Select(Problem{Sym: s, Train: n, RHS: b, ValErr: dist}, grid, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if c.Best != 2 || c.Trials[2].ValErr > 1e-18 {
		t.Fatalf("best %d with error %g, want index 2 with ~0", c.Best, c.Trials[2].ValErr)
	}
	for i, tr := range c.Trials {
		if tr.Ridge != grid[i] || tr.Effective != grid[i] || tr.Retries != 0 {
			t.Fatalf("trial %d: %+v", i, tr)
		}
		if i != 2 && !(tr.ValErr > 1e-6) {
			t.Fatalf("trial %d (ridge %g) has error %g; only 0.1 solves the system", i, tr.Ridge, tr.ValErr)
		}
	}
}

func TestSelectSkipsFailures(t *testing.T) {
	s, _ := NewSym(2, []float64{1, 0, 0, -1e-3})
	val := func(sol []float64) (float64, error) { return 1, nil }
	opt := Options{Retries: 0, Growth: 10}
	c, err := Select(Problem{Sym: s, Train: 2, RHS: []float64{1, 1}, ValErr: val}, []float64{1e-6, 1}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if c.Best != 1 || !math.IsNaN(c.Trials[0].ValErr) || !math.IsNaN(c.Trials[0].Effective) {
		t.Fatalf("trials %+v best %d", c.Trials, c.Best)
	}
	if _, err := Select(Problem{Sym: s, Train: 2, RHS: []float64{1, 1}, ValErr: val}, []float64{1e-6}, opt); !errors.Is(err, ErrNotPD) {
		t.Fatalf("all-failing grid: err = %v", err)
	}
}

func TestNewSymRejectsBadSize(t *testing.T) {
	if _, err := NewSym(3, make([]float64, 8)); err == nil {
		t.Fatal("accepted 8 values as 3×3")
	}
}

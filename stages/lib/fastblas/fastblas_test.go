package fastblas

import (
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// eps is the unit roundoff of float64.
const eps = 0x1p-53

// call is one routine call with its inputs; run executes it with config
// cf on a fresh copy of the output operand and returns that copy. ref runs
// gonum's implementation the same way, and bound[i] bounds the distance
// between any two correctly rounded evaluations of output i (see the
// helpers below), so that |ours − gonum| ≤ bound is the test.
type call struct {
	name  string
	run   func(cf config) []float64
	ref   func() []float64
	bound func() []float64
}

// A test shape: the sizes are chosen around the kernels' blocking (mr
// 4 and 5, nr 4, 8 and 16, kBlock 256, mcRows 240, trsmBlock 32,
// cholBlock 192) so that every edge case occurs.
var gemmShapes = [][3]int{
	{1, 1, 1}, {1, 17, 3}, {5, 8, 1}, {4, 16, 256}, {3, 7, 257}, {17, 33, 100},
	{61, 45, 513}, {241, 19, 31}, {9, 250, 260}, {130, 129, 64}, {40, 300, 300},
}

var coefs = [][2]float64{{1, 0}, {1, 1}, {-1, 1}, {0.75, -0.5}, {0, 2}, {2.5, 0}}

func gemmCalls(rng *rand.Rand) []call {
	var cs []call
	for si, sh := range gemmShapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				ab := coefs[(si+int(tA)+2*int(tB))%len(coefs)]
				alpha, beta := ab[0], ab[1]
				ar, ac := m, k
				if tA == blas.Trans {
					ar, ac = k, m
				}
				br, bc := k, n
				if tB == blas.Trans {
					br, bc = n, k
				}
				// Leading dimensions larger than the rows need.
				lda, ldb, ldc := ac+si%3, bc+(si+1)%3, n+si%2
				a, b := randMat(rng, ar, ac, lda), randMat(rng, br, bc, ldb)
				c0 := randMat(rng, m, n, ldc)
				if si%4 == 1 {
					// beta = 0 must ignore C, NaN included.
					for i := range c0 {
						c0[i] = math.NaN()
					}
					beta = 0
				}
				cs = append(cs, call{
					name: fmt.Sprintf("Dgemm(%c,%c) %dx%dx%d alpha=%g beta=%g", tA, tB, m, n, k, alpha, beta),
					run: func(cf config) []float64 {
						c := clone(c0)
						cf.dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
						return c
					},
					ref: func() []float64 {
						c := clone(c0)
						gonum.Implementation{}.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
						return c
					},
					bound: func() []float64 {
						return productBound(m, n, k, alpha, absOp(a, lda, tA == blas.Trans), absOp(b, ldb, tB == blas.Trans), beta, c0, ldc, full)
					},
				})
			}
		}
	}
	return cs
}

func syrkCalls(rng *rand.Rand) []call {
	var cs []call
	for si, sh := range gemmShapes {
		n, k := sh[0], sh[2]
		for _, ul := range []blas.Uplo{blas.Upper, blas.Lower} {
			for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				ab := coefs[(si+int(ul)+int(tA))%len(coefs)]
				alpha, beta := ab[0], ab[1]
				ar, ac := n, k
				if tA == blas.Trans {
					ar, ac = k, n
				}
				lda, ldc := ac+si%2, n+(si+1)%3
				a, c0 := randMat(rng, ar, ac, lda), randMat(rng, n, n, ldc)
				op := absOp(a, lda, tA == blas.Trans)
				cs = append(cs, call{
					name: fmt.Sprintf("Dsyrk(%c,%c) n=%d k=%d alpha=%g beta=%g", ul, tA, n, k, alpha, beta),
					run: func(cf config) []float64 {
						c := clone(c0)
						cf.dsyrk(ul, tA, n, k, alpha, a, lda, beta, c, ldc)
						return c
					},
					ref: func() []float64 {
						c := clone(c0)
						gonum.Implementation{}.Dsyrk(ul, tA, n, k, alpha, a, lda, beta, c, ldc)
						return c
					},
					bound: func() []float64 {
						return productBound(n, n, k, alpha, op, op.t(), beta, c0, ldc, partOf(ul))
					},
				})
			}
		}
	}
	return cs
}

// triCalls are Dtrsm and Dtrmm calls: every side, uplo, transpose and
// diag, with B wider and narrower than the panels.
func triCalls(rng *rand.Rand) []call {
	var cs []call
	shapes := [][2]int{{1, 1}, {5, 1}, {37, 1}, {33, 20}, {70, 3}, {100, 300}, {300, 41}, {64, 64}}
	for si, sh := range shapes {
		m, n := sh[0], sh[1]
		for _, side := range []blas.Side{blas.Left, blas.Right} {
			for _, ul := range []blas.Uplo{blas.Upper, blas.Lower} {
				for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
					for _, d := range []blas.Diag{blas.NonUnit, blas.Unit} {
						k := n
						if side == blas.Left {
							k = m
						}
						alpha := []float64{1, -0.5, 3}[(si+int(d))%3]
						lda, ldb := k+si%3, n+(si+1)%2
						a := triMat(rng, k, lda)
						b0 := randMat(rng, m, n, ldb)
						desc := fmt.Sprintf("%c,%c,%c,%c m=%d n=%d alpha=%g", side, ul, tA, d, m, n, alpha)
						// on makes a call that overwrites a copy of b0.
						on := func(name string, ours func(cf config, b []float64), ref func(b []float64), bound func() []float64) call {
							return call{name: name,
								run:   func(cf config) []float64 { b := clone(b0); ours(cf, b); return b },
								ref:   func() []float64 { b := clone(b0); ref(b); return b },
								bound: bound}
						}
						cs = append(cs, on("Dtrsm("+desc,
							func(cf config, b []float64) { cf.dtrsm(side, ul, tA, d, m, n, alpha, a, lda, b, ldb) },
							func(b []float64) { gonum.Implementation{}.Dtrsm(side, ul, tA, d, m, n, alpha, a, lda, b, ldb) },
							func() []float64 {
								// The triangles are diagonally dominant (well
								// conditioned): a relative bound on the
								// solution suffices.
								x := clone(b0)
								gonum.Implementation{}.Dtrsm(side, ul, tA, d, m, n, alpha, a, lda, x, ldb)
								out, floor := make([]float64, len(x)), maxAbs(x)*1e-3
								for i, v := range x {
									out[i] = 64 * float64(k+2) * eps * (math.Abs(v) + floor)
								}
								return out
							}), on("Dtrmm("+desc,
							func(cf config, b []float64) { cf.dtrmm(side, ul, tA, d, m, n, alpha, a, lda, b, ldb) },
							func(b []float64) { gonum.Implementation{}.Dtrmm(side, ul, tA, d, m, n, alpha, a, lda, b, ldb) },
							func() []float64 {
								t := triangle(ul, tA, d, a, lda)
								abs := make([]float64, k*k)
								for i := range k {
									for j := range k {
										if i == j || (i > j) == t.lower {
											abs[i*k+j] = math.Abs(t.at(i, j))
										}
										if i == j && d == blas.Unit {
											abs[i*k+j] = 1
										}
									}
								}
								to := operand{data: abs, rs: k, cs: 1}
								bo := absOp(b0, ldb, false)
								if side == blas.Left {
									return productBound(m, n, k, alpha, to, bo, 0, b0, ldb, full)
								}
								return productBound(m, n, k, alpha, bo, to, 0, b0, ldb, full)
							}))
					}
				}
			}
		}
	}
	return cs
}

func potrfCalls(rng *rand.Rand) []call {
	var cs []call
	for _, n := range []int{1, 2, 7, 33, 191, 192, 193, 400, 500} {
		for _, ul := range []blas.Uplo{blas.Lower, blas.Upper} {
			lda := n + n%3
			a0 := spdMat(rng, n, lda)
			cs = append(cs, call{
				name: fmt.Sprintf("Dpotrf(%c) n=%d", ul, n),
				run: func(cf config) []float64 {
					a := clone(a0)
					if !cf.dpotrf(ul, n, a, lda) {
						panic("not positive definite")
					}
					return a
				},
				ref: func() []float64 {
					a := clone(a0)
					if !(lapackgonum.Implementation{}).Dpotrf(ul, n, a, lda) {
						panic("gonum: not positive definite")
					}
					return a
				},
				bound: func() []float64 {
					// The factor of a well-conditioned matrix (condition
					// number < 10 here) is perturbed by about n·eps·|L|.
					a := clone(a0)
					(lapackgonum.Implementation{}).Dpotrf(ul, n, a, lda)
					out := make([]float64, len(a))
					for i, v := range a {
						out[i] = 16 * float64(n+2) * eps * (math.Abs(v) + 1)
					}
					return out
				},
			})
		}
	}
	return cs
}

// TestAgainstGonum checks every routine, with the kernel in use, against
// gonum's pure-Go BLAS and LAPACK within rounding-error bounds.
func TestAgainstGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	cf := config{kern: bestKernel(), threads: 2}
	for _, c := range allCalls(rng) {
		got, want, bound := c.run(cf), c.ref(), c.bound()
		for i := range got {
			g, w := got[i], want[i]
			if math.IsNaN(g) != math.IsNaN(w) || math.Abs(g-w) > bound[i] {
				t.Errorf("%s: element %d = %v, gonum %v (bound %.3g)", c.name, i, g, w, bound[i])
				break
			}
		}
	}
}

// TestKernelsAgree checks that every kernel of this build and CPU, on any
// number of threads and under any GOMAXPROCS, gives the same bits.
func TestKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	calls := allCalls(rng)
	base := config{kern: scalarKernel, threads: 1}
	want := make([][]float64, len(calls))
	for i, c := range calls {
		want[i] = c.run(base)
	}
	check := func(procs int, cf config) {
		for i, c := range calls {
			if d := firstDiff(c.run(cf), want[i]); d >= 0 {
				t.Errorf("GOMAXPROCS=%d kernel %s threads=%d: %s differs from the scalar kernel on 1 thread at element %d",
					procs, cf.kern.name, cf.threads, c.name, d)
			}
		}
	}
	procs := runtime.GOMAXPROCS(0)
	for _, kn := range Kernels() {
		for _, th := range []int{1, 3} {
			check(procs, config{kern: kernelNamed(kn), threads: th})
		}
	}
	defer runtime.GOMAXPROCS(procs)
	for _, p := range []int{1, 4} {
		runtime.GOMAXPROCS(p)
		for _, th := range []int{2, 4} {
			check(p, config{kern: bestKernel(), threads: th})
		}
	}
}

func allCalls(rng *rand.Rand) []call {
	var cs []call
	cs = append(cs, gemmCalls(rng)...)
	cs = append(cs, syrkCalls(rng)...)
	cs = append(cs, triCalls(rng)...)
	return append(cs, potrfCalls(rng)...)
}

// firstDiff returns the first index where a and b differ in their bits,
// or -1.
func firstDiff(a, b []float64) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

// productBound returns, for every element of the m×n matrix C (leading
// dimension ldc), twice the rounding-error bound of a k-term product,
// 2·γ(k+2)·(|alpha|·Σ_p |a_ip||b_pj| + |beta·c_ij|) with γ(j) = j·eps/(1−j·eps),
// on part tri (other elements must not change: bound 0); elements outside
// the matrix (the gaps of ldc) get 0 too.
func productBound(m, n, k int, alpha float64, absA, absB operand, beta float64, c []float64, ldc int, tri part) []float64 {
	out := make([]float64, len(c))
	g := float64(k+2) * eps / (1 - float64(k+2)*eps)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if !inPart(tri, i, j) {
				continue
			}
			s := 0.0
			for p := 0; p < k; p++ {
				s += math.Abs(absA.data[i*absA.rs+p*absA.cs] * absB.data[p*absB.rs+j*absB.cs])
			}
			cij := 0.0
			if beta != 0 {
				cij = math.Abs(beta * c[i*ldc+j])
			}
			out[i*ldc+j] = 2 * g * (math.Abs(alpha)*s + cij)
		}
	}
	return out
}

// absOp returns the view of op(A) for a row-major A (entries as they are;
// productBound takes absolute values).
func absOp(a []float64, lda int, trans bool) operand { return rowMajor(a, lda, trans) }

func clone(s []float64) []float64 { return append([]float64(nil), s...) }

func maxAbs(s []float64) float64 {
	m := 0.0
	for _, v := range s {
		m = max(m, math.Abs(v))
	}
	return m
}

// randMat returns an r×c matrix with leading dimension ld; the gaps
// beyond column c hold values that no routine may read or write.
func randMat(rng *rand.Rand, r, c, ld int) []float64 {
	if r == 0 {
		return nil
	}
	s := make([]float64, (r-1)*ld+c)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}

// triMat returns an n×n matrix (leading dimension ld) whose diagonal
// dominates its rows and columns, so both triangles are well conditioned.
func triMat(rng *rand.Rand, n, ld int) []float64 {
	a := randMat(rng, n, n, ld)
	for i := 0; i < n; i++ {
		a[i*ld+i] = float64(n) + 1 + rng.Float64()
		if rng.IntN(2) == 0 {
			a[i*ld+i] = -a[i*ld+i]
		}
	}
	for i := range a {
		if i%ld != i/ld {
			a[i] /= 4
		}
	}
	return a
}

// spdMat returns G·Gᵀ/n + I for a random n×n G: symmetric positive
// definite with a condition number below about 10.
func spdMat(rng *rand.Rand, n, ld int) []float64 {
	g := randMat(rng, n, n, n)
	a := make([]float64, (n-1)*ld+n)
	gonum.Implementation{}.Dgemm(blas.NoTrans, blas.Trans, n, n, n, 1/float64(n), g, n, g, n, 0, a, ld)
	for i := 0; i < n; i++ {
		a[i*ld+i] += 1
	}
	return a
}

var update = flag.Bool("update", false, "rewrite testdata/golden.txt from this build's results")

// TestGolden pins the bits of every call of the test battery: the file
// testdata/golden.txt holds a SHA-256 of each call's output. The build
// without GOEXPERIMENT=simd (scalar kernel) and the SIMD build, on any
// CPU, must both reproduce it, so that test compares builds that cannot
// run in one process. Regenerate with go test -run TestGolden -update
// after a deliberate change of the result-defining constants (kBlock,
// trsmBlock, cholBlock) or of the operation order.
func TestGolden(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	cf := config{kern: bestKernel(), threads: 3}
	var lines []string
	for _, c := range allCalls(rng) {
		h := sha256.New()
		for _, v := range c.run(cf) {
			binary.Write(h, binary.LittleEndian, math.Float64bits(v))
		}
		lines = append(lines, fmt.Sprintf("%x %s", h.Sum(nil), c.name))
	}
	path := filepath.Join("testdata", "golden.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d calls, kernel %s)", path, len(lines), cf.kern.name)
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden results: %v (go test -run TestGolden -update writes them)", err)
	}
	want := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(want) != len(lines) {
		t.Fatalf("%s has %d calls, the battery %d", path, len(want), len(lines))
	}
	for i := range lines {
		if lines[i] != want[i] {
			t.Errorf("kernel %s: %s:%d: got %s", cf.kern.name, path, i+1, lines[i])
		}
	}
}

// TestExactIntegers checks every kernel against exact arithmetic: with
// small integer entries every product and partial sum is an integer below
// 2^53, so any summation order gives the exact result, which int64
// arithmetic computes independently.
func TestExactIntegers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ints := func(n int) ([]float64, []int64) {
		f, z := make([]float64, n), make([]int64, n)
		for i := range f {
			z[i] = int64(rng.IntN(9) - 4)
			f[i] = float64(z[i])
		}
		return f, z
	}
	for _, kn := range Kernels() {
		cf := config{kern: kernelNamed(kn), threads: 2}
		for _, sh := range [][3]int{{1, 1, 1}, {7, 13, 29}, {66, 35, 600}, {250, 260, 257}} {
			m, n, k := sh[0], sh[1], sh[2]
			af, az := ints(m * k)
			bf, bz := ints(k * n)
			cf0, cz := ints(m * n)
			// Dgemm with alpha = 2, beta = -3 (A and B transposed).
			c := clone(cf0)
			cf.dgemm(blas.Trans, blas.Trans, m, n, k, 2, transpose(af, m, k), m, transpose(bf, k, n), k, -3, c, n)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					var s int64
					for p := 0; p < k; p++ {
						s += az[i*k+p] * bz[p*n+j]
					}
					if want := float64(2*s - 3*cz[i*n+j]); c[i*n+j] != want {
						t.Fatalf("%s Dgemm %v: C[%d][%d] = %v, exact %v", kn, sh, i, j, c[i*n+j], want)
					}
				}
			}
			// Dsyrk, lower: C = A·Aᵀ + C.
			c, _ = ints(m * m)
			c0 := clone(c)
			cf.dsyrk(blas.Lower, blas.NoTrans, m, k, 1, af, k, 1, c, m)
			for i := 0; i < m; i++ {
				for j := 0; j < m; j++ {
					want := c0[i*m+j]
					if j <= i {
						var s int64
						for p := 0; p < k; p++ {
							s += az[i*k+p] * az[j*k+p]
						}
						want += float64(s)
					}
					if c[i*m+j] != want {
						t.Fatalf("%s Dsyrk %v: C[%d][%d] = %v, exact %v", kn, sh, i, j, c[i*m+j], want)
					}
				}
			}
		}
		// Cholesky and triangular solve of A = L·Lᵀ, L unit lower
		// triangular with integer entries: the factor is exactly L and
		// the solves are exact.
		for _, n := range []int{5, 200, 450} {
			l := make([]float64, n*n)
			lz := make([]int64, n*n)
			for i := 0; i < n; i++ {
				for j := 0; j < i; j++ {
					if rng.IntN(8) == 0 { // sparse, so that the entries of A stay small
						lz[i*n+j] = int64(rng.IntN(3) - 1)
						l[i*n+j] = float64(lz[i*n+j])
					}
				}
				lz[i*n+i], l[i*n+i] = 1, 1
			}
			a := make([]float64, n*n)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					var s int64
					for p := 0; p < n; p++ {
						s += lz[i*n+p] * lz[j*n+p]
					}
					a[i*n+j] = float64(s)
				}
			}
			f := clone(a)
			if !cf.dpotrf(blas.Lower, n, f, n) {
				t.Fatalf("%s Dpotrf n=%d: not positive definite", kn, n)
			}
			for i := 0; i < n; i++ {
				for j := 0; j <= i; j++ {
					if f[i*n+j] != l[i*n+j] {
						t.Fatalf("%s Dpotrf n=%d: L[%d][%d] = %v, exact %v", kn, n, i, j, f[i*n+j], l[i*n+j])
					}
				}
			}
			// L·X = B for X with integer entries, B = L·X exactly.
			const nrhs = 37
			xf, xz := ints(n * nrhs)
			b := make([]float64, n*nrhs)
			for i := 0; i < n; i++ {
				for j := 0; j < nrhs; j++ {
					var s int64
					for p := 0; p <= i; p++ {
						s += lz[i*n+p] * xz[p*nrhs+j]
					}
					b[i*nrhs+j] = float64(s)
				}
			}
			cf.dtrsm(blas.Left, blas.Lower, blas.NoTrans, blas.Unit, n, nrhs, 1, l, n, b, nrhs)
			if d := firstDiff(b, xf); d >= 0 {
				t.Fatalf("%s Dtrsm n=%d: X[%d] = %v, exact %v", kn, n, d, b[d], xf[d])
			}
		}
	}
}

// transpose returns the n×m transpose of the row-major m×n matrix a.
func transpose(a []float64, m, n int) []float64 {
	t := make([]float64, len(a))
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			t[j*m+i] = a[i*n+j]
		}
	}
	return t
}

// TestNotPositiveDefinite checks that Dpotrf reports failure where
// gonum's does, and leaves the same factor of the leading block.
func TestNotPositiveDefinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{3, 100, 400} {
		for _, bad := range []int{0, n / 2, n - 1} {
			for _, ul := range []blas.Uplo{blas.Lower, blas.Upper} {
				a := spdMat(rng, n, n)
				a[bad*n+bad] -= 1e3 // a negative pivot at bad
				ours, ref := clone(a), clone(a)
				okOurs := current().dpotrf(ul, n, ours, n)
				okRef := lapackgonum.Implementation{}.Dpotrf(ul, n, ref, n)
				if okOurs || okRef {
					t.Fatalf("n=%d bad=%d %v: Dpotrf reports %v, gonum %v; want false", n, bad, ul, okOurs, okRef)
				}
				// The factor of the leading bad×bad block is complete in both.
				for i := 0; i < bad; i++ {
					for j := 0; j <= i; j++ {
						o, r := ours[i*n+j], ref[i*n+j]
						if ul == blas.Upper {
							o, r = ours[j*n+i], ref[j*n+i]
						}
						if math.Abs(o-r) > 1e-10*(1+math.Abs(r)) {
							t.Fatalf("n=%d bad=%d %v: L[%d][%d] = %v, gonum %v", n, bad, ul, i, j, o, r)
						}
					}
				}
			}
		}
	}
}

// TestBadArguments checks that invalid arguments panic, as in gonum.
func TestBadArguments(t *testing.T) {
	a := make([]float64, 16)
	impl := Implementation{}
	for _, c := range []struct {
		name string
		call func()
	}{
		{"gemm negative m", func() { impl.Dgemm(blas.NoTrans, blas.NoTrans, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) }},
		{"gemm short lda", func() { impl.Dgemm(blas.NoTrans, blas.NoTrans, 2, 2, 3, 1, a, 2, a, 3, 0, a, 2) }},
		{"gemm short C", func() { impl.Dgemm(blas.NoTrans, blas.NoTrans, 4, 5, 1, 1, a, 1, a, 5, 0, a, 5) }},
		{"gemm bad transpose", func() { impl.Dgemm('x', blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a, 2) }},
		{"syrk bad uplo", func() { impl.Dsyrk('x', blas.NoTrans, 2, 2, 1, a, 2, 0, a, 2) }},
		{"trsm bad side", func() { impl.Dtrsm('x', blas.Lower, blas.NoTrans, blas.NonUnit, 2, 2, 1, a, 2, a, 2) }},
		{"trsm bad diag", func() { impl.Dtrsm(blas.Left, blas.Lower, blas.NoTrans, 'x', 2, 2, 1, a, 2, a, 2) }},
		{"trmm short B", func() { impl.Dtrmm(blas.Left, blas.Lower, blas.NoTrans, blas.NonUnit, 4, 5, 1, a, 4, a, 5) }},
		{"potrf short A", func() { Lapack{}.Dpotrf(blas.Lower, 5, a, 5) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			c.call()
		}()
	}
}

// TestNoAllocations checks that small products on one goroutine, as the
// learner makes them from its own goroutines, do not allocate.
func TestNoAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, b, c := randSlice(rng, 40*64), randSlice(rng, 64*40), make([]float64, 64*64)
	impl := Implementation{}
	defer SetThreads(Threads())
	SetThreads(1)
	for _, f := range []struct {
		name string
		call func()
	}{
		{"Dgemm", func() { impl.Dgemm(blas.NoTrans, blas.NoTrans, 40, 40, 64, 1, a, 64, b, 40, 0, c, 40) }},
		{"Dgemm trans", func() { impl.Dgemm(blas.Trans, blas.Trans, 3, 40, 64, 1, a, 3, b, 64, 1, c, 40) }},
		{"Dsyrk", func() { impl.Dsyrk(blas.Upper, blas.NoTrans, 40, 64, 1, a, 64, 1, c, 40) }},
		{"Dtrmm", func() { impl.Dtrmm(blas.Left, blas.Upper, blas.NoTrans, blas.NonUnit, 40, 64, 1, b, 40, a, 64) }},
	} {
		f.call()
		if n := testing.AllocsPerRun(20, f.call); n != 0 {
			t.Errorf("%s allocates %v times per call", f.name, n)
		}
	}
}

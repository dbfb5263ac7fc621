package fastblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
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
					name: fmt.Sprintf("Dgemm(%v,%v) %dx%dx%d alpha=%g beta=%g", tA, tB, m, n, k, alpha, beta),
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
					name: fmt.Sprintf("Dsyrk(%v,%v) n=%d k=%d alpha=%g beta=%g", ul, tA, n, k, alpha, beta),
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
						desc := fmt.Sprintf("%v,%v,%v,%v m=%d n=%d alpha=%g", side, ul, tA, d, m, n, alpha)
						cs = append(cs, call{
							name: "Dtrsm(" + desc,
							run: func(cf config) []float64 {
								b := clone(b0)
								cf.dtrsm(side, ul, tA, d, m, n, alpha, a, lda, b, ldb)
								return b
							},
							ref: func() []float64 {
								b := clone(b0)
								gonum.Implementation{}.Dtrsm(side, ul, tA, d, m, n, alpha, a, lda, b, ldb)
								return b
							},
							bound: func() []float64 {
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
							},
						}, call{
							name: "Dtrmm(" + desc,
							run: func(cf config) []float64 {
								b := clone(b0)
								cf.dtrmm(side, ul, tA, d, m, n, alpha, a, lda, b, ldb)
								return b
							},
							ref: func() []float64 {
								b := clone(b0)
								gonum.Implementation{}.Dtrmm(side, ul, tA, d, m, n, alpha, a, lda, b, ldb)
								return b
							},
							bound: func() []float64 {
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
							},
						})
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
				name: fmt.Sprintf("Dpotrf(%v) n=%d", ul, n),
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

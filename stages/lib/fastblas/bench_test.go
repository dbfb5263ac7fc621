package fastblas

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// The benchmarks compare this package's kernels with gonum's pure-Go
// implementation in the same run. Each reports GFLOP/s (wall clock) and
// GFLOP/cpu-s (flops per second of process CPU time, summed over threads:
// per-core efficiency, robust to other processes taking the CPUs). gonum
// runs its routines on GOMAXPROCS goroutines (its own choice). The scalar
// kernel runs only at the smallest size. Sizes are flags:
//
//	go test -run '^$' -bench . -fastblas.n 1024,4096 -fastblas.chol 4096,10000
var (
	benchSizes = flag.String("fastblas.n", "1024,4096", "matrix orders of BenchmarkGemm, BenchmarkSyrk and BenchmarkTrsm")
	cholSizes  = flag.String("fastblas.chol", "4096", "matrix orders of BenchmarkPotrf (10000 is the KRR size: 800 MB, minutes with gonum)")
	benchGonum = flag.Bool("fastblas.gonum", true, "also time gonum's implementation")
)

func sizes(b *testing.B, list string) []int {
	b.Helper()
	var ns []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("bad size %q in %q", f, list)
		}
		ns = append(ns, n)
	}
	return ns
}

// variant is one implementation under test: a kernel and a thread count,
// or gonum (kern nil).
type variant struct {
	name string
	cf   config
}

func variants(n, smallest int) []variant {
	var vs []variant
	for _, kn := range Kernels() {
		if kn == scalarKernel.name && n > smallest {
			continue
		}
		for _, th := range []int{1, 2} {
			vs = append(vs, variant{fmt.Sprintf("%s/threads=%d", kn, th), config{kern: kernelNamed(kn), threads: th}})
		}
	}
	if *benchGonum {
		vs = append(vs, variant{name: "gonum"})
	}
	return vs
}

// measure runs op b.N times and reports flops per op as GFLOP/s and
// GFLOP/cpu-s.
func measure(b *testing.B, flops float64, op func()) {
	b.Helper()
	cpu0 := processCPU()
	for b.Loop() {
		op()
	}
	total := flops * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(total/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
}

// BenchmarkGemm times C = A·B for n×n matrices (2n³ flops).
func BenchmarkGemm(b *testing.B) {
	ns := sizes(b, *benchSizes)
	for _, n := range ns {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		x, y, c := randSlice(rng, n*n), randSlice(rng, n*n), make([]float64, n*n)
		for _, v := range variants(n, ns[0]) {
			b.Run(fmt.Sprintf("n=%d/%s", n, v.name), func(b *testing.B) {
				measure(b, 2*float64(n)*float64(n)*float64(n), func() {
					if v.cf.kern == nil {
						gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, x, n, y, n, 0, c, n)
						return
					}
					v.cf.dgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, x, n, y, n, 0, c, n)
				})
			})
		}
	}
}

// BenchmarkSyrk times the lower triangle of C = C − A·Aᵀ with A n×256,
// the trailing update of a blocked Cholesky (n²·256 flops).
func BenchmarkSyrk(b *testing.B) {
	const k = 256
	ns := sizes(b, *benchSizes)
	for _, n := range ns {
		rng := rand.New(rand.NewPCG(2, uint64(n)))
		a, c := randSlice(rng, n*k), make([]float64, n*n)
		for _, v := range variants(n, ns[0]) {
			b.Run(fmt.Sprintf("n=%d/k=%d/%s", n, k, v.name), func(b *testing.B) {
				measure(b, float64(n)*float64(n)*k, func() {
					if v.cf.kern == nil {
						gonum.Implementation{}.Dsyrk(blas.Lower, blas.NoTrans, n, k, -1, a, k, 1, c, n)
						return
					}
					v.cf.dsyrk(blas.Lower, blas.NoTrans, n, k, -1, a, k, 1, c, n)
				})
			})
		}
	}
}

// BenchmarkTrsm times X·Lᵀ = B for B n×256 (a Cholesky panel; n·256²
// flops) and L·X = B for L n×n and B n×256 (n²·256 flops).
func BenchmarkTrsm(b *testing.B) {
	const w = 256
	ns := sizes(b, *benchSizes)
	for _, n := range ns {
		rng := rand.New(rand.NewPCG(3, uint64(n)))
		big, small := triMat(rng, n, n), triMat(rng, w, w)
		b0 := randSlice(rng, n*w)
		x := make([]float64, n*w)
		for _, s := range []struct {
			name  string
			side  blas.Side
			tA    blas.Transpose
			a     []float64
			m, nn int
			flops float64
		}{
			{"right", blas.Right, blas.Trans, small, n, w, float64(n) * w * w},
			{"left", blas.Left, blas.NoTrans, big, n, w, float64(n) * float64(n) * w},
		} {
			lda := s.nn
			if s.side == blas.Left {
				lda = s.m
			}
			for _, v := range variants(n, ns[0]) {
				b.Run(fmt.Sprintf("%s/n=%d/%s", s.name, n, v.name), func(b *testing.B) {
					measure(b, s.flops, func() {
						copy(x, b0)
						if v.cf.kern == nil {
							gonum.Implementation{}.Dtrsm(s.side, blas.Lower, s.tA, blas.NonUnit, s.m, s.nn, 1, s.a, lda, x, s.nn)
							return
						}
						v.cf.dtrsm(s.side, blas.Lower, s.tA, blas.NonUnit, s.m, s.nn, 1, s.a, lda, x, s.nn)
					})
				})
			}
		}
	}
}

// BenchmarkPotrf times the Cholesky factorisation of an SPD n×n matrix
// (n³/3 flops): this package's on 1 and 2 threads, and gonum's Dpotrf on
// gonum's BLAS (GOMAXPROCS goroutines), as kernel ridge regression runs it.
func BenchmarkPotrf(b *testing.B) {
	for _, n := range sizes(b, *cholSizes) {
		rng := rand.New(rand.NewPCG(4, uint64(n)))
		g := randSlice(rng, n*n)
		a0 := make([]float64, n*n)
		current().dsyrk(blas.Lower, blas.NoTrans, n, n, 1/float64(n), g, n, 0, a0, n)
		for i := 0; i < n; i++ {
			a0[i*n+i]++
		}
		a := make([]float64, n*n)
		for _, v := range variants(n, 0) {
			b.Run(fmt.Sprintf("n=%d/%s", n, v.name), func(b *testing.B) {
				measure(b, float64(n)*float64(n)*float64(n)/3, func() {
					copy(a, a0) // O(n²), small next to the O(n³) factorisation
					var ok bool
					if v.cf.kern == nil {
						ok = lapackgonum.Implementation{}.Dpotrf(blas.Lower, n, a, n)
					} else {
						ok = v.cf.dpotrf(blas.Lower, n, a, n)
					}
					if !ok {
						b.Fatal("not positive definite")
					}
				})
			})
		}
	}
}

// processCPU returns the CPU time of the process so far (all threads), or
// 0 where the platform does not say.
func processCPU() time.Duration { return cpuTime() }

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}

package fastblas

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}

// BenchmarkGemm times C = A·B (n×n, row-major) with every kernel of this
// build on 1 and 2 threads, and gonum's pure-Go Dgemm (which uses
// GOMAXPROCS goroutines) in the same run.
func BenchmarkGemm(b *testing.B) {
	for _, n := range []int{1024, 4096} {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		x, y := randSlice(rng, n*n), randSlice(rng, n*n)
		c := make([]float64, n*n)
		flops := 2 * float64(n) * float64(n) * float64(n)
		for _, kn := range Kernels() {
			for _, th := range []int{1, 2} {
				cf := config{kern: kernelNamed(kn), threads: th}
				b.Run(fmt.Sprintf("n=%d/%s/threads=%d", n, kn, th), func(b *testing.B) {
					for b.Loop() {
						cf.dgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, x, n, y, n, 0, c, n)
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
		b.Run(fmt.Sprintf("n=%d/gonum", n), func(b *testing.B) {
			for b.Loop() {
				gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, x, n, y, n, 0, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

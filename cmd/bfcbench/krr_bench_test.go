package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/lib/kernel"
	// The binary's BLAS: pure Go, or OpenBLAS with -tags openblas. (The
	// benchmarks in stages/lib/kernel do not import linalg, so building them
	// with the tag still measures pure Go; these do not have that problem.)
	"github.com/bfc-repro/bfc/stages/lib/linalg"
)

// krrSizes selects the sample counts of the kernel ridge benchmarks
// (bfcbench passes -krr.n 4096,10000; n = 10000 needs 800 MB and, in pure
// Go, about a minute).
var krrSizes = flag.String("krr.n", "4096", "comma-separated sample counts n of BenchmarkKRR")

// krrSetup returns n Gaussian inputs in R^16, labels, and the kernel of
// the sweep's krr_poly at L = 3: (1 + ⟨x,y⟩/16)^8.
func krrSetup(b *testing.B, n int) (*mat.Dense, []float64, kernel.Poly) {
	b.Helper()
	const d = 16
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	x := mat.NewDense(n, d, nil)
	raw := x.RawMatrix().Data
	for i := range raw {
		raw[i] = rng.NormFloat64()
	}
	y := make([]float64, n)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	k, err := kernel.NewPoly(8, d)
	if err != nil {
		b.Fatal(err)
	}
	return x, y, k
}

func parseSizes(b *testing.B) []int {
	b.Helper()
	var ns []int
	for _, f := range strings.Split(*krrSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			b.Fatalf("-krr.n: %q is not a sample count", f)
		}
		ns = append(ns, n)
	}
	return ns
}

// BenchmarkKRR times what scikit-learn's KernelRidge.fit does, with bfc's
// code on all GOMAXPROCS threads: "gram" the n×n Gram matrix alone
// (kernel.GramUpper), "fit" the whole fit (kernel.Fit with one relative
// ridge 1e-3, no validation split: Gram matrix, finiteness check,
// Cholesky factorisation and solve). bench/sklearn_krr.py is the peer.
func BenchmarkKRR(b *testing.B) {
	threads := runtime.GOMAXPROCS(0)
	for _, n := range parseSizes(b) {
		x, y, k := krrSetup(b, n)
		b.Run(fmt.Sprintf("gram/%s/n=%d", linalg.Backend(), n), func(b *testing.B) {
			g := make([]float64, n*n)
			for b.Loop() {
				if err := kernel.GramUpper(context.Background(), k, x.RawMatrix(), g, threads); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("fit/%s/n=%d", linalg.Backend(), n), func(b *testing.B) {
			for b.Loop() {
				m, _, err := kernel.Fit(context.Background(), x, y, kernel.Config{Kernel: k, Ridges: []float64{1e-3}, Threads: threads})
				if err != nil {
					b.Fatal(err)
				}
				if len(m.Alpha) != n {
					b.Fatalf("fit has %d coefficients, want %d", len(m.Alpha), n)
				}
			}
		})
	}
}

package fastblas

//go:generate go run gen_kernels.go

import (
	"math"
	"os"
	"sync"
)

// microKernel is a register-blocked kernel and the cache blocking that
// feeds it. fn(kc, a, b, ldb, c, ldc, rows, cols, &[2]float64{alpha, beta})
// computes the mr×nr tile
//
//	acc[i][j] = Σ_{p<kc} a[p*mr+i]·b[p*ldb+j]   (one fma per p, p ascending, from acc = 0)
//
// from a packed mr×kc panel a and a kc×nr panel b (packed: ldb = nr; or
// rows of B as they are), and combines rows i < rows, columns j < cols of
// it into the row-major tile c (c[i*ldc+j]):
//
//	beta == 0:  c = acc·alpha
//	beta == 1:  c = fma(alpha, acc, c)
//	otherwise:  c = fma(alpha, acc, c·beta)
//
// Every kernel, SIMD or scalar, performs exactly these operations for
// every element, so they are interchangeable bit for bit; mr and nr only
// decide which elements a kernel call computes, never how.
type microKernel struct {
	name   string
	mr, nr int
	fn     func(kc int, a, b []float64, ldb int, c []float64, ldc, rows, cols int, ab *[2]float64)
	// The vector operations used with this kernel (see scalar.go).
	axpy  func(alpha float64, x, y []float64)
	axpy4 func(a *[4]float64, x0, x1, x2, x3, y []float64)
	div   func(y []float64, d float64)
}

// kBlock is the depth of a k block: a product C = αAB + βC is computed as
// C = αA[:, 0:kb]B[0:kb, :] + βC, then C = αA[:, kb:2kb]B[kb:2kb, :] + C,
// and so on, kb = kBlock, each block summed in registers. It is part of
// what the results are (unlike every other blocking parameter) and is the
// same for every kernel.
const kBlock = 256

// Cache blocking: B's k block is packed whole (kBlock×n), A's in blocks of
// mc = mcRows rows (rounded down to the kernel's mr; the unit of work of a
// goroutine). Each kBlock×mr panel of the A block sits in L1 while the
// kernel sweeps a kBlock×nc slice of packed B (nc = ncCols rounded down to
// nr; 768 KiB) held in L2. Tuned on a Xeon with 48 KiB L1d and 1.25 MiB L2
// per core.
const (
	mcRows = 240
	ncCols = 384
)

var (
	// scalarKernel is the portable kernel (math.FMA), used by the build
	// without GOEXPERIMENT=simd and on CPUs without AVX2 and FMA.
	scalarKernel = &microKernel{name: "scalar", mr: 4, nr: 4, fn: kernScalar, axpy: axpyGo, axpy4: axpy4Go, div: divGo}

	kernelOnce sync.Once
	kernelUsed *microKernel
)

// bestKernel returns the kernel in use: the fastest this build and CPU
// can run, or the one the environment variable FASTBLAS_KERNEL names
// ("avx512", "avx2", "scalar"; for measurements, since all give the same
// results).
func bestKernel() *microKernel {
	kernelOnce.Do(func() {
		kernelUsed = scalarKernel
		if ks := simdKernels(); len(ks) > 0 {
			kernelUsed = ks[0]
		}
		if k := kernelNamed(os.Getenv("FASTBLAS_KERNEL")); k != nil {
			kernelUsed = k
		}
	})
	return kernelUsed
}

// Kernels lists the names of the micro-kernels this build and CPU can
// run, fastest first ("avx512", "avx2", "scalar"); Kernel names the one
// in use. All of them give identical results.
func Kernels() []string {
	var names []string
	for _, k := range simdKernels() {
		names = append(names, k.name)
	}
	return append(names, scalarKernel.name)
}

// Kernel returns the name of the micro-kernel in use.
func Kernel() string { return bestKernel().name }

// kernelNamed returns the kernel called name, or nil.
func kernelNamed(name string) *microKernel {
	for _, k := range append(simdKernels(), scalarKernel) {
		if k.name == name {
			return k
		}
	}
	return nil
}

// combine is the kernel contract's update of one element of C.
func combine(c, acc, alpha, beta float64) float64 {
	switch beta {
	case 0:
		return acc * alpha
	case 1:
		return math.FMA(alpha, acc, c)
	default:
		return math.FMA(alpha, acc, float64(c*beta))
	}
}

// kernScalar is the 4×4 scalar kernel. Sixteen named accumulators keep
// the compiler from spilling them; math.FMA rounds once, like the vector
// FMA of the SIMD kernels.
func kernScalar(kc int, a, b []float64, ldb int, c []float64, ldc, rows, cols int, ab *[2]float64) {
	if kc < 1 || rows < 1 || rows > 4 || cols < 1 || cols > 4 || ldb < 4 ||
		len(a) < kc*4 || len(b) < (kc-1)*ldb+4 || len(c) < (rows-1)*ldc+cols {
		panic("fastblas: kernScalar: bad arguments")
	}
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float64
	a = a[:kc*4]
	for p := 0; p < kc; p++ {
		ap := a[p*4 : p*4+4 : p*4+4]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		bp := b[p*ldb : p*ldb+4 : p*ldb+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00, c01, c02, c03 = math.FMA(a0, b0, c00), math.FMA(a0, b1, c01), math.FMA(a0, b2, c02), math.FMA(a0, b3, c03)
		c10, c11, c12, c13 = math.FMA(a1, b0, c10), math.FMA(a1, b1, c11), math.FMA(a1, b2, c12), math.FMA(a1, b3, c13)
		c20, c21, c22, c23 = math.FMA(a2, b0, c20), math.FMA(a2, b1, c21), math.FMA(a2, b2, c22), math.FMA(a2, b3, c23)
		c30, c31, c32, c33 = math.FMA(a3, b0, c30), math.FMA(a3, b1, c31), math.FMA(a3, b2, c32), math.FMA(a3, b3, c33)
	}
	acc := [16]float64{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
	alpha, beta := ab[0], ab[1]
	for i := 0; i < rows; i++ {
		row := c[i*ldc : i*ldc+cols]
		for j := range row {
			row[j] = combine(row[j], acc[i*4+j], alpha, beta)
		}
	}
}

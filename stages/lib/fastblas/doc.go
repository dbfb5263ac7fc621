// Package fastblas is a pure-Go implementation of the dense kernels that
// dominate this project's compute — matrix products (Dgemm), symmetric
// rank-k updates (Dsyrk), triangular solves and products (Dtrsm, Dtrmm)
// and the Cholesky factorisation (Dpotrf) — that gives the same bits on
// every machine, for every thread count.
//
// # Use
//
// Implementation embeds gonum's blas.Float64 and overrides those four
// routines; Lapack embeds gonum's lapack.Float64 and overrides Dpotrf.
// stages/linalg installs both (blas64.Use, lapack64.Use) in the default
// build, so gonum's mat, blas64 and lapack64 (Potrf, Potrs, ...) run on
// them. SetThreads sets how many goroutines a large call may use; the
// caller that owns the CPUs sets it (kernel ridge regression sets its
// stage's CPU grant for the solves). Calls smaller than about 2^20
// multiply-adds stay on the calling goroutine and do not allocate.
//
// # The arithmetic, and why it is the same everywhere
//
// Every element of C = αAB + βC is computed by one goroutine as
//
//	acc = 0;  for p in the k block, ascending:  acc = fma(a_ip, b_pj, acc)
//	c = acc·α  (β = 0, first k block)   c = fma(α, acc, c)  (β = 1 or a later block)
//	c = fma(α, acc, c·β)  (other β, first block)
//
// over k blocks of kBlock = 256. Which goroutine computes an element, how
// rows and columns are cut into cache blocks and register tiles, and which
// micro-kernel runs do not enter this sequence, so the result does not
// depend on them. Triangular solves and the Cholesky factorisation are
// built from such products plus row operations of the same kind (one fma
// or one division per element and term, in a fixed order) over fixed
// blocks (trsmBlock = 32; cholBlock = 192 with diagonal blocks of
// cholInner = 32). FMA rounds once, identically in a vector lane and in
// math.FMA, so:
//
//   - kernel_simd.go (build constraint goexperiment.simd && amd64) holds
//     the SIMD micro-kernels, written with simd/archsimd: an AVX-512 4×16
//     kernel (2 vectors of 8 per row) where the CPU has AVX-512, an AVX2
//     5×8 kernel otherwise (AVX2 and FMA);
//   - kernel_fallback.go (the opposite constraint) uses the scalar 4×4
//     kernel of kernel.go and the scalar row operations of scalar.go,
//     which perform the same operations in the same order;
//
// and all of them give identical bits (TestKernelsAgree in one binary,
// TestGolden across builds: testdata/golden.txt holds SHA-256 digests of
// a battery of calls that every build must reproduce). Results differ
// from gonum's, which sums in other orders, in the last bits only
// (TestAgainstGonum checks them against rounding-error bounds).
//
// # Speed
//
// A product packs B's k block once into kBlock×nr panels and A into
// mc×kBlock blocks (mc = 240 rows, the unit of work of a goroutine), and
// sweeps each kBlock×mr panel of A (in L1) over a 384-column slice of
// packed B (in L2), calling the kernel once per mr×nr tile of C. The
// kernels are unrolled by a generator (gen_kernels.go) because the Go
// compiler keeps the accumulators in registers only in a particular shape
// (see the comments in kernel_simd.go). Measured on a 2-core Xeon @
// 2.60GHz (AVX-512) under load from other processes, in GFLOP per CPU
// second: GEMM at n = 1024 about 35 (AVX-512) and 26 (AVX2), next to 43-47
// for OpenBLAS's AVX-512 dgemm and 4-5 for gonum; the Cholesky
// factorisation at n = 4096 about 20-27, next to 15-20 for OpenBLAS's (numpy)
// and 2.4 for gonum. BenchmarkGemm, BenchmarkSyrk, BenchmarkTrsm and
// BenchmarkPotrf measure them against gonum in one run.
//
// The scalar kernel (the build without GOEXPERIMENT=simd) is about 1.5
// GFLOP/s: math.FMA compiles to a checked call there unless GOAMD64=v3.
// The Makefile builds with GOEXPERIMENT=simd.
package fastblas

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
// (see the comments in kernel_simd.go); with neither a broadcast from
// memory nor more than 15 vector registers available to archsimd code,
// the AVX-512 kernel issues one shuffle per two FMAs and reaches about
// half the FMA peak on its own (47 of 89 GFLOP/s in L1, one core).
//
// Measured on the project's 2-core Xeon @ 2.60GHz (AVX-512; other
// processes loading it), one core, interleaved with OpenBLAS runs: GEMM
// at n = 1024 about 0.45-0.5 of OpenBLAS's AVX-512 dgemm (15-25 against
// 40-50 GFLOP/s) and the AVX2 kernel about the same fraction of
// OpenBLAS's AVX2 (Haswell) dgemm; 8-12 times gonum. The Cholesky
// factorisation at n = 4096 runs at about OpenBLAS's speed (numpy,
// 16-20 GFLOP/s) and 8 times gonum's; at n = 10000, 27 GFLOP/s on one
// core, 43 on two. BenchmarkGemm, BenchmarkSyrk, BenchmarkTrsm and
// BenchmarkPotrf measure against gonum in one run.
//
// The scalar kernel (the build without GOEXPERIMENT=simd) is about 1.5
// GFLOP/s: math.FMA compiles to a checked call there unless GOAMD64=v3.
// The Makefile builds with GOEXPERIMENT=simd.
package fastblas

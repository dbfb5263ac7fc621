//go:build !(goexperiment.simd && amd64)

package fastblas

// This file is the build without simd/archsimd (GOEXPERIMENT=simd unset,
// or another architecture): every routine is the scalar one of kernel.go
// and scalar.go, which performs the same floating-point operations in the
// same order as the SIMD routines of kernel_simd.go and so gives the same
// bits.

// simdKernels returns no kernel: the scalar kernel is used.
func simdKernels() []*microKernel { return nil }

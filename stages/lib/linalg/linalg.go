// Package linalg selects the BLAS implementation used through gonum's
// blas64 (and so by gonum's LAPACK in lapack64) by every stage of the binary.
//
// The default build is pure Go: gonum's blas64 and lapack64 with the
// level-3 routines (Dgemm, Dsyrk, Dtrsm, Dtrmm) and the Cholesky
// factorisation (Dpotrf) replaced by package fastblas, whose SIMD kernels
// (GOEXPERIMENT=simd, which the Makefile sets) and scalar fallback give the
// same bits on every machine, for every thread count. Built with
// `-tags openblas` (and cgo, and Debian's libopenblas-dev), linalg routes
// blas64 to OpenBLAS through gonum.org/v1/netlib instead (results then
// depend on the machine). Building with the tag but without cgo fails to
// compile (see guard_nocgo.go) rather than silently running pure Go. The
// backend is part of the code identity of every stage kind that uses gonum
// (pipeline.BLASBackend), so switching builds reruns exactly the stages
// whose results could change.
package linalg

// Backend names the implementation in use: "fastblas" or "openblas".
func Backend() string { return backend }

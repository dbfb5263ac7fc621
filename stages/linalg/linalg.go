// Package linalg selects the BLAS implementation used through gonum's
// blas64 (and so by gonum's LAPACK in lapack64) by every stage of the binary.
//
// The default build is pure Go (gonum's own implementations). Built with
// `-tags openblas` (and cgo, and Debian's libopenblas-dev), linalg routes
// blas64 to OpenBLAS through gonum.org/v1/netlib, which is
// 8-12x faster for the large kernel solves. Building with the tag but
// without cgo fails to compile (see guard_nocgo.go) rather than silently
// running pure Go. The backend is part of the code identity of every stage
// kind that uses gonum (pipeline.BLASBackend), so switching builds reruns
// exactly the stages whose results could change.
package linalg

// Backend names the implementation in use: "gonum" or "openblas".
func Backend() string { return backend }

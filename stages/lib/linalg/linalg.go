// Package linalg selects the BLAS implementation used through gonum's
// blas64 (and so by gonum's LAPACK in lapack64) by every stage of the binary.
//
// The default build is pure Go (gonum's own implementations). Built with
// `-tags openblas` (and cgo, and Debian's libopenblas-dev), linalg routes
// blas64 to OpenBLAS through gonum.org/v1/netlib, which makes the large
// kernel solves about 4x faster on this machine's two cores (make bench:
// 19.5 s -> 5.2 s for n = 10000) and the learner's step 1.5-1.7x faster. Building with the tag but
// without cgo fails to compile (see guard_nocgo.go) rather than silently
// running pure Go. The backend is part of the code identity of every stage
// kind that uses gonum (pipeline.BLASBackend), so switching builds reruns
// exactly the stages whose results could change.
package linalg

// Backend names the implementation in use: "gonum" or "openblas".
func Backend() string { return backend }

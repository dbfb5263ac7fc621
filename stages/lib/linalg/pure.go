//go:build !openblas

package linalg

const backend = "gonum"

// SetThreads does nothing in the pure-Go build: gonum's BLAS parallelises
// large products with goroutines under GOMAXPROCS.
func SetThreads(int) {}

//go:build !unix

package fastblas

import "time"

// cpuTime is unknown here: the benchmarks report wall-clock rates only.
func cpuTime() time.Duration { return 0 }

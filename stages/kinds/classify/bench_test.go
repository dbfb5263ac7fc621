package classify

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/bfc-repro/bfc/stages/lib/optim"
)

// BenchmarkStep measures one training step (forward, backward, Adam) at
// the E8 sizes: 14x14 inputs, width 128, batch 128, all blocks active and
// trained (joint training at the last stage). It must not allocate.
func BenchmarkStep(b *testing.B) {
	for _, L := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("L=%d", L), func(b *testing.B) {
			s := Shape{D: 196, M: 128, C: 10, L: L, Act: ReLU}
			net, err := New(s, Init{Head: 1}, func(l int) *rand.Rand { return rand.New(rand.NewPCG(uint64(l), 3)) })
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			const n, batch = 1024, 128
			x, y := make([]float64, n*s.D), make([]int, n)
			for i := range x {
				x[i] = r.NormFloat64()
			}
			for i := range y {
				y[i] = r.IntN(s.C)
			}
			idx := r.Perm(n)[:batch]
			all := make([]int, L)
			for i := range all {
				all[i] = i + 1
			}
			mask, _ := NewMask(L, all, all)
			ws := NewWorkspace(s, batch)
			opt, _ := optim.New(optim.DefaultAdam())
			step := func() {
				if _, err := net.LossGrad(ws, x, y, idx, mask); err != nil {
					b.Fatal(err)
				}
				if _, err := opt.Step(ws.Blocks(net, mask), 1e-4); err != nil {
					b.Fatal(err)
				}
			}
			step() // let the optimiser allocate its state
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				step()
			}
			// CPU time per step: on a shared machine wall time (ns/op)
			// mostly measures the other processes.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime returns the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

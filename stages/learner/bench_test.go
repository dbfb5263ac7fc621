package learner

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bfc-repro/bfc/stages/optim"
	"github.com/bfc-repro/bfc/stages/target"
)

// BenchmarkStep times one full training step (loss, gradients, Adam update
// with clipping) of joint training with every layer on, at the sizes of
// ../shared/peers/torch_learner.py: the default E1 size (d=16, k=3, L=3,
// m=64, batch 256, p = k(k+1)/2+2 = 8) and a large size (m=1024, batch
// 1024), on 1 and 2 threads. It reports samples/s.
func BenchmarkStep(b *testing.B) {
	for _, size := range []struct {
		name     string
		m, batch int
	}{{"E1", 64, 256}, {"large", 1024, 1024}} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/m=%d/batch=%d/threads=%d", size.name, size.m, size.batch, threads), func(b *testing.B) {
				cfg := Config{D: 16, K: 3, L: 3, M: size.m, P: 8, Connections: target.Skip0, Center1: true,
					Alpha: []float64{0, 0, 1, 0.3}, LambdaKW: 0.1}
				rng := rand.New(rand.NewPCG(1, 1))
				net, err := New(cfg, Init{K: 0.1, W: 1}, rng)
				if err != nil {
					b.Fatal(err)
				}
				const N = 8192
				x, y := randomData(rng, N, cfg.D)
				m, _ := NewMask(cfg.L, []int{2, 3}, []int{2, 3})
				ws := NewWorkspace(net, threads)
				o, _ := optim.New(optim.Config{Method: optim.Adam, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Clip: 10})
				perm := rng.Perm(N)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					start := (i * size.batch) % (N - size.batch)
					if _, err := net.LossGrad(ws, x, y, perm[start:start+size.batch], m); err != nil {
						b.Fatal(err)
					}
					if _, err := o.Step(ws.Blocks(net, m, nil), 2e-3); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*size.batch)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

package learner

import (
	"fmt"
	"math/rand/v2"
	"testing"

	// The binary's BLAS: pure Go, or OpenBLAS with -tags openblas.
	"github.com/bfc-repro/bfc/stages/lib/linalg"
	"github.com/bfc-repro/bfc/stages/lib/optim"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// BenchmarkStep times one full training step (loss, gradients, Adam update
// with clipping) of joint training with every layer on, at the sizes of
// bench/torch_learner.py: the default E1 size (d=16, k=3, L=3,
// m=64, batch 256, p = k(k+1)/2+2 = 8) and a large size (m=1024, batch
// 1024), on 1 and 2 threads. It reports samples/s.
func BenchmarkStep(b *testing.B) {
	for _, size := range []struct {
		name     string
		m, batch int
	}{{"E1", 64, 256}, {"large", 1024, 1024}} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/%s/m=%d/batch=%d/threads=%d", linalg.Backend(), size.name, size.m, size.batch, threads), func(b *testing.B) {
				cfg := Config{D: 16, K: 3, L: 3, M: size.m, P: 8, Connections: targetnet.Skip0, Center1: true,
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
				b.ReportMetric(float64(b.N)*stepFlops(net, m, size.batch)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// stepFlops counts the floating-point operations of one LossGrad call as
// this package computes it (2 per multiply-add in the matrix products,
// triangular and symmetric products at half size; elementwise work and
// the optimiser are left out), for the GFLOP/s figure of the benchmark.
func stepFlops(n *Net, m Mask, batch int) float64 {
	c := n.Cfg
	B, k, p, M := float64(batch), float64(c.K), float64(c.P), float64(c.M)
	var f float64
	for l := 2; l <= m.top; l++ {
		P := float64(n.in[l])
		f += 2 * B * P * k // S_l
		if l < m.top {
			f += 2 * B * k * p // u_l
		}
		if m.Active[l] {
			f += M * P * P // A_l = W^T W (symmetric)
			if l > m.lowT {
				f += 2 * B * P * P // v_l
			} else {
				f += B * P * P // triangular h^T A h
			}
		}
		if l < m.lowT {
			continue
		}
		hasGS := l < m.top
		if hasGS {
			f += 2 * B * p * k
		}
		if m.Trainable[l] {
			f += B * P * P     // C_l (symmetric)
			f += 2 * M * P * P // dloss/dW_l
			if hasGS {
				f += 2 * B * k * P
			}
		}
		if l > m.lowT && hasGS {
			f += 2 * B * k * P
		}
	}
	return f
}

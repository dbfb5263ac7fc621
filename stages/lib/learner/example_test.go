package learner_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/bfc-repro/bfc/stages/lib/learner"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// Build a two-layer learner (L = 2, so only W_2 and K_2 train), take the
// loss and gradient of one minibatch, and check the gradient of one weight
// against a central finite difference of the loss.
func ExampleNet_LossGrad() {
	cfg := learner.Config{D: 3, K: 2, L: 2, M: 4, P: 3, Connections: targetnet.Skip0, Center1: true,
		Alpha: []float64{0, 0, 1}, LambdaKW: 0.1, WeightDecay: 1e-3}
	net, err := learner.New(cfg, learner.Init{K: 0.5, W: 0.5}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	const n = 16
	x, y := make([]float64, n*cfg.D), make([]float64, n)
	rows := make([]int, n)
	for i := range n {
		for j := range cfg.D {
			x[i*cfg.D+j] = r.NormFloat64()
		}
		y[i], rows[i] = x[i*cfg.D]*x[i*cfg.D+1], i
	}
	mask, err := learner.NewMask(cfg.L, []int{2}, []int{2})
	if err != nil {
		panic(err)
	}
	ws := learner.NewWorkspace(net, 1)
	st, err := net.LossGrad(ws, x, y, rows, mask)
	if err != nil {
		panic(err)
	}
	g := ws.GW[2][0] // the gradient of the first entry of W_2
	loss := func(h float64) float64 {
		c := net.Clone()
		c.W[2][0] += h
		s, err := c.LossGrad(learner.NewWorkspace(c, 1), x, y, rows, mask)
		if err != nil {
			panic(err)
		}
		return s.Loss
	}
	const h = 1e-6
	fd := (loss(h) - loss(-h)) / (2 * h)
	fmt.Printf("loss above the mean squared error: %v\n", st.Loss > st.MSE)
	fmt.Printf("gradient matches the finite difference to 1e-6: %v\n", abs(g-fd) < 1e-6*max(1, abs(fd)))
	// Output:
	// loss above the mean squared error: true
	// gradient matches the finite difference to 1e-6: true
}

func abs(v float64) float64 { return max(v, -v) }

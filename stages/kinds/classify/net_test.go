package classify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// testNet returns a network with random heads (zero heads would make
// most gradients vanish and the check vacuous) and random data.
func testNet(t *testing.T, s Shape, n int) (*Net, []float64, []int) {
	t.Helper()
	net, err := New(s, Init{Head: 1}, func(l int) *rand.Rand { return rand.New(rand.NewPCG(uint64(l), 99)) })
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for l := 1; l <= s.L; l++ {
		for i := range net.B[l] {
			net.B[l][i] = 0.3 * r.NormFloat64()
		}
		for i := range net.A0[l] {
			net.A0[l][i] = 0.3 * r.NormFloat64()
		}
	}
	x := make([]float64, n*s.D)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(s.C)
	}
	return net, x, y
}

// TestGradientsMatchFiniteDifferences checks every entry of every
// parameter array of every block against central differences
// (f(w+h) - f(w-h)) / 2h with h = 1e-5. The truncation error is
// O(h^2 f^(3)) ~ 1e-10 and the rounding error O(eps f / h) ~ 1e-11 for
// losses of order 1, so |analytic - numeric| <= 1e-7 + 1e-5 |numeric| is
// generous yet fails on any real mistake (a wrong term is off by O(1e-2)
// or more at these sizes). Frozen and inactive blocks must have exactly
// zero gradients.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	cases := []struct {
		act       string
		clip      float64
		top       int
		trainable []int
	}{
		{ReLU, 0, 3, []int{1, 2, 3}},
		{Quad, 0, 3, []int{1, 2, 3}},
		{Quad, 1.5, 3, []int{1, 2, 3}}, // clip 1.5: some pre-activations are clipped
		{ReLU, 0, 2, []int{2}},         // layerwise stage 2 of 3: block 3 inactive, block 1 frozen
		{Quad, 0, 3, []int{2, 3}},      // bfc-1 at stage 3
		{ReLU, 0, 1, []int{1}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s clip %v top %d train %v", c.act, c.clip, c.top, c.trainable), func(t *testing.T) {
			s := Shape{D: 5, M: 4, C: 3, L: 3, Act: c.act, ActClip: c.clip}
			net, x, y := testNet(t, s, 7)
			active := make([]int, c.top)
			for i := range active {
				active[i] = i + 1
			}
			mask, err := NewMask(s.L, active, c.trainable)
			if err != nil {
				t.Fatal(err)
			}
			idx := []int{6, 0, 3, 3, 1} // a repeated sample and an unordered gather
			ws := NewWorkspace(s, 6)
			if _, err := net.LossGrad(ws, x, y, idx, mask); err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				w2 := NewWorkspace(s, 6)
				st, err := net.LossGrad(w2, x, y, idx, mask)
				if err != nil {
					t.Fatal(err)
				}
				return st.Loss
			}
			const h = 1e-5
			grads := ws.Grad.Params()
			checked := 0
			for bi, p := range net.Params() {
				g := grads[bi].W
				if !mask.Trainable[p.Layer] || p.Layer > mask.Top {
					for _, v := range g {
						if v != 0 {
							t.Fatalf("%s: frozen or inactive block has gradient %v", p.Name, v)
						}
					}
					continue
				}
				for i := range p.W {
					w := p.W[i]
					p.W[i] = w + h
					fp := loss()
					p.W[i] = w - h
					fm := loss()
					p.W[i] = w
					num := (fp - fm) / (2 * h)
					if math.Abs(g[i]-num) > 1e-7+1e-5*math.Abs(num) {
						t.Fatalf("%s[%d]: analytic %.10g, numeric %.10g", p.Name, i, g[i], num)
					}
					checked++
				}
			}
			if checked == 0 {
				t.Fatal("no parameter checked")
			}
		})
	}
}

// TestClipZeroesGradientOutside checks the truncated quadratic: clipped
// pre-activations give sigma = (c^2-1)/sqrt 2 and no gradient.
func TestClipZeroesGradientOutside(t *testing.T) {
	s := Shape{Act: Quad, ActClip: 2}
	z := []float64{-3, -1, 0.5, 2.5}
	h := make([]float64, 4)
	s.activate(z, h)
	gz := make([]float64, 4)
	s.activateGrad(z, []float64{1, 1, 1, 1}, gz)
	wantH := []float64{3 / math.Sqrt2, 0, (0.25 - 1) / math.Sqrt2, 3 / math.Sqrt2}
	wantG := []float64{0, -math.Sqrt2, 0.5 * math.Sqrt2, 0}
	for i := range z {
		if math.Abs(h[i]-wantH[i]) > 1e-15 || math.Abs(gz[i]-wantG[i]) > 1e-15 {
			t.Errorf("z %v: sigma %v (want %v), sigma' %v (want %v)", z[i], h[i], wantH[i], gz[i], wantG[i])
		}
	}
}

// TestZeroHeadsSwitchOnSmoothly: with zero heads, switching a block on
// leaves the logits unchanged.
func TestZeroHeadsSwitchOnSmoothly(t *testing.T) {
	s := Shape{D: 6, M: 5, C: 4, L: 3, Act: ReLU}
	net, err := New(s, Init{}, func(l int) *rand.Rand { return rand.New(rand.NewPCG(uint64(l), 1)) })
	if err != nil {
		t.Fatal(err)
	}
	net.A[1][0], net.A0[1][2] = 0.7, -0.2 // train block 1's head a little
	_, x, y := testNet(t, s, 9)
	ws := NewWorkspace(s, 4)
	l1, c1, err := net.Evaluate(ws, x, y, 1)
	if err != nil {
		t.Fatal(err)
	}
	l3, c3, err := net.Evaluate(ws, x, y, 3)
	if err != nil {
		t.Fatal(err)
	}
	if l1 != l3 || c1 != c3 || l1 == 9*math.Log(4) {
		t.Fatalf("loss %v (1 block) vs %v (3 blocks), correct %d vs %d", l1, l3, c1, c3)
	}
}

func TestNewMaskErrors(t *testing.T) {
	for _, c := range []struct {
		active, trainable []int
		want              string
	}{
		{[]int{2, 3}, []int{3}, "not 1..2"},
		{[]int{1, 2}, []int{3}, "trainable block 3 is not active"},
		{[]int{1, 2, 3, 4}, []int{4}, "4 active blocks, the network has 3"},
	} {
		if _, err := NewMask(3, c.active, c.trainable); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewMask(%v, %v): %v, want %q", c.active, c.trainable, err, c.want)
		}
	}
}

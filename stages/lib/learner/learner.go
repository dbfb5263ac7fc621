// Package learner is the deep learner of docs/science.md#learner: a network of
// quadratic layers with narrow feature maps K_l and wide output heads W_l,
// trained on targets of the Backward Feature Correction concept class.
//
// # The model
//
// Layers 0 and 1 are fixed: S_0 = x and S_1 = sigma1(x) (targetnet.Sigma1, with
// the same centring as the target). For l = 2..L the input of layer l is
//
//	h_l = concat_{j in J_l} psi_j,   psi_0 = x, psi_1 = S_1, psi_j = sigma(R_j S_j) (j >= 2)
//
// where J_l = targetnet.Sources(connections, l) (l-1 first), sigma(z) = z^2
// entrywise and R_j is a fixed random P x k matrix (entries N(0, 1/k)) with
// P >= k(k+1)/2 rows, so that the entries of sigma(R_j z) span every
// quadratic form in z and a rotation of S_j can be undone linearly. Each
// layer has two trainable matrices, K_l (k x P_l) and W_l (m x P_l), where
// P_l = dim h_l:
//
//	S_l = K_l h_l                              (the features passed upward)
//	G(x) = b + sum_{l active} alpha_l ||W_l h_l||^2
//
// The training loss on a minibatch of B samples is
//
//	loss = (1/B) sum_i rho(G(x_i) - y_i)
//	     + lambda_KW sum_{l active} ||K_l^T K_l - W_l^T W_l||_F^2
//	     + wd sum_{l active} (||K_l||_F^2 + ||W_l||_F^2)
//
// with rho(r) = r^2, or the Huber function rho(r) = 2c|r| - c^2 for |r| > c
// when residual clipping at c is on. With feature clipping at c, psi_j =
// clip(R_j S_j, -c, c)^2 (a truncated quadratic activation). Both clippings
// are off by default and counted when on.
//
// # How it is computed
//
// The head term is evaluated in Gram form: with A_l = W_l^T W_l (P_l x P_l,
// computed once per step), ||W_l h||^2 = h^T A_l h, so the per-sample cost
// is O(P_l^2) and does not depend on the head width m. The gradients follow
// by hand:
//
//	dloss/dW_l = W_l (2 alpha_l C_l - 4 lambda D_l + 2 wd I),  C_l = sum_i g_i h_li h_li^T
//	dloss/dK_l = sum_i gS_li h_li^T + K_l (4 lambda D_l + 2 wd I)
//	dloss/dh_l = 2 alpha_l g_i A_l h_l + K_l^T gS_l
//	gS_j       = R_j^T (2 (R_j S_j) * dloss/dpsi_j)   (zero where clipped)
//
// where g_i = rho'(r_i)/B, D_l = K_l^T K_l - A_l, and dloss/dpsi_j collects
// the slices of dloss/dh_l of every active layer l that reads psi_j.
// Samples are processed in fixed chunks of ChunkRows rows, each chunk as a
// few small matrix products on gonum's BLAS, with the chunk's quantities
// stored transposed (one row per component, one column per sample) so that
// the products run along the samples: A_l h_l where dloss/dh_l is needed,
// else the cheaper triangular product for h^T A h; C_l as two symmetric
// rank updates split by the sign of g_i. The chunks' partial sums are
// reduced in chunk order, so results are bit-identical whatever the number
// of threads.
//
// A Mask says which layers are active (contribute to G and to the
// regulariser) and which are trainable (receive gradients); the schedules
// of package schedule produce these sets.
package learner

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// Config describes the learner's shape and loss.
type Config struct {
	D, K, L      int       // input dimension, feature width k, number of layers
	M            int       // width m of every output head W_l
	P            int       // rows of every R_j; at least K(K+1)/2
	Connections  string    // source sets J_l, as in targetnet.Sources
	Center1      bool      // layer-1 activation centring, as in targetnet.Sigma1
	Alpha        []float64 // Alpha[l] weights layer l's head, l = 2..L (len L+1)
	LambdaKW     float64   // weight of ||K_l^T K_l - W_l^T W_l||_F^2
	WeightDecay  float64   // weight of ||K_l||^2 + ||W_l||^2
	FeatureClip  float64   // clip R_j S_j to [-c, c] before squaring (0: off)
	ResidualClip float64   // Huber loss beyond |r| = c (0: plain squared error)
}

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	if c.D < 1 || c.K < 1 || c.L < 2 || c.M < 1 {
		return fmt.Errorf("learner: bad sizes d=%d k=%d L=%d m=%d", c.D, c.K, c.L, c.M)
	}
	if c.P < c.K*(c.K+1)/2 {
		return fmt.Errorf("learner: p=%d rows of R_j, need at least k(k+1)/2 = %d", c.P, c.K*(c.K+1)/2)
	}
	if targetnet.Sources(c.Connections, 2) == nil {
		return fmt.Errorf("learner: unknown connections %q", c.Connections)
	}
	if len(c.Alpha) != c.L+1 {
		return fmt.Errorf("learner: %d alphas for L=%d (want L+1, indexed by layer)", len(c.Alpha), c.L)
	}
	for l := 2; l <= c.L; l++ {
		if !(c.Alpha[l] > 0) || math.IsInf(c.Alpha[l], 0) {
			return fmt.Errorf("learner: alpha_%d = %v, want > 0", l, c.Alpha[l])
		}
	}
	for name, v := range map[string]float64{"lambda_KW": c.LambdaKW, "weight decay": c.WeightDecay,
		"feature clip": c.FeatureClip, "residual clip": c.ResidualClip} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("learner: %s = %v, want a finite value >= 0", name, v)
		}
	}
	return nil
}

// psiDim is the dimension of psi_j.
func (c *Config) psiDim(j int) int {
	if j <= 1 {
		return c.D
	}
	return c.P
}

// InDim returns P_l, the dimension of h_l (l >= 2).
func (c *Config) InDim(l int) int {
	n := 0
	for _, j := range targetnet.Sources(c.Connections, l) {
		n += c.psiDim(j)
	}
	return n
}

// Init sets the scale of the random initial weights: K_l has i.i.d.
// N(0, K^2/(k P_l)) entries and W_l i.i.d. N(0, W^2/(m P_l)) entries, so that
// ||S_l||^2 is about K^2 and ||W_l h_l||^2 about W^2 when h_l has unit-variance
// coordinates.
type Init struct{ K, W float64 }

// Net is the learner's parameters. K[l], W[l] (l = 2..L) and R[j] (j = 2..L-1)
// are row-major; entries below index 2 are nil. B has one element, the
// output bias, so that it can be an optimiser block.
type Net struct {
	Cfg  Config
	K, W [][]float64 // K[l] is k x P_l, W[l] is m x P_l
	R    [][]float64 // R[j] is P x k (fixed)
	B    []float64   // the bias b

	src [][]int // src[l] = J_l
	in  []int   // in[l] = P_l
}

// New returns a network with random initial weights drawn from rng (first
// every R_j, then K_l and W_l layer by layer) and bias 0.
func New(cfg Config, init Init, rng *rand.Rand) (*Net, error) {
	n, err := Zero(cfg)
	if err != nil {
		return nil, err
	}
	for j := 2; j < cfg.L; j++ {
		s := 1 / math.Sqrt(float64(cfg.K))
		for i := range n.R[j] {
			n.R[j][i] = s * rng.NormFloat64()
		}
	}
	for l := 2; l <= cfg.L; l++ {
		sk := init.K / math.Sqrt(float64(cfg.K*n.in[l]))
		for i := range n.K[l] {
			n.K[l][i] = sk * rng.NormFloat64()
		}
		sw := init.W / math.Sqrt(float64(cfg.M*n.in[l]))
		for i := range n.W[l] {
			n.W[l][i] = sw * rng.NormFloat64()
		}
	}
	return n, nil
}

// Zero returns a network of the given shape with all weights zero.
func Zero(cfg Config) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Alpha = slices.Clone(cfg.Alpha)
	n := &Net{Cfg: cfg, K: make([][]float64, cfg.L+1), W: make([][]float64, cfg.L+1),
		R: make([][]float64, cfg.L+1), B: make([]float64, 1),
		src: make([][]int, cfg.L+1), in: make([]int, cfg.L+1)}
	for l := 2; l <= cfg.L; l++ {
		n.src[l] = targetnet.Sources(cfg.Connections, l)
		n.in[l] = cfg.InDim(l)
		n.K[l] = make([]float64, cfg.K*n.in[l])
		n.W[l] = make([]float64, cfg.M*n.in[l])
	}
	for j := 2; j < cfg.L; j++ {
		n.R[j] = make([]float64, cfg.P*cfg.K)
	}
	return n, nil
}

// Clone returns a deep copy of n.
func (n *Net) Clone() *Net {
	c := &Net{Cfg: n.Cfg, B: slices.Clone(n.B), src: n.src, in: n.in}
	c.Cfg.Alpha = slices.Clone(n.Cfg.Alpha)
	for _, p := range []struct{ dst, src *[][]float64 }{{&c.K, &n.K}, {&c.W, &n.W}, {&c.R, &n.R}} {
		*p.dst = make([][]float64, len(*p.src))
		for i, v := range *p.src {
			(*p.dst)[i] = slices.Clone(v)
		}
	}
	return c
}

// InDim returns P_l, the dimension of h_l (l >= 2).
func (n *Net) InDim(l int) int { return n.in[l] }

// Mask selects the active layers (they contribute to G and to the
// regulariser) and the trainable layers (they receive gradients; always a
// subset of the active ones). The bias is always trainable.
type Mask struct {
	Active, Trainable []bool // indexed by layer, length L+1
	top               int    // highest active layer
	lowT              int    // lowest trainable layer (top+1 if none)
}

// NewMask builds a mask for a network with L layers from lists of layers.
func NewMask(L int, active, trainable []int) (Mask, error) {
	m := Mask{Active: make([]bool, L+1), Trainable: make([]bool, L+1)}
	for _, l := range active {
		if l < 2 || l > L {
			return Mask{}, fmt.Errorf("learner: active layer %d outside 2..%d", l, L)
		}
		m.Active[l] = true
		m.top = max(m.top, l)
	}
	if m.top == 0 {
		return Mask{}, fmt.Errorf("learner: no active layer")
	}
	m.lowT = m.top + 1
	for _, l := range trainable {
		if l < 2 || l > L || !m.Active[l] {
			return Mask{}, fmt.Errorf("learner: trainable layer %d is not active (active %v)", l, active)
		}
		m.Trainable[l] = true
		m.lowT = min(m.lowT, l)
	}
	return m, nil
}

// Top returns the highest active layer.
func (m Mask) Top() int { return m.top }

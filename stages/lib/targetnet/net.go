// Package targetnet is the target network of the Backward Feature
// Correction concept class (docs/science.md#target) and the train/test data sampled
// from it; the stage kind "target" (stages/kinds/target) writes what it
// samples, and the learners train on it.
//
// # The model
//
// The input is x in R^d, either x ~ N(0, I_d) ("gaussian") or uniform on the
// sphere of radius sqrt(d) ("sphere"). The target has L layers of features:
//
//	S*_0(x) = x                                     (dimension d)
//	S*_1(x) = sigma1(x), entrywise                  (dimension d)
//	S*_l(x) = sum_{j in J_l} W*_{l,j} phi_j(x)      (dimension k, l = 2..L)
//
// with phi_0 = x, phi_1 = S*_1 and phi_j = (S*_j)^2 entrywise for j >= 2.
// sigma1(z) = (z^2 - 1)/sqrt(2) when center1 is set (every coordinate of
// S*_1 then has mean 0 and variance 1 under Gaussian input), else z^2. The
// source sets J_l (see Sources) always contain l-1, so S*_l is a polynomial
// of degree 2^(l-1) in x.
//
// The entries of W*_{l,j} are drawn i.i.d. N(0,1); then, layer by layer from
// l = 2 upwards, each row r of S*_l is rescaled to unit variance: the
// variance of coordinate r is estimated by Monte Carlo on norm_samples
// inputs from a fixed random stream, and row r of every W*_{l,j} is divided
// by its square root (the scale is folded into W*). Only the variance is
// normalised; S*_l for l >= 2 keeps a non-zero mean.
//
// The label is
//
//	G*(x) = sum_{l=2..L} alpha_l ||S*_l(x)||^2 - Mean,   alpha_2 = 1, alpha_l = gap^(l-2),
//	y     = G*(x) + N(0, noise^2),
//
// where Mean is the Monte Carlo mean of the sum on the same norm_samples
// inputs, so G* is centred. G* is a polynomial of degree 2^L. Optionally
// |y| is clipped at label_clip standard deviations of y (the truncation the
// paper applies to heavy-tailed labels); the threshold and the number of
// clipped labels are recorded in the summary.
//
// # Random streams
//
// Every random draw comes from kit.RNG(seed, stream) with its own stream:
// "target/weights" for W*, and for the per-sample streams a chunk index is
// appended ("target/normalize/<c>", "target/train/<c>", "target/test/<c>",
// "target/noise/train/<c>", "target/noise/test/<c>"), where chunk c holds
// samples [c*ChunkSize, (c+1)*ChunkSize). Chunks are processed in parallel
// and reduced in chunk order, so outputs do not depend on the number of
// threads, and the first n samples of a split do not depend on n_train or
// n_test (a run with more samples extends a run with fewer).
package targetnet

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Connection modes, the values of the "connections" parameter.
const (
	Chain = "chain" // J_l = {l-1}
	Skip0 = "skip0" // J_l = {l-1, 0}
	Dense = "dense" // J_l = {l-1, ..., 0}
)

// Sources returns J_l, the layers feeding layer l >= 2, sorted descending
// (l-1 first). It returns nil for l < 2 or an unknown connection mode.
func Sources(connections string, l int) []int {
	if l < 2 {
		return nil
	}
	switch connections {
	case Chain:
		return []int{l - 1}
	case Skip0:
		return []int{l - 1, 0}
	case Dense:
		out := make([]int, l)
		for i := range out {
			out[i] = l - 1 - i
		}
		return out
	}
	return nil
}

// Sigma1 is the layer-1 activation: (x^2-1)/sqrt(2) if center, else x^2.
func Sigma1(x float64, center bool) float64 {
	if center {
		return (x*x - 1) / math.Sqrt2
	}
	return x * x
}

// Net is a sampled target network.
type Net struct {
	D, K, L     int
	Connections string
	Center1     bool
	// Alpha[l] is the weight of layer l's term for l = 2..L (Alpha[0] and
	// Alpha[1] are unused and zero).
	Alpha []float64
	// W[l][i] is W*_{l,j} for j = Sources(Connections, l)[i]; it is
	// K x d for j <= 1 and K x K for j >= 2. W[0] and W[1] are nil.
	W [][]*mat.Dense
	// Mean is the constant subtracted from sum_l Alpha[l] ||S*_l||^2.
	Mean float64
}

// PhiDim returns the dimension of phi_j: D for j <= 1, K otherwise.
func (n *Net) PhiDim(j int) int {
	if j <= 1 {
		return n.D
	}
	return n.K
}

// Check verifies that the shapes of n are consistent.
func (n *Net) Check() error {
	if n.D < 1 || n.K < 1 || n.L < 2 {
		return fmt.Errorf("target net: bad sizes d=%d k=%d L=%d", n.D, n.K, n.L)
	}
	if len(n.Alpha) != n.L+1 || len(n.W) != n.L+1 {
		return fmt.Errorf("target net: L=%d but %d alphas and %d weight layers", n.L, len(n.Alpha), len(n.W))
	}
	for l := 2; l <= n.L; l++ {
		src := Sources(n.Connections, l)
		if src == nil {
			return fmt.Errorf("target net: unknown connections %q", n.Connections)
		}
		if len(n.W[l]) != len(src) {
			return fmt.Errorf("target net: layer %d has %d weight blocks, want %d", l, len(n.W[l]), len(src))
		}
		for i, j := range src {
			if n.W[l][i] == nil {
				return fmt.Errorf("target net: layer %d source %d has no weights", l, j)
			}
			r, c := n.W[l][i].Dims()
			if r != n.K || c != n.PhiDim(j) {
				return fmt.Errorf("target net: W[%d] from layer %d is %dx%d, want %dx%d", l, j, r, c, n.K, n.PhiDim(j))
			}
		}
	}
	return nil
}

// newFeatures allocates S*_0..S*_L for one input.
func (n *Net) newFeatures() [][]float64 {
	s := make([][]float64, n.L+1)
	s[0] = make([]float64, n.D)
	s[1] = make([]float64, n.D)
	for l := 2; l <= n.L; l++ {
		s[l] = make([]float64, n.K)
	}
	return s
}

// forward computes s[0..upTo] = S*_0..S*_upTo at x into preallocated
// buffers. It is the single code path used by sampling, Features and Eval,
// so that all of them agree bit for bit.
func (n *Net) forward(x []float64, s [][]float64, upTo int) {
	copy(s[0], x)
	for i, v := range x {
		s[1][i] = Sigma1(v, n.Center1)
	}
	for l := 2; l <= upTo; l++ {
		out := s[l]
		for r := range out {
			out[r] = 0
		}
		for i, j := range Sources(n.Connections, l) {
			w := n.W[l][i].RawMatrix()
			in := s[j]
			for r := 0; r < n.K; r++ {
				row := w.Data[r*w.Stride : r*w.Stride+w.Cols]
				var acc float64
				if j <= 1 {
					for c, v := range in {
						acc += row[c] * v
					}
				} else {
					for c, v := range in {
						acc += row[c] * (v * v)
					}
				}
				out[r] += acc
			}
		}
	}
}

// value returns sum_l Alpha[l] ||s[l]||^2 - Mean for computed features.
func (n *Net) value(s [][]float64) float64 {
	var g float64
	for l := 2; l <= n.L; l++ {
		g += n.Alpha[l] * sqNorm(s[l])
	}
	return g - n.Mean
}

func sqNorm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return s
}

// Features returns S*_l(x) for l = 0..L (index 0: x, index 1: sigma1(x)).
// x must have length D.
func (n *Net) Features(x []float64) [][]float64 {
	s := n.newFeatures()
	n.forward(x, s, n.L)
	return s
}

// Eval returns G*(x), without label noise or clipping.
func (n *Net) Eval(x []float64) float64 {
	return n.value(n.Features(x))
}

// Block returns W*_{l,j}, or nil if j is not a source of layer l.
func (n *Net) Block(l, j int) *mat.Dense {
	if l < 2 || l > n.L {
		return nil
	}
	for i, s := range Sources(n.Connections, l) {
		if s == j {
			return n.W[l][i]
		}
	}
	return nil
}

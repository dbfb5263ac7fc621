package targetnet

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/kit"
)

// ChunkSize is the number of samples drawn from one random stream chunk.
// Changing it changes every sampled input, so it is a constant.
const ChunkSize = 2048

// Input distributions, the values of the "input" parameter.
const (
	Gaussian = "gaussian" // x ~ N(0, I_d)
	Sphere   = "sphere"   // x uniform on the sphere of radius sqrt(d)
)

// Spec is everything that determines a target network and its data.
type Spec struct {
	D, K, L      int
	Gap          float64
	Connections  string
	Center1      bool
	Input        string
	NormSamples  int
	Noise        float64
	LabelClip    float64
	NTrain       int
	NTest        int
	Seed         uint64
	Threads      int
	ProgressFunc func(done, total int, msg string) // may be nil
}

// work is one goroutine's scratch space.
type work struct {
	x []float64
	s [][]float64
}

func (n *Net) newWork() *work { return &work{x: make([]float64, n.D), s: n.newFeatures()} }

// numChunks is the number of ChunkSize chunks covering n samples.
func numChunks(n int) int { return (n + ChunkSize - 1) / ChunkSize }

// chunkRange returns the samples [lo, hi) of chunk c out of n.
func chunkRange(c, n int) (lo, hi int) {
	lo = c * ChunkSize
	return lo, min(lo+ChunkSize, n)
}

func chunkRNG(seed uint64, stream string, c int) *rand.Rand {
	return kit.RNG(seed, fmt.Sprintf("%s/%d", stream, c))
}

// drawX fills x with one input drawn from the named distribution.
func drawX(r *rand.Rand, input string, x []float64) {
	for i := range x {
		x[i] = r.NormFloat64()
	}
	if input == Sphere {
		f := math.Sqrt(float64(len(x)) / sqNorm(x))
		for i := range x {
			x[i] *= f
		}
	}
}

// runChunks calls fn for every chunk c in [0, nChunks) on up to threads
// goroutines, each with its own work space. fn must only write state owned
// by chunk c; callers reduce per-chunk results in chunk order, which makes
// results independent of threads. The error of the lowest failing chunk is
// returned.
func (n *Net) runChunks(ctx context.Context, nChunks, threads int, fn func(c int, w *work) error) error {
	threads = max(1, min(threads, nChunks))
	errs := make([]error, nChunks)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := n.newWork()
			for {
				c := int(next.Add(1) - 1)
				if c >= nChunks || ctx.Err() != nil {
					return
				}
				errs[c] = fn(c, w)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for c, err := range errs {
		if err != nil {
			return fmt.Errorf("chunk %d: %w", c, err)
		}
	}
	return nil
}

// mcSums returns the sums over nSamples Monte Carlo inputs (stream
// "target/normalize", the same inputs on every call) of f(features), where
// the features are computed up to layer upTo and f writes dim values into
// out. Sums are formed per chunk and added in chunk order.
func (n *Net) mcSums(ctx context.Context, sp *Spec, upTo, dim int, f func(s [][]float64, out []float64)) ([]float64, error) {
	nc := numChunks(sp.NormSamples)
	part := make([][]float64, nc)
	err := n.runChunks(ctx, nc, sp.Threads, func(c int, w *work) error {
		r := chunkRNG(sp.Seed, "target/normalize", c)
		acc := make([]float64, dim)
		out := make([]float64, dim)
		lo, hi := chunkRange(c, sp.NormSamples)
		for i := lo; i < hi; i++ {
			drawX(r, sp.Input, w.x)
			n.forward(w.x, w.s, upTo)
			f(w.s, out)
			for j, v := range out {
				acc[j] += v
			}
		}
		part[c] = acc
		return nil
	})
	if err != nil {
		return nil, err
	}
	total := make([]float64, dim)
	for _, p := range part {
		for j, v := range p {
			total[j] += v
		}
	}
	return total, nil
}

// NewNet draws the weights of a target network from the stream
// "target/weights" and normalises each row of every layer to unit
// variance on sp.NormSamples Monte Carlo inputs. Mean is left zero; Stats
// computes it.
func NewNet(ctx context.Context, sp *Spec) (*Net, error) {
	n := &Net{D: sp.D, K: sp.K, L: sp.L, Connections: sp.Connections, Center1: sp.Center1,
		Alpha: make([]float64, sp.L+1), W: make([][]*mat.Dense, sp.L+1)}
	r := kit.RNG(sp.Seed, "target/weights")
	for l := 2; l <= sp.L; l++ {
		n.Alpha[l] = math.Pow(sp.Gap, float64(l-2))
		for _, j := range Sources(sp.Connections, l) {
			data := make([]float64, sp.K*n.PhiDim(j))
			for i := range data {
				data[i] = r.NormFloat64()
			}
			n.W[l] = append(n.W[l], mat.NewDense(sp.K, n.PhiDim(j), data))
		}
	}
	if err := n.Check(); err != nil {
		return nil, err
	}
	for l := 2; l <= sp.L; l++ {
		if sp.ProgressFunc != nil {
			sp.ProgressFunc(l-2, sp.L-1, fmt.Sprintf("normalise layer %d", l))
		}
		if err := n.normalizeLayer(ctx, sp, l); err != nil {
			return nil, fmt.Errorf("normalise layer %d: %w", l, err)
		}
	}
	return n, nil
}

// normalizeLayer rescales the rows of layer l (whose lower layers are
// already normalised) so that each coordinate of S*_l has unit Monte Carlo
// variance. Mean and variance come from two passes over the same inputs.
func (n *Net) normalizeLayer(ctx context.Context, sp *Spec, l int) error {
	sum, err := n.mcSums(ctx, sp, l, n.K, func(s [][]float64, out []float64) { copy(out, s[l]) })
	if err != nil {
		return err
	}
	mean := make([]float64, n.K)
	for r, v := range sum {
		mean[r] = v / float64(sp.NormSamples)
	}
	ss, err := n.mcSums(ctx, sp, l, n.K, func(s [][]float64, out []float64) {
		for r, v := range s[l] {
			out[r] = (v - mean[r]) * (v - mean[r])
		}
	})
	if err != nil {
		return err
	}
	for r, v := range ss {
		variance := v / float64(sp.NormSamples)
		if !(variance > 0) || math.IsInf(variance, 0) {
			return fmt.Errorf("row %d has variance %v", r, variance)
		}
		f := 1 / math.Sqrt(variance)
		for _, w := range n.W[l] {
			row := w.RawRowView(r)
			for c := range row {
				row[c] *= f
			}
		}
	}
	return nil
}

// Stats are Monte Carlo moments of the label terms of a network, over the
// norm_samples inputs of the stream "target/normalize".
type Stats struct {
	// TermMean[l] and Cov[a][b] are the mean of T_l = Alpha[l] ||S*_l||^2
	// and the covariance of T_a and T_b, for l, a, b in 2..L.
	TermMean []float64
	Cov      [][]float64
	// Mean is E[sum_l T_l] (the constant subtracted in G*), VarG its
	// variance, M3G and M4G its third and fourth central moments.
	Mean, VarG, M3G, M4G float64
}

// VarPartial returns Var(sum_{l=2..upTo} T_l).
func (st *Stats) VarPartial(upTo int) float64 {
	var v float64
	for a := 2; a <= upTo; a++ {
		for b := 2; b <= upTo; b++ {
			v += st.Cov[a][b]
		}
	}
	return v
}

// maxTerms bounds L-1 so that MCStats can keep the terms of one sample in a
// fixed-size array (no allocation per sample); the L parameter stops at 6.
const maxTerms = 8

// MCStats computes the moments of the label terms of n by Monte Carlo.
func (n *Net) MCStats(ctx context.Context, sp *Spec) (*Stats, error) {
	L := n.L
	if L-1 > maxTerms {
		return nil, fmt.Errorf("MCStats supports at most %d layers, have L=%d", maxTerms+1, L)
	}
	terms := func(s [][]float64, t []float64) {
		for l := 2; l <= L; l++ {
			t[l-2] = n.Alpha[l] * sqNorm(s[l])
		}
	}
	sum, err := n.mcSums(ctx, sp, L, L-1, func(s [][]float64, out []float64) { terms(s, out) })
	if err != nil {
		return nil, err
	}
	N := float64(sp.NormSamples)
	st := &Stats{TermMean: make([]float64, L+1), Cov: make([][]float64, L+1)}
	for l := 2; l <= L; l++ {
		st.TermMean[l] = sum[l-2] / N
		st.Mean += st.TermMean[l]
		st.Cov[l] = make([]float64, L+1)
	}
	// Second pass: cross products of centred terms (upper triangle), then
	// the third and fourth central moments of their sum.
	nt := L - 1
	dim := nt*(nt+1)/2 + 2
	cs, err := n.mcSums(ctx, sp, L, dim, func(s [][]float64, out []float64) {
		var t [maxTerms]float64
		terms(s, t[:nt])
		var g float64
		for a := range nt {
			t[a] -= st.TermMean[a+2]
			g += t[a]
		}
		i := 0
		for a := range nt {
			for b := a; b < nt; b++ {
				out[i] = t[a] * t[b]
				i++
			}
		}
		g2 := g * g
		out[i] = g2 * g
		out[i+1] = g2 * g2
	})
	if err != nil {
		return nil, err
	}
	i := 0
	for a := 2; a <= L; a++ {
		for b := a; b <= L; b++ {
			st.Cov[a][b] = cs[i] / N
			st.Cov[b][a] = st.Cov[a][b]
			i++
		}
	}
	st.VarG = st.VarPartial(L)
	st.M3G = cs[i] / N
	st.M4G = cs[i+1] / N
	return st, nil
}

// Split is a sample of labelled inputs with the target's true features.
type Split struct {
	N int
	X *mat.Dense   // N x D inputs
	Y []float64    // labels: G*(x) plus noise, clipped if label_clip > 0
	G []float64    // G*(x) without noise or clipping
	S []*mat.Dense // S[l] is the N x K matrix of S*_l for l >= 2 (S[0], S[1] nil)
}

// SampleSplit draws N inputs from the stream "target/<name>" and labels
// them; noise comes from "target/noise/<name>". Labels are clipped to
// [-clip, clip] when clip > 0. It returns the split and the number of
// clipped labels.
func (n *Net) SampleSplit(ctx context.Context, sp *Spec, name string, N int, clip float64) (*Split, int, error) {
	out := &Split{N: N, X: mat.NewDense(N, n.D, nil), Y: make([]float64, N), G: make([]float64, N),
		S: make([]*mat.Dense, n.L+1)}
	for l := 2; l <= n.L; l++ {
		out.S[l] = mat.NewDense(N, n.K, nil)
	}
	nc := numChunks(N)
	clipped := make([]int, nc)
	err := n.runChunks(ctx, nc, sp.Threads, func(c int, w *work) error {
		r := chunkRNG(sp.Seed, "target/"+name, c)
		var rn *rand.Rand
		if sp.Noise > 0 {
			rn = chunkRNG(sp.Seed, "target/noise/"+name, c)
		}
		lo, hi := chunkRange(c, N)
		for i := lo; i < hi; i++ {
			x := out.X.RawRowView(i)
			drawX(r, sp.Input, x)
			n.forward(x, w.s, n.L)
			for l := 2; l <= n.L; l++ {
				copy(out.S[l].RawRowView(i), w.s[l])
			}
			g := n.value(w.s)
			if math.IsNaN(g) || math.IsInf(g, 0) {
				return fmt.Errorf("sample %d: G* is %v", i, g)
			}
			y := g
			if rn != nil {
				y += sp.Noise * rn.NormFloat64()
			}
			if clip > 0 && math.Abs(y) > clip {
				y = math.Copysign(clip, y)
				clipped[c]++
			}
			out.G[i], out.Y[i] = g, y
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("sample %s split: %w", name, err)
	}
	total := 0
	for _, v := range clipped {
		total += v
	}
	return out, total, nil
}

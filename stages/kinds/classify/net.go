package classify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/bfc-repro/bfc/stages/lib/optim"
)

// Activation names.
const (
	ReLU = "relu"
	Quad = "quad"
)

// Activations lists the valid activation names.
func Activations() []string { return []string{ReLU, Quad} }

// Shape fixes the sizes of a network.
type Shape struct {
	D       int     // input features
	M       int     // width of every block
	C       int     // classes
	L       int     // blocks
	Act     string  // ReLU or Quad
	ActClip float64 // Quad only: clip pre-activations to [-ActClip, ActClip] before squaring (0: off)
}

// Validate reports an invalid shape.
func (s Shape) Validate() error {
	if s.D < 1 || s.M < 1 || s.C < 2 || s.L < 1 {
		return fmt.Errorf("classify: shape needs d >= 1, width >= 1, classes >= 2, L >= 1; have %d, %d, %d, %d", s.D, s.M, s.C, s.L)
	}
	if s.Act != ReLU && s.Act != Quad {
		return fmt.Errorf("classify: unknown activation %q (want one of %v)", s.Act, Activations())
	}
	if s.ActClip < 0 || math.IsNaN(s.ActClip) {
		return fmt.Errorf("classify: activation clip %v must be >= 0", s.ActClip)
	}
	return nil
}

// In returns P_l, the input width of block l: D for block 1, M + D above.
func (s Shape) In(l int) int {
	if l == 1 {
		return s.D
	}
	return s.M + s.D
}

// Net is the classifier. Slices are indexed by block l = 1..L (index 0 is
// unused): K[l] is M x P_l row-major (columns 0..M-1 act on S_{l-1}, the
// rest on x), B[l] has M entries, the head A[l] is C x M row-major and
// A0[l] has C entries.
type Net struct {
	Shape
	K, B, A, A0 [][]float64
}

// Init holds the initial scales.
type Init struct {
	// Head is the standard deviation of sqrt(M) * A_l entries; 0 starts
	// every head at zero, so that switching a block on does not change the
	// network's output.
	Head float64
}

// blockRNG is the random stream that initialises block l; it depends on
// the block only, so that a network of any depth and a run continued from
// a shallower checkpoint draw the same weights for the same block.
type blockRNG func(l int) *rand.Rand

// New returns a network with K_l entries N(0, g/P_l) (g = 2 for ReLU, He
// initialisation; g = 1 for the quadratic activation), zero biases and
// heads drawn as Init says, block l from rng(l).
func New(s Shape, init Init, rng blockRNG) (*Net, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	n := &Net{Shape: s}
	n.K, n.B, n.A, n.A0 = make([][]float64, s.L+1), make([][]float64, s.L+1), make([][]float64, s.L+1), make([][]float64, s.L+1)
	gain := 2.0
	if s.Act == Quad {
		gain = 1
	}
	for l := 1; l <= s.L; l++ {
		r := rng(l)
		n.K[l] = make([]float64, s.M*s.In(l))
		sd := math.Sqrt(gain / float64(s.In(l)))
		for i := range n.K[l] {
			n.K[l][i] = sd * r.NormFloat64()
		}
		n.B[l] = make([]float64, s.M)
		n.A[l] = make([]float64, s.C*s.M)
		if init.Head > 0 {
			hs := init.Head / math.Sqrt(float64(s.M))
			for i := range n.A[l] {
				n.A[l][i] = hs * r.NormFloat64()
			}
		}
		n.A0[l] = make([]float64, s.C)
	}
	return n, nil
}

// Clone returns a deep copy of n.
func (n *Net) Clone() *Net {
	c := &Net{Shape: n.Shape}
	cp := func(v [][]float64) [][]float64 {
		out := make([][]float64, len(v))
		for i, x := range v {
			out[i] = append([]float64(nil), x...)
		}
		return out
	}
	c.K, c.B, c.A, c.A0 = cp(n.K), cp(n.B), cp(n.A), cp(n.A0)
	return c
}

// Params lists the parameter blocks of n with their names ("K1", "b1",
// "A1", "a1", "K2", ...), in that order.
func (n *Net) Params() []NamedBlock {
	var out []NamedBlock
	for l := 1; l <= n.L; l++ {
		s := strconv.Itoa(l)
		out = append(out,
			NamedBlock{"K" + s, l, n.M, n.In(l), n.K[l]},
			NamedBlock{"b" + s, l, 1, n.M, n.B[l]},
			NamedBlock{"A" + s, l, n.C, n.M, n.A[l]},
			NamedBlock{"a" + s, l, 1, n.C, n.A0[l]})
	}
	return out
}

// NamedBlock is one parameter array of a network.
type NamedBlock struct {
	Name       string
	Layer      int
	Rows, Cols int
	W          []float64
}

// Mask says which blocks contribute to the output (blocks 1..Top) and
// which are trained.
type Mask struct {
	Top       int
	Trainable []bool // indexed by block, 1..L
}

// NewMask builds a mask from a schedule phase's layer lists. The active
// blocks must be 1..Top (every block needs the one below it), and the
// trainable ones a subset of them.
func NewMask(L int, active, trainable []int) (Mask, error) {
	m := Mask{Top: len(active), Trainable: make([]bool, L+1)}
	for i, l := range active {
		if l != i+1 {
			return Mask{}, fmt.Errorf("classify: active blocks %v are not 1..%d", active, len(active))
		}
	}
	if m.Top < 1 || m.Top > L {
		return Mask{}, fmt.Errorf("classify: %d active blocks, the network has %d", m.Top, L)
	}
	for _, l := range trainable {
		if l < 1 || l > m.Top {
			return Mask{}, fmt.Errorf("classify: trainable block %d is not active (active 1..%d)", l, m.Top)
		}
		m.Trainable[l] = true
	}
	return m, nil
}

// lowest returns the lowest trainable block, or Top+1 if none is.
func (m Mask) lowest() int {
	for l := 1; l <= m.Top; l++ {
		if m.Trainable[l] {
			return l
		}
	}
	return m.Top + 1
}

// Workspace holds the buffers of forward and backward passes over up to
// Rows samples, so that training steps do not allocate. It belongs to one
// network shape and one goroutine.
type Workspace struct {
	s    Shape
	Rows int
	x    []float64   // gathered inputs, Rows x D
	z, h [][]float64 // pre-activations and outputs S_l, Rows x M
	out  []float64   // logits, then softmax probabilities, Rows x C
	gz   []float64   // dloss/dZ_l, Rows x M
	gs   []float64   // dloss/dS_l, Rows x M
	// Grad holds the gradients of the last LossGrad call, shaped like the
	// network's parameters (zero for blocks that were not trainable).
	Grad   *Net
	blocks []optim.Block
	// the parameter lists of the network last passed to Blocks and of Grad
	netOf         *Net
	params, grads []NamedBlock
}

// NewWorkspace allocates buffers for rows samples.
func NewWorkspace(s Shape, rows int) *Workspace {
	ws := &Workspace{s: s, Rows: rows, x: make([]float64, rows*s.D), out: make([]float64, rows*s.C),
		gz: make([]float64, rows*s.M), gs: make([]float64, rows*s.M),
		z: make([][]float64, s.L+1), h: make([][]float64, s.L+1)}
	for l := 1; l <= s.L; l++ {
		ws.z[l] = make([]float64, rows*s.M)
		ws.h[l] = make([]float64, rows*s.M)
	}
	ws.Grad = &Net{Shape: s}
	ws.Grad.K, ws.Grad.B, ws.Grad.A, ws.Grad.A0 = make([][]float64, s.L+1), make([][]float64, s.L+1), make([][]float64, s.L+1), make([][]float64, s.L+1)
	for l := 1; l <= s.L; l++ {
		ws.Grad.K[l] = make([]float64, s.M*s.In(l))
		ws.Grad.B[l] = make([]float64, s.M)
		ws.Grad.A[l] = make([]float64, s.C*s.M)
		ws.Grad.A0[l] = make([]float64, s.C)
	}
	return ws
}

func general(rows, cols, stride int, data []float64) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: stride, Data: data}
}

// Tile sizes of gemm: a tile of tileRows x tileCols output entries spans
// fewer than four 64 x 64 blocks, so gonum's pure-Go Dgemm computes it in
// the calling goroutine, without allocating, each entry summed over k in
// order.
const (
	tileRows = 64
	tileCols = 192
)

// gemm computes c = alpha op(a) op(b) + beta c like blas64.Gemm, tile by
// tile, so that gonum's pure-Go implementation never spawns goroutines:
// a step allocates nothing, uses the one CPU the kind asks for, and its
// results cannot depend on GOMAXPROCS.
func gemm(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	for i0 := 0; i0 < c.Rows; i0 += tileRows {
		i1 := min(i0+tileRows, c.Rows)
		as := a
		if tA == blas.NoTrans {
			as.Rows, as.Data = i1-i0, a.Data[i0*a.Stride:]
		} else {
			as.Cols, as.Data = i1-i0, a.Data[i0:]
		}
		for j0 := 0; j0 < c.Cols; j0 += tileCols {
			j1 := min(j0+tileCols, c.Cols)
			bs := b
			if tB == blas.NoTrans {
				bs.Cols, bs.Data = j1-j0, b.Data[j0:]
			} else {
				bs.Rows, bs.Data = j1-j0, b.Data[j0*b.Stride:]
			}
			cs := blas64.General{Rows: i1 - i0, Cols: j1 - j0, Stride: c.Stride, Data: c.Data[i0*c.Stride+j0:]}
			blas64.Gemm(tA, tB, alpha, as, bs, beta, cs)
		}
	}
}

// activate sets h = sigma(z) entrywise.
func (s Shape) activate(z, h []float64) {
	switch s.Act {
	case ReLU:
		for i, v := range z {
			h[i] = max(v, 0)
		}
	default:
		c := s.ActClip
		for i, v := range z {
			if c > 0 {
				v = min(max(v, -c), c)
			}
			h[i] = (v*v - 1) / math.Sqrt2
		}
	}
}

// activateGrad sets gz = gs * sigma'(z) entrywise.
func (s Shape) activateGrad(z, gs, gz []float64) {
	switch s.Act {
	case ReLU:
		for i, v := range z {
			if v > 0 {
				gz[i] = gs[i]
			} else {
				gz[i] = 0
			}
		}
	default:
		c := s.ActClip
		for i, v := range z {
			if c > 0 && (v > c || v < -c) {
				gz[i] = 0
			} else {
				gz[i] = gs[i] * math.Sqrt2 * v
			}
		}
	}
}

// forward computes Z_l, S_l for l = 1..top and the logits of the first
// rows gathered inputs ws.x.
func (n *Net) forward(ws *Workspace, rows, top int) {
	s := n.Shape
	D, M, C := s.D, s.M, s.C
	x := general(rows, D, D, ws.x)
	for l := 1; l <= top; l++ {
		P := s.In(l)
		z := general(rows, M, M, ws.z[l])
		for i := range rows {
			copy(z.Data[i*M:(i+1)*M], n.B[l])
		}
		if l == 1 {
			gemm(blas.NoTrans, blas.Trans, 1, x, general(M, D, P, n.K[l]), 1, z)
		} else {
			gemm(blas.NoTrans, blas.Trans, 1, general(rows, M, M, ws.h[l-1]), general(M, M, P, n.K[l]), 1, z)
			gemm(blas.NoTrans, blas.Trans, 1, x, general(M, D, P, n.K[l][M:]), 1, z)
		}
		s.activate(ws.z[l][:rows*M], ws.h[l][:rows*M])
	}
	out := general(rows, C, C, ws.out)
	for i := range rows {
		o := out.Data[i*C : (i+1)*C]
		clear(o)
		for l := 1; l <= top; l++ {
			for c, v := range n.A0[l] {
				o[c] += v
			}
		}
	}
	for l := 1; l <= top; l++ {
		gemm(blas.NoTrans, blas.Trans, 1, general(rows, M, M, ws.h[l]), general(C, M, M, n.A[l]), 1, out)
	}
}

// softmaxLoss turns the logits of the first rows samples into
// probabilities in place and returns the summed cross-entropy against y
// and the number of correct arg-max predictions (ties go to the lowest
// class).
func softmaxLoss(out []float64, C, rows int, y func(i int) int) (loss float64, correct int, err error) {
	for i := range rows {
		o := out[i*C : (i+1)*C]
		best := 0
		for c := 1; c < C; c++ {
			if o[c] > o[best] {
				best = c
			}
		}
		mx := o[best]
		if math.IsNaN(mx) || math.IsInf(mx, 0) {
			return 0, 0, fmt.Errorf("logit of sample %d is %v", i, mx)
		}
		var sum float64
		for c, v := range o {
			e := math.Exp(v - mx)
			o[c] = e
			sum += e
		}
		yi := y(i)
		loss += math.Log(sum) - math.Log(o[yi])
		for c := range o {
			o[c] /= sum
		}
		if best == yi {
			correct++
		}
	}
	return loss, correct, nil
}

// Stats are the loss and accuracy of one batch.
type Stats struct {
	Loss    float64 // mean cross-entropy (natural log)
	Correct int     // correct arg-max predictions
}

// LossGrad gathers the samples idx of x (row-major, D columns) with
// labels y, runs the forward pass through the active blocks and, for
// every trainable block, leaves the gradient of the mean cross-entropy in
// ws.Grad (other blocks' gradients are zero). len(idx) must not exceed
// ws.Rows.
func (n *Net) LossGrad(ws *Workspace, x []float64, y []int, idx []int, m Mask) (Stats, error) {
	s := n.Shape
	D, M, C := s.D, s.M, s.C
	rows := len(idx)
	if rows == 0 || rows > ws.Rows {
		return Stats{}, fmt.Errorf("classify: batch of %d samples, workspace holds %d", rows, ws.Rows)
	}
	for i, r := range idx {
		copy(ws.x[i*D:(i+1)*D], x[r*D:(r+1)*D])
	}
	n.forward(ws, rows, m.Top)
	loss, correct, err := softmaxLoss(ws.out, C, rows, func(i int) int { return y[idx[i]] })
	if err != nil {
		return Stats{}, fmt.Errorf("classify: forward: %w", err)
	}
	// G = (P - onehot(y)) / rows, in place of the probabilities.
	inv := 1 / float64(rows)
	for i := range rows {
		o := ws.out[i*C : (i+1)*C]
		o[y[idx[i]]] -= 1
		for c := range o {
			o[c] *= inv
		}
	}
	g := general(rows, C, C, ws.out)
	xg := general(rows, D, D, ws.x)
	low := m.lowest()
	gr := ws.Grad
	for l := 1; l <= s.L; l++ {
		if !m.Trainable[l] || l > m.Top {
			clear(gr.K[l])
			clear(gr.B[l])
			clear(gr.A[l])
			clear(gr.A0[l])
		}
	}
	gs := general(rows, M, M, ws.gs)
	gz := general(rows, M, M, ws.gz)
	for l := m.Top; l >= low; l-- {
		P := s.In(l)
		h := general(rows, M, M, ws.h[l])
		if m.Trainable[l] {
			gemm(blas.Trans, blas.NoTrans, 1, g, h, 0, general(C, M, M, gr.A[l]))
			colSums(g, gr.A0[l])
		}
		// dS_l = G A_l (+ dZ_{l+1} K_{l+1}[:, :M], already in gs when l < Top)
		beta := 1.0
		if l == m.Top {
			beta = 0
		}
		gemm(blas.NoTrans, blas.NoTrans, 1, g, general(C, M, M, n.A[l]), beta, gs)
		s.activateGrad(ws.z[l][:rows*M], ws.gs[:rows*M], ws.gz[:rows*M])
		if m.Trainable[l] {
			colSums(gz, gr.B[l])
			if l == 1 {
				gemm(blas.Trans, blas.NoTrans, 1, gz, xg, 0, general(M, D, P, gr.K[l]))
			} else {
				gemm(blas.Trans, blas.NoTrans, 1, gz, general(rows, M, M, ws.h[l-1]), 0, general(M, M, P, gr.K[l]))
				gemm(blas.Trans, blas.NoTrans, 1, gz, xg, 0, general(M, D, P, gr.K[l][M:]))
			}
		}
		if l > low {
			// dS_{l-1} = dZ_l K_l[:, :M]
			gemm(blas.NoTrans, blas.NoTrans, 1, gz, general(M, M, P, n.K[l]), 0, gs)
		}
	}
	return Stats{Loss: loss * inv, Correct: correct}, nil
}

// colSums sets dst[j] to the sum of column j of a.
func colSums(a blas64.General, dst []float64) {
	clear(dst)
	for i := range a.Rows {
		for j, v := range a.Data[i*a.Stride : i*a.Stride+a.Cols] {
			dst[j] += v
		}
	}
}

// Evaluate returns the summed cross-entropy and the number of correct
// predictions of the active blocks of n on the samples x (row-major, D
// columns) with labels y, in batches of ws.Rows.
func (n *Net) Evaluate(ws *Workspace, x []float64, y []int, top int) (lossSum float64, correct int, err error) {
	D := n.D
	N := len(y)
	for start := 0; start < N; start += ws.Rows {
		rows := min(ws.Rows, N-start)
		copy(ws.x, x[start*D:(start+rows)*D])
		n.forward(ws, rows, top)
		l, c, err := softmaxLoss(ws.out, n.C, rows, func(i int) int { return y[start+i] })
		if err != nil {
			return 0, 0, fmt.Errorf("classify: evaluate samples %d..%d: %w", start, start+rows-1, err)
		}
		lossSum += l
		correct += c
	}
	return lossSum, correct, nil
}

// Blocks returns the optimiser blocks of the active blocks of n with
// their gradients in ws.Grad; blocks that are not trainable are frozen.
// The slice is reused by the next call.
func (ws *Workspace) Blocks(n *Net, m Mask) []optim.Block {
	ws.blocks = ws.blocks[:0]
	if ws.netOf != n {
		ws.netOf, ws.params, ws.grads = n, n.Params(), ws.Grad.Params()
	}
	for i, p := range ws.params {
		if p.Layer > m.Top {
			continue
		}
		ws.blocks = append(ws.blocks, optim.Block{Name: p.Name, W: p.W, G: ws.grads[i].W, LRScale: 1, Frozen: !m.Trainable[p.Layer]})
	}
	return ws.blocks
}

// Package twolayer is the shallow-network baseline: one hidden layer of
// width m with a quadratic or ReLU activation, trained by minibatch SGD or
// Adam through stages/lib/optim.
//
// # Model
//
//	f(x) = b + Σ_{r=1..m} a_r σ(h_r),   h_r = w_r·x/√d + c_r,
//
// σ(h) = h² ("quad") or max(h, 0) ("relu"). The network is trained on
// standardised labels (y − ȳ)/sd(y) with the mean squared error; Predict
// undoes the standardisation. With σ(h) = h² the network is a quadratic
// polynomial of x whatever m is (Σ a_r (w_r·x)² is a quadratic form), so it
// can only fit the degree-≤2 part of the target: that is the point of the
// quadratic baseline. The ReLU network can approximate higher degrees as m
// grows.
//
// Initialisation (seeded): w_r ~ N(0, I_d) so that h_r ~ N(0, 1) for
// Gaussian x, c_r = 0, a_r ~ N(0, 1/m), b = 0.
//
// # Gradients
//
// For a batch of B samples with residuals ρ_i = f(x_i) − y_i and loss
// (1/B) Σ ρ_i², let g_i = 2ρ_i/B. Then ∂b = Σ g_i, ∂a_r = Σ_i g_i σ(h_ir),
// δ_ir = g_i a_r σ'(h_ir), ∂c_r = Σ_i δ_ir and ∂w_r = Σ_i δ_ir x_i/√d. The
// matrix products (H = X Wᵀ/√d, ∂W = δᵀX/√d) are blas64.Gemm calls on
// preallocated buffers; a training step allocates nothing.
//
// # Training
//
// The last ValFrac of the n samples is held out. Training runs a fixed
// number of optimiser steps (so the cost does not depend on n), drawing
// minibatches from a seeded permutation reshuffled each epoch; every
// EvalEvery steps the validation error is measured and the parameters with
// the smallest one are kept (early stopping). The model is not refitted on
// the validation samples.
package twolayer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
	"github.com/bfc-repro/bfc/stages/lib/optim"
)

// Activations lists the valid activation names.
func Activations() []string { return []string{"quad", "relu"} }

// Net holds the parameters of a two-layer network on d inputs with m
// hidden units. W is row-major m×d.
type Net struct {
	D, M       int
	Activation string
	W, C, A    []float64
	B          []float64 // one value; a slice so that it can be an optimiser block
}

// NewNet returns a network initialised from the random stream
// "twolayer/init" of seed (see the package documentation).
func NewNet(d, m int, activation string, seed uint64) (*Net, error) {
	if d < 1 || m < 1 {
		return nil, fmt.Errorf("two-layer network needs d >= 1 and width >= 1, have %d and %d", d, m)
	}
	if activation != "quad" && activation != "relu" {
		return nil, fmt.Errorf("unknown activation %q (want one of %v)", activation, Activations())
	}
	n := &Net{D: d, M: m, Activation: activation, W: make([]float64, m*d), C: make([]float64, m), A: make([]float64, m), B: make([]float64, 1)}
	r := kit.RNG(seed, "twolayer/init")
	for i := range n.W {
		n.W[i] = r.NormFloat64()
	}
	s := 1 / math.Sqrt(float64(m))
	for i := range n.A {
		n.A[i] = s * r.NormFloat64()
	}
	return n, nil
}

func (n *Net) clone() *Net {
	c := *n
	c.W, c.C, c.A, c.B = append([]float64(nil), n.W...), append([]float64(nil), n.C...), append([]float64(nil), n.A...), append([]float64(nil), n.B...)
	return &c
}

func (n *Net) copyFrom(o *Net) {
	copy(n.W, o.W)
	copy(n.C, o.C)
	copy(n.A, o.A)
	copy(n.B, o.B)
}

// Params returns the number of parameters, m(d+2)+1.
func (n *Net) Params() int { return n.M*(n.D+2) + 1 }

// work holds the buffers of one batch size.
type work struct {
	h, s, delta []float64 // B×m: pre-activations, activations, δ
	out, g      []float64 // B
	gW, gC      []float64
	gA, gB      []float64
}

func newWork(n *Net, batch int) *work {
	return &work{h: make([]float64, batch*n.M), s: make([]float64, batch*n.M), delta: make([]float64, batch*n.M),
		out: make([]float64, batch), g: make([]float64, batch),
		gW: make([]float64, len(n.W)), gC: make([]float64, n.M), gA: make([]float64, n.M), gB: make([]float64, 1)}
}

// forward computes the outputs of the rows of x (B×d, row-major with
// stride d) into w.out, keeping h and σ(h) in w.
func (n *Net) forward(x blas64.General, w *work) {
	bsz, m := x.Rows, n.M
	h := blas64.General{Rows: bsz, Cols: m, Stride: m, Data: w.h[:bsz*m]}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1/math.Sqrt(float64(n.D)), x, blas64.General{Rows: m, Cols: n.D, Stride: n.D, Data: n.W}, 0, h)
	quad := n.Activation == "quad"
	for i := 0; i < bsz; i++ {
		hr := w.h[i*m : (i+1)*m]
		sr := w.s[i*m : (i+1)*m]
		o := n.B[0]
		for r := range hr {
			v := hr[r] + n.C[r]
			hr[r] = v
			if quad {
				sr[r] = v * v
			} else {
				sr[r] = max(v, 0)
			}
			o += n.A[r] * sr[r]
		}
		w.out[i] = o
	}
}

// lossGrad computes the batch loss (1/B)Σ(f(x_i) − y_i)² and its gradient
// into w.gW, w.gC, w.gA, w.gB.
func (n *Net) lossGrad(x blas64.General, y []float64, w *work) float64 {
	n.forward(x, w)
	bsz, m := x.Rows, n.M
	var loss, gb float64
	for i := 0; i < bsz; i++ {
		r := w.out[i] - y[i]
		loss += r * r
		w.g[i] = 2 * r / float64(bsz)
		gb += w.g[i]
	}
	w.gB[0] = gb
	clear(w.gA)
	clear(w.gC)
	quad := n.Activation == "quad"
	for i := 0; i < bsz; i++ {
		gi := w.g[i]
		hr := w.h[i*m : (i+1)*m]
		sr := w.s[i*m : (i+1)*m]
		dr := w.delta[i*m : (i+1)*m]
		for r := range hr {
			w.gA[r] += gi * sr[r]
			var dsig float64
			if quad {
				dsig = 2 * hr[r]
			} else if hr[r] > 0 {
				dsig = 1
			}
			dr[r] = gi * n.A[r] * dsig
			w.gC[r] += dr[r]
		}
	}
	blas64.Gemm(blas.Trans, blas.NoTrans, 1/math.Sqrt(float64(n.D)), blas64.General{Rows: bsz, Cols: m, Stride: m, Data: w.delta[:bsz*m]}, x,
		0, blas64.General{Rows: m, Cols: n.D, Stride: n.D, Data: w.gW})
	return loss / float64(bsz)
}

// predictStd returns the network outputs for the rows of x in blocks of
// evalRows (fixed, so the values do not depend on anything else).
func (n *Net) predictStd(x *mat.Dense, w *work, evalRows int) []float64 {
	rows, d := x.Dims()
	out := make([]float64, rows)
	raw := x.RawMatrix()
	for i0 := 0; i0 < rows; i0 += evalRows {
		i1 := min(i0+evalRows, rows)
		n.forward(blas64.General{Rows: i1 - i0, Cols: d, Stride: raw.Stride, Data: raw.Data[i0*raw.Stride : (i1-1)*raw.Stride+d]}, w)
		copy(out[i0:i1], w.out[:i1-i0])
	}
	return out
}

// Config controls Fit.
type Config struct {
	Activation string
	Width      int
	Steps      int // optimiser steps
	Batch      int // minibatch size (capped at the number of training samples)
	LR         float64
	Optim      optim.Config
	Schedule   optim.Schedule
	ValFrac    float64 // held-out fraction for early stopping; 0: keep the last parameters
	EvalEvery  int     // steps between validation checks (and progress reports)
	Seed       uint64  // initialisation and minibatch order
	// Progress, if not nil, is called after each evaluation.
	Progress func(done, total int, msg string)
	// Logf, if not nil, receives a summary line.
	Logf func(format string, args ...any)
}

// Model is a trained network with the label standardisation.
type Model struct {
	Net         *Net
	YMean, YStd float64
}

// Info describes a training run.
type Info struct {
	NTrain, NVal int
	BestStep     int     // step whose parameters were kept
	ValRelErr    float64 // validation relative error at BestStep (NaN without validation)
	FinalLoss    float64 // training minibatch loss (standardised labels) at the last step
}

// evalRows is the block size for evaluation passes.
const evalRows = 512

// Fit trains a two-layer network on the rows of x and labels y.
func Fit(ctx context.Context, x *mat.Dense, y []float64, cfg Config) (*Model, Info, error) {
	n, d := x.Dims()
	var info Info
	if len(y) != n {
		return nil, info, fmt.Errorf("two-layer network: %d inputs, %d labels", n, len(y))
	}
	if cfg.Steps < 1 || cfg.Batch < 1 || cfg.EvalEvery < 1 || !(cfg.LR > 0) {
		return nil, info, fmt.Errorf("two-layer network: need steps, batch, eval_every >= 1 and lr > 0, have %d, %d, %d, %g", cfg.Steps, cfg.Batch, cfg.EvalEvery, cfg.LR)
	}
	if err := cfg.Schedule.Validate(); err != nil {
		return nil, info, err
	}
	if cfg.ValFrac < 0 || cfg.ValFrac >= 1 {
		return nil, info, fmt.Errorf("two-layer network: validation fraction %g is not in [0, 1)", cfg.ValFrac)
	}
	nVal := int(math.Round(cfg.ValFrac * float64(n)))
	nTr := n - nVal
	if nTr < 1 {
		return nil, info, fmt.Errorf("two-layer network: n = %d leaves no training samples", n)
	}
	info.NTrain, info.NVal = nTr, nVal
	net, err := NewNet(d, cfg.Width, cfg.Activation, cfg.Seed)
	if err != nil {
		return nil, info, err
	}
	opt, err := optim.New(cfg.Optim)
	if err != nil {
		return nil, info, err
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ymean, yvar := stat.PopMeanVariance(y[:nTr], nil)
	ystd := math.Sqrt(yvar)
	if !(ystd > 0) {
		return nil, info, fmt.Errorf("two-layer network: training labels have standard deviation %g", ystd)
	}
	model := &Model{Net: net, YMean: ymean, YStd: ystd}
	ys := make([]float64, n)
	for i := range ys {
		ys[i] = (y[i] - ymean) / ystd
	}
	var xval *mat.Dense
	if nVal > 0 {
		xval = x.Slice(nTr, n, 0, d).(*mat.Dense)
	}

	batch := min(cfg.Batch, nTr)
	w := newWork(net, max(batch, evalRows))
	xb := make([]float64, batch*d)
	yb := make([]float64, batch)
	perm := make([]int, nTr)
	for i := range perm {
		perm[i] = i
	}
	shuffle := kit.RNG(cfg.Seed, "twolayer/batches")
	pos := nTr // forces a shuffle before the first batch
	blocks := []optim.Block{
		{Name: "W", W: net.W, G: w.gW, LRScale: 1},
		{Name: "c", W: net.C, G: w.gC, LRScale: 1},
		{Name: "a", W: net.A, G: w.gA, LRScale: 1},
		{Name: "b", W: net.B, G: w.gB, LRScale: 1},
	}
	best := net.clone()
	bestErr := math.Inf(1)
	info.ValRelErr = math.NaN()
	evals := (cfg.Steps + cfg.EvalEvery - 1) / cfg.EvalEvery
	t0 := time.Now()
	raw := x.RawMatrix()
	for step := 0; step < cfg.Steps; step++ {
		if pos+batch > nTr {
			shuffle.Shuffle(nTr, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			pos = 0
		}
		for i := 0; i < batch; i++ {
			src := perm[pos+i]
			copy(xb[i*d:(i+1)*d], raw.Data[src*raw.Stride:src*raw.Stride+d])
			yb[i] = ys[src]
		}
		pos += batch
		loss := net.lossGrad(blas64.General{Rows: batch, Cols: d, Stride: d, Data: xb}, yb, w)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, info, fmt.Errorf("two-layer network (%s, width %d): loss is %v at step %d", cfg.Activation, cfg.Width, loss, step)
		}
		info.FinalLoss = loss
		if _, err := opt.Step(blocks, cfg.Schedule.Rate(cfg.LR, step, cfg.Steps)); err != nil {
			return nil, info, fmt.Errorf("two-layer network (%s, width %d), step %d: %w", cfg.Activation, cfg.Width, step, err)
		}
		if (step+1)%cfg.EvalEvery == 0 || step+1 == cfg.Steps {
			if err := ctx.Err(); err != nil {
				return nil, info, err
			}
			msg := fmt.Sprintf("loss %.4g", loss)
			if nVal > 0 {
				e, err := metrics.RelErr(net.predictStd(xval, w, evalRows), ys[nTr:])
				if err != nil {
					return nil, info, fmt.Errorf("two-layer network: validation: %w", err)
				}
				msg += fmt.Sprintf(" val %.4g", e)
				if e < bestErr {
					bestErr = e
					best.copyFrom(net)
					info.BestStep = step + 1
					info.ValRelErr = e
				}
			}
			if cfg.Progress != nil {
				cfg.Progress((step+1+cfg.EvalEvery-1)/cfg.EvalEvery, evals, msg)
			}
		}
	}
	if nVal > 0 {
		if math.IsInf(bestErr, 1) {
			return nil, info, errors.New("two-layer network: no finite validation error")
		}
		net.copyFrom(best)
	} else {
		info.BestStep = cfg.Steps
	}
	logf("two-layer %s network, width %d: %d steps of batch %d in %v; kept step %d (validation relative error %.4g)",
		cfg.Activation, cfg.Width, cfg.Steps, batch, time.Since(t0).Round(time.Millisecond), info.BestStep, info.ValRelErr)
	return model, info, nil
}

// Predict returns the model's predictions for the rows of x.
func (m *Model) Predict(x *mat.Dense) ([]float64, error) {
	if _, d := x.Dims(); d != m.Net.D {
		return nil, fmt.Errorf("predict: inputs have %d columns, network has %d", d, m.Net.D)
	}
	w := newWork(m.Net, evalRows)
	out := m.Net.predictStd(x, w, evalRows)
	for i := range out {
		out[i] = m.YMean + m.YStd*out[i]
	}
	return out, nil
}

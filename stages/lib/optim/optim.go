// Package optim holds the first-order optimisers shared by the bfc learners:
// minibatch SGD with (heavy-ball) momentum and Adam, applied to named blocks
// of parameters, with per-block learning-rate multipliers, frozen blocks,
// global gradient-norm clipping and learning-rate schedules.
//
// A model exposes its parameters as Blocks: a Block pairs a parameter slice W
// with its gradient G (same length), a multiplier LRScale of the global rate
// and a Frozen flag. One call of Optimizer.Step updates every block that is
// not frozen:
//
//  1. the global norm ||g|| over all non-frozen blocks is computed; if Clip > 0
//     and ||g|| > Clip, every gradient is scaled by Clip/||g|| (in place);
//  2. if WeightDecay > 0, wd*w is added to the gradient (coupled L2 decay, as in
//     torch.optim);
//  3. each block is updated with rate lr*LRScale:
//     SGD:  v = mu*v + g;  w -= rate*v   (mu = 0: plain SGD)
//     Adam: m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
//     w -= rate * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
//     where t counts the steps in which this block was updated (so a block
//     that is switched on late starts with its own bias correction).
//
// Optimiser state (moments, step counts) is kept per block name, so blocks
// may appear and disappear between steps (a layer switched on, a layer
// frozen) and the state survives. State can be exported and imported to
// continue training from a checkpoint.
//
// Learning-rate schedules (Schedule) give the global rate at a step within a
// run of a given length: constant, or cosine decay to a final fraction, each
// with an optional linear warm-up.
//
// Step does not allocate once every block has been seen.
package optim

import (
	"fmt"
	"math"
	"slices"
)

// Block is one named parameter array with its gradient.
type Block struct {
	Name    string    // unique name, used to key the optimiser state
	W       []float64 // parameters, updated in place
	G       []float64 // gradient of the loss with respect to W; len(G) == len(W)
	LRScale float64   // multiplier of the global learning rate; must be > 0 unless Frozen
	Frozen  bool      // frozen blocks are neither updated nor counted in the clipping norm
}

// Method names an optimiser.
type Method string

// The optimisers.
const (
	SGD  Method = "sgd"
	Adam Method = "adam"
)

// Methods lists the valid Method names.
func Methods() []string { return []string{string(SGD), string(Adam)} }

// Config configures an Optimizer.
type Config struct {
	Method      Method
	Momentum    float64 // SGD heavy-ball momentum in [0, 1)
	Beta1       float64 // Adam first-moment decay in [0, 1); 0.9 is usual
	Beta2       float64 // Adam second-moment decay in [0, 1); 0.999 is usual
	Eps         float64 // Adam denominator guard; 1e-8 is usual
	Clip        float64 // global gradient-norm bound; 0 disables clipping
	WeightDecay float64 // coupled L2 decay added to the gradient; 0 disables it
}

// DefaultAdam returns the usual Adam settings (beta1 0.9, beta2 0.999, eps 1e-8).
func DefaultAdam() Config {
	return Config{Method: Adam, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Validate reports the first invalid field of c.
func (c Config) Validate() error {
	switch c.Method {
	case SGD:
		if c.Momentum < 0 || c.Momentum >= 1 {
			return fmt.Errorf("optim: momentum %v not in [0, 1)", c.Momentum)
		}
	case Adam:
		if c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 {
			return fmt.Errorf("optim: Adam betas (%v, %v) not in [0, 1)", c.Beta1, c.Beta2)
		}
		if !(c.Eps > 0) {
			return fmt.Errorf("optim: Adam eps %v must be > 0", c.Eps)
		}
	default:
		return fmt.Errorf("optim: unknown method %q (want one of %v)", c.Method, Methods())
	}
	if c.Clip < 0 || math.IsNaN(c.Clip) {
		return fmt.Errorf("optim: clip %v must be >= 0", c.Clip)
	}
	if c.WeightDecay < 0 || math.IsNaN(c.WeightDecay) {
		return fmt.Errorf("optim: weight decay %v must be >= 0", c.WeightDecay)
	}
	return nil
}

// State is the optimiser state of one block. For SGD, M is the velocity and
// V is empty; for Adam, M and V are the first and second moments.
type State struct {
	Name  string
	Steps int // number of updates applied to this block
	M, V  []float64
}

// Optimizer updates blocks in place. It is not safe for concurrent use.
type Optimizer struct {
	cfg   Config
	state []State
	index map[string]int
	idx   []int // scratch: state index of each block in the current Step
}

// New returns an optimiser with empty state.
func New(cfg Config) (*Optimizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Optimizer{cfg: cfg, index: map[string]int{}}, nil
}

// Config returns the optimiser's configuration.
func (o *Optimizer) Config() Config { return o.cfg }

func (o *Optimizer) stateIndex(b *Block) (int, error) {
	i, ok := o.index[b.Name]
	if !ok {
		s := State{Name: b.Name, M: make([]float64, len(b.W))}
		if o.cfg.Method == Adam {
			s.V = make([]float64, len(b.W))
		}
		o.state = append(o.state, s)
		i = len(o.state) - 1
		o.index[b.Name] = i
	}
	if n := len(o.state[i].M); n != len(b.W) {
		return 0, fmt.Errorf("optim: block %q has %d parameters, its state has %d", b.Name, len(b.W), n)
	}
	return i, nil
}

// GradNorm returns the Euclidean norm of the gradients of the non-frozen blocks.
func GradNorm(blocks []Block) float64 {
	// Scaled sum of squares (as in BLAS dnrm2) so that huge gradients do not
	// overflow before clipping can act on them.
	scale, ssq := 0.0, 1.0
	for i := range blocks {
		if blocks[i].Frozen {
			continue
		}
		for _, g := range blocks[i].G {
			if g == 0 {
				continue
			}
			a := math.Abs(g)
			if scale < a {
				ssq = 1 + ssq*(scale/a)*(scale/a)
				scale = a
			} else {
				ssq += (a / scale) * (a / scale)
			}
		}
	}
	if math.IsInf(scale, 0) || math.IsNaN(scale) {
		return scale
	}
	return scale * math.Sqrt(ssq)
}

// Step applies one update with global learning rate lr to every non-frozen
// block. It returns the gradient norm before clipping. It fails, without
// changing any parameter, if a gradient is not finite, if a block's
// gradient and parameters differ in length, if a block name repeats, or if
// a non-frozen block has LRScale <= 0.
func (o *Optimizer) Step(blocks []Block, lr float64) (gradNorm float64, err error) {
	for i := range blocks {
		b := &blocks[i]
		if len(b.G) != len(b.W) {
			return 0, fmt.Errorf("optim: block %q has %d parameters and %d gradients", b.Name, len(b.W), len(b.G))
		}
		for j := range i {
			if blocks[j].Name == b.Name {
				return 0, fmt.Errorf("optim: block name %q used twice", b.Name)
			}
		}
		if !b.Frozen && !(b.LRScale > 0) {
			return 0, fmt.Errorf("optim: block %q has learning-rate scale %v, want > 0", b.Name, b.LRScale)
		}
	}
	norm := GradNorm(blocks)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, fmt.Errorf("optim: gradient norm is %v", norm)
	}
	o.idx = o.idx[:0]
	for i := range blocks {
		k := -1
		if !blocks[i].Frozen {
			if k, err = o.stateIndex(&blocks[i]); err != nil {
				return norm, err
			}
		}
		o.idx = append(o.idx, k)
	}
	clipScale := 1.0
	if o.cfg.Clip > 0 && norm > o.cfg.Clip {
		clipScale = o.cfg.Clip / norm
	}
	for i := range blocks {
		b := &blocks[i]
		if b.Frozen {
			continue
		}
		s := &o.state[o.idx[i]]
		if clipScale != 1 {
			for j := range b.G {
				b.G[j] *= clipScale
			}
		}
		if wd := o.cfg.WeightDecay; wd > 0 {
			for j, w := range b.W {
				b.G[j] += wd * w
			}
		}
		rate := lr * b.LRScale
		s.Steps++
		switch o.cfg.Method {
		case SGD:
			mu := o.cfg.Momentum
			for j, g := range b.G {
				v := mu*s.M[j] + g
				s.M[j] = v
				b.W[j] -= rate * v
			}
		case Adam:
			b1, b2, eps := o.cfg.Beta1, o.cfg.Beta2, o.cfg.Eps
			c1 := 1 - math.Pow(b1, float64(s.Steps))
			c2 := 1 - math.Pow(b2, float64(s.Steps))
			step := rate / c1
			for j, g := range b.G {
				m := b1*s.M[j] + (1-b1)*g
				v := b2*s.V[j] + (1-b2)*g*g
				s.M[j], s.V[j] = m, v
				b.W[j] -= step * m / (math.Sqrt(v/c2) + eps)
			}
		}
	}
	return norm, nil
}

// Export returns a deep copy of the optimiser state, one entry per block
// seen so far, in the order the blocks were first seen.
func (o *Optimizer) Export() []State {
	out := make([]State, len(o.state))
	for i, s := range o.state {
		out[i] = State{Name: s.Name, Steps: s.Steps, M: slices.Clone(s.M), V: slices.Clone(s.V)}
	}
	return out
}

// Import replaces the optimiser state by a deep copy of states (as returned
// by Export of an optimiser with the same method).
func (o *Optimizer) Import(states []State) error {
	o.state = o.state[:0]
	o.index = map[string]int{}
	for _, s := range states {
		if _, dup := o.index[s.Name]; dup {
			return fmt.Errorf("optim: import: block %q twice", s.Name)
		}
		if o.cfg.Method == Adam && len(s.V) != len(s.M) {
			return fmt.Errorf("optim: import: block %q has %d first and %d second moments", s.Name, len(s.M), len(s.V))
		}
		if o.cfg.Method == SGD && len(s.V) != 0 {
			return fmt.Errorf("optim: import: block %q has second moments, which SGD does not use", s.Name)
		}
		if s.Steps < 0 {
			return fmt.Errorf("optim: import: block %q has %d steps", s.Name, s.Steps)
		}
		o.index[s.Name] = len(o.state)
		o.state = append(o.state, State{Name: s.Name, Steps: s.Steps, M: slices.Clone(s.M), V: slices.Clone(s.V)})
	}
	return nil
}

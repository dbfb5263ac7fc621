// Package classify implements the stage kind "classify": a deep, fully
// connected classifier with skip connections from the input, trained on
// the images of an "fmnist" stage under the staged schedules of the
// synthetic experiments (joint, layerwise, bfc-x, end2end, lower-only;
// docs/science.md#schedules). It is the real-data experiment E8: does layerwise
// training fall behind joint training (claim 3), does correcting a few
// blocks below the newest one recover most of the gap (claim 5), and do
// the first layer's features change when higher layers train with them
// (backward feature correction, claim 2)?
//
// # Model
//
// L blocks of width M on inputs x in R^D (the normalised pixels), C = 10
// classes. Block l sees the previous block's output and the input, like
// the synthetic learner's layers (docs/science.md#learner, J_l = {l-1, 0}):
//
//	h_1 = x,  h_l = [S_{l-1}; x]  (l >= 2),  P_l = dim h_l
//	Z_l = K_l h_l + b_l,  S_l = sigma(Z_l)     K_l is M x P_l
//	logits = sum over active l of (A_l S_l + a_l)    A_l is C x M
//	loss = mean over the batch of -log softmax(logits)_y
//
// sigma is ReLU, max(z, 0), or the centred square (z^2 - 1)/sqrt(2) of the
// synthetic learner ("quad"), optionally with z clipped to [-c, c] before
// squaring (act_clip, a truncated activation). Every block has its own
// linear head (A_l, a_l), so blocks can be switched on one at a time as
// the learner's layers are: the output is the sum of the active blocks'
// heads, and a block's four parameter arrays are trained or frozen
// together. K_l starts N(0, g/P_l) (g = 2 for ReLU, He; g = 1 for quad),
// biases at zero, heads at zero by default (init_head), so that switching
// a block on does not change the output. Block l is drawn from its own
// random stream "classify/init/<l>", so a network's blocks do not depend on
// its depth.
//
// Fully connected blocks rather than convolutions: on two CPU cores and in
// pure Go a step is a handful of dense matrix products (gonum blas64.Gemm
// over the whole minibatch), and 14x14 inputs (pool = 2 in the fmnist
// stage) keep the first layer, the costliest product, at 196 inputs per
// unit. The skip from the input also makes the first layer's weights
// images of the input size, which is what E8c draws.
//
// # Gradients
//
// With G = (softmax(logits) - onehot(y)) / B over a batch of B samples, for
// the active blocks from the top down to the lowest trainable one:
//
//	dA_l = G^T S_l,  da_l = 1^T G
//	dS_l = G A_l + dZ_{l+1} K_{l+1}[:, :M]   (the second term if l+1 is active)
//	dZ_l = dS_l * sigma'(Z_l)
//	dK_l = dZ_l^T h_l,  db_l = 1^T dZ_l
//
// Blocks that are frozen pass gradients through but get none. The tests
// check every parameter array against central finite differences.
//
// # Training
//
// The schedule (package schedule, layers First = 1 .. Last = L) gives the
// phases; stage s switches block s on. Each epoch visits the training
// images in a fresh random order (stream "classify/shuffle/<epoch>") in
// minibatches (a last partial one is dropped), each one optimiser step
// (package optim: Adam or SGD with momentum, global gradient-norm
// clipping, coupled weight decay), with a learning rate that follows its
// schedule within each phase and restarts at every phase. After every
// epoch the whole test split is evaluated. The first block's weights after
// stage 1 are kept, and k1_drift measures how far the first layer moves
// from them afterwards (0 under layerwise training, where block 1 is
// frozen).
//
// A run can continue an upstream "classify" stage (a checkpoint: same data,
// same configuration except schedule, x, L, last_stage and
// epochs_per_stage; its phases a prefix of this run's). Because the random
// streams depend only on the root seed, the block and the epoch, a
// continued run gives exactly the numbers of an uninterrupted one, so the
// schedules and depths of one seed can share a single stage-1 run
// (last_stage = 1). Results are bit-identical whatever GOMAXPROCS is: gonum's
// pure-Go Dgemm computes each output block in one goroutine in a fixed
// order, and all other sums are sequential.
//
// # Outputs
//
//	history      one row per epoch (including a checkpoint's): epoch, stage,
//	             active, trainable (block lists "1,2"), lr, train_loss,
//	             train_acc, test_loss, test_acc, grad_norm, k1_drift,
//	             clipped_steps
//	summary      one row: schedule, x, L, last_stage, width, activation,
//	             epochs, epochs_first, epochs_per_stage, n_train, n_test,
//	             params, test_acc, test_loss, train_acc, train_loss,
//	             test_acc_stage1, k1_drift, root_seed (hex), data_key
//	first_layer  one row per unit of block 1: unit, w (D values, an image of
//	             rows x cols), w_init (w at initialisation), bias, rows, cols
//	weights      the checkpoint: block, layer, rows, cols, w, opt_steps,
//	             opt_m, opt_v (arrays as little-endian float64 bytes)
package classify

import (
	"fmt"
	"time"

	"github.com/bfc-repro/bfc/stages/kinds/fmnist"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/staged"
)

// Kind is the stage kind "classify".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "classify" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Trains a deep fully connected classifier (L blocks, skip connections from the input, one linear head per " +
		"block) on an fmnist stage under a staged schedule (joint, layerwise, bfc-x, end2end, lower-only), optionally " +
		"continuing an upstream classify stage. Outputs: history, summary, first_layer, weights."
}

// scheduleDefaults are the classify kind's defaults of the schedule and
// optimiser parameters: ours, chosen so that E8 fits its time budget on
// two cores (see the report).
var scheduleDefaults = staged.Defaults{Unit: "block", First: 1, MaxDepth: 8,
	EpochsFirst: 4, EpochsFirstDoc: "block 1 alone", EpochsPerStage: 4,
	Batch: 128, LR: 1e-3, Clip: 5, WeightDecay: 0, WeightDecayDoc: "coupled L2 weight decay on every parameter"}

// Params implements kit.Kind: the classifier's shape, then the schedule
// and optimiser parameters (package staged).
func (Kind) Params() []kit.Param {
	return append([]kit.Param{
		kit.IntParam("L", 3, "number of blocks").In(1, 8),
		kit.IntParam("width", 128, "width M of every block").In(1, 4096),
		kit.StringParam("activation", ReLU, "relu or quad (the centred square (z^2-1)/sqrt(2))").OneOf(Activations()...),
		kit.FloatParam("act_clip", 0, "quad only: clip pre-activations to [-c, c] before squaring (0: off)").In(0, 1e6),
		kit.FloatParam("init_head", 0, "initial heads A_l entries N(0, init_head^2/width) (0: zero heads)").In(0, 100),
	}, staged.Params(scheduleDefaults)...)
}

// ConfigOf decodes resolved "classify" parameters (this kind's or an
// upstream checkpoint's).
func ConfigOf(p kit.Params) Config {
	return Config{L: p.Int("L"), Width: p.Int("width"), Activation: p.String("activation"), ActClip: p.Float("act_clip"),
		InitHead: p.Float("init_head"), Config: staged.ConfigOf(p)}
}

// Validate implements kit.Validator.
func (Kind) Validate(p kit.Params) error {
	cfg := ConfigOf(p)
	if cfg.LastStage > cfg.L {
		return kit.Errorf("last_stage", "%d exceeds L = %d", cfg.LastStage, cfg.L)
	}
	if err := cfg.Validate(); err != nil {
		return kit.Errorf("schedule", "%v", err)
	}
	return nil
}

// Threads implements kit.Threader: a run asks for one CPU and the engine
// runs the many independent runs of E8 side by side. (gonum's Dgemm may
// still split a large product over goroutines; results never depend on it.)
func (Kind) Threads(kit.Params) int { return 1 }

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	in, err := kit.OneInput(env, "fmnist")
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	data, err := fmnist.Load(in)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	cfg := ConfigOf(env.Params())
	var ck *Checkpoint
	switch cks := kit.InputsOfKind(env, "classify"); len(cks) {
	case 0:
	case 1:
		if ck, err = LoadCheckpoint(cks[0], data.Train.D); err != nil {
			return fmt.Errorf("classify: checkpoint %s: %w", cks[0].Key(), err)
		}
	default:
		return fmt.Errorf("classify: at most one classify input (a checkpoint) allowed, have %d", len(cks))
	}
	start := time.Now() // for the log line only; never written to an output
	res, err := Fit(env.Context(), data, in.Key(), cfg, env.Seed(), ck, Hooks{Progress: env.Progress, Logf: env.Logf})
	if err != nil {
		return err
	}
	trained := len(res.History)
	if ck != nil {
		trained -= len(ck.History)
	}
	sec := time.Since(start).Seconds()
	last := res.History[len(res.History)-1]
	env.Logf("trained %d epochs in %.1fs (%.2fs per epoch of %d images): test accuracy %.4f, k1 drift %.3f",
		trained, sec, sec/float64(max(trained, 1)), data.Train.N, last.TestAcc, last.K1Drift)
	return writeOutputs(env, res, data)
}

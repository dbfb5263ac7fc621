package classify

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/bfc-repro/bfc/stages/kinds/fmnist"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/optim"
	"github.com/bfc-repro/bfc/stages/lib/schedule"
	"github.com/bfc-repro/bfc/stages/lib/staged"
)

// Config is everything that determines a training run besides the data
// and the seed: the classifier's shape and the schedule and optimiser
// (staged.Config; its weight decay is coupled L2 decay of every
// parameter). See Kind.Params for each field's parameter.
type Config struct {
	L          int     // blocks
	Width      int     // width M of every block
	Activation string  // ReLU or Quad
	ActClip    float64 // Quad: clip pre-activations before squaring (0: off)
	InitHead   float64 // initial scale of the heads (0: zero heads)
	staged.Config
}

// resolved fills the zero LastStage.
func (c Config) resolved() Config {
	if c.LastStage == 0 {
		c.LastStage = c.L
	}
	return c
}

func (c Config) spec() schedule.Spec { return c.Spec(1, c.LastStage) }

func (c Config) optimConfig() optim.Config {
	oc := c.Optim()
	oc.WeightDecay = c.WeightDecay
	return oc
}

// Validate reports the first invalid field of c (after resolving LastStage).
func (c Config) Validate() error {
	c = c.resolved()
	if c.LastStage < 1 || c.LastStage > c.L {
		return fmt.Errorf("last stage %d outside 1..%d", c.LastStage, c.L)
	}
	if err := c.Config.Validate(1, c.LastStage); err != nil {
		return err
	}
	return c.optimConfig().Validate()
}

// continuable blanks the fields in which a continued run may differ from
// its checkpoint (the phases, compared separately, must still be a prefix).
func (c Config) continuable() Config {
	c.Schedule, c.X, c.LastStage, c.L, c.EpochsPerStage = "", 0, 0, 0, 0
	return c
}

// Epoch is one row of the training history.
type Epoch struct {
	staged.Phase // epoch (1-based, from the start of training), stage, active and trained blocks
	LR           float64
	TrainLoss    float64 // mean over the epoch's minibatches, before each step
	TrainAcc     float64 // fraction of the epoch's minibatch samples classified correctly, before each step
	TestLoss     float64 // after the epoch, on the whole test split
	TestAcc      float64
	GradNorm     float64 // mean gradient norm before clipping
	ClippedSteps int
	// K1Drift is ||K_1 - K_1^(1)||_F / ||K_1^(1)||_F, where K_1^(1) is the
	// first block's weight matrix after epoch EpochsFirst (the end of stage
	// 1); NaN before then. It is 0 under layerwise training and measures
	// how far joint training moves the first layer afterwards.
	K1Drift float64
}

// Checkpoint is the state needed to continue training.
type Checkpoint struct {
	Config   Config
	RootSeed uint64
	DataKey  string // key of the fmnist stage trained on ("" in tests)
	Net      *Net
	Opt      []optim.State
	History  []Epoch   // one row per epoch done
	K1Stage1 []float64 // K_1 after epoch EpochsFirst; nil before then
}

// K1Init returns the initial K_1 of a run with root seed seed: the
// random values that every run of this seed starts from.
func K1Init(s Shape, seed uint64) ([]float64, error) {
	net, err := New(s, Init{}, rngFor(seed))
	if err != nil {
		return nil, err
	}
	return net.K[1], nil
}

// Result is a finished training run.
type Result struct {
	Checkpoint
	Phases []schedule.Phase
}

// Hooks receive progress reports; nil functions are skipped.
type Hooks = staged.Hooks

// evalRows is the batch size of evaluation passes; a constant so that the
// summation order of the test loss never changes.
const evalRows = 1000

// rngFor returns the initialisation streams of root seed seed.
func rngFor(seed uint64) blockRNG {
	return func(l int) *rand.Rand { return kit.RNG(seed, "classify/init/"+strconv.Itoa(l)) }
}

// Fit trains a classifier on data under cfg. With ck == nil it starts from
// weights drawn from the root seed seed; otherwise it continues ck (whose
// configuration must agree with cfg except for the schedule, x, L, the
// last stage and the epochs of later stages, and whose phases must be a
// prefix of cfg's), and seed is ignored. dataKey identifies data; a
// checkpoint must have been trained on the same key.
func Fit(ctx context.Context, data *fmnist.Data, dataKey string, cfg Config, seed uint64, ck *Checkpoint, hooks Hooks) (*Result, error) {
	cfg = cfg.resolved()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	phases, err := schedule.Plan(cfg.spec())
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	tr, te := data.Train, data.Test
	if tr.N < 1 || te.N < 1 || tr.D != te.D {
		return nil, fmt.Errorf("classify: need training and test samples of one width, have %d x %d and %d x %d", tr.N, tr.D, te.N, te.D)
	}
	shape := Shape{D: tr.D, M: cfg.Width, C: fmnist.Classes, L: cfg.L, Act: cfg.Activation, ActClip: cfg.ActClip}
	res := &Result{Phases: phases}
	res.Config, res.DataKey = cfg, dataKey
	done := 0
	if ck == nil {
		res.RootSeed = seed
	} else {
		if err := continues(ck, cfg, phases, dataKey); err != nil {
			return nil, fmt.Errorf("classify: %w", err)
		}
		if ck.Net.D != tr.D {
			return nil, fmt.Errorf("classify: checkpoint network has %d inputs, the data %d", ck.Net.D, tr.D)
		}
		res.RootSeed = ck.RootSeed
		res.History = slices.Clone(ck.History)
		res.K1Stage1 = slices.Clone(ck.K1Stage1)
		done = len(ck.History)
	}
	net, err := New(shape, Init{Head: cfg.InitHead}, rngFor(res.RootSeed))
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	if ck != nil {
		// Blocks the checkpoint has (trained or still at their initial
		// values, which New has just drawn identically) replace the fresh ones.
		for l := 1; l <= min(ck.Net.L, net.L); l++ {
			net.K[l], net.B[l] = slices.Clone(ck.Net.K[l]), slices.Clone(ck.Net.B[l])
			net.A[l], net.A0[l] = slices.Clone(ck.Net.A[l]), slices.Clone(ck.Net.A0[l])
		}
	}
	opt, err := optim.New(cfg.optimConfig())
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	if ck != nil {
		if err := opt.Import(ck.Opt); err != nil {
			return nil, fmt.Errorf("classify: checkpoint: %w", err)
		}
	}

	N := tr.N
	batch := min(cfg.Batch, N)
	stepsPerEpoch := N / batch
	ws := NewWorkspace(shape, batch)
	ev := NewWorkspace(shape, min(evalRows, te.N))
	lrs := cfg.Rates(stepsPerEpoch)
	total := schedule.Total(phases)
	perm := make([]int, N)
	hooks.Log("schedule %s x=%d L=%d: %d phases, %d epochs (%d done), %d steps of %d per epoch", cfg.Schedule, cfg.X, cfg.L, len(phases), total, done, stepsPerEpoch, batch)
	for epoch := done + 1; epoch <= total; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("classify: epoch %d: %w", epoch, err)
		}
		ph := phases[schedule.At(phases, epoch-1)]
		mask, err := NewMask(cfg.L, ph.Active, ph.Trainable)
		if err != nil {
			return nil, fmt.Errorf("classify: epoch %d: %w", epoch, err)
		}
		for i := range perm {
			perm[i] = i
		}
		rng := kit.RNG(res.RootSeed, "classify/shuffle/"+strconv.Itoa(epoch))
		rng.Shuffle(N, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		row := Epoch{Phase: staged.Phase{Epoch: epoch, Stage: ph.Stage, Active: ph.Active, Trainable: ph.Trainable}}
		correct := 0
		for s := range stepsPerEpoch {
			step := (epoch-1-ph.Start)*stepsPerEpoch + s
			lr := lrs.Rate(cfg.LR, step, ph.Epochs*stepsPerEpoch)
			st, err := net.LossGrad(ws, tr.X, tr.Y, perm[s*batch:(s+1)*batch], mask)
			if err != nil {
				return nil, fmt.Errorf("classify: diverged at epoch %d (%s), step %d: %w", epoch, ph, s, err)
			}
			norm, err := opt.Step(ws.Blocks(net, mask), lr)
			if err != nil {
				return nil, fmt.Errorf("classify: diverged at epoch %d (%s), step %d: %w", epoch, ph, s, err)
			}
			row.LR = lr
			row.TrainLoss += st.Loss
			row.GradNorm += norm
			correct += st.Correct
			if cfg.Clip > 0 && norm > cfg.Clip {
				row.ClippedSteps++
			}
		}
		row.TrainLoss /= float64(stepsPerEpoch)
		row.GradNorm /= float64(stepsPerEpoch)
		row.TrainAcc = float64(correct) / float64(stepsPerEpoch*batch)
		lossSum, testCorrect, err := net.Evaluate(ev, te.X, te.Y, mask.Top)
		if err != nil {
			return nil, fmt.Errorf("classify: epoch %d: %w", epoch, err)
		}
		row.TestLoss = lossSum / float64(te.N)
		row.TestAcc = float64(testCorrect) / float64(te.N)
		if epoch == cfg.EpochsFirst {
			res.K1Stage1 = slices.Clone(net.K[1])
		}
		row.K1Drift = drift(net.K[1], res.K1Stage1)
		res.History = append(res.History, row)
		if hooks.Progress != nil {
			hooks.Report(epoch, total, fmt.Sprintf("stage %d loss %.4f test acc %.4f", ph.Stage, row.TrainLoss, row.TestAcc))
		}
	}
	res.Net = net
	res.Opt = opt.Export()
	return res, nil
}

// drift returns ||a - ref|| / ||ref||, or NaN without a reference.
func drift(a, ref []float64) float64 {
	if ref == nil {
		return math.NaN()
	}
	var d, r float64
	for i, v := range ref {
		d += (a[i] - v) * (a[i] - v)
		r += v * v
	}
	return math.Sqrt(d / r)
}

// continues checks that a run of cfg with phases can continue ck.
func continues(ck *Checkpoint, cfg Config, phases []schedule.Phase, dataKey string) error {
	if a, b := ck.Config.continuable(), cfg.continuable(); a != b {
		return fmt.Errorf("checkpoint configuration %+v differs from %+v outside the schedule fields", a, b)
	}
	if ck.DataKey != dataKey {
		return fmt.Errorf("checkpoint was trained on data %s, this run has %s", ck.DataKey, dataKey)
	}
	ckPhases, err := schedule.Plan(ck.Config.resolved().spec())
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := schedule.IsPrefix(ckPhases, phases); err != nil {
		return fmt.Errorf("cannot continue a %s run to stage %d as %s: %w", ck.Config.Schedule, ck.Config.resolved().LastStage, cfg.Schedule, err)
	}
	if done := schedule.Total(ckPhases); len(ck.History) != done {
		return fmt.Errorf("checkpoint has %d history rows for %d epochs", len(ck.History), done)
	}
	if ck.Net.L < ck.Config.resolved().LastStage || ck.Net.D == 0 {
		return fmt.Errorf("checkpoint network has %d blocks, its schedule reached stage %d", ck.Net.L, ck.Config.resolved().LastStage)
	}
	return nil
}

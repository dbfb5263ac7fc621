// Package trainer trains the deep learner of package learner on the data
// of a target network (package targetnet) under one of the training
// schedules of package schedule, and records per epoch the
// test error and the feature error eps_l of every layer (docs/science.md#learner and #schedules,
// experiments E1-E4).
//
// # The training loop
//
// The schedule gives a list of phases (stage s, active layers, trainable
// layers, epochs). Every epoch visits the first n training samples (n =
// n_train_used, or all) in a fresh random order in minibatches of the
// configured size (a last partial minibatch is dropped); each minibatch
// gives one optimiser step (Adam or SGD with momentum, global gradient-norm
// clipping, per-layer rates lr * alpha_l^lr_alpha_power). The learning rate
// follows its schedule (constant or cosine, with warm-up) within each phase
// and restarts at every phase, so each stage gets its own decay. After each
// epoch the network is evaluated on the whole test split: test relative
// error = test MSE / Var(y_test) with the active layers' heads, and for every
// layer l = 2..L the feature error eps_l (metrics.FeatureError, orthogonal
// Procrustes against S*_l) and the quadratic-form error
// (metrics.QuadFormError). Layers that are not yet active keep their
// initial K_l, so their eps_l is that of the initial features.
//
// # Checkpoints and random streams
//
// All randomness comes from a root seed: the initial weights from
// kit.RNG(root, "train/init") and the order of epoch e (1-based, counted from
// the start of training) from kit.RNG(root, "train/shuffle/<e>"). A run
// continued from a checkpoint (the outputs of an earlier train stage whose
// schedule is a prefix of this one) inherits the checkpoint's root seed,
// weights, optimiser state and history, so it produces exactly the numbers
// of one uninterrupted run; all schedules of an experiment can therefore
// share one cached stage-2 run and differ only after layer 3 switches on.
//
// # Defaults
//
// The defaults are the starting points of docs/science.md#experiments (Adam, lr 2e-3 with
// a cosine decay per stage, lambda_KW 0.1, weight decay 1e-5, gradient
// clipping at 10, m = 64, batch 256) except the length of the first stage:
// at d=16, k=3, L=3 and 4, gap 0.3, n=20k the test error of layer 2 alone
// still falls by a third between 40 and 80 epochs and by under 5% between
// 80 and 160, so epochs_first is 80 (with 20 the later stages mostly finish
// stage 2's job, which the lower-only control exposes). Later stages run 40
// epochs. All of these are "(ours)" choices and pipeline parameters.
//
// # Divergence
//
// A non-finite loss or gradient, or an epoch's mean training loss above
// diverge * Var(y_train), stops training with an error that names the
// epoch, the stage and the layer with the largest head; the stage then
// writes nothing.
package trainer

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/learner"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
	"github.com/bfc-repro/bfc/stages/lib/optim"
	"github.com/bfc-repro/bfc/stages/lib/schedule"
	"github.com/bfc-repro/bfc/stages/lib/staged"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// Config is everything that determines a training run besides the data
// and the seed: the schedule and optimiser (staged.Config; its weight
// decay is the weight of sum_l ||K_l||^2 + ||W_l||^2 in the loss) and the
// learner's own settings. The zero values of LastStage, P and NTrainUsed
// mean "from the target" (its L; k(k+1)/2 + 2; all training samples).
// Each field's tag names the "train" parameter that sets it.
type Config struct {
	staged.Config
	M            int     `param:"m"`              // width of every output head W_l
	P            int     `param:"p"`              // rows of every R_j (0: k(k+1)/2 + 2)
	LambdaKW     float64 `param:"lambda_kw"`      // weight of ||K_l^T K_l - W_l^T W_l||_F^2
	LRAlphaPower float64 `param:"lr_alpha_power"` // layer l's rate is LR * alpha_l^LRAlphaPower
	FeatureClip  float64 `param:"feature_clip"`   // clip R_j S_j to [-c, c] before squaring (0: off)
	ResidualClip float64 `param:"residual_clip"`  // Huber loss beyond |residual| = c (0: off)
	InitK        float64 `param:"init_k"`         // initial scale of ||S_l|| (see learner.Init)
	InitW        float64 `param:"init_w"`         // initial scale of ||W_l h_l||
	NTrainUsed   int     `param:"n_train_used"`   // train on the first n samples (0: all)
	Diverge      float64 `param:"diverge"`        // fail when an epoch's train loss exceeds Diverge * Var(y_train)
	Threads      int     // goroutines for the training steps (never changes results)
}

// Epoch is one row of the training history.
type Epoch struct {
	staged.Phase     // epoch (1-based, from the start of training), stage, active and trained layers
	LR               float64
	TrainLoss        float64   // mean over the epoch's minibatches of the full objective, before each step
	TrainMSE         float64   // mean over the epoch's minibatches of the squared residual
	TestMSE          float64   // after the epoch, on the whole test split
	TestRelErr       float64   // TestMSE / Var(y_test)
	GradNorm         float64   // mean gradient norm before clipping
	ClippedSteps     int       // steps whose gradient was clipped
	ClippedFeatures  int       // feature entries clipped during the epoch
	ClippedResiduals int       // residuals beyond ResidualClip during the epoch
	Eps              []float64 // Eps[l], l = 2..L: feature error after the epoch
	QErr             []float64 // QErr[l]: quadratic-form error after the epoch
}

// Checkpoint is the state needed to continue training.
type Checkpoint struct {
	Config   Config
	RootSeed uint64
	Net      *learner.Net
	Opt      []optim.State
	History  []Epoch // one row per epoch done
}

// Result is a finished training run.
type Result struct {
	Checkpoint                  // the final state
	Phases     []schedule.Phase // the plan that was followed
	Learner    learner.Config   // the learner's configuration
	Data       *targetnet.Data  // the data trained on
	Summary    Summary          // headline numbers
	VarTrain   float64          // Var(y) over the training samples used
	VarTest    float64          // Var(y_test)
}

// Hooks receive progress reports; nil functions are skipped.
type Hooks = staged.Hooks

// Resolve fills the "from the target" zero values of cfg.
func (cfg Config) Resolve(net *targetnet.Net) Config {
	if cfg.LastStage == 0 {
		cfg.LastStage = net.L
	}
	if cfg.P == 0 {
		cfg.P = net.K*(net.K+1)/2 + 2
	}
	return cfg
}

// Validate checks cfg against the target network.
func (cfg Config) Validate(net *targetnet.Net) error {
	if cfg.LastStage < 2 || cfg.LastStage > net.L {
		return fmt.Errorf("last stage %d outside 2..%d (the target's L)", cfg.LastStage, net.L)
	}
	if !(cfg.Diverge > 0) {
		return fmt.Errorf("divergence bound %v must be > 0", cfg.Diverge)
	}
	return cfg.Config.Validate(2, cfg.LastStage)
}

// spec is the plan's specification: layers 2..LastStage.
func (cfg Config) spec() schedule.Spec { return cfg.Spec(2, cfg.LastStage) }

// LearnerConfig is the learner of cfg on the target network net.
func (cfg Config) LearnerConfig(net *targetnet.Net) learner.Config {
	return learner.Config{D: net.D, K: net.K, L: net.L, M: cfg.M, P: cfg.P, Connections: net.Connections,
		Center1: net.Center1, Alpha: slices.Clone(net.Alpha), LambdaKW: cfg.LambdaKW, WeightDecay: cfg.WeightDecay,
		FeatureClip: cfg.FeatureClip, ResidualClip: cfg.ResidualClip}
}

// continuable lists the fields that a continued run must share with its
// checkpoint (everything except the schedule, x, the last stage, the epochs
// of later stages, the divergence bound and the thread count; the schedule
// fields are checked by comparing phases instead).
func (cfg Config) continuable() Config {
	cfg.Schedule, cfg.X, cfg.LastStage, cfg.EpochsPerStage, cfg.Diverge, cfg.Threads = "", 0, 0, 0, 0, 0
	return cfg
}

// Fit trains the learner on data under cfg. With ck == nil it starts from
// random weights drawn from the root seed seed; otherwise it continues ck
// (whose configuration must agree with cfg except for the schedule fields,
// and whose phases must be a prefix of cfg's) and seed is ignored.
func Fit(ctx context.Context, data *targetnet.Data, cfg Config, seed uint64, ck *Checkpoint, hooks Hooks) (*Result, error) {
	tn := data.Net
	cfg = cfg.Resolve(tn)
	if err := cfg.Validate(tn); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	phases, err := schedule.Plan(cfg.spec())
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	lc := cfg.LearnerConfig(tn)
	N := data.Train.N
	if cfg.NTrainUsed > 0 {
		if cfg.NTrainUsed > N {
			return nil, fmt.Errorf("train: n_train_used %d exceeds the target's %d training samples", cfg.NTrainUsed, N)
		}
		N = cfg.NTrainUsed
	}
	batch := min(cfg.Batch, N)
	stepsPerEpoch := N / batch
	xTrain := data.Train.X.RawMatrix().Data[:N*tn.D]
	yTrain := data.Train.Y[:N]
	res := &Result{Phases: phases, Learner: lc, Data: data,
		VarTrain: stat.PopVariance(yTrain, nil), VarTest: stat.PopVariance(data.Test.Y, nil)}
	res.Config = cfg

	var net *learner.Net
	done := 0
	if ck == nil {
		res.RootSeed = seed
		if net, err = learner.New(lc, learner.Init{K: cfg.InitK, W: cfg.InitW}, kit.RNG(seed, "train/init")); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	} else {
		if a, b := ck.Config.continuable(), cfg.continuable(); a != b {
			return nil, fmt.Errorf("train: checkpoint configuration differs: %s", diffConfigs(a, b))
		}
		ckPhases, err := schedule.Plan(ck.Config.spec())
		if err != nil {
			return nil, fmt.Errorf("train: checkpoint: %w", err)
		}
		if err := schedule.IsPrefix(ckPhases, phases); err != nil {
			return nil, fmt.Errorf("train: cannot continue a %s run to stage %d as %s: %w", ck.Config.Schedule, ck.Config.LastStage, cfg.Schedule, err)
		}
		done = schedule.Total(ckPhases)
		if len(ck.History) != done {
			return nil, fmt.Errorf("train: checkpoint has %d history rows for %d epochs", len(ck.History), done)
		}
		res.RootSeed = ck.RootSeed
		net = ck.Net.Clone()
		res.History = slices.Clone(ck.History)
	}
	opt, err := optim.New(cfg.Optim())
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if ck != nil {
		if err := opt.Import(ck.Opt); err != nil {
			return nil, fmt.Errorf("train: checkpoint: %w", err)
		}
	}
	ws := learner.NewWorkspace(net, cfg.Threads)
	ev := newEvaluator(net, data)
	scale := make([]float64, tn.L+1)
	for l := 2; l <= tn.L; l++ {
		scale[l] = math.Pow(tn.Alpha[l], cfg.LRAlphaPower)
	}
	lrs := cfg.Rates(stepsPerEpoch)
	total := schedule.Total(phases)
	perm := make([]int, N)
	bound := cfg.Diverge * res.VarTrain
	hooks.Log("schedule %s x=%d: %d phases, %d epochs (%d done), %d steps of %d per epoch", cfg.Schedule, cfg.X, len(phases), total, done, stepsPerEpoch, batch)
	for epoch := done + 1; epoch <= total; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("train: epoch %d: %w", epoch, err)
		}
		ph := phases[schedule.At(phases, epoch-1)]
		mask, err := learner.NewMask(tn.L, ph.Active, ph.Trainable)
		if err != nil {
			return nil, fmt.Errorf("train: epoch %d: %w", epoch, err)
		}
		rng := kit.RNG(res.RootSeed, fmt.Sprintf("train/shuffle/%d", epoch))
		for i := range perm {
			perm[i] = i
		}
		rng.Shuffle(N, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		row := Epoch{Phase: staged.Phase{Epoch: epoch, Stage: ph.Stage, Active: ph.Active, Trainable: ph.Trainable}}
		phaseSteps := ph.Epochs * stepsPerEpoch
		for s := range stepsPerEpoch {
			step := (epoch-1-ph.Start)*stepsPerEpoch + s
			lr := lrs.Rate(cfg.LR, step, phaseSteps)
			st, err := net.LossGrad(ws, xTrain, yTrain, perm[s*batch:(s+1)*batch], mask)
			if err != nil {
				return nil, divergence(epoch, ph, net, mask, err)
			}
			norm, err := opt.Step(ws.Blocks(net, mask, scale), lr)
			if err != nil {
				return nil, divergence(epoch, ph, net, mask, err)
			}
			row.LR = lr
			row.TrainLoss += st.Loss
			row.TrainMSE += st.MSE
			row.GradNorm += norm
			if cfg.Clip > 0 && norm > cfg.Clip {
				row.ClippedSteps++
			}
			row.ClippedFeatures += st.ClippedFeatures
			row.ClippedResiduals += st.ClippedResiduals
		}
		f := 1 / float64(stepsPerEpoch)
		row.TrainLoss *= f
		row.TrainMSE *= f
		row.GradNorm *= f
		if !(row.TrainLoss <= bound) {
			return nil, divergence(epoch, ph, net, mask, fmt.Errorf("mean train loss %.4g above the bound %.4g (%g * Var(y_train))", row.TrainLoss, bound, cfg.Diverge))
		}
		if err := ev.eval(ws, mask, &row); err != nil {
			return nil, fmt.Errorf("train: epoch %d: evaluate: %w", epoch, err)
		}
		res.History = append(res.History, row)
		msg := fmt.Sprintf("stage %d loss %.4g test %.4g eps2 %.4g", ph.Stage, row.TrainLoss, row.TestRelErr, row.Eps[2])
		hooks.Report(epoch, total, msg)
	}
	res.Net = net
	res.Opt = opt.Export()
	res.Summary = summarize(res)
	return res, nil
}

// divergence wraps a training failure with the epoch, the phase and the
// layer with the largest head ||W_l^T W_l||_F (or a non-finite one).
func divergence(epoch int, ph schedule.Phase, net *learner.Net, m learner.Mask, err error) error {
	worst, worstNorm := 0, -1.0
	for l := 2; l <= net.Cfg.L; l++ {
		if !m.Active[l] {
			continue
		}
		var s float64
		for _, v := range net.W[l] {
			s += v * v
		}
		for _, v := range net.K[l] {
			s += v * v
		}
		if math.IsNaN(s) || math.IsInf(s, 0) {
			worst, worstNorm = l, math.Inf(1)
			break
		}
		if s > worstNorm {
			worst, worstNorm = l, s
		}
	}
	return fmt.Errorf("train: diverged at epoch %d, stage %d (active %v, trainable %v), layer %d (||K_%d||^2+||W_%d||^2 = %.4g): %w",
		epoch, ph.Stage, ph.Active, ph.Trainable, worst, worst, worst, worstNorm, err)
}

// evaluator computes the test metrics of a network.
type evaluator struct {
	net   *learner.Net
	data  *targetnet.Data
	pred  []float64
	feats [][]float64
	dense []*mat.Dense
}

func newEvaluator(net *learner.Net, data *targetnet.Data) *evaluator {
	N, k, L := data.Test.N, data.Net.K, data.Net.L
	e := &evaluator{net: net, data: data, pred: make([]float64, N), feats: make([][]float64, L+1), dense: make([]*mat.Dense, L+1)}
	for l := 2; l <= L; l++ {
		e.feats[l] = make([]float64, N*k)
		e.dense[l] = mat.NewDense(N, k, e.feats[l])
	}
	return e
}

func (e *evaluator) eval(ws *learner.Workspace, m learner.Mask, row *Epoch) error {
	test := e.data.Test
	if _, err := e.net.Eval(ws, test.X.RawMatrix().Data, m, e.pred, e.feats); err != nil {
		return err
	}
	var mse float64
	for i, p := range e.pred {
		mse += (p - test.Y[i]) * (p - test.Y[i])
	}
	row.TestMSE = mse / float64(test.N)
	var err error
	if row.TestRelErr, err = metrics.RelErr(e.pred, test.Y); err != nil {
		return err
	}
	L := e.data.Net.L
	row.Eps, row.QErr = make([]float64, L+1), make([]float64, L+1)
	for l := 2; l <= L; l++ {
		row.Eps[l], _ = metrics.FeatureError(e.dense[l], test.S[l])
		row.QErr[l] = metrics.QuadFormError(e.dense[l], test.S[l])
	}
	if math.IsNaN(row.TestMSE) || math.IsInf(row.TestMSE, 0) {
		return fmt.Errorf("test MSE is %v", row.TestMSE)
	}
	return nil
}

// diffConfigs names the parameters in which a and b differ.
func diffConfigs(a, b Config) string {
	var out []string
	var walk func(va, vb reflect.Value)
	walk = func(va, vb reflect.Value) {
		for i := range va.NumField() {
			f := va.Type().Field(i)
			if f.Anonymous {
				walk(va.Field(i), vb.Field(i))
				continue
			}
			if x, y := va.Field(i).Interface(), vb.Field(i).Interface(); x != y {
				out = append(out, fmt.Sprintf("%s %v (checkpoint) vs %v", f.Tag.Get("param"), x, y))
			}
		}
	}
	walk(reflect.ValueOf(a), reflect.ValueOf(b))
	return strings.Join(out, ", ")
}

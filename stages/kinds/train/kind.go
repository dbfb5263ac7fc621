// Package train implements the stage kind "train": it trains the deep
// learner on the data of a "target" stage with package trainer, optionally
// continuing an upstream train stage (a checkpoint), and writes the tables
// history, weights and summary.
package train

import (
	"fmt"
	"reflect"
	"time"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/optim"
	"github.com/bfc-repro/bfc/stages/lib/schedule"
	"github.com/bfc-repro/bfc/stages/lib/trainer"
)

// Kind is the stage kind "train".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "train" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Trains the deep quadratic learner (SCIENCE.md §3) on a target stage's data under a training schedule " +
		"(joint, layerwise, bfc-x, end2end, lower-only; §4), optionally continuing an upstream train stage whose " +
		"schedule is a prefix of this one. Outputs: history (per epoch: losses, test relative error, eps_l and " +
		"quadratic-form error per layer), weights (parameters and optimiser state, enough to continue), summary (one row)."
}

// Params implements kit.Kind. The defaults are our choices (SCIENCE.md
// marks them "(ours)"); see the package doc of stages/kinds/train and the report
// for how they were picked.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.StringParam("schedule", schedule.Joint, "training schedule: joint, layerwise, bfc-x, end2end or lower-only").
			OneOf(schedule.Names()...),
		kit.IntParam("x", 1, "bfc-x only: how many layers below the newest keep training (0 = layerwise, >= L-2 = joint)").In(0, 16),
		kit.IntParam("epochs_first", 80, "epochs of the first stage, layer 2 alone (long enough for its test error to level off)").In(1, 100000),
		kit.IntParam("epochs_per_stage", 40, "epochs of every later stage").In(1, 100000),
		kit.IntParam("last_stage", 0, "last layer switched on (0: the target's L; 2 makes a stage-2 checkpoint)").In(0, 16),
		kit.IntParam("m", 64, "width of every output head W_l").In(1, 65536),
		kit.IntParam("p", 0, "rows of each fixed random R_j, at least k(k+1)/2 (0: k(k+1)/2 + 2)").In(0, 4096),
		kit.IntParam("batch", 256, "minibatch size (capped at the number of training samples used)").In(1, 1<<20),
		kit.StringParam("optimizer", string(optim.Adam), "adam (beta1 0.9, beta2 0.999) or sgd (heavy-ball momentum)").
			OneOf(optim.Methods()...),
		kit.FloatParam("lr", 2e-3, "base learning rate").In(1e-12, 100),
		kit.FloatParam("momentum", 0.9, "SGD momentum (ignored by adam)").In(0, 0.999),
		kit.StringParam("lr_schedule", "cosine", "learning-rate schedule within each phase, restarted at every stage: cosine or constant").
			OneOf(optim.ScheduleKinds()...),
		kit.FloatParam("warmup_epochs", 0, "linear learning-rate warm-up at the start of every phase, in epochs").In(0, 1000),
		kit.FloatParam("lr_final", 0, "cosine: final learning rate as a fraction of lr").In(0, 1),
		kit.FloatParam("clip", 10, "global gradient-norm clipping bound (0: off)").In(0, 1e12),
		kit.FloatParam("lambda_kw", 0.1, "weight of sum_l ||K_l^T K_l - W_l^T W_l||_F^2 in the loss").In(0, 1e6),
		kit.FloatParam("weight_decay", 1e-5, "weight of sum_l ||K_l||^2 + ||W_l||^2 in the loss").In(0, 1e3),
		kit.FloatParam("lr_alpha_power", 0, "per-layer learning rates lr * alpha_l^power (0: the same rate for every layer)").In(-4, 4),
		kit.FloatParam("feature_clip", 0, "truncated activation: clip R_j S_j to [-c, c] before squaring (0: off; counted in history)").In(0, 1e12),
		kit.FloatParam("residual_clip", 0, "Huber loss beyond |G(x)-y| = c (0: plain squared error; counted in history)").In(0, 1e12),
		kit.FloatParam("init_k", 0.1, "initial scale of ||S_l||: K_l entries N(0, init_k^2/(k P_l))").In(0, 100),
		kit.FloatParam("init_w", 0.1, "initial scale of ||W_l h_l||: W_l entries N(0, init_w^2/(m P_l))").In(0, 100),
		kit.IntParam("n_train_used", 0, "train on the first n training samples (0: all)").In(0, 1<<31),
		kit.FloatParam("diverge", 1e3, "fail when an epoch's mean train loss exceeds diverge * Var(y_train)").In(1e-6, 1e300),
	}
}

// Validate implements kit.Validator.
func (Kind) Validate(p kit.Params) error {
	cfg := ConfigFromParams(p)
	if ls := cfg.LastStage; ls == 1 {
		return kit.Errorf("last_stage", "must be 0 (the target's L) or at least 2, have 1")
	}
	spec := schedule.Spec{Name: cfg.Schedule, X: cfg.X, First: 2, Last: max(2, cfg.LastStage),
		EpochsFirst: cfg.EpochsFirst, EpochsPerStage: cfg.EpochsPerStage}
	if err := spec.Validate(); err != nil {
		return kit.Errorf("schedule", "%v", err)
	}
	if p := cfg.P; p > 0 && p < 3 {
		return kit.Errorf("p", "must be 0 or at least k(k+1)/2 (3 for the smallest k), have %d", p)
	}
	return nil
}

// Threads implements kit.Threader. At the default sizes a step is too
// small to split profitably over cores, so a run asks for one CPU and the
// engine runs independent stages side by side; large minibatches use all
// granted CPUs. The result never depends on the grant.
func (Kind) Threads(p kit.Params) int {
	if p.Int("batch") >= 1024 {
		return 0
	}
	return 1
}

// ConfigFromParams fills a Config from resolved "train" parameters (by
// the fields' param tags), for callers of Fit that declare the train
// parameters as their own. Threads is left 0.
func ConfigFromParams(p kit.Params) trainer.Config {
	var cfg trainer.Config
	v := reflect.ValueOf(&cfg).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Tag.Get("param")
		if name == "" {
			continue
		}
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Int:
			f.SetInt(int64(p.Int(name)))
		case reflect.Float64:
			f.SetFloat(p.Float(name))
		case reflect.String:
			f.SetString(p.String(name))
		default:
			panic(fmt.Sprintf("train: trainer.Config field %s has unsupported type %s", v.Type().Field(i).Name, f.Type()))
		}
	}
	return cfg
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	tin, err := kit.OneInput(env, "target")
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	data, err := target.Load(tin)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var ck *trainer.Checkpoint
	switch ins := kit.InputsOfKind(env, "train"); len(ins) {
	case 0:
	case 1:
		if ck, err = LoadCheckpoint(ins[0], data, tin.Key()); err != nil {
			return fmt.Errorf("train: checkpoint %s: %w", ins[0].Key(), err)
		}
	default:
		return fmt.Errorf("train: at most one train input (a checkpoint) allowed, have %d", len(ins))
	}
	cfg := ConfigFromParams(env.Params())
	cfg.Threads = env.Threads()
	start := time.Now() // for the log line only; never written to an output
	res, err := trainer.Fit(env.Context(), data, cfg, env.Seed(), ck, trainer.Hooks{Progress: env.Progress, Logf: env.Logf})
	if err != nil {
		return err
	}
	if ck != nil {
		env.Logf("continued %s from epoch %d", ck.Config.Schedule, len(ck.History))
	}
	env.Logf("%s", res.Summary)
	sec := time.Since(start).Seconds()
	env.Logf("trained %d epochs in %.2fs", len(res.History)-len0(ck), sec)
	return writeOutputs(env, res, tin.Key())
}

func len0(ck *trainer.Checkpoint) int {
	if ck == nil {
		return 0
	}
	return len(ck.History)
}

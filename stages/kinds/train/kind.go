// Package train implements the stage kind "train": it trains the deep
// learner on the data of a "target" stage with package trainer, optionally
// continuing an upstream train stage (a checkpoint), and writes the tables
// history, weights and summary.
package train

import (
	"fmt"
	"time"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/staged"
	"github.com/bfc-repro/bfc/stages/lib/trainer"
)

// Kind is the stage kind "train".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "train" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Trains the deep quadratic learner (docs/science.md#learner) on a target stage's data under a training schedule " +
		"(joint, layerwise, bfc-x, end2end, lower-only; docs/science.md#schedules), optionally continuing an upstream train stage whose " +
		"schedule is a prefix of this one. Outputs: history (per epoch: losses, test relative error, eps_l and " +
		"quadratic-form error per layer), weights (parameters and optimiser state, enough to continue), summary (one row)."
}

// scheduleDefaults are the train kind's defaults of the schedule and
// optimiser parameters (see the package doc of stages/lib/trainer for how
// they were picked).
var scheduleDefaults = staged.Defaults{Unit: "layer", First: 2, MaxDepth: 16,
	EpochsFirst: 80, EpochsFirstDoc: "layer 2 alone (long enough for its test error to level off)", EpochsPerStage: 40,
	Batch: 256, LR: 2e-3, Clip: 10, WeightDecay: 1e-5, WeightDecayDoc: "weight of sum_l ||K_l||^2 + ||W_l||^2 in the loss"}

// Params implements kit.Kind: the schedule and optimiser parameters
// (package staged), then the learner's. The defaults are our choices
// (docs/science.md#ours).
func (Kind) Params() []kit.Param {
	return append(staged.Params(scheduleDefaults),
		kit.IntParam("m", 64, "width of every output head W_l").In(1, 65536),
		kit.IntParam("p", 0, "rows of each fixed random R_j, at least k(k+1)/2 (0: k(k+1)/2 + 2)").In(0, 4096),
		kit.FloatParam("lambda_kw", 0.1, "weight of sum_l ||K_l^T K_l - W_l^T W_l||_F^2 in the loss").In(0, 1e6),
		kit.FloatParam("lr_alpha_power", 0, "per-layer learning rates lr * alpha_l^power (0: the same rate for every layer)").In(-4, 4),
		kit.FloatParam("feature_clip", 0, "truncated activation: clip R_j S_j to [-c, c] before squaring (0: off; counted in history)").In(0, 1e12),
		kit.FloatParam("residual_clip", 0, "Huber loss beyond |G(x)-y| = c (0: plain squared error; counted in history)").In(0, 1e12),
		kit.FloatParam("init_k", 0.1, "initial scale of ||S_l||: K_l entries N(0, init_k^2/(k P_l))").In(0, 100),
		kit.FloatParam("init_w", 0.1, "initial scale of ||W_l h_l||: W_l entries N(0, init_w^2/(m P_l))").In(0, 100),
		kit.IntParam("n_train_used", 0, "train on the first n training samples (0: all)").In(0, 1<<31),
		kit.FloatParam("diverge", 1e3, "fail when an epoch's mean train loss exceeds diverge * Var(y_train)").In(1e-6, 1e300),
	)
}

// ConfigOf decodes resolved "train" parameters (this kind's, an upstream
// train stage's, or a sweep's, which declares them too) into the
// trainer's Config. Threads is left 0.
func ConfigOf(p kit.Params) trainer.Config {
	return trainer.Config{Config: staged.ConfigOf(p), M: p.Int("m"), P: p.Int("p"), LambdaKW: p.Float("lambda_kw"),
		LRAlphaPower: p.Float("lr_alpha_power"), FeatureClip: p.Float("feature_clip"), ResidualClip: p.Float("residual_clip"),
		InitK: p.Float("init_k"), InitW: p.Float("init_w"), NTrainUsed: p.Int("n_train_used"), Diverge: p.Float("diverge")}
}

// Validate implements kit.Validator.
func (Kind) Validate(p kit.Params) error { return ValidateConfig(ConfigOf(p)) }

// CheckInputs implements kit.InputChecker: n_train_used may not exceed the
// training samples of the target the point reads.
func (Kind) CheckInputs(p kit.Params, inputs []kit.InputParams) error {
	return target.CheckPrefix("n_train_used", p.Int("n_train_used"), "n_train", inputs)
}

// ValidateConfig checks what a train configuration can be checked for
// without its target (the sweep kind checks its deep learner with it).
func ValidateConfig(cfg trainer.Config) error {
	if ls := cfg.LastStage; ls == 1 {
		return kit.Errorf("last_stage", "must be 0 (the target's L) or at least 2, have 1")
	}
	if err := cfg.Spec(2, max(2, cfg.LastStage)).Validate(); err != nil {
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
func (Kind) Threads(p kit.Params) int { return ThreadsFor(ConfigOf(p)) }

// ThreadsFor is the CPU request of a training run under cfg.
func ThreadsFor(cfg trainer.Config) int {
	if cfg.Batch >= 1024 {
		return 0
	}
	return 1
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
	cfg := ConfigOf(env.Params())
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

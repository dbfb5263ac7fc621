// Package staged is what the staged trainings of this project share: the
// hierarchical learner of the synthetic experiments (the train and sweep
// kinds) and the Fashion-MNIST classifier (the classify kind) both switch
// their layers on one stage at a time under a schedule (package schedule)
// and train them with an optimiser (package optim). This package declares
// the parameters of the schedule and the optimiser once, decodes them
// into a typed Config, derives the plan and the optimiser settings from
// it, and reads and writes the columns their history tables share (epoch,
// stage, active and trainable layers).
//
// A schedule numbers its layers First..Last: the synthetic learner's
// first trainable layer is 2 (layers 0 and 1 are fixed), the classifier's
// first block is 1.
package staged

import (
	"fmt"
	"math"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/optim"
	"github.com/bfc-repro/bfc/stages/lib/schedule"
)

// Config is the typed form of the schedule and optimiser parameters;
// each field's tag names its parameter.
type Config struct {
	Schedule       string  `param:"schedule"`         // one of schedule.Names()
	X              int     `param:"x"`                // bfc-x: layers below the newest that keep training
	EpochsFirst    int     `param:"epochs_first"`     // epochs of the first stage (the first layer alone)
	EpochsPerStage int     `param:"epochs_per_stage"` // epochs of every later stage
	LastStage      int     `param:"last_stage"`       // last layer switched on (0: the deepest)
	Batch          int     `param:"batch"`            // minibatch size (capped at the number of samples)
	Optimizer      string  `param:"optimizer"`        // "adam" or "sgd"
	LR             float64 `param:"lr"`               // base learning rate
	Momentum       float64 `param:"momentum"`         // SGD momentum (Adam: beta1 = 0.9, beta2 = 0.999)
	LRSchedule     string  `param:"lr_schedule"`      // "cosine" or "constant", restarted at every phase
	WarmupEpochs   float64 `param:"warmup_epochs"`    // linear warm-up at the start of every phase, in epochs
	LRFinal        float64 `param:"lr_final"`         // cosine: final rate as a fraction of LR
	Clip           float64 `param:"clip"`             // global gradient-norm clipping (0: off)
	WeightDecay    float64 `param:"weight_decay"`     // weight decay; what it decays is the learner's (see Defaults.WeightDecayDoc)
}

// Defaults are what differs between the kinds that declare the
// parameters: the name of a layer, the number of the first one, the
// deepest network, the default values and the meaning of weight decay.
type Defaults struct {
	Unit           string // "layer" or "block"
	First          int    // number of the first trainable layer
	MaxDepth       int    // bound of x and last_stage
	EpochsFirst    int
	EpochsFirstDoc string // what the first stage is, for its doc
	EpochsPerStage int
	Batch          int
	LR             float64
	Clip           float64
	WeightDecay    float64
	WeightDecayDoc string
}

// Params declares the schedule and optimiser parameters with d's defaults.
func Params(d Defaults) []kit.Param {
	return []kit.Param{
		kit.StringParam("schedule", schedule.Joint, "training schedule: joint, layerwise, bfc-x, end2end or lower-only").
			OneOf(schedule.Names()...),
		kit.IntParam("x", 1, fmt.Sprintf("bfc-x only: how many %ss below the newest keep training (0 = layerwise, >= L-%d = joint)",
			d.Unit, d.First)).In(0, float64(d.MaxDepth)),
		kit.IntParam("epochs_first", int64(d.EpochsFirst), "epochs of the first stage, "+d.EpochsFirstDoc).In(1, 100000),
		kit.IntParam("epochs_per_stage", int64(d.EpochsPerStage), "epochs of every later stage").In(1, 100000),
		kit.IntParam("last_stage", 0, fmt.Sprintf("last %s switched on (0: the deepest; %d makes a stage-%d checkpoint)",
			d.Unit, d.First, d.First)).In(0, float64(d.MaxDepth)),
		kit.IntParam("batch", int64(d.Batch), "minibatch size (capped at the number of training samples used)").In(1, 1<<20),
		kit.StringParam("optimizer", string(optim.Adam), "adam (beta1 0.9, beta2 0.999) or sgd (heavy-ball momentum)").
			OneOf(optim.Methods()...),
		kit.FloatParam("lr", d.LR, "base learning rate").In(1e-12, 100),
		kit.FloatParam("momentum", 0.9, "SGD momentum (ignored by adam)").In(0, 0.999),
		kit.StringParam("lr_schedule", "cosine", "learning-rate schedule within each phase, restarted at every stage: cosine or constant").
			OneOf(optim.ScheduleKinds()...),
		kit.FloatParam("warmup_epochs", 0, "linear learning-rate warm-up at the start of every phase, in epochs").In(0, 1000),
		kit.FloatParam("lr_final", 0, "cosine: final learning rate as a fraction of lr").In(0, 1),
		kit.FloatParam("clip", d.Clip, "global gradient-norm clipping bound (0: off)").In(0, 1e12),
		kit.FloatParam("weight_decay", d.WeightDecay, d.WeightDecayDoc).In(0, 1e3),
	}
}

// ConfigOf decodes the parameters Params declares from resolved params.
func ConfigOf(p kit.Params) Config {
	return Config{Schedule: p.String("schedule"), X: p.Int("x"), EpochsFirst: p.Int("epochs_first"),
		EpochsPerStage: p.Int("epochs_per_stage"), LastStage: p.Int("last_stage"), Batch: p.Int("batch"),
		Optimizer: p.String("optimizer"), LR: p.Float("lr"), Momentum: p.Float("momentum"), LRSchedule: p.String("lr_schedule"),
		WarmupEpochs: p.Float("warmup_epochs"), LRFinal: p.Float("lr_final"), Clip: p.Float("clip"), WeightDecay: p.Float("weight_decay")}
}

// Spec is the schedule of layers first..last.
func (c Config) Spec(first, last int) schedule.Spec {
	return schedule.Spec{Name: c.Schedule, X: c.X, First: first, Last: last, EpochsFirst: c.EpochsFirst, EpochsPerStage: c.EpochsPerStage}
}

// Optim is the optimiser of c: Adam's defaults with c's method, momentum
// and clipping bound (weight decay is the caller's: the learners apply it
// differently).
func (c Config) Optim() optim.Config {
	oc := optim.DefaultAdam()
	oc.Method = optim.Method(c.Optimizer)
	oc.Momentum = c.Momentum
	oc.Clip = c.Clip
	return oc
}

// Rates is the learning-rate schedule of c for epochs of stepsPerEpoch
// optimiser steps.
func (c Config) Rates(stepsPerEpoch int) optim.Schedule {
	return optim.Schedule{Kind: c.LRSchedule, Warmup: int(math.Round(c.WarmupEpochs * float64(stepsPerEpoch))), Final: c.LRFinal}
}

// Validate checks c for a network whose layers are numbered first..last
// (LastStage resolved).
func (c Config) Validate(first, last int) error {
	if c.Batch < 1 {
		return fmt.Errorf("batch %d < 1", c.Batch)
	}
	if !(c.LR > 0) {
		return fmt.Errorf("learning rate %v must be > 0", c.LR)
	}
	if err := c.Spec(first, last).Validate(); err != nil {
		return err
	}
	if err := c.Optim().Validate(); err != nil {
		return err
	}
	return c.Rates(1).Validate()
}

// Hooks receive progress reports; nil functions are skipped.
type Hooks struct {
	Progress func(done, total int, msg string)
	Logf     func(format string, args ...any)
}

// Report calls Progress if it is set.
func (h Hooks) Report(done, total int, msg string) {
	if h.Progress != nil {
		h.Progress(done, total, msg)
	}
}

// Log calls Logf if it is set.
func (h Hooks) Log(format string, args ...any) {
	if h.Logf != nil {
		h.Logf(format, args...)
	}
}

// The history columns every staged training writes first, one row per
// epoch: the epoch (1-based), the phase's stage, and the active and
// trainable layers as lists such as "2,3" (schedule.FormatLayers).
const (
	ColEpoch     = "epoch"
	ColStage     = "stage"
	ColActive    = "active"
	ColTrainable = "trainable"
)

// PhaseColumns declares the history columns above.
func PhaseColumns() []kit.ColumnDesc {
	return []kit.ColumnDesc{kit.IntCol(ColEpoch), kit.IntCol(ColStage), kit.StringCol(ColActive), kit.StringCol(ColTrainable)}
}

// Phase is the schedule part of one history row.
type Phase struct {
	Epoch, Stage      int
	Active, Trainable []int
}

// WritePhases starts a history table with the phase columns of rows.
func WritePhases(rows []Phase) *kit.Table {
	n := len(rows)
	epoch, stage, active, trainable := make([]int, n), make([]int, n), make([]string, n), make([]string, n)
	for i, r := range rows {
		epoch[i], stage[i] = r.Epoch, r.Stage
		active[i], trainable[i] = schedule.FormatLayers(r.Active), schedule.FormatLayers(r.Trainable)
	}
	return kit.NewTable().Ints(ColEpoch, epoch).Ints(ColStage, stage).String(ColActive, active).String(ColTrainable, trainable)
}

// ReadPhases reads the phase columns of a history table; row i must be
// epoch i+1.
func ReadPhases(r *kit.Rows) ([]Phase, error) {
	epoch, stage := r.Ints(ColEpoch), r.Ints(ColStage)
	active, trainable := r.Strings(ColActive), r.Strings(ColTrainable)
	out := make([]Phase, len(epoch))
	for i := range out {
		p := Phase{Epoch: epoch[i], Stage: stage[i]}
		if p.Epoch != i+1 {
			return nil, fmt.Errorf("history row %d is epoch %d", i, p.Epoch)
		}
		var err error
		if p.Active, err = schedule.ParseLayers(active[i]); err != nil {
			return nil, fmt.Errorf("history row %d: %w", i, err)
		}
		if trainable[i] != "" {
			if p.Trainable, err = schedule.ParseLayers(trainable[i]); err != nil {
				return nil, fmt.Errorf("history row %d: %w", i, err)
			}
		}
		out[i] = p
	}
	return out, nil
}

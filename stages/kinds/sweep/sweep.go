// Package sweep is the stage kind "sweep": one point of a sample-complexity
// sweep (experiments E5-E7). A point trains one learner on the first n
// training samples of an upstream target stage and reports its test
// relative error, test MSE / Var(y_test), on the target's test split.
//
// The engine's grids give every (d, n, seed, method, ...) point its own
// stage and cache entry, so extending the n grid computes only the new
// points; a downstream "collect" stage gathers the points' `result` tables
// and the "scaling" kind turns them into N*(d) and fitted exponents.
//
// Methods (docs/science.md#baselines):
//
//	krr_poly       kernel ridge regression, kernel (1 + ⟨x,x'⟩/d)^p, p = degree (0: 2^L)
//	krr_ntk        kernel ridge regression, NTK of a two-layer ReLU network (stages/lib/kernel)
//	monomial       ridge regression on all monomials of degree <= p (stages/lib/monomial)
//	twolayer_quad  two-layer network with σ(z) = z², width m (stages/lib/twolayer)
//	twolayer_relu  two-layer network with ReLU, width m
//	deep           the hierarchical learner (stages/lib/trainer, as the train kind trains it) on the same n samples
//
// Ridge methods choose their relative ridge (λ·mean(diag), see
// stages/lib/kernel/ridge) on the last val_frac of the n samples and refit on
// all n; two-layer networks hold out the same fraction for early stopping
// and do not refit; the deep learner (trainer.Fit with n_train_used = n)
// trains on all n for the configured schedule and reports its final test
// error. Because a small n gives few steps per epoch, deep_min_steps
// stretches the deep learner's epochs so that every stage gets at least
// that many optimiser steps; the two-layer networks run a fixed number of
// steps whatever n is.
//
// The kind declares every parameter of the "train" kind as its own (same
// names, defaults and ranges; n replaces n_train_used); the optimiser
// parameters among them (batch, optimizer, lr, momentum, lr_schedule,
// lr_final, clip, weight_decay) also drive the two-layer networks.
// Parameters that a method does not use are ignored by it, but they still
// enter the stage key: keep method families in separate stage blocks of
// pipeline.toml if you vary them.
package sweep

import (
	"context"
	"fmt"
	"maps"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/kernel"
	"github.com/bfc-repro/bfc/stages/lib/kernel/ridge"
	"github.com/bfc-repro/bfc/stages/lib/learner"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
	"github.com/bfc-repro/bfc/stages/lib/monomial"
	"github.com/bfc-repro/bfc/stages/lib/optim"
	"github.com/bfc-repro/bfc/stages/lib/staged"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
	"github.com/bfc-repro/bfc/stages/lib/trainer"
	"github.com/bfc-repro/bfc/stages/lib/twolayer"
)

// The method names, values of the "method" parameter.
const (
	KRRPoly      = "krr_poly"
	KRRNTK       = "krr_ntk"
	Monomial     = "monomial"
	TwoLayerQuad = "twolayer_quad"
	TwoLayerReLU = "twolayer_relu"
	Deep         = "deep"
)

// Methods lists every method.
func Methods() []string {
	return []string{KRRPoly, KRRNTK, Monomial, TwoLayerQuad, TwoLayerReLU, Deep}
}

func usesRidge(method string) bool {
	return method == KRRPoly || method == KRRNTK || method == Monomial
}

// Kind is the stage kind "sweep".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "sweep" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "One point of a sample-complexity sweep (E5-E7): trains a non-hierarchical learner (kernel ridge regression " +
		"with the polynomial kernel or the two-layer ReLU NTK, ridge regression on monomials, a two-layer network) or " +
		"the deep learner on the first n training samples of a target stage and reports the test relative error " +
		"(test MSE / Var(y_test)). Outputs: result (one row), trials (one row per ridge tried)."
}

// sharedNames are the train parameters that the two-layer networks use
// too, with the same meaning.
var sharedNames = map[string]bool{"batch": true, "optimizer": true, "lr": true, "momentum": true,
	"lr_schedule": true, "lr_final": true, "clip": true, "weight_decay": true}

// Params implements kit.Kind: the sweep's own parameters, then every
// parameter of the "train" kind (names, defaults and ranges as stages/kinds/train
// declares them) except n_train_used, which n replaces.
func (Kind) Params() []kit.Param {
	ps := []kit.Param{
		kit.StringParam("method", KRRPoly, "learner: krr_poly, krr_ntk, monomial, twolayer_quad, twolayer_relu or deep").OneOf(Methods()...),
		kit.IntParam("n", 1000, "number of training samples: the first n of the target's training split (an error if it has fewer)").In(2, 1e8),
		kit.IntParam("n_test", 0, "test samples used: the first n_test of the target's test split (0: all)").In(0, 1e8),
		kit.FloatParam("val_frac", 0.2, "fraction of the n samples (the last ones) held out to choose the ridge (ridge methods) or the early-stopping step (twolayer_*); deep trains on all n").In(0, 0.9),
		kit.FloatsParam("ridges", []float64{1e-8, 1e-6, 1e-4, 1e-2, 1}, "ridge methods: grid of relative ridges lambda (shift lambda * mean(diag) of the Gram or normal matrix)").In(0, 1e6).NonEmpty(1),
		kit.BoolParam("refit", true, "ridge methods: refit on all n samples with the chosen ridge"),
		kit.IntParam("degree", 0, "krr_poly and monomial: polynomial degree p (0: 2^L of the target)").In(0, 64),
		kit.BoolParam("ntk_bias", true, "krr_ntk: the hidden ReLU units have biases (the input gets a constant coordinate)"),
		kit.FloatParam("mem_budget_gib", 6, "ridge methods: refuse a point whose Gram/feature matrices would need more memory than this (GiB)").In(0.001, 1e6),
		kit.IntParam("max_features", 5000, "monomial: refuse when C(d+p, p) exceeds this").In(1, 1e9),
		kit.IntParam("width", 256, "twolayer_*: hidden width m").In(1, 1e6),
		kit.IntParam("steps", 3000, "twolayer_*: optimiser steps (independent of n)").In(1, 1e9),
		kit.IntParam("eval_every", 100, "twolayer_*: steps between validation checks and progress reports").In(1, 1e9),
		kit.IntParam("deep_eval_test", 500, "deep: test samples evaluated after every epoch during training (the history is not kept; the final error uses all n_test)").In(1, 1e8),
		kit.IntParam("deep_min_steps", 2000, "deep: at least this many optimiser steps in every later stage: epochs_first and epochs_per_stage are multiplied by one integer factor when n/batch steps per epoch are too few (0: epochs as given)").In(0, 1e9),
	}
	for _, p := range (train.Kind{}).Params() {
		if p.Name == "n_train_used" {
			continue
		}
		if sharedNames[p.Name] {
			p.Doc = "deep and twolayer_*: " + p.Doc
		} else {
			p.Doc = "deep: " + p.Doc
		}
		ps = append(ps, p)
	}
	return ps
}

// Config is the typed form of a sweep point's parameters.
type Config struct {
	Method       string
	N, NTest     int
	ValFrac      float64
	Ridges       []float64
	Refit        bool
	Degree       int // 0: 2^L of the target
	NTKBias      bool
	MemBudget    int64 // bytes
	MaxFeatures  int
	Width, Steps int
	EvalEvery    int
	DeepEvalTest int
	DeepMinSteps int
	// Train is the deep learner's configuration (n_train_used = N); its
	// optimiser fields drive the two-layer networks too.
	Train trainer.Config
}

// ConfigOf decodes resolved "sweep" parameters.
func ConfigOf(p kit.Params) Config {
	tp := maps.Clone(p)
	tp["n_train_used"] = int64(p.Int("n"))
	return Config{Method: p.String("method"), N: p.Int("n"), NTest: p.Int("n_test"), ValFrac: p.Float("val_frac"),
		Ridges: p.Floats("ridges"), Refit: p.Bool("refit"), Degree: p.Int("degree"), NTKBias: p.Bool("ntk_bias"),
		MemBudget: int64(p.Float("mem_budget_gib") * (1 << 30)), MaxFeatures: p.Int("max_features"), Width: p.Int("width"),
		Steps: p.Int("steps"), EvalEvery: p.Int("eval_every"), DeepEvalTest: p.Int("deep_eval_test"),
		DeepMinSteps: p.Int("deep_min_steps"), Train: train.ConfigOf(tp)}
}

// Validate implements kit.Validator.
func (Kind) Validate(p kit.Params) error {
	cfg := ConfigOf(p)
	if usesRidge(cfg.Method) && cfg.ValFrac == 0 && len(cfg.Ridges) > 1 {
		return kit.Errorf("val_frac", "is 0, so there are no validation samples to choose among %d ridges (give one ridge or a positive fraction)", len(cfg.Ridges))
	}
	if cfg.Method == Deep {
		return train.ValidateConfig(cfg.Train)
	}
	return nil
}

// CheckInputs implements kit.InputChecker: n and n_test may not exceed
// the training and test samples of the target the point reads.
func (Kind) CheckInputs(p kit.Params, inputs []kit.InputParams) error {
	if err := target.CheckPrefix("n", p.Int("n"), "n_train", inputs); err != nil {
		return err
	}
	return target.CheckPrefix("n_test", p.Int("n_test"), "n_test", inputs)
}

// Threads implements kit.Threader: the ridge methods split their Gram
// matrices and predictions over every granted CPU; the deep learner asks
// what the train kind asks for its batch; a two-layer network step is too
// small to split and asks for one CPU. Results never depend on the grant.
func (Kind) Threads(p kit.Params) int {
	switch cfg := ConfigOf(p); {
	case usesRidge(cfg.Method):
		return 0
	case cfg.Method == Deep:
		return train.ThreadsFor(cfg.Train)
	}
	return 1
}

// Point is the outcome of one sweep point, one row of the result table.
type Point struct {
	Method                  string
	D, L, K                 int
	Gap                     float64
	N, NTrain, NVal, NFit   int
	NTest                   int
	Degree                  int // polynomial degree (krr_poly, monomial), else 0
	NCoef                   int // fitted coefficients: n_fit (kernels), monomials, network parameters
	Width, Steps            int // networks, else 0
	TestRelErr, TrainRelErr float64
	ValRelErr               float64
	Ridge, RidgeEffective   float64 // NaN for networks
	RidgeRetries            int
	RidgeAtEdge             bool // the chosen ridge is the smallest or largest of a grid of >= 2
	BestStep                int  // networks: the early-stopping step kept
	TargetKey               string
	Trials                  []ridge.Trial
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	in, err := kit.OneInput(env, "target")
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	data, err := target.Load(in)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	pt, err := Evaluate(env.Context(), data, ConfigOf(env.Params()), env.Seed(), env.Threads(), staged.Hooks{Progress: env.Progress, Logf: env.Logf})
	if err != nil {
		return err
	}
	pt.Gap, pt.TargetKey = target.ConfigOf(in.Params()).Gap, in.Key()
	env.Logf("%s d=%d n=%d: test relative error %.4g (train %.4g)", pt.Method, pt.D, pt.N, pt.TestRelErr, pt.TrainRelErr)
	rec, err := pt.resultTable()
	if err != nil {
		return fmt.Errorf("sweep: result table: %w", err)
	}
	if err := env.Write(TableResult, rec); err != nil {
		return err
	}
	if rec, err = pt.trialsTable(); err != nil {
		return fmt.Errorf("sweep: trials table: %w", err)
	}
	return env.Write(TableTrials, rec)
}

// Evaluate runs one sweep point on a loaded target under cfg. seed
// drives the networks' initialisation and minibatches. The point's Gap
// and TargetKey are the caller's to fill.
func Evaluate(ctx context.Context, data *targetnet.Data, cfg Config, seed uint64, threads int, hooks staged.Hooks) (*Point, error) {
	method, n := cfg.Method, cfg.N
	progress, logf := hooks.Report, hooks.Log
	net := data.Net
	if n > data.Train.N {
		return nil, fmt.Errorf("sweep %s: n = %d but the target has only %d training samples (raise its n_train)", method, n, data.Train.N)
	}
	nTest := data.Test.N
	if v := cfg.NTest; v > 0 {
		if v > nTest {
			return nil, fmt.Errorf("sweep %s: n_test = %d but the target has only %d test samples", method, v, nTest)
		}
		nTest = v
	}
	x := data.Train.X.Slice(0, n, 0, net.D).(*mat.Dense)
	y := data.Train.Y[:n]
	xt := data.Test.X.Slice(0, nTest, 0, net.D).(*mat.Dense)
	yt := data.Test.Y[:nTest]
	pt := &Point{Method: method, D: net.D, L: net.L, K: net.K, N: n, NTest: nTest,
		Ridge: math.NaN(), RidgeEffective: math.NaN()}
	degree := cfg.Degree
	if degree == 0 {
		degree = 1 << net.L
	}
	budget := cfg.MemBudget

	var predict func(x *mat.Dense) ([]float64, error)
	var ri ridge.Info
	switch method {
	case KRRPoly, KRRNTK:
		var k kernel.Kernel
		var err error
		if method == KRRPoly {
			k, err = kernel.NewPoly(degree, net.D)
			pt.Degree = degree
		} else {
			k, err = kernel.NewNTK(net.D, cfg.NTKBias)
		}
		if err != nil {
			return nil, err
		}
		m, info, err := kernel.Fit(ctx, x, y, kernel.Config{Kernel: k, Ridges: cfg.Ridges, ValFrac: cfg.ValFrac,
			Refit: cfg.Refit, MemBudget: budget, Threads: threads, Progress: progress, Logf: logf})
		if err != nil {
			return nil, err
		}
		ri, pt.NCoef = info.Info, info.NFit
		predict = func(x *mat.Dense) ([]float64, error) { return m.Predict(ctx, x, threads) }
	case Monomial:
		m, info, err := monomial.Fit(ctx, x, y, monomial.Config{Degree: degree, MaxFeatures: cfg.MaxFeatures,
			Ridges: cfg.Ridges, ValFrac: cfg.ValFrac, Refit: cfg.Refit, MemBudget: budget, Threads: threads,
			Progress: progress, Logf: logf})
		if err != nil {
			return nil, err
		}
		ri, pt.NCoef, pt.Degree = info.Info, info.Features, degree
		predict = m.Predict
	case TwoLayerQuad, TwoLayerReLU:
		act := "quad"
		if method == TwoLayerReLU {
			act = "relu"
		}
		tc := cfg.Train
		oc := tc.Optim()
		oc.WeightDecay = 2 * tc.WeightDecay // the gradient of wd·||w||², as in train
		if oc.Method == optim.SGD {
			oc.Beta1, oc.Beta2, oc.Eps = 0, 0, 0
		}
		m, info, err := twolayer.Fit(ctx, x, y, twolayer.Config{Activation: act, Width: cfg.Width, Steps: cfg.Steps,
			Batch: tc.Batch, LR: tc.LR, Optim: oc, Schedule: optim.Schedule{Kind: tc.LRSchedule, Final: tc.LRFinal},
			ValFrac: cfg.ValFrac, EvalEvery: cfg.EvalEvery, Seed: seed, Progress: progress, Logf: logf})
		if err != nil {
			return nil, err
		}
		pt.NTrain, pt.NVal, pt.NFit = info.NTrain, info.NVal, info.NTrain
		pt.Width, pt.Steps, pt.BestStep, pt.NCoef = cfg.Width, cfg.Steps, info.BestStep, m.Net.Params()
		pt.ValRelErr = info.ValRelErr
		predict = m.Predict
	case Deep:
		cfg0 := cfg
		cfg := cfg.Train
		cfg.Threads = threads
		if minSteps := cfg0.DeepMinSteps; minSteps > 0 {
			perEpoch := n / min(cfg.Batch, n)
			if f := (minSteps + perEpoch*cfg.EpochsPerStage - 1) / (perEpoch * cfg.EpochsPerStage); f > 1 {
				cfg.EpochsFirst *= f
				cfg.EpochsPerStage *= f
				logf("deep: n = %d gives %d steps per epoch; epochs multiplied by %d to %d/%d", n, perEpoch, f, cfg.EpochsFirst, cfg.EpochsPerStage)
			}
		}
		// trainer.Fit evaluates the test split after every epoch, which at
		// small n (many short epochs) costs more than the training; its
		// history is not used here, so it sees only the first
		// deep_eval_test test samples, and the final error is measured
		// below on all n_test like every other method's.
		small := *data
		small.Test = headSplit(data.Test, min(cfg0.DeepEvalTest, nTest))
		res, err := trainer.Fit(ctx, &small, cfg, seed, nil, hooks)
		if err != nil {
			return nil, fmt.Errorf("sweep deep, n = %d: %w", n, err)
		}
		pt.NTrain, pt.NFit, pt.ValRelErr = n, n, math.NaN()
		pt.Width = res.Config.M
		pt.Steps = len(res.History) * (n / min(res.Config.Batch, n))
		pt.NCoef = 1
		for l := 2; l < len(res.Net.K); l++ {
			pt.NCoef += len(res.Net.K[l]) + len(res.Net.W[l])
		}
		predict = func(x *mat.Dense) ([]float64, error) { return deepPredict(res, x, threads) }
	default:
		return nil, fmt.Errorf("sweep: method %q is not available", method)
	}
	if usesRidge(method) {
		pt.NTrain, pt.NVal, pt.NFit = ri.NTrain, ri.NVal, ri.NFit
		pt.Ridge, pt.RidgeEffective, pt.RidgeRetries, pt.ValRelErr = ri.Ridge, ri.Effective, ri.Retries, ri.ValRelErr
		pt.Trials = ri.Trials
		if g := cfg.Ridges; len(g) > 1 && (ri.Ridge == g[0] || ri.Ridge == g[len(g)-1]) {
			pt.RidgeAtEdge = true
		}
	}
	var err error
	if pt.TestRelErr, err = relErrOf(predict, xt, yt); err != nil {
		return nil, fmt.Errorf("sweep %s: test split: %w", method, err)
	}
	fit := x.Slice(0, pt.NFit, 0, net.D).(*mat.Dense)
	if pt.TrainRelErr, err = relErrOf(predict, fit, y[:pt.NFit]); err != nil {
		return nil, fmt.Errorf("sweep %s: training samples: %w", method, err)
	}
	return pt, nil
}

// headSplit returns the first k samples of s (sharing its storage).
func headSplit(s targetnet.Split, k int) targetnet.Split {
	_, d := s.X.Dims()
	h := targetnet.Split{N: k, X: s.X.Slice(0, k, 0, d).(*mat.Dense), Y: s.Y[:k], G: s.G[:k], S: make([]*mat.Dense, len(s.S))}
	for l, m := range s.S {
		if m != nil {
			_, c := m.Dims()
			h.S[l] = m.Slice(0, k, 0, c).(*mat.Dense)
		}
	}
	return h
}

// deepPredict evaluates the trained deep learner with the layers that are
// active in its last phase.
func deepPredict(res *trainer.Result, x *mat.Dense, threads int) ([]float64, error) {
	ph := res.Phases[len(res.Phases)-1]
	mask, err := learner.NewMask(res.Learner.L, ph.Active, ph.Trainable)
	if err != nil {
		return nil, err
	}
	n, _ := x.Dims()
	pred := make([]float64, n)
	if _, err := res.Net.Eval(learner.NewWorkspace(res.Net, threads), mat.DenseCopyOf(x).RawMatrix().Data, mask, pred, nil); err != nil {
		return nil, err
	}
	return pred, nil
}

func relErrOf(predict func(*mat.Dense) ([]float64, error), x *mat.Dense, y []float64) (float64, error) {
	pred, err := predict(x)
	if err != nil {
		return math.NaN(), err
	}
	return metrics.RelErr(pred, y)
}

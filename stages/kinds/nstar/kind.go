// Package nstar is the stage kind "nstar": for one target point and one
// learner it searches N*, the smallest number of training samples at
// which the learner's test error reaches a threshold τ, by doubling and
// bisection over n, every probe a point of the "sweep" kind
// (docs/science.md#nstar-search).
//
// # The statistic
//
// The error of a probe is test MSE / Var(y), with Var(y) the exact
// variance of the stored labels (hermite.Labels of the stored weights,
// the target's Monte Carlo centring constant and noise; ExactLabels), not
// the sample variance of the test labels, which for these heavy-tailed
// labels moves by tens of percent between test sets. The MSE is recovered
// from the sweep's test_rel_err exactly as the sweep computed it:
// test_rel_err × SampleVar(first n_test test labels).
//
// # The thresholds
//
// The primary threshold is τ = f · share_high, share_high the exact share
// of Var(y) carried by the Hermite degrees above 2^(L−1) (the part of the
// target that only the top layer produces). Hermite degrees are
// orthogonal, so the error of any prediction is at least the error of its
// high-degree part alone; an error <= f · share_high · Var(y) therefore
// leaves at most a fraction f of the high-degree variance unexplained: the
// learner has captured at least 1 − f of it (see
// docs/science.md#nstar-search). fixed_taus adds searches at fixed
// thresholds (secondary rows, comparable with E6).
//
// # The search
//
// Declared before the data (Search): n = n_min, 2 n_min, 4 n_min, ...
// (capped at n_max) until the first n with error <= τ (hi), the n before
// it being lo; then bisection at the rounded geometric midpoint of
// [lo, hi] until hi/lo <= ratio. Errors are noisy in n; the rule does not
// look back: N* is bracketed by the first crossing on the doubling path
// and the bisection inside that bracket. If τ is reached at n_min the
// bracket is (0, n_min] (censoring "left"); if not by n_max it is
// (n_max, +Inf) (censoring "right"): bounds, never dropped.
//
// Every probe is Env.Probe("sweep", params, [target]) with the learner's
// parameters (those that differ from the sweep kind's defaults, plus
// method and n), so it is its own cached point: a second search, a finer
// ratio or a larger n_max reuses every probe already computed, and the
// same inputs give the same probes and the same bytes.
//
// Outputs: result (one row per threshold: the bracket, its censoring,
// τ, share_high, the exact and the sample Var(y)), probes (one row per
// probe of each search, in search order) and spectrum (the exact share of
// Var(y) per Hermite degree).
package nstar

import (
	"fmt"
	"math"
	"reflect"

	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Kind is the stage kind "nstar".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "nstar" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Adaptive search of N* (claim 4, docs/science.md#nstar-search): the smallest n at which a learner's test MSE / exact Var(y) " +
		"reaches tau = f * (share of Var(y) in Hermite degrees above 2^(L-1)), and optional fixed thresholds, by doubling from n_min " +
		"then bisection until hi/lo <= ratio, each probe a cached sweep point. Outputs: result, probes, spectrum."
}

// own are the kind's parameters besides the sweep's.
func own() []kit.Param {
	return []kit.Param{
		kit.FloatParam("f", 0.5, "primary threshold tau = f * share_high (share of Var(y) in degrees above 2^(L-1))").In(1e-6, 1),
		kit.FloatsParam("fixed_taus", []float64{}, "secondary searches at these fixed thresholds of test MSE / Var(y)").In(1e-9, 10),
		kit.IntParam("n_min", 64, "first n of the doubling").In(2, 1e8),
		kit.IntParam("n_max", 8192, "budget: the largest n probed").In(2, 1e8),
		kit.FloatParam("ratio", 1.25, "bisect until hi/lo <= ratio").In(1.0001, 100),
	}
}

// Params implements kit.Kind: its own parameters, then every parameter
// of the sweep kind except n (passed through to the probes).
func (Kind) Params() []kit.Param {
	ps := own()
	for _, p := range (sweep.Kind{}).Params() {
		if p.Name != "n" {
			ps = append(ps, p)
		}
	}
	return ps
}

// Config is the search's own configuration.
type Config struct {
	F          float64
	FixedTaus  []float64
	NMin, NMax int
	Ratio      float64
}

// ConfigOf decodes the search's own parameters.
func ConfigOf(p kit.Params) Config {
	return Config{F: p.Float("f"), FixedTaus: p.Floats("fixed_taus"), NMin: p.Int("n_min"), NMax: p.Int("n_max"), Ratio: p.Float("ratio")}
}

// sweepParams returns p as sweep parameters at n.
func sweepParams(p kit.Params, n int) kit.Params {
	out := kit.Params{}
	for _, sp := range (sweep.Kind{}).Params() {
		if sp.Name != "n" {
			out[sp.Name] = p[sp.Name]
		}
	}
	out["n"] = int64(n)
	return out
}

// ProbeParams are the params of the sweep probe at n: method and n, and
// every sweep parameter whose value differs from the sweep kind's
// default (defaults are filled in again when the probe resolves them, so
// the key is that of the full set; leaving them out keeps probe names
// short).
func ProbeParams(p kit.Params, n int) map[string]any {
	out := map[string]any{"method": p.String("method"), "n": int64(n)}
	for _, sp := range (sweep.Kind{}).Params() {
		if sp.Name == "n" || sp.Name == "method" {
			continue
		}
		if v := p[sp.Name]; !reflect.DeepEqual(v, sp.Default) {
			out[sp.Name] = v
		}
	}
	return out
}

// Validate implements kit.Validator: the bracket's ends, and the sweep's
// own rules at n_min.
func (Kind) Validate(p kit.Params) error {
	c := ConfigOf(p)
	if c.NMax < c.NMin {
		return kit.Errorf("n_max", "%d is below n_min = %d", c.NMax, c.NMin)
	}
	return (sweep.Kind{}).Validate(sweepParams(p, c.NMin))
}

// CheckInputs implements kit.InputChecker: n_max and n_test may not
// exceed the target's splits.
func (Kind) CheckInputs(p kit.Params, inputs []kit.InputParams) error {
	if err := target.CheckPrefix("n_max", p.Int("n_max"), "n_train", inputs); err != nil {
		return err
	}
	return target.CheckPrefix("n_test", p.Int("n_test"), "n_test", inputs)
}

// Threads implements kit.Threader: what the sweep asks for its learner
// (the probes run within this grant).
func (Kind) Threads(p kit.Params) int {
	return (sweep.Kind{}).Threads(sweepParams(p, p.Int("n_max")))
}

// Consumes implements kit.Consumer: the target, through target.Load.
func (Kind) Consumes(kit.Params) []kit.TableNeed { return target.LoadNeeds() }

// Run implements kit.Kind.
func (k Kind) Run(env kit.Env) error {
	in, err := kit.OneInput(env, "target")
	if err != nil {
		return fmt.Errorf("nstar: %w", err)
	}
	p := env.Params()
	c := ConfigOf(p)
	lb, data, err := ExactLabels(in, env.Threads())
	if err != nil {
		return fmt.Errorf("nstar: %w", err)
	}
	net := data.Net
	nTest := data.Test.N
	if v := p.Int("n_test"); v > 0 {
		if v > nTest {
			return fmt.Errorf("nstar: n_test = %d but target %s has %d test samples", v, in.Key(), nTest)
		}
		nTest = v
	}
	varTest := SampleVar(data.Test.Y[:nTest])
	q0 := 1 << (net.L - 1)
	share := lb.ShareAbove(q0)
	tcfg := target.ConfigOf(in.Params())
	base := Result{Method: p.String("method"), D: net.D, L: net.L, K: net.K, Gap: tcfg.Gap,
		Replicate: in.Labels()["seed"], TargetKey: in.Key(), F: c.F, ShareHigh: share, VarY: lb.VarY,
		VarYTest: varTest, LabelMean: lb.Mean, NTest: nTest, NMin: c.NMin, NMax: c.NMax, Ratio: c.Ratio}
	env.Logf("%s d=%d L=%d: exact Var(y) %.4g (test sample %.4g), share above degree %d: %.4g, label mean %.3g",
		base.Method, net.D, net.L, lb.VarY, varTest, q0, share, lb.Mean)

	type probed struct {
		rel, err float64
		key      string
	}
	memo := map[int]probed{}
	errAt := func(n int) (float64, error) {
		if m, ok := memo[n]; ok {
			return m.err, nil
		}
		pin, err := env.Probe("sweep", ProbeParams(p, n), []kit.Input{in})
		if err != nil {
			return math.NaN(), err
		}
		var rel float64
		err = sweep.ResultDesc.Use(pin, func(r *kit.Rows) error {
			if err := r.One(); err != nil {
				return err
			}
			pt := sweep.Points(r)[0]
			if pt.NTest != nTest || pt.N != n {
				return fmt.Errorf("probe at n = %d reports n = %d, n_test = %d (want %d)", n, pt.N, pt.NTest, nTest)
			}
			rel = pt.TestRelErr
			return nil
		})
		if err != nil {
			return math.NaN(), err
		}
		m := probed{rel: rel, err: rel * varTest / lb.VarY, key: pin.Key()}
		memo[n] = m
		return m.err, nil
	}
	type search struct {
		name string
		tau  float64
	}
	searches := []search{{TauPrimary, c.F * share}}
	for _, t := range c.FixedTaus {
		searches = append(searches, search{TauFixed, t})
	}
	var results []Result
	var probes []Probe
	for i, s := range searches {
		env.Progress(i, len(searches), fmt.Sprintf("%s tau %.4g", s.name, s.tau))
		b, err := Search(errAt, s.tau, c.NMin, c.NMax, c.Ratio)
		if err != nil {
			return fmt.Errorf("nstar %s d=%d, %s tau = %.4g: %w", base.Method, net.D, s.name, s.tau, err)
		}
		r := base
		r.TauName, r.Tau, r.Lo, r.Hi, r.NStar, r.Censoring, r.Probes = s.name, s.tau, b.Lo, b.Hi, b.Mid(), b.Censoring, len(b.Steps)
		r.ErrLo, r.ErrHi = math.NaN(), math.NaN()
		for j, st := range b.Steps {
			m := memo[st.N]
			probes = append(probes, Probe{TauName: s.name, Tau: s.tau, Step: j, Phase: st.Phase, N: st.N, TestRelErr: m.rel,
				MSE: m.rel * varTest, Error: st.Error, Reached: st.Reached, ProbeKey: m.key})
			if float64(st.N) == b.Lo {
				r.ErrLo = st.Error
			}
			if float64(st.N) == b.Hi {
				r.ErrHi = st.Error
			}
		}
		env.Logf("%s tau %.4g: N* in (%g, %g] after %d probes (censoring %s)", s.name, s.tau, b.Lo, b.Hi, len(b.Steps), b.Censoring)
		results = append(results, r)
	}
	env.Progress(len(searches), len(searches), "done")
	return writeTables(env, results, probes, lb.Spectrum, lb.VarY)
}

package sweep

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// targetInput runs a small target stage: d = 4, k = 2, L = 2, so G* is a
// polynomial of degree 4 with C(8, 4) = 70 monomial coefficients.
func targetInput(t *testing.T) kit.Input {
	t.Helper()
	env := kittest.NewEnv(t, target.Kind{}, map[string]any{"d": int64(4), "k": int64(2), "L": int64(2),
		"n_train": int64(600), "n_test": int64(300), "norm_samples": int64(2000)}, 5)
	if err := (target.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(map[string]string{"d": "4"})
}

func runSweep(t *testing.T, in kit.Input, raw map[string]any, threads int) *kittest.Env {
	t.Helper()
	env := kittest.NewEnv(t, Kind{}, raw, 9, in)
	env.SetThreads(threads)
	if err := (Kind{}).Run(env); err != nil {
		t.Fatalf("%v: %v", raw, err)
	}
	return env
}

func float1(t *testing.T, rec arrow.Record, col string) float64 {
	t.Helper()
	v, err := kit.ReadFloat64s(rec, col)
	if err != nil || len(v) != 1 {
		t.Fatalf("column %s: %v (%d rows)", col, err, len(v))
	}
	return v[0]
}

func int1(t *testing.T, rec arrow.Record, col string) int64 {
	t.Helper()
	v, err := kit.ReadInt64s(rec, col)
	if err != nil || len(v) != 1 {
		t.Fatalf("column %s: %v (%d rows)", col, err, len(v))
	}
	return v[0]
}

// TestMethods runs every available method on the degree-4 target. The
// degree-4 polynomial kernel and the degree-4 monomial regression contain
// the target exactly and have 500 > 70 samples, so their test error must
// be tiny (the labels are noise-free; only the ridge, >= 1e-8 relative,
// biases the fit); the others must at least beat the constant predictor
// or, for the quadratic network, sit near the share of Var(y) that is not
// quadratic.
func TestMethods(t *testing.T) {
	in := targetInput(t)
	cases := []struct {
		method string
		extra  map[string]any
		hi     float64
		coef   int64
	}{
		{KRRPoly, nil, 1e-4, 500},
		{Monomial, nil, 1e-4, 70},
		{KRRNTK, nil, 0.9, 500},
		{TwoLayerReLU, map[string]any{"width": int64(64), "steps": int64(600), "lr": 1e-2}, 0.9, 64*6 + 1},
		{TwoLayerQuad, map[string]any{"width": int64(16), "steps": int64(600), "lr": 1e-2}, 1.5, 16*6 + 1},
		// L = 2: one stage; P_2 = d + d = 8 inputs, K_2 2×8, W_2 16×8, bias.
		{Deep, map[string]any{"m": int64(16), "epochs_first": int64(10), "deep_min_steps": int64(0), "lr": 1e-2}, 0.9, 2*8 + 16*8 + 1},
	}
	for _, c := range cases {
		raw := map[string]any{"method": c.method, "n": int64(500), "val_frac": 0.2}
		for k, v := range c.extra {
			raw[k] = v
		}
		env := runSweep(t, in, raw, 2)
		rec := env.Output("result")
		if rec.NumRows() != 1 {
			t.Fatalf("%s: %d result rows", c.method, rec.NumRows())
		}
		e := float1(t, rec, "test_rel_err")
		t.Logf("%s: test relative error %.4g, train %.4g", c.method, e, float1(t, rec, "train_rel_err"))
		if !(e >= 0 && e < c.hi) {
			t.Errorf("%s: test relative error %v, want in [0, %g)", c.method, e, c.hi)
		}
		if got := int1(t, rec, "n_coef"); got != c.coef {
			t.Errorf("%s: n_coef %d, want %d", c.method, got, c.coef)
		}
		wantVal := int64(100)
		if c.method == Deep {
			wantVal = 0 // trains on all n
		}
		if int1(t, rec, "n") != 500 || int1(t, rec, "n_val") != wantVal || int1(t, rec, "d") != 4 || int1(t, rec, "n_test") != 300 {
			t.Errorf("%s: sizes n=%d n_val=%d d=%d n_test=%d", c.method, int1(t, rec, "n"), int1(t, rec, "n_val"), int1(t, rec, "d"), int1(t, rec, "n_test"))
		}
		trials := env.Output("trials")
		if c.method == Deep {
			// n = 500, batch 256: one step per epoch, 10 epochs.
			if got := int1(t, rec, "steps"); got != 10 || trials.NumRows() != 0 {
				t.Errorf("deep: %d steps, %d trials; want 10 and 0", got, trials.NumRows())
			}
			continue
		}
		if usesRidge(c.method) {
			if trials.NumRows() != 5 || math.IsNaN(float1(t, rec, "ridge")) {
				t.Errorf("%s: %d trials, ridge %v", c.method, trials.NumRows(), float1(t, rec, "ridge"))
			}
		} else if trials.NumRows() != 0 || !math.IsNaN(float1(t, rec, "ridge")) || int1(t, rec, "best_step") == 0 {
			t.Errorf("%s: network point has %d trials, ridge %v, best step %d", c.method, trials.NumRows(), float1(t, rec, "ridge"), int1(t, rec, "best_step"))
		}
	}
}

// TestDeepMinSteps: with one step per epoch (n = 300, batch 256) and 12
// epochs, deep_min_steps = 30 multiplies the epochs by ceil(30/12) = 3.
func TestDeepMinSteps(t *testing.T) {
	in := targetInput(t)
	env := runSweep(t, in, map[string]any{"method": Deep, "n": int64(300), "m": int64(8), "epochs_first": int64(12),
		"epochs_per_stage": int64(12), "deep_min_steps": int64(30)}, 1)
	if got := int1(t, env.Output("result"), "steps"); got != 36 {
		t.Errorf("%d steps, want 36", got)
	}
}

// TestDeepMatchesTrainKind: the sweep's deep point is the train kind run
// on the first n samples. Its test error, measured by the sweep on the
// whole test split while trainer.Fit evaluated only deep_eval_test samples
// per epoch, must equal the train kind's final test_rel_err (computed by
// train on the whole split) up to summation order (1e-12 relative).
func TestDeepMatchesTrainKind(t *testing.T) {
	in := targetInput(t)
	shared := map[string]any{"m": int64(16), "epochs_first": int64(15), "lr": 1e-2}
	sw := map[string]any{"method": Deep, "n": int64(400), "deep_min_steps": int64(0), "deep_eval_test": int64(40)}
	tr := map[string]any{"n_train_used": int64(400)}
	for k, v := range shared {
		sw[k], tr[k] = v, v
	}
	env := runSweep(t, in, sw, 1)
	got := float1(t, env.Output("result"), "test_rel_err")
	tenv := kittest.NewEnv(t, train.Kind{}, tr, 9, in)
	if err := (train.Kind{}).Run(tenv); err != nil {
		t.Fatal(err)
	}
	want := float1(t, tenv.Output("summary"), "test_rel_err")
	if math.Abs(got-want) > 1e-12*want {
		t.Fatalf("sweep deep test error %v, train kind %v", got, want)
	}
}

// TestDeterministic: the same point gives identical result bytes with 1
// thread and GOMAXPROCS 1 as with 4 threads and GOMAXPROCS 4.
func TestDeterministic(t *testing.T) {
	in := targetInput(t)
	for _, raw := range []map[string]any{
		{"method": KRRNTK, "n": int64(600)},
		{"method": Monomial, "n": int64(600), "degree": int64(6)}, // 210 features: several Gram tiles
		{"method": TwoLayerReLU, "n": int64(600), "steps": int64(100), "width": int64(300), "batch": int64(600)},
		{"method": Deep, "n": int64(600), "epochs_first": int64(5), "deep_min_steps": int64(0), "batch": int64(1024)},
	} {
		run := func(threads int) []byte {
			old := runtime.GOMAXPROCS(threads)
			defer runtime.GOMAXPROCS(old)
			env := runSweep(t, in, raw, threads)
			return append(kittest.Bytes(t, env.Output("result")), kittest.Bytes(t, env.Output("trials"))...)
		}
		if a, b := run(1), run(4); !bytes.Equal(a, b) {
			t.Errorf("%v: output bytes differ between 1 and 4 threads", raw["method"])
		}
	}
}

func TestErrors(t *testing.T) {
	in := targetInput(t)
	cases := []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"n": int64(601)}, "n = 601 but the target has only 600 training samples"},
		{map[string]any{"n": int64(100), "n_test": int64(301)}, "n_test = 301"},
		{map[string]any{"n": int64(600), "mem_budget_gib": 0.001}, "memory budget"},
		{map[string]any{"method": Monomial, "n": int64(100), "degree": int64(8), "max_features": int64(100)}, "exceed the limit of 100 features"},
	}
	for _, c := range cases {
		env := kittest.NewEnv(t, Kind{}, c.raw, 1, in)
		err := (Kind{}).Run(env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.raw, err, c.want)
		}
	}
	for _, c := range []struct {
		method string
		batch  int64
		want   int
	}{{KRRNTK, 256, 0}, {Monomial, 256, 0}, {TwoLayerReLU, 256, 1}, {Deep, 256, 1}, {Deep, 2048, 0}} {
		p, err := kit.Resolve(Kind{}.Params(), map[string]any{"method": c.method, "batch": c.batch})
		if err != nil {
			t.Fatal(err)
		}
		if got := (Kind{}).Threads(p); got != c.want {
			t.Errorf("%s batch %d: asks for %d threads, want %d", c.method, c.batch, got, c.want)
		}
	}
	p, err := kit.Resolve(Kind{}.Params(), map[string]any{"val_frac": 0.0})
	if err != nil {
		t.Fatal(err)
	}
	if err := (Kind{}).Validate(p); err == nil || !strings.Contains(err.Error(), "val_frac") {
		t.Errorf("val_frac 0 with 5 ridges: %v", err)
	}
}

// TestCheckInputs: a sweep point may not read more training or test
// samples than its target has; train points likewise for n_train_used.
func TestCheckInputs(t *testing.T) {
	tgt, err := kit.Resolve(target.Kind{}.Params(), map[string]any{"n_train": int64(500), "n_test": int64(100)})
	if err != nil {
		t.Fatal(err)
	}
	ins := []kit.InputParams{{Point: "t[seed=1]", Kind: "target", Params: tgt}}
	cases := []struct {
		kind kit.InputChecker
		decl []kit.Param
		raw  map[string]any
		want string // "" = accepted
	}{
		{Kind{}, Kind{}.Params(), map[string]any{"n": int64(500)}, ""},
		{Kind{}, Kind{}.Params(), map[string]any{"n": int64(501)}, "n: 501 is more than the 500 training samples of its input t[seed=1] (its n_train)"},
		{Kind{}, Kind{}.Params(), map[string]any{"n": int64(100), "n_test": int64(101)}, "n_test: 101 is more than the 100 test samples of its input t[seed=1] (its n_test)"},
		{Kind{}, Kind{}.Params(), map[string]any{"n": int64(100), "n_test": int64(0)}, ""},
		{train.Kind{}, train.Kind{}.Params(), map[string]any{"n_train_used": int64(0)}, ""},
		{train.Kind{}, train.Kind{}.Params(), map[string]any{"n_train_used": int64(600)}, "n_train_used: 600 is more than the 500 training samples"},
	}
	for _, c := range cases {
		p, err := kit.Resolve(c.decl, c.raw)
		if err != nil {
			t.Fatal(err)
		}
		err = c.kind.CheckInputs(p, ins)
		var fe *kit.FieldError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.raw, err)
		case c.want != "" && (!errors.As(err, &fe) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want a FieldError containing %q", c.raw, err, c.want)
		}
		// Inputs of other kinds (a train checkpoint) are not targets.
		if err := c.kind.CheckInputs(p, []kit.InputParams{{Point: "ck", Kind: "train", Params: kit.Params{}}}); err != nil {
			t.Errorf("%v with a non-target input: %v", c.raw, err)
		}
	}
}

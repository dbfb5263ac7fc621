package train

import (
	"bytes"
	"context"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
	"github.com/bfc-repro/bfc/stages/lib/trainer"
)

// tinyTarget runs a small target stage: d=6, k=2, L=3.
func tinyTarget(t *testing.T, L int) *kittest.Env {
	t.Helper()
	env := kittest.NewEnv(t, target.Kind{}, map[string]any{"d": int64(6), "k": int64(2), "L": int64(L),
		"n_train": int64(512), "n_test": int64(256), "norm_samples": int64(2000)}, 3)
	if err := (target.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env
}

// fast are training params small enough for unit tests.
func fast(extra map[string]any) map[string]any {
	p := map[string]any{"epochs_first": int64(4), "epochs_per_stage": int64(3), "m": int64(8), "batch": int64(64),
		"lr": 0.01}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func runTrain(t *testing.T, params map[string]any, seed int64, threads int, inputs ...kit.Input) *kittest.Env {
	t.Helper()
	env := kittest.NewEnv(t, Kind{}, params, seed, inputs...)
	env.SetThreads(threads)
	if err := (Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env
}

func outputBytes(t *testing.T, env *kittest.Env) map[string][]byte {
	out := map[string][]byte{}
	for _, name := range env.OutputNames() {
		out[name] = kittest.Bytes(t, env.Output(name))
	}
	return out
}

func TestEverySchedule(t *testing.T) {
	for _, L := range []int{3, 4} {
		tgt := tinyTarget(t, L).AsInput(nil)
		for _, sched := range []string{"joint", "layerwise", "bfc-x", "end2end", "lower-only"} {
			env := runTrain(t, fast(map[string]any{"schedule": sched}), 1, 1, tgt)
			if got := env.OutputNames(); !slices.Equal(got, []string{"history", "weights", "summary"}) {
				t.Fatalf("outputs %v", got)
			}
			h := env.Output("history")
			want := int64(4 + 3*(L-2))
			if h.NumRows() != want {
				t.Errorf("L=%d %s: %d history rows, want %d", L, sched, h.NumRows(), want)
			}
			for l := 2; l <= L; l++ {
				eps, err := kit.ReadFloat64s(h, "eps_"+string(rune('0'+l)))
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range eps {
					if !(e >= 0) || math.IsInf(e, 0) {
						t.Fatalf("%s: eps_%d = %v", sched, l, e)
					}
				}
			}
			if n := len(env.ProgressLines()); n != int(want) {
				t.Errorf("%s: %d progress lines, want %d", sched, n, want)
			}
			stages, _ := kit.ReadInt64s(h, "stage")
			if sched == "end2end" {
				if stages[0] != int64(L) {
					t.Errorf("end2end stage %d", stages[0])
				}
			} else if stages[0] != 2 || stages[len(stages)-1] != int64(L) {
				t.Errorf("%s: stages %v", sched, stages)
			}
			s := env.Output("summary")
			if s.NumRows() != 1 {
				t.Errorf("summary rows %d", s.NumRows())
			}
			names, _ := kit.ReadStrings(s, "schedule")
			if names[0] != sched {
				t.Errorf("summary schedule %q", names[0])
			}
		}
	}
}

// Same params and seed give identical bytes, whatever the thread count or
// GOMAXPROCS; another seed gives different bytes.
func TestDeterministic(t *testing.T) {
	tgt := tinyTarget(t, 3).AsInput(nil)
	params := fast(map[string]any{"batch": int64(200)}) // several chunks per step
	run := func(threads, procs int, seed int64) map[string][]byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		return outputBytes(t, runTrain(t, params, seed, threads, tgt))
	}
	ref := run(1, 1, 5)
	for _, c := range [][2]int{{1, 1}, {4, 4}, {2, 1}} {
		got := run(c[0], c[1], 5)
		for name, b := range ref {
			if !bytes.Equal(b, got[name]) {
				t.Errorf("threads %d GOMAXPROCS %d: output %s differs", c[0], c[1], name)
			}
		}
	}
	if other := run(1, 1, 6); bytes.Equal(other["weights"], ref["weights"]) {
		t.Error("another seed gave the same weights")
	}
}

// A joint run continued from a stage-2 checkpoint equals an uninterrupted
// joint run with the checkpoint's seed, byte for byte.
func TestCheckpointContinuesExactly(t *testing.T) {
	tgt := tinyTarget(t, 3).AsInput(nil)
	ck := runTrain(t, fast(map[string]any{"last_stage": int64(2)}), 9, 1, tgt)
	if n := ck.Output("history").NumRows(); n != 4 {
		t.Fatalf("checkpoint has %d epochs, want 4", n)
	}
	cont := runTrain(t, fast(nil), 1234, 1, tgt, ck.AsInput(nil))
	direct := runTrain(t, fast(nil), 9, 1, tgt)
	a, b := outputBytes(t, cont), outputBytes(t, direct)
	for _, name := range []string{"history", "weights", "summary"} {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("continued %s differs from the uninterrupted run", name)
		}
	}
	// Layerwise keeps layer 2 frozen after the checkpoint; lower-only never touches layer 3.
	ckW := weightsOf(t, ck)
	lw := weightsOf(t, runTrain(t, fast(map[string]any{"schedule": "layerwise"}), 1, 1, tgt, ck.AsInput(nil)))
	lo := weightsOf(t, runTrain(t, fast(map[string]any{"schedule": "lower-only"}), 1, 1, tgt, ck.AsInput(nil)))
	for _, blk := range []string{"K2", "W2", "R2"} {
		if !slices.Equal(lw[blk], ckW[blk]) {
			t.Errorf("layerwise changed %s after stage 2", blk)
		}
	}
	for _, blk := range []string{"K3", "W3"} {
		if !slices.Equal(lo[blk], ckW[blk]) {
			t.Errorf("lower-only changed %s", blk)
		}
		if slices.Equal(lw[blk], ckW[blk]) {
			t.Errorf("layerwise did not train %s", blk)
		}
	}
	if slices.Equal(lo["K2"], ckW["K2"]) {
		t.Error("lower-only did not keep training K2")
	}
}

func weightsOf(t *testing.T, env *kittest.Env) map[string][]float64 {
	rec := env.Output("weights")
	block, _ := kit.ReadStrings(rec, "block")
	val, _ := kit.ReadFloat64s(rec, "value")
	out := map[string][]float64{}
	for i, b := range block {
		out[b] = append(out[b], val[i])
	}
	return out
}

func TestCheckpointMismatch(t *testing.T) {
	tgt := tinyTarget(t, 3)
	ck := runTrain(t, fast(map[string]any{"last_stage": int64(2)}), 9, 1, tgt.AsInput(nil)).AsInput(nil)
	cases := []struct {
		params map[string]any
		want   string
	}{
		{fast(map[string]any{"schedule": "end2end"}), "phase 0 differs"},
		{fast(map[string]any{"lr": 0.02}), "lr 0.01 (checkpoint) vs 0.02"},
		{fast(map[string]any{"epochs_first": int64(5)}), "epochs_first 4 (checkpoint) vs 5"},
	}
	for _, c := range cases {
		env := kittest.NewEnv(t, Kind{}, c.params, 1, tgt.AsInput(nil), ck)
		err := (Kind{}).Run(env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want it to mention %q", err, c.want)
		}
		if len(env.OutputNames()) != 0 {
			t.Errorf("failed run wrote %v", env.OutputNames())
		}
	}
	// A checkpoint trained on another target is refused.
	other := kittest.NewEnv(t, target.Kind{}, map[string]any{"d": int64(6), "k": int64(2), "L": int64(3),
		"n_train": int64(512), "n_test": int64(256), "norm_samples": int64(2000)}, 4)
	if err := (target.Kind{}).Run(other); err != nil {
		t.Fatal(err)
	}
	env := kittest.NewEnv(t, Kind{}, fast(nil), 1, other.AsInput(nil), ck)
	if err := (Kind{}).Run(env); err == nil || !strings.Contains(err.Error(), "trained on target") {
		t.Errorf("foreign checkpoint: err = %v", err)
	}
}

// Divergence fails the stage with the epoch and layer named, and writes nothing.
func TestDivergence(t *testing.T) {
	tgt := tinyTarget(t, 3).AsInput(nil)
	cases := []map[string]any{
		fast(map[string]any{"optimizer": "sgd", "lr": 1.0, "clip": 0.0, "init_w": 1.0}),
		fast(map[string]any{"diverge": 1e-6}),
	}
	for _, p := range cases {
		env := kittest.NewEnv(t, Kind{}, p, 1, tgt)
		err := (Kind{}).Run(env)
		if err == nil {
			t.Fatal("no error")
		}
		msg := err.Error()
		if !strings.Contains(msg, "diverged at epoch") || !strings.Contains(msg, "layer ") {
			t.Errorf("error %q does not name epoch and layer", msg)
		}
		if len(env.OutputNames()) != 0 {
			t.Errorf("diverged run wrote %v", env.OutputNames())
		}
	}
}

// Training learns: on a small target, stage 2 brings the test error well
// below that of predicting the mean (1) and eps_2 well below its initial
// value (about 1). Thresholds are loose (0.5) because the run is tiny; the
// point is that the loop optimises at all.
func TestFitLearns(t *testing.T) {
	env := tinyTarget(t, 3)
	data, err := target.Load(env.AsInput(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg := ConfigOf(kittest.NewEnv(t, Kind{}, map[string]any{"epochs_first": int64(30), "last_stage": int64(2),
		"m": int64(16), "batch": int64(32), "lr": 0.01}, 1).Params())
	res, err := trainer.Fit(context.Background(), data, cfg, 7, nil, trainer.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.History[0], res.History[len(res.History)-1]
	t.Logf("test rel err %.3g -> %.3g, eps2 %.3g -> %.3g", first.TestRelErr, last.TestRelErr, first.Eps[2], last.Eps[2])
	if !(last.TestRelErr < 0.5) || !(last.Eps[2] < 0.5) || !(last.TestRelErr < first.TestRelErr) {
		t.Errorf("did not learn: test rel err %.3g -> %.3g, eps2 %.3g -> %.3g", first.TestRelErr, last.TestRelErr, first.Eps[2], last.Eps[2])
	}
}

func TestValidate(t *testing.T) {
	bad := []map[string]any{
		{"last_stage": int64(1)},
		{"p": int64(2)},
	}
	for _, p := range bad {
		params, err := kit.Resolve(Kind{}.Params(), p)
		if err != nil {
			t.Fatal(err)
		}
		if (Kind{}).Validate(params) == nil {
			t.Errorf("%v accepted", p)
		}
	}
	// Every Config field with a param tag is a declared parameter and vice versa.
	params, _ := kit.Resolve(Kind{}.Params(), nil)
	cfg := ConfigOf(params)
	if cfg.Schedule != "joint" || cfg.M != 64 {
		t.Errorf("defaults not mapped: %+v", cfg)
	}
	if len(params) != 24 {
		t.Errorf("%d params declared; update this test and Config together", len(params))
	}
}

// Feature and residual clipping, when on, are counted in the history.
func TestClippingRecorded(t *testing.T) {
	tgt := tinyTarget(t, 3).AsInput(nil)
	env := runTrain(t, fast(map[string]any{"feature_clip": 0.5, "residual_clip": 0.5, "clip": 0.1}), 1, 1, tgt)
	h := env.Output("history")
	for _, col := range []string{"clipped_features", "clipped_residuals", "clipped_steps"} {
		v, err := kit.ReadInt64s(h, col)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, x := range v {
			sum += x
		}
		if sum == 0 {
			t.Errorf("%s never counted", col)
		}
	}
	s := env.Output("summary")
	fc, _ := kit.ReadFloat64s(s, "feature_clip")
	if fc[0] != 0.5 {
		t.Errorf("summary feature_clip %v", fc)
	}
}

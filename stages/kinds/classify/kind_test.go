package classify

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/bfc-repro/bfc/stages/kinds/fmnist"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
	"github.com/bfc-repro/bfc/stages/lib/optim"
)

// fixtureInput runs the fmnist kind on its committed 12x12 fixture (300
// training and 100 test images of ten bar patterns).
func fixtureInput(t *testing.T) kit.Input {
	t.Helper()
	env := kittest.NewEnv(t, fmnist.Kind{}, map[string]any{"dir": "../fmnist/testdata"}, 1)
	if err := (fmnist.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(nil)
}

// small are parameters that train in milliseconds on the fixture.
func small(extra map[string]any) map[string]any {
	p := map[string]any{"L": int64(3), "width": int64(16), "epochs_first": int64(3), "epochs_per_stage": int64(2),
		"batch": int64(32), "lr": 1e-2}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func runKind(t *testing.T, params map[string]any, seed int64, inputs ...kit.Input) *kittest.Env {
	t.Helper()
	env := kittest.NewEnv(t, Kind{}, params, seed, inputs...)
	if err := (Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env
}

func floats(t *testing.T, rec arrow.Record, col string) []float64 {
	t.Helper()
	v, err := kit.ReadFloat64s(rec, col)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestKindLearnsTheFixture(t *testing.T) {
	data := fixtureInput(t)
	env := runKind(t, small(nil), 1, data)
	if got := env.OutputNames(); !slices.Equal(got, []string{"history", "summary", "first_layer", "weights"}) {
		t.Fatalf("outputs %v", got)
	}
	hist := env.Output("history")
	if hist.NumRows() != 3+2*2 {
		t.Fatalf("%d history rows, want 7", hist.NumRows())
	}
	stages, _ := kit.ReadInt64s(hist, "stage")
	active, _ := kit.ReadStrings(hist, "active")
	if !slices.Equal(stages, []int64{1, 1, 1, 2, 2, 3, 3}) || active[6] != "1,2,3" {
		t.Fatalf("stages %v, active %v", stages, active)
	}
	if n := len(env.ProgressLines()); n != 7 {
		t.Fatalf("%d progress lines, want one per epoch", n)
	}
	// The fixture's classes are bars at distinct positions: chance is 0.1,
	// a linear model separates them, so a trained network must be nearly
	// perfect on the test images.
	sum := env.Output("summary")
	if acc := floats(t, sum, "test_acc")[0]; acc < 0.9 {
		t.Fatalf("test accuracy %v on the fixture, want >= 0.9", acc)
	}
	drift := floats(t, hist, "k1_drift")
	if !math.IsNaN(drift[0]) || drift[2] != 0 || !(drift[6] > 0) {
		t.Fatalf("joint k1_drift %v: want NaN during stage 1, 0 at its end, > 0 later", drift)
	}
	fl := env.Output("first_layer")
	w, cols, err := kit.ReadMatrix(fl, "w")
	if err != nil || fl.NumRows() != 16 || cols != 144 {
		t.Fatalf("first_layer: %d rows of %d (%v)", fl.NumRows(), cols, err)
	}
	rows, _ := kit.ReadInt64s(fl, "rows")
	if rows[0] != 12 || len(w) != 16*144 {
		t.Fatalf("first_layer image rows %d", rows[0])
	}
}

// TestLayerwiseFreezesTheFirstLayer: under layerwise training block 1
// never changes after stage 1, and every schedule and depth of one seed
// shares stage 1 exactly.
func TestLayerwiseFreezesTheFirstLayer(t *testing.T) {
	data := fixtureInput(t)
	lw := runKind(t, small(map[string]any{"schedule": "layerwise", "L": int64(2)}), 7, data)
	jt := runKind(t, small(map[string]any{"schedule": "joint"}), 7, data)
	drift := floats(t, lw.Output("history"), "k1_drift")
	if drift[len(drift)-1] != 0 {
		t.Fatalf("layerwise k1_drift %v", drift)
	}
	w, _, _ := kit.ReadMatrix(lw.Output("first_layer"), "w")
	ws, _ := kit.ReadBinaries(lw.Output("weights"), "w")
	names, _ := kit.ReadStrings(lw.Output("weights"), "block")
	snap, err := bytesFloats(ws[slices.Index(names, k1Stage1Block)])
	if err != nil || !slices.Equal(w, snap) {
		t.Fatalf("layerwise first layer differs from its stage-1 snapshot (%v)", err)
	}
	for _, col := range []string{"train_loss", "test_acc", "test_loss", "grad_norm"} {
		a, b := floats(t, lw.Output("history"), col)[:3], floats(t, jt.Output("history"), col)[:3]
		if !slices.Equal(a, b) {
			t.Fatalf("stage 1 %s differs between layerwise L=2 and joint L=3: %v vs %v", col, a, b)
		}
	}
	wj, _, _ := kit.ReadMatrix(jt.Output("first_layer"), "w")
	if slices.Equal(w, wj) {
		t.Fatal("joint training did not change the first layer after stage 1")
	}
}

// differing returns the names of the tables that differ between a and b:
// exact equality (tolerance 0), with NaN (k1_drift during stage 1) equal
// to NaN.
func differing(a, b *kittest.Env, names ...string) []string {
	var out []string
	for _, n := range names {
		if !array.RecordApproxEqual(a.Output(n), b.Output(n), array.WithAbsTolerance(0), array.WithNaNsEqual(true)) {
			out = append(out, n)
		}
	}
	return out
}

var allTables = []string{"history", "summary", "first_layer", "weights"}

// TestCheckpointContinuesExactly: a run continued from a stage-1
// checkpoint writes exactly the tables of an uninterrupted run, for any
// schedule and depth that starts with the same stage 1.
func TestCheckpointContinuesExactly(t *testing.T) {
	data := fixtureInput(t)
	ck := runKind(t, small(map[string]any{"last_stage": int64(1), "schedule": "layerwise"}), 3, data)
	if n := ck.Output("history").NumRows(); n != 3 {
		t.Fatalf("checkpoint has %d epochs, want 3", n)
	}
	for _, extra := range []map[string]any{
		{"schedule": "joint"},
		{"schedule": "bfc-x", "x": int64(1), "L": int64(4)},
		{"schedule": "layerwise", "L": int64(2), "optimizer": "adam"},
	} {
		full := runKind(t, small(extra), 3, data)
		cont := runKind(t, small(extra), 99, data, ck.AsInput(nil)) // the seed is the checkpoint's
		if d := differing(full, cont, allTables...); len(d) > 0 {
			t.Errorf("%v: continued run differs from the uninterrupted one in %v", extra, d)
		}
	}
	for _, c := range []struct {
		extra map[string]any
		want  string
	}{
		{map[string]any{"width": int64(8)}, "differs from"},
		{map[string]any{"schedule": "end2end"}, "cannot continue a layerwise run to stage 1 as end2end"},
		{map[string]any{"epochs_first": int64(4)}, "differs from"},
	} {
		env := kittest.NewEnv(t, Kind{}, small(c.extra), 3, data, ck.AsInput(nil))
		if err := (Kind{}).Run(env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.extra, err, c.want)
		}
	}
}

// TestDeterministicAcrossGOMAXPROCS uses sizes at which gonum's Dgemm
// splits products over goroutines (outputs of at least 4 blocks of 64x64).
func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	data := fixtureInput(t)
	p := small(map[string]any{"width": int64(128), "batch": int64(256), "L": int64(2), "epochs_first": int64(1), "epochs_per_stage": int64(1)})
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	a := runKind(t, p, 5, data)
	runtime.GOMAXPROCS(4)
	b := runKind(t, p, 5, data)
	if d := differing(a, b, allTables...); len(d) > 0 {
		t.Errorf("GOMAXPROCS 1 and 4 differ in %v", d)
	}
	// the comparison itself must see a different seed
	c := runKind(t, p, 6, data)
	if d := differing(a, c, allTables...); len(d) != len(allTables) {
		t.Errorf("seeds 5 and 6 differ only in %v", d)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		raw   map[string]any
		field string
		want  string
	}{
		{map[string]any{"L": int64(2), "last_stage": int64(3)}, "last_stage", "exceeds L = 2"},
		{map[string]any{"lr_final": 0.5, "lr_schedule": "constant", "warmup_epochs": -1.0}, "warmup_epochs", "out of range"},
	} {
		p, err := kit.Resolve(Kind{}.Params(), c.raw)
		if err == nil {
			err = Kind{}.Validate(p)
		}
		fe, ok := err.(*kit.FieldError)
		if !ok || fe.Field != c.field || !strings.Contains(fe.Msg, c.want) {
			t.Errorf("%v: %v, want %s: %q", c.raw, err, c.field, c.want)
		}
	}
}

func TestInputErrors(t *testing.T) {
	env := kittest.NewEnv(t, Kind{}, small(nil), 1)
	if err := (Kind{}).Run(env); err == nil || !strings.Contains(err.Error(), `want exactly one input of kind "fmnist", have 0`) {
		t.Fatalf("no input: %v", err)
	}
}

func TestWeightsRoundTrip(t *testing.T) {
	s := Shape{D: 5, M: 4, C: 3, L: 2, Act: ReLU}
	net, _, _ := testNet(t, s, 1)
	k1 := slices.Clone(net.K[1])
	k1[0] = 42
	st := []optim.State{{Name: "K2", Steps: 3, M: make([]float64, 4*9), V: make([]float64, 4*9)}}
	st[0].M[5], st[0].V[7] = -1, 2
	rec, err := weightsTable(net, st, k1)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	rows, err := WeightsDesc.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, opt, snap, err := readWeights(rows, s)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range net.Params() {
		if !slices.Equal(p.W, got.Params()[i].W) {
			t.Fatalf("block %s differs", p.Name)
		}
	}
	if !slices.Equal(snap, k1) || len(opt) != 1 || opt[0].Steps != 3 || opt[0].M[5] != -1 || opt[0].V[7] != 2 {
		t.Fatalf("snapshot or optimiser state lost: %v %+v", snap[:2], opt)
	}
	if _, _, _, err := readWeights(rows, Shape{D: 5, M: 6, C: 3, L: 2, Act: ReLU}); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Fatalf("wrong shape: %v", err)
	}
}

// TestFirstLayerInit: w_init is the initial K_1 of the run's seed: a run
// at a negligible learning rate ends there (Adam moves each weight by at
// most about lr per step), and it does not depend on the schedule.
func TestFirstLayerInit(t *testing.T) {
	data := fixtureInput(t)
	still := runKind(t, small(map[string]any{"lr": 1e-12, "L": int64(1)}), 4, data)
	w, _, _ := kit.ReadMatrix(still.Output("first_layer"), "w")
	w0, _, _ := kit.ReadMatrix(still.Output("first_layer"), "w_init")
	var norm float64
	for i := range w {
		if math.Abs(w[i]-w0[i]) > 1e-9 {
			t.Fatalf("weight %d moved from %v to %v at lr 1e-12", i, w0[i], w[i])
		}
		norm += w0[i] * w0[i]
	}
	if norm == 0 {
		t.Fatal("w_init is zero")
	}
	other := runKind(t, small(map[string]any{"schedule": "end2end"}), 4, data)
	w1, _, _ := kit.ReadMatrix(other.Output("first_layer"), "w_init")
	if !slices.Equal(w0, w1) {
		t.Fatal("w_init differs between schedules of one seed")
	}
}

package figure

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kinds/classify"
	"github.com/bfc-repro/bfc/stages/kinds/fmnist"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// e8Inputs trains tiny classifiers on the fmnist fixture: layerwise, joint
// and end2end at L = 2 and 3, bfc-x (x = 1) at L = 3, seeds 1 and 2, and
// a stage-1 checkpoint that the plots must skip. Few steps at a small
// rate keep the accuracies apart.
func e8Inputs(t *testing.T) []kit.Input {
	t.Helper()
	fe := kittest.NewEnv(t, fmnist.Kind{}, map[string]any{"dir": "../fmnist/testdata", "n_train": int64(100)}, 1)
	if err := (fmnist.Kind{}).Run(fe); err != nil {
		t.Fatal(err)
	}
	data := fe.AsInput(nil)
	var ins []kit.Input
	run := func(p map[string]any, seed int64) {
		p["width"], p["epochs_first"], p["epochs_per_stage"], p["batch"], p["lr"] = int64(8), int64(1), int64(1), int64(20), 3e-3
		env := kittest.NewEnv(t, classify.Kind{}, p, seed, data)
		if err := (classify.Kind{}).Run(env); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, env.AsInput(nil))
	}
	for _, seed := range []int64{1, 2} {
		for _, L := range []int64{2, 3} {
			for _, s := range []string{"layerwise", "joint", "end2end"} {
				run(map[string]any{"schedule": s, "L": L}, seed)
			}
		}
		run(map[string]any{"schedule": "bfc-x", "x": int64(1), "L": int64(3)}, seed)
	}
	run(map[string]any{"schedule": "joint", "L": int64(3), "last_stage": int64(1)}, 1)
	return ins
}

// plotEnv returns a figure env over ins, builds plot and checks and
// renders its Spec.
func plotEnv(t *testing.T, plot string, options []string, ins []kit.Input) *Spec {
	t.Helper()
	opts := make([]any, len(options))
	for i, o := range options {
		opts[i] = o
	}
	env := kittest.NewEnv(t, Kind{}, map[string]any{"plot": plot, "options": opts}, 1, ins...)
	spec, err := buildSpec(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	svg, png, err := Render(spec, 72)
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("FIGURE_DUMP"); dir != "" {
		os.WriteFile(dir+"/"+plot+".png", png, 0o644)
		os.WriteFile(dir+"/"+plot+".svg", svg, 0o644)
	}
	return spec
}

func summaryAcc(t *testing.T, in kit.Input) float64 {
	t.Helper()
	rec, err := in.Read("summary")
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	v, err := kit.ReadFloat64s(rec, "test_acc")
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

func seriesNamed(t *testing.T, p Panel, name string) Series {
	t.Helper()
	for _, s := range p.Series {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("panel %q has no series %q", p.Title, name)
	return Series{}
}

func TestE8Accuracy(t *testing.T) {
	ins := e8Inputs(t)
	spec := plotEnv(t, "E8a-accuracy", nil, ins)
	if len(spec.Panels) != 2 || !strings.Contains(strings.Join(spec.Panels[0].X.Categories, " "), "L = 3") {
		t.Fatalf("panels %d, categories %v", len(spec.Panels), spec.Panels[0].X.Categories)
	}
	// medians: joint at L = 3 (category 1) over seeds 1 and 2 = inputs 4 and 11
	want := metrics.Median([]float64{summaryAcc(t, ins[4]), summaryAcc(t, ins[11])})
	med := seriesNamed(t, spec.Panels[0], "joint (median)")
	if len(med.X) != 2 || med.X[1] != 1 || med.Y[1] != want {
		t.Fatalf("joint medians at %v: %v, want %v at L = 3", med.X, med.Y, want)
	}
	// paired gains: joint - layerwise of the same seed, in points
	gain := seriesNamed(t, spec.Panels[1], "joint − layerwise (median)")
	wantGain := metrics.Median([]float64{100 * (summaryAcc(t, ins[4]) - summaryAcc(t, ins[3])), 100 * (summaryAcc(t, ins[11]) - summaryAcc(t, ins[10]))})
	if math.Abs(gain.Y[1]-wantGain) > 1e-12 {
		t.Fatalf("joint gain at L = 3: %v, want %v", gain.Y[1], wantGain)
	}
	for _, p := range spec.Panels {
		for _, s := range p.Series {
			if strings.Contains(s.Name, "bfc-x") {
				t.Fatalf("E8a shows bfc-x (it belongs to E8b): %q", s.Name)
			}
		}
	}
}

func TestE8BFCX(t *testing.T) {
	ins := e8Inputs(t)
	spec := plotEnv(t, "E8b-bfc-x", nil, ins)
	med := seriesNamed(t, spec.Panels[0], "bfc-x (median)")
	// L = 3: x = 0 (layerwise), 1 (bfc-1), 2 (joint)
	if len(med.X) != 3 || med.X[0] != 0 || med.X[2] != 2 {
		t.Fatalf("x values %v", med.X)
	}
	if want := metrics.Median([]float64{summaryAcc(t, ins[6]), summaryAcc(t, ins[13])}); med.Y[1] != want {
		t.Fatalf("bfc-1 median %v, want %v", med.Y[1], want)
	}
	drift := seriesNamed(t, spec.Panels[1], "bfc-x (median)")
	if drift.Y[0] != 0 || !(drift.Y[2] > 0) {
		t.Fatalf("first-layer drift %v: want 0 for layerwise, > 0 for joint", drift.Y)
	}
	seriesNamed(t, spec.Panels[0], "end2end (median)")
}

func TestE8FirstLayer(t *testing.T) {
	ins := e8Inputs(t)
	spec := plotEnv(t, "E8c-first-layer", []string{"units=5"}, ins)
	if len(spec.Panels) != 3 || !strings.Contains(spec.Title, "L = 3, seed 1") {
		t.Fatalf("title %q, %d panels", spec.Title, len(spec.Panels))
	}
	lw, jt, diff := spec.Panels[0].Image, spec.Panels[1].Image, spec.Panels[2].Image
	// 5 units of 12x12 images, 3 to a row (ceil(sqrt(7.5))), one grey pixel between
	if lw.Rows != 2*13-1 || lw.Cols != 3*13-1 {
		t.Fatalf("mosaic %dx%d", lw.Rows, lw.Cols)
	}
	// Each panel saturates at the 99th percentile of its |values|: about
	// 1% of the cells sit at ± that level, and below it the difference
	// panel is exactly joint − layerwise.
	level := func(im *Image) float64 {
		var m float64
		for _, v := range im.Values {
			if !math.IsNaN(v) {
				m = math.Max(m, math.Abs(v))
			}
		}
		return m
	}
	cl, cj, cd := level(lw), level(jt), level(diff)
	nan, checked := 0, 0
	for i, v := range diff.Values {
		if math.IsNaN(v) {
			nan++
			if !math.IsNaN(lw.Values[i]) {
				t.Fatalf("cell %d: separator in one panel only", i)
			}
			continue
		}
		if math.Abs(v) < cd && math.Abs(jt.Values[i]) < cj && math.Abs(lw.Values[i]) < cl {
			checked++
			if math.Abs(v-(jt.Values[i]-lw.Values[i])) > 1e-12 {
				t.Fatalf("cell %d: difference %v, panels %v and %v", i, v, jt.Values[i], lw.Values[i])
			}
		}
	}
	// separators plus the empty sixth tile
	if want := lw.Rows*lw.Cols - 5*144; nan != want {
		t.Fatalf("%d grey cells, want %d", nan, want)
	}
	if checked < 5*144*9/10 {
		t.Fatalf("only %d of %d cells below every panel's saturation level", checked, 5*144)
	}
	atLevel := 0
	for _, v := range lw.Values {
		if math.Abs(v) == cl {
			atLevel++
		}
	}
	if cl > 1 || atLevel < 5 || atLevel > 5*144/50 {
		t.Fatalf("layerwise panel: level %v (units scaled to a largest |value| of 1), %d cells at it", cl, atLevel)
	}
	spec = plotEnv(t, "E8c-first-layer", []string{"L=2", "seed=2"}, ins)
	if !strings.Contains(spec.Title, "L = 2, seed 2") {
		t.Fatalf("options ignored: %q", spec.Title)
	}
}

func TestE8Errors(t *testing.T) {
	ins := e8Inputs(t)
	for _, c := range []struct {
		plot    string
		options []string
		ins     []kit.Input
		want    string
	}{
		{"E8a-accuracy", nil, nil, "needs classify inputs"},
		{"E8b-bfc-x", nil, ins[:6], "no bfc-x run"},
		{"E8c-first-layer", []string{"seed=7"}, ins, "needs a layerwise and a joint run"},
		{"E8a-accuracy", nil, ins[14:], "all 1 classify inputs are checkpoints"},
	} {
		opts := make([]any, len(c.options))
		for i, o := range c.options {
			opts[i] = o
		}
		env := kittest.NewEnv(t, Kind{}, map[string]any{"plot": c.plot, "options": opts}, 1, c.ins...)
		if _, err := buildSpec(env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want %q", c.plot, c.options, err, c.want)
		}
	}
}

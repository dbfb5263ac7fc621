package figure

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// Tiny training runs for the E1-E4 plots: d = 4, k = 2, 200 samples,
// 3 epochs of layer 2 alone and 2 per later stage.
const (
	tinyFirst    = 3
	tinyPerStage = 2
)

// tinyTarget samples a target of depth L and gap, labelled like a grid
// point of the pipeline.
func tinyTarget(t *testing.T, L int, gap float64, seed int64) kit.Input {
	t.Helper()
	env := kittest.NewEnv(t, target.Kind{}, map[string]any{"d": int64(4), "k": int64(2), "L": int64(L), "gap": gap,
		"n_train": int64(200), "n_test": int64(100), "norm_samples": int64(2000)}, seed)
	if err := (target.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(nil)
}

// tinyTrain trains on tin (continuing ck if not nil) and returns the run
// as an input with the given labels.
func tinyTrain(t *testing.T, params map[string]any, seed int64, labels map[string]string, tin kit.Input, ck kit.Input) kit.Input {
	t.Helper()
	p := map[string]any{"epochs_first": int64(tinyFirst), "epochs_per_stage": int64(tinyPerStage), "batch": int64(50), "m": int64(8)}
	for k, v := range params {
		p[k] = v
	}
	ins := []kit.Input{tin}
	if ck != nil {
		ins = append(ins, ck)
	}
	env := kittest.NewEnv(t, train.Kind{}, p, seed, ins...)
	if err := (train.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(labels)
}

// e1Inputs is E1 in miniature: per seed a stage-2 checkpoint, joint,
// layerwise and lower-only continuing it, and end2end from scratch.
func e1Inputs(t *testing.T, seeds int) []kit.Input {
	t.Helper()
	var ins []kit.Input
	for s := 1; s <= seeds; s++ {
		seed := int64(s)
		lab := func(extra ...string) map[string]string {
			m := map[string]string{"seed": strconv.Itoa(s)}
			for i := 0; i+1 < len(extra); i += 2 {
				m[extra[i]] = extra[i+1]
			}
			return m
		}
		tin := tinyTarget(t, 3, 0.3, seed)
		ck := tinyTrain(t, map[string]any{"last_stage": int64(2)}, seed, lab(), tin, nil)
		ins = append(ins, ck)
		for _, sch := range []string{"joint", "layerwise", "lower-only"} {
			ins = append(ins, tinyTrain(t, map[string]any{"schedule": sch}, seed, lab("schedule", sch), tin, ck))
		}
		ins = append(ins, tinyTrain(t, map[string]any{"schedule": "end2end"}, seed, lab(), tin, nil))
	}
	return ins
}

// runsByName reads the finished runs of ins grouped by scheduleOf.
func runsByName(t *testing.T, ins []kit.Input) map[string][]train.Run {
	t.Helper()
	env := kittest.NewEnv(t, Kind{}, map[string]any{"plot": "E1-feature-error"}, 1, ins...)
	runs, err := train.FinalRuns(env.Inputs())
	if err != nil {
		t.Fatal(err)
	}
	_, groups := bySchedule(runs)
	return groups
}

func finalOf(rs []train.Run, f func(train.Run) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return metrics.Median(v)
}

func TestE1FeatureError(t *testing.T) {
	ins := e1Inputs(t, 2)
	spec := plotEnv(t, "E1-feature-error", nil, ins)
	if len(spec.Panels) != 3 || !strings.Contains(spec.Panels[0].Title, "ε₂") || !strings.Contains(spec.Panels[1].Title, "ε₃") {
		t.Fatalf("panels: %d, titles %q, %q", len(spec.Panels), spec.Panels[0].Title, spec.Panels[1].Title)
	}
	groups := runsByName(t, ins)
	eps2 := spec.Panels[0]
	// The shared stage 2 is drawn once, up to the switch; every staged
	// schedule starts there, end2end at epoch 1.
	shared := seriesNamed(t, eps2, "layer 2 alone (shared stage 2)")
	if !shared.Reference || len(shared.X) != tinyFirst || shared.X[0] != 1 || shared.X[tinyFirst-1] != tinyFirst {
		t.Fatalf("shared stage 2 at epochs %v (reference %v), want 1..%d", shared.X, shared.Reference, tinyFirst)
	}
	for _, name := range []string{"joint", "layerwise", "lower-only", "end2end"} {
		s := seriesNamed(t, eps2, name)
		start := float64(tinyFirst)
		if name == "end2end" {
			start = 1
		}
		last := len(s.X) - 1
		if s.X[0] != start || s.X[last] != tinyFirst+tinyPerStage {
			t.Errorf("%s: epochs %v, want %v..%d", name, s.X, start, tinyFirst+tinyPerStage)
		}
		// The last point is the median of the runs' final eps_2.
		want := finalOf(groups[name], func(r train.Run) float64 { return r.Eps[2] })
		if math.Abs(s.Y[last]-want) > 1e-15*want {
			t.Errorf("%s: final median eps_2 %v, want %v", name, s.Y[last], want)
		}
		if s.Lo == nil || !(s.Lo[last] <= s.Y[last] && s.Y[last] <= s.Hi[last]) {
			t.Errorf("%s: no min-max band around the median", name)
		}
	}
	// layerwise keeps layer 2 frozen after the switch
	lw := seriesNamed(t, eps2, "layerwise")
	for i := range lw.Y {
		if lw.Y[i] != lw.Y[0] {
			t.Errorf("layerwise eps_2 changes after the switch: %v", lw.Y)
			break
		}
	}
	if m := eps2.Markers; len(m) != 1 || m[0].X != tinyFirst || !strings.Contains(m[0].Label, "layer 3") {
		t.Errorf("markers %+v, want one at epoch %d for layer 3", m, tinyFirst)
	}
	// Layer 3 is never switched on under lower-only, and inactive before the
	// switch: its panel has no lower-only series and no shared stage 2.
	for _, s := range spec.Panels[1].Series {
		if s.Name == "lower-only" || s.Name == "layer 2 alone (shared stage 2)" {
			t.Errorf("eps_3 panel draws %q", s.Name)
		}
	}
	if !strings.Contains(strings.Join(spec.Notes, " "), "min–max over seeds") {
		t.Errorf("notes do not say what the band is: %q", spec.Notes)
	}
}

// Runs that do not continue one checkpoint have different first stages:
// then no shared curve is drawn and every schedule starts at epoch 1.
func TestE1WithoutSharedCheckpoint(t *testing.T) {
	tin := tinyTarget(t, 3, 0.3, 1)
	ins := []kit.Input{
		tinyTrain(t, map[string]any{"schedule": "joint"}, 1, map[string]string{"seed": "1"}, tin, nil),
		tinyTrain(t, map[string]any{"schedule": "layerwise"}, 2, map[string]string{"seed": "1"}, tin, nil),
	}
	spec := plotEnv(t, "E1-feature-error", nil, ins)
	for _, s := range spec.Panels[0].Series {
		if s.Name == "layer 2 alone (shared stage 2)" {
			t.Fatal("a shared stage 2 is drawn for runs with different first stages")
		}
		if s.Name != "" && s.X[0] != 1 {
			t.Errorf("%s starts at epoch %v, want 1", s.Name, s.X[0])
		}
	}
}

func TestE2TestError(t *testing.T) {
	ins := e1Inputs(t, 2)
	spec := plotEnv(t, "E2-test-error", nil, ins)
	want := []string{switchCategory, "lower-only", "layerwise", "joint", "end2end"}
	if got := spec.Panels[0].X.Categories; !slices.Equal(got, want) {
		t.Fatalf("categories %q, want %q", got, want)
	}
	if got := spec.Panels[1].X.Categories; slices.Contains(got, "joint") || len(got) != 4 {
		t.Fatalf("relative panel categories %q: want all but joint", got)
	}
	groups := runsByName(t, ins)
	// Seed points of layerwise (category 2 in both panels: the right one
	// drops joint, which comes after it) and the ratio to joint of the
	// same seed.
	var pts, rel Series
	for _, s := range spec.Panels[0].Series {
		if s.Group == "layerwise" && s.Style == Points {
			pts = s
		}
	}
	for _, s := range spec.Panels[1].Series {
		if s.Group == "layerwise" && s.Style == Points {
			rel = s
		}
	}
	lw, jt := groups["layerwise"], groups["joint"]
	if len(pts.Y) != 2 || len(rel.Y) != 2 {
		t.Fatalf("layerwise: %d points, %d ratios, want 2 seeds", len(pts.Y), len(rel.Y))
	}
	for i, r := range lw {
		j, _ := findReplicate(jt, r.Replicate)
		if pts.Y[i] != r.TestRelErr || rel.Y[i] != r.TestRelErr/j.TestRelErr || math.Abs(pts.X[i]-2) > 0.2 || math.Abs(rel.X[i]-2) > 0.2 {
			t.Errorf("seed %s: point (%v, %v) ratio (%v, %v); want (2, %v) and (2, %v)", r.Seed, pts.X[i], pts.Y[i], rel.X[i], rel.Y[i],
				r.TestRelErr, r.TestRelErr/j.TestRelErr)
		}
	}
	// The grey category is the error at the switch, once per seed.
	for _, s := range spec.Panels[0].Series {
		if s.Reference && s.Style == Points {
			if len(s.Y) != 2 || s.Y[0] != lw[0].TestRelErrSwitch {
				t.Errorf("after-stage-2 points %v, want the 2 seeds' errors at the switch (%v, ...)", s.Y, lw[0].TestRelErrSwitch)
			}
		}
	}
}

// e3Inputs is E3 in miniature: L = 4, bfc-x for x = 0, 1, 2, two seeds.
func e3Inputs(t *testing.T) []kit.Input {
	t.Helper()
	var ins []kit.Input
	for s := int64(1); s <= 2; s++ {
		tin := tinyTarget(t, 4, 0.3, s)
		ck := tinyTrain(t, map[string]any{"last_stage": int64(2)}, s, map[string]string{"seed": strconv.FormatInt(s, 10)}, tin, nil)
		for x := int64(0); x <= 2; x++ {
			ins = append(ins, tinyTrain(t, map[string]any{"schedule": "bfc-x", "x": x}, s,
				map[string]string{"seed": strconv.FormatInt(s, 10), "x": strconv.FormatInt(x, 10)}, tin, ck))
		}
	}
	return ins
}

func TestE3BFCDepth(t *testing.T) {
	ins := e3Inputs(t)
	spec := plotEnv(t, "E3-bfc-depth", nil, ins)
	if len(spec.Panels) != 4 {
		t.Fatalf("%d panels, want test error and eps_2..eps_4", len(spec.Panels))
	}
	if c := spec.Panels[0].X.Categories; !slices.Equal(c, []string{"x = 0 (layerwise)", "x = 1", "x = 2 (joint)"}) {
		t.Fatalf("categories %q", c)
	}
	groups := runsByName(t, ins)
	med := seriesNamed(t, spec.Panels[0], "median over seeds")
	for i, name := range []string{"layerwise", "bfc-1", "joint"} {
		want := finalOf(groups[name], func(r train.Run) float64 { return r.TestRelErr })
		if med.X[i] != float64(i) || med.Y[i] != want {
			t.Errorf("median test error at x = %d: (%v, %v), want %v", i, med.X[i], med.Y[i], want)
		}
	}
	eps2 := seriesNamed(t, spec.Panels[1], "median over seeds")
	if want := finalOf(groups["layerwise"], func(r train.Run) float64 { return r.EpsSwitch[2] }); eps2.Y[0] != want {
		t.Errorf("layerwise eps_2 %v, want its value at the switch %v (layer 2 frozen)", eps2.Y[0], want)
	}
	if n := strings.Join(spec.Notes, " "); !strings.Contains(n, "bfc-1 recovers") {
		t.Errorf("notes lack the recovered share: %q", n)
	}
}

func TestE4InformationGap(t *testing.T) {
	var ins []kit.Input
	for _, gap := range []float64{0.1, 0.4} {
		for s := int64(1); s <= 2; s++ {
			g := strconv.FormatFloat(gap, 'g', -1, 64)
			tin := tinyTarget(t, 3, gap, s)
			ck := tinyTrain(t, map[string]any{"last_stage": int64(2)}, s, map[string]string{"seed": strconv.FormatInt(s, 10), "gap": g}, tin, nil)
			for _, sch := range []string{"joint", "layerwise"} {
				ins = append(ins, tinyTrain(t, map[string]any{"schedule": sch}, s,
					map[string]string{"seed": strconv.FormatInt(s, 10), "gap": g, "schedule": sch}, tin, ck))
			}
		}
	}
	spec := plotEnv(t, "E4-information-gap", nil, ins)
	if len(spec.Panels) != 3 || !slices.Equal(spec.Panels[0].X.Categories, []string{"0.1", "0.4"}) {
		t.Fatalf("%d panels, categories %q", len(spec.Panels), spec.Panels[0].X.Categories)
	}
	groups := runsByName(t, ins)
	jm := seriesNamed(t, spec.Panels[0], "joint (median)")
	want := finalOf(atGap(groups["joint"], 0.4), func(r train.Run) float64 { return r.Eps[2] })
	if len(jm.Y) != 2 || jm.X[1] != 1 || jm.Y[1] != want {
		t.Errorf("joint eps_2 medians (%v, %v), want %v at gamma 0.4 (column 1)", jm.X, jm.Y, want)
	}
	rm := seriesNamed(t, spec.Panels[2], "layerwise / joint (median)")
	var ratios []float64
	for _, r := range atGap(groups["layerwise"], 0.1) {
		j, _ := findReplicate(groups["joint"], r.Replicate)
		ratios = append(ratios, r.TestRelErr/j.TestRelErr)
	}
	if rm.Y[0] != metrics.Median(ratios) {
		t.Errorf("ratio median at gamma 0.1: %v, want %v", rm.Y[0], metrics.Median(ratios))
	}
}

func TestE1toE4Errors(t *testing.T) {
	l3 := e1Inputs(t, 1)
	l4 := e3Inputs(t)[:3]
	for _, tc := range []struct {
		plot    string
		options []string
		ins     []kit.Input
		want    string
	}{
		{"E1-feature-error", nil, nil, "needs finished train inputs"},
		{"E1-feature-error", nil, l3[:1], "needs finished train inputs"}, // only a checkpoint
		{"E2-test-error", nil, append(append([]kit.Input(nil), l3...), l4...), "option L"},
		{"E2-test-error", []string{"L=5"}, l3, "no train input of depth L = 5"},
		{"E4-information-gap", nil, l3, "gap label"},
		{"E3-bfc-depth", nil, l3[4:], "no joint, layerwise or bfc-x run"}, // end2end only
	} {
		opts := make([]any, len(tc.options))
		for i, o := range tc.options {
			opts[i] = o
		}
		env := kittest.NewEnv(t, Kind{}, map[string]any{"plot": tc.plot, "options": opts}, 1, tc.ins...)
		if _, err := buildSpec(env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s with %d inputs %v: err %v, want %q", tc.plot, len(tc.ins), tc.options, err, tc.want)
		}
	}
	// With the option, mixed depths are fine.
	spec := plotEnv(t, "E2-test-error", []string{"L=4"}, append(append([]kit.Input(nil), l3...), l4...))
	if !strings.Contains(spec.Title, "L = 4") {
		t.Errorf("title %q", spec.Title)
	}
}

func TestScheduleColoursAreFixed(t *testing.T) {
	// Reserved first, the schedule groups get the palette in a fixed order
	// whatever a figure draws.
	s := &Spec{Panels: []Panel{{Series: append(reserveColours(), Series{Name: "joint", Group: "joint", X: []float64{1}, Y: []float64{1}})}}}
	l := newLayout(s)
	for i, g := range scheduleGroups {
		if l.colour[g] != colours[i%len(colours)] {
			t.Errorf("group %s has colour %v, want palette entry %d", g, l.colour[g], i)
		}
	}
}

func TestScheduleOf(t *testing.T) {
	for _, tc := range []struct {
		schedule string
		x, L     int
		want     string
	}{
		{"joint", 1, 3, "joint"}, {"layerwise", 1, 4, "layerwise"}, {"bfc-x", 0, 4, "layerwise"}, {"bfc-x", 1, 4, "bfc-1"},
		{"bfc-x", 2, 4, "joint"}, {"bfc-x", 5, 4, "joint"}, {"lower-only", 1, 3, "lower-only"}, {"end2end", 1, 3, "end2end"},
	} {
		x := map[string]int{"joint": tc.L - 2, "layerwise": 0, "bfc-x": min(tc.x, tc.L-2)}
		r := train.Run{Schedule: tc.schedule, L: tc.L, X: -1}
		if v, ok := x[tc.schedule]; ok {
			r.X = v
		}
		if got := scheduleOf(r); got != tc.want {
			t.Errorf("%s x=%d L=%d: %q, want %q", tc.schedule, tc.x, tc.L, got, tc.want)
		}
	}
}

// The figures do not depend on the order of their inputs.
func TestE1toE4InputOrder(t *testing.T) {
	ins := e1Inputs(t, 2)
	rev := slices.Clone(ins)
	slices.Reverse(rev)
	for _, plot := range []string{"E1-feature-error", "E2-test-error"} {
		a, b := plotEnv(t, plot, nil, ins), plotEnv(t, plot, nil, rev)
		for _, table := range []func(*Spec) (arrow.Record, error){DataTable, TextTable} {
			ra, err := table(a)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := table(b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(kittest.Bytes(t, ra), kittest.Bytes(t, rb)) {
				t.Errorf("%s: reversing the inputs changes the figure's tables", plot)
			}
			ra.Release()
			rb.Release()
		}
	}
}

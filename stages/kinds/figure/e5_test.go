package figure

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kinds/collect"
	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// collectOf runs the collect kind over one fake sweep point per row (a
// result table with the columns the figures and scaling read, labelled
// with the row's seed), as the pipeline's E5_collect and E7_collect do.
func collectOf(t *testing.T, rows []sweepRow) kit.Input {
	t.Helper()
	var ins []kit.Input
	for _, r := range rows {
		env := kittest.NewEnv(t, sweep.Kind{}, nil, 1)
		rec := kittest.Fake(t, sweep.ResultDesc, map[string]any{sweep.ColMethod: []string{r.method}, sweep.ColD: []int{r.d},
			sweep.ColL: []int{r.L}, sweep.ColN: []int{r.n}, sweep.ColNCoef: []int{r.coef}, sweep.ColWidth: []int{r.width},
			sweep.ColSteps: []int{r.steps}, sweep.ColTestRelErr: []float64{r.test}, sweep.ColTrainRelErr: []float64{r.train}})
		if err := env.Write(sweep.TableResult, rec); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, env.AsInput(map[string]string{"seed": r.rep}))
	}
	env := kittest.NewEnv(t, collect.Kind{}, nil, 1, ins...)
	if err := (collect.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(nil)
}

// e5Grid is the n grid of the constructed sweeps.
var e5Grid = []int{64, 128, 256, 512, 1024, 2048, 4096}

// seedFactors scale the error of seeds 1, 2, 3: the median is seed 2's,
// the exact power law.
var seedFactors = map[string]float64{"1": 0.9, "2": 1, "3": 1.1}

// powerLaw is the median error (n/n0)^{-1/2} with n0 = 5·(d/4)^b, so that
// N*(tau) = n0/tau² exactly (log-log interpolation is exact on a power
// law).
func powerLaw(n, d int, b float64) float64 {
	return math.Pow(float64(n)/(5*math.Pow(float64(d)/4, b)), -0.5)
}

// scalingRows builds sweep results at L: krr_poly with N* ∝ d², deep with
// N* ∝ d, twolayer_relu stuck at error 0.9 (never reaches any tau), and
// monomial at d = 4 only.
func scalingRows(L int) []sweepRow {
	var rows []sweepRow
	add := func(m string, d int, f func(n int) float64) {
		for _, n := range e5Grid {
			for _, s := range []string{"1", "2", "3"} {
				rows = append(rows, sweepRow{method: m, rep: s, L: L, d: d, n: n, test: seedFactors[s] * f(n), train: 0.5 * f(n)})
			}
		}
	}
	for _, d := range []int{4, 8, 16} {
		add("krr_poly", d, func(n int) float64 { return powerLaw(n, d, 2) })
		add("deep", d, func(n int) float64 { return powerLaw(n, d, 1) })
		add("twolayer_relu", d, func(int) float64 { return 0.9 })
	}
	add("monomial", 4, func(n int) float64 { return powerLaw(n, 4, 2) })
	return rows
}

// scalingOf runs the scaling kind on rows with thresholds 0.25 and 0.5.
func scalingOf(t *testing.T, rows []sweepRow) kit.Input {
	t.Helper()
	env := kittest.NewEnv(t, scaling.Kind{}, map[string]any{"thresholds": []any{0.25, 0.5}, "boot": int64(50)}, 1, collectOf(t, rows))
	if err := (scaling.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(nil)
}

// relClose compares with a relative tolerance.
func relClose(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Abs(b) }

// groupSeries returns the series of group g in p that satisfy keep.
func groupSeries(p Panel, g string, keep func(Series) bool) []Series {
	var out []Series
	for _, s := range p.Series {
		if s.Group == g && len(s.X) > 0 && keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func TestE5SampleComplexity(t *testing.T) {
	in := scalingOf(t, scalingRows(3))
	spec := plotEnv(t, "E5-sample-complexity", nil, []kit.Input{in})
	var titles []string
	for _, p := range spec.Panels {
		titles = append(titles, p.Title)
	}
	if !slices.Equal(titles, []string{"d = 4", "d = 8", "d = 16"}) {
		t.Fatalf("panels %q, want one per d", titles)
	}
	// The median curve is seed 2's power law, the min-max band seeds 1
	// and 3 (relative 1e-12: a median and quantiles of three exact values).
	kp := seriesNamed(t, spec.Panels[1], learnerLabel("krr_poly"))
	if !slices.Equal(kp.X, []float64{64, 128, 256, 512, 1024, 2048, 4096}) {
		t.Fatalf("krr_poly at d = 8: n = %v", kp.X)
	}
	for i, n := range e5Grid {
		want := powerLaw(n, 8, 2)
		if !relClose(kp.Y[i], want, 1e-12) || !relClose(kp.Lo[i], 0.9*want, 1e-12) || !relClose(kp.Hi[i], 1.1*want, 1e-12) {
			t.Errorf("n = %d: median %v [%v, %v], want %v [%v, %v]", n, kp.Y[i], kp.Lo[i], kp.Hi[i], want, 0.9*want, 1.1*want)
		}
	}
	// The thresholds are grey lines across the panel's n range.
	var taus []float64
	for _, s := range spec.Panels[0].Series {
		if s.Reference && s.Dashed {
			if s.Y[0] != s.Y[1] || s.X[0] != 64 || s.X[1] != 4096 {
				t.Errorf("threshold line %v %v", s.X, s.Y)
			}
			taus = append(taus, s.Y[0])
		}
	}
	if !slices.Equal(taus, []float64{0.25, 0.5}) {
		t.Errorf("threshold lines at %v, want 0.25 and 0.5", taus)
	}
	// Monomial regression exists at d = 4 only, and the caption says so.
	if len(groupSeries(spec.Panels[0], "monomial", func(Series) bool { return true })) != 1 ||
		len(groupSeries(spec.Panels[2], "monomial", func(Series) bool { return true })) != 0 {
		t.Error("monomial should be drawn at d = 4 only")
	}
	notes := strings.Join(spec.Notes, " ")
	for _, want := range []string{"min–max over seeds", "3 per point", "Not every learner runs at every d: ridge on monomials at d = 4 only.", "τ = 0.25 and 0.5"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q: %s", want, notes)
		}
	}
	// The interquartile band instead, on request: the 25% quantile of
	// {0.9, 1, 1.1}·m is 0.95·m.
	iqr := plotEnv(t, "E5-sample-complexity", []string{"spread=iqr"}, []kit.Input{in})
	kq := seriesNamed(t, iqr.Panels[1], learnerLabel("krr_poly"))
	if want := 0.95 * powerLaw(64, 8, 2); !relClose(kq.Lo[0], want, 1e-12) {
		t.Errorf("iqr band low end %v, want %v", kq.Lo[0], want)
	}
	if !strings.Contains(strings.Join(iqr.Notes, " "), "25–75% quantiles") {
		t.Error("iqr caption does not say what the band is")
	}
}

// The learners keep their colours whatever a figure draws: the deep
// learner is black in E5, E6 and E7.
func TestLearnerColoursAreFixed(t *testing.T) {
	l := newLayout(&Spec{Panels: []Panel{{Series: append(reserveLearnerColours(), Series{Name: "deep", Group: "deep", X: []float64{1}, Y: []float64{1}})}}})
	for i, g := range learnerGroups {
		if l.colour[g] != colours[i%len(colours)] {
			t.Errorf("group %s has colour %v, want palette entry %d", g, l.colour[g], i)
		}
	}
	if l.colour["deep"] != colours[6] {
		t.Errorf("deep learner is %v, want black", l.colour["deep"])
	}
}

func TestE5E6Errors(t *testing.T) {
	two := scalingOf(t, append(scalingRows(3), scalingRows(4)...))
	for _, c := range []struct {
		plot    string
		options []string
		ins     []kit.Input
		want    string
	}{
		{"E5-sample-complexity", nil, nil, "scaling"},
		{"E6-lower-bound", nil, nil, "scaling"},
		{"E5-sample-complexity", nil, []kit.Input{two}, "option L"},
		{"E6-lower-bound", nil, []kit.Input{two}, "option L"},
		{"E6-lower-bound", []string{"L=5"}, []kit.Input{two}, "no results at depth L = 5"},
	} {
		opts := make([]any, len(c.options))
		for i, o := range c.options {
			opts[i] = o
		}
		env := kittest.NewEnv(t, Kind{}, map[string]any{"plot": c.plot, "options": opts}, 1, c.ins...)
		if _, err := buildSpec(env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v with %d inputs: %v, want %q", c.plot, c.options, len(c.ins), err, c.want)
		}
	}
	// With the option, two depths are fine.
	spec := plotEnv(t, "E5-sample-complexity", []string{"L=4"}, []kit.Input{two})
	if !strings.Contains(spec.Title, "L = 4") {
		t.Errorf("title %q", spec.Title)
	}
}

// A scaling stage over an empty collect table (no sweep results) is an
// error of the figures, not a panic or an empty figure.
func TestE5E6EmptyScaling(t *testing.T) {
	sw := kittest.NewEnv(t, sweep.Kind{}, nil, 1)
	if err := sw.Write(sweep.TableResult, kittest.Fake(t, sweep.ResultDesc, nil)); err != nil {
		t.Fatal(err)
	}
	cenv := kittest.NewEnv(t, collect.Kind{}, nil, 1, sw.AsInput(map[string]string{"seed": "1"}))
	if err := (collect.Kind{}).Run(cenv); err != nil {
		t.Fatal(err)
	}
	senv := kittest.NewEnv(t, scaling.Kind{}, map[string]any{"boot": int64(10)}, 1, cenv.AsInput(nil))
	if err := (scaling.Kind{}).Run(senv); err != nil {
		t.Skipf("scaling refuses an empty table itself: %v", err)
	}
	for _, plot := range []string{"E5-sample-complexity", "E6-lower-bound"} {
		env := kittest.NewEnv(t, Kind{}, map[string]any{"plot": plot}, 1, senv.AsInput(nil))
		if _, err := buildSpec(env); err == nil || !strings.Contains(err.Error(), "no curves") {
			t.Errorf("%s on an empty scaling: %v, want \"no curves\"", plot, err)
		}
	}
}

package figure

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// widthRows builds an E7 sweep at d = 16, n = 1000: two-layer networks
// whose error falls with the width m as 1/sqrt(m) (ReLU) or stays at 0.5
// (quadratic), times the seed factors, and the deep learner at n (deep) —
// and optionally at another n, which must not be used as the reference.
func widthRows(deep bool) []sweepRow {
	var rows []sweepRow
	for _, s := range []string{"1", "2", "3"} {
		f := seedFactors[s]
		for _, w := range []int{8, 32, 128} {
			rows = append(rows,
				sweepRow{method: "twolayer_relu", rep: s, L: 3, d: 16, n: 1000, width: w, steps: 300, coef: 18*w + 1, test: f / math.Sqrt(float64(w)), train: 0.5 * f / math.Sqrt(float64(w))},
				sweepRow{method: "twolayer_quad", rep: s, L: 3, d: 16, n: 1000, width: w, steps: 300, coef: 18*w + 1, test: 0.5 * f, train: 0.4 * f})
		}
		if deep {
			rows = append(rows,
				sweepRow{method: "deep", rep: s, L: 3, d: 16, n: 1000, width: 64, coef: 900, test: 0.01 * f, train: 0.005 * f},
				sweepRow{method: "deep", rep: s, L: 3, d: 16, n: 50, width: 64, coef: 900, test: 0.9, train: 0.1})
		}
	}
	return rows
}

func TestE7Width(t *testing.T) {
	spec := plotEnv(t, "E7-width", nil, []kit.Input{collectOf(t, widthRows(true))})
	if len(spec.Panels) != 2 || !strings.Contains(spec.Panels[0].Title, "d = 16, n = 1000") {
		t.Fatalf("%d panels, first %q", len(spec.Panels), spec.Panels[0].Title)
	}
	test := spec.Panels[0]
	relu := seriesNamed(t, test, learnerLabel("twolayer_relu")+" (median)")
	if !slices.Equal(relu.X, []float64{8, 32, 128}) {
		t.Fatalf("ReLU widths %v", relu.X)
	}
	for i, w := range relu.X {
		if want := 1 / math.Sqrt(w); !relClose(relu.Y[i], want, 1e-12) {
			t.Errorf("ReLU median at m = %v: %v, want %v", w, relu.Y[i], want)
		}
	}
	// Every seed is a point, shifted sideways by less than the dodge.
	pts := groupSeries(test, "twolayer_quad", func(s Series) bool { return s.Style == Points })
	if len(pts) != 1 || len(pts[0].Y) != 9 {
		t.Fatalf("quadratic seed points %+v, want 9", pts)
	}
	for i, x := range pts[0].X {
		if r := x / []float64{8, 32, 128}[i/3]; r < 1 || r > math.Exp(e7Dodge) {
			t.Errorf("point %d at m = %v: shifted by %v", i, x, r)
		}
	}
	// The deep learner at the same n (not at n = 50): median 0.01, band
	// min-max 0.009..0.011, across the widths.
	dl := seriesNamed(t, test, "deep learner, same n (median)")
	if dl.X[0] != 8 || dl.X[1] != 128 || !relClose(dl.Y[0], 0.01, 1e-12) || !relClose(dl.Lo[0], 0.009, 1e-12) || !relClose(dl.Hi[1], 0.011, 1e-12) {
		t.Errorf("deep reference %+v", dl)
	}
	tr := seriesNamed(t, spec.Panels[1], "deep learner, same n (median)")
	if !relClose(tr.Y[0], 0.005, 1e-12) {
		t.Errorf("deep training error %v, want 0.005", tr.Y[0])
	}
	notes := strings.Join(spec.Notes, " ")
	for _, w := range []string{"deep learner 0.01 (median test error over 3 seeds, 900 parameters)", "two-layer ReLU 0.0884", "300 optimiser steps", "from 145 (smallest m) to 2305"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q: %s", w, notes)
		}
	}
}

// Without a deep learner at the same n the figure says so instead of
// drawing a reference; a table without two-layer networks is an error.
func TestE7WithoutDeepAndErrors(t *testing.T) {
	spec := plotEnv(t, "E7-width", nil, []kit.Input{collectOf(t, widthRows(false))})
	for _, p := range spec.Panels {
		if len(groupSeries(p, "deep", func(Series) bool { return true })) > 0 {
			t.Errorf("panel %q draws a deep learner", p.Title)
		}
	}
	if !strings.Contains(strings.Join(spec.Notes, " "), "no deep learner at this (L, d, n)") {
		t.Errorf("notes %q", spec.Notes)
	}
	var deepOnly []sweepRow
	for _, r := range widthRows(true) {
		if r.method == "deep" {
			deepOnly = append(deepOnly, r)
		}
	}
	for _, c := range []struct {
		ins  []kit.Input
		want string
	}{
		{nil, "collect"},
		{[]kit.Input{collectOf(t, deepOnly)}, "no two-layer network among 6 sweep points"},
	} {
		env := kittest.NewEnv(t, Kind{}, map[string]any{"plot": "E7-width"}, 1, c.ins...)
		if _, err := buildSpec(env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("E7 with %d inputs: %v, want %q", len(c.ins), err, c.want)
		}
	}
}

// The PDF version of E5-E7 spells out every character that code page 1252
// lacks (τ, ≤, σ, Θ, superscript digits): no text comes out as "?".
func TestE5toE7PDFTexts(t *testing.T) {
	in := scalingOf(t, scalingRows(3))
	specs := []*Spec{
		plotEnv(t, "E5-sample-complexity", nil, []kit.Input{in}),
		plotEnv(t, "E6-lower-bound", nil, []kit.Input{in}),
		plotEnv(t, "E7-width", nil, []kit.Input{collectOf(t, widthRows(true))}),
	}
	for _, s := range specs {
		p := pdfSpec(s)
		texts := append([]string{p.Title}, p.Notes...)
		for _, pn := range p.Panels {
			texts = append(texts, pn.Title, pn.X.Label, pn.Y.Label)
			for _, sr := range pn.Series {
				texts = append(texts, sr.Name)
			}
		}
		for _, txt := range texts {
			if strings.Contains(txt, "?") {
				t.Errorf("%s: PDF text %q has an unencodable character", s.Title, txt)
			}
		}
	}
}

package figure

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/collect"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

func init() {
	Register("E7-width", Plot{Build: e7Width, Reads: []kit.TableNeed{collect.Need(sweep.ResultDesc)}})
}

// e7Dodge spreads the seeds' points of the two-layer methods sideways on
// the log width axis: method i of k at width·exp((i − (k−1)/2)·e7Dodge).
const e7Dodge = 0.06

// sweepRow is one sweep point of a collect table (stages/kinds/sweep's result
// table plus the point's labels).
type sweepRow struct {
	method                      string
	rep                         string // replicate (the seed label, else the point's key)
	L, d, n, width, steps, coef int
	test, train                 float64
}

// setup is the configuration a width sweep holds fixed.
type setup struct{ L, d, n int }

func compareSetups(a, b setup) int {
	return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(a.d, b.d), cmp.Compare(a.n, b.n))
}

// readSweepRows reads the table of the one "collect" input of env.
func readSweepRows(env kit.Env) ([]sweepRow, error) {
	in, err := kit.OneInput(env, "collect")
	if err != nil {
		return nil, err
	}
	tab, err := collect.Read(in, sweep.ResultDesc)
	if err != nil {
		return nil, err
	}
	defer tab.Release()
	// The replicate: the seed label, or each point its own (its key).
	reps, ok := tab.Labels("seed")
	if !ok {
		reps = tab.Strings(collect.ColKey)
	}
	pts := sweep.Points(tab)
	rows := make([]sweepRow, len(pts))
	for i, p := range pts {
		rows[i] = sweepRow{p.Method, reps[i], p.L, p.D, p.N, p.Width, p.Steps, p.NCoef, p.TestRelErr, p.TrainRelErr}
	}
	return rows, nil
}

// e7Width plots the test and training error of the two-layer networks
// against their width m (every seed a point, the median a line) with the
// deep learner's error at the same (L, d, n) as a horizontal reference
// (median, min-max band); one pair of panels per such setup.
func e7Width(env kit.Env, _ kit.Params) (*Spec, error) {
	rows, err := readSweepRows(env)
	if err != nil {
		return nil, err
	}
	var nets, deep []sweepRow
	for _, r := range rows {
		switch {
		case r.method == sweep.TwoLayerReLU || r.method == sweep.TwoLayerQuad:
			nets = append(nets, r)
		case r.method == sweep.Deep:
			deep = append(deep, r)
		}
	}
	if len(nets) == 0 {
		return nil, fmt.Errorf("no two-layer network among %d sweep points (methods %v)", len(rows),
			distinct(rows, func(r sweepRow) string { return r.method }))
	}
	var setups []setup
	for _, r := range nets {
		if su := (setup{r.L, r.d, r.n}); !slices.Contains(setups, su) {
			setups = append(setups, su)
		}
	}
	slices.SortFunc(setups, compareSetups)
	methods := methodsOf(nets, func(r sweepRow) string { return r.method })
	spec := &Spec{Title: "E7: two-layer networks against their width m, with the deep learner for reference", Cols: 2}
	var notes []string
	seeds := 0
	for _, su := range setups {
		at := func(r sweepRow) bool { return r.L == su.L && r.d == su.d && r.n == su.n }
		var ref []sweepRow
		for _, r := range deep {
			if at(r) {
				ref = append(ref, r)
			}
		}
		var sn []sweepRow
		for _, r := range nets {
			if at(r) {
				sn = append(sn, r)
			}
		}
		widths := distinct(sn, func(r sweepRow) int { return r.width })
		where := fmt.Sprintf("d = %d, n = %d", su.d, su.n)
		if len(setups) > 1 {
			where = fmt.Sprintf("L = %d, d = %d, n = %d", su.L, su.d, su.n)
		}
		for pi, q := range []struct {
			title, label string
			val          func(sweepRow) float64
		}{
			{"test error (" + where + ")", "test MSE / Var(y) (log scale)", func(r sweepRow) float64 { return r.test }},
			{"training error on the samples fitted (" + where + ")", "train MSE / Var(y) (log scale)", func(r sweepRow) float64 { return r.train }},
		} {
			p := Panel{Title: q.title, X: Axis{Label: fmt.Sprintf("hidden width m (log scale; m = %s)", fmtList(widths)), Scale: Log}, Y: Axis{Label: q.label, Scale: Log},
				Series: reserveLearnerColours()}
			for mi, m := range methods {
				off := math.Exp((float64(mi) - float64(len(methods)-1)/2) * e7Dodge)
				// The median as a line only, so that every dot is a seed.
				med := Series{Name: learnerLabel(m) + " (median)", Group: m, Style: Line}
				pts := Series{Group: m, Style: Points}
				for _, w := range widths {
					var v []float64
					for _, r := range sn {
						if r.method == m && r.width == w {
							v = append(v, q.val(r))
							pts.X, pts.Y = append(pts.X, float64(w)*off), append(pts.Y, q.val(r))
						}
					}
					seeds = max(seeds, len(v))
					if len(v) > 0 {
						med.X, med.Y = append(med.X, float64(w)), append(med.Y, metrics.Median(v))
					}
				}
				p.Series = append(p.Series, med, pts)
			}
			if len(ref) > 0 {
				v := make([]float64, len(ref))
				for i, r := range ref {
					v[i] = q.val(r)
				}
				med, lo, hi := spread(v)
				x0, x1 := float64(widths[0]), float64(widths[len(widths)-1])
				line := Series{Name: "deep learner, same n (median)", Group: sweep.Deep, Dashed: true,
					X: []float64{x0, x1}, Y: []float64{med, med}}
				if !math.IsNaN(lo) {
					line.Lo, line.Hi = []float64{lo, lo}, []float64{hi, hi}
				}
				p.Series = append(p.Series, line)
				seeds = max(seeds, len(ref))
				if pi == 0 {
					notes = append(notes, fmt.Sprintf("%s: deep learner %s (median test error over %d seeds, %d parameters); "+
						"two-layer nets at the largest width m = %d: %s.", where, fmtNum(med), len(ref), ref[0].coef,
						widths[len(widths)-1], e7Largest(sn, methods, widths[len(widths)-1])))
				}
			} else if pi == 0 {
				notes = append(notes, where+": no deep learner at this (L, d, n), so no reference line.")
			}
			spec.Panels = append(spec.Panels, p)
		}
	}
	steps := distinct(nets, func(r sweepRow) int { return r.steps })
	deepText := ""
	if len(deep) > 0 {
		deepText = " Dashed: the deep learner trained on the same n samples, median with its min–max band over seeds."
	}
	notes = append([]string{
		fmt.Sprintf("Every learner is trained on the same first n samples of a target network (L = %s) and tested on held-out samples; "+
			"each seed is its own target network and training run. Dots: individual seeds (up to %d, the two activations shifted sideways); "+
			"solid lines: medians over seeds.%s",
			fmtList(distinct(nets, func(r sweepRow) int { return r.L })), seeds, deepText),
		fmt.Sprintf("Two-layer nets: one hidden layer of width m (ReLU or σ(z) = z²), %s optimiser steps whatever m, early stopping on a "+
			"validation split of the n samples (the training error is on the rest); parameters from %s (smallest m) to %s (largest).",
			fmtList(steps), e7Params(nets, slices.Min[[]int]), e7Params(nets, slices.Max[[]int])),
	}, notes...)
	if slices.Contains(methods, sweep.TwoLayerQuad) {
		notes = append(notes, fmt.Sprintf("A two-layer network with σ(z) = z² computes a polynomial of degree 2 in x, whatever its width; "+
			"the target has degree 2^L = %s.", fmtList(distinct(nets, func(r sweepRow) int { return 1 << r.L }))))
	}
	spec.Notes = notes
	return spec, nil
}

// e7Largest gives the median test error of each method at width w.
func e7Largest(rows []sweepRow, methods []string, w int) string {
	var parts []string
	for _, m := range methods {
		var v []float64
		for _, r := range rows {
			if r.method == m && r.width == w {
				v = append(v, r.test)
			}
		}
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", learnerLabel(m), fmtNum(metrics.Median(v))))
		}
	}
	return strings.Join(parts, ", ")
}

// e7Params is the parameter count of the networks of the extreme width
// (pick: slices.Min or slices.Max).
func e7Params(rows []sweepRow, pick func([]int) int) string {
	widths := distinct(rows, func(r sweepRow) int { return r.width })
	w := pick(widths)
	var c []int
	for _, r := range rows {
		if r.width == w {
			c = append(c, r.coef)
		}
	}
	c = distinct(c, func(v int) int { return v })
	s := make([]string, len(c))
	for i, v := range c {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, "/")
}

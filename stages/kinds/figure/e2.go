package figure

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

func init() {
	Register("E2-test-error", Plot{Build: e2TestError, Reads: trainReads, Options: []kit.Param{depthOption}})
}

// switchCategory names the category of the test error after the first
// stage, shared by every schedule continued from it.
const switchCategory = "after stage 2"

// seedOffset spreads the n points of one category sideways: point i of n
// is shifted by (i - (n-1)/2) * step.
func seedOffset(i, n int, step float64) float64 {
	return (float64(i) - float64(n-1)/2) * step
}

// medianBar is a short horizontal line at the median of v around x.
func medianBar(group string, x, halfWidth float64, v []float64) Series {
	m := metrics.Median(v)
	return Series{Group: group, X: []float64{x - halfWidth, x + halfWidth}, Y: []float64{m, m}, Style: Line}
}

// e2Order orders the categories of E2 from the least to the most
// training of the lower layers: the shared start, the lower-only control,
// layerwise, bfc-x by x, joint, then end2end.
func e2Order(a, b string) int {
	rank := func(s string) int {
		switch {
		case s == switchCategory:
			return 0
		case s == "lower-only":
			return 1
		case s == "layerwise":
			return 2
		case strings.HasPrefix(s, "bfc-"):
			x, _ := strconv.Atoi(strings.TrimPrefix(s, "bfc-"))
			return 10 + x
		case s == "joint":
			return 100
		case s == "end2end":
			return 101
		}
		return 200
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
}

// e2TestError plots the final test error of every schedule, each seed a
// point and the median a bar, and each seed's error relative to joint
// training of the same seed.
func e2TestError(env kit.Env, opts kit.Params) (*Spec, error) {
	runs, err := trainRunsOfOneDepth(env, opts)
	if err != nil {
		return nil, err
	}
	L := runs[0].L
	names, groups := bySchedule(runs)
	// The error after the first stage, once per seed (all staged runs of a
	// seed continue the same checkpoint; end2end has no stages).
	var start []train.Run
	for _, r := range runs {
		if r.Schedule != "end2end" && !containsReplicate(start, r.Replicate) {
			start = append(start, r)
		}
	}
	cats := append([]string(nil), names...)
	if len(start) > 0 {
		groups[switchCategory] = start
		cats = append(cats, switchCategory)
	}
	slices.SortFunc(cats, e2Order)
	joint := groups["joint"]
	var relCats []string
	for _, c := range cats {
		if c != "joint" {
			relCats = append(relCats, c)
		}
	}
	const step, bar = 0.07, 0.28
	final := Panel{Title: "final test error per schedule", X: Axis{Label: "schedule", Categories: cats},
		Y: Axis{Label: "test MSE / Var(y) (log scale)", Scale: Log}, Series: reserveColours()}
	rel := Panel{Title: "relative to joint training of the same seed", X: Axis{Label: "schedule", Categories: relCats},
		Y: Axis{Label: "test error / joint's test error (log scale)", Scale: Log}}
	var medRatios []string
	for _, c := range cats {
		rs, group, val := groups[c], c, func(r train.Run) float64 { return r.TestRelErr }
		if c == switchCategory {
			val = func(r train.Run) float64 { return r.TestRelErrSwitch }
		}
		ci, ri := float64(slices.Index(cats, c)), float64(slices.Index(relCats, c))
		pts := Series{Group: group, Style: Points, Reference: c == switchCategory}
		rpts := pts
		var v, ratios []float64
		for i, r := range rs {
			off := seedOffset(i, len(rs), step)
			pts.X, pts.Y = append(pts.X, ci+off), append(pts.Y, val(r))
			v = append(v, val(r))
			if j, ok := findReplicate(joint, r.Replicate); ok && c != "joint" {
				ratio := val(r) / j.TestRelErr
				rpts.X, rpts.Y = append(rpts.X, ri+off), append(rpts.Y, ratio)
				ratios = append(ratios, ratio)
			}
		}
		mb := medianBar(group, ci, bar, v)
		mb.Reference = pts.Reference
		final.Series = append(final.Series, pts, mb)
		if len(ratios) > 0 {
			rb := medianBar(group, ri, bar, ratios)
			rb.Reference = pts.Reference
			rel.Series = append(rel.Series, rpts, rb)
			medRatios = append(medRatios, fmt.Sprintf("%s %s", c, fmtNum(metrics.Median(ratios))))
		}
	}
	rel.Series = append(rel.Series, Series{Name: "equal to joint", X: []float64{-0.5, float64(len(relCats)) - 0.5}, Y: []float64{1, 1},
		Dashed: true, Reference: true})
	spec := &Spec{Title: fmt.Sprintf("E2: final test error per training schedule (L = %d)", L), Panels: []Panel{final}}
	if len(joint) > 0 {
		spec.Panels = append(spec.Panels, rel)
	}
	notes := []string{
		fmt.Sprintf("Dots: individual seeds (up to %d; spread sideways by seed); bars: medians over seeds. Each seed is its own target network; "+
			"the staged schedules of a seed continue one shared run of layer 2 alone, whose test error when layer 3 switches on (after stage 2: layer 2 alone) is the grey category %q. "+
			"lower-only (control): layer 2 keeps training alone; layerwise: layer 2 frozen, layer 3 trains; joint: both train; end2end: both from the first epoch.",
			maxSeeds(groups), switchCategory),
	}
	if len(medRatios) > 0 {
		notes = append(notes, "Right: each seed's final test error divided by that of joint training of the same seed. "+
			"Median ratios: "+strings.Join(medRatios, ", ")+". Intervals and verdicts: claim 3 of the claims table.")
	}
	notes = append(notes, trainSetup(runs[0]))
	spec.Notes = notes
	return spec, nil
}

func containsReplicate(rs []train.Run, rep string) bool {
	_, ok := findReplicate(rs, rep)
	return ok
}

// findReplicate returns the first run of rs trained on replicate rep.
func findReplicate(rs []train.Run, rep string) (train.Run, bool) {
	for _, r := range rs {
		if r.Replicate == rep {
			return r, true
		}
	}
	return train.Run{}, false
}

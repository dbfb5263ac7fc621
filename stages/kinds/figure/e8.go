package figure

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/classify"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// E8 figures: the real-data experiment (Fashion-MNIST) from any number of
// "classify" inputs, typically a grid over schedule, L, x and seed.
func init() {
	reads := []kit.TableNeed{classify.SummaryDesc.Need()}
	Register("E8a-accuracy", Plot{Build: e8Accuracy, Reads: reads})
	Register("E8b-bfc-x", Plot{Build: e8BFCX, Reads: reads, Options: []kit.Param{
		kit.IntParam("L", 0, "the depth L to draw (0: the deepest with bfc-x runs)").In(0, 8)}})
	Register("E8c-first-layer", Plot{Build: e8FirstLayer, Reads: append(reads, classify.FirstLayerDesc.Need()), Options: []kit.Param{
		kit.IntParam("L", 0, "the depth L of the pair drawn (0: the deepest with a layerwise and a joint run)").In(0, 8),
		kit.IntParam("seed", 0, "the stage seed of the pair drawn (0: the smallest)").In(0, 1<<62),
		kit.IntParam("units", 12, "how many first-layer units to draw").In(1, 4096),
		kit.BoolParam("raw", false, "draw the weights themselves instead of their change from initialisation"),
	}})
}

// e8Run is what the E8 plots need of one classify stage.
type e8Run struct {
	in       kit.Input
	schedule string
	L, x     int // x is the effective depth of the correction: 0 layerwise, L-1 joint
	seed     int64
	acc      float64 // final test accuracy
	accStage float64 // test accuracy after stage 1
	drift    float64 // final k1_drift
	nTrain   int
	epochs   [3]int // epochs_first, epochs_per_stage, total
	width    int
	act      string
}

// e8Runs reads the summaries of the classify inputs, sorted by schedule,
// L, x and seed.
func e8Runs(env kit.Env) ([]e8Run, error) {
	all, err := classify.Runs(env.Inputs())
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("needs classify inputs, have %d inputs", len(env.Inputs()))
	}
	var runs []e8Run
	for _, c := range all {
		if !c.Final {
			continue // a checkpoint, not a finished run
		}
		cfg := c.Config()
		runs = append(runs, e8Run{in: c.Input, schedule: c.Schedule, L: c.L, x: c.X, seed: c.Input.Seed(), acc: c.TestAcc,
			accStage: c.TestAccStage1, drift: c.K1Drift, nTrain: c.NTrain,
			epochs: [3]int{cfg.EpochsFirst, cfg.EpochsPerStage, c.Epochs}, width: cfg.Width, act: cfg.Activation})
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("all %d classify inputs are checkpoints (last_stage < L)", len(all))
	}
	slices.SortFunc(runs, func(a, b e8Run) int {
		return cmp.Or(cmp.Compare(scheduleRank(a.schedule), scheduleRank(b.schedule)), cmp.Compare(a.L, b.L),
			cmp.Compare(a.x, b.x), cmp.Compare(a.seed, b.seed))
	})
	return runs, nil
}

// scheduleRank orders schedules from the least to the most training of
// the lower blocks.
func scheduleRank(s string) int {
	if i := slices.Index([]string{"lower-only", "layerwise", "bfc-x", "joint", "end2end"}, s); i >= 0 {
		return i
	}
	return 99
}

// e8Setup describes the common settings of runs for the caption.
func e8Setup(runs []e8Run) string {
	r := runs[0]
	return fmt.Sprintf("Fully connected classifier (width %d, %s, skip connections from the input, one linear head per block; ours) "+
		"trained on the first %d Fashion-MNIST training images, %d epochs for block 1 and %d per further block; "+
		"test accuracy on the test images after the last epoch.", r.width, r.act, r.nTrain, r.epochs[0], r.epochs[1])
}

// e8Accuracy plots the final test accuracy of every schedule against the
// depth, and the paired gain over layerwise training of the same seed.
func e8Accuracy(env kit.Env, _ kit.Params) (*Spec, error) {
	runs, err := e8Runs(env)
	if err != nil {
		return nil, err
	}
	var schedules []string
	var Ls []int
	for _, r := range runs {
		if r.schedule == "bfc-x" {
			continue
		}
		if !slices.Contains(schedules, r.schedule) {
			schedules = append(schedules, r.schedule)
		}
		if !slices.Contains(Ls, r.L) {
			Ls = append(Ls, r.L)
		}
	}
	if len(schedules) == 0 {
		return nil, fmt.Errorf("no classify input besides bfc-x runs (those go to E8b)")
	}
	slices.Sort(Ls)
	cats := make([]string, len(Ls))
	for i, L := range Ls {
		cats[i] = fmt.Sprintf("L = %d", L)
	}
	acc := Panel{Title: "final test accuracy", X: Axis{Label: "number of blocks", Categories: cats},
		Y: Axis{Label: "test accuracy"}}
	gain := Panel{Title: "gain over layerwise training of the same seed", X: Axis{Label: "number of blocks", Categories: cats},
		Y: Axis{Label: "accuracy − layerwise (points)"}}
	const shift = 0.08 // sideways shift of the seeds' points per schedule
	seeds := 0
	for si, sch := range schedules {
		off := (float64(si) - float64(len(schedules)-1)/2) * shift
		med := Series{Name: sch + " (median)", Group: sch, Style: LinePoints}
		pts := Series{Group: sch, Style: Points}
		gmed := Series{Name: sch + " − layerwise (median)", Group: sch, Style: LinePoints}
		gpts := Series{Group: sch, Style: Points}
		for li, L := range Ls {
			var accs, gains []float64
			for _, r := range runs {
				if r.schedule != sch || r.L != L {
					continue
				}
				accs = append(accs, r.acc)
				pts.X, pts.Y = append(pts.X, float64(li)+off), append(pts.Y, r.acc)
				if lw, ok := findRun(runs, "layerwise", L, 0, r.seed); ok && sch != "layerwise" {
					g := 100 * (r.acc - lw.acc)
					gains = append(gains, g)
					gpts.X, gpts.Y = append(gpts.X, float64(li)+off), append(gpts.Y, g)
				}
			}
			seeds = max(seeds, len(accs))
			if len(accs) > 0 {
				med.X, med.Y = append(med.X, float64(li)), append(med.Y, metrics.Median(accs))
			}
			if len(gains) > 0 {
				gmed.X, gmed.Y = append(gmed.X, float64(li)), append(gmed.Y, metrics.Median(gains))
			}
		}
		acc.Series = append(acc.Series, med, pts)
		if sch != "layerwise" {
			gain.Series = append(gain.Series, gmed, gpts)
		}
	}
	zero := Series{Name: "no gain", X: []float64{-0.3, float64(len(Ls)-1) + 0.3}, Y: []float64{0, 0}, Dashed: true, Reference: true}
	gain.Series = append(gain.Series, zero)
	spec := &Spec{Title: "E8a: Fashion-MNIST — layerwise versus joint training", Panels: []Panel{acc, gain},
		Notes: []string{
			e8Setup(runs),
			fmt.Sprintf("Lines join the medians over seeds (up to %d per point); dots are the individual seeds, shifted sideways by schedule so that they do not overlap. "+
				"Right: each seed's accuracy minus that of layerwise training with the same seed (the same initialisation and the same stage 1).", seeds),
			"layerwise: only the newest block trains; joint: every switched-on block keeps training; end2end: all blocks train from the start for the same total number of epochs; " +
				"lower-only (control): block 1 alone keeps training for the same number of epochs as an L-block run, and no other block is ever switched on.",
		}}
	return spec, nil
}

// findRun returns the run with the given schedule, depth, effective x and
// seed (x is ignored unless the schedule is bfc-x).
func findRun(runs []e8Run, schedule string, L, x int, seed int64) (e8Run, bool) {
	for _, r := range runs {
		if r.schedule == schedule && r.L == L && r.seed == seed && (schedule != "bfc-x" || r.x == x) {
			return r, true
		}
	}
	return e8Run{}, false
}

// e8BFCX plots, at the largest depth with bfc-x runs, the final test
// accuracy and the first layer's drift against x (x = 0 is layerwise,
// x = L-1 joint), with end2end as a reference.
func e8BFCX(env kit.Env, opts kit.Params) (*Spec, error) {
	runs, err := e8Runs(env)
	if err != nil {
		return nil, err
	}
	L := 0
	for _, r := range runs {
		if r.schedule == "bfc-x" {
			L = max(L, r.L)
		}
	}
	if L == 0 {
		return nil, fmt.Errorf("no bfc-x run among %d classify inputs", len(runs))
	}
	if v := opts.Int("L"); v != 0 {
		L = v
	}
	byX := map[int][]e8Run{}
	var e2e, lower []e8Run
	for _, r := range runs {
		if r.L != L {
			continue
		}
		switch r.schedule {
		case "layerwise", "bfc-x", "joint":
			byX[r.x] = append(byX[r.x], r)
		case "end2end":
			e2e = append(e2e, r)
		case "lower-only":
			lower = append(lower, r)
		}
	}
	xLabel := fmt.Sprintf("x (0 = layerwise, %d = joint)", L-1)
	acc := Panel{Title: "final test accuracy", X: Axis{Label: xLabel}, Y: Axis{Label: "test accuracy"}}
	drift := Panel{Title: "how far the first layer moves after stage 1", X: Axis{Label: xLabel},
		Y: Axis{Label: "first-layer drift"}}
	med := Series{Name: "bfc-x (median)", Group: "bfc-x", Style: LinePoints}
	pts := Series{Group: "bfc-x", Style: Points}
	dmed := Series{Name: "bfc-x (median)", Group: "bfc-x", Style: LinePoints}
	dpts := Series{Group: "bfc-x", Style: Points}
	var xs []int
	for x := range byX {
		xs = append(xs, x)
	}
	slices.Sort(xs)
	seeds := 0
	var recovered []string
	for _, x := range xs {
		var a, d []float64
		for _, r := range byX[x] {
			a, d = append(a, r.acc), append(d, r.drift)
			pts.X, pts.Y = append(pts.X, float64(x)), append(pts.Y, r.acc)
			dpts.X, dpts.Y = append(dpts.X, float64(x)), append(dpts.Y, r.drift)
		}
		seeds = max(seeds, len(a))
		med.X, med.Y = append(med.X, float64(x)), append(med.Y, metrics.Median(a))
		dmed.X, dmed.Y = append(dmed.X, float64(x)), append(dmed.Y, metrics.Median(d))
	}
	// Share of the layerwise-to-joint gap recovered at each x, for the caption.
	if lw, jt := byX[0], byX[L-1]; len(lw) > 0 && len(jt) > 0 {
		ml, mj := medianAcc(lw), medianAcc(jt)
		for _, x := range xs {
			if x > 0 && x < L-1 && mj != ml {
				recovered = append(recovered, fmt.Sprintf("x = %d: %.0f%%", x, 100*(medianAcc(byX[x])-ml)/(mj-ml)))
			}
		}
	}
	acc.Series = append(acc.Series, med, pts)
	drift.Series = append(drift.Series, dmed, dpts)
	// Reference lines: the medians of end2end and of the lower-only control.
	for _, ref := range []struct {
		name string
		runs []e8Run
	}{{"end2end", e2e}, {"lower-only", lower}} {
		if len(ref.runs) == 0 || len(xs) == 0 {
			continue
		}
		ends := []float64{float64(xs[0]), float64(xs[len(xs)-1])}
		a, d := make([]float64, len(ref.runs)), make([]float64, len(ref.runs))
		for i, r := range ref.runs {
			a[i], d[i] = r.acc, r.drift
		}
		ma, md := metrics.Median(a), metrics.Median(d)
		acc.Series = append(acc.Series, Series{Name: ref.name + " (median)", Group: ref.name, X: ends, Y: []float64{ma, ma}, Dashed: true})
		drift.Series = append(drift.Series, Series{Name: ref.name + " (median)", Group: ref.name, X: ends, Y: []float64{md, md}, Dashed: true})
	}
	notes := []string{e8Setup(runs),
		fmt.Sprintf("L = %d blocks. bfc-x: when block s switches on, blocks max(1, s−x)..s train and the ones below are frozen. "+
			"Lines: medians over seeds (up to %d per x); dots: individual seeds. First-layer drift: ||K₁ − K₁(end of stage 1)|| / ||K₁(end of stage 1)|| "+
			"at the end of training (for end2end, which has no stage 1: after the same number of epochs). Dashed: medians of end2end (all blocks from the start) and of the lower-only control "+
			"(block 1 alone, trained for the same number of epochs), where present.", L, seeds)}
	if len(recovered) > 0 {
		notes = append(notes, "Share of the median layerwise-to-joint accuracy gap recovered: "+strings.Join(recovered, ", ")+".")
	}
	return &Spec{Title: "E8b: Fashion-MNIST — how deep must the correction go?", Panels: []Panel{acc, drift}, Notes: notes}, nil
}

func medianAcc(runs []e8Run) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = r.acc
	}
	return metrics.Median(v)
}

// e8FirstLayer draws the first block's weights of the first units after
// layerwise and after joint training of one seed and depth (options L,
// seed, units; defaults: the deepest L and smallest seed that have both,
// 12 units) and their difference, each unit as a small image.
func e8FirstLayer(env kit.Env, opts kit.Params) (*Spec, error) {
	runs, err := e8Runs(env)
	if err != nil {
		return nil, err
	}
	units, wantL, wantSeed := opts.Int("units"), opts.Int("L"), int64(opts.Int("seed"))
	var pairs [][2]e8Run // (layerwise, joint) of one depth and seed
	for _, r := range runs {
		if r.schedule != "joint" || (wantL != 0 && r.L != wantL) || (wantSeed != 0 && r.seed != wantSeed) {
			continue
		}
		if s, ok := findRun(runs, "layerwise", r.L, 0, r.seed); ok {
			pairs = append(pairs, [2]e8Run{s, r})
		}
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("needs a layerwise and a joint run of the same depth and seed (options L=%d, seed=%d)", wantL, wantSeed)
	}
	best := slices.MinFunc(pairs, func(a, b [2]e8Run) int {
		return cmp.Or(cmp.Compare(b[1].L, a[1].L), cmp.Compare(a[1].seed, b[1].seed))
	})
	lw, jt := best[0], best[1]
	learned := !opts.Bool("raw")
	wl, rows, cols, err := firstLayer(lw.in, learned)
	if err != nil {
		return nil, err
	}
	wj, rows2, cols2, err := firstLayer(jt.in, learned)
	if err != nil {
		return nil, err
	}
	if rows != rows2 || cols != cols2 || len(wl) != len(wj) {
		return nil, fmt.Errorf("first layers of different shapes: %dx%d and %dx%d images, %d and %d values", rows, cols, rows2, cols2, len(wl), len(wj))
	}
	d := rows * cols
	units = min(units, len(wl)/d)
	// Each unit is scaled by the largest |weight| of its layerwise image,
	// so the two trained panels are comparable unit by unit.
	scale := make([]float64, units)
	diff := make([]float64, units*d)
	for u := range units {
		for j := range d {
			scale[u] = math.Max(scale[u], math.Abs(wl[u*d+j]))
		}
		if scale[u] == 0 {
			scale[u] = 1
		}
		for j := range d {
			diff[u*d+j] = wj[u*d+j] - wl[u*d+j]
		}
	}
	// Lay the units out in a near-square grid, preferring rows without gaps.
	perRow := int(math.Ceil(math.Sqrt(float64(units))))
	if units%perRow != 0 && units%(perRow+1) == 0 {
		perRow++
	}
	// A few large single weights would make everything else pale: each
	// panel's colours saturate at the 99th percentile of its |values|.
	var sat [3]float64
	panels := [3]*Image{}
	for i, w := range [][]float64{wl, wj, diff} {
		panels[i] = tileImages(w, scale, units, rows, cols, perRow)
		sat[i] = saturate(panels[i], 0.99)
	}
	shape := panels[0]
	what, whatNote := "learned change of the weights", "the change of its weights on the %dx%d input pixels from their random initial values (what training added; option raw=true draws the weights themselves)"
	if !learned {
		what, whatNote = "weights", "its weights on the %dx%d input pixels"
	}
	spec := &Spec{Title: fmt.Sprintf("E8c: first-layer features on Fashion-MNIST, %s (L = %d, seed %d, units 0–%d)", what, jt.L, jt.seed, units-1),
		Cols: 3, PanelWidth: 3.6, PanelHeight: 0.8 + 3*float64(shape.Rows)/float64(shape.Cols), // square pixels, room for the title
		Panels: []Panel{
			{Title: "layerwise", Image: shape, HideLegend: true},
			{Title: "joint", Image: panels[1], HideLegend: true},
			{Title: "joint − layerwise", Image: panels[2], HideLegend: true},
		},
		Notes: []string{
			fmt.Sprintf("Each small image is one unit of the first block: "+whatNote+", divided by the largest |value| of the same unit after layerwise training. "+
				"Red: positive, blue: negative, white: 0; each panel's colours span ± the 99th percentile of its |values| and saturate beyond "+
				"(%.2f, %.2f and %.2f in these units: left, middle, right).", rows, cols, sat[0], sat[1], sat[2]),
			fmt.Sprintf("Left: after layerwise training, middle: after joint training, right: their difference. Both runs share the initialisation and "+
				"stage 1 (block 1 alone); layerwise training then freezes block 1, joint training keeps training it while blocks 2 to %d are switched on. "+
				"Over all units, ||K₁(joint) − K₁(layerwise)|| / ||K₁(layerwise)|| = %.3f; test accuracy %.4f (layerwise) and %.4f (joint).", jt.L, jt.drift, lw.acc, jt.acc),
			e8Setup(runs),
		}}
	return spec, nil
}

// firstLayer reads a classify stage's first_layer table: the weights, or
// with learned set the weights minus their initial values.
func firstLayer(in kit.Input, learned bool) (w []float64, rows, cols int, err error) {
	fl, err := classify.ReadFirstLayer(in)
	if err != nil {
		return nil, 0, 0, err
	}
	w = fl.W
	if learned {
		for i := range w {
			w[i] -= fl.WInit[i]
		}
	}
	return w, fl.Rows, fl.Cols, nil
}

// saturate clips the values of im to ± the q-quantile of their absolute
// values (NaN separators excepted) and returns that level.
func saturate(im *Image, q float64) float64 {
	var abs []float64
	for _, v := range im.Values {
		if !math.IsNaN(v) {
			abs = append(abs, math.Abs(v))
		}
	}
	c := metrics.Quantile(abs, q)
	if !(c > 0) {
		return c
	}
	for i, v := range im.Values {
		if !math.IsNaN(v) {
			im.Values[i] = math.Max(-c, math.Min(c, v))
		}
	}
	return c
}

// tileImages lays out the first units images of rows x cols values (unit
// u at w[u*rows*cols:], divided by scale[u]) perRow to a row, separated by
// one NaN (grey) pixel.
func tileImages(w, scale []float64, units, rows, cols, perRow int) *Image {
	tilesDown := (units + perRow - 1) / perRow
	im := &Image{Rows: tilesDown*(rows+1) - 1, Cols: perRow*(cols+1) - 1, Diverging: true}
	im.Values = make([]float64, im.Rows*im.Cols)
	for i := range im.Values {
		im.Values[i] = math.NaN()
	}
	for u := range units {
		r0, c0 := (u/perRow)*(rows+1), (u%perRow)*(cols+1)
		for r := range rows {
			for c := range cols {
				im.Values[(r0+r)*im.Cols+c0+c] = w[u*rows*cols+r*cols+c] / scale[u]
			}
		}
	}
	return im
}

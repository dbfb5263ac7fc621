package paper

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/lib/schedule"
	"github.com/bfc-repro/bfc/stages/lib/staged"
)

// targetsOf returns the gathered targets that runs were trained on, in
// target order; missing targets are an error (the report describes the
// data of every experiment).
func (bd *builder) targetsOf(what string, runs []*trainRun) []*targetPt {
	var out []*targetPt
	for _, t := range bd.targets {
		if slices.ContainsFunc(runs, func(r *trainRun) bool { return r.replicate == t.in.Key() }) {
			out = append(out, t)
		}
	}
	for _, r := range runs {
		if !slices.ContainsFunc(out, func(t *targetPt) bool { return t.in.Key() == r.replicate }) {
			bd.rd.fail(fmt.Errorf("%s: the target %s of train point %s is not gathered", what, shortKey(r.replicate), shortKey(r.in.Key())))
			break
		}
	}
	return out
}

// expRuns returns every run of an experiment, checkpoints included.
func (bd *builder) expRuns(exp string) []*trainRun {
	var out []*trainRun
	for _, r := range bd.runs {
		if r.exp == exp {
			out = append(out, r)
		}
	}
	return out
}

// targetSetup: the target networks (docs/science.md#target) of E1 and E3.
func (bd *builder) targetSetup() {
	rd, b := &bd.rd, bd.b
	for _, e := range []struct{ exp, L, gap, targets string }{
		{"E1", "EOneL", "EOneGap", "EOneTargets"}, {"E3", "EThreeL", "EThreeGap", "EThreeTargets"},
	} {
		exp := e.exp
		ts := bd.targetsOf(exp, bd.expRuns(exp))
		if len(ts) == 0 {
			continue
		}
		ins := inputsOf(ts, targetInput)
		b.Num(e.L, OpValue, "int", rd.uniformParam(exp+" targets", ins, "L"))
		b.Num(e.gap, OpValue, "exact", rd.uniformParam(exp+" targets", ins, "gap"))
		b.Num(e.targets, OpCount, "int", rd.summaryOfTargets(ts, target.ColD)...)
		if exp != "E1" {
			continue
		}
		for _, p := range []struct{ param, name, format string }{
			{"d", "TargetD", "int"}, {"k", "TargetK", "int"}, {"n_train", "TargetNTrain", "int"}, {"n_test", "TargetNTest", "int"},
			{"norm_samples", "TargetNormSamples", "int"}, {"noise", "TargetNoise", "exact"}, {"label_clip", "TargetLabelClip", "exact"},
		} {
			b.Num(p.name, OpValue, p.format, rd.uniformParam("E1 targets", ins, p.param))
		}
		for _, p := range []struct{ param, name string }{{"connections", "TargetConnections"}, {"input", "TargetInput"}, {"center1", "TargetCenter"}} {
			b.Text(p.name, rd.uniformParam("E1 targets", ins, p.param))
		}
	}
}

// summaryOfTargets returns one summary cell per target.
func (rd *reader) summaryOfTargets(ts []*targetPt, col string) []Cell {
	out := make([]Cell, len(ts))
	for i, t := range ts {
		out[i] = rd.cell(t.sum, 0, col)
	}
	return out
}

// labelTails: the Monte Carlo kurtosis of the labels, per experiment and
// over all gathered targets of each depth.
func (bd *builder) labelTails() {
	rd, b := &bd.rd, bd.b
	for _, e := range []struct {
		exp  string
		cols [2]struct{ col, min, max string }
	}{
		{"E1", [2]struct{ col, min, max string }{{target.ColKurtosisY, "KurtEOneMin", "KurtEOneMax"},
			{target.ColKurtosisYTrain, "KurtTrainEOneMin", "KurtTrainEOneMax"}}},
		{"E3", [2]struct{ col, min, max string }{{target.ColKurtosisY, "KurtEThreeMin", "KurtEThreeMax"},
			{target.ColKurtosisYTrain, "KurtTrainEThreeMin", "KurtTrainEThreeMax"}}},
	} {
		ts := bd.targetsOf(e.exp, bd.expRuns(e.exp))
		if len(ts) == 0 {
			continue
		}
		for _, col := range e.cols {
			c := rd.summaryOfTargets(ts, col.col)
			b.Num(col.min, OpMin, "g2", c...)
			b.Num(col.max, OpMax, "g2", c...)
		}
	}
	for _, d := range []struct {
		L                 int
		min, max, targets string
	}{{bd.e1Depth, "KurtShallowMin", "KurtShallowMax", "KurtShallowTargets"}, {bd.e3Depth, "KurtDeepMin", "KurtDeepMax", "KurtDeepTargets"}} {
		var ts []*targetPt
		for _, t := range bd.targets {
			if t.L == d.L {
				ts = append(ts, t)
			}
		}
		if len(ts) == 0 {
			continue
		}
		c := rd.summaryOfTargets(ts, target.ColKurtosisY)
		b.Num(d.min, OpMin, "g2", c...)
		b.Num(d.max, OpMax, "g2", c...)
		b.Num(d.targets, OpCount, "int", c...)
	}
}

// layerShare returns the cell of column share for layer l of a target's
// layers table.
func (rd *reader) layerShare(t *targetPt, l int) Cell {
	for r := 0; r < t.layers.rows(); r++ {
		if c := rd.cell(t.layers, r, target.ColLayer); int(c.Num) == l {
			return rd.cell(t.layers, r, target.ColShare)
		}
	}
	rd.fail(fmt.Errorf("target %s: layers table has no layer %d", shortKey(t.in.Key()), l))
	return Cell{}
}

// informationGap: the E0 sweep (targets with both an L and a gap label):
// per depth and gap, the median share of Var(y) carried by the top term
// and by the one below it (lists EZeroShallow, EZeroDeep).
func (bd *builder) informationGap() {
	rd, b := &bd.rd, bd.b
	var all, cells []Cell // every E0 target; one cell per (L, gap)
	defer func() {
		if len(all) > 0 {
			b.Num("EZeroTargets", OpCount, "int", all...)
			b.Num("EZeroCells", OpCount, "int", cells...)
		}
	}()
	for _, d := range []struct {
		L                           int
		word, list, above, below, l string
	}{
		{bd.e1Depth, "Shallow", "EZeroShallow", "EZeroShallowAbove", "EZeroShallowBelowList", "EZeroShallowL"},
		{bd.e3Depth, "Deep", "EZeroDeep", "EZeroDeepAbove", "EZeroDeepBelowList", "EZeroDeepL"},
	} {
		var gaps []float64
		byGap := map[float64][]*targetPt{}
		for _, t := range bd.targets {
			l := t.in.Labels()
			if _, hasL := l["L"]; !hasL || t.L != d.L {
				continue
			}
			if _, hasGap := l["gap"]; !hasGap {
				continue
			}
			if _, ok := byGap[t.gap]; !ok {
				gaps = append(gaps, t.gap)
			}
			byGap[t.gap] = append(byGap[t.gap], t)
		}
		slices.Sort(gaps)
		for i, g := range gaps {
			ts := byGap[g]
			gl := letters(i)
			pre := famGapRow.of(d.word, gl)
			b.Num(famGapRowGap.of(d.word, gl), OpValue, "exact", rd.param(ts[0].in, "gap"))
			var top, below []Cell
			for _, t := range ts {
				top, below = append(top, rd.layerShare(t, d.L)), append(below, rd.layerShare(t, d.L-1))
			}
			b.Num(famGapRowTop.of(d.word, gl), OpMedian, "g2", top...)
			b.Num(famGapRowBelow.of(d.word, gl), OpMedian, "g2", below...)
			b.Num(famGapRowSeeds.of(d.word, gl), OpCount, "int", top...)
			b.List(d.list, pre)
			// Where the top term carries more of Var(y) than the one below.
			if bd.valueOf(famGapRowTop.of(d.word, gl)) > bd.valueOf(famGapRowBelow.of(d.word, gl)) {
				b.List(d.above, pre)
			} else {
				b.List(d.below, pre)
			}
			all = append(all, top...)
			cells = append(cells, rd.param(ts[0].in, "gap"))
		}
		if len(gaps) > 0 {
			b.Num(d.l, OpValue, "int", rd.param(byGap[gaps[0]][0].in, "L"))
		}
	}
}

// learnerParams are the train parameters the report states once: they
// must be the same in every train run of E1, E3 and E4.
var learnerParams = []struct{ param, name, format string }{
	{"m", "LearnerM", "int"}, {"batch", "LearnerBatch", "int"}, {"lr", "LearnerLR", "exact"},
	{"weight_decay", "LearnerWeightDecay", "exact"}, {"clip", "LearnerClip", "exact"}, {"lambda_kw", "LearnerLambda", "exact"},
	{"init_k", "LearnerInitK", "exact"}, {"init_w", "LearnerInitW", "exact"}, {"lr_alpha_power", "LearnerAlphaPower", "exact"},
	{"feature_clip", "LearnerFeatureClip", "exact"}, {"residual_clip", "LearnerResidualClip", "exact"},
	{"lr_final", "LearnerLRFinal", "exact"}, {"warmup_epochs", "LearnerWarmup", "exact"}, {"diverge", "LearnerDiverge", "exact"},
}

// learnerSetup: the learner (docs/science.md#learner) and its optimiser, and the
// epochs of each experiment.
func (bd *builder) learnerSetup() {
	rd, b := &bd.rd, bd.b
	var all []*trainRun
	for _, exp := range []string{"E1", "E3", "E4"} {
		all = append(all, bd.expRuns(exp)...)
	}
	if len(all) == 0 {
		return
	}
	ins := inputsOf(all, runInput)
	for _, p := range learnerParams {
		b.Num(p.name, OpValue, p.format, rd.uniformParam("train runs of E1, E3, E4", ins, p.param))
	}
	for _, p := range []struct{ param, name string }{{"optimizer", "LearnerOptimizer"}, {"lr_schedule", "LearnerSchedule"}} {
		b.Text(p.name, rd.uniformParam("train runs of E1, E3, E4", ins, p.param))
	}
	// p = 0 and n_train_used = 0 mean defaults: the summary records the
	// values used.
	b.Num("LearnerP", OpValue, "int", rd.cell(all[0].sum, 0, train.ColP))
	b.Num("LearnerNTrainUsed", OpValue, "int", rd.cell(all[0].sum, 0, train.ColNTrainUsed))
	for _, e := range []struct{ exp, first, perStage, epochs string }{
		{"E1", "EOneEpochsFirst", "EOneEpochsPerStage", "EOneEpochs"},
		{"E3", "EThreeEpochsFirst", "EThreeEpochsPerStage", "EThreeEpochs"},
		{"E4", "EFourEpochsFirst", "EFourEpochsPerStage", "EFourEpochs"},
	} {
		runs := bd.expRuns(e.exp)
		if len(runs) == 0 {
			continue
		}
		ins := inputsOf(runs, runInput)
		b.Num(e.first, OpValue, "int", rd.uniformParam(e.exp+" train runs", ins, "epochs_first"))
		b.Num(e.perStage, OpValue, "int", rd.uniformParam(e.exp+" train runs", ins, "epochs_per_stage"))
		if f := bd.finals(e.exp, "", -2); len(f) > 0 {
			b.Num(e.epochs, OpMax, "int", rd.summaryCells(f, train.ColEpochs)...)
		}
	}
}

// clipping: how often the gradient norm hit the clipping bound, over every
// train run (checkpoints included).
func (bd *builder) clipping() {
	var all []*trainRun
	for _, exp := range []string{"E1", "E3", "E4"} {
		all = append(all, bd.expRuns(exp)...)
	}
	if len(all) == 0 {
		return
	}
	c := bd.rd.summaryCells(all, train.ColClippedFrac)
	bd.b.Num("ClipMin", OpMin, "pct0", c...)
	bd.b.Num("ClipMax", OpMax, "pct0", c...)
	bd.b.Num("ClipMedian", OpMedian, "pct0", c...)
	bd.b.Num("ClipRuns", OpCount, "int", c...)
}

// scheduleStats adds medians of the final summary columns of one
// schedule's runs under prefix (Err, Eps, EpsSwitch, Eps<l> for l > 2).
func (bd *builder) scheduleStats(pre string, runs []*trainRun, L int) {
	rd, b := &bd.rd, bd.b
	if len(runs) == 0 {
		return
	}
	b.Num(famStatsErr.of(pre), OpMedian, "g2", rd.summaryCells(runs, train.ColTestRelErr)...)
	b.Num(famStatsEps.of(pre), OpMedian, "g2", rd.summaryCells(runs, train.ColEps(2))...)
	b.Num(famStatsEpsSwitch.of(pre), OpMedian, "g2", rd.summaryCells(runs, train.ColEpsSwitch(2))...)
	for l := 3; l <= L; l++ {
		b.Num(famStatsEpsLayer.of(pre, word(l)), OpMedian, "g2", rd.summaryCells(runs, train.ColEps(l))...)
	}
	b.Num(famStatsRuns.of(pre), OpCount, "int", rd.summaryCells(runs, train.ColTestRelErr)...)
}

// eOne: E1/E2, backward feature correction at the shallow depth.
func (bd *builder) eOne() {
	rd, b := &bd.rd, bd.b
	L := bd.e1Depth
	joint := bd.staged("E1", L-2)
	if len(joint) == 0 {
		return
	}
	for _, s := range []struct{ schedule, prefix string }{{schedule.Joint, "EOneJoint"}, {schedule.Layerwise, "EOneLayerwise"},
		{schedule.LowerOnly, "EOneLowerOnly"}, {schedule.End2End, "EOneEndToEnd"}} {
		bd.scheduleStats(s.prefix, bd.finals("E1", s.schedule, -2), L)
	}
	b.Num("EOneErrStageTwo", OpMedian, "g2", rd.summaryCells(joint, train.ColTestRelErrSwitch)...)
	b.Num("EOneSeeds", OpCount, "int", rd.summaryCells(joint, train.ColTestRelErr)...)
	// Each schedule's final test error relative to joint's, paired by seed.
	for _, s := range []struct{ schedule, name string }{{schedule.LowerOnly, "EOneRatioLowerOnly"}, {schedule.End2End, "EOneRatioEndToEnd"}} {
		a, j := pair(bd.finals("E1", s.schedule, -2), joint)
		if len(a) > 0 {
			b.Num(s.name, OpMedianRatio, "g2", interleave(rd.summaryCells(a, train.ColTestRelErr), rd.summaryCells(j, train.ColTestRelErr))...)
		}
	}
	// Stage 2 alone after the switch: the control's own final/switch eps_2.
	if lo := bd.finals("E1", "lower-only", -2); len(lo) > 0 {
		b.Num("EOneControlDrift", OpMedianRatio, "g2", interleave(rd.summaryCells(lo, train.ColEps(2)), rd.summaryCells(lo, train.ColEpsSwitch(2)))...)
	}
}

// stageTwo: how far stage 2 (layer 2 alone) had levelled off when the
// next layer switched on, from the shared checkpoints' histories: the
// median relative fall of the test error from the middle of stage 2 to its
// end, and over its last level_window epochs.
func (bd *builder) stageTwo() {
	rd, b := &bd.rd, bd.b
	w := bd.cfg.levelWindow
	for _, e := range []struct {
		exp, fallHalf, fallLast string
		epochs                  [3]string // mid, window start, end
	}{
		{"E1", "StageTwoEOneFallHalf", "StageTwoEOneFallLast", [3]string{"StageTwoEOneMidEpoch", "StageTwoEOneWindowEpoch", "StageTwoEOneEndEpoch"}},
		{"E3", "StageTwoEThreeFallHalf", "StageTwoEThreeFallLast", [3]string{"StageTwoEThreeMidEpoch", "StageTwoEThreeWindowEpoch", "StageTwoEThreeEndEpoch"}},
	} {
		exp := e.exp
		cps := bd.checkpoints(exp)
		if len(cps) == 0 {
			continue
		}
		var half, last []Cell
		var epochs [3]Cell // mid, window start, end of the first checkpoint
		for i, r := range cps {
			h, err := bd.keep(r.in, train.OpenHistory)
			if err != nil {
				rd.fail(err)
				return
			}
			n := h.rows()
			end := int(rd.cell(h, n-1, staged.ColEpoch).Num)
			row := func(epoch int) int {
				for k := 0; k < n; k++ {
					if int(rd.cell(h, k, staged.ColEpoch).Num) == epoch {
						return k
					}
				}
				rd.fail(fmt.Errorf("%s checkpoint %s: history has no epoch %d", exp, shortKey(r.in.Key()), epoch))
				return 0
			}
			mid, start := row(end/2), row(max(1, end-w))
			fin := rd.cell(h, n-1, train.ColTestRelErr)
			half = append(half, rd.cell(h, mid, train.ColTestRelErr), fin)
			last = append(last, rd.cell(h, start, train.ColTestRelErr), fin)
			if i == 0 {
				epochs = [3]Cell{rd.cell(h, mid, staged.ColEpoch), rd.cell(h, start, staged.ColEpoch), rd.cell(h, n-1, staged.ColEpoch)}
			}
		}
		b.Num(e.fallHalf, OpMedianFall, "pct0", half...)
		b.Num(e.fallLast, OpMedianFall, "pct1", last...)
		for i, name := range e.epochs {
			b.Num(name, OpValue, "int", epochs[i])
		}
	}
}

// eThree: bfc-x at the deep depth (E3).
func (bd *builder) eThree() {
	rd, b := &bd.rd, bd.b
	L := bd.e3Depth
	if len(bd.finals("E3", "", -2)) == 0 {
		return
	}
	for x := 0; x <= L-2; x++ {
		runs := bd.staged("E3", x)
		if len(runs) == 0 {
			continue
		}
		pre := famEThreeX.of(letters(x))
		// The column is named by the x of a bfc-x run (joint and layerwise
		// runs record the unused default of x).
		i := slices.IndexFunc(runs, func(r *trainRun) bool {
			return r.schedule == "bfc-x" && rd.cell(r.sum, 0, train.ColX).Num == float64(x)
		})
		if i < 0 {
			rd.fail(fmt.Errorf("E3: no bfc-x run with x = %d among %d runs of that depth of correction", x, len(runs)))
			return
		}
		b.Num(famEThreeXX.of(letters(x)), OpValue, "int", rd.cell(runs[i].sum, 0, train.ColX))
		bd.scheduleStats(pre, runs, L)
		b.List("EThreeX", pre)
		if x == L-2 {
			b.Num("EThreeErrStageTwo", OpMedian, "g2", rd.summaryCells(runs, train.ColTestRelErrSwitch)...)
			b.Num("EThreeSeeds", OpCount, "int", rd.summaryCells(runs, train.ColTestRelErr)...)
		}
	}
	// How far the smallest correction ends above joint training, per seed.
	if one, joint := pair(bd.staged("E3", 1), bd.staged("E3", L-2)); len(one) > 0 && L-2 > 1 {
		b.Num("EThreeBfcOneOverJoint", OpMedianRatio, "g2", interleave(rd.summaryCells(one, train.ColTestRelErr), rd.summaryCells(joint, train.ColTestRelErr))...)
	}
}

// eFour: the information-gap sweep (E4), per gap.
func (bd *builder) eFour() {
	rd, b := &bd.rd, bd.b
	var gaps []string
	byGap := map[string][]*trainRun{}
	for _, r := range bd.runs {
		if r.exp != "E4" || !r.final {
			continue
		}
		g := r.in.Labels()["gap"]
		if _, ok := byGap[g]; !ok {
			gaps = append(gaps, g)
		}
		byGap[g] = append(byGap[g], r)
	}
	slices.SortFunc(gaps, func(a, c string) int {
		x, _ := strconv.ParseFloat(a, 64)
		y, _ := strconv.ParseFloat(c, 64)
		return compareFloat(x, y)
	})
	for i, g := range gaps {
		runs := byGap[g]
		ts := bd.targetsOf("E4", runs)
		if len(ts) == 0 {
			return
		}
		gl := letters(i)
		gapCell := rd.uniformParam("E4 targets at gap "+g, inputsOf(ts, targetInput), "gap")
		b.Num(famEFourGGap.of(gl), OpValue, "exact", gapCell)
		L := runs[0].L
		var joint, lw []*trainRun
		for _, r := range runs {
			switch r.x {
			case L - 2:
				joint = append(joint, r)
			case 0:
				lw = append(lw, r)
			}
		}
		bd.scheduleStats(famEFourGJoint.of(gl), joint, 2)
		bd.scheduleStats(famEFourGLayer.of(gl), lw, 2)
		bd.namedClaim(famEFourGRatio.of(gl), "3", "E4", fmt.Sprintf("test_err_layerwise/joint[L=%d,gamma=%s]", L,
			strconv.FormatFloat(gapCell.Num, 'g', 3, 64)), "g2", false)
		b.List("EFourG", famEFourG.of(gl))
	}
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

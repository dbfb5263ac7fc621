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
	"github.com/bfc-repro/bfc/stages/lib/trainer"
)

// E1-E4 figures: the synthetic experiments on backward feature correction,
// from "train" inputs (finished runs; the shared stage-2 checkpoints are
// skipped, their epochs are the first part of every run continued from
// them). The runs are read with train.FinalRuns, so the figures and the
// claims table place every run the same way (schedule, depth of the
// correction x, seed).
func init() {
	Register("E1-feature-error", Plot{Build: e1FeatureError, Options: []kit.Param{depthOption},
		Reads: []kit.TableNeed{train.SummaryDesc(2).Need(), train.HistoryDesc(2).Need()}})
}

// trainReads are the tables the plots of E2-E4 read.
var trainReads = []kit.TableNeed{train.SummaryDesc(2).Need()}

// scheduleGroups is the fixed order in which the E1-E4 figures reserve
// colours, so that a schedule has the same colour in every figure.
var scheduleGroups = []string{"joint", "layerwise", "lower-only", "end2end", "bfc-1", "bfc-2", "bfc-3"}

// reserveColours returns empty, unnamed series of every schedule group:
// placed first in a figure, they fix the colour of each group whatever
// the figure draws (an empty series draws nothing and has no legend entry).
func reserveColours() []Series {
	out := make([]Series, len(scheduleGroups))
	for i, g := range scheduleGroups {
		out[i] = Series{Group: g}
	}
	return out
}

// scheduleOf names a run's schedule by the depth of its correction:
// joint (x = L-2), layerwise (x = 0), bfc-x in between, and lower-only or
// end2end.
func scheduleOf(r train.Run) string {
	switch {
	case !r.Staged():
		return r.Schedule
	case r.X == 0:
		return "layerwise"
	case r.X == r.L-2:
		return "joint"
	}
	return "bfc-" + strconv.Itoa(r.X)
}

// scheduleOrder orders schedule names for legends and categories: the
// most to the least correction, then the references.
func scheduleOrder(a, b string) int {
	rank := func(s string) int {
		switch {
		case s == "joint":
			return 0
		case strings.HasPrefix(s, "bfc-"):
			x, _ := strconv.Atoi(strings.TrimPrefix(s, "bfc-"))
			return 100 - x
		case s == "layerwise":
			return 200
		case s == "lower-only":
			return 300
		case s == "end2end":
			return 400
		}
		return 500
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
}

// bySchedule groups runs by scheduleOf, in scheduleOrder.
func bySchedule(runs []train.Run) ([]string, map[string][]train.Run) {
	groups := map[string][]train.Run{}
	var names []string
	for _, r := range runs {
		s := scheduleOf(r)
		if _, ok := groups[s]; !ok {
			names = append(names, s)
		}
		groups[s] = append(groups[s], r)
	}
	slices.SortFunc(names, scheduleOrder)
	return names, groups
}

// finishedRuns reads the finished train runs of the inputs (an error if
// there are none) and their depths, ascending.
func finishedRuns(env kit.Env) ([]train.Run, []int, error) {
	runs, err := train.FinalRuns(env.Inputs())
	if err != nil {
		return nil, nil, err
	}
	if len(runs) == 0 {
		return nil, nil, fmt.Errorf("needs finished train inputs (not only checkpoints), have %d inputs", len(env.Inputs()))
	}
	var Ls []int
	for _, r := range runs {
		if !slices.Contains(Ls, r.L) {
			Ls = append(Ls, r.L)
		}
	}
	slices.Sort(Ls)
	return runs, Ls, nil
}

// trainRunsOfOneDepth reads the train inputs and keeps those of depth L
// (option "L"; by default the inputs must all have one depth).
func trainRunsOfOneDepth(env kit.Env, opts kit.Params) ([]train.Run, error) {
	runs, Ls, err := finishedRuns(env)
	if err != nil {
		return nil, err
	}
	L := Ls[0]
	if v := opts.Int("L"); v != 0 {
		L = v
	} else if len(Ls) > 1 {
		return nil, fmt.Errorf("train inputs of depths %v: choose one with the option L=...", Ls)
	}
	out := atDepth(runs, L)
	if len(out) == 0 {
		return nil, fmt.Errorf("no train input of depth L = %d (have %v)", L, Ls)
	}
	return out, nil
}

// maxSeeds is the largest number of runs of one group.
func maxSeeds[K comparable](groups map[K][]train.Run) int {
	n := 0
	for _, g := range groups {
		n = max(n, len(g))
	}
	return n
}

// trainSetup describes the training configuration of a run for a caption.
func trainSetup(r train.Run) string {
	c := r.Config()
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', 3, 64) }
	return fmt.Sprintf("Learner (docs/science.md#learner): m = %d, λ_KW = %s, %s with lr %s (%s per stage), batch %d, weight decay %s; "+
		"n_train = %d; %d epochs of layer 2 alone, then %d per later stage (ours).",
		c.M, g(c.LambdaKW), c.Optimizer, g(c.LR), c.LRSchedule, c.Batch, g(c.WeightDecay),
		r.NTrain, r.EpochsFirst, c.EpochsPerStage)
}

// history is the per-epoch record of one run.
type history struct {
	run    train.Run
	epoch  []float64
	stage  []int
	epochs []trainer.Epoch
}

// metric is a per-epoch number of a history.
type metric func(e trainer.Epoch) float64

func testErr(e trainer.Epoch) float64 { return e.TestRelErr }

func epsOf(l int) metric { return func(e trainer.Epoch) float64 { return e.Eps[l] } }

// readHistory reads the history of a run.
func readHistory(r train.Run) (*history, error) {
	eps, err := train.ReadHistory(r.Input)
	if err != nil {
		return nil, err
	}
	h := &history{run: r, epochs: eps, epoch: make([]float64, len(eps)), stage: make([]int, len(eps))}
	for i, e := range eps {
		h.epoch[i], h.stage[i] = float64(e.Epoch), e.Stage
	}
	return h, nil
}

// firstStageLen is the number of leading epochs in the first stage.
func (h *history) firstStageLen() int {
	n := 0
	for n < len(h.stage) && h.stage[n] == h.stage[0] {
		n++
	}
	return n
}

// switches returns the last epoch of every stage but the last, with the
// stage that follows it.
func (h *history) switches() (epochs []float64, next []int) {
	for i := 1; i < len(h.stage); i++ {
		if h.stage[i] != h.stage[i-1] {
			epochs, next = append(epochs, h.epoch[i-1]), append(next, h.stage[i])
		}
	}
	return epochs, next
}

// medianCurve returns, for every epoch in [from, to] that some history
// has, the median and min-max over the histories of the metric.
func medianCurve(hs []*history, col metric, from, to float64) Series {
	vals := map[float64][]float64{}
	var epochs []float64
	for _, h := range hs {
		for i, e := range h.epoch {
			if e < from || e > to {
				continue
			}
			if _, ok := vals[e]; !ok {
				epochs = append(epochs, e)
			}
			vals[e] = append(vals[e], col(h.epochs[i]))
		}
	}
	slices.Sort(epochs)
	var s Series
	for _, e := range epochs {
		med, lo, hi := spread(vals[e])
		s.X, s.Y, s.Lo, s.Hi = append(s.X, e), append(s.Y, med), append(s.Lo, lo), append(s.Hi, hi)
	}
	s.Lo, s.Hi = bandOrNil(s.Lo, s.Hi)
	return s
}

// sharedFirstStage reports whether every staged run of a replicate has
// exactly the same first stage (they continue one checkpoint), and
// returns its length in epochs.
func sharedFirstStage(hs []*history, cols []metric) (int, bool) {
	n := -1
	for i, a := range hs {
		if !a.run.Staged() && a.run.Schedule != "lower-only" {
			continue
		}
		k := a.firstStageLen()
		if n >= 0 && k != n {
			return 0, false
		}
		n = k
		for _, b := range hs[i+1:] {
			if b.run.Replicate != a.run.Replicate || (!b.run.Staged() && b.run.Schedule != "lower-only") {
				continue
			}
			if len(b.epochs) < n || len(a.epochs) < n {
				return 0, false
			}
			for _, c := range cols {
				for i := range n {
					if c(a.epochs[i]) != c(b.epochs[i]) {
						return 0, false
					}
				}
			}
		}
	}
	return n, n > 0
}

// e1FeatureError plots eps_2, eps_3 and the test error against the epoch
// for every schedule (median over seeds, min-max band), with the shared
// stage 2 drawn once and a marker where each higher layer switches on.
func e1FeatureError(env kit.Env, opts kit.Params) (*Spec, error) {
	runs, err := trainRunsOfOneDepth(env, opts)
	if err != nil {
		return nil, err
	}
	L := runs[0].L
	cols := []metric{testErr}
	for l := 2; l <= L; l++ {
		cols = append(cols, epsOf(l))
	}
	names, groups := bySchedule(runs)
	hists := map[string][]*history{}
	var all []*history
	for _, s := range names {
		for _, r := range groups[s] {
			h, err := readHistory(r)
			if err != nil {
				return nil, err
			}
			hists[s] = append(hists[s], h)
			all = append(all, h)
		}
	}
	first, shared := sharedFirstStage(all, cols)
	// Where the higher layers switch on: from any staged run.
	var markers []Marker
	for _, h := range all {
		if h.run.Staged() {
			eps, next := h.switches()
			for i, e := range eps {
				markers = append(markers, Marker{X: e, Label: fmt.Sprintf("layer %d switched on", next[i])})
			}
			break
		}
	}
	type panelDef struct {
		col           metric
		title, ylabel string
		layer         int // the layer the metric describes; 0 for the test error
	}
	defs := []panelDef{{epsOf(2), "layer 2: feature error ε₂", "ε₂ (log scale)", 2}}
	for l := 3; l <= L; l++ {
		defs = append(defs, panelDef{epsOf(l), fmt.Sprintf("layer %d: feature error ε%s", l, subscript(l)),
			fmt.Sprintf("ε%s (log scale)", subscript(l)), l})
	}
	defs = append(defs, panelDef{testErr, "test error", "test MSE / Var(y) (log scale)", 0})
	spec := &Spec{Title: fmt.Sprintf("E1: backward feature correction at L = %d — feature errors and test error during training", L),
		Cols: min(len(defs), 3)}
	lastEpoch := 0.0
	for _, h := range all {
		lastEpoch = max(lastEpoch, h.epoch[len(h.epoch)-1])
	}
	for pi, d := range defs {
		p := Panel{Title: d.title, X: Axis{Label: "epoch"}, Y: Axis{Label: d.ylabel, Scale: Log}, Markers: markers}
		if pi == 0 {
			p.Series = reserveColours()
		}
		// Layer l >= 3 is inactive during the first stage: its eps_l
		// is that of the initial features, not drawn.
		drawShared := shared && d.layer <= 2
		if drawShared {
			var staged []*history
			for _, h := range all {
				if h.run.Staged() || h.run.Schedule == "lower-only" {
					staged = append(staged, h)
				}
			}
			s := medianCurve(dedupeReplicates(staged), d.col, 1, float64(first))
			s.Name, s.Reference, s.Style = "layer 2 alone (shared stage 2)", true, Line
			p.Series = append(p.Series, s)
		}
		for _, name := range names {
			from := 1.0
			if shared && groups[name][0].Schedule != "end2end" {
				from = float64(first) // join the shared curve at the switch
			}
			if d.layer > 2 && name == "lower-only" {
				continue // layer l > 2 is never switched on
			}
			s := medianCurve(hists[name], d.col, from, lastEpoch)
			s.Name, s.Group, s.Style = name, name, Line
			s.Dashed = name == "end2end" || name == "lower-only"
			p.Series = append(p.Series, s)
		}
		spec.Panels = append(spec.Panels, p)
	}
	spec.Notes = e1Notes(runs, names, hists, first, shared, maxSeeds(groups))
	return spec, nil
}

// dedupeReplicates keeps one history per replicate.
func dedupeReplicates(hs []*history) []*history {
	var out []*history
	var seen []string
	for _, h := range hs {
		if !slices.Contains(seen, h.run.Replicate) {
			seen = append(seen, h.run.Replicate)
			out = append(out, h)
		}
	}
	return out
}

// e1Notes writes the caption of E1, including the median eps_2 at the
// switch and at the end for each schedule.
func e1Notes(runs []train.Run, names []string, hists map[string][]*history, first int, shared bool, seeds int) []string {
	notes := []string{
		fmt.Sprintf("Lines: median over seeds (up to %d; each seed is its own target network and training run); bands: min–max over seeds. "+
			"ε_l = min over orthogonal U of E||U S_l − S*_l||² / E||S*_l||² on the test set (the learner can only recover S*_l up to a rotation).", seeds),
	}
	var what []string
	for _, n := range names {
		switch {
		case n == "joint":
			what = append(what, "joint: every switched-on layer keeps training (the paper's algorithm)")
		case n == "layerwise":
			what = append(what, "layerwise: only the newest layer trains, the layers below are frozen")
		case n == "lower-only":
			what = append(what, "lower-only (control): layer 2 keeps training alone for the same epochs and no higher layer is switched on")
		case n == "end2end":
			what = append(what, "end2end (reference): all layers train from the first epoch for the same total number of epochs")
		case strings.HasPrefix(n, "bfc-"):
			what = append(what, n+": the "+strings.TrimPrefix(n, "bfc-")+" layer(s) below the newest keep training")
		}
	}
	s := strings.Join(what, "; ") + "."
	if shared {
		s = fmt.Sprintf("All staged schedules continue one shared run of layer 2 alone (grey, epochs 1–%d), so they differ only after the switch. ", first) + s
	}
	notes = append(notes, s)
	// The numbers behind the contrast.
	var parts []string
	for _, n := range names {
		if hs := hists[n]; len(hs) > 0 {
			var sw, fin []float64
			for _, h := range hs {
				fin = append(fin, h.run.Eps[2])
				sw = append(sw, h.run.EpsSwitch[2])
			}
			ms, mf := metrics.Median(sw), metrics.Median(fin)
			parts = append(parts, fmt.Sprintf("%s %s → %s (×%s)", n, fmtNum(ms), fmtNum(mf), fmtNum(mf/ms)))
		}
	}
	notes = append(notes, "Median ε₂ when layer 3 switches on (end2end: at the same epoch) → at the end: "+strings.Join(parts, "; ")+".")
	notes = append(notes, trainSetup(runs[0]))
	return notes
}

// subscript writes a small non-negative integer with Unicode subscript
// digits.
func subscript(n int) string {
	var b strings.Builder
	for _, c := range strconv.Itoa(n) {
		b.WriteRune('₀' + (c - '0'))
	}
	return b.String()
}

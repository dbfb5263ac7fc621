package paper

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/bfc-repro/bfc/stages/kinds/classify"
	"github.com/bfc-repro/bfc/stages/kinds/figure"
	"github.com/bfc-repro/bfc/stages/kinds/nstarfit"
	"github.com/bfc-repro/bfc/stages/kinds/spectrum"
	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
	"github.com/bfc-repro/bfc/stages/lib/schedule"

	"github.com/bfc-repro/bfc/stages/kit"
)

// trainRun is one gathered "train" point.
type trainRun struct {
	in        kit.Input
	sum       *table
	exp       string // E1, E3, E4, or "" (not placed)
	schedule  string
	x         int // depth of the correction: layerwise 0, joint L-2, bfc-x min(x, L-2); -1 otherwise
	L         int
	final     bool // not a checkpoint
	replicate string
	seed      string
}

// classRun is one gathered "classify" point (E8).
type classRun struct {
	in       kit.Input
	sum      *table
	schedule string
	x        int // blocks below the newest that keep training: layerwise 0, joint L-1; -1 otherwise
	L        int
	seed     string
}

// targetPt is one gathered "target" point.
type targetPt struct {
	in     kit.Input
	sum    *table
	layers *table
	L      int
	gap    float64
}

// strOf and numOf read one summary cell as Go values (for grouping; the
// numbers of the report are read again as cells).
func (rd *reader) strOf(t *table, col string) string { return rd.cell(t, 0, col).Str }

func (rd *reader) intOf(t *table, col string) int {
	c := rd.cell(t, 0, col)
	if math.IsNaN(c.Num) {
		return 0
	}
	return int(c.Num)
}

// readInputs reads the summaries of every gathered input and places the
// runs in their experiments.
func (bd *builder) readInputs() error {
	rd := &bd.rd
	seen := map[string]bool{}
	for _, in := range bd.env.Inputs() {
		if seen[in.Key()] {
			continue // the same point gathered through two stages
		}
		seen[in.Key()] = true
		switch in.Kind() {
		case "target":
			sum, err := bd.open(in, target.SummaryDesc)
			if err != nil {
				return err
			}
			layers, err := bd.open(in, target.LayersDesc)
			if err != nil {
				return err
			}
			bd.targets = append(bd.targets, &targetPt{in: in, sum: sum, layers: layers, L: rd.intOf(sum, target.ColL),
				gap: rd.cell(sum, 0, target.ColGap).Num})
		case "train":
			sum, err := bd.keep(in, train.OpenSummary)
			if err != nil {
				return err
			}
			r := &trainRun{in: in, sum: sum, schedule: rd.strOf(sum, train.ColSchedule), L: rd.intOf(sum, train.ColL),
				replicate: rd.strOf(sum, train.ColTargetKey), seed: in.Labels()["seed"]}
			last := rd.intOf(sum, train.ColLastStage)
			r.final = last == 0 || last >= r.L
			r.x = schedule.Correction(r.schedule, rd.intOf(sum, train.ColX), 2, r.L)
			_, hasGap := in.Labels()["gap"]
			switch {
			case hasGap:
				r.exp = "E4"
			case r.L == bd.e1Depth:
				r.exp = "E1"
			case r.L == bd.e3Depth:
				r.exp = "E3"
			}
			bd.runs = append(bd.runs, r)
		case "classify":
			sum, err := bd.open(in, classify.SummaryDesc)
			if err != nil {
				return err
			}
			r := &classRun{in: in, sum: sum, schedule: rd.strOf(sum, classify.ColSchedule), L: rd.intOf(sum, classify.ColL), seed: in.Labels()["seed"]}
			if last := rd.intOf(sum, classify.ColLastStage); last != 0 && last < r.L {
				continue // a stage-1 checkpoint
			}
			r.x = schedule.Correction(r.schedule, rd.intOf(sum, classify.ColX), 1, r.L)
			bd.class = append(bd.class, r)
		case "spectrum":
			sum, err := bd.open(in, spectrum.SummaryDesc)
			if err != nil {
				return err
			}
			bd.spectra = append(bd.spectra, sum)
		case "nstarfit":
			fits, err := bd.open(in, nstarfit.FitsDesc)
			if err != nil {
				return err
			}
			points, err := bd.open(in, nstarfit.PointsDesc)
			if err != nil {
				return err
			}
			bd.nstar = &nstarSet{fits: fits, points: points}
		case "scaling", "collect":
			if in.Kind() == "scaling" {
				bd.scalings = append(bd.scalings, in)
			} else {
				bd.collects = append(bd.collects, in)
			}
		case "figure":
			name := figure.FileStem(in.Params())
			if !slices.Contains(bd.figs, name) {
				bd.figs = append(bd.figs, name)
			}
		}
		if rd.err != nil {
			return rd.err
		}
	}
	slices.SortFunc(bd.runs, func(a, b *trainRun) int {
		return cmp.Or(cmp.Compare(a.exp, b.exp), cmp.Compare(a.L, b.L), cmp.Compare(schedule.Rank(a.schedule), schedule.Rank(b.schedule)),
			cmp.Compare(a.x, b.x), metrics.CompareSeeds(a.seed, b.seed), cmp.Compare(a.replicate, b.replicate))
	})
	slices.SortFunc(bd.class, func(a, b *classRun) int {
		return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(a.x, b.x), cmp.Compare(schedule.Rank(a.schedule), schedule.Rank(b.schedule)),
			metrics.CompareSeeds(a.seed, b.seed))
	})
	slices.SortFunc(bd.targets, func(a, b *targetPt) int {
		return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(a.gap, b.gap), metrics.CompareSeeds(a.in.Labels()["seed"], b.in.Labels()["seed"]),
			cmp.Compare(a.in.Key(), b.in.Key()))
	})
	slices.Sort(bd.figs)
	return nil
}

// open reads table d of an input; it is released with the builder.
func (bd *builder) open(in kit.Input, d kit.TableDesc) (*table, error) {
	t, err := readTable(in, d)
	if err != nil {
		return nil, err
	}
	bd.open_ = append(bd.open_, t)
	return t, nil
}

// keep is open for a table read by its producer's reader (read).
func (bd *builder) keep(in kit.Input, read func(kit.Input) (*kit.Rows, error)) (*table, error) {
	r, err := read(in)
	if err != nil {
		return nil, err
	}
	t := &table{in: in, r: r}
	bd.open_ = append(bd.open_, t)
	return t, nil
}

// finals returns the finished runs of an experiment with a schedule (and,
// for staged schedules, a correction depth x; pass -2 for any).
func (bd *builder) finals(exp, schedule string, x int) []*trainRun {
	var out []*trainRun
	for _, r := range bd.runs {
		if r.exp == exp && r.final && (schedule == "" || r.schedule == schedule) && (x == -2 || r.x == x) {
			out = append(out, r)
		}
	}
	return out
}

// staged returns the finished runs of exp whose correction depth is x
// (whatever schedule name reached it: joint, layerwise or bfc-x).
func (bd *builder) staged(exp string, x int) []*trainRun {
	var out []*trainRun
	for _, r := range bd.runs {
		if r.exp == exp && r.final && r.x == x {
			out = append(out, r)
		}
	}
	return out
}

// checkpoints returns the stage-2 checkpoints of exp.
func (bd *builder) checkpoints(exp string) []*trainRun {
	var out []*trainRun
	for _, r := range bd.runs {
		if r.exp == exp && !r.final {
			out = append(out, r)
		}
	}
	return out
}

// pair aligns runs of two groups by replicate (the target they were
// trained on), keeping the order of a; runs without a partner are dropped.
func pair(a, b []*trainRun) (pa, pb []*trainRun) {
	for _, r := range a {
		if i := slices.IndexFunc(b, func(q *trainRun) bool { return q.replicate == r.replicate }); i >= 0 {
			if slices.ContainsFunc(pa, func(q *trainRun) bool { return q.replicate == r.replicate }) {
				continue
			}
			pa, pb = append(pa, r), append(pb, b[i])
		}
	}
	return pa, pb
}

// summaryCells returns column col of the runs' summaries.
func (rd *reader) summaryCells(runs []*trainRun, col string) []Cell {
	out := make([]Cell, len(runs))
	for i, r := range runs {
		out[i] = rd.cell(r.sum, 0, col)
	}
	return out
}

// interleave returns a0, b0, a1, b1, ... (the pairs of a paired operation).
func interleave(a, b []Cell) []Cell {
	out := make([]Cell, 0, 2*len(a))
	for i := range a {
		out = append(out, a[i], b[i])
	}
	return out
}

// classAt returns the finished classify runs of depth L at correction x
// (or, with schedule set, of that unstaged schedule), by seed.
func (bd *builder) classAt(L, x int, schedule string) map[string]*classRun {
	out := map[string]*classRun{}
	for _, r := range bd.class {
		if r.L != L || (schedule != "" && r.schedule != schedule) || (schedule == "" && r.x != x) {
			continue
		}
		if _, dup := out[r.seed]; !dup {
			out[r.seed] = r
		}
	}
	return out
}

// accCells returns the test accuracies of the runs of m for seeds.
func (rd *reader) accCells(m map[string]*classRun, seeds []string, col string) []Cell {
	out := make([]Cell, len(seeds))
	for i, s := range seeds {
		out[i] = rd.cell(m[s].sum, 0, col)
	}
	return out
}

// uniformParam returns the cell of parameter name of the first input, and
// an error if another input has a different value: the report describes
// one setting per experiment.
func (rd *reader) uniformParam(what string, ins []kit.Input, name string) Cell {
	if len(ins) == 0 {
		rd.fail(fmt.Errorf("%s: no inputs to read parameter %s from", what, name))
		return Cell{Num: math.NaN()}
	}
	first := rd.param(ins[0], name)
	for _, in := range ins[1:] {
		c := rd.param(in, name)
		if c.IsText != first.IsText || c.Str != first.Str || (!c.IsText && c.Num != first.Num) {
			rd.fail(fmt.Errorf("%s: parameter %s differs between %s (%s) and %s (%s); the report describes one setting per experiment",
				what, name, shortKey(ins[0].Key()), first, shortKey(in.Key()), c))
		}
	}
	return first
}

func inputsOf[T any](xs []T, in func(T) kit.Input) []kit.Input {
	out := make([]kit.Input, len(xs))
	for i, x := range xs {
		out[i] = in(x)
	}
	return out
}

func runInput(r *trainRun) kit.Input    { return r.in }
func classInput(r *classRun) kit.Input  { return r.in }
func targetInput(t *targetPt) kit.Input { return t.in }

package train

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
	"github.com/bfc-repro/bfc/stages/lib/schedule"
	"github.com/bfc-repro/bfc/stages/lib/trainer"
)

// Run is what the claims table, the figures and the report need of one
// "train" stage point: its schedule, its configuration and the headline
// numbers of its summary table. Runs reads them, so that every consumer
// places a run the same way (schedule, depth of the correction x, seed).
type Run struct {
	Input    kit.Input
	Schedule string // as trained: joint, layerwise, bfc-x, lower-only, end2end
	// X is the depth of the correction: how many layers below the newest
	// keep training. layerwise is 0, joint is L-2, bfc-x is min(x, L-2);
	// lower-only and end2end, which are not staged that way, have -1.
	X int
	L int
	// Final is false for a checkpoint (last_stage < L, such as the shared
	// stage-2 runs): its history is the first part of every run continued
	// from it.
	Final bool
	// Gap is the value of the point's "gap" label (a sweep over the
	// information gap gamma, E4); NaN when the point has no such label.
	Gap float64
	// Replicate identifies the target sample the run was trained on (the
	// target stage key): runs with the same Replicate share the data and,
	// when they continue one checkpoint, everything before the switch, so
	// they are compared pairwise.
	Replicate string
	// Seed is the point's "seed" label ("" without one), for display.
	Seed           string
	NTrain, Epochs int
	EpochsFirst    int
	// Final and at-the-switch (after the first stage) test relative error
	// and feature errors; Eps[l] and EpsSwitch[l] for l = 2..L.
	TestRelErr, TestRelErrSwitch float64
	Eps, EpsSwitch               []float64
}

// Config is the run's configuration as its parameters give it.
func (r Run) Config() trainer.Config { return ConfigOf(r.Input.Params()) }

// Label returns the seed label, or a short form of the replicate id.
func (r Run) Label() string {
	if r.Seed != "" {
		return r.Seed
	}
	return r.Replicate[:min(12, len(r.Replicate))]
}

// Staged reports whether the run follows a bfc-x-like staging (joint,
// layerwise or bfc-x), so that X is meaningful.
func (r Run) Staged() bool { return r.X >= 0 }

// Runs reads the summary of every "train" input among ins and returns
// the runs, checkpoints included (Final false), sorted by L, gap,
// schedule, X and replicate (seed).
func Runs(ins []kit.Input) ([]Run, error) {
	var runs []Run
	for _, in := range ins {
		if in.Kind() != "train" {
			continue
		}
		r, err := readRun(in)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b Run) int {
		return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(a.Gap, b.Gap),
			cmp.Compare(schedule.Rank(a.Schedule), schedule.Rank(b.Schedule)), cmp.Compare(a.X, b.X),
			metrics.CompareSeeds(a.Seed, b.Seed), cmp.Compare(a.Replicate, b.Replicate))
	})
	return runs, nil
}

// FinalRuns is Runs without the checkpoints.
func FinalRuns(ins []kit.Input) ([]Run, error) {
	runs, err := Runs(ins)
	return slices.DeleteFunc(runs, func(r Run) bool { return !r.Final }), err
}

// readRun reads one train input's summary.
func readRun(in kit.Input) (Run, error) {
	r := Run{Input: in, Gap: math.NaN()}
	err := readRows(in, SummaryDesc, func(t *kit.Rows, L int) error {
		if err := t.One(); err != nil {
			return err
		}
		str := func(c string) string { return t.Strings(c)[0] }
		num := func(c string) float64 { return t.Float64s(c)[0] }
		one := func(c string) int { return t.Ints(c)[0] }
		r.Schedule, r.L, r.Replicate = str(ColSchedule), one(ColL), str(ColTargetKey)
		r.NTrain, r.Epochs, r.EpochsFirst = one(ColNTrainUsed), one(ColEpochs), one(ColEpochsFirst)
		r.TestRelErr, r.TestRelErrSwitch = num(ColTestRelErr), num(ColTestRelErrSwitch)
		if r.L != L {
			return fmt.Errorf("L = %d but %d layer columns", r.L, L)
		}
		r.X = schedule.Correction(r.Schedule, one(ColX), 2, r.L)
		last := one(ColLastStage)
		r.Final = last == 0 || last >= r.L
		r.Eps, r.EpsSwitch = make([]float64, r.L+1), make([]float64, r.L+1)
		for l := 2; l <= r.L; l++ {
			r.Eps[l], r.EpsSwitch[l] = num(ColEps(l)), num(ColEpsSwitch(l))
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	labels := in.Labels()
	r.Seed = labels["seed"]
	if g, has := labels["gap"]; has {
		if r.Gap, err = strconv.ParseFloat(g, 64); err != nil {
			return r, fmt.Errorf("train %s: label gap=%q: %w", in.Key(), g, err)
		}
	}
	return r, nil
}

package claims

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/bfc-repro/bfc/stages/lib/metrics"
	sched "github.com/bfc-repro/bfc/stages/lib/schedule"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
)

// Run is what the claims table and the E1-E4 figures need of one finished
// "train" stage point: its schedule and the headline numbers of its
// summary table.
type Run struct {
	Input    kit.Input
	Schedule string // as trained: joint, layerwise, bfc-x, lower-only, end2end
	// X is the depth of the correction: how many layers below the newest
	// keep training. layerwise is 0, joint is L-2, bfc-x is min(x, L-2);
	// lower-only and end2end, which are not staged that way, have -1.
	X int
	L int
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

// effectiveX maps a schedule to the depth of its correction.
func effectiveX(schedule string, x, L int) int {
	switch schedule {
	case "joint":
		return L - 2
	case "layerwise":
		return 0
	case "bfc-x":
		return min(x, L-2)
	}
	return -1
}

// TrainRuns reads the summary of every "train" input of env and returns
// the finished runs, sorted by L, gap, schedule, X and replicate (seed).
// Checkpoints (last_stage < L, such as the shared stage-2 runs) are
// skipped: their histories are the first part of every run continued from
// them.
func TrainRuns(env kit.Env) ([]Run, error) {
	var runs []Run
	for _, in := range kit.InputsOfKind(env, "train") {
		r, ok, err := readRun(in)
		if err != nil {
			return nil, err
		}
		if ok {
			runs = append(runs, r)
		}
	}
	slices.SortFunc(runs, func(a, b Run) int {
		return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(a.Gap, b.Gap),
			cmp.Compare(sched.Rank(a.Schedule), sched.Rank(b.Schedule)), cmp.Compare(a.X, b.X),
			metrics.CompareSeeds(a.Seed, b.Seed), cmp.Compare(a.Replicate, b.Replicate))
	})
	return runs, nil
}

// readRun reads one train input's summary; ok is false for a checkpoint.
func readRun(in kit.Input) (r Run, ok bool, err error) {
	rec, err := in.Read("summary")
	if err != nil {
		return r, false, fmt.Errorf("train %s: %w", in.Key(), err)
	}
	defer rec.Release()
	if rec.NumRows() != 1 {
		return r, false, fmt.Errorf("train %s: summary has %d rows, want 1", in.Key(), rec.NumRows())
	}
	s := summaryReader{rec: rec}
	r = Run{Input: in, Schedule: s.str("schedule"), L: s.int("L"), Replicate: s.str("target_key"),
		NTrain: s.int("n_train_used"), Epochs: s.int("epochs"), EpochsFirst: s.int("epochs_first"),
		TestRelErr: s.float("test_rel_err"), TestRelErrSwitch: s.float("test_rel_err_switch"), Gap: math.NaN()}
	last := s.int("last_stage")
	r.X = effectiveX(r.Schedule, s.int("x"), r.L)
	if s.err == nil && r.L < 2 {
		s.err = fmt.Errorf("L = %d < 2", r.L)
	}
	if s.err == nil {
		r.Eps, r.EpsSwitch = make([]float64, r.L+1), make([]float64, r.L+1)
		for l := 2; l <= r.L; l++ {
			r.Eps[l] = s.float(fmt.Sprintf("eps_%d", l))
			r.EpsSwitch[l] = s.float(fmt.Sprintf("eps_%d_switch", l))
		}
	}
	if s.err != nil {
		return r, false, fmt.Errorf("train %s: summary: %w", in.Key(), s.err)
	}
	labels := in.Labels()
	r.Seed = labels["seed"]
	if g, has := labels["gap"]; has {
		if r.Gap, err = strconv.ParseFloat(g, 64); err != nil {
			return r, false, fmt.Errorf("train %s: label gap=%q: %w", in.Key(), g, err)
		}
	}
	return r, last == 0 || last >= r.L, nil
}

// summaryReader reads one-row columns, keeping the first error.
type summaryReader struct {
	rec arrow.Record
	err error
}

func (s *summaryReader) float(col string) float64 {
	v, err := kit.ReadFloat64s(s.rec, col)
	if err != nil {
		s.err = cmp.Or(s.err, err)
		return math.NaN()
	}
	return v[0]
}

func (s *summaryReader) int(col string) int {
	v, err := kit.ReadInt64s(s.rec, col)
	if err != nil {
		s.err = cmp.Or(s.err, err)
		return 0
	}
	return int(v[0])
}

func (s *summaryReader) str(col string) string {
	v, err := kit.ReadStrings(s.rec, col)
	if err != nil {
		s.err = cmp.Or(s.err, err)
		return ""
	}
	return v[0]
}

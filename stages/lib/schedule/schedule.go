// Package schedule turns a training schedule of docs/science.md#schedules into a list
// of phases: which layers are switched on (active: they contribute to the
// output) and which of them are trained, for how many epochs.
//
// Layers are numbered First..Last (First = 2 for the bfc learner, whose
// layers 0 and 1 are fixed). Stage s switches layer s on; the first stage
// runs EpochsFirst epochs (long enough for the first layer to level off),
// every later stage EpochsPerStage epochs. At stage s:
//
//	joint       active First..s, trainable First..s (the paper's algorithm)
//	layerwise   active First..s, trainable s only (lower layers frozen)
//	bfc-x       active First..s, trainable max(First, s-X)..s
//	            (X = 0 is layerwise, X >= Last-First is joint)
//	lower-only  active First, trainable First: the control in which the first
//	            layer keeps training alone for the same epochs and no higher
//	            layer is ever switched on (phases keep the stage numbers so
//	            that epochs line up with the other schedules)
//	end2end     one phase: every layer active and trained from the first
//	            step for the total number of epochs (no staging)
//
// Every schedule except end2end shares its first phase, so all of them can
// continue from one checkpoint of the first stage (see IsPrefix).
package schedule

import (
	"fmt"
	"slices"
)

// Schedule names.
const (
	Joint     = "joint"
	Layerwise = "layerwise"
	BFCX      = "bfc-x"
	LowerOnly = "lower-only"
	End2End   = "end2end"
)

// Names lists the schedules in a fixed order.
func Names() []string { return []string{Joint, Layerwise, BFCX, End2End, LowerOnly} }

// Spec describes a training schedule.
type Spec struct {
	Name           string // one of Names()
	X              int    // bfc-x: how many layers below the newest keep training
	First, Last    int    // the layers First..Last, First <= Last
	EpochsFirst    int    // epochs of the first stage (>= 1)
	EpochsPerStage int    // epochs of every later stage (>= 1)
}

// Phase is a run of epochs with a fixed set of active and trainable layers.
type Phase struct {
	Stage     int   // the stage: the newest layer switched on (for lower-only, the stage it runs alongside)
	Start     int   // first epoch of the phase, counted from 0 at the start of training
	Epochs    int   // number of epochs
	Active    []int // layers that contribute to the output, ascending
	Trainable []int // layers whose parameters are updated, ascending, a subset of Active
}

// End returns the epoch after the last epoch of p.
func (p Phase) End() int { return p.Start + p.Epochs }

// Equal reports whether p and q describe the same phase.
func (p Phase) Equal(q Phase) bool {
	return p.Stage == q.Stage && p.Start == q.Start && p.Epochs == q.Epochs &&
		slices.Equal(p.Active, q.Active) && slices.Equal(p.Trainable, q.Trainable)
}

// Validate reports an invalid spec.
func (s Spec) Validate() error {
	if !slices.Contains(Names(), s.Name) {
		return fmt.Errorf("schedule: unknown schedule %q (want one of %v)", s.Name, Names())
	}
	if s.First > s.Last {
		return fmt.Errorf("schedule: first layer %d after last layer %d", s.First, s.Last)
	}
	if s.X < 0 {
		return fmt.Errorf("schedule: x = %d < 0", s.X)
	}
	if s.EpochsFirst < 1 || s.EpochsPerStage < 1 {
		return fmt.Errorf("schedule: epochs of the first stage (%d) and per stage (%d) must be >= 1", s.EpochsFirst, s.EpochsPerStage)
	}
	return nil
}

func span(lo, hi int) []int {
	out := make([]int, 0, hi-lo+1)
	for l := lo; l <= hi; l++ {
		out = append(out, l)
	}
	return out
}

// Plan returns the phases of s in order; consecutive phases are contiguous
// and the first starts at epoch 0.
func Plan(s Spec) ([]Phase, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Name == End2End {
		total := s.EpochsFirst + (s.Last-s.First)*s.EpochsPerStage
		all := span(s.First, s.Last)
		return []Phase{{Stage: s.Last, Start: 0, Epochs: total, Active: all, Trainable: slices.Clone(all)}}, nil
	}
	var out []Phase
	start := 0
	for st := s.First; st <= s.Last; st++ {
		p := Phase{Stage: st, Start: start, Epochs: s.EpochsPerStage}
		if st == s.First {
			p.Epochs = s.EpochsFirst
		}
		switch s.Name {
		case Joint:
			p.Active, p.Trainable = span(s.First, st), span(s.First, st)
		case Layerwise:
			p.Active, p.Trainable = span(s.First, st), []int{st}
		case BFCX:
			p.Active, p.Trainable = span(s.First, st), span(max(s.First, st-s.X), st)
		case LowerOnly:
			p.Active, p.Trainable = []int{s.First}, []int{s.First}
		}
		out = append(out, p)
		start += p.Epochs
	}
	return out, nil
}

// Total returns the number of epochs of phases.
func Total(phases []Phase) int {
	if len(phases) == 0 {
		return 0
	}
	return phases[len(phases)-1].End()
}

// At returns the index of the phase that contains epoch, or -1 if no phase does.
func At(phases []Phase, epoch int) int {
	for i, p := range phases {
		if epoch >= p.Start && epoch < p.End() {
			return i
		}
	}
	return -1
}

// IsPrefix reports whether the phases prefix are, phase by phase, the
// beginning of phases: a run trained with prefix can then be continued
// under phases from epoch Total(prefix), with the same result as training
// under phases from the start. The error says where they differ.
func IsPrefix(prefix, phases []Phase) error {
	if len(prefix) > len(phases) {
		return fmt.Errorf("schedule: checkpoint has %d phases, the schedule only %d", len(prefix), len(phases))
	}
	for i, p := range prefix {
		if !p.Equal(phases[i]) {
			return fmt.Errorf("schedule: phase %d differs: checkpoint %s, schedule %s", i, p, phases[i])
		}
	}
	return nil
}

// String formats p as "stage 3 epochs [40,60) active [2 3] trainable [3]".
func (p Phase) String() string {
	return fmt.Sprintf("stage %d epochs [%d,%d) active %v trainable %v", p.Stage, p.Start, p.End(), p.Active, p.Trainable)
}

// Correction maps a schedule to the number of layers below the newest
// that keep training, for a learner whose first trainable layer is
// numbered first and whose last is L: layerwise 0, joint L-first, bfc-x
// min(x, L-first); -1 for schedules that are not staged that way.
func Correction(sched string, x, first, L int) int {
	switch sched {
	case Joint:
		return L - first
	case Layerwise:
		return 0
	case BFCX:
		return min(x, L-first)
	}
	return -1
}

package trainer

import (
	"fmt"
	"math"
)

// Summary holds the headline numbers of a run. "At the switch" means after
// the last epoch of the first stage, when layer 3 is switched on (for
// end2end, which has no stages, after the same number of epochs).
type Summary struct {
	Schedule        string
	X               int
	Epochs          int
	FinalTestRelErr float64
	FinalTrainMSE   float64
	SwitchTestRel   float64   // test relative error at the switch
	Eps             []float64 // Eps[l]: final eps_l
	QErr            []float64 // QErr[l]: final quadratic-form error
	EpsSwitch       []float64 // EpsSwitch[l]: eps_l at the switch
	Eps2Ratio       float64   // final eps_2 / eps_2 at the switch (< 1: eps_2 fell after the switch)
	ClippedFrac     float64   // fraction of steps whose gradient was clipped
}

func summarize(r *Result) Summary {
	h := r.History
	last := h[len(h)-1]
	sw := h[min(r.Config.EpochsFirst, len(h))-1]
	s := Summary{Schedule: r.Config.Schedule, X: r.Config.X, Epochs: len(h), FinalTestRelErr: last.TestRelErr,
		FinalTrainMSE: last.TrainMSE, SwitchTestRel: sw.TestRelErr, Eps: last.Eps, QErr: last.QErr, EpsSwitch: sw.Eps,
		Eps2Ratio: last.Eps[2] / sw.Eps[2]}
	clipped, steps := 0, 0
	for _, e := range h {
		clipped += e.ClippedSteps
	}
	N := r.Data.Train.N
	if r.Config.NTrainUsed > 0 {
		N = r.Config.NTrainUsed
	}
	steps = len(h) * (N / min(r.Config.Batch, N))
	s.ClippedFrac = float64(clipped) / float64(steps)
	return s
}

// String formats the summary on one line for logs.
func (s Summary) String() string {
	eps := ""
	for l := 2; l < len(s.Eps); l++ {
		eps += fmt.Sprintf(" eps%d %.4g", l, s.Eps[l])
	}
	r := s.Eps2Ratio
	if math.IsNaN(r) {
		r = 0
	}
	return fmt.Sprintf("%s x=%d: test %.4g (at switch %.4g)%s, eps2 at switch %.4g (ratio %.3f)",
		s.Schedule, s.X, s.FinalTestRelErr, s.SwitchTestRel, eps, s.EpsSwitch[2], r)
}

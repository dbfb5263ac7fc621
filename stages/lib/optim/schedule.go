package optim

import (
	"fmt"
	"math"
)

// Schedule gives the global learning rate at each step of a run.
//
//	constant: rate = base
//	cosine:   rate = base * (Final + (1-Final) * (1 + cos(pi*t/T)) / 2)
//
// where, after a linear warm-up of Warmup steps (rate base*(s+1)/Warmup at
// warm-up step s), t counts the steps since the warm-up and T is the number
// of steps left after it. Final is the fraction of base reached at the end
// of a cosine schedule (0 decays to zero).
type Schedule struct {
	Kind   string  // "constant" or "cosine"
	Warmup int     // warm-up steps (0: none)
	Final  float64 // cosine: final rate as a fraction of base, in [0, 1]
}

// ScheduleKinds lists the valid Schedule.Kind values.
func ScheduleKinds() []string { return []string{"constant", "cosine"} }

// Validate reports an invalid schedule.
func (s Schedule) Validate() error {
	if s.Kind != "constant" && s.Kind != "cosine" {
		return fmt.Errorf("optim: unknown learning-rate schedule %q (want one of %v)", s.Kind, ScheduleKinds())
	}
	if s.Warmup < 0 {
		return fmt.Errorf("optim: warm-up %d steps < 0", s.Warmup)
	}
	if s.Final < 0 || s.Final > 1 || math.IsNaN(s.Final) {
		return fmt.Errorf("optim: final fraction %v not in [0, 1]", s.Final)
	}
	return nil
}

// Rate returns the learning rate at step (0-based) of a run of total steps
// with base rate base. Steps beyond total keep the final rate.
func (s Schedule) Rate(base float64, step, total int) float64 {
	if step < s.Warmup {
		return base * float64(step+1) / float64(s.Warmup)
	}
	if s.Kind != "cosine" {
		return base
	}
	t, T := step-s.Warmup, total-s.Warmup
	if T <= 0 || t >= T {
		return base * s.Final
	}
	return base * (s.Final + (1-s.Final)*(1+math.Cos(math.Pi*float64(t)/float64(T)))/2)
}

package hermite

import (
	"errors"
	"fmt"
	"math"
)

// Labels are the exact moments of the labels a target stage stores,
//
//	y = Σ_l α_l U_l(x) − c + ε,   ε ~ N(0, noise²),
//
// where the weights are the stored ones (already normalised, so the
// Result comes from Analyze with Options.AsGiven) and c is the
// constant the stage subtracted to centre G*, a Monte Carlo estimate of
// E[Σ_l α_l U_l]. The labels are therefore centred only up to the error
// of that estimate, Mean = E[Σ_l α_l U_l] − c, which the spectrum carries
// as its degree-0 part: E[y²] = Mean² + VarY.
type Labels struct {
	// Mean is E[y] (the centring error), VarG is Var(G*), VarY =
	// VarG + noise² is Var(y).
	Mean, VarG, VarY float64
	// Noise is the standard deviation of ε.
	Noise float64
	// Spectrum[q] is the part of Var(G*) carried by Hermite degree q
	// (q = 1..2^L; element 0 is Mean², the square of the centring error,
	// which is not part of any variance).
	Spectrum []float64
}

// Labels returns the exact moments of the labels for the subtracted
// constant c and the noise level. It needs a complete Result.
func (r *Result) Labels(c, noise float64) (*Labels, error) {
	if !r.Complete {
		return nil, errors.New("hermite labels: the expansion is incomplete (Complete is false)")
	}
	if math.IsNaN(c) || math.IsInf(c, 0) || !(noise >= 0) || math.IsInf(noise, 0) {
		return nil, fmt.Errorf("hermite labels: subtracted constant %v, noise %v", c, noise)
	}
	spec := r.Spectrum()
	lb := &Labels{Mean: r.Mean - c, VarG: r.Var(), Noise: noise, Spectrum: spec}
	lb.VarY = lb.VarG + noise*noise
	spec[0] = lb.Mean * lb.Mean
	return lb, nil
}

// ShareAbove is the share of Var(y) carried by Hermite degrees above q0:
// Σ_{q>q0} Spectrum[q] / VarY. The noise counts in VarY but in no degree.
func (lb *Labels) ShareAbove(q0 int) float64 {
	var hi float64
	for q := q0 + 1; q < len(lb.Spectrum); q++ {
		hi += lb.Spectrum[q]
	}
	return hi / lb.VarY
}

// Shares returns Spectrum[q] / VarY for q = 1..2^L (element 0 is 0).
func (lb *Labels) Shares() []float64 {
	out := make([]float64, len(lb.Spectrum))
	for q := 1; q < len(out); q++ {
		out[q] = lb.Spectrum[q] / lb.VarY
	}
	return out
}

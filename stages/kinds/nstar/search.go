package nstar

import (
	"fmt"
	"math"
)

// Censoring of a search, the values of the result table's censoring column.
const (
	// Bracketed: lo < N* <= hi with both probed, hi/lo <= ratio.
	Bracketed = "none"
	// Left: the error is already <= τ at n_min: N* <= n_min (lo = 0).
	Left = "left"
	// Right: the error stays > τ up to n_max: N* > n_max (hi = +Inf).
	Right = "right"
)

// Phases of a probe in the search.
const (
	PhaseDouble = "double"
	PhaseBisect = "bisect"
)

// Step is one probe of a search.
type Step struct {
	Phase   string
	N       int
	Error   float64
	Reached bool // Error <= τ
}

// Bracket is the outcome of a search: lo < N* <= hi under the declared
// rule (see the package doc), with lo = 0 when τ is reached at n_min and
// hi = +Inf when it is not reached by n_max.
type Bracket struct {
	Lo, Hi    float64
	Censoring string
	Steps     []Step
}

// Mid is the geometric midpoint √(lo·hi) of a bracketed search, NaN when
// censored.
func (b Bracket) Mid() float64 {
	if b.Censoring != Bracketed {
		return math.NaN()
	}
	return math.Sqrt(b.Lo * b.Hi)
}

// GeoMid is the geometric midpoint of lo and hi rounded to the nearest
// integer (ties up): the bisection's next n, a pure function of the
// bracket.
func GeoMid(lo, hi int) int { return int(math.Floor(math.Sqrt(float64(lo)*float64(hi)) + 0.5)) }

// Search finds the bracket of N* = the smallest n with err(n) <= tau by
// the declared rule: n = nMin, 2nMin, 4nMin, ... (the last step capped at
// nMax) until the error is <= tau, which sets hi, the previous n being
// lo; then bisection at the rounded geometric midpoint of [lo, hi],
// moving hi down where the error is <= tau and lo up where it is not,
// until hi/lo <= ratio (or no integer lies strictly between). errAt is
// called once per distinct n, in the order of the returned steps.
func Search(errAt func(n int) (float64, error), tau float64, nMin, nMax int, ratio float64) (Bracket, error) {
	if nMin < 1 || nMax < nMin || !(ratio > 1) || math.IsNaN(tau) {
		return Bracket{}, fmt.Errorf("search: need 1 <= n_min <= n_max and ratio > 1, have n_min %d, n_max %d, ratio %v, tau %v", nMin, nMax, ratio, tau)
	}
	var b Bracket
	probe := func(phase string, n int) (bool, error) {
		e, err := errAt(n)
		if err != nil {
			return false, fmt.Errorf("n = %d: %w", n, err)
		}
		if math.IsNaN(e) {
			return false, fmt.Errorf("n = %d: the error is NaN", n)
		}
		ok := e <= tau
		b.Steps = append(b.Steps, Step{Phase: phase, N: n, Error: e, Reached: ok})
		return ok, nil
	}
	lo, n := 0, nMin
	for {
		ok, err := probe(PhaseDouble, n)
		if err != nil {
			return b, err
		}
		if ok {
			break
		}
		if n == nMax {
			b.Lo, b.Hi, b.Censoring = float64(nMax), math.Inf(1), Right
			return b, nil
		}
		lo, n = n, min(2*n, nMax)
	}
	if lo == 0 {
		b.Lo, b.Hi, b.Censoring = 0, float64(n), Left
		return b, nil
	}
	hi := n
	for float64(hi) > ratio*float64(lo) {
		m := GeoMid(lo, hi)
		if m <= lo || m >= hi {
			break
		}
		ok, err := probe(PhaseBisect, m)
		if err != nil {
			return b, err
		}
		if ok {
			hi = m
		} else {
			lo = m
		}
	}
	b.Lo, b.Hi, b.Censoring = float64(lo), float64(hi), Bracketed
	return b, nil
}

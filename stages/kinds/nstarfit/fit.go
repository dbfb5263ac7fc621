package nstarfit

import (
	"math"

	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
)

// Obs is one censored observation of N* at dimension D: Lo < N* <= Hi,
// with Lo = 0 (left-censored) or Hi = +Inf (right-censored) for bounds.
type Obs struct {
	D      float64
	Lo, Hi float64
}

// Line is a fit log N* = A + B·log d with residual scale Sigma.
type Line struct {
	A, B, Sigma float64
	// LogLik is the maximised log-likelihood (NaN for a failed fit).
	LogLik float64
}

// SigmaFloor is the smallest residual scale (on log N*) the fit allows:
// with brackets and no scatter the likelihood grows without bound as
// σ → 0, so σ is kept at or above 1%, far below the brackets' own width
// (log 1.25 = 0.22) and the scatter between seeds.
const SigmaFloor = 0.01

// logPhiDiff returns log(Φ(b) − Φ(a)) for a < b, accurately in both tails.
func logPhiDiff(a, b float64) float64 {
	var p float64
	if a > 0 { // both in the upper tail: Φc(a) − Φc(b)
		p = 0.5*math.Erfc(a/math.Sqrt2) - 0.5*math.Erfc(b/math.Sqrt2)
	} else {
		p = 0.5*math.Erfc(-b/math.Sqrt2) - 0.5*math.Erfc(-a/math.Sqrt2)
	}
	if !(p > 1e-300) {
		p = 1e-300
	}
	return math.Log(p)
}

// logLik is the interval-censored Gaussian log-likelihood of obs under
// log N* ~ N(a + b log d, σ²): each observation contributes
// log P(log Lo < log N* <= log Hi).
func logLik(obs []Obs, a, b, sigma float64) float64 {
	var ll float64
	for _, o := range obs {
		mu := a + b*math.Log(o.D)
		lo, hi := math.Inf(-1), math.Inf(1)
		if o.Lo > 0 {
			lo = (math.Log(o.Lo) - mu) / sigma
		}
		if !math.IsInf(o.Hi, 1) {
			hi = (math.Log(o.Hi) - mu) / sigma
		}
		ll += logPhiDiff(lo, hi)
	}
	return ll
}

// point is the value an observation takes in the starting fit: the
// geometric midpoint of a bracket, the bound of a censored one.
func point(o Obs) float64 {
	switch {
	case o.Lo <= 0:
		return math.Log(o.Hi)
	case math.IsInf(o.Hi, 1):
		return math.Log(o.Lo)
	}
	return 0.5 * (math.Log(o.Lo) + math.Log(o.Hi))
}

// MidpointOLS is the least-squares line through the points of obs
// (geometric midpoints of brackets, bounds of censored values): the
// start of the censored fit, and a cross-check.
func MidpointOLS(obs []Obs) (a, b float64) {
	xs, ys := make([]float64, len(obs)), make([]float64, len(obs))
	for i, o := range obs {
		xs[i], ys[i] = math.Log(o.D), point(o)
	}
	a, b = stat.LinearRegression(xs, ys, nil, false)
	return a, b
}

// Identified reports whether obs can determine a slope: at least two
// distinct dimensions with a two-sided bracket.
func Identified(obs []Obs) bool {
	ds := map[float64]bool{}
	for _, o := range obs {
		if o.Lo > 0 && !math.IsInf(o.Hi, 1) {
			ds[o.D] = true
		}
	}
	return len(ds) >= 2
}

// FitCensored is the maximum-likelihood line of the interval-censored
// (Tobit-style) model log N* = A + B log d + σ ε, ε ~ N(0, 1), every
// observation entering through its interval (brackets, and bounds for
// censored values: never dropped). It starts from MidpointOLS and
// maximises over (A, B, log(σ − SigmaFloor)) by Nelder-Mead, which is
// deterministic. The result is NaN unless Identified(obs).
func FitCensored(obs []Obs) Line {
	if !Identified(obs) {
		return nanLine
	}
	a0, b0 := MidpointOLS(obs)
	var ss float64
	for _, o := range obs {
		r := point(o) - a0 - b0*math.Log(o.D)
		ss += r * r
	}
	return FitCensoredFrom(obs, Line{A: a0, B: b0, Sigma: math.Sqrt(ss / float64(len(obs)))})
}

var nanLine = Line{A: math.NaN(), B: math.NaN(), Sigma: math.NaN(), LogLik: math.NaN()}

// FitCensoredFrom is FitCensored started from the line start (the
// bootstrap starts every refit from the full data's fit).
func FitCensoredFrom(obs []Obs, start Line) Line {
	if !Identified(obs) || math.IsNaN(start.B) {
		return nanLine
	}
	a0, b0 := start.A, start.B
	s0 := math.Max(start.Sigma, 2*SigmaFloor)
	sigma := func(t float64) float64 { return SigmaFloor + math.Exp(t) }
	prob := optimize.Problem{Func: func(x []float64) float64 { return -logLik(obs, x[0], x[1], sigma(x[2])) }}
	res, err := optimize.Minimize(prob, []float64{a0, b0, math.Log(s0 - SigmaFloor)},
		&optimize.Settings{MajorIterations: 5000, Converger: &optimize.FunctionConverge{Absolute: 1e-10, Iterations: 200}},
		&optimize.NelderMead{})
	if err != nil && res == nil {
		return nanLine
	}
	x := res.X
	return Line{A: x[0], B: x[1], Sigma: sigma(x[2]), LogLik: -res.F}
}

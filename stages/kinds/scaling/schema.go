package scaling

import (
	"fmt"

	"github.com/bfc-repro/bfc/stages/kit"
)

// The output tables of a "scaling" stage, declared once (see the package
// doc for what each column means):
//
//	curves  one row per (method, L, d, n): the spread over replicates of the error
//	nstar   one row per (method, L, d, threshold): N* with its interval and censoring
//	fits    one row per (method, L, threshold): the fit of log N* on log d
const (
	Version = 1 // of every table below

	TableCurves = "curves"
	TableNStar  = "nstar"
	TableFits   = "fits"

	ColMethod = "method"
	ColL      = "L"
	ColD      = "d"
	ColN      = "n"
	ColCount  = "count"
	ColMedian = "median"
	ColQ25    = "q25"
	ColQ75    = "q75"
	ColMin    = "min"
	ColMax    = "max"

	ColThreshold        = "threshold"
	ColSeeds            = "seeds"
	ColNMin             = "n_min"
	ColNMax             = "n_max"
	ColMonomials        = "monomials"
	ColNStar            = "nstar"
	ColStatus           = "status"
	ColBound            = "bound"
	ColStaysBelow       = "stays_below"
	ColNStarLo          = "nstar_lo"
	ColNStarHi          = "nstar_hi"
	ColBootCensoredFrac = "boot_censored_frac"

	ColPoints         = "points"
	ColCensored       = "censored"
	ColDims           = "dims"
	ColSlope          = "slope"
	ColIntercept      = "intercept"
	ColSlopeSE        = "slope_se"
	ColSlopeLoT       = "slope_lo_t"
	ColSlopeHiT       = "slope_hi_t"
	ColSlopeLoBoot    = "slope_lo_boot"
	ColSlopeHiBoot    = "slope_hi_boot"
	ColBootOKFrac     = "boot_ok_frac"
	ColTheoryExponent = "theory_exponent"
	ColMonomialSlope  = "monomial_slope"
)

func desc(name string, cols ...kit.ColumnDesc) kit.TableDesc {
	return kit.TableDesc{Kind: "scaling", Version: Version, Name: name, Columns: cols}
}

// The schemas of the tables.
var (
	CurvesDesc = desc(TableCurves, kit.StringCol(ColMethod), kit.IntCol(ColL), kit.IntCol(ColD), kit.IntCol(ColN),
		kit.IntCol(ColCount), kit.FloatCol(ColMedian), kit.FloatCol(ColQ25), kit.FloatCol(ColQ75), kit.FloatCol(ColMin),
		kit.FloatCol(ColMax))
	NStarDesc = desc(TableNStar, kit.StringCol(ColMethod), kit.IntCol(ColL), kit.IntCol(ColD), kit.FloatCol(ColThreshold),
		kit.IntCol(ColSeeds), kit.IntCol(ColNMin), kit.IntCol(ColNMax), kit.FloatCol(ColMonomials), kit.FloatCol(ColNStar),
		kit.StringCol(ColStatus), kit.FloatCol(ColBound), kit.BoolCol(ColStaysBelow), kit.FloatCol(ColNStarLo),
		kit.FloatCol(ColNStarHi), kit.FloatCol(ColBootCensoredFrac))
	FitsDesc = desc(TableFits, kit.StringCol(ColMethod), kit.IntCol(ColL), kit.FloatCol(ColThreshold), kit.IntCol(ColPoints),
		kit.IntCol(ColCensored), kit.StringCol(ColDims), kit.FloatCol(ColSlope), kit.FloatCol(ColIntercept),
		kit.FloatCol(ColSlopeSE), kit.FloatCol(ColSlopeLoT), kit.FloatCol(ColSlopeHiT), kit.FloatCol(ColSlopeLoBoot),
		kit.FloatCol(ColSlopeHiBoot), kit.FloatCol(ColBootOKFrac), kit.FloatCol(ColTheoryExponent), kit.FloatCol(ColMonomialSlope))
)

// Produces implements kit.Producer.
func (Kind) Produces(kit.Params) []kit.TableDesc {
	return []kit.TableDesc{CurvesDesc, NStarDesc, FitsDesc}
}

// Needs are the tables Read reads, for the kit.Consumer declarations of
// the kinds that use it.
func Needs() []kit.TableNeed {
	return []kit.TableNeed{CurvesDesc.Need(), NStarDesc.Need(), FitsDesc.Need()}
}

// Read reads the three tables of a scaling input back into an Analysis,
// with the confidence level of its intervals.
func Read(in kit.Input) (a *Analysis, level float64, err error) {
	a = &Analysis{}
	for _, t := range []struct {
		d    kit.TableDesc
		read func(r *kit.Rows)
	}{{CurvesDesc, a.readCurves}, {NStarDesc, a.readNStar}, {FitsDesc, a.readFits}} {
		r, err := t.d.Read(in)
		if err != nil {
			return nil, 0, fmt.Errorf("scaling: %w", err)
		}
		t.read(r)
		r.Release()
	}
	return a, in.Params().Float("level"), nil
}

func (a *Analysis) readCurves(r *kit.Rows) {
	m, L, d, n, cnt := r.Strings(ColMethod), r.Ints(ColL), r.Ints(ColD), r.Ints(ColN), r.Ints(ColCount)
	med, q25, q75, lo, hi := r.Float64s(ColMedian), r.Float64s(ColQ25), r.Float64s(ColQ75), r.Float64s(ColMin), r.Float64s(ColMax)
	for i := range m {
		a.Curves = append(a.Curves, Curve{Method: m[i], L: L[i], D: d[i], N: n[i], Count: cnt[i], Median: med[i], Q25: q25[i],
			Q75: q75[i], Min: lo[i], Max: hi[i]})
	}
}

func (a *Analysis) readNStar(r *kit.Rows) {
	f := r.Float64s
	m, L, d, tau, seeds := r.Strings(ColMethod), r.Ints(ColL), r.Ints(ColD), f(ColThreshold), r.Ints(ColSeeds)
	nmin, nmax, mono, ns := r.Ints(ColNMin), r.Ints(ColNMax), f(ColMonomials), f(ColNStar)
	st, bound, stays, lo, hi, cens := r.Strings(ColStatus), f(ColBound), r.Bools(ColStaysBelow), f(ColNStarLo), f(ColNStarHi), f(ColBootCensoredFrac)
	for i := range m {
		a.NStar = append(a.NStar, NStar{Method: m[i], L: L[i], D: d[i], Threshold: tau[i], Reps: seeds[i], NMin: nmin[i], NMax: nmax[i],
			Monomials: mono[i], Crossing: Crossing{NStar: ns[i], Status: st[i], Bound: bound[i], StaysBelow: stays[i]},
			Lo: lo[i], Hi: hi[i], CensoredFrac: cens[i]})
	}
}

func (a *Analysis) readFits(r *kit.Rows) {
	f := r.Float64s
	m, L, tau, pts, cens, dims := r.Strings(ColMethod), r.Ints(ColL), f(ColThreshold), r.Ints(ColPoints), r.Ints(ColCensored), r.Strings(ColDims)
	slope, icpt, se, loT, hiT := f(ColSlope), f(ColIntercept), f(ColSlopeSE), f(ColSlopeLoT), f(ColSlopeHiT)
	loB, hiB, ok, th, ms := f(ColSlopeLoBoot), f(ColSlopeHiBoot), f(ColBootOKFrac), f(ColTheoryExponent), f(ColMonomialSlope)
	for i := range m {
		a.Fits = append(a.Fits, Fit{Method: m[i], L: L[i], Threshold: tau[i], Points: pts[i], Censored: cens[i], Dims: dims[i],
			Slope: slope[i], Intercept: icpt[i], SlopeSE: se[i], SlopeLoT: loT[i], SlopeHiT: hiT[i], SlopeLoBoot: loB[i],
			SlopeHiBoot: hiB[i], BootOKFrac: ok[i], Theory: th[i], MonomialSlope: ms[i]})
	}
}

package nstarfit

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
)

// The tables of an "nstarfit" stage:
//
//	fits       one row per (L, threshold, learner): the censored fit
//	points     one row per (L, threshold, learner, d): what the figure draws
//	           (the median N*, 0 or +Inf when censored; the medians of the
//	           seeds' lower and upper ends, which bracket it; their range)
const (
	Version = 2 // 2: fits has seed_list

	TableFits   = "fits"
	TablePoints = "points"

	ColMethod        = "method"
	ColThreshold     = "threshold"
	ColL             = "L"
	ColSlope         = "slope"
	ColSlopeLo       = "slope_lo"
	ColSlopeHi       = "slope_hi"
	ColIntercept     = "intercept"
	ColSigma         = "resid_sigma"
	ColSlopeMid      = "slope_mid"
	ColMonomialSlope = "monomial_slope"
	ColObs           = "obs"
	ColDims          = "dims"
	ColDimList       = "dim_list"
	ColSeedList      = "seed_list"
	ColMinSeeds      = "min_seeds"
	ColNLeft         = "n_left"
	ColNRight        = "n_right"
	ColBootOKFrac    = "boot_ok_frac"

	ColLo        = "lo"
	ColHi        = "hi"
	ColD         = "d"
	ColSeeds     = "seeds"
	ColMedian    = "median"
	ColMedianLo  = "median_lo"
	ColMedianHi  = "median_hi"
	ColTau       = "tau_median"
	ColShareHigh = "share_high_median"
)

func desc(name string, cols ...kit.ColumnDesc) kit.TableDesc {
	return kit.TableDesc{Kind: "nstarfit", Version: Version, Name: name, Columns: cols}
}

// FitsDesc and PointsDesc are the schemas of the tables.
var (
	FitsDesc = desc(TableFits, kit.StringCol(ColMethod), kit.StringCol(ColThreshold), kit.IntCol(ColL),
		kit.FloatCol(ColSlope), kit.FloatCol(ColSlopeLo), kit.FloatCol(ColSlopeHi), kit.FloatCol(ColIntercept), kit.FloatCol(ColSigma),
		kit.FloatCol(ColSlopeMid), kit.FloatCol(ColMonomialSlope), kit.IntCol(ColObs), kit.IntCol(ColDims), kit.StringCol(ColDimList), kit.StringCol(ColSeedList),
		kit.IntCol(ColMinSeeds), kit.IntCol(ColNLeft), kit.IntCol(ColNRight), kit.FloatCol(ColBootOKFrac))
	PointsDesc = desc(TablePoints, kit.StringCol(ColMethod), kit.StringCol(ColThreshold), kit.IntCol(ColL), kit.IntCol(ColD),
		kit.IntCol(ColSeeds), kit.IntCol(ColNLeft), kit.IntCol(ColNRight), kit.FloatCol(ColMedian), kit.FloatCol(ColMedianLo), kit.FloatCol(ColMedianHi), kit.FloatCol(ColLo),
		kit.FloatCol(ColHi), kit.FloatCol(ColTau), kit.FloatCol(ColShareHigh))
)

// Produces implements kit.Producer.
func (Kind) Produces(kit.Params) []kit.TableDesc {
	return []kit.TableDesc{FitsDesc, PointsDesc}
}

// Needs are the tables Read reads, for the kit.Consumer declarations of
// the kinds that read an nstarfit stage (figures, claims).
func Needs() []kit.TableNeed {
	return []kit.TableNeed{FitsDesc.Need(), PointsDesc.Need()}
}

func (a *Analysis) write(env kit.Env) error {
	return kit.WriteAll(env,
		kit.Output{Name: TableFits, Build: a.fitsTable},
		kit.Output{Name: TablePoints, Build: a.pointsTable})
}

func (a *Analysis) fitsTable() (arrow.Record, error) {
	t := newCols()
	for _, f := range a.Fits {
		t.s(ColMethod, f.Method).s(ColThreshold, f.Threshold).i(ColL, f.L).f(ColSlope, f.Slope).f(ColSlopeLo, f.Lo).
			f(ColSlopeHi, f.Hi).f(ColIntercept, f.Intercept).f(ColSigma, f.Sigma).f(ColSlopeMid, f.SlopeMid).
			f(ColMonomialSlope, f.MonomialSlope).i(ColObs, f.Obs).i(ColDims, f.Dims).s(ColDimList, f.DimList).s(ColSeedList, f.SeedList).
			i(ColMinSeeds, f.MinSeeds).i(ColNLeft, f.NLeft).i(ColNRight, f.NRight).f(ColBootOKFrac, f.BootOKFrac)
	}
	return t.record(FitsDesc)
}

func (a *Analysis) pointsTable() (arrow.Record, error) {
	t := newCols()
	for _, p := range a.Points {
		t.s(ColMethod, p.Method).s(ColThreshold, p.Threshold).i(ColL, p.L).i(ColD, p.D).i(ColSeeds, p.Seeds).
			i(ColNLeft, p.NLeft).i(ColNRight, p.NRight).f(ColMedian, p.Median).f(ColMedianLo, p.MedianLo).f(ColMedianHi, p.MedianHi).f(ColLo, p.Lo).f(ColHi, p.Hi).
			f(ColTau, p.Tau).f(ColShareHigh, p.ShareHigh)
	}
	return t.record(PointsDesc)
}

// cols collects a table row by row, by column name.
type cols struct {
	str  map[string][]string
	num  map[string][]float64
	ints map[string][]int
}

func newCols() *cols {
	return &cols{str: map[string][]string{}, num: map[string][]float64{}, ints: map[string][]int{}}
}

func (c *cols) s(n, v string) *cols         { c.str[n] = append(c.str[n], v); return c }
func (c *cols) f(n string, v float64) *cols { c.num[n] = append(c.num[n], v); return c }
func (c *cols) i(n string, v int) *cols     { c.ints[n] = append(c.ints[n], v); return c }

// record builds the columns in the order d declares them.
func (c *cols) record(d kit.TableDesc) (arrow.Record, error) {
	t := kit.NewTable()
	for _, col := range d.Columns {
		switch col.Type {
		case kit.ColString:
			t.String(col.Name, c.str[col.Name])
		case kit.ColFloat64:
			t.Float64(col.Name, c.num[col.Name])
		case kit.ColInt64:
			t.Ints(col.Name, c.ints[col.Name])
		default:
			return nil, fmt.Errorf("nstarfit: table %s: column %s of type %v is not collected", d.Name, col.Name, col.Type)
		}
	}
	return t.Record()
}

// Read reads every table of an nstarfit input.
func Read(in kit.Input) (*Analysis, error) {
	fits, err := ReadFits(in)
	if err != nil {
		return nil, err
	}
	a := &Analysis{Fits: fits}
	err = PointsDesc.Use(in, func(r *kit.Rows) error {
		s, f, i := r.Strings, r.Float64s, r.Ints
		m, th := s(ColMethod), s(ColThreshold)
		L, d, seeds, nl, nr := i(ColL), i(ColD), i(ColSeeds), i(ColNLeft), i(ColNRight)
		med, mlo, mhi, lo, hi := f(ColMedian), f(ColMedianLo), f(ColMedianHi), f(ColLo), f(ColHi)
		tau, sh := f(ColTau), f(ColShareHigh)
		for j := range m {
			a.Points = append(a.Points, Point{Method: m[j], Threshold: th[j], L: L[j], D: d[j], Seeds: seeds[j], NLeft: nl[j],
				NRight: nr[j], Median: med[j], MedianLo: mlo[j], MedianHi: mhi[j], Lo: lo[j], Hi: hi[j], Tau: tau[j], ShareHigh: sh[j]})
		}
		return nil
	})
	return a, err
}

// ReadFits reads the fits table of an nstarfit input (what the claims
// kind decides claim 4 from).
func ReadFits(in kit.Input) ([]Fit, error) {
	var out []Fit
	err := FitsDesc.Use(in, func(r *kit.Rows) error {
		s, f, i := r.Strings, r.Float64s, r.Ints
		m, th, dl, seeds := s(ColMethod), s(ColThreshold), s(ColDimList), s(ColSeedList)
		L, obs, dims, ms, nl, nr := i(ColL), i(ColObs), i(ColDims), i(ColMinSeeds), i(ColNLeft), i(ColNRight)
		sl, lo, hi, ic, sg, mid, mono, ok := f(ColSlope), f(ColSlopeLo), f(ColSlopeHi), f(ColIntercept), f(ColSigma),
			f(ColSlopeMid), f(ColMonomialSlope), f(ColBootOKFrac)
		for j := range m {
			out = append(out, Fit{Method: m[j], Threshold: th[j], L: L[j], Slope: sl[j], Lo: lo[j], Hi: hi[j],
				Intercept: ic[j], Sigma: sg[j], SlopeMid: mid[j], MonomialSlope: mono[j], Obs: obs[j], Dims: dims[j],
				DimList: dl[j], SeedList: seeds[j], MinSeeds: ms[j], NLeft: nl[j], NRight: nr[j], BootOKFrac: ok[j]})
		}
		return nil
	})
	return out, err
}

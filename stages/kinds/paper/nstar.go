package paper

import (
	"fmt"
	"math"
	"slices"

	"github.com/bfc-repro/bfc/stages/kinds/nstarfit"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
)

// nstarSet is the gathered nstarfit point of E9 (docs/science.md#nstar-search).
type nstarSet struct {
	fits, points *table
}

// eNine: claim 4's experiment. Per fit (list ENineFit, in the table's
// order: depth, the primary threshold first, learner), its learner,
// depth, threshold, dimensions, censoring counts, slope with its interval
// and the monomial-count slope, and the claims row that compares it with
// the deep learner (Gap*). Per depth (list ENineL), the dimensions, f of
// the primary threshold and the range over d of the median share of
// Var(y) above degree 2^(L-1), and claim 4's primary row there, the
// polynomial kernel against the deep learner (ENineL{l}Gap*). Totals: searches and bounds, all and at
// the primary threshold.
func (bd *builder) eNine() {
	s := bd.nstar
	if s == nil {
		return
	}
	rd, b := &bd.rd, bd.b
	var all, bounds, pAll, pBounds []Cell
	var Ls []int
	for r := 0; r < s.fits.rows(); r++ {
		fl := letters(r)
		method, thr := rd.cell(s.fits, r, nstarfit.ColMethod), rd.cell(s.fits, r, nstarfit.ColThreshold)
		L := rd.cell(s.fits, r, nstarfit.ColL)
		b.Text(famNineFitMethod.of(fl), method)
		b.Text(famNineFitThreshold.of(fl), thr)
		b.Text(famNineFitDims.of(fl), rd.cell(s.fits, r, nstarfit.ColDimList))
		_, primary := nstarfit.PrimaryF(thr.Str)
		b.Fact(famNineFitPrimary.of(fl), primary)
		for _, c := range []struct{ col, suffix, format string }{
			{nstarfit.ColL, "L", "int"}, {nstarfit.ColObs, "Obs", "int"}, {nstarfit.ColNLeft, "Left", "int"},
			{nstarfit.ColNRight, "Right", "int"}, {nstarfit.ColMinSeeds, "Seeds", "int"}, {nstarfit.ColSlope, "Slope", "g3"},
			{nstarfit.ColSlopeLo, "Lo", "g3"}, {nstarfit.ColSlopeHi, "Hi", "g3"}, {nstarfit.ColMonomialSlope, "MonoSlope", "g3"},
		} {
			b.Num(famNineFitCol.of(fl, c.suffix), OpValue, c.format, rd.cell(s.fits, r, c.col))
		}
		b.Fact(famNineFitNoSlope.of(fl), math.IsNaN(rd.cell(s.fits, r, nstarfit.ColSlope).Num))
		obs, left, right := rd.cell(s.fits, r, nstarfit.ColObs), rd.cell(s.fits, r, nstarfit.ColNLeft), rd.cell(s.fits, r, nstarfit.ColNRight)
		all, bounds = append(all, obs), append(bounds, left, right)
		if primary {
			pAll, pBounds = append(pAll, obs), append(pBounds, left, right)
		}
		if method.Str != sweep.Deep {
			where := fmt.Sprintf("L=%d,%s", int(L.Num), thr.Str)
			if i := bd.claimRowIndex("4", "E9", fmt.Sprintf("exponent_gap[%s-deep,%s]", method.Str, where), false); i >= 0 {
				bd.claimRow(famNineFitGap.of(fl), i, "g3")
				b.Text(famNineFitGapPrimary.of(fl), rd.cell(bd.ctable, i, "primary"))
			}
		}
		if !slices.Contains(Ls, int(L.Num)) {
			Ls = append(Ls, int(L.Num))
		}
		b.List("ENineFit", famNineFit.of(fl))
	}
	b.Num("ENineSearches", OpSum, "int", all...)
	b.Num("ENineBounds", OpSum, "int", bounds...)
	b.Num("ENinePrimarySearches", OpSum, "int", pAll...)
	b.Num("ENinePrimaryBounds", OpSum, "int", pBounds...)
	// The share above 2^(L-1) and f, per depth, from the points of the
	// deep learner at the primary threshold (every learner of a depth
	// sees the same targets).
	for i, L := range Ls {
		ll := letters(i)
		var shares, dims, depth []Cell
		for r := 0; r < s.points.rows(); r++ {
			thr := rd.cell(s.points, r, nstarfit.ColThreshold)
			if _, ok := nstarfit.PrimaryF(thr.Str); !ok || int(rd.cell(s.points, r, nstarfit.ColL).Num) != L ||
				rd.cell(s.points, r, nstarfit.ColMethod).Str != sweep.Deep {
				continue
			}
			shares, dims = append(shares, rd.cell(s.points, r, nstarfit.ColShareHigh)), append(dims, rd.cell(s.points, r, nstarfit.ColD))
			if len(shares) == 1 {
				b.Text(famNineLThreshold.of(ll), thr)
				depth = append(depth, rd.cell(s.points, r, nstarfit.ColL))
			}
		}
		if len(shares) == 0 {
			continue
		}
		b.Num(famNineLL.of(ll), OpValue, "int", depth...)
		b.Num(famNineLShareMin.of(ll), OpMin, "g2", shares...)
		b.Num(famNineLShareMax.of(ll), OpMax, "g2", shares...)
		b.Num(famNineLDMin.of(ll), OpMin, "int", dims...)
		b.Num(famNineLDMax.of(ll), OpMax, "int", dims...)
		bd.namedClaim(famNineLGap.of(ll), "4", "E9", fmt.Sprintf("exponent_gap[%s-deep,L=%d,primary", sweep.KRRPoly, L), "g3", true)
		b.List("ENineL", famNineL.of(ll))
	}
}

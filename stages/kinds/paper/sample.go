package paper

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/bfc-repro/bfc/stages/kinds/claims"
	"github.com/bfc-repro/bfc/stages/kinds/collect"
	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kit"
)

// E5-E7: the sample complexity of non-hierarchical learners.
//
// The report reads E5 and E6 from the one gathered "scaling" point (its
// tables curves, nstar and fits) and E7 from the one gathered "collect"
// point (the two-layer networks and the deep learner against width).
// Entries are named by the families of names.go, so that the template can
// lay out tables by ranging over lists: a dimension's entries carry its
// rank in ascending d (list EFiveD of the prefixes EFiveD<letters>), a
// learner's its rank in learnerOrder (list EFiveLearner), and a cell of
// both both ranks (famDimAt, EFiveDEAtEFiveLearnerB: the median error of
// learner B at dimension E). Lists EFiveSmallD and EFiveLargeD split the
// dimensions into those where the monomial learner ran and the rest.

// learnerOrder is the order in which the report presents the learners:
// the deep learner first, then the fixed-feature learners the lower bound
// covers, then the two-layer networks. Unknown methods follow, by name.
var learnerOrder = []string{sweep.Deep, sweep.KRRPoly, sweep.KRRNTK, sweep.Monomial, sweep.TwoLayerReLU, sweep.TwoLayerQuad}

func compareLearners(a, b string) int {
	rank := func(m string) int {
		if i := slices.Index(learnerOrder, m); i >= 0 {
			return i
		}
		return len(learnerOrder)
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
}

// curveKey names one point of a median curve.
type curveKey struct {
	method string
	d, n   int
}

// scalingSet is the gathered scaling point's tables, indexed.
type scalingSet struct {
	in                  kit.Input
	curves, nstar, fits *table
	methods             []string // learners present, in learnerOrder
	ds                  []int    // dimensions, ascending
	small               map[int]bool
	row                 map[curveKey]int         // curves row of (method, d, n)
	ns                  map[string]map[int][]int // method -> d -> ascending n of its curve
	dLet                map[int]string           // d -> its rank in ascending d, as letters
	lLet                map[string]string        // method -> its rank in learnerOrder, as letters
}

// dPrefix returns the list prefix of dimension d.
func (s *scalingSet) dPrefix(d int) string { return famDim.of(s.dLet[d]) }

// readScaling opens and indexes the tables of a scaling point.
func (bd *builder) readScaling(in kit.Input) (*scalingSet, error) {
	s := &scalingSet{in: in, small: map[int]bool{}, row: map[curveKey]int{}, ns: map[string]map[int][]int{},
		dLet: map[int]string{}, lLet: map[string]string{}}
	var err error
	for _, t := range []struct {
		name string
		dst  **table
	}{{scaling.TableCurves, &s.curves}, {scaling.TableNStar, &s.nstar}, {scaling.TableFits, &s.fits}} {
		if *t.dst, err = bd.open(in, map[string]kit.TableDesc{scaling.TableCurves: scaling.CurvesDesc,
			scaling.TableNStar: scaling.NStarDesc, scaling.TableFits: scaling.FitsDesc}[t.name]); err != nil {
			return nil, err
		}
	}
	rd := &bd.rd
	for r := 0; r < s.curves.rows(); r++ {
		k := curveKey{rd.cell(s.curves, r, scaling.ColMethod).Str, int(rd.cell(s.curves, r, scaling.ColD).Num), int(rd.cell(s.curves, r, scaling.ColN).Num)}
		if _, dup := s.row[k]; dup {
			return nil, fmt.Errorf("scaling %s: curves has two rows for %s d=%d n=%d (the report describes one depth)",
				shortKey(in.Key()), k.method, k.d, k.n)
		}
		s.row[k] = r
		if !slices.Contains(s.methods, k.method) {
			s.methods = append(s.methods, k.method)
		}
		if !slices.Contains(s.ds, k.d) {
			s.ds = append(s.ds, k.d)
		}
		if s.ns[k.method] == nil {
			s.ns[k.method] = map[int][]int{}
		}
		s.ns[k.method][k.d] = append(s.ns[k.method][k.d], k.n)
		if k.method == sweep.Monomial {
			s.small[k.d] = true
		}
	}
	if rd.err != nil {
		return nil, rd.err
	}
	if len(s.row) == 0 {
		return nil, fmt.Errorf("scaling %s: the curves table is empty", shortKey(in.Key()))
	}
	slices.SortFunc(s.methods, compareLearners)
	slices.Sort(s.ds)
	for _, byD := range s.ns {
		for _, n := range byD {
			slices.Sort(n)
		}
	}
	for i, d := range s.ds {
		s.dLet[d] = letters(i)
	}
	for i, m := range s.methods {
		s.lLet[m] = letters(i)
	}
	return s, nil
}

// median returns the median cell of a curve point; ok is false if the
// learner has no point there.
func (s *scalingSet) median(rd *reader, method string, d, n int) (Cell, bool) {
	r, ok := s.row[curveKey{method, d, n}]
	if !ok {
		return Cell{}, false
	}
	return rd.cell(s.curves, r, scaling.ColMedian), true
}

// curveCell returns column col of a curve point (which must exist).
func (s *scalingSet) curveCell(rd *reader, method string, d, n int, col string) Cell {
	return rd.cell(s.curves, s.row[curveKey{method, d, n}], col)
}

// nstarRows returns the nstar rows of a learner at a threshold (all
// dimensions), in table order.
func (s *scalingSet) nstarRows(rd *reader, method string, tau float64) []int {
	var out []int
	for r := 0; r < s.nstar.rows(); r++ {
		if rd.cell(s.nstar, r, scaling.ColMethod).Str == method && rd.cell(s.nstar, r, scaling.ColThreshold).Num == tau {
			out = append(out, r)
		}
	}
	return out
}

// eFive: the setup of E5/E6 and the error curves (E5).
func (bd *builder) eFive() {
	if len(bd.scalings) == 0 {
		why := "the paper stage gathers no scaling point (E5 and E6 read one, and claim 4 is decided from it)"
		bd.b.Missing("EFive", why)
		bd.b.Missing("ESix", why)
		bd.b.Missing("ClaimFour", why)
		return
	}
	rd, b := &bd.rd, bd.b
	if len(bd.scalings) > 1 {
		rd.fail(fmt.Errorf("E5: %d scaling points gathered; the report describes one", len(bd.scalings)))
		return
	}
	s, err := bd.readScaling(bd.scalings[0])
	if err != nil {
		rd.fail(fmt.Errorf("E5: %w", err))
		return
	}
	bd.scaling = s
	var ls, counts, ns []Cell
	for r := 0; r < s.curves.rows(); r++ {
		ls, counts, ns = append(ls, rd.cell(s.curves, r, scaling.ColL)), append(counts, rd.cell(s.curves, r, scaling.ColCount)), append(ns, rd.cell(s.curves, r, scaling.ColN))
	}
	b.Num("EFiveL", OpValue, "int", rd.uniformCell("E5 curves", ls))
	b.Num("EFiveSeedsMin", OpMin, "int", counts...)
	b.Num("EFiveSeedsMax", OpMax, "int", counts...)
	b.Num("EFiveNMin", OpMin, "int", ns...)
	b.Num("EFiveNMax", OpMax, "int", ns...)
	b.Num("EFiveLevel", OpValue, "pct0", rd.param(s.in, "level"))

	// The dimensions, with the number of monomials of degree <= 2^L.
	var small, large []int
	for _, d := range s.ds {
		pre, dl := s.dPrefix(d), s.dLet[d]
		m := s.methods[slices.IndexFunc(s.methods, func(m string) bool { return len(s.ns[m][d]) > 0 })]
		b.Num(famDimD.of(dl), OpValue, "int", s.curveCell(rd, m, d, s.ns[m][d][0], scaling.ColD))
		for r := 0; r < s.nstar.rows(); r++ {
			if int(rd.cell(s.nstar, r, scaling.ColD).Num) == d {
				b.Num(famDimMonomials.of(dl), OpValue, "int", rd.cell(s.nstar, r, scaling.ColMonomials))
				break
			}
		}
		b.List("EFiveD", pre)
		if s.small[d] {
			small = append(small, d)
			b.List("EFiveSmallD", pre)
		} else {
			large = append(large, d)
			b.List("EFiveLargeD", pre)
		}
	}
	if len(large) >= 2 {
		m := sweep.Deep
		if len(s.ns[m][large[0]]) == 0 || len(s.ns[m][large[len(large)-1]]) == 0 {
			m = s.methods[0]
		}
		if len(s.ns[m][large[0]]) > 0 && len(s.ns[m][large[len(large)-1]]) > 0 {
			b.Num("EFiveLargeDRatio", OpRatio, "g2", s.curveCell(rd, m, large[len(large)-1], s.ns[m][large[len(large)-1]][0], scaling.ColD),
				s.curveCell(rd, m, large[0], s.ns[m][large[0]][0], scaling.ColD))
		}
	}

	// The learners: their dimensions and n range.
	for _, m := range s.methods {
		pre, ll := famLearner.of(s.lLet[m]), s.lLet[m]
		var nc []Cell
		for _, d := range s.ds {
			if len(s.ns[m][d]) == 0 {
				continue
			}
			b.List(famLearnerDims.of(ll), s.dPrefix(d))
			for _, n := range s.ns[m][d] {
				nc = append(nc, s.curveCell(rd, m, d, n, scaling.ColN))
			}
		}
		first := slices.IndexFunc(s.ds, func(d int) bool { return len(s.ns[m][d]) > 0 })
		b.Text(famLearnerMethod.of(ll), s.curveCell(rd, m, s.ds[first], s.ns[m][s.ds[first]][0], scaling.ColMethod))
		b.Num(famLearnerNMin.of(ll), OpMin, "int", nc...)
		b.Num(famLearnerNMax.of(ll), OpMax, "int", nc...)
		b.List("EFiveLearner", pre)
		if m != sweep.Deep {
			b.List("EFiveOther", pre)
		}
	}

	// Every learner at the deep learner's largest n, per dimension.
	for _, d := range s.ds {
		bd.atDeepN(s, d)
		bd.lead(s, d)
	}
	for _, d := range small {
		bd.smallD(s, d)
	}
}

// atDeepN adds, for dimension d, the median error of every learner at the
// largest n of the deep learner (entries <d>AtN, <d>At<learner>, and
// <d>Over<learner>, the learner's median over the deep learner's), and
// each learner's median at its own largest n where that lies beyond it
// (<d>LastN<learner>, <d>Last<learner>).
func (bd *builder) atDeepN(s *scalingSet, d int) {
	rd, b := &bd.rd, bd.b
	dn := s.ns[sweep.Deep][d]
	if len(dn) == 0 {
		return
	}
	pre, dl, n := s.dPrefix(d), s.dLet[d], dn[len(dn)-1]
	deep, _ := s.median(rd, sweep.Deep, d, n)
	b.Num(famDimAtN.of(dl), OpValue, "int", s.curveCell(rd, sweep.Deep, d, n, scaling.ColN))
	for _, m := range s.methods {
		ll := s.lLet[m]
		if c, ok := s.median(rd, m, d, n); ok {
			b.Num(famDimAt.of(dl, ll), OpValue, "g2", c)
			if m != sweep.Deep {
				b.Num(famDimOver.of(dl, ll), OpRatio, "g2", c, deep)
			}
		}
		if mn := s.ns[m][d]; len(mn) > 0 && mn[len(mn)-1] > n {
			last := mn[len(mn)-1]
			c, _ := s.median(rd, m, d, last)
			b.Num(famDimLastN.of(dl, ll), OpValue, "int", s.curveCell(rd, m, d, last, scaling.ColN))
			b.Num(famDimLast.of(dl, ll), OpValue, "g2", c)
		}
	}
	b.List("EFiveAt", pre)
}

// lead finds, on the n grid common to the deep learner and the
// polynomial kernel at dimension d, the smallest n from which the learner
// that is better at the largest common n stays better at every larger
// common n: <d>DeepLeadsN or <d>PolyLeadsN, with <d>CommonN the smallest
// common n (if the two are the same, one learner is better everywhere).
func (bd *builder) lead(s *scalingSet, d int) {
	rd, b := &bd.rd, bd.b
	var common []int
	for _, n := range s.ns[sweep.Deep][d] {
		if _, ok := s.row[curveKey{sweep.KRRPoly, d, n}]; ok {
			common = append(common, n)
		}
	}
	if len(common) == 0 {
		return
	}
	deepBelow := func(n int) bool {
		a, _ := s.median(rd, sweep.Deep, d, n)
		p, _ := s.median(rd, sweep.KRRPoly, d, n)
		return a.Num < p.Num
	}
	last := deepBelow(common[len(common)-1])
	k := len(common) - 1
	for k > 0 && deepBelow(common[k-1]) == last {
		k--
	}
	dl := s.dLet[d]
	b.Num(famDimCommonN.of(dl), OpValue, "int", s.curveCell(rd, sweep.Deep, d, common[0], scaling.ColN))
	name := famDimPolyLeadsN.of(dl)
	if last {
		name = famDimDeepLeadsN.of(dl)
	}
	b.Num(name, OpValue, "int", s.curveCell(rd, sweep.Deep, d, common[k], scaling.ColN))
}

// smallD adds, for a dimension where the monomial learner ran, the rows
// of the small-d table (list EFiveSmall: the polynomial kernel, the
// monomials and the deep learner at the largest n below the number of
// monomials, the smallest n at or above it, and the largest n), and the
// medians of the kernel and the deep learner at the largest n below the
// number of monomials (<d>SmallBelowN, <d>SmallBelowPoly,
// <d>SmallBelowDeep), the comparison at the largest n: <d>SmallLastN,
// <d>SmallLast<learner> and
// <d>SmallDeepOverPoly and <d>SmallDeepOverMono (the deep learner's median
// over the kernel's and the monomials'); when some n reaches the number of
// monomials, the first such n, <d>SmallAboveN, and, if it is not the
// largest, the factors by which each learner's median falls from there to
// the largest n (<d>SmallPolyFall, <d>SmallMonoFall, <d>SmallDeepFall).
func (bd *builder) smallD(s *scalingSet, d int) {
	rd, b := &bd.rd, bd.b
	dl := s.dLet[d]
	mono, ok := bd.b.Get(famDimMonomials.of(dl))
	grid := s.ns[sweep.Monomial][d]
	if !ok || len(grid) == 0 {
		return
	}
	below, above := -1, -1
	for _, n := range grid {
		if float64(n) < mono.Value {
			below = n
		} else if above < 0 {
			above = n
		}
	}
	last := grid[len(grid)-1]
	rows := slices.Compact(slices.DeleteFunc([]int{below, above, last}, func(n int) bool { return n < 0 }))
	learners := []struct{ method, name string }{{sweep.KRRPoly, "Poly"}, {sweep.Monomial, "Mono"}, {sweep.Deep, "Deep"}}
	for _, n := range rows {
		rl := letters(len(bd.smallRows))
		rp := famSmallRow.of(rl)
		bd.smallRows = append(bd.smallRows, rp)
		b.Num(famSmallRowD.of(rl), OpValue, "int", s.curveCell(rd, sweep.Monomial, d, n, scaling.ColD))
		b.Num(famSmallRowMono.of(rl), OpValue, "int", mono.Sources[0])
		b.Num(famSmallRowN.of(rl), OpValue, "int", s.curveCell(rd, sweep.Monomial, d, n, scaling.ColN))
		for _, l := range learners {
			if c, ok := s.median(rd, l.method, d, n); ok {
				b.Num(famSmallRowLearner.of(rl, l.name), OpValue, "g2", c)
			}
		}
		b.List("EFiveSmall", rp)
	}
	if below >= 0 {
		// Below the monomial count: which of the kernel and the deep
		// learner is better before exact representation is possible.
		p, okP := s.median(rd, sweep.KRRPoly, d, below)
		q, okQ := s.median(rd, sweep.Deep, d, below)
		if okP && okQ {
			b.Num(famSmallBelowN.of(dl), OpValue, "int", s.curveCell(rd, sweep.Monomial, d, below, scaling.ColN))
			b.Num(famSmallBelowPoly.of(dl), OpValue, "g2", p)
			b.Num(famSmallBelowDeep.of(dl), OpValue, "g2", q)
		}
	}
	deepLast, okD := s.median(rd, sweep.Deep, d, last)
	if !okD {
		return
	}
	b.Num(famSmallLastN.of(dl), OpValue, "int", s.curveCell(rd, sweep.Monomial, d, last, scaling.ColN))
	b.Num(famSmallLastDeep.of(dl), OpValue, "g2", deepLast)
	for _, l := range learners[:2] {
		if c, ok := s.median(rd, l.method, d, last); ok {
			b.Num(famSmallLast.of(dl, l.name), OpValue, "g2", c)
			b.Num(famSmallDeepOver.of(dl, l.name), OpRatio, "g2", deepLast, c)
		}
	}
	if above < 0 {
		return
	}
	b.Num(famSmallAboveN.of(dl), OpValue, "int", s.curveCell(rd, sweep.Monomial, d, above, scaling.ColN))
	if above == last {
		return
	}
	for _, l := range learners {
		a, okA := s.median(rd, l.method, d, above)
		z, okZ := s.median(rd, l.method, d, last)
		if okA && okZ {
			b.Num(famSmallFall.of(dl, l.name), OpRatio, "g2", a, z)
		}
	}
}

// eSix: N* and the fitted exponents (E6), per threshold and learner, with
// claim 4's exponent-gap rows, the censoring counts, and the table of N*
// at the smallest threshold.
func (bd *builder) eSix() {
	s := bd.scaling
	if s == nil {
		return
	}
	rd, b := &bd.rd, bd.b
	rows, taus := bd.sortedFits(s)
	for i, tau := range taus {
		r := rows[slices.IndexFunc(rows, func(f fitRef) bool { return f.tau == tau })].r
		b.Num(famTauTau.of(letters(i)), OpValue, "exact", rd.cell(s.fits, r, scaling.ColThreshold))
		b.List("ESixTau", famTau.of(letters(i)))
	}
	L := int(bd.valueOf("EFiveL"))
	for k, f := range rows {
		bd.fitEntries(s, letters(k), f, letters(slices.Index(taus, f.tau)), L)
	}
	// The finite-d reference slope of the monomial count, over the
	// dimensions of the first fit that has one (the deep learner's first).
	for _, f := range rows {
		if c := rd.cell(s.fits, f.r, scaling.ColMonomialSlope); !math.IsNaN(c.Num) {
			b.Num("ESixMonoSlope", OpValue, "g3", c)
			b.Text("ESixMonoDims", rd.cell(s.fits, f.r, scaling.ColDims))
			break
		}
	}
	bd.censoring(s)
	if len(taus) > 0 {
		bd.nstarTable(s, taus[0])
	}
}

// fitRef is one row of the fits table, by threshold and learner.
type fitRef struct {
	r      int
	method string
	tau    float64
}

// sortedFits returns the fits in threshold, then learner order, and the
// thresholds ascending.
func (bd *builder) sortedFits(s *scalingSet) ([]fitRef, []float64) {
	rd := &bd.rd
	var rows []fitRef
	var taus []float64
	for r := 0; r < s.fits.rows(); r++ {
		f := fitRef{r, rd.cell(s.fits, r, scaling.ColMethod).Str, rd.cell(s.fits, r, scaling.ColThreshold).Num}
		rows = append(rows, f)
		if !slices.Contains(taus, f.tau) {
			taus = append(taus, f.tau)
		}
	}
	slices.Sort(taus)
	slices.SortStableFunc(rows, func(a, c fitRef) int {
		return cmp.Or(compareFloat(a.tau, c.tau), compareLearners(a.method, c.method))
	})
	return rows, taus
}

// fitEntries adds the entries of fit f (row letters fl, of threshold
// letters tl): its columns, its censored N* by side, and claim 4's
// exponent-gap row of a learner other than the deep one.
func (bd *builder) fitEntries(s *scalingSet, fl string, f fitRef, tl string, L int) {
	rd, b, t := &bd.rd, bd.b, s.fits
	pre := famFit.of(fl)
	b.Text(famFitMethod.of(fl), rd.cell(t, f.r, scaling.ColMethod))
	b.Text(famFitDims.of(fl), rd.cell(t, f.r, scaling.ColDims))
	for _, c := range []struct{ col, suffix, format string }{
		{scaling.ColThreshold, "Tau", "exact"}, {scaling.ColPoints, "Points", "int"}, {scaling.ColCensored, "Censored", "int"},
		{scaling.ColSlope, "Slope", "g3"}, {scaling.ColSlopeLoBoot, "LoBoot", "g3"}, {scaling.ColSlopeHiBoot, "HiBoot", "g3"},
		{scaling.ColSlopeLoT, "LoT", "g3"}, {scaling.ColSlopeHiT, "HiT", "g3"}, {scaling.ColTheoryExponent, "Theory", "g3"},
		{scaling.ColMonomialSlope, "MonoSlope", "g3"},
	} {
		b.Num(famFitCol.of(fl, c.suffix), OpValue, c.format, rd.cell(t, f.r, c.col))
	}
	// The censored N* of this fit, by side, with the grid edge.
	var below, beyond, belowN, beyondN []Cell
	for _, r := range s.nstarRows(rd, f.method, f.tau) {
		switch rd.cell(s.nstar, r, scaling.ColStatus).Str {
		case scaling.BelowGrid:
			below, belowN = append(below, rd.cell(s.nstar, r, scaling.ColD)), append(belowN, rd.cell(s.nstar, r, scaling.ColBound))
		case scaling.NotReached:
			beyond, beyondN = append(beyond, rd.cell(s.nstar, r, scaling.ColD)), append(beyondN, rd.cell(s.nstar, r, scaling.ColBound))
		}
	}
	b.Num(famFitBelow.of(fl), OpCount, "int", below...)
	b.Num(famFitBeyond.of(fl), OpCount, "int", beyond...)
	if len(belowN) > 0 {
		b.Num(famFitBelowN.of(fl), OpMax, "int", belowN...)
	}
	if len(beyondN) > 0 {
		b.Num(famFitBeyondN.of(fl), OpMin, "int", beyondN...)
	}
	if f.method != sweep.Deep {
		stat := fmt.Sprintf("exponent_gap[%s-deep,L=%d,tau=%s]", f.method, L, formatG3(f.tau))
		if r := bd.claimRowIndex("4", "E6", stat, false); r >= 0 {
			bd.claimRow(famFitGap.of(fl), r, "g3")
			b.Text(famFitGapPrimar.of(fl), rd.cell(bd.ctable, r, claims.ColPrimary))
			b.List("ESixGap", pre)
		}
	} else {
		b.List("ESixDeep", pre)
	}
	b.List("ESixFit", pre)
	b.List(famTauFits.of(tl), pre)
	if !math.IsNaN(rd.cell(t, f.r, scaling.ColTheoryExponent).Num) && !has(b, "ESixTheory") {
		b.Num("ESixTheory", OpValue, "g3", rd.cell(t, f.r, scaling.ColTheoryExponent))
	}
}

// censoring counts the N* of the whole nstar table by status (one d cell
// per N*).
func (bd *builder) censoring(s *scalingSet) {
	rd, b := &bd.rd, bd.b
	var all, interp, below, beyond []Cell
	for r := 0; r < s.nstar.rows(); r++ {
		c := rd.cell(s.nstar, r, scaling.ColD)
		all = append(all, c)
		switch rd.cell(s.nstar, r, scaling.ColStatus).Str {
		case scaling.Interpolated:
			interp = append(interp, c)
		case scaling.BelowGrid:
			below = append(below, c)
		case scaling.NotReached:
			beyond = append(beyond, c)
		}
	}
	b.Num("ESixNStar", OpCount, "int", all...)
	b.Num("ESixInterp", OpCount, "int", interp...)
	b.Num("ESixBelow", OpCount, "int", below...)
	b.Num("ESixBeyond", OpCount, "int", beyond...)
}

// formatG3 writes a threshold as the claims kind names it in a statistic.
func formatG3(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// nstarTable adds, for threshold tau, the N* of every learner at every
// dimension: <d>Star<learner> with suffixes Status (text), NStar, Bound
// (the grid edge of a censored value), and Lo and Hi, the ends of the
// bootstrap interval, present only where they lie inside the grid (the
// scaling kind writes 0 for an end below it and +Inf for one beyond).
func (bd *builder) nstarTable(s *scalingSet, tau float64) {
	rd, b := &bd.rd, bd.b
	for r := 0; r < s.nstar.rows(); r++ {
		if c := rd.cell(s.nstar, r, scaling.ColThreshold); c.Num == tau {
			b.Num("ESixTableTau", OpValue, "exact", c)
			break
		}
	}
	for _, m := range s.methods {
		for _, r := range s.nstarRows(rd, m, tau) {
			d := int(rd.cell(s.nstar, r, scaling.ColD).Num)
			dl, ll := s.dLet[d], s.lLet[m]
			b.Text(famDimStarStatus.of(dl, ll), rd.cell(s.nstar, r, scaling.ColStatus))
			b.Num(famDimStarNStar.of(dl, ll), OpValue, "g3", rd.cell(s.nstar, r, scaling.ColNStar))
			b.Num(famDimStarBound.of(dl, ll), OpValue, "int", rd.cell(s.nstar, r, scaling.ColBound))
			if lo := rd.cell(s.nstar, r, scaling.ColNStarLo); lo.Num > 0 {
				b.Num(famDimStarLo.of(dl, ll), OpValue, "g3", lo)
			}
			if hi := rd.cell(s.nstar, r, scaling.ColNStarHi); !math.IsInf(hi.Num, 1) {
				b.Num(famDimStarHi.of(dl, ll), OpValue, "g3", hi)
			}
		}
	}
}

// eSeven: two-layer networks against their width at one (d, n), with the
// deep learner on the same samples (E7), from the gathered collect point.
func (bd *builder) eSeven() {
	rd, b := &bd.rd, bd.b
	if len(bd.collects) == 0 {
		bd.b.Missing("ESeven", "the paper stage gathers no collect point of sweeps (E7 reads one)")
		return
	}
	if len(bd.collects) > 1 {
		rd.fail(fmt.Errorf("E7: %d collect points gathered; the report describes one", len(bd.collects)))
		return
	}
	t, err := bd.keep(bd.collects[0], func(in kit.Input) (*kit.Rows, error) { return collect.Read(in, sweep.ResultDesc) })
	if err != nil {
		rd.fail(fmt.Errorf("E7: %w", err))
		return
	}
	w := bd.widthRuns(t)
	deep := w.byMethod[sweep.Deep]
	if rd.err != nil || len(deep) == 0 || len(w.widths) == 0 {
		rd.fail(fmt.Errorf("E7: collect %s needs deep and two-layer rows (have %d methods)", shortKey(bd.collects[0].Key()), len(w.byMethod)))
		return
	}
	var nets []widthRun
	for _, m := range []string{sweep.TwoLayerReLU, sweep.TwoLayerQuad} {
		nets = append(nets, w.byMethod[m]...)
	}
	all := append(slices.Clone(deep), nets...)
	for _, c := range []struct{ col, name string }{{sweep.ColD, "ESevenD"}, {sweep.ColN, "ESevenN"}, {sweep.ColL, "ESevenL"}, {sweep.ColK, "ESevenK"}} {
		b.Num(c.name, OpValue, "int", rd.uniformCell("E7 "+c.col, w.col(all, c.col)))
	}
	b.Num("ESevenGap", OpValue, "exact", rd.uniformCell("E7 gap", w.col(all, sweep.ColGap)))
	if len(nets) > 0 {
		for _, c := range []struct{ col, name string }{{sweep.ColSteps, "ESevenSteps"}, {sweep.ColNFit, "ESevenNFit"}, {sweep.ColNVal, "ESevenNVal"}} {
			b.Num(c.name, OpValue, "int", rd.uniformCell("E7 two-layer "+c.col, w.col(nets, c.col)))
		}
	}
	b.Num("ESevenDeepErr", OpMedian, "g2", w.col(deep, sweep.ColTestRelErr)...)
	b.Num("ESevenDeepMin", OpMin, "g2", w.col(deep, sweep.ColTestRelErr)...)
	b.Num("ESevenDeepMax", OpMax, "g2", w.col(deep, sweep.ColTestRelErr)...)
	b.Num("ESevenDeepTrain", OpMedian, "g2", w.col(deep, sweep.ColTrainRelErr)...)
	b.Num("ESevenDeepSeeds", OpCount, "int", w.col(deep, sweep.ColTestRelErr)...)
	for i := range w.widths {
		bd.widthEntries(w, i)
	}
}

// widthRun is one sweep point of E7: its row of the collect table, its
// seed label and the network's width.
type widthRun struct {
	r     int
	seed  string
	width int
}

// widthSet is E7's collect table by method, with the two-layer networks'
// widths ascending.
type widthSet struct {
	rd       *reader
	t        *table
	byMethod map[string][]widthRun
	widths   []int
}

func (bd *builder) widthRuns(t *table) *widthSet {
	rd := &bd.rd
	w := &widthSet{rd: rd, t: t, byMethod: map[string][]widthRun{}}
	for r := 0; r < t.rows(); r++ {
		m := rd.cell(t, r, sweep.ColMethod).Str
		x := widthRun{r: r, seed: rd.cell(t, r, "seed").Str, width: int(rd.cell(t, r, sweep.ColWidth).Num)}
		w.byMethod[m] = append(w.byMethod[m], x)
		if m != sweep.Deep && !slices.Contains(w.widths, x.width) {
			w.widths = append(w.widths, x.width)
		}
	}
	slices.Sort(w.widths)
	return w
}

// col returns column c of the runs' rows.
func (w *widthSet) col(rs []widthRun, c string) []Cell {
	out := make([]Cell, len(rs))
	for i, x := range rs {
		out[i] = w.rd.cell(w.t, x.r, c)
	}
	return out
}

// widthEntries adds the entries of the i-th width: each activation's
// median errors and seeds there, and at the largest width its error over
// the deep learner's of the same seed and its early-stopping steps.
func (bd *builder) widthEntries(w *widthSet, i int) {
	rd, b, t := &bd.rd, bd.b, w.t
	deepBySeed := map[string]widthRun{}
	for _, x := range w.byMethod[sweep.Deep] {
		deepBySeed[x.seed] = x
	}
	wl := letters(i)
	var first Cell
	for _, m := range []struct{ method, name string }{{sweep.TwoLayerReLU, "Relu"}, {sweep.TwoLayerQuad, "Quad"}} {
		var rs []widthRun
		for _, x := range w.byMethod[m.method] {
			if x.width == w.widths[i] {
				rs = append(rs, x)
			}
		}
		if len(rs) == 0 {
			continue
		}
		first = rd.cell(t, rs[0].r, sweep.ColWidth)
		b.Num(famWidthErr.of(wl, m.name), OpMedian, "g2", w.col(rs, sweep.ColTestRelErr)...)
		b.Num(famWidthTrain.of(wl, m.name), OpMedian, "g2", w.col(rs, sweep.ColTrainRelErr)...)
		b.Num(famWidthSeeds.of(wl, m.name), OpCount, "int", w.col(rs, sweep.ColTestRelErr)...)
		if i == len(w.widths)-1 {
			// Paired by seed against the deep learner on the same target.
			var pairs []Cell
			for _, x := range rs {
				if dx, ok := deepBySeed[x.seed]; ok {
					pairs = append(pairs, rd.cell(t, x.r, sweep.ColTestRelErr), rd.cell(t, dx.r, sweep.ColTestRelErr))
				}
			}
			if len(pairs) > 0 {
				b.Num(famNetOverDeep.of(m.name), OpMedianRatio, "g2", pairs...)
			}
			b.Num(famNetBestMin.of(m.name), OpMin, "int", w.col(rs, sweep.ColBestStep)...)
			b.Num(famNetBestMax.of(m.name), OpMax, "int", w.col(rs, sweep.ColBestStep)...)
		}
	}
	b.Num(famWidthWidth.of(wl), OpValue, "int", first)
	b.List("ESevenW", famWidth.of(wl))
}

// uniformCell returns the first of cells and records an error if another
// holds a different value: the report states one value.
func (rd *reader) uniformCell(what string, cells []Cell) Cell {
	if len(cells) == 0 {
		rd.fail(fmt.Errorf("%s: no values", what))
		return Cell{Num: math.NaN()}
	}
	for _, c := range cells[1:] {
		if c.IsText != cells[0].IsText || c.Str != cells[0].Str || !sameFloat(c.Num, cells[0].Num) {
			rd.fail(fmt.Errorf("%s: %s and %s differ; the report states one value", what, cells[0], c))
			break
		}
	}
	return cells[0]
}

// has reports whether the book has an entry.
func has(b *Book, name string) bool { _, ok := b.Get(name); return ok }

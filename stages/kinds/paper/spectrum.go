package paper

import (
	"slices"

	"github.com/bfc-repro/bfc/stages/kinds/spectrum"
)

// spectrum: the exact degree spectrum of the E5 targets
// (docs/science.md#spectrum), from the gathered spectrum points of depth
// e1Depth with a d axis: per d, the min and max over seeds of the share
// of Var(y) above degree 2^(L−1) and of degree 2^L (list ESpecD), and
// the depth and half degree once (ESpecL, ESpecHalf).
func (bd *builder) spectrum() {
	rd, b := &bd.rd, bd.b
	byD := map[int][]*table{}
	var ds []int
	for _, t := range bd.spectra {
		if _, ok := t.in.Labels()["d"]; !ok || rd.intOf(t, spectrum.ColL) != bd.e1Depth {
			continue
		}
		d := rd.intOf(t, spectrum.ColD)
		if _, ok := byD[d]; !ok {
			ds = append(ds, d)
		}
		byD[d] = append(byD[d], t)
	}
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	first := byD[ds[0]][0]
	b.Num("ESpecL", OpValue, "int", rd.cell(first, 0, spectrum.ColL))
	b.Num("ESpecHalf", OpValue, "int", rd.cell(first, 0, spectrum.ColHalfDegree))
	for i, d := range ds {
		l := letters(i)
		var above, top []Cell
		for _, t := range byD[d] {
			above, top = append(above, rd.cell(t, 0, spectrum.ColShareAboveHalf)), append(top, rd.cell(t, 0, spectrum.ColShareTop))
		}
		b.Num(famSpecDD.of(l), OpValue, "int", rd.cell(byD[d][0], 0, spectrum.ColD))
		b.Num(famSpecDSeeds.of(l), OpCount, "int", above...)
		b.Num(famSpecDAboveMin.of(l), OpMin, "g2", above...)
		b.Num(famSpecDAboveMax.of(l), OpMax, "g2", above...)
		b.Num(famSpecDTopMin.of(l), OpMin, "g2", top...)
		b.Num(famSpecDTopMax.of(l), OpMax, "g2", top...)
		b.List("ESpecD", famSpecD.of(l))
	}
}

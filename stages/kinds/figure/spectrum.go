package figure

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/bfc-repro/bfc/stages/kinds/spectrum"
	"github.com/bfc-repro/bfc/stages/kit"
)

// E5-spectrum draws the exact Hermite degree spectrum of the targets
// (docs/science.md#spectrum), from any number of "spectrum" inputs.
func init() {
	Register("E5-spectrum", Plot{Build: spectrumPlot, Reads: spectrum.Needs()})
}

// spectrumPlot draws, per depth L, the share of Var(y) carried by each
// Hermite degree q = 1..2^L (log y), one colour per d, one marker set per
// seed (every target its own series: seeds are not averaged).
func spectrumPlot(env kit.Env, _ kit.Params) (*Spec, error) {
	ins := kit.InputsOfKind(env, "spectrum")
	if len(ins) == 0 {
		return nil, fmt.Errorf("needs at least one spectrum input, have %d inputs", len(env.Inputs()))
	}
	type point struct {
		seed string
		s    *spectrum.Spectrum
	}
	var pts []point
	for _, in := range ins {
		s, err := spectrum.Read(in)
		if err != nil {
			return nil, err
		}
		pts = append(pts, point{in.Labels()["seed"], s})
	}
	slices.SortStableFunc(pts, func(a, b point) int {
		return cmp.Or(cmp.Compare(a.s.Summary.L, b.s.Summary.L), cmp.Compare(a.s.Summary.D, b.s.Summary.D),
			cmp.Compare(len(a.seed), len(b.seed)), cmp.Compare(a.seed, b.seed))
	})
	spec := &Spec{Title: "E5: exact Hermite degree spectrum of the targets"}
	seeds := map[string]int{} // seed -> glyph, in order of first appearance
	for _, p := range pts {
		if _, ok := seeds[p.seed]; !ok {
			seeds[p.seed] = len(seeds)
		}
	}
	var Ls []int
	for _, p := range pts {
		if !slices.Contains(Ls, p.s.Summary.L) {
			Ls = append(Ls, p.s.Summary.L)
		}
	}
	for _, L := range Ls {
		panel := Panel{Title: fmt.Sprintf("L = %d (y has degree %d)", L, 1<<L),
			X: Axis{Label: "Hermite degree q", Min: 0.5, Max: float64(int(1)<<L) + 0.5},
			Y: Axis{Label: "||P_q y||² / Var(y)", Scale: Log}}
		for _, p := range pts {
			if p.s.Summary.L != L {
				continue
			}
			sr := Series{Name: fmt.Sprintf("d = %d, seed %s", p.s.Summary.D, p.seed), Group: fmt.Sprintf("d = %d", p.s.Summary.D),
				Style: LinePoints, Glyph: seeds[p.seed]}
			for _, d := range p.s.Degrees[1:] {
				sr.X, sr.Y = append(sr.X, float64(d.Degree)), append(sr.Y, d.Share)
			}
			panel.Series = append(panel.Series, sr)
		}
		panel.Markers = []Marker{{X: float64(int(1)<<(L-1)) + 0.5, Label: fmt.Sprintf("above 2^(L−1) = %d", 1<<(L-1))}}
		spec.Panels = append(spec.Panels, panel)
	}
	spec.Notes = []string{
		"Exact Hermite expansion of each stored target G* under x ~ N(0, I_d) (docs/science.md#spectrum): degree q = 1..2^L carries ||P_q y||² of Var(y) " +
			"(odd degrees come from the skip connections to x).",
		"One colour per input dimension d, one marker shape per seed (seeds are not averaged). The marker separates the degrees above 2^(L−1), " +
			"the part of the target only the top layer's term reaches.",
	}
	return spec, nil
}

package figure

import (
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/nstarfit"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// nstarfitOf is an nstarfit stage's tables: krr_poly with medians
// 100·(d/8)^3 at d = 8, 16 and a fit through them (slope 3, monomial
// slope 3.3); deep right-censored at d = 16 (N* > 4096) and without fit.
func nstarfitOf(t *testing.T) kit.Input {
	t.Helper()
	env := kittest.NewEnv(t, nstarfit.Kind{}, nil, 1)
	const th = "primary(f=0.5)"
	med := func(d float64) float64 { return 100 * math.Pow(d/8, 3) }
	points := kittest.Fake(t, nstarfit.PointsDesc, map[string]any{
		nstarfit.ColMethod: []string{"krr_poly", "krr_poly", "deep", "deep"}, nstarfit.ColThreshold: []string{th, th, th, th},
		nstarfit.ColL: []int{2, 2, 2, 2}, nstarfit.ColD: []int{8, 16, 8, 16}, nstarfit.ColSeeds: []int{5, 5, 5, 5},
		nstarfit.ColNRight:   []int{0, 0, 0, 5},
		nstarfit.ColMedian:   []float64{med(8), med(16), 50, math.Inf(1)},
		nstarfit.ColMedianLo: []float64{med(8) / 1.1, med(16) / 1.1, 45, 4096},
		nstarfit.ColMedianHi: []float64{med(8) * 1.1, med(16) * 1.1, 55, math.Inf(1)},
		nstarfit.ColLo:       []float64{med(8) / 1.2, med(16) / 1.2, 40, 1000},
		nstarfit.ColHi:       []float64{med(8) * 1.2, med(16) * 1.2, 60, math.Inf(1)},
	})
	fits := kittest.Fake(t, nstarfit.FitsDesc, map[string]any{
		nstarfit.ColMethod: []string{"krr_poly", "deep"}, nstarfit.ColThreshold: []string{th, th}, nstarfit.ColL: []int{2, 2},
		nstarfit.ColSlope: []float64{3, math.NaN()}, nstarfit.ColSlopeLo: []float64{2.5, math.NaN()},
		nstarfit.ColSlopeHi: []float64{3.5, math.NaN()}, nstarfit.ColIntercept: []float64{math.Log(100) - 3*math.Log(8), math.NaN()},
		nstarfit.ColMonomialSlope: []float64{3.3, 3.3}, nstarfit.ColDimList: []string{"8,16", "8,16"},
	})
	for name, rec := range map[string]arrow.Record{nstarfit.TablePoints: points, nstarfit.TableFits: fits} {
		if err := env.Write(name, rec); err != nil {
			t.Fatal(err)
		}
	}
	return env.AsInput(nil)
}

// TestE9NStar checks the figure on known tables: the medians as dots,
// the fit's line, the monomial-slope reference from the fit's start, and
// the censored median as a bar at n_max with a tail upwards.
func TestE9NStar(t *testing.T) {
	spec := plotEnv(t, "E9-nstar", nil, []kit.Input{nstarfitOf(t)})
	if len(spec.Panels) != 1 || !strings.HasPrefix(spec.Panels[0].Title, "L = 2, primary") {
		t.Fatalf("%d panels (%q)", len(spec.Panels), spec.Panels[0].Title)
	}
	p := spec.Panels[0]
	kp := seriesPrefixed(t, p, learnerLabel("krr_poly")+": slope 3.00 [2.50, 3.50]; C(d+4,4): 3.30")
	for i, d := range []float64{8, 16} {
		if want := 100 * math.Pow(d/8, 3); !relClose(kp.Y[i], want, 1e-12) || math.Abs(kp.X[i]/d-1) > 0.1 {
			t.Errorf("krr_poly at d = %v: (%v, %v), want about (%v, %v)", d, kp.X[i], kp.Y[i], d, want)
		}
	}
	var fit, ref *Series
	for i, s := range p.Series {
		if s.Style == Line && len(s.X) == 2 && s.X[0] == 8 && s.X[1] == 16 {
			if s.Reference {
				ref = &p.Series[i]
			} else if s.Group == "krr_poly" {
				fit = &p.Series[i]
			}
		}
	}
	if fit == nil || ref == nil {
		t.Fatalf("no fit line (%v) or reference (%v)", fit, ref)
	}
	if !relClose(fit.Y[0], 100, 1e-9) || !relClose(fit.Y[1], 800, 1e-9) {
		t.Errorf("fit line %v", fit.Y)
	}
	if s := math.Log(ref.Y[1]/ref.Y[0]) / math.Log(2); !relClose(ref.Y[0], 100, 1e-9) || !relClose(s, 3.3, 1e-9) {
		t.Errorf("reference from %v with slope %v, want from 100 with 3.3", ref.Y[0], s)
	}
	tails := groupSeries(p, "deep", func(s Series) bool { return s.Dashed })
	if len(tails) != 1 || tails[0].Y[0] != 4096 || tails[0].Y[1] != 4096*e6Tail {
		t.Errorf("deep tails %+v, want one upwards from 4096", tails)
	}
	if notes := strings.Join(spec.Notes, " "); !strings.Contains(notes, "docs/science.md#nstar-search") || !strings.Contains(notes, "1 above the budget") {
		t.Errorf("notes: %s", notes)
	}
}

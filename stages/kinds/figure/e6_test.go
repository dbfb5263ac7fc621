package figure

import (
	"math"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kit"
)

// TestE6LowerBound checks E6 on the constructed sweeps of scalingRows,
// whose N*(d) are known in closed form: N*(tau) = n0(d)/tau² with
// n0 = 5·(d/4)^b (b = 2 for krr_poly, 1 for deep); twolayer_relu never
// reaches tau. Values are compared to 1e-9 relative (log-log
// interpolation and a least-squares fit of exact data).
func TestE6LowerBound(t *testing.T) {
	spec := plotEnv(t, "E6-lower-bound", nil, []kit.Input{scalingOf(t, scalingRows(3))})
	if len(spec.Panels) != 2 || !strings.HasPrefix(spec.Panels[0].Title, "τ = 0.25") || !strings.HasPrefix(spec.Panels[1].Title, "τ = 0.5") {
		t.Fatalf("%d panels (%q...), want one per threshold", len(spec.Panels), spec.Panels[0].Title)
	}
	p := spec.Panels[0]
	// tau = 0.25: N* = 16·n0 = 80, 320, 1280 for krr_poly, slope 2.
	kp := seriesPrefixed(t, p, learnerLabel("krr_poly")+": slope 2.00 [")
	want := []float64{80, 320, 1280}
	for i, d := range []float64{4, 8, 16} {
		if !relClose(kp.Y[i], want[i], 1e-9) || math.Abs(kp.X[i]/d-1) > 0.1 {
			t.Errorf("krr_poly N* at d = %v: (%v, %v), want (about %v, %v)", d, kp.X[i], kp.Y[i], d, want[i])
		}
	}
	// Its fit line runs from (4, 80) to (16, 1280), at the true d.
	lines := groupSeries(p, "krr_poly", func(s Series) bool { return s.Style == Line && s.X[0] != s.X[1] && s.Y[0] != s.Y[1] })
	if len(lines) != 1 || lines[0].X[0] != 4 || lines[0].X[1] != 16 || !relClose(lines[0].Y[0], 80, 1e-9) || !relClose(lines[0].Y[1], 1280, 1e-9) {
		t.Errorf("krr_poly fit lines %+v, want one from (4, 80) to (16, 1280)", lines)
	}
	// twolayer_relu never reaches tau: no dots, no fit; at each d a bar at
	// n_max = 4096 with a dashed tail upwards.
	tl := groupSeries(p, "twolayer_relu", func(s Series) bool { return s.Name != "" })
	if len(tl) != 1 || !strings.Contains(tl[0].Name, "no fit (N* at 0 of 3 d)") || tl[0].Style == Points {
		t.Errorf("twolayer_relu legend entry %+v, want a censoring bar named \"no fit\"", tl)
	}
	tails := groupSeries(p, "twolayer_relu", func(s Series) bool { return s.Dashed })
	if len(tails) != 3 {
		t.Fatalf("%d censoring tails for twolayer_relu, want 3", len(tails))
	}
	for _, s := range tails {
		if s.X[0] != s.X[1] || s.Y[0] != 4096 || s.Y[1] != 4096*e6Tail {
			t.Errorf("tail %v %v, want upwards from n_max = 4096", s.X, s.Y)
		}
	}
	// tau = 0.5: krr_poly's N* at d = 4 is 4·n0 = 20 < 64, below the grid:
	// the tail points down from n_min = 64; two dimensions remain for a fit.
	p = spec.Panels[1]
	down := groupSeries(p, "krr_poly", func(s Series) bool { return s.Dashed })
	if len(down) != 1 || down[0].Y[0] != 64 || down[0].Y[1] != 64/e6Tail {
		t.Errorf("krr_poly tails at tau = 0.5: %+v, want one down from 64", down)
	}
	seriesPrefixed(t, p, learnerLabel("krr_poly")+": slope 2.00 [")
	// deep: N* = 20, 40 (below the grid), 80: one point, no fit.
	dp := groupSeries(p, "deep", func(s Series) bool { return s.Name != "" })
	if len(dp) != 1 || !strings.Contains(dp[0].Name, "no fit (N* at 1 of 3 d)") || len(dp[0].Y) != 1 || !relClose(dp[0].Y[0], 80, 1e-9) {
		t.Errorf("deep at tau = 0.5: %+v", dp)
	}
	// The references: d^8 has slope 8 on the log axes and C(d+8, 8) the
	// slope of the log binomial; both pass through the geometric mean of
	// the N* at d = 4 for tau = 0.25 (krr_poly 80, deep 80, monomial 80).
	pw := seriesNamed(t, spec.Panels[0], "d⁸ (theory, kernels)")
	bn := seriesNamed(t, spec.Panels[0], "C(d+8, 8)")
	if len(pw.X) < 2 || len(bn.X) < 10 {
		t.Fatalf("references have %d and %d points", len(pw.X), len(bn.X))
	}
	if !relClose(pw.X[0], 4, 1e-12) || !relClose(pw.Y[0], 80, 1e-9) || !relClose(bn.Y[0], 80, 1e-9) {
		t.Errorf("references start at (%v, %v) and (%v, %v), want (4, 80)", pw.X[0], pw.Y[0], bn.X[0], bn.Y[0])
	}
	if s := math.Log(pw.Y[1]/pw.Y[0]) / math.Log(pw.X[1]/pw.X[0]); !relClose(s, 8, 1e-9) {
		t.Errorf("d^8 reference slope %v", s)
	}
	last := len(bn.X) - 1
	if want := math.Exp(logBinomial(bn.X[last], 8) - logBinomial(4, 8)); !relClose(bn.Y[last]/bn.Y[0], want, 1e-9) {
		t.Errorf("C(d+8, 8) reference ratio %v, want %v", bn.Y[last]/bn.Y[0], want)
	}
	// Cut at the top of the grid (times the tail): d^8 leaves it early.
	if pw.Y[len(pw.Y)-1] > 4096*e6Tail || pw.X[len(pw.X)-1] > 8 {
		t.Errorf("d^8 reference not cut: ends at (%v, %v)", pw.X[len(pw.X)-1], pw.Y[len(pw.Y)-1])
	}
	notes := strings.Join(spec.Notes, " ")
	for _, w := range []string{"90% percentile bootstrap", "N* > n_max", "N* ≤ n_min", "2^L = 8", "over d = 4, 8, 16"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q: %s", w, notes)
		}
	}
}

// Every value censored and no fit anywhere, as in the smoke profile: the
// figure still draws (bars, references through the grid's middle).
func TestE6AllCensored(t *testing.T) {
	var rows []sweepRow
	for _, r := range scalingRows(3) {
		if r.method == "twolayer_relu" {
			rows = append(rows, r)
		}
	}
	spec := plotEnv(t, "E6-lower-bound", nil, []kit.Input{scalingOf(t, rows)})
	pw := seriesNamed(t, spec.Panels[0], "d⁸ (theory, kernels)")
	if !relClose(pw.Y[0], math.Sqrt(64*4096), 1e-9) {
		t.Errorf("reference anchored at %v, want the grid's geometric middle %v", pw.Y[0], math.Sqrt(64*4096))
	}
	if !strings.Contains(strings.Join(spec.Notes, " "), "Over all panels: 0 interpolated, 6 beyond the grid") {
		t.Errorf("notes: %q", spec.Notes)
	}
}

func TestSuperscript(t *testing.T) {
	for n, want := range map[int]string{0: "⁰", 8: "⁸", 16: "¹⁶", 256: "²⁵⁶"} {
		if got := superscript(n); got != want {
			t.Errorf("superscript(%d) = %q, want %q", n, got, want)
		}
	}
	// log C(d+p, p) at integer d against the product formula (1e-12:
	// three log-gammas of moderate arguments).
	for _, c := range []struct {
		d, p int
		want float64
	}{{4, 8, 495}, {16, 8, 735471}, {8, 4, 495}} {
		if got := math.Exp(logBinomial(float64(c.d), c.p)); !relClose(got, c.want, 1e-12) {
			t.Errorf("C(%d+%d, %d) = %v, want %v", c.d, c.p, c.p, got, c.want)
		}
	}
}

// seriesPrefixed returns the series of p whose name starts with prefix.
func seriesPrefixed(t *testing.T, p Panel, prefix string) Series {
	t.Helper()
	for _, s := range p.Series {
		if strings.HasPrefix(s.Name, prefix) {
			return s
		}
	}
	t.Fatalf("panel %q has no series named %q...", p.Title, prefix)
	return Series{}
}

// A learner that reaches tau at d = 4 and 8 (N* = 80 and 160 at tau =
// 0.25) but never at d = 16 lies above its fitted line there (which gives
// 320 < n_max): the caption says so, and that the slope understates the
// growth. A censored value on the line's side draws no remark.
func TestE6CensoredAgainstFit(t *testing.T) {
	var rows []sweepRow
	for _, r := range scalingRows(3) {
		switch {
		case r.method == "deep" && r.d == 16:
			r.test = 0.9 * seedFactors[r.rep]
		case r.method != "deep":
			continue
		}
		rows = append(rows, r)
	}
	spec := plotEnv(t, "E6-lower-bound", nil, []kit.Input{scalingOf(t, rows)})
	notes := strings.Join(spec.Notes, " ")
	for _, w := range []string{"deep learner, τ = 0.25: N* > 4096 at d = 16, where the fit gives 320", "grows faster there than the fitted slope says"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q: %s", w, notes)
		}
	}
	// tau = 0.5: N* = 20 and 40 (both below the grid): no fit, no remark.
	if strings.Contains(notes, "τ = 0.5:") {
		t.Errorf("remark on tau = 0.5, which has no fit: %s", notes)
	}
	// The scaling rows of TestE6LowerBound have no such value.
	if c := strings.Join(plotEnv(t, "E6-lower-bound", nil, []kit.Input{scalingOf(t, scalingRows(3))}).Notes, " "); strings.Contains(c, "wrong side") {
		t.Errorf("remark without a contradicting value: %s", c)
	}
}

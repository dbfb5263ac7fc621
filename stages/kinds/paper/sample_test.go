package paper

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kinds/claims"
	"github.com/bfc-repro/bfc/stages/kinds/collect"
	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// A constructed E5-E7: sweep results of known medians, through the real
// collect, scaling and claims kinds, as the pipeline's E5_collect,
// E6_scaling, E7_collect and claims stages produce them.

// sweepPoint is one fake sweep result.
type sweepPoint struct {
	method      string
	d, n, width int
	seed        string
	test, train float64
	steps, best int
	nFit, nVal  int
	L, k        int
	gap         float64
}

// seedFactor scales the error of seeds 1, 2, 3: the median over seeds is
// the base value exactly, and per-seed ratios differ from the ratio of
// medians.
var seedFactor = map[string]float64{"1": 0.9, "2": 1, "3": 1.1}

// collectPoints runs the collect kind over one fake sweep point per row.
func collectPoints(t *testing.T, pts []sweepPoint) kit.Input {
	t.Helper()
	var ins []kit.Input
	for _, p := range pts {
		env := kittest.NewEnv(t, sweep.Kind{}, nil, 1)
		rec := kittest.Fake(t, sweep.ResultDesc, map[string]any{sweep.ColMethod: []string{p.method}, sweep.ColD: []int{p.d},
			sweep.ColL: []int{p.L}, sweep.ColK: []int{p.k}, sweep.ColGap: []float64{p.gap}, sweep.ColN: []int{p.n},
			sweep.ColNVal: []int{p.nVal}, sweep.ColNFit: []int{p.nFit}, sweep.ColWidth: []int{p.width}, sweep.ColSteps: []int{p.steps},
			sweep.ColTestRelErr: []float64{p.test}, sweep.ColTrainRelErr: []float64{p.train}, sweep.ColBestStep: []int{p.best}})
		if err := env.Write(sweep.TableResult, rec); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, env.AsInput(map[string]string{"seed": p.seed}))
	}
	env := kittest.NewEnv(t, collect.Kind{}, nil, 1, ins...)
	if err := (collect.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(nil)
}

// e5Curves are the median errors of the constructed E5 sweep, per method,
// d and n. At d = 4 (monomials: C(12, 8) = 495) the fixed features drop to
// rounding level from n = 512 on; at d = 8 the deep learner is above the
// kernel at n = 128 and below from n = 256 on; at d = 16 it is below at
// every common n. The two-layer ReLU network never reaches a threshold.
var e5Curves = map[string]map[int]map[int]float64{
	sweep.KRRPoly: {
		4:  {128: 0.3, 256: 0.1, 512: 1e-6, 1024: 1e-10},
		8:  {128: 0.4, 256: 0.3, 512: 0.2, 1024: 0.12, 2048: 0.08},
		16: {128: 0.8, 256: 0.6, 512: 0.45, 1024: 0.3, 2048: 0.2},
	},
	sweep.Monomial: {4: {128: 0.5, 256: 0.2, 512: 1e-5, 1024: 1e-9}},
	sweep.Deep: {
		4:  {128: 0.05, 256: 0.02, 512: 0.01, 1024: 0.005},
		8:  {64: 2, 128: 0.5, 256: 0.1, 512: 0.02, 1024: 0.004},
		16: {64: 2, 128: 0.6, 256: 0.15, 512: 0.03, 1024: 0.006},
	},
	sweep.TwoLayerReLU: {8: {128: 0.9, 1024: 0.9}, 16: {128: 0.9, 1024: 0.9}},
}

// sampleInputs returns the paper's E5-E7 inputs (keyed apart): the
// scaling point, the E7 collect point and a claims point over the
// scaling point.
func sampleInputs(t *testing.T) (sc, e7, cl kit.Input) {
	t.Helper()
	var pts []sweepPoint
	for m, byD := range e5Curves {
		for d, byN := range byD {
			for n, v := range byN {
				for s, f := range seedFactor {
					pts = append(pts, sweepPoint{method: m, d: d, n: n, seed: s, test: f * v, train: v / 2, L: 3, k: 3, gap: 0.3})
				}
			}
		}
	}
	env := kittest.NewEnv(t, scaling.Kind{}, map[string]any{"thresholds": []any{0.2, 0.5}, "boot": int64(50)}, 1, collectPoints(t, pts))
	if err := (scaling.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	sc = keyed{env.AsInput(nil), "scaling-e6"}
	cenv := kittest.NewEnv(t, claims.Kind{}, claimsRules(t, map[string]any{"boot": int64(200)}), 7, sc)
	if err := (claims.Kind{}).Run(cenv); err != nil {
		t.Fatal(err)
	}
	cl = keyed{cenv.AsInput(nil), "claims-e6"}
	return sc, keyed{collectPoints(t, e7Points(2048)), "collect-e7"}, cl
}

// e7Points are the E7 sweep at n: ReLU and quadratic networks at widths 16
// and 64, and the deep learner, three seeds each. At width 64 the ReLU
// net's per-seed ratios to the deep learner are 3000, 1000 and 625 (median
// 1000), while the ratio of the medians is 1250.
func e7Points(n int) []sweepPoint {
	deep := map[string]float64{"1": 1e-4, "2": 2e-4, "3": 4e-4}
	relu := map[int]map[string]float64{16: {"1": 0.5, "2": 0.4, "3": 0.6}, 64: {"1": 0.3, "2": 0.2, "3": 0.25}}
	var pts []sweepPoint
	base := sweepPoint{d: 16, n: n, L: 3, k: 3, gap: 0.3, steps: 300, nFit: n * 4 / 5, nVal: n / 5}
	for _, s := range []string{"1", "2", "3"} {
		p := base
		p.method, p.seed, p.width, p.test, p.train, p.steps, p.nFit, p.nVal = sweep.Deep, s, 64, deep[s], deep[s]/2, 7680, n, 0
		pts = append(pts, p)
		for _, w := range []int{16, 64} {
			p := base
			p.method, p.seed, p.width, p.test, p.train, p.best = sweep.TwoLayerReLU, s, w, relu[w][s], relu[w][s]/4, 300
			pts = append(pts, p)
			p.method, p.test, p.train, p.best = sweep.TwoLayerQuad, 0.6, 0.55, 100
			pts = append(pts, p)
		}
	}
	return pts
}

// runSample runs the paper kind on the E5-E7 inputs with a test template.
func runSample(t *testing.T, tmpl string, ins ...kit.Input) (*kittest.Env, error) {
	t.Helper()
	env := kittest.NewEnv(t, Kind{}, map[string]any{"template": tmpl, "search": ""}, 1, ins...)
	return env, (Kind{}).Run(env)
}

// shownOf returns the entries of a paper run's numbers table, name ->
// what the report shows: the Markdown text of a number, the artifact's
// string of a text entry.
func shownOf(t *testing.T, env *kittest.Env) map[string]string {
	t.Helper()
	nums := env.Output("numbers")
	out := map[string]string{}
	for r := 0; r < int(nums.NumRows()); r++ {
		_, name, _, _ := RecordCell(nums, r, "name")
		_, op, _, _ := RecordCell(nums, r, "op")
		col := "md"
		if op == OpText {
			col = "text"
		}
		_, v, _, err := RecordCell(nums, r, col)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = v
	}
	return out
}

// TestSampleComplexityEntries: the E5-E7 numbers are the constructed
// medians, chosen as documented, and recompute from the artifacts.
func TestSampleComplexityEntries(t *testing.T) {
	sc, e7, cl := sampleInputs(t)
	ins := []kit.Input{cl, sc, e7}
	env, err := runSample(t, "testdata/sample.md.tmpl", ins...)
	if err != nil {
		t.Fatal(err)
	}
	pub := env.Published()
	if err := Check(pub["paper/numbers.tex"], env.Output("numbers"), env.Output("sources"), inputLookup(ins)); err != nil {
		t.Fatalf("numbers.tex does not match the artifacts:\n%v", err)
	}
	m := shownOf(t, env)
	// Dimensions A, B, C are d = 4, 8, 16; learners in learnerOrder: deep
	// (A), polynomial kernel (B), monomials (C), ReLU network (D).
	for _, c := range []struct{ name, want, why string }{
		{"EFiveL", "3", "the depth"},
		{"EFiveNMin", "64", "smallest n of any learner"},
		{"EFiveNMax", "2048", "largest n of any learner"},
		{"EFiveSeedsMin", "3", "seeds per point"},
		{"EFiveDAMonomials", "495", "C(4+8, 8)"},
		{"EFiveLearnerBMethod", "krr_poly", "learner order"},
		{"EFiveLearnerDMethod", "twolayer_relu", "learner order"},
		{"EFiveDBAtN", "1024", "the deep learner's largest n at d = 8"},
		{"EFiveDBAtEFiveLearnerA", "0.004", "the deep median there"},
		{"EFiveDBOverEFiveLearnerB", "30", "kernel 0.12 over deep 0.004"},
		{"EFiveDBLastNEFiveLearnerB", "2048", "the kernel's own largest n, beyond the deep learner's"},
		{"EFiveDBCommonN", "128", "first n both ran at d = 8"},
		{"EFiveDBDeepLeadsN", "256", "deep above the kernel at 128, below from 256 on"},
		{"EFiveDCDeepLeadsN", "128", "deep below at every common n at d = 16"},
		{"EFiveDAPolyLeadsN", "512", "the kernel below the deep learner from 512 on at d = 4"},
		{"EFiveSmallAN", "256", "largest n below 495"},
		{"EFiveSmallBN", "512", "smallest n at or above 495"},
		{"EFiveSmallCN", "1024", "largest n"},
		{"EFiveDASmallAboveN", "512", "first n reaching the monomial count"},
		{"EFiveDASmallBelowN", "256", "largest n below the monomial count"},
		{"EFiveDASmallBelowDeep", "0.02", "the deep learner there"},
		{"EFiveDASmallBelowPoly", "0.1", "the kernel there"},
		{"EFiveDASmallDeepOverPoly", "5×10⁷", "deep 0.005 over kernel 1e-10"},
		{"EFiveDASmallPolyFall", "10000", "kernel 1e-6 to 1e-10"},
		{"EFiveDASmallDeepFall", "2", "deep 0.01 to 0.005"},
		{"EFiveLargeDRatio", "2", "d from 8 to 16"},
		{"ESevenD", "16", "E7 dimension"},
		{"ESevenN", "2048", "E7 sample size"},
		{"ESevenSteps", "300", "the networks' steps (the deep learner's differ)"},
		{"ESevenWBWidth", "64", "widths ascending"},
		{"ESevenWBReluErr", "0.25", "median over seeds"},
		{"ESevenReluOverDeep", "1000", "median of per-seed ratios, not the ratio of medians (1250)"},
		{"ESevenDeepErr", "2×10⁻⁴", "deep median"},
		{"ESevenReluBestMin", "300", "best steps of the widest ReLU nets"},
		{"ESevenReluBestMax", "300", "best steps of the widest ReLU nets"},
	} {
		if got, ok := m[c.name]; !ok || got != c.want {
			t.Errorf("%s = %q, want %q (%s)", c.name, got, c.want, c.why)
		}
	}
	for _, absent := range []string{"EFiveDAAtEFiveLearnerD", "EFiveDBDeepLeadsNX", "EFiveDBPolyLeadsN", "EFiveDBSmallLastN",
		"EFiveDASmallLastNEFiveLearnerB"} {
		if _, ok := m[absent]; ok {
			t.Errorf("%s exists; the learner did not run there or the case does not apply", absent)
		}
	}
}

// TestSampleComplexityCensoring: the counts of interpolated and censored
// N* and each fit's row agree with the scaling point's own tables, and
// each exponent-gap entry is the claims row of that learner and threshold.
func TestSampleComplexityCensoring(t *testing.T) {
	sc, e7, cl := sampleInputs(t)
	env, err := runSample(t, "testdata/sample.md.tmpl", cl, sc, e7)
	if err != nil {
		t.Fatal(err)
	}
	nstar, err := sc.Read("nstar")
	if err != nil {
		t.Fatal(err)
	}
	defer nstar.Release()
	status, err := kit.ReadStrings(nstar, "status")
	if err != nil {
		t.Fatal(err)
	}
	count := func(s string) string {
		n := 0
		for _, x := range status {
			if x == s {
				n++
			}
		}
		return fmt.Sprint(n)
	}
	m := shownOf(t, env)
	for name, want := range map[string]string{"ESixNStar": fmt.Sprint(len(status)), "ESixInterp": count("interpolated"),
		"ESixBelow": count("below_grid"), "ESixBeyond": count("not_reached")} {
		if m[name] != want {
			t.Errorf("%s = %q, the nstar table says %s", name, m[name], want)
		}
	}
	if count("below_grid") == "0" || count("not_reached") == "0" {
		t.Fatalf("test setup: the constructed sweep should censor on both sides (%v)", status)
	}
	// Fits: thresholds ascending, learners in order; the deep learner's fit
	// has no gap, every other learner's is its claims row.
	if m["ESixFitAMethod"] != "deep" || m["ESixFitATau"] != "0.2" || m["ESixFitBMethod"] != "krr_poly" {
		t.Errorf("fit rows out of order: A = %s at %s, B = %s", m["ESixFitAMethod"], m["ESixFitATau"], m["ESixFitBMethod"])
	}
	if _, ok := m["ESixFitAGapValue"]; ok {
		t.Error("the deep learner's fit has an exponent gap against itself")
	}
	if got := m["ESixFitBGapStat"]; got != "exponent_gap[krr_poly-deep,L=3,tau=0.2]" {
		t.Errorf("ESixFitBGapStat = %q", got)
	}
	// The ReLU network never reaches a threshold: censored beyond the grid
	// at both of its dimensions, no fit.
	relu := ""
	for k, v := range m {
		if strings.HasSuffix(k, "Method") && strings.HasPrefix(k, "ESixFit") && v == "twolayer_relu" && m[strings.TrimSuffix(k, "Method")+"Tau"] == "0.2" {
			relu = strings.TrimSuffix(k, "Method")
		}
	}
	if relu == "" || m[relu+"Beyond"] != "2" || m[relu+"Points"] != "0" || m[relu+"Slope"] != "n/a" || m[relu+"BeyondN"] != "1024" {
		t.Errorf("ReLU fit %s: beyond %s, points %s, slope %s, edge %s; want 2, 0, n/a, 1024", relu, m[relu+"Beyond"],
			m[relu+"Points"], m[relu+"Slope"], m[relu+"BeyondN"])
	}
	// The N* table: interpolated values carry an interval, censored ones
	// the grid edge.
	if m["EFiveDBStarEFiveLearnerDStatus"] != "not_reached" || m["EFiveDBStarEFiveLearnerDBound"] != "1024" {
		t.Errorf("ReLU N* at d = 8: %s at %s", m["EFiveDBStarEFiveLearnerDStatus"], m["EFiveDBStarEFiveLearnerDBound"])
	}
	if _, ok := m["EFiveDBStarEFiveLearnerDHi"]; ok {
		t.Error("an interval end beyond the grid has an entry (it should be left out and said so)")
	}
}

// TestSampleComplexityText: the test template's words follow the numbers.
func TestSampleComplexityText(t *testing.T) {
	sc, e7, cl := sampleInputs(t)
	env, err := runSample(t, "testdata/sample.md.tmpl", cl, sc, e7)
	if err != nil {
		t.Fatal(err)
	}
	md := string(env.Published()["paper/README.md"])
	for _, want := range []string{
		"| 8 | 1024 | 0.004 | 0.12 | – | 0.9 |",
		"at d = 8 the deep learner is below the polynomial kernel from n = 256 on",
		"at d = 16 the deep learner is below the polynomial kernel at every common n",
		"at d = 4 the polynomial kernel is below the deep learner from n = 512 on",
		"| 4 | 495 | 512 | 1×10⁻⁶ | 1×10⁻⁵ | 0.01 |",
		"ReLU over deep at the largest width: 1000",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("README lacks %q:\n%s", want, md)
		}
	}
}

// TestSampleComplexityStrict: the report refuses inputs it cannot describe
// with one setting or one point.
func TestSampleComplexityStrict(t *testing.T) {
	sc, e7, cl := sampleInputs(t)
	// E7 at two sample sizes.
	pts := append(e7Points(2048), e7Points(1024)...)
	for i := range pts[len(pts)/2:] {
		pts[len(pts)/2+i].seed += "b"
	}
	mixed := keyed{collectPoints(t, pts), "collect-mixed"}
	if _, err := runSample(t, "testdata/sample.md.tmpl", cl, sc, mixed); err == nil || !strings.Contains(err.Error(), "E7 n") {
		t.Errorf("E7 at two sample sizes was not refused: %v", err)
	}
	// Two collect points.
	if _, err := runSample(t, "testdata/sample.md.tmpl", cl, sc, e7, mixed); err == nil || !strings.Contains(err.Error(), "2 collect points") {
		t.Errorf("two E7 collect points were not refused: %v", err)
	}
	// Without E5-E7 inputs the entries are absent, and a template asking
	// for them fails naming the entry.
	if _, err := runSample(t, "testdata/sample.md.tmpl", cl); err == nil || !strings.Contains(err.Error(), `"EFiveLearner"`) {
		t.Errorf("the E5-E7 template ran without its inputs: %v", err)
	}
}

// TestCompareLearners: the presentation order of the learners.
func TestCompareLearners(t *testing.T) {
	got := []string{"zeta", sweep.TwoLayerQuad, sweep.Monomial, sweep.Deep, "alpha", sweep.KRRNTK, sweep.TwoLayerReLU, sweep.KRRPoly}
	slices.SortFunc(got, compareLearners)
	want := []string{sweep.Deep, sweep.KRRPoly, sweep.KRRNTK, sweep.Monomial, sweep.TwoLayerReLU, sweep.TwoLayerQuad, "alpha", "zeta"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

// TestUniformCell: one value passes, two differing values (NaN equal to
// NaN) fail naming both.
func TestUniformCell(t *testing.T) {
	c := func(v float64) Cell { return Cell{Key: "k", Kind: "collect", Table: "table", Column: "n", Num: v} }
	for _, tc := range []struct {
		cells []Cell
		ok    bool
	}{
		{[]Cell{c(1), c(1), c(1)}, true},
		{[]Cell{c(math.NaN()), c(math.NaN())}, true},
		{[]Cell{c(1), c(2)}, false},
		{nil, false},
	} {
		var rd reader
		rd.uniformCell("test", tc.cells)
		if (rd.err == nil) != tc.ok {
			t.Errorf("%v: error %v, want ok = %v", tc.cells, rd.err, tc.ok)
		}
	}
}

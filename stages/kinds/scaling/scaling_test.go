package scaling

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/collect"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// TestCross covers the interpolation and the censored cases. For a power
// law m(n) = c·n^{-a}, log-log interpolation is exact, so the expected
// values are closed forms (compared to 1e-12 relative: a few roundings of
// logs and one exp).
func TestCross(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name   string
		ns     []int
		med    []float64
		tau    float64
		status string
		nstar  float64
		bound  float64
		stays  bool
	}{
		// 0.4 → 0.1 over a decade; 0.2 is half-way in log error: 100·10^0.5.
		{"log-log", []int{100, 1000}, []float64{0.4, 0.1}, 0.2, Interpolated, 100 * math.Sqrt(10), nan, true},
		// m = 50/n: m(n) = 0.1 at n = 500 exactly, between grid values 256 and 512.
		{"power law", []int{128, 256, 512, 1024}, []float64{50. / 128, 50. / 256, 50. / 512, 50. / 1024}, 0.1, Interpolated, 500, nan, true},
		{"exact hit", []int{10, 20, 40}, []float64{0.5, 0.1, 0.05}, 0.1, Interpolated, 20, nan, true},
		// m_i = 0: linear in m between 0.3 and 0: tau 0.1 is 2/3 of the way in log n.
		{"zero error", []int{100, 800}, []float64{0.3, 0}, 0.1, Interpolated, 100 * math.Pow(8, 2./3), nan, true},
		{"below grid", []int{100, 200}, []float64{0.05, 0.01}, 0.1, BelowGrid, nan, 100, true},
		{"not reached", []int{100, 200}, []float64{0.5, 0.3}, 0.1, NotReached, nan, 200, false},
		{"bump after crossing", []int{100, 200, 400}, []float64{0.2, 0.05, 0.3}, 0.1, Interpolated, 100 * math.Pow(2, 0.5), nan, false},
		{"missing points skipped", []int{100, 200, 400}, []float64{0.4, nan, 0.1}, 0.2, Interpolated, 200, nan, true},
	}
	for _, c := range cases {
		got := Cross(c.ns, c.med, c.tau)
		if got.Status != c.status || got.StaysBelow != c.stays {
			t.Errorf("%s: %+v, want status %s stays %v", c.name, got, c.status, c.stays)
			continue
		}
		if !same(got.NStar, c.nstar, 1e-12) || !same(got.Bound, c.bound, 0) {
			t.Errorf("%s: N* %v bound %v, want %v and %v", c.name, got.NStar, got.Bound, c.nstar, c.bound)
		}
	}
}

func same(a, b, rel float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= rel*math.Abs(b)
}

// powerLawRows generates errors m(n, d) = (n/n0(d))^{-1/2}, n0 = c·d^b,
// times a per-seed factor exp(noise·z); on a power-of-two grid N* at tau
// is n0·tau^{-2} exactly when noise = 0.
func powerLawRows(method string, b, noise float64, seeds int) []Row {
	rng := rand.New(rand.NewPCG(1, 2))
	var rows []Row
	for _, d := range []int{8, 16, 32} {
		n0 := 0.5 * math.Pow(float64(d), b)
		for s := 0; s < seeds; s++ {
			f := math.Exp(noise * rng.NormFloat64())
			for n := 64; n <= 1<<22; n *= 2 {
				rows = append(rows, Row{Method: method, L: 2, D: d, N: n, Rep: fmt.Sprint(s), Err: f * math.Pow(float64(n)/n0, -0.5)})
			}
		}
	}
	return rows
}

// TestAnalyzeExactPowerLaw: without noise every replicate is identical,
// N*(d) = n0(d)/tau² exactly, the fitted slope is b exactly (1e-9: log-log
// interpolation and OLS on exact data), and the intervals collapse on it.
func TestAnalyzeExactPowerLaw(t *testing.T) {
	a := Analyze(powerLawRows("krr_poly", 3, 0, 3), []float64{0.1}, 0.9, 200, 1)
	if len(a.NStar) != 3 || len(a.Fits) != 1 {
		t.Fatalf("%d nstar rows, %d fits", len(a.NStar), len(a.Fits))
	}
	for _, s := range a.NStar {
		want := 0.5 * math.Pow(float64(s.D), 3) / 0.01
		if s.Status != Interpolated || !same(s.NStar, want, 1e-9) || !same(s.Lo, want, 1e-9) || !same(s.Hi, want, 1e-9) || s.Reps != 3 {
			t.Errorf("d=%d: %+v, want N* = %v", s.D, s, want)
		}
	}
	f := a.Fits[0]
	if !same(f.Slope, 3, 1e-9) || !same(f.Intercept, math.Log(50), 1e-9) || f.Points != 3 || f.Dims != "8,16,32" || f.Theory != 4 {
		t.Errorf("fit %+v, want slope 3, intercept log 50, 3 points, theory 4", f)
	}
	// C(d+4, 4) at d = 8, 16, 32: 495, 4845, 58905; OLS slope of their logs
	// on log d, with log2-equispaced d: (log 58905 − log 495)/(2 log 2).
	if want := math.Log(58905.0/495) / (2 * math.Ln2); !same(f.MonomialSlope, want, 1e-9) || a.NStar[1].Monomials != 4845 {
		t.Errorf("monomial reference: slope %v (want %v), C(20, 4) = %v", f.MonomialSlope, want, a.NStar[1].Monomials)
	}
	if !same(f.SlopeLoBoot, 3, 1e-9) || !same(f.SlopeHiBoot, 3, 1e-9) || f.BootOKFrac != 1 || f.SlopeSE > 1e-9 {
		t.Errorf("fit intervals %+v, want all 3", f)
	}
	if len(a.Curves) != 3*17 {
		t.Errorf("%d curve rows, want 51", len(a.Curves))
	}
}

// TestAnalyzeNoisyIntervals: with seed-level noise the intervals have
// width and, for this seed, cover the true slope; networks get no theory.
func TestAnalyzeNoisyIntervals(t *testing.T) {
	a := Analyze(powerLawRows("twolayer_relu", 2, 0.3, 9), []float64{0.05}, 0.9, 500, 7)
	f := a.Fits[0]
	if !(f.SlopeLoBoot < 2 && 2 < f.SlopeHiBoot) || !(f.SlopeLoT < 2 && 2 < f.SlopeHiT) || f.SlopeHiBoot-f.SlopeLoBoot < 0.01 {
		t.Errorf("slope %v: bootstrap [%v, %v], t [%v, %v]; want intervals of width > 0 around 2", f.Slope, f.SlopeLoBoot, f.SlopeHiBoot, f.SlopeLoT, f.SlopeHiT)
	}
	if !math.IsNaN(f.Theory) {
		t.Errorf("two-layer network has theory exponent %v", f.Theory)
	}
	for _, s := range a.NStar {
		if !(s.Lo < s.NStar && s.NStar < s.Hi) {
			t.Errorf("d=%d: N* %v outside its interval [%v, %v]", s.D, s.NStar, s.Lo, s.Hi)
		}
	}
}

// TestAnalyzeCensored: a dimension whose curve never reaches tau is
// reported as not reached, left out of the fit, and its interval is
// [x, +Inf); a fit with one usable dimension has no slope.
func TestAnalyzeCensored(t *testing.T) {
	var rows []Row
	for s := 0; s < 3; s++ {
		for _, n := range []int{100, 200, 400} {
			rows = append(rows, Row{Method: "krr_ntk", L: 3, D: 8, N: n, Rep: fmt.Sprint(s), Err: 20 / float64(n)})
			rows = append(rows, Row{Method: "krr_ntk", L: 3, D: 16, N: n, Rep: fmt.Sprint(s), Err: 0.5})
		}
	}
	a := Analyze(rows, []float64{0.1}, 0.9, 100, 1)
	if s := a.NStar[1]; s.D != 16 || s.Status != NotReached || s.Bound != 400 || !math.IsNaN(s.NStar) || !math.IsInf(s.Hi, 1) || s.CensoredFrac != 1 {
		t.Errorf("d=16: %+v", s)
	}
	if f := a.Fits[0]; f.Points != 1 || f.Censored != 1 || !math.IsNaN(f.Slope) || f.Theory != 8 {
		t.Errorf("fit %+v", f)
	}
}

// stub is a fake "collect" stage that outputs a fixed table.
type stub struct{ rec arrow.Record }

func (stub) Name() string            { return "collect" }
func (stub) Doc() string             { return "" }
func (stub) Params() []kit.Param     { return nil }
func (s stub) Run(env kit.Env) error { s.rec.Retain(); return env.Write(collect.TableName, s.rec) }

// collectInput is a collect table of sweep results with the rows' method,
// L, d, n and test error, a "seed" label holding the replicate, and the
// replicate as an integer in the best_step column too (other columns zero).
func collectInput(t *testing.T, rows []Row) kit.Input {
	t.Helper()
	n := len(rows)
	seeds, keys := make([]string, n), make([]string, n)
	tb := kit.NewTable()
	for i, r := range rows {
		seeds[i], keys[i] = r.Rep, fmt.Sprintf("key-%d", i)
	}
	tb.String("seed", seeds).String(collect.ColKey, keys)
	for _, c := range sweep.ResultDesc.Columns {
		f, in, st := make([]float64, n), make([]int, n), make([]string, n)
		for i, r := range rows {
			switch c.Name {
			case sweep.ColMethod:
				st[i] = r.Method
			case sweep.ColL:
				in[i] = r.L
			case sweep.ColD:
				in[i] = r.D
			case sweep.ColN:
				in[i] = r.N
			case sweep.ColBestStep:
				fmt.Sscan(r.Rep, &in[i])
			case sweep.ColTestRelErr:
				f[i] = r.Err
			}
		}
		switch c.Type {
		case kit.ColFloat64:
			tb.Float64(c.Name, f)
		case kit.ColInt64:
			tb.Ints(c.Name, in)
		case kit.ColString:
			tb.String(c.Name, st)
		case kit.ColBool:
			tb.Bool(c.Name, make([]bool, n))
		}
	}
	return collectInputOf(t, tb)
}

// TestKind runs the kind on a collect table (a string label and an
// integer column as the replicate give the same result) and checks
// determinism of the bytes.
func TestKind(t *testing.T) {
	rows := powerLawRows("krr_poly", 3, 0.2, 4)
	in := collectInput(t, rows)
	run := func(intSeeds bool) []byte {
		p := map[string]any{"thresholds": []any{0.1, 0.05}, "boot": int64(200)}
		if intSeeds {
			p["replicate"] = sweep.ColBestStep
		}
		env := kittest.NewEnv(t, Kind{}, p, 3, in)
		if err := (Kind{}).Run(env); err != nil {
			t.Fatal(err)
		}
		ns := env.Output("nstar")
		if ns.NumRows() != 6 {
			t.Fatalf("nstar has %d rows, want 3 dimensions x 2 thresholds", ns.NumRows())
		}
		slope, err := kit.ReadFloat64s(env.Output(TableFits), ColSlope)
		if err != nil || len(slope) != 2 || math.Abs(slope[0]-3) > 0.5 {
			t.Fatalf("fitted slopes %v (%v), want 2 near 3", slope, err)
		}
		return kittest.Bytes(t, env.Output("curves"), ns, env.Output("fits"))
	}
	a, b := run(false), run(false)
	if !bytes.Equal(a, b) {
		t.Error("two runs with the same seed differ")
	}
	if c := run(true); !bytes.Equal(a, c) {
		t.Error("integer and string seed columns give different outputs")
	}
}

func TestReadRowsErrors(t *testing.T) {
	rows := []Row{{Method: "krr_poly", L: 3, D: 8, N: 100, Rep: "1", Err: 0.5}, {Method: "krr_poly", L: 3, D: 8, N: 100, Rep: "1", Err: 0.4}}
	in := collectInput(t, rows)
	tab, err := collect.Read(in, sweep.ResultDesc)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Release()
	if _, err := ReadRows(tab, "seed", sweep.ColTestRelErr); err == nil || !strings.Contains(err.Error(), "same point") {
		t.Errorf("duplicate point: %v", err)
	}
	if _, err := ReadRows(tab, "replicate", sweep.ColTestRelErr); err == nil || !strings.Contains(err.Error(), `no replicate column "replicate"`) {
		t.Errorf("missing replicate column: %v", err)
	}
	// A table that is not a collect table of sweep results is refused
	// with the schema's name.
	bad := collectInputOf(t, kit.NewTable().String(collect.ColKey, []string{"k"}).Float64(sweep.ColTestRelErr, []float64{0.5}))
	if _, err := collect.Read(bad, sweep.ResultDesc); err == nil || !strings.Contains(err.Error(), "collect/table@v1") {
		t.Errorf("wrong schema: %v", err)
	}
}

// collectInputOf is a stub collect input writing the table of tb.
func collectInputOf(t *testing.T, tb *kit.Table) kit.Input {
	t.Helper()
	rec, err := tb.Record()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Release)
	env := kittest.NewEnv(t, stub{rec}, nil, 1)
	if err := (stub{rec}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(nil)
}

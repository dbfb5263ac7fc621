package nstarfit

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/bfc-repro/bfc/stages/kinds/nstar"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// synthetic returns nstar results of one learner whose true N* is
// exp(a + b log d + sigma·z) per (d, seed), bracketed by the nstar
// search itself (error N*/n against τ = 1) between nMin and nMax, so
// censoring happens where the truth leaves the budget.
func synthetic(t *testing.T, method string, L int, a, b, sigma float64, ds []int, seeds, nMin, nMax int) []nstar.Result {
	t.Helper()
	rng := kit.RNG(7, "nstarfit-test/"+method)
	var out []nstar.Result
	for _, d := range ds {
		for s := 1; s <= seeds; s++ {
			truth := math.Exp(a + b*math.Log(float64(d)) + sigma*rng.NormFloat64())
			br, err := nstar.Search(func(n int) (float64, error) { return truth / float64(n), nil }, 1, nMin, nMax, 1.25)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, nstar.Result{Method: method, D: d, L: L, Replicate: fmt.Sprint(s), TauName: nstar.TauPrimary,
				F: 0.5, Tau: 0.1, ShareHigh: 0.2, Lo: br.Lo, Hi: br.Hi, NStar: br.Mid(), Censoring: br.Censoring})
		}
	}
	return out
}

// slopeSE is the standard error of a least-squares slope with residual
// scale sigma over the design ds repeated seeds times.
func slopeSE(ds []int, seeds int, sigma float64) float64 {
	var m, ss float64
	for _, d := range ds {
		m += math.Log(float64(d))
	}
	m /= float64(len(ds))
	for _, d := range ds {
		x := math.Log(float64(d)) - m
		ss += float64(seeds) * x * x
	}
	return sigma / math.Sqrt(ss)
}

// TestFitKnownExponent fits synthetic N* with a known exponent, with and
// without censoring: the censored fit recovers the exponent within four
// standard errors (the residual scale plus the bracket width, whose log is
// uniform over at most log 1.25), and its bootstrap interval covers it.
func TestFitKnownExponent(t *testing.T) {
	ds := []int{8, 10, 12, 14, 16}
	const seeds, sigma = 5, 0.15
	for _, tc := range []struct {
		name       string
		b, at8     float64 // exponent, median N* at d = 8
		nMin, nMax int
		censored   bool
	}{
		{"bracketed", 3, 40, 16, 1 << 20, false},
		{"right-censored at the largest d", 3, 600, 16, 4000, true},
		{"left-censored at the smallest d", 1.5, 40, 64, 1 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := math.Log(tc.at8) - tc.b*math.Log(8)
			rs := synthetic(t, sweep.KRRPoly, 2, a, tc.b, sigma, ds, seeds, tc.nMin, tc.nMax)
			an := Analyze(rs, Config{Level: 0.9, Boot: 100, Seed: 1})
			if len(an.Fits) != 1 {
				t.Fatalf("%d fits", len(an.Fits))
			}
			f := an.Fits[0]
			if got := f.NLeft + f.NRight; (got > 0) != tc.censored {
				t.Fatalf("%d censored values (left %d, right %d), want censored = %v", got, f.NLeft, f.NRight, tc.censored)
			}
			width := math.Log(1.25) / math.Sqrt(12)
			se := slopeSE(ds, seeds, math.Hypot(sigma, width))
			if math.Abs(f.Slope-tc.b) > 4*se {
				t.Errorf("slope %v, want %v ± %v", f.Slope, tc.b, 4*se)
			}
			if !(f.Lo <= tc.b && tc.b <= f.Hi) {
				t.Errorf("bootstrap interval [%v, %v] misses %v", f.Lo, f.Hi, tc.b)
			}
			if f.Obs != len(ds)*seeds || f.MinSeeds != seeds || f.BootOKFrac != 1 {
				t.Errorf("obs %d, min seeds %d, boot ok %v", f.Obs, f.MinSeeds, f.BootOKFrac)
			}
			// The monomial slope is the OLS slope of log C(d+4, 4) on log d.
			var xs, ys []float64
			for _, d := range ds {
				xs, ys = append(xs, math.Log(float64(d))), append(ys, LogMonomials(d, 2))
			}
			_, want := MidpointOLS(pointsAt(xs, ys))
			if math.Abs(f.MonomialSlope-want) > 1e-12 {
				t.Errorf("monomial slope %v, want %v", f.MonomialSlope, want)
			}
		})
	}
}

// pointsAt turns exact (log d, log N) pairs into degenerate brackets.
func pointsAt(xs, ys []float64) []Obs {
	out := make([]Obs, len(xs))
	for i := range xs {
		out[i] = Obs{D: math.Exp(xs[i]), Lo: math.Exp(ys[i]), Hi: math.Exp(ys[i])}
	}
	return out
}

// TestCensoredNotDropped checks that right-censored values pull the fit
// up: dropping them (fitting only the brackets) gives a smaller slope
// than the censored fit, which stays near the truth.
func TestCensoredNotDropped(t *testing.T) {
	ds := []int{8, 10, 12, 14, 16}
	const b = 3.0
	rs := synthetic(t, sweep.KRRPoly, 2, math.Log(600)-b*math.Log(8), b, 0.15, ds, 5, 16, 3000)
	var obs, kept []Obs
	for _, r := range rs {
		o := Obs{D: float64(r.D), Lo: r.Lo, Hi: r.Hi}
		obs = append(obs, o)
		if !math.IsInf(r.Hi, 1) {
			kept = append(kept, o)
		}
	}
	if len(kept) == len(obs) {
		t.Fatal("no censored value: the test needs some")
	}
	all, dropped := FitCensored(obs), FitCensored(kept)
	if !(dropped.B < all.B) || math.Abs(all.B-b) > math.Abs(dropped.B-b) {
		t.Errorf("censored fit %v, dropping the censored %v, truth %v", all.B, dropped.B, b)
	}
	if FitCensored([]Obs{{D: 8, Lo: 100, Hi: 120}, {D: 16, Lo: 1000, Hi: math.Inf(1)}}).B == FitCensored(nil).B ||
		!math.IsNaN(FitCensored([]Obs{{D: 8, Lo: 100, Hi: 120}, {D: 16, Lo: 1000, Hi: math.Inf(1)}}).B) {
		t.Error("a slope from one two-sided d")
	}
}

// fakeInput is an nstar stage's result table.
func fakeInput(t *testing.T, rs []nstar.Result) kit.Input {
	t.Helper()
	cols := map[string]any{}
	add := func(name string, v any) { cols[name] = v }
	var method, rep, tn, cens []string
	var d, L []int
	var lo, hi, tau, f, share []float64
	for _, r := range rs {
		method, rep, tn, cens = append(method, r.Method), append(rep, r.Replicate), append(tn, r.TauName), append(cens, r.Censoring)
		d, L = append(d, r.D), append(L, r.L)
		lo, hi, tau, f, share = append(lo, r.Lo), append(hi, r.Hi), append(tau, r.Tau), append(f, r.F), append(share, r.ShareHigh)
	}
	add(nstar.ColMethod, method)
	add(nstar.ColReplicate, rep)
	add(nstar.ColTauName, tn)
	add(nstar.ColCensoring, cens)
	add(nstar.ColD, d)
	add(nstar.ColL, L)
	add(nstar.ColLo, lo)
	add(nstar.ColHi, hi)
	add(nstar.ColTau, tau)
	add(nstar.ColF, f)
	add(nstar.ColShareHigh, share)
	env := kittest.NewEnv(t, nstar.Kind{}, nil, 1)
	if err := env.Write(nstar.TableResult, kittest.Fake(t, nstar.ResultDesc, cols)); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(nil)
}

// TestRunDeterministic runs the kind twice on the same gathered inputs:
// same bytes; the typed readers read back what was written.
func TestRunDeterministic(t *testing.T) {
	ds := []int{8, 12, 16}
	in1 := fakeInput(t, synthetic(t, sweep.Deep, 2, math.Log(5), 1, 0.1, ds, 3, 16, 1<<20))
	in2 := fakeInput(t, synthetic(t, sweep.KRRPoly, 2, 0, 3, 0.1, ds, 3, 16, 4096))
	run := func() *kittest.Env {
		env := kittest.NewEnv(t, Kind{}, map[string]any{"boot": int64(100)}, 5, in1, in2)
		if err := (Kind{}).Run(env); err != nil {
			t.Fatal(err)
		}
		return env
	}
	a, b := run(), run()
	for _, name := range []string{TableFits, TablePoints} {
		if !bytes.Equal(kittest.Bytes(t, a.Output(name)), kittest.Bytes(t, b.Output(name))) {
			t.Errorf("table %s differs between two runs", name)
		}
	}
	got, err := Read(a.AsInput(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Fits) != 2 || len(got.Points) != 2*len(ds) {
		t.Fatalf("read %d fits, %d points", len(got.Fits), len(got.Points))
	}
	for _, f := range got.Fits {
		want := map[string]float64{sweep.Deep: 1, sweep.KRRPoly: 3}[f.Method]
		if math.Abs(f.Slope-want) > 0.5 || !(f.Lo <= f.Slope && f.Slope <= f.Hi) {
			t.Errorf("%s: slope %v [%v, %v] read back, the synthetic exponent is %v", f.Method, f.Slope, f.Lo, f.Hi, want)
		}
	}
	// The medians of the seeds' ends bracket the median N*; censored
	// medians are 0 or +Inf with the bound on their finite side.
	for _, p := range got.Points {
		switch {
		case p.Median == 0:
			if p.MedianLo != 0 || !(p.MedianHi > 0) || p.NLeft*2 <= p.Seeds {
				t.Errorf("left-censored median at d = %d: (%v, %v], %d of %d seeds censored", p.D, p.MedianLo, p.MedianHi, p.NLeft, p.Seeds)
			}
		case math.IsInf(p.Median, 1):
			if !(p.MedianLo > 0) || !math.IsInf(p.MedianHi, 1) || p.NRight*2 <= p.Seeds {
				t.Errorf("right-censored median at d = %d: (%v, %v], %d of %d seeds censored", p.D, p.MedianLo, p.MedianHi, p.NRight, p.Seeds)
			}
		case !(p.MedianLo < p.Median && p.Median <= p.MedianHi && p.Lo <= p.MedianLo && p.MedianHi <= p.Hi):
			t.Errorf("%s d = %d: median %v outside (%v, %v] or range [%v, %v]", p.Method, p.D, p.Median, p.MedianLo, p.MedianHi, p.Lo, p.Hi)
		}
	}
}

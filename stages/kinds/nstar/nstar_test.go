package nstar

import (
	"bytes"
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/bfc-repro/bfc/stages/kinds/spectrum"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
	"github.com/bfc-repro/bfc/stages/lib/hermite"
)

// TestSearch checks the declared rule on error curves whose crossing is
// known: the bracket, its censoring, the doubling path and that every n
// is probed once.
func TestSearch(t *testing.T) {
	power := func(c float64) func(int) (float64, error) {
		return func(n int) (float64, error) { return c / float64(n), nil }
	}
	for _, tc := range []struct {
		name       string
		c, tau     float64
		nMin, nMax int
		ratio      float64
		censoring  string
	}{
		{"bracketed", 1000, 0.5, 16, 8192, 1.25, Bracketed},
		{"bracketed, coarse ratio", 1000, 0.5, 16, 8192, 2.5, Bracketed},
		{"reached at n_min", 10, 0.5, 64, 8192, 1.25, Left},
		{"not reached by n_max", 1e6, 0.5, 64, 8192, 1.25, Right},
		{"reached at a capped n_max", 1000, 0.5, 64, 3000, 1.25, Bracketed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[int]int{}
			f := power(tc.c)
			b, err := Search(func(n int) (float64, error) { seen[n]++; return f(n) }, tc.tau, tc.nMin, tc.nMax, tc.ratio)
			if err != nil {
				t.Fatal(err)
			}
			if b.Censoring != tc.censoring {
				t.Fatalf("censoring %q, want %q (bracket %v, %v)", b.Censoring, tc.censoring, b.Lo, b.Hi)
			}
			for n, k := range seen {
				if k != 1 {
					t.Errorf("n = %d probed %d times", n, k)
				}
			}
			// The doubling path: n_min·2^i capped at n_max.
			n := tc.nMin
			for _, s := range b.Steps {
				if s.Phase != PhaseDouble {
					break
				}
				if s.N != n {
					t.Errorf("doubling probed %d, want %d", s.N, n)
				}
				n = min(2*n, tc.nMax)
			}
			// The true crossing of c/n <= tau is ceil(c/tau).
			truth := math.Ceil(tc.c / tc.tau)
			switch b.Censoring {
			case Bracketed:
				if !(b.Lo < truth && truth <= b.Hi) || b.Hi/b.Lo > tc.ratio && b.Hi-b.Lo > 1 {
					t.Errorf("bracket (%v, %v] misses N* = %v or is wider than %v", b.Lo, b.Hi, truth, tc.ratio)
				}
				if math.Abs(b.Mid()-math.Sqrt(b.Lo*b.Hi)) > 0 {
					t.Errorf("mid %v", b.Mid())
				}
			case Left:
				if b.Lo != 0 || b.Hi != float64(tc.nMin) || truth > b.Hi || len(b.Steps) != 1 {
					t.Errorf("left-censored bracket (%v, %v] after %d steps, N* = %v", b.Lo, b.Hi, len(b.Steps), truth)
				}
			case Right:
				if b.Lo != float64(tc.nMax) || !math.IsInf(b.Hi, 1) || truth <= b.Lo || !math.IsNaN(b.Mid()) {
					t.Errorf("right-censored bracket (%v, %v], N* = %v", b.Lo, b.Hi, truth)
				}
			}
		})
	}
	if _, err := Search(power(1), 0.5, 100, 10, 1.25); err == nil {
		t.Error("n_max < n_min gave no error")
	}
	nan := func(int) (float64, error) { return math.NaN(), nil }
	if _, err := Search(nan, 0.5, 8, 64, 1.25); err == nil {
		t.Error("a NaN error gave no error")
	}
}

// TestSearchNonMonotone checks that the rule does not look back: the
// error rises above τ again past the first crossing (a bump, as kernel
// ridge regression shows near n ≈ number of features), and the search
// keeps the bracket of the first crossing on the doubling path.
func TestSearchNonMonotone(t *testing.T) {
	const tau, cross, bump = 0.5, 100, 150
	errAt := func(n int) (float64, error) {
		if n >= cross && n < bump {
			return 0.3, nil
		}
		return 0.9, nil
	}
	b, err := Search(errAt, tau, 64, 8192, 1.05)
	if err != nil {
		t.Fatal(err)
	}
	if b.Censoring != Bracketed || !(b.Lo < cross && cross <= b.Hi) || b.Hi/b.Lo > 1.05 {
		t.Errorf("bracket (%v, %v] %s, want the first crossing %d", b.Lo, b.Hi, b.Censoring, cross)
	}
	for _, s := range b.Steps {
		if s.N > 2*64 {
			t.Errorf("probed n = %d past the first crossing of the doubling path", s.N)
		}
	}
}

// smallTarget runs a target stage: d = 3, k = 2, L = 3 (degree 8).
func smallTarget(t *testing.T, seed int64, extra map[string]any) kit.Input {
	t.Helper()
	raw := map[string]any{"d": int64(3), "k": int64(2), "L": int64(3), "n_train": int64(1024), "n_test": int64(400),
		"norm_samples": int64(2000)}
	for k, v := range extra {
		raw[k] = v
	}
	env := kittest.NewEnv(t, target.Kind{}, raw, seed)
	if err := (target.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(map[string]string{"d": "3", "seed": fmt.Sprint(seed)})
}

// TestExactLabels checks the exact statistic on a stored target: the
// expansion of the stored weights minus the stored centring constant
// equals the stored G* at every test point (up to rounding), and the
// sample mean and variance of the stored labels agree with the exact
// ones within five standard errors of the sample (the variance's from
// the sample's fourth moment).
func TestExactLabels(t *testing.T) {
	const noise = 0.5
	in := smallTarget(t, 3, map[string]any{"n_test": int64(200000), "noise": noise})
	lb, data, err := ExactLabels(in, 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := hermite.Analyze(spectrum.HermiteTarget(data.Net), hermite.Options{AsGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	g := res.G()
	x := make([]float64, data.Net.D)
	for i := range data.Test.N {
		for j := range x {
			x[j] = data.Test.X.At(i, j)
		}
		got := g.Eval(x) + res.Mean - data.Net.Mean // G() is centred exactly
		if want := data.Test.G[i]; math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
			t.Fatalf("test point %d: expansion %v, stored G* %v", i, got, want)
		}
	}
	y := data.Test.Y
	n := float64(len(y))
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= n
	var m2, m4 float64
	for _, v := range y {
		d := (v - mean) * (v - mean)
		m2 += d
		m4 += d * d
	}
	m2 /= n
	m4 /= n
	if se := math.Sqrt(lb.VarY / n); math.Abs(mean-lb.Mean) > 5*se {
		t.Errorf("sample mean %v, exact %v (standard error %v)", mean, lb.Mean, se)
	}
	if se := math.Sqrt((m4 - m2*m2) / n); math.Abs(m2-lb.VarY) > 5*se {
		t.Errorf("sample variance %v, exact %v (standard error %v)", m2, lb.VarY, se)
	}
	if lb.VarY != lb.VarG+noise*noise {
		t.Errorf("Var y %v, want Var G %v + noise²", lb.VarY, lb.VarG)
	}
	if math.Abs(SampleVar(y)-m2) > 1e-12*m2 {
		t.Errorf("SampleVar %v, want %v", SampleVar(y), m2)
	}
	if _, _, err := ExactLabels(smallTarget(t, 3, map[string]any{"input": "sphere"}), 1); err == nil {
		t.Error("sphere inputs gave no error")
	}
}

// curveSweep is a sweep kind (same name, params and tables) whose
// test_rel_err is c/n, so the crossing of every search is known.
type curveSweep struct {
	sweep.Kind
	t testing.TB
	c float64
}

func (k curveSweep) Run(env kit.Env) error {
	p := env.Params()
	n := p.Int("n")
	in, err := kit.OneInput(env, "target")
	if err != nil {
		return err
	}
	nt := p.Int("n_test")
	if nt == 0 {
		nt = target.ConfigOf(in.Params()).NTest
	}
	rec := kittest.Fake(k.t, sweep.ResultDesc, map[string]any{sweep.ColMethod: []string{p.String("method")},
		sweep.ColN: []int{n}, sweep.ColNTest: []int{nt}, sweep.ColTestRelErr: []float64{k.c / float64(n)}})
	if err := env.Write(sweep.TableResult, rec); err != nil {
		return err
	}
	return env.Write(sweep.TableTrials, kittest.Fake(k.t, sweep.TrialsDesc, map[string]any{}))
}

func runNStar(t *testing.T, in kit.Input, raw map[string]any, probe kit.Kind) *kittest.Env {
	t.Helper()
	return runNStarThreads(t, in, raw, probe, 1)
}

// runNStarThreads is runNStar with the kind's thread budget.
func runNStarThreads(t *testing.T, in kit.Input, raw map[string]any, probe kit.Kind, threads int) *kittest.Env {
	t.Helper()
	env := kittest.NewEnv(t, Kind{}, raw, 4, in)
	env.SetThreads(threads)
	env.SetProbeKinds(probe)
	if err := (Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env
}

// TestRun runs the kind on a stored target with a sweep whose error curve
// is known: every bracket contains the true crossing, censored searches
// are bounds, the searches share probes, and a second run gives the same
// probes and the same bytes.
func TestRun(t *testing.T) {
	in := smallTarget(t, 2, nil)
	const c = 5.0
	raw := map[string]any{"method": "krr_poly", "n_min": int64(8), "n_max": int64(1024), "n_test": int64(400),
		"fixed_taus": []float64{0.2, 10, 1e-6}}
	env := runNStar(t, in, raw, curveSweep{t: t, c: c})
	rec := env.Output(TableResult)
	rows, err := ResultDesc.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	results, err := ReadResults(env.AsInput(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 || rows.Len() != 4 {
		t.Fatalf("%d results, want the primary and 3 fixed", len(results))
	}
	want := []string{Bracketed, Bracketed, Left, Right}
	for i, r := range results {
		// error = (c/n)·VarYTest/VarY <= tau  <=>  n >= c·VarYTest/(VarY·tau).
		truth := math.Ceil(c * r.VarYTest / (r.VarY * r.Tau))
		if r.Censoring != want[i] {
			t.Errorf("%s tau %v: censoring %q, want %q", r.TauName, r.Tau, r.Censoring, want[i])
		}
		switch r.Censoring {
		case Bracketed:
			if !(r.Lo < truth && truth <= r.Hi) || r.Hi/r.Lo > r.Ratio || !(r.ErrHi <= r.Tau && r.ErrLo > r.Tau) {
				t.Errorf("%s tau %v: (%v, %v] with errors %v, %v, want N* = %v", r.TauName, r.Tau, r.Lo, r.Hi, r.ErrLo, r.ErrHi, truth)
			}
		case Left:
			if r.Lo != 0 || r.Hi != 8 {
				t.Errorf("left: (%v, %v]", r.Lo, r.Hi)
			}
		case Right:
			if r.Lo != 1024 || !math.IsInf(r.Hi, 1) {
				t.Errorf("right: (%v, %v]", r.Lo, r.Hi)
			}
		}
		if r.Replicate != "2" || r.L != 3 || r.D != 3 {
			t.Errorf("row %d: replicate %q, d %d, L %d", i, r.Replicate, r.D, r.L)
		}
	}
	if p := results[0]; math.Abs(p.Tau-p.F*p.ShareHigh) > 1e-15 || !(p.ShareHigh > 0 && p.ShareHigh < 1) {
		t.Errorf("primary tau %v, f %v, share_high %v", p.Tau, p.F, p.ShareHigh)
	}
	// Every distinct n ran once; the searches together used more steps.
	var steps int
	for _, r := range results {
		steps += r.Probes
	}
	ns := map[string]bool{}
	for _, p := range env.Probes() {
		ns[p] = true
	}
	if len(ns) != len(env.Probes()) || len(env.Probes()) >= steps {
		t.Errorf("%d probes ran for %d search steps: %v", len(env.Probes()), steps, env.Probes())
	}
	again := runNStar(t, in, raw, curveSweep{t: t, c: c})
	for _, name := range []string{TableResult, TableProbes, TableSpectrum} {
		if !bytes.Equal(kittest.Bytes(t, env.Output(name)), kittest.Bytes(t, again.Output(name))) {
			t.Errorf("table %s differs between two runs", name)
		}
	}
	if !slices.Equal(env.Probes(), again.Probes()) {
		t.Errorf("probes differ: %v vs %v", env.Probes(), again.Probes())
	}
	// The spectrum adds up to Var(G*)/Var(y) = 1 (no noise) over degrees >= 1.
	sp, err := SpectrumDesc.Open(env.Output(TableSpectrum))
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, s := range sp.Float64s(ColShare)[1:] {
		sum += s
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("shares add up to %v", sum)
	}
}

// TestSameBytesWhateverTheThreads: one thread and GOMAXPROCS 1 give the
// bytes of four threads and GOMAXPROCS 4 (the exact expansion runs rows
// in parallel), with the real sweep kind as the probe.
func TestSameBytesWhateverTheThreads(t *testing.T) {
	in := smallTarget(t, 2, nil)
	raw := map[string]any{"method": "krr_poly", "n_min": int64(32), "n_max": int64(256), "n_test": int64(200),
		"fixed_taus": []float64{0.3}}
	run := func(threads int) []byte {
		old := runtime.GOMAXPROCS(threads)
		defer runtime.GOMAXPROCS(old)
		env := runNStarThreads(t, in, raw, sweep.Kind{}, threads)
		var out []byte
		for _, name := range []string{TableResult, TableProbes, TableSpectrum} {
			out = append(out, kittest.Bytes(t, env.Output(name))...)
		}
		return out
	}
	if a, b := run(1), run(4); !bytes.Equal(a, b) {
		t.Error("output bytes differ between 1 and 4 threads")
	}
}

// TestProbeParams checks that the probe names carry only what differs
// from the sweep's defaults, and resolve to the full parameter set.
func TestProbeParams(t *testing.T) {
	p, err := kit.Resolve(Kind{}.Params(), map[string]any{"method": "krr_ntk", "n_test": int64(300), "width": int64(64)})
	if err != nil {
		t.Fatal(err)
	}
	got := ProbeParams(p, 512)
	if len(got) != 4 || got["n"] != int64(512) || got["method"] != "krr_ntk" || got["n_test"] != int64(300) || got["width"] != int64(64) {
		t.Errorf("probe params %v", got)
	}
	full, _, _, err := kit.ProbeParams(sweep.Kind{}, got, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := sweepParams(p, 512); fmt.Sprint(full) != fmt.Sprint(want) {
		t.Errorf("resolved %v, want %v", full, want)
	}
}

package twolayer

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/lib/metrics"
	"github.com/bfc-repro/bfc/stages/lib/optim"
)

func sample(n, d int, seed uint64, f func([]float64) float64) (*mat.Dense, []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	x := mat.NewDense(n, d, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x.Set(i, j, r.NormFloat64())
		}
		y[i] = f(x.RawRowView(i))
	}
	return x, y
}

// TestGradFiniteDifferences compares every parameter's gradient with a
// central difference of step 1e-5. The loss is a polynomial in the
// parameters for "quad" (truncation error O(h²)·|third derivative| ~ 1e-10)
// and piecewise quadratic for "relu" (exact unless a pre-activation lies
// within ~1e-5 of a kink, which has probability ~1e-4 per unit for these
// 40 random pre-activations and does not happen for this seed). Rounding
// adds ~1e-16/h·|loss| ~ 1e-11. Tolerance: 1e-6 absolute + 1e-6 relative.
func TestGradFiniteDifferences(t *testing.T) {
	const d, m, b = 3, 5, 8
	x, y := sample(b, d, 4, func(v []float64) float64 { return v[0]*v[1] - v[2] })
	xg := blas64.General{Rows: b, Cols: d, Stride: d, Data: x.RawMatrix().Data}
	for _, act := range Activations() {
		net, err := NewNet(d, m, act, 7)
		if err != nil {
			t.Fatal(err)
		}
		for r := range net.C {
			net.C[r] = 0.3 * float64(r-2) // non-zero biases exercise ∂c
		}
		net.B[0] = 0.2
		w := newWork(net, b)
		net.lossGrad(xg, y, w)
		grads := map[string][]float64{"W": append([]float64(nil), w.gW...), "c": append([]float64(nil), w.gC...),
			"a": append([]float64(nil), w.gA...), "b": append([]float64(nil), w.gB...)}
		params := map[string][]float64{"W": net.W, "c": net.C, "a": net.A, "b": net.B}
		const h = 1e-5
		for name, p := range params {
			for i := range p {
				orig := p[i]
				p[i] = orig + h
				lp := net.lossGrad(xg, y, w)
				p[i] = orig - h
				lm := net.lossGrad(xg, y, w)
				p[i] = orig
				fd := (lp - lm) / (2 * h)
				if g := grads[name][i]; math.Abs(g-fd) > 1e-6+1e-6*math.Abs(fd) {
					t.Errorf("%s: ∂%s[%d] = %v, finite difference %v", act, name, i, g, fd)
				}
			}
		}
	}
}

func adam(lr float64) Config {
	return Config{Width: 32, Steps: 1500, Batch: 128, LR: lr, Optim: optim.DefaultAdam(),
		Schedule: optim.Schedule{Kind: "cosine"}, ValFrac: 0.2, EvalEvery: 100, Seed: 3}
}

// TestFitCapacity: the quadratic network represents any quadratic exactly
// and must fit one to a small error, but cannot fit a product of four
// coordinates (degree 4, orthogonal to every quadratic under N(0, I): its
// best quadratic approximation has relative error 1); the ReLU network must
// do clearly better than the constant predictor on that degree-4 target.
func TestFitCapacity(t *testing.T) {
	const d = 4
	quadratic := func(v []float64) float64 { return (v[0]+v[1])*(v[0]+v[1]) - v[2]*v[3] + v[1] }
	quartic := func(v []float64) float64 { return v[0] * v[1] * v[2] * v[3] }
	cases := []struct {
		name   string
		act    string
		f      func([]float64) float64
		lo, hi float64
	}{
		{"quad on quadratic", "quad", quadratic, 0, 0.02},
		{"quad on quartic", "quad", quartic, 0.8, 2},
		{"relu on quadratic", "relu", quadratic, 0, 0.2},
	}
	for _, c := range cases {
		x, y := sample(2000, d, 1, c.f)
		xt, yt := sample(1000, d, 2, c.f)
		cfg := adam(1e-2)
		cfg.Activation = c.act
		m, info, err := Fit(context.Background(), x, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		pred, err := m.Predict(xt)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := metrics.RelErr(pred, yt)
		t.Logf("%s: test relative error %.4g", c.name, e)
		if e < c.lo || e > c.hi {
			t.Errorf("%s: test relative error %.4g (validation %.4g at step %d), want in [%g, %g]", c.name, e, info.ValRelErr, info.BestStep, c.lo, c.hi)
		}
	}
}

// TestEarlyStoppingKeepsBest: the kept parameters reproduce the reported
// validation error (same computation on the same parameters: 1e-12).
func TestEarlyStoppingKeepsBest(t *testing.T) {
	x, y := sample(500, 3, 5, func(v []float64) float64 { return v[0] * v[1] })
	cfg := adam(3e-2)
	cfg.Activation = "relu"
	cfg.Steps = 400
	cfg.EvalEvery = 50
	m, info, err := Fit(context.Background(), x, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if info.NTrain != 400 || info.NVal != 100 || info.BestStep%50 != 0 || info.BestStep < 50 || info.BestStep > 400 {
		t.Fatalf("info %+v", info)
	}
	pred, _ := m.Predict(x.Slice(400, 500, 0, 3).(*mat.Dense))
	e, _ := metrics.RelErr(pred, y[400:])
	if math.Abs(e-info.ValRelErr) > 1e-12 {
		t.Fatalf("kept model has validation error %v, reported %v", e, info.ValRelErr)
	}
}

func TestFitDeterministic(t *testing.T) {
	x, y := sample(1500, 8, 6, func(v []float64) float64 { return v[0]*v[1] + v[2] })
	xt, _ := sample(300, 8, 7, func(v []float64) float64 { return 0 })
	run := func(procs int) []float64 {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		cfg := adam(1e-2)
		cfg.Activation, cfg.Width, cfg.Steps, cfg.Batch = "relu", 256, 60, 512
		m, _, err := Fit(context.Background(), x, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := m.Predict(xt)
		return p
	}
	a, b := run(1), run(4)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("prediction %d: %v with GOMAXPROCS 1, %v with 4", i, a[i], b[i])
		}
	}
}

func TestLossGradAllocs(t *testing.T) {
	x, y := sample(64, 16, 1, func(v []float64) float64 { return v[0] })
	net, _ := NewNet(16, 32, "relu", 1)
	w := newWork(net, 64)
	xg := blas64.General{Rows: 64, Cols: 16, Stride: 16, Data: x.RawMatrix().Data}
	if a := testing.AllocsPerRun(20, func() { net.lossGrad(xg, y, w) }); a != 0 {
		t.Fatalf("lossGrad allocates %v times per call", a)
	}
}

func TestFitErrors(t *testing.T) {
	x, y := sample(10, 2, 1, func(v []float64) float64 { return v[0] })
	cfg := adam(1e-2)
	cfg.Activation = "tanh"
	if _, _, err := Fit(context.Background(), x, y, cfg); err == nil {
		t.Error("unknown activation accepted")
	}
	cfg.Activation = "relu"
	cfg.LR = 1e300 // diverges to Inf
	cfg.Optim = optim.Config{Method: optim.SGD}
	if _, _, err := Fit(context.Background(), x, y, cfg); err == nil {
		t.Error("a diverging run returned no error")
	}
}

// BenchmarkStep is one training step at width 1024, batch 256, d = 16.
func BenchmarkStep(b *testing.B) {
	const d, m, bs = 16, 1024, 256
	x, y := sample(bs, d, 1, func(v []float64) float64 { return v[0] * v[1] })
	net, _ := NewNet(d, m, "relu", 1)
	w := newWork(net, bs)
	xg := blas64.General{Rows: bs, Cols: d, Stride: d, Data: x.RawMatrix().Data}
	opt, _ := optim.New(optim.DefaultAdam())
	blocks := []optim.Block{{Name: "W", W: net.W, G: w.gW, LRScale: 1}, {Name: "c", W: net.C, G: w.gC, LRScale: 1},
		{Name: "a", W: net.A, G: w.gA, LRScale: 1}, {Name: "b", W: net.B, G: w.gB, LRScale: 1}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		net.lossGrad(xg, y, w)
		if _, err := opt.Step(blocks, 1e-3); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bs*b.N)/b.Elapsed().Seconds(), "samples/s")
}

package learner

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/lib/metrics"
	"github.com/bfc-repro/bfc/stages/lib/schedule"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// smallConfig is a learner small enough for finite differences over every
// parameter: d=4, k=2, L=4, m=5, p=3 = k(k+1)/2.
func smallConfig(conn string) Config {
	return Config{D: 4, K: 2, L: 4, M: 5, P: 3, Connections: conn, Center1: true,
		Alpha: []float64{0, 0, 1, 0.5, 0.25}, LambdaKW: 0.3, WeightDecay: 0.01}
}

func randomData(rng *rand.Rand, n, d int) (x, y []float64) {
	x = make([]float64, n*d)
	y = make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range y {
		y[i] = 2 * rng.NormFloat64()
	}
	return x, y
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// params lists the parameter slices of a network by block name.
func params(n *Net) map[string][]float64 {
	out := map[string][]float64{"b": n.B}
	for l := 2; l <= n.Cfg.L; l++ {
		out[fmt.Sprintf("K%d", l)] = n.K[l]
		out[fmt.Sprintf("W%d", l)] = n.W[l]
	}
	return out
}

// TestGradientFiniteDifferences checks every entry of every block's
// gradient against central differences, for each connection mode, for the
// phases of every schedule at L = 4, with and without clipping. With step
// 1e-5 the truncation error of a central difference is O(1e-10) and the
// rounding error of the difference at most about 100 u |loss| / step (u =
// 1.1e-16; the loss is a sum of a few hundred terms of a few dozen
// operations each), so we require
// |fd - grad| <= 1e-6 (|grad| + |fd|) + 100 u |loss| / step + 1e-9.
func TestGradientFiniteDifferences(t *testing.T) {
	const step = 1e-5
	type variant struct {
		name       string
		conn       string
		fclip, rcl float64
	}
	variants := []variant{{"skip0", targetnet.Skip0, 0, 0}, {"chain", targetnet.Chain, 0, 0}, {"dense", targetnet.Dense, 0, 0},
		{"skip0-clipped", targetnet.Skip0, 1.5, 3}}
	for _, v := range variants {
		cfg := smallConfig(v.conn)
		cfg.FeatureClip, cfg.ResidualClip = v.fclip, v.rcl
		rng := rand.New(rand.NewPCG(1, 2))
		net, err := New(cfg, Init{K: 1, W: 1}, rng)
		if err != nil {
			t.Fatal(err)
		}
		net.B[0] = 0.3
		x, y := randomData(rng, 150, cfg.D) // 150 rows: three chunks, the last one partial
		rows := seq(150)
		ws := NewWorkspace(net, 2)
		for _, name := range schedule.Names() {
			phases, err := schedule.Plan(schedule.Spec{Name: name, X: 1, First: 2, Last: cfg.L, EpochsFirst: 1, EpochsPerStage: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, ph := range phases {
				m, err := NewMask(cfg.L, ph.Active, ph.Trainable)
				if err != nil {
					t.Fatal(err)
				}
				t.Run(fmt.Sprintf("%s/%s/stage%d", v.name, name, ph.Stage), func(t *testing.T) {
					st, err := net.LossGrad(ws, x, y, rows, m)
					if err != nil {
						t.Fatal(err)
					}
					if v.fclip > 0 && ph.Stage > 2 && name != schedule.LowerOnly && st.ClippedFeatures == 0 {
						t.Errorf("feature clipping at %v never triggered", v.fclip)
					}
					if v.rcl > 0 && st.ClippedResiduals == 0 {
						t.Errorf("residual clipping at %v never triggered", v.rcl)
					}
					grads := map[string][]float64{"b": slices.Clone(ws.GB)}
					for l := 2; l <= cfg.L; l++ {
						grads[fmt.Sprintf("K%d", l)] = slices.Clone(ws.GK[l])
						grads[fmt.Sprintf("W%d", l)] = slices.Clone(ws.GW[l])
					}
					loss := func() float64 {
						s, err := net.LossGrad(NewWorkspace(net, 1), x, y, rows, m)
						if err != nil {
							t.Fatal(err)
						}
						return s.Loss
					}
					checked := 0
					for bname, w := range params(net) {
						g := grads[bname]
						var l int
						fmt.Sscanf(bname[1:], "%d", &l)
						trainable := bname == "b" || m.Trainable[l]
						for i := range w {
							if !trainable {
								if g[i] != 0 {
									t.Fatalf("%s[%d]: frozen block has gradient %v", bname, i, g[i])
								}
								continue
							}
							old := w[i]
							w[i] = old + step
							lp := loss()
							w[i] = old - step
							lm := loss()
							w[i] = old
							fd := (lp - lm) / (2 * step)
							if math.Abs(fd-g[i]) > 1e-6*(math.Abs(g[i])+math.Abs(fd))+100*1.1e-16*math.Abs(st.Loss)/step+1e-9 {
								t.Errorf("%s[%d]: gradient %.10g, finite difference %.10g", bname, i, g[i], fd)
							}
							checked++
						}
					}
					if checked == 0 {
						t.Fatal("no parameter checked")
					}
				})
			}
		}
	}
}

// Layers that are not active do not influence the loss at all.
func TestInactiveLayersIgnored(t *testing.T) {
	cfg := smallConfig(targetnet.Skip0)
	rng := rand.New(rand.NewPCG(3, 4))
	net, _ := New(cfg, Init{K: 1, W: 1}, rng)
	x, y := randomData(rng, 40, cfg.D)
	m, _ := NewMask(cfg.L, []int{2, 3}, []int{2, 3})
	ws := NewWorkspace(net, 1)
	before, _ := net.LossGrad(ws, x, y, seq(40), m)
	for i := range net.K[4] {
		net.K[4][i] += 1
	}
	for i := range net.W[4] {
		net.W[4][i] *= 3
	}
	after, _ := net.LossGrad(ws, x, y, seq(40), m)
	if before != after {
		t.Errorf("changing inactive layer 4 changed the loss: %+v -> %+v", before, after)
	}
}

// Results do not depend on the number of threads or GOMAXPROCS, also with
// a head wide enough (m = 300) for gonum's Gemm to run its parallel path.
func TestThreadsDeterministic(t *testing.T) {
	for _, width := range []int{5, 300} {
		threadsDeterministic(t, width)
	}
}

func threadsDeterministic(t *testing.T, width int) {
	cfg := smallConfig(targetnet.Dense)
	cfg.M = width
	rng := rand.New(rand.NewPCG(5, 6))
	net, _ := New(cfg, Init{K: 1, W: 1}, rng)
	x, y := randomData(rng, 300, cfg.D)
	rows := rng.Perm(300)[:257]
	m, _ := NewMask(cfg.L, []int{2, 3, 4}, []int{2, 3, 4})
	run := func(threads, procs int) ([]float64, Stats) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		ws := NewWorkspace(net, threads)
		st, err := net.LossGrad(ws, x, y, rows, m)
		if err != nil {
			t.Fatal(err)
		}
		out := slices.Clone(ws.GB)
		for l := 2; l <= cfg.L; l++ {
			out = append(append(out, ws.GK[l]...), ws.GW[l]...)
		}
		pred := make([]float64, 300)
		feats := [][]float64{nil, nil, make([]float64, 300*cfg.K), make([]float64, 300*cfg.K), make([]float64, 300*cfg.K)}
		if _, err := net.Eval(ws, x, m, pred, feats); err != nil {
			t.Fatal(err)
		}
		out = append(out, pred...)
		for _, f := range feats[2:] {
			out = append(out, f...)
		}
		return out, st
	}
	ref, rst := run(1, 1)
	for _, c := range [][2]int{{2, 1}, {2, 4}, {4, 4}, {7, 2}} {
		got, st := run(c[0], c[1])
		if st != rst || !slices.Equal(got, ref) {
			t.Errorf("m=%d threads %d GOMAXPROCS %d: results differ", width, c[0], c[1])
		}
	}
}

// Eval and LossGrad agree on G(x): the MSE of Eval's predictions is the
// MSE reported by LossGrad (same code path, same chunking of the sums
// up to rounding: 1e-12 relative).
func TestEvalMatchesLoss(t *testing.T) {
	cfg := smallConfig(targetnet.Skip0)
	rng := rand.New(rand.NewPCG(7, 8))
	net, _ := New(cfg, Init{K: 1, W: 1}, rng)
	x, y := randomData(rng, 100, cfg.D)
	m, _ := NewMask(cfg.L, []int{2, 3}, []int{3})
	ws := NewWorkspace(net, 1)
	st, _ := net.LossGrad(ws, x, y, seq(100), m)
	pred := make([]float64, 100)
	if _, err := net.Eval(ws, x, m, pred, nil); err != nil {
		t.Fatal(err)
	}
	var mse float64
	for i, p := range pred {
		mse += (p - y[i]) * (p - y[i])
	}
	mse /= 100
	if math.Abs(mse-st.MSE) > 1e-12*st.MSE {
		t.Errorf("eval MSE %v, LossGrad MSE %v", mse, st.MSE)
	}
}

func TestStepAllocationFree(t *testing.T) {
	cfg := smallConfig(targetnet.Skip0)
	rng := rand.New(rand.NewPCG(9, 10))
	net, _ := New(cfg, Init{K: 1, W: 1}, rng)
	x, y := randomData(rng, 256, cfg.D)
	m, _ := NewMask(cfg.L, []int{2, 3, 4}, []int{2, 3, 4})
	ws := NewWorkspace(net, 1)
	rows := seq(256)
	net.LossGrad(ws, x, y, rows, m)
	if n := testing.AllocsPerRun(20, func() { net.LossGrad(ws, x, y, rows, m) }); n != 0 {
		t.Errorf("LossGrad allocates %v times per call", n)
	}
}

// fromTarget builds a learner that computes the target exactly: K_l maps
// h_l to U_l S*_l for a random orthogonal U_l, where the block for psi_j
// (j >= 2) is U_l W*_{l,j} M_j with M_j solving (S*_j)^2 = M_j
// sigma(R_j U_j S*_j) by least squares over the quadratic monomials of S*_j;
// W_l stacks K_l on zero rows, so W_l^T W_l = K_l^T K_l, and b = -Mean.
func fromTarget(t *testing.T, tn *targetnet.Net, m, p int, rng *rand.Rand) (*Net, []*mat.Dense) {
	t.Helper()
	cfg := Config{D: tn.D, K: tn.K, L: tn.L, M: m, P: p, Connections: tn.Connections, Center1: tn.Center1,
		Alpha: tn.Alpha, LambdaKW: 0.5}
	net, err := New(cfg, Init{K: 1, W: 1}, rng) // random R_j
	if err != nil {
		t.Fatal(err)
	}
	k := tn.K
	U := make([]*mat.Dense, tn.L+1)
	for l := 2; l <= tn.L; l++ {
		U[l] = randomOrthogonal(k, rng)
	}
	// M_j: k x p with M_j q(R_j U_j s) = s^2 for the quadratic monomials of s.
	Ms := make([]*mat.Dense, tn.L+1)
	for j := 2; j < tn.L; j++ {
		var RU mat.Dense
		RU.Mul(mat.NewDense(p, k, net.R[j]), U[j])
		var pairs [][2]int
		for a := range k {
			for b := a; b < k; b++ {
				pairs = append(pairs, [2]int{a, b})
			}
		}
		Q := mat.NewDense(p, len(pairs), nil) // coefficient of s_a s_b in (RU s)_i^2
		T := mat.NewDense(k, len(pairs), nil) // coefficient of s_a s_b in s_r^2
		for c, ab := range pairs {
			a, b := ab[0], ab[1]
			for i := range p {
				if a == b {
					Q.Set(i, c, RU.At(i, a)*RU.At(i, a))
				} else {
					Q.Set(i, c, 2*RU.At(i, a)*RU.At(i, b))
				}
			}
			if a == b {
				T.Set(a, c, 1)
			}
		}
		var Mt mat.Dense // solve Q^T M^T = T^T in the least-squares sense
		if err := Mt.Solve(Q.T(), T.T()); err != nil {
			t.Fatal(err)
		}
		Ms[j] = mat.DenseCopyOf(Mt.T())
	}
	for l := 2; l <= tn.L; l++ {
		P := net.InDim(l)
		K := mat.NewDense(k, P, net.K[l])
		off := 0
		for i, j := range targetnet.Sources(tn.Connections, l) {
			var blk mat.Dense
			if j <= 1 {
				blk.Mul(U[l], tn.W[l][i])
			} else {
				var tmp mat.Dense
				tmp.Mul(U[l], tn.W[l][i])
				blk.Mul(&tmp, Ms[j])
			}
			_, c := blk.Dims()
			K.Slice(0, k, off, off+c).(*mat.Dense).Copy(&blk)
			off += c
		}
		clear(net.W[l])
		copy(net.W[l], net.K[l])
	}
	net.B[0] = -tn.Mean
	return net, U
}

func randomOrthogonal(k int, rng *rand.Rand) *mat.Dense {
	a := mat.NewDense(k, k, nil)
	for i := range k {
		for j := range k {
			a.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(a)
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

// A learner built from the target's own weights (rotated) has near-zero
// loss, near-zero gradient and near-zero feature error in every layer.
// Tolerances: everything is exact up to rounding in float64 and one
// least-squares solve of a well-conditioned k(k+1)/2 system, so relative
// errors of 1e-18 on squared quantities (1e-9 on amplitudes) are ample;
// eps is computed as (||S||^2 + ||S*||^2 - 2 nuc)/||S*||^2, which cancels
// to a floor of a few 1e-16, so it gets 1e-12.
func TestTargetWeightsGiveZeroError(t *testing.T) {
	for _, conn := range []string{targetnet.Skip0, targetnet.Chain, targetnet.Dense} {
		t.Run(conn, func(t *testing.T) {
			sp := &targetnet.Spec{D: 6, K: 2, L: 4, Gap: 0.5, Connections: conn, Center1: true, Input: targetnet.Gaussian,
				NormSamples: 2000, NTrain: 300, NTest: 200, Seed: 11, Threads: 1}
			res, err := targetnet.Generate(context.Background(), sp)
			if err != nil {
				t.Fatal(err)
			}
			net, _ := fromTarget(t, res.Net, 5, 4, rand.New(rand.NewPCG(12, 13)))
			all := []int{2, 3, 4}
			m, _ := NewMask(4, all, all)
			ws := NewWorkspace(net, 2)
			test := res.Test
			N := test.N
			pred := make([]float64, N)
			feats := [][]float64{nil, nil, make([]float64, N*2), make([]float64, N*2), make([]float64, N*2)}
			if _, err := net.Eval(ws, test.X.RawMatrix().Data, m, pred, feats); err != nil {
				t.Fatal(err)
			}
			var mse, vy float64
			for i, p := range pred {
				mse += (p - test.Y[i]) * (p - test.Y[i])
				vy += test.Y[i] * test.Y[i]
			}
			if mse/vy > 1e-18 {
				t.Errorf("relative test error %g", mse/vy)
			}
			for l := 2; l <= 4; l++ {
				eps, _ := metrics.FeatureError(mat.NewDense(N, 2, feats[l]), test.S[l])
				if eps > 1e-12 { // FeatureError's cancellation floor is ~1e-15
					t.Errorf("eps_%d = %g", l, eps)
				}
			}
			st, err := net.LossGrad(ws, res.Train.X.RawMatrix().Data, res.Train.Y, seq(res.Train.N), m)
			if err != nil {
				t.Fatal(err)
			}
			if st.MSE/(vy/float64(N)) > 1e-18 || st.Reg > 1e-18 {
				t.Errorf("loss at the target: mse %g reg %g", st.MSE, st.Reg)
			}
			var gmax float64
			for l := 2; l <= 4; l++ {
				for _, g := range append(slices.Clone(ws.GK[l]), ws.GW[l]...) {
					gmax = max(gmax, math.Abs(g))
				}
			}
			if gmax > 1e-7 {
				t.Errorf("largest gradient entry at the target %g, want ~0", gmax)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	good := smallConfig(targetnet.Skip0)
	bad := []func(c *Config){
		func(c *Config) { c.P = 2 },
		func(c *Config) { c.Connections = "ring" },
		func(c *Config) { c.Alpha = c.Alpha[:3] },
		func(c *Config) { c.Alpha = []float64{0, 0, 1, 0, 1} },
		func(c *Config) { c.LambdaKW = -1 },
		func(c *Config) { c.FeatureClip = math.Inf(1) },
		func(c *Config) { c.M = 0 },
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, f := range bad {
		c := good
		c.Alpha = slices.Clone(good.Alpha)
		f(&c)
		if c.Validate() == nil {
			t.Errorf("case %d: %+v accepted", i, c)
		}
	}
	if _, err := NewMask(4, []int{2}, []int{3}); err == nil {
		t.Error("trainable inactive layer accepted")
	}
	if _, err := NewMask(4, nil, nil); err == nil {
		t.Error("empty active set accepted")
	}
}

// Blocks exposes every K_l, W_l and the bias, freezes what the mask does
// not train, and applies the per-layer rate multipliers.
func TestBlocks(t *testing.T) {
	cfg := smallConfig(targetnet.Skip0)
	net, _ := New(cfg, Init{K: 1, W: 1}, rand.New(rand.NewPCG(1, 1)))
	ws := NewWorkspace(net, 1)
	m, _ := NewMask(cfg.L, []int{2, 3}, []int{3})
	scale := []float64{0, 0, 1, 0.5, 0.25}
	got := map[string]string{}
	for _, b := range ws.Blocks(net, m, scale) {
		got[b.Name] = fmt.Sprintf("frozen=%v scale=%v n=%d", b.Frozen, b.LRScale, len(b.W))
	}
	want := map[string]string{
		"K2": "frozen=true scale=1 n=16", "W2": "frozen=true scale=1 n=40",
		"K3": "frozen=false scale=0.5 n=14", "W3": "frozen=false scale=0.5 n=35",
		"K4": "frozen=true scale=0.25 n=14", "W4": "frozen=true scale=0.25 n=35",
		"b": "frozen=false scale=1 n=1",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("block %s: %s, want %s", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("blocks %v", got)
	}
}

// Bad inputs are errors, not panics.
func TestLossGradErrors(t *testing.T) {
	cfg := smallConfig(targetnet.Skip0)
	net, _ := New(cfg, Init{K: 1, W: 1}, rand.New(rand.NewPCG(1, 1)))
	other := cfg
	other.M = 7
	otherNet, _ := New(other, Init{K: 1, W: 1}, rand.New(rand.NewPCG(1, 1)))
	x, y := randomData(rand.New(rand.NewPCG(2, 2)), 10, cfg.D)
	m, _ := NewMask(cfg.L, []int{2}, []int{2})
	ws := NewWorkspace(net, 1)
	cases := []struct {
		name string
		run  func() error
	}{
		{"empty", func() error { _, err := net.LossGrad(ws, x, y, nil, m); return err }},
		{"row", func() error { _, err := net.LossGrad(ws, x, y, []int{3, 10}, m); return err }},
		{"shape", func() error { _, err := net.LossGrad(ws, x[:5], y, []int{0}, m); return err }},
		{"workspace", func() error { _, err := otherNet.LossGrad(ws, x, y, []int{0}, m); return err }},
		{"eval", func() error { _, err := net.Eval(ws, x, m, make([]float64, 3), nil); return err }},
	}
	for _, c := range cases {
		if err := c.run(); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

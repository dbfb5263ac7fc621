package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/lib/learner"
	"github.com/bfc-repro/bfc/stages/lib/optim"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// The peer is a second implementation of the learner: these tests run it
// (when Debian's python3-torch is installed) against the Go code, so that
// the speed comparison compares the same computation and the flop counts
// of the report are torch's own.

const torchScript = "../../bench/torch_learner.py"

// torchPython returns the interpreter that has torch, or skips the test:
// the peer is optional (`make bench-deps` installs it). With
// BFC_REQUIRE_TORCH set, a missing torch fails instead.
func torchPython(t *testing.T) string {
	t.Helper()
	const python = "/usr/bin/python3"
	out, err := exec.Command(python, "-c", "import torch").CombinedOutput()
	if err == nil {
		return python
	}
	msg := fmt.Sprintf("%s cannot import torch (%v: %s); `make bench-deps` installs python3-torch", python, err, tail(string(out), 200))
	if os.Getenv("BFC_REQUIRE_TORCH") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; set BFC_REQUIRE_TORCH=1 to make this a failure")
	return ""
}

// runTorch runs the peer script with one thread and returns its stdout.
func runTorch(t *testing.T, python string, args ...string) string {
	t.Helper()
	cmd := exec.Command(python, append([]string{torchScript}, args...)...)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", torchScript, strings.Join(args, " "), err, tail(stderr.String(), 500))
	}
	return string(out)
}

// torchCase is the JSON a --check run reads (see bench/torch_learner.py).
type torchCase struct {
	D            int       `json:"d"`
	K            int       `json:"k"`
	L            int       `json:"L"`
	M            int       `json:"m"`
	P            int       `json:"p"`
	Connections  string    `json:"connections"`
	Center1      bool      `json:"center1"`
	Alpha        []float64 `json:"alpha"`
	LambdaKW     float64   `json:"lambda_kw"`
	WeightDecay  float64   `json:"weight_decay"`
	FeatureClip  float64   `json:"feature_clip"`
	ResidualClip float64   `json:"residual_clip"`

	KW      map[string][]float64 `json:"K"`
	W       map[string][]float64 `json:"W"`
	R       map[string][]float64 `json:"R"`
	B       []float64            `json:"b"`
	X       []float64            `json:"x"`
	Y       []float64            `json:"y"`
	Batches [][]int              `json:"batches"`

	LR    float64 `json:"lr"`
	Clip  float64 `json:"clip"`
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	Eps   float64 `json:"eps"`
}

// torchResult is what a --check run prints.
type torchResult struct {
	Loss    float64              `json:"loss"`
	MSE     float64              `json:"mse"`
	Grad    map[string][]float64 `json:"grad"`
	Losses  []float64            `json:"losses"`
	Weights map[string][]float64 `json:"weights"`
}

// blocks returns n's parameter arrays by optimiser block name (K2, W2, ..., b).
func blocks(n *learner.Net) map[string][]float64 {
	out := map[string][]float64{"b": n.B}
	for l := 2; l <= n.Cfg.L; l++ {
		out["K"+strconv.Itoa(l)] = n.K[l]
		out["W"+strconv.Itoa(l)] = n.W[l]
	}
	return out
}

// relDiff is max|a-b| / max(max|a|, tiny): the error relative to the
// block's scale.
func relDiff(a, b []float64) float64 {
	var d, s float64
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
		s = math.Max(s, math.Abs(a[i]))
	}
	return d / math.Max(s, 1e-300)
}

// TestTorchReferenceMatchesLearner gives the Go learner and the PyTorch
// reference the same weights, data and minibatches and compares the loss
// and every gradient at the start, and the losses and weights over a few
// Adam steps with gradient clipping, on networks that exercise every
// option of the loss (source sets, centring, the truncated activation,
// the Huber loss, weight decay).
func TestTorchReferenceMatchesLearner(t *testing.T) {
	python := torchPython(t)
	alpha := []float64{0, 0, 1, 0.3, 0.09}
	cases := []struct {
		name string
		cfg  learner.Config
		clip float64
		// The case must exercise these paths (checked on the Go side).
		wantClipSteps, wantClippedFeatures, wantHuber bool
	}{
		{"skip0 L=3, the benchmark's network", learner.Config{D: 6, K: 3, L: 3, M: 5, P: 8, Connections: targetnet.Skip0, Center1: true,
			Alpha: alpha[:4], LambdaKW: 0.1, WeightDecay: 1e-3}, 0, false, false, false},
		{"dense L=4, truncated activation, Huber loss, clipped gradients", learner.Config{D: 4, K: 2, L: 4, M: 3, P: 4,
			Connections: targetnet.Dense, Center1: true, Alpha: alpha, LambdaKW: 0.3, WeightDecay: 1e-2, FeatureClip: 0.15, ResidualClip: 1},
			0.5, true, true, true},
		// Uncentred, layer 1 is x² and the gradients are large: clipped.
		{"chain L=3, uncentred layer 1", learner.Config{D: 5, K: 2, L: 3, M: 4, P: 3, Connections: targetnet.Chain,
			Alpha: alpha[:4], LambdaKW: 0.05}, 5, true, false, false},
	}
	const N, batch, steps, lr = 40, 16, 3, 1e-2
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(ci)+1, 7))
			net, err := learner.New(c.cfg, learner.Init{K: 0.6, W: 0.8}, rng)
			if err != nil {
				t.Fatal(err)
			}
			x, y := make([]float64, N*c.cfg.D), make([]float64, N)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			for i := range y {
				y[i] = 2 * rng.NormFloat64()
			}
			batches := make([][]int, steps)
			for s := range batches {
				batches[s] = rng.Perm(N)[:batch]
			}
			tc := torchCase{D: c.cfg.D, K: c.cfg.K, L: c.cfg.L, M: c.cfg.M, P: c.cfg.P, Connections: c.cfg.Connections,
				Center1: c.cfg.Center1, Alpha: c.cfg.Alpha, LambdaKW: c.cfg.LambdaKW, WeightDecay: c.cfg.WeightDecay,
				FeatureClip: c.cfg.FeatureClip, ResidualClip: c.cfg.ResidualClip,
				KW: map[string][]float64{}, W: map[string][]float64{}, R: map[string][]float64{}, B: net.B, X: x, Y: y,
				Batches: batches, LR: lr, Clip: c.clip, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
			for l := 2; l <= c.cfg.L; l++ {
				tc.KW[strconv.Itoa(l)], tc.W[strconv.Itoa(l)] = net.K[l], net.W[l]
				if l < c.cfg.L {
					tc.R[strconv.Itoa(l)] = net.R[l]
				}
			}
			js, err := json.Marshal(tc)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "case.json")
			if err := os.WriteFile(file, js, 0o644); err != nil {
				t.Fatal(err)
			}
			var got torchResult
			if err := json.Unmarshal([]byte(runTorch(t, python, "--check", file)), &got); err != nil {
				t.Fatalf("torch_learner.py --check output: %v", err)
			}

			// The Go side: the same loss and gradients, then the same steps.
			all := make([]int, 0, c.cfg.L-1)
			for l := 2; l <= c.cfg.L; l++ {
				all = append(all, l)
			}
			mask, err := learner.NewMask(c.cfg.L, all, all)
			if err != nil {
				t.Fatal(err)
			}
			ws := learner.NewWorkspace(net, 1)
			start := net.Clone()
			st, err := start.LossGrad(ws, x, y, batches[0], mask)
			if err != nil {
				t.Fatal(err)
			}
			const tol = 1e-10 // float64 with different summation orders
			if d := math.Abs(st.Loss-got.Loss) / math.Abs(st.Loss); d > tol {
				t.Errorf("loss: Go %.17g, torch %.17g (relative difference %.2g)", st.Loss, got.Loss, d)
			}
			if d := math.Abs(st.MSE-got.MSE) / math.Abs(st.MSE); d > tol {
				t.Errorf("mse: Go %.17g, torch %.17g (relative difference %.2g)", st.MSE, got.MSE, d)
			}
			for _, b := range ws.Blocks(start, mask, nil) {
				if d := relDiff(b.G, got.Grad[b.Name]); len(got.Grad[b.Name]) != len(b.G) || d > tol {
					t.Errorf("gradient of %s: relative difference %.2g (Go %.6g..., torch %.6g...)", b.Name, d, b.G[0], got.Grad[b.Name][0])
				}
			}
			if (st.ClippedFeatures > 0) != c.wantClippedFeatures || (st.ClippedResiduals > 0) != c.wantHuber {
				t.Errorf("the case clips %d features and %d residuals; want clipping %v, %v (else it does not test what it says)",
					st.ClippedFeatures, st.ClippedResiduals, c.wantClippedFeatures, c.wantHuber)
			}

			oc := optim.DefaultAdam()
			oc.Clip = c.clip
			opt, err := optim.New(oc)
			if err != nil {
				t.Fatal(err)
			}
			clipped := 0
			for s, rows := range batches {
				st, err := net.LossGrad(ws, x, y, rows, mask)
				if err != nil {
					t.Fatal(err)
				}
				norm, err := opt.Step(ws.Blocks(net, mask, nil), lr)
				if err != nil {
					t.Fatal(err)
				}
				if c.clip > 0 && norm > c.clip {
					clipped++
				}
				if d := math.Abs(st.Loss-got.Losses[s]) / math.Abs(st.Loss); d > tol {
					t.Errorf("step %d: loss Go %.17g, torch %.17g (relative difference %.2g)", s+1, st.Loss, got.Losses[s], d)
				}
			}
			if (clipped > 0) != c.wantClipSteps {
				t.Errorf("%d of %d steps clipped at %g; want clipping %v", clipped, steps, c.clip, c.wantClipSteps)
			}
			for name, w := range blocks(net) {
				// Adam divides by sqrt(v): a little looser than the gradients.
				if d := relDiff(w, got.Weights[name]); len(got.Weights[name]) != len(w) || d > 1e-9 {
					t.Errorf("%s after %d steps: relative difference %.2g", name, steps, d)
				}
			}
		})
	}
}

// TestTorchFlopsMatchProfiler checks torchStepFlops against the flops
// torch.profiler counts in the matrix products of one step of the script,
// at the report's sizes and at a deeper network whose layers read several
// lower ones. Each size starts the interpreter once (about 1.5 s), so
// -short skips it.
func TestTorchFlopsMatchProfiler(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: one Python process per size")
	}
	python := torchPython(t)
	sizes := append([]learnerSize{}, learnerSizes...)
	sizes = append(sizes, learnerSize{Name: "dense", D: 5, K: 2, L: 4, M: 7, Batch: 32, Connections: targetnet.Dense})
	for _, s := range sizes {
		t.Run(s.Name, func(t *testing.T) {
			m, _, err := parseKeyValues(runTorch(t, python, torchArgs(s, 1)...), "torch")
			if err != nil {
				t.Fatal(err)
			}
			if err := need(m, "torch_learner.py", "flops_per_step", "samples_per_s"); err != nil {
				t.Fatal(err)
			}
			if got, want := m["flops_per_step"], torchStepFlops(s); got != want {
				t.Errorf("torch.profiler counts %.0f flops per step, torchStepFlops %.0f", got, want)
			}
		})
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// The sizes of the learner comparison: the default E1 size and the large
// size of issue 6 (the sizes BenchmarkStep in stages/lib/learner runs).
var learnerSizes = []learnerSize{
	{Name: "E1", D: 16, K: 3, L: 3, M: 64, Batch: 256, Connections: targetnet.Skip0},
	{Name: "large", D: 16, K: 3, L: 3, M: 1024, Batch: 1024, Connections: targetnet.Skip0},
}

// stepArgs are BenchmarkStep's settings besides the size (lambda_KW 0.1,
// no weight decay, gradient norm clipped at 10, Adam at rate 2e-3,
// initial scales 0.1 for K and 1 for W), as torch_learner.py's flags, so
// that the peer runs the step that ours runs.
var stepArgs = []string{"--lambda-kw", "0.1", "--weight-decay", "0", "--clip", "10", "--lr", "2e-3",
	"--init-k", "0.1", "--init-w", "1", "--gap", "0.3"}

// torchArgs are torch_learner.py's flags for one size.
func torchArgs(s learnerSize, steps int) []string {
	conn := s.Connections
	if conn == "" {
		conn = targetnet.Skip0
	}
	return append([]string{"--d", strconv.Itoa(s.D), "--k", strconv.Itoa(s.K), "--L", strconv.Itoa(s.L),
		"--m", strconv.Itoa(s.M), "--batch", strconv.Itoa(s.Batch), "--connections", conn,
		"--steps", strconv.Itoa(steps)}, stepArgs...)
}

// learnerRunner is one way of running our learner benchmark.
type learnerRunner struct {
	id, backend string
	blasThreads int // OPENBLAS_NUM_THREADS
}

// executorBLAS is the id of the OpenBLAS build run with as many OpenBLAS
// threads as cores, which is what the local and Slurm executors set for a
// stage (OPENBLAS_NUM_THREADS = its CPU grant).
const executorBLAS = "openblas-executor"

// learnerRunners are the ways ours runs on c cores: each build with one
// OpenBLAS thread (stages/lib/linalg's default: the learner parallelises over
// samples itself), and on several cores also the OpenBLAS build with one
// OpenBLAS thread per core, as the executors run stages.
func learnerRunners(c int) []learnerRunner {
	rs := []learnerRunner{{pureBackend, pureBackend, 1}, {"openblas", "openblas", 1}}
	if c > 1 {
		rs = append(rs, learnerRunner{executorBLAS, "openblas", c})
	}
	return rs
}

// stepBenchName is BenchmarkStep's name for one size, backend and
// thread count.
func stepBenchName(s learnerSize, backend string, threads int) string {
	return fmt.Sprintf("BenchmarkStep/%s/%s/m=%d/batch=%d/threads=%d", backend, s.Name, s.M, s.Batch, threads)
}

// Probe ids, shared by probes() and the report.
func learnerID(s learnerSize, cores int, who string) string {
	return fmt.Sprintf("learner/%s/c%d/%s", s.Name, cores, who)
}
func krrID(n int, who string) string { return fmt.Sprintf("krr/%d/%s", n, who) }
func peakID(cores int) string        { return fmt.Sprintf("peak/c%d", cores) }

const (
	idStore     = "store"
	idSynthetic = "pipeline/synthetic"
	idProject   = "pipeline/project"
	idNoop      = "cli/noop"
	idVerify    = "cli/verify"
	idStatus    = "cli/status"
)

// torchSteps is how many steps the peer times: about 2 s at each size.
func (h *harness) torchSteps(s learnerSize) int {
	switch {
	case h.cfg.quick:
		return 10
	case s.Name == "E1":
		return 3000
	default:
		return 100
	}
}

func (h *harness) goBenchtime() string {
	if h.cfg.quick {
		return "10x"
	}
	return "2s"
}

// probes lists the measurements of one round, peers next to ours.
func (h *harness) probes() []probe {
	var ps []probe
	torch := filepath.Join(h.cfg.peers, "torch_learner.py")
	if h.cfg.section("learner") {
		for _, s := range learnerSizes {
			for _, c := range numCores() {
				for _, who := range learnerRunners(c) {
					bin := h.bins["learner/"+who.backend]
					if bin == "" {
						continue
					}
					name := stepBenchName(s, who.backend, c)
					env := map[string]string{"GOMAXPROCS": strconv.Itoa(c), "OPENBLAS_NUM_THREADS": strconv.Itoa(who.blasThreads)}
					ps = append(ps, probe{id: learnerID(s, c, who.id), label: fmt.Sprintf("learner %s, %d core(s), ours %s", s.Name, c, who.id),
						run: func(ctx context.Context) (metrics, error) {
							m, err := h.goBenchProbe(ctx, bin, benchPattern(name), h.goBenchtime(), env, map[string]string{"step": name})
							if err == nil {
								err = need(m, name, "step samples/s", "step GFLOP/s", "step ns/op")
							}
							return m, err
						}})
				}
				args := torchArgs(s, h.torchSteps(s))
				env := threads(c)
				ps = append(ps, probe{id: learnerID(s, c, "torch"), label: fmt.Sprintf("learner %s, %d core(s), torch", s.Name, c), peer: true,
					run: func(ctx context.Context) (metrics, error) {
						m, err := h.scriptProbe(ctx, torch, "torch", env, 10*time.Minute, args...)
						if err == nil {
							err = need(m, "torch_learner.py", "samples_per_s", "flops_per_step")
						}
						return m, err
					}})
			}
		}
	}
	if h.cfg.section("learner") || h.cfg.section("gemm") {
		n := "4096"
		if h.cfg.quick {
			n = "512"
		}
		for _, c := range numCores() {
			env := threads(c)
			ps = append(ps, probe{id: peakID(c), label: fmt.Sprintf("dgemm peak, %d thread(s)", c), peer: true, best: true,
				run: func(ctx context.Context) (metrics, error) {
					m, err := h.scriptProbe(ctx, filepath.Join(h.cfg.peers, "dgemm_peak.py"), "dgemm", env, 5*time.Minute, "--n", n)
					if err == nil {
						err = need(m, "dgemm_peak.py", "gflops")
					}
					return m, err
				}})
		}
	}
	if h.cfg.section("krr") {
		c := runtime.NumCPU()
		for _, n := range h.cfg.krrN {
			for _, b := range backends {
				bin := h.bins["krr/"+b]
				if bin == "" {
					continue
				}
				picks := map[string]string{
					"gram": fmt.Sprintf("BenchmarkKRR/gram/%s/n=%d", b, n),
					"fit":  fmt.Sprintf("BenchmarkKRR/fit/%s/n=%d", b, n),
				}
				ps = append(ps, probe{id: krrID(n, b), label: fmt.Sprintf("KRR n=%d, ours %s", n, b),
					run: func(ctx context.Context) (metrics, error) {
						m, err := h.goBenchProbe(ctx, bin, "^BenchmarkKRR$", "1x", threads(c), picks, "-krr.n", strconv.Itoa(n))
						if err == nil {
							err = need(m, "BenchmarkKRR", "gram ns/op", "fit ns/op")
						}
						return m, err
					}})
			}
			ps = append(ps, probe{id: krrID(n, "sklearn"), label: fmt.Sprintf("KRR n=%d, sklearn", n), peer: true,
				run: func(ctx context.Context) (metrics, error) {
					m, err := h.scriptProbe(ctx, filepath.Join(h.cfg.peers, "sklearn_krr.py"), "sklearn", threads(c), 40*time.Minute, "--n", strconv.Itoa(n))
					if err == nil {
						err = need(m, "sklearn_krr.py", "fit_s", "gram_s")
					}
					return m, err
				}})
		}
	}
	if h.cfg.section("store") {
		bt := "1s"
		if h.cfg.quick {
			bt = "2x"
		}
		picks := map[string]string{"encode": "BenchmarkEncodeTable", "decode": "BenchmarkDecodeTable",
			"check": "BenchmarkCheckObject", "verify": "BenchmarkVerify"}
		ps = append(ps, probe{id: idStore, label: "artifacts benchmarks",
			run: func(ctx context.Context) (metrics, error) {
				m, err := h.goBenchProbe(ctx, h.bins["artifacts"], "^Benchmark(EncodeTable|DecodeTable|CheckObject|Verify)$", bt, threads(runtime.NumCPU()), picks)
				if err == nil {
					err = need(m, "artifacts benchmarks", "encode MB/s", "decode MB/s", "check MB/s", "verify MB/s")
				}
				return m, err
			}})
	}
	if h.cfg.section("pipeline") {
		bt := "5x"
		if h.cfg.quick {
			bt = "1x"
		}
		env := threads(runtime.NumCPU())
		ps = append(ps, probe{id: idSynthetic, label: "engine benchmarks",
			run: func(ctx context.Context) (metrics, error) {
				picks := map[string]string{"synthetic": "BenchmarkNoopRunSynthetic", "codeid": "BenchmarkCodeIdentity"}
				return h.goBenchProbe(ctx, h.bins["pipeline"], "^Benchmark(NoopRunSynthetic|CodeIdentity)$", bt, env, picks)
			}})
		ps = append(ps, probe{id: idProject, label: "in-process no-op run of the project copy",
			run: func(ctx context.Context) (metrics, error) {
				if h.projErr != nil {
					return nil, h.projErr
				}
				penv := map[string]string{"BFC_BENCH_PROJECT": h.project, "BFC_BENCH_PROFILE": h.profile}
				for k, v := range env {
					penv[k] = v
				}
				return h.goBenchProbe(ctx, h.bins["pipeline"], "^BenchmarkNoopRunProject$", bt, penv, map[string]string{"project": "BenchmarkNoopRunProject"})
			}})
		for _, c := range []struct{ id, label string }{{idNoop, "run"}, {idVerify, "verify"}, {idStatus, "status"}} {
			ps = append(ps, probe{id: c.id, label: "bfc " + c.label + " on the project copy",
				run: func(ctx context.Context) (metrics, error) {
					if h.projErr != nil {
						return nil, h.projErr
					}
					res := h.exec(ctx, command{args: h.bfcArgs(c.label), dir: h.project, env: env, timeout: 2 * time.Minute})
					if res.err != nil {
						return nil, fmt.Errorf("bfc %s: %v: %s", c.label, res.err, tail(res.out, 300))
					}
					return metrics{"s": res.wall.Seconds()}, nil
				}})
		}
	}
	return append(ps, h.engineProbes()...)
}

// storeObjects returns the number of objects in the project copy.
func (h *harness) storeObjects() int {
	n := 0
	filepath.WalkDir(filepath.Join(h.project, ".bfc", "objects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

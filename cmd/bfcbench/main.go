// Command bfcbench is `make bench`: it measures bfc's speed side by side
// with its peers, in one invocation, and prints one table of ratios
// (ours / peer) with the date, the builds and the machine's load.
//
// What it compares (see README, section Performance):
//
//   - the learner's training step (stages/lib/learner BenchmarkStep, one loss,
//     gradient and Adam step with clipping) at the default E1 size and at a
//     large size, pure Go and `-tags openblas`, against the project's
//     PyTorch reference of the same learner, bench/torch_learner.py, on 1
//     and on 2 cores; for the large step the achieved GFLOP/s, with the
//     flops each formulation does (torchStepFlops for the peer, which
//     torch.profiler confirms, the benchmark's own count for ours), next
//     to the machine's float64 peak measured with OpenBLAS dgemm
//     (bench/dgemm_peak.py);
//   - kernel ridge regression with the sweep's polynomial kernel
//     (1 + ⟨x,y⟩/16)^8: Gram matrix and Cholesky solve (BenchmarkKRR in
//     this directory) against scikit-learn's KernelRidge.fit
//     (bench/sklearn_krr.py), at n = 4096 and 10000, on 2 threads;
//   - Arrow encode/decode and store hashing (artifacts benchmarks), the
//     engine's no-op run (pipeline benchmarks), and the real thing: `bfc
//     status`, `bfc run` and `bfc verify` on a copy of the project's
//     store (never on .bfc itself), timed as processes;
//   - the peak memory of every stage point of the default profile, from
//     the run records in the store's manifests.
//
// The machine is shared, so ours and the peers run interleaved, round
// after round (the order reversed every other round), and every figure is
// a median over the rounds (the dgemm peak is the best). Peers that are
// not installed are reported as n/a; a failure of our own benchmarks makes
// the exit status 1. -quick runs tiny sizes once, to smoke-test the
// harness in CI.
//
// Usage, from the repository root:
//
//	go run ./cmd/bfcbench [-quick] [-reps 3] [-o bench.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// config is the command line.
type config struct {
	root   string // repository root (holds go.mod)
	quick  bool
	reps   int
	python string
	peers  string // directory of the peer scripts (torch_learner.py, sklearn_krr.py, dgemm_peak.py)
	bfc    string // bfc binary for the no-op run; "" builds one (pure Go)
	store  string // the store to copy
	work   string // scratch directory; "" makes a temporary one
	keep   bool
	out    string // also write the report here
	krrN   []int
	gemmN  []int // matrix orders of the GEMM comparison
	sweepN []int // point counts of the synthetic sweep
	// profile is the pipeline profile whose store the engine rows
	// measure: "auto" is the default profile if it is fully computed,
	// else "smoke".
	profile  string
	sweepDir string          // where the synthetic sweep stores are kept between runs
	e2e      bool            // bench-e2e: this checkout against e2eBase, whole pipeline
	e2eBase  string          // commit of the baseline
	jobs     int             // -j of the efficiency and e2e runs
	only     map[string]bool // sections to run; empty: all
}

// sections names the parts of the benchmark (-only).
var sections = []string{"learner", "gemm", "krr", "store", "pipeline", "efficiency", "sweep", "memory"}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("bfcbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var krr, only, gemm, sweep string
	fs.BoolVar(&c.quick, "quick", false, "tiny sizes, one round: smoke-test the harness")
	fs.IntVar(&c.reps, "reps", 3, "rounds (each figure is the median over rounds)")
	fs.StringVar(&c.python, "python", "/usr/bin/python3", "Python with torch, scikit-learn and numpy (Debian's)")
	fs.StringVar(&c.peers, "peers", "bench", "directory of the peer scripts torch_learner.py, sklearn_krr.py and dgemm_peak.py (relative to the repository root)")
	fs.StringVar(&c.bfc, "bfc", "", "bfc binary for the no-op run (default: build ./cmd/bfc, pure Go, into the scratch directory)")
	fs.StringVar(&c.store, "store", ".bfc", "store to copy for the no-op run, verify and memory")
	fs.StringVar(&c.work, "work", "", "scratch directory (default: a new temporary directory, removed at the end)")
	fs.BoolVar(&c.keep, "keep", false, "keep the scratch directory")
	fs.StringVar(&c.out, "o", "", "also write the report (Markdown) to this file")
	fs.StringVar(&krr, "krr", "4096,10000", "sample counts n of the kernel ridge comparison")
	fs.StringVar(&gemm, "gemm", "1024,4096", "matrix orders n of the GEMM comparison (fastblas against the dgemm peak)")
	fs.StringVar(&sweep, "sweep", "624,1000,10000,100000", "point counts of the synthetic sweep (BenchmarkSweep in pipeline/exec)")
	fs.StringVar(&c.sweepDir, "sweepdir", defaultSweepDir(), "directory that keeps the computed synthetic sweep stores between runs (100000 points take minutes to compute once)")
	fs.StringVar(&c.profile, "profile", "auto", "profile whose store the engine rows (run, status, verify, memory) measure: a profile name, \"default\", or auto (the default profile if fully computed, else smoke)")
	fs.BoolVar(&c.e2e, "e2e", false, "instead of the rest: the whole pipeline from an empty store, this checkout against -base (make bench-e2e)")
	fs.StringVar(&c.e2eBase, "base", "76b76ed", "baseline commit of -e2e (built in a temporary git worktree)")
	fs.IntVar(&c.jobs, "j", 2, "CPU budget (-j) of the smoke run timed for parallel efficiency and of the -e2e runs")
	fs.StringVar(&only, "only", "", "comma-separated sections to run: "+strings.Join(sections, ", ")+" (default all)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: bfcbench [flags]   (from the repository root; `make bench`)\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.quick {
		c.reps = 1
		krr, gemm, sweep = "512", "256", "1000"
	}
	if c.reps < 1 {
		return c, fmt.Errorf("-reps %d: need at least 1", c.reps)
	}
	var lerr error
	if c.krrN, lerr = intList("-krr", krr, 16); lerr != nil {
		return c, lerr
	}
	if c.gemmN, lerr = intList("-gemm", gemm, 8); lerr != nil {
		return c, lerr
	}
	if c.sweepN, lerr = intList("-sweep", sweep, 4); lerr != nil {
		return c, lerr
	}
	if c.jobs < 1 {
		return c, fmt.Errorf("-j %d: need at least 1", c.jobs)
	}
	if c.profile == "" {
		return c, fmt.Errorf("-profile: empty (use default, auto or a profile name)")
	}
	c.only = map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !contains(sections, s) {
			return c, fmt.Errorf("-only: unknown section %q (have %s)", s, strings.Join(sections, ", "))
		}
		c.only[s] = true
	}
	wd, err := os.Getwd()
	if err != nil {
		return c, err
	}
	if _, err := os.Stat(filepath.Join(wd, "go.mod")); err != nil {
		return c, fmt.Errorf("run bfcbench from the repository root (no go.mod in %s)", wd)
	}
	c.root = wd
	if !filepath.IsAbs(c.peers) {
		c.peers = filepath.Join(wd, c.peers)
	}
	if !filepath.IsAbs(c.store) {
		c.store = filepath.Join(wd, c.store)
	}
	if !filepath.IsAbs(c.sweepDir) {
		c.sweepDir = filepath.Join(wd, c.sweepDir)
	}
	if c.bfc != "" && !filepath.IsAbs(c.bfc) {
		c.bfc = filepath.Join(wd, c.bfc)
	}
	return c, nil
}

func (c config) section(s string) bool { return len(c.only) == 0 || c.only[s] }

// intList parses a comma-separated list of integers of at least min.
func intList(flagName, list string, min int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < min {
			return nil, fmt.Errorf("%s: %q is not a whole number >= %d", flagName, f, min)
		}
		out = append(out, n)
	}
	return out, nil
}

// defaultSweepDir is where the synthetic sweep stores are kept: the user's
// cache directory (they cost minutes to compute and never change), or a
// temporary directory's.
func defaultSweepDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "bfcbench", "sweep")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bfcbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.e2e {
		os.Exit(runE2E(ctx, cfg, os.Stdout, os.Stderr))
	}
	os.Exit(run(ctx, cfg, os.Stdout, os.Stderr))
}

// run measures everything and prints the report; it returns the exit status.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	h, err := newHarness(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bfcbench:", err)
		return 1
	}
	defer h.close()
	if err := h.build(ctx); err != nil {
		fmt.Fprintln(stderr, "bfcbench:", err)
		return 1
	}
	h.env = h.describe(ctx)
	h.prepareProject(ctx)
	h.measure(ctx, h.probes())
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "bfcbench: interrupted")
		return 1
	}
	rep := h.report()
	fmt.Fprint(stdout, rep)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(rep), 0o644); err != nil {
			fmt.Fprintln(stderr, "bfcbench:", err)
			return 1
		}
	}
	if bad := h.ourFailures(); len(bad) > 0 {
		fmt.Fprintf(stderr, "bfcbench: %d of our own measurements failed: %s\n", len(bad), strings.Join(bad, ", "))
		return 1
	}
	return 0
}

// numCores is the number of cores the comparisons use: 1 and, where the
// machine has them, 2.
func numCores() []int {
	if runtime.NumCPU() >= 2 {
		return []int{1, 2}
	}
	return []int{1}
}

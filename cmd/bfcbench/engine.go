package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bfc-repro/bfc/artifacts/store"
)

// Probe ids of the GEMM, efficiency and sweep rows.
func gemmID(n int) string   { return fmt.Sprintf("gemm/%d", n) }
func sweepID(n int) string  { return fmt.Sprintf("sweep/%d", n) }
func effProfile() string    { return "smoke" } // the profile of the efficiency run
func gemmKey(c int) string  { return fmt.Sprintf("c%d GFLOP/s", c) }
func sweepPhases() []string { return []string{"expand", "keys", "noop", "status"} }

const idEfficiency = "efficiency"

// gemmName is BenchmarkGemm's name (stages/lib/fastblas) for one order,
// micro-kernel and thread count.
func gemmName(n int, kernel string, threads int) string {
	return fmt.Sprintf("BenchmarkGemm/n=%d/%s/threads=%d", n, kernel, threads)
}

// bestGemm picks, among BenchmarkGemm results of order n on threads
// threads, the fastest SIMD micro-kernel (the scalar fallback and gonum are
// left out: they are not what the pure-Go build runs on these machines),
// and returns its GFLOP/s and name.
func bestGemm(res []goBench, n, threads int) (float64, string, error) {
	best, name := 0.0, ""
	prefix := fmt.Sprintf("BenchmarkGemm/n=%d/", n)
	suffix := fmt.Sprintf("/threads=%d", threads)
	for _, b := range res {
		k, ok := strings.CutPrefix(b.Name, prefix)
		if !ok || !strings.HasSuffix(k, suffix) {
			continue
		}
		k = strings.TrimSuffix(k, suffix)
		if k == "scalar" {
			continue
		}
		if g, ok := b.Metrics["GFLOP/s"]; ok && g > best {
			best, name = g, k
		}
	}
	if name == "" {
		return 0, "", fmt.Errorf("no SIMD kernel result of BenchmarkGemm/n=%d on %d threads in the output (built without GOEXPERIMENT=simd, or no AVX2?)", n, threads)
	}
	return best, name, nil
}

var (
	runSummaryLine = regexp.MustCompile(`bfc: (\d+) ran, (\d+) cached, (\d+) failed, (\d+) skipped in ([0-9.]+(?:ms|s|m[0-9.]*s)?)`)
	// engineEfficiency is the parallel efficiency a run reports, if the
	// engine prints one ("parallel efficiency 93%").
	engineEfficiency = regexp.MustCompile(`(?i)parallel efficiency[^0-9\n]*([0-9]+(?:\.[0-9]+)?)\s*%`)
)

// runSummary is the last line of `bfc run`.
type runSummary struct {
	ran, cached, failed int
	elapsed             time.Duration
	efficiency          float64 // the engine's own figure, as a fraction; NaN if it prints none
}

// parseRunSummary reads the summary line of `bfc run` ("bfc: 138 ran, 8
// cached, 0 failed, 0 skipped in 7.455s") and the engine's parallel
// efficiency, if it reports one.
func parseRunSummary(out string) (runSummary, error) {
	m := runSummaryLine.FindAllStringSubmatch(out, -1)
	if m == nil {
		return runSummary{}, fmt.Errorf("no \"bfc: N ran, N cached, N failed, N skipped in T\" line in the output of bfc run: %s", tail(out, 300))
	}
	last := m[len(m)-1]
	var s runSummary
	s.ran, _ = strconv.Atoi(last[1])
	s.cached, _ = strconv.Atoi(last[2])
	s.failed, _ = strconv.Atoi(last[3])
	d, err := time.ParseDuration(last[5])
	if err != nil {
		return s, fmt.Errorf("bfc run summary %q: duration: %w", last[0], err)
	}
	s.elapsed = d
	s.efficiency = math.NaN()
	if e := engineEfficiency.FindAllStringSubmatch(out, -1); e != nil {
		v, err := strconv.ParseFloat(e[len(e)-1][1], 64)
		if err == nil {
			s.efficiency = v / 100
		}
	}
	return s, nil
}

// pointTimes sums the run records of every manifest in a store: the wall
// seconds of the points and their CPU seconds (user + system), and counts
// the manifests. On a store that one run filled from empty, the sums over
// the run's wall time and cores is its parallel efficiency.
func pointTimes(storeDir string) (wall, cpu float64, n int, err error) {
	st, err := store.Open(storeDir, false)
	if err != nil {
		return 0, 0, 0, err
	}
	keys, err := st.ListManifests()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("manifests of %s: %w", storeDir, err)
	}
	for _, k := range keys {
		m, err := st.Manifest(k)
		if err != nil {
			return 0, 0, 0, err
		}
		wall += m.Run.WallSeconds
		cpu += m.Run.UserSeconds + m.Run.SysSeconds
		n++
	}
	return wall, cpu, n, nil
}

// projectFiles are what a pipeline run reads or writes besides its store:
// the file, the frozen decision rules (rules.lock: the claims stage's key
// depends on it), the committed figures and report, and stages/, which
// holds data files some profiles read (smoke's Fashion-MNIST sample; 2
// MB). The engine refuses files behind symbolic links out of the project,
// so they are copied.
var projectFiles = []string{"pipeline.toml", "rules.lock", "figures", "paper", "stages"}

// copyProjectFiles copies projectFiles from root into dir.
func copyProjectFiles(root, dir string) error {
	for _, f := range projectFiles {
		if _, err := copyTree(filepath.Join(root, f), filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("copy %s: %w", f, err)
		}
	}
	return nil
}

// timedRun runs `bfc [--profile P] -j J run` in dir with an empty store and
// returns its wall time, the summary and the point times from the store.
func (h *harness) timedRun(ctx context.Context, bfc, dir, profile string, jobs int, targets ...string) (metrics, error) {
	args := []string{bfc}
	if profile != "" {
		args = append(args, "--profile", profile)
	}
	args = append(append(args, "-j", strconv.Itoa(jobs), "run"), targets...)
	res := h.exec(ctx, command{args: args, dir: dir, timeout: 12 * time.Hour})
	if res.err != nil {
		return nil, fmt.Errorf("%s in %s: %v: %s", strings.Join(args[1:], " "), dir, res.err, tail(res.out, 300))
	}
	sum, err := parseRunSummary(res.out)
	if err != nil {
		return nil, err
	}
	wall, cpu, n, err := pointTimes(filepath.Join(dir, ".bfc"))
	if err != nil {
		return nil, err
	}
	cores := float64(min(jobs, runtime.NumCPU()))
	m := metrics{"wall_s": res.wall.Seconds(), "elapsed_s": sum.elapsed.Seconds(), "ran": float64(sum.ran),
		"manifests": float64(n), "points_s": wall, "cpu_s": cpu,
		"efficiency": wall / (res.wall.Seconds() * cores), "cpu_efficiency": cpu / (res.wall.Seconds() * cores)}
	if !math.IsNaN(sum.efficiency) {
		m["engine_efficiency"] = sum.efficiency
	}
	return m, nil
}

// engineProbes are the GEMM rows, the parallel efficiency of a smoke run
// and the synthetic sweep.
func (h *harness) engineProbes() []probe {
	var ps []probe
	if h.cfg.section("gemm") {
		for _, n := range h.cfg.gemmN {
			ps = append(ps, probe{id: gemmID(n), label: fmt.Sprintf("GEMM n=%d, fastblas", n),
				run: func(ctx context.Context) (metrics, error) {
					args := []string{h.bins["gemm"], "-test.run", "^$", "-test.bench", fmt.Sprintf("^BenchmarkGemm$/^n=%d$", n),
						"-test.benchtime", h.gemmBenchtime(n), "-fastblas.gonum=false", "-fastblas.n", "8," + strconv.Itoa(n)}
					res := h.exec(ctx, command{args: args, env: threads(runtime.NumCPU()), timeout: 30 * time.Minute})
					if res.err != nil {
						return nil, fmt.Errorf("fastblas BenchmarkGemm: %v: %s", res.err, tail(res.out, 300))
					}
					benches, err := parseGoBench(res.out, runtime.NumCPU())
					if err != nil {
						return nil, err
					}
					m := metrics{}
					for _, c := range numCores() {
						g, k, err := bestGemm(benches, n, c)
						if err != nil {
							return nil, err
						}
						m[gemmKey(c)] = g
						h.gemmKernel = k
					}
					return m, nil
				}})
		}
	}
	if h.cfg.section("efficiency") {
		round := 0
		ps = append(ps, probe{id: idEfficiency, label: fmt.Sprintf("smoke run from an empty store, -j %d", h.cfg.jobs),
			run: func(ctx context.Context) (metrics, error) {
				round++
				dir := filepath.Join(h.work, fmt.Sprintf("efficiency-%d", round))
				if err := copyProjectFiles(h.cfg.root, dir); err != nil {
					return nil, err
				}
				defer os.RemoveAll(dir)
				return h.timedRun(ctx, h.bins["bfc"], dir, effProfile(), h.cfg.jobs, h.effTargets()...)
			}})
	}
	if h.cfg.section("sweep") {
		for _, n := range h.cfg.sweepN {
			ps = append(ps, probe{id: sweepID(n), label: fmt.Sprintf("synthetic sweep of %d points", n),
				run: func(ctx context.Context) (metrics, error) {
					if err := h.prepareSweep(ctx, n); err != nil {
						return nil, err
					}
					res := h.exec(ctx, command{args: []string{h.bins["pipeline"], "-test.run", "^$", "-test.bench", fmt.Sprintf("^BenchmarkSweep$/^points=%d$", n),
						"-test.benchtime", "1x"}, env: h.sweepEnv(n), timeout: 30 * time.Minute})
					if res.err != nil {
						return nil, fmt.Errorf("BenchmarkSweep: %v: %s", res.err, tail(res.out, 300))
					}
					benches, err := parseGoBench(res.out, runtime.NumCPU())
					if err != nil {
						return nil, err
					}
					m := metrics{"maxrss MiB": float64(res.maxRSS) / (1 << 20)}
					for _, ph := range sweepPhases() {
						b, err := findBench(benches, fmt.Sprintf("BenchmarkSweep/points=%d/%s", n, ph))
						if err != nil {
							return nil, err
						}
						if err := need(b, "BenchmarkSweep "+ph, "ns/op", "peak-heap-MiB"); err != nil {
							return nil, err
						}
						m[ph+" s"] = b["ns/op"] / 1e9
						m[ph+" MiB"] = b["peak-heap-MiB"]
					}
					return m, nil
				}})
		}
	}
	return ps
}

// effTargets are the points of the efficiency run: all, or with -quick
// the E0 stages alone (a few seconds).
func (h *harness) effTargets() []string {
	if h.cfg.quick {
		return []string{"E0_target"}
	}
	return nil
}

// gemmBenchtime gives each GEMM size about a second or more.
func (h *harness) gemmBenchtime(n int) string {
	switch {
	case h.cfg.quick:
		return "3x"
	case n >= 4096:
		return "3x"
	}
	return "1s"
}

func (h *harness) sweepEnv(n int) map[string]string {
	env := threads(runtime.NumCPU())
	env["BFC_SWEEP_DIR"] = h.cfg.sweepDir
	env["BFC_SWEEP_POINTS"] = strconv.Itoa(n)
	return env
}

// prepareSweep computes the store of the n-point sweep once (untimed: the
// benchmark reuses a complete store in the sweep directory), so that the
// timed runs and their peak memory are the phases alone.
func (h *harness) prepareSweep(ctx context.Context, n int) error {
	if h.sweepReady[n] {
		return nil
	}
	h.logf("computing (or finding) the synthetic %d-point sweep store in %s", n, h.cfg.sweepDir)
	res := h.exec(ctx, command{args: []string{h.bins["pipeline"], "-test.run", "^$", "-test.bench", fmt.Sprintf("^BenchmarkSweep$/^points=%d$/^expand$", n),
		"-test.benchtime", "1x"}, env: h.sweepEnv(n), timeout: 2 * time.Hour})
	if res.err != nil {
		return fmt.Errorf("computing the %d-point sweep: %v: %s", n, res.err, tail(res.out, 300))
	}
	h.sweepReady[n] = true
	return nil
}

// Goals of issue 14.
const (
	learnerGoal    = 5.0  // E1 step, pure Go: at least this many times torch's samples/s
	krrGoal        = 1.0  // KRR fit at the largest n, pure Go: at most this many times sklearn's time
	gemmGoal       = 0.6  // GEMM, pure Go: at least this fraction of the dgemm peak
	efficiencyGoal = 0.97 // parallel efficiency of a -j 2 run (the goal is for the full pipeline)
	cliGoal        = 0.1  // no-op bfc run and bfc status of the real pipeline, seconds
	sweepTimeGoal  = 2.0  // no-op run and status of the largest sweep, seconds
	sweepMemGoal   = 500  // peak memory of the largest sweep, MiB
	sweepSize      = 100000
	// linearSlack is how much faster than linear the time may grow before
	// the growth is called worse than linear: a log-log slope up to 1.15.
	linearSlack = 1.15
)

func (h *harness) gemmReport(b *strings.Builder, n *notes, targets *[]goal) {
	b.WriteString("### Dense matrix product (GEMM), pure Go, against the machine's dgemm peak\n\n")
	kern := h.gemmKernel
	if kern == "" {
		kern = "SIMD"
	}
	b.WriteString("Ours: `BenchmarkGemm` in stages/lib/fastblas (C = A·B, n×n float64, 2n³ flops, the " + kern +
		" micro-kernel, GOEXPERIMENT=simd), on 1 and 2 threads. Peak: OpenBLAS dgemm through numpy on as many threads (`bench/dgemm_peak.py`, the best round). GFLOP/s; % of peak (higher is better).\n\n")
	var rows [][]string
	for _, nn := range h.cfg.gemmN {
		for _, c := range numCores() {
			row := []string{fmt.Sprint(nn), fmt.Sprint(c), h.cell(n, gemmID(nn), gemmKey(c), gflops), h.cell(n, peakID(c), "gflops", gflops)}
			g, okG := h.value(gemmID(nn), gemmKey(c))
			p, okP := h.value(peakID(c), "gflops")
			if okG && okP && p > 0 {
				row = append(row, pct(g/p))
				*targets = append(*targets, goal{fmt.Sprintf("GEMM n=%d, pure Go, %d thread(s): at least %s of the dgemm peak (issue 14)", nn, c, pct(gemmGoal)),
					fmt.Sprintf("%s of %s GFLOP/s", pct(g/p), gflops(p)), yesNo(g >= gemmGoal*p)})
			} else {
				row = append(row, "")
			}
			rows = append(rows, row)
		}
	}
	mdTable(b, []string{"n", "threads", "fastblas GFLOP/s", "OpenBLAS dgemm peak GFLOP/s", "% of peak"}, rows)
}

func (h *harness) efficiencyReport(b *strings.Builder, n *notes, targets *[]goal) {
	fmt.Fprintf(b, "### Parallel efficiency of a pipeline run (profile %s, -j %d, from an empty store)\n\n", effProfile(), h.cfg.jobs)
	if t := h.effTargets(); len(t) > 0 {
		fmt.Fprintf(b, "**-quick: only %s.**\n\n", strings.Join(t, ", "))
	}
	cores := min(h.cfg.jobs, runtime.NumCPU())
	fmt.Fprintf(b, "`bfc --profile %s -j %d run` in a scratch copy of the project with no store, timed as a process. Efficiency = summed point wall time from the run records of the new store / (wall time × %d cores); CPU efficiency the same with the points' user + system time; the engine's own figure where it prints one.\n\n", effProfile(), h.cfg.jobs, cores)
	sec := func(x float64) string { return seconds(x) }
	rows := [][]string{{h.cell(n, idEfficiency, "wall_s", sec), h.cell(n, idEfficiency, "points_s", sec), h.cell(n, idEfficiency, "cpu_s", sec),
		h.cell(n, idEfficiency, "manifests", func(x float64) string { return fmt.Sprint(int(x)) }),
		h.cell(n, idEfficiency, "efficiency", pct), h.cell(n, idEfficiency, "cpu_efficiency", pct), h.cell(n, idEfficiency, "engine_efficiency", pct)}}
	mdTable(b, []string{"wall", "summed point wall", "summed point CPU", "points run (manifests)", "efficiency", "CPU efficiency", "engine's figure"}, rows)
	if e, ok := h.value(idEfficiency, "efficiency"); ok {
		*targets = append(*targets, goal{fmt.Sprintf("parallel efficiency with -j %d: at least %s (issue 14's goal is for the full pipeline; measured on profile %s)", h.cfg.jobs, pct(efficiencyGoal), effProfile()),
			pct(e), yesNo(e >= efficiencyGoal)})
	}
}

// growth is the log-log slope of t over n between two sizes: 1 is linear.
func growth(n0, n1 int, t0, t1 float64) float64 {
	return math.Log(t1/t0) / math.Log(float64(n1)/float64(n0))
}

func (h *harness) sweepReport(b *strings.Builder, n *notes, targets *[]goal) {
	b.WriteString("### The engine at sweep scale (synthetic cached pipeline)\n\n")
	b.WriteString("`BenchmarkSweep` in pipeline/exec: a src stage on a seed × scale grid and a consumer of each of its points (half the points each), " +
		"fully computed once (kept in " + h.cfg.sweepDir + "), then timed in process: parsing and expanding the file, every key with the manifest lookups it needs, " +
		"a whole no-op run (exec.Runner, -j 2) and `bfc status`'s view.Status. Peak heap: the most heap in use during a phase (sampled every ms); max RSS: of the benchmark process running all four phases. " +
		"Growth: log-log slope of the time between the smallest size of at least 1000 points and the largest (1 = linear).\n\n")
	var rows [][]string
	for _, nn := range h.cfg.sweepN {
		row := []string{fmt.Sprint(nn)}
		for _, ph := range sweepPhases() {
			row = append(row, h.cell(n, sweepID(nn), ph+" s", seconds)+h.mib(sweepID(nn), ph+" MiB"))
		}
		row = append(row, h.cell(n, sweepID(nn), "maxrss MiB", func(x float64) string { return fmt.Sprintf("%.0f MiB", x) }))
		rows = append(rows, row)
	}
	// Growth from the smallest size >= 1000 to the largest.
	lo, hi := 0, 0
	for _, nn := range h.cfg.sweepN {
		if nn >= 1000 && (lo == 0 || nn < lo) {
			lo = nn
		}
		hi = max(hi, nn)
	}
	if lo > 0 && hi > lo {
		row := []string{fmt.Sprintf("growth %d → %d", lo, hi)}
		worst := 0.0
		okAll := true
		for _, ph := range sweepPhases() {
			t0, ok0 := h.value(sweepID(lo), ph+" s")
			t1, ok1 := h.value(sweepID(hi), ph+" s")
			if !ok0 || !ok1 || t0 <= 0 {
				row = append(row, "")
				okAll = false
				continue
			}
			g := growth(lo, hi, t0, t1)
			worst = max(worst, g)
			row = append(row, fmt.Sprintf("slope %.2f", g))
		}
		r0, ok0 := h.value(sweepID(lo), "maxrss MiB")
		r1, ok1 := h.value(sweepID(hi), "maxrss MiB")
		if ok0 && ok1 && r0 > 0 {
			row = append(row, fmt.Sprintf("slope %.2f", growth(lo, hi, r0, r1)))
		} else {
			row = append(row, "")
		}
		rows = append(rows, row)
		if okAll {
			*targets = append(*targets, goal{fmt.Sprintf("sweep %d → %d points: time grows linearly, not worse (slope <= %.2f)", lo, hi, linearSlack),
				fmt.Sprintf("worst slope %.2f", worst), yesNo(worst <= linearSlack)})
		}
	}
	mdTable(b, []string{"points", "expand", "keys", "no-op run", "status", "max RSS"}, rows)
	if !slices.Contains(h.cfg.sweepN, sweepSize) {
		return
	}
	id := sweepID(sweepSize)
	for _, ph := range []struct{ key, what string }{{"noop s", "no-op run"}, {"status s", "status"}} {
		what := fmt.Sprintf("sweep of %d cached points, %s: under %s (issue 14)", sweepSize, ph.what, seconds(sweepTimeGoal))
		if v, ok := h.value(id, ph.key); ok {
			*targets = append(*targets, goal{what, seconds(v), yesNo(v < sweepTimeGoal)})
		}
	}
	if v, ok := h.value(id, "maxrss MiB"); ok {
		*targets = append(*targets, goal{fmt.Sprintf("sweep of %d cached points: peak memory under %d MiB (issue 14)", sweepSize, sweepMemGoal),
			fmt.Sprintf("%.0f MiB max RSS", v), yesNo(v < sweepMemGoal)})
	}
}

// mib formats " (x MiB)" of a summary, or "".
func (h *harness) mib(id, key string) string {
	if v, ok := h.value(id, key); ok {
		return fmt.Sprintf(" (%.0f MiB)", v)
	}
	return ""
}

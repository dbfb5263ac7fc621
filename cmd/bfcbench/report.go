package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// issuePeak is the float64 peak of the 2-core machine as issue 6 states it.
const issuePeak = 78.0

// env describes the machine and the builds, for the report's header.
type env struct {
	cpu, python, openblas string
}

// describe collects versions of the peers and of OpenBLAS (best effort).
func (h *harness) describe(ctx context.Context) env {
	var e env
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	const script = `import importlib, sys
out = ["python " + sys.version.split()[0]]
for m in ("torch", "sklearn", "numpy", "scipy"):
    try:
        out.append(m + " " + importlib.import_module(m).__version__)
    except Exception as e:
        out.append(m + " missing")
print(", ".join(out))`
	if res := h.exec(ctx, command{args: []string{h.cfg.python, "-c", script}, timeout: time.Minute}); res.err == nil {
		e.python = strings.TrimSpace(res.out)
	} else {
		e.python = fmt.Sprintf("%s unusable (%v)", h.cfg.python, res.err)
	}
	if res := h.exec(ctx, command{args: []string{"dpkg-query", "-W", "-f", "${Version}", "libopenblas0-pthread"}, timeout: time.Minute}); res.err == nil {
		e.openblas = strings.TrimSpace(res.out)
	}
	return e
}

// notes numbers the errors behind n/a cells.
type notes struct {
	list []string
	seen map[string]int
}

func (n *notes) ref(err error) string {
	if n.seen == nil {
		n.seen = map[string]int{}
	}
	msg := err.Error()
	i, ok := n.seen[msg]
	if !ok {
		n.list = append(n.list, msg)
		i = len(n.list)
		n.seen[msg] = i
	}
	return fmt.Sprintf("n/a [%d]", i)
}

// cell formats the summary of key in probe id with f, or n/a with a note.
func (h *harness) cell(n *notes, id, key string, f func(float64) string) string {
	if v, ok := h.value(id, key); ok {
		return f(v)
	}
	if s := h.results[id]; s != nil && s.err != nil {
		return n.ref(s.err)
	}
	for _, be := range backends {
		if strings.HasSuffix(id, "/"+be) && h.missing[be] != "" {
			return n.ref(fmt.Errorf("the %s build is unavailable: %s", be, h.missing[be]))
		}
	}
	return "n/a"
}

// ratio formats a/b of two summaries, or "" if either is missing.
func (h *harness) ratio(idA, keyA string, scaleA float64, idB, keyB string, scaleB float64) (float64, string) {
	a, okA := h.value(idA, keyA)
	b, okB := h.value(idB, keyB)
	if !okA || !okB || b == 0 {
		return math.NaN(), ""
	}
	r := a * scaleA / (b * scaleB)
	return r, fmt.Sprintf("%.2fx", r)
}

// spread formats the range of the per-round ratios a/b (each round runs
// both, so a round's ratio is a paired comparison), or "" with fewer than
// two rounds.
func (h *harness) spread(idA, keyA string, scaleA float64, idB, keyB string, scaleB float64) string {
	sa, sb := h.results[idA], h.results[idB]
	if sa == nil || sb == nil {
		return ""
	}
	var rs []float64
	for i := 0; i < len(sa.vals) && i < len(sb.vals); i++ {
		a, okA := sa.vals[i][keyA]
		b, okB := sb.vals[i][keyB]
		if okA && okB && b != 0 {
			rs = append(rs, a*scaleA/(b*scaleB))
		}
	}
	if len(rs) < 2 {
		return ""
	}
	return fmt.Sprintf(" (rounds %.2fx-%.2fx)", slices.Min(rs), slices.Max(rs))
}

func rate(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2f M/s", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.0f k/s", x/1e3)
	}
	return fmt.Sprintf("%.0f /s", x)
}

func seconds(x float64) string {
	if x < 1 {
		return fmt.Sprintf("%.0f ms", x*1e3)
	}
	return fmt.Sprintf("%.2f s", x)
}

func gbps(mbps float64) string { return fmt.Sprintf("%.2f GB/s", mbps/1e3) }
func gflops(x float64) string  { return fmt.Sprintf("%.1f", x) }
func pct(x float64) string     { return fmt.Sprintf("%.0f%%", 100*x) }
func nsToS(ns float64) float64 { return ns / 1e9 }

// mdTable writes a Markdown table; columns whose cells all start with a
// digit or "n/a" (or are empty) are right-aligned.
func mdTable(b *strings.Builder, header []string, rows [][]string) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for i := range header {
		numeric := i > 0
		for _, r := range rows {
			if c := r[i]; c != "" && !strings.HasPrefix(c, "n/a") && (c[0] < '0' || c[0] > '9') {
				numeric = false
			}
		}
		if numeric {
			b.WriteString("--:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	b.WriteString("\n")
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// goal is one line of the verdict table (a target of issue 6).
type goal struct{ what, measured, met string }

// report renders everything measured as Markdown.
func (h *harness) report() string {
	var b strings.Builder
	var n notes
	var targets []goal
	e := h.env
	h.loads = append(h.loads, loadAvg())
	maxLoad := 0.0
	for _, l := range h.loads {
		var x float64
		if _, err := fmt.Sscan(l, &x); err == nil {
			maxLoad = math.Max(maxLoad, x)
		}
	}
	fmt.Fprintf(&b, "## bfc bench, %s\n\n", h.started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %s, %d CPUs, %s/%s. Load average (1, 5, 15 min): %s at the start, %s at the end, highest 1-min reading %.2f.\n",
		e.cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, h.loads[0], h.loads[len(h.loads)-1], maxLoad)
	ob := "OpenBLAS"
	if e.openblas != "" {
		ob += " " + e.openblas
	}
	goexp := os.Getenv("GOEXPERIMENT")
	if goexp == "" {
		goexp = "unset: the scalar kernels"
	}
	fmt.Fprintf(&b, "- Builds: %s; ours pure Go (gonum's BLAS and LAPACK on fastblas's kernels, GOEXPERIMENT=%s) and `-tags openblas` (%s)", runtime.Version(), goexp, ob)
	for _, be := range backends {
		if h.missing[be] != "" {
			fmt.Fprintf(&b, " — %s build unavailable", be)
		}
	}
	fmt.Fprintf(&b, ". Peers: %s (numpy and scipy on Debian's OpenBLAS).\n", e.python)
	fmt.Fprintf(&b, "- Method: %d round(s); ours and the peers interleaved in every round (order reversed every other round); each figure is the median over rounds (the dgemm peak: the best).", h.cfg.reps)
	if h.cfg.quick {
		b.WriteString(" **-quick: tiny sizes, one round; these numbers only show that the harness works.**")
	}
	b.WriteString("\n\n")

	if h.cfg.section("learner") {
		h.learnerReport(&b, &n, &targets)
	}
	if h.cfg.section("gemm") {
		h.gemmReport(&b, &n, &targets)
	}
	if h.cfg.section("krr") {
		h.krrReport(&b, &n, &targets)
	}
	if h.cfg.section("store") || h.cfg.section("pipeline") {
		h.storeReport(&b, &n, &targets)
	}
	if h.cfg.section("efficiency") {
		h.efficiencyReport(&b, &n, &targets)
	}
	if h.cfg.section("sweep") {
		h.sweepReport(&b, &n, &targets)
	}
	if h.cfg.section("memory") {
		h.memoryReport(&b, &n, &targets)
	}
	if len(targets) > 0 {
		b.WriteString("### Targets (issues 6 and 14)\n\n")
		rows := make([][]string, len(targets))
		for i, t := range targets {
			rows[i] = []string{t.what, t.measured, t.met}
		}
		mdTable(&b, []string{"target", "measured", "met"}, rows)
	}
	if len(n.list) > 0 {
		b.WriteString("Notes:\n\n")
		for i, s := range n.list {
			fmt.Fprintf(&b, "%d. %s\n", i+1, strings.ReplaceAll(s, "|", "/"))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (h *harness) learnerReport(b *strings.Builder, n *notes, targets *[]goal) {
	b.WriteString("### Learner training step (float64; loss, gradients, clipping, Adam; all layers on)\n\n")
	b.WriteString("Ours: `BenchmarkStep` in stages/lib/learner. Peer: `bench/torch_learner.py`, the project's PyTorch reference of the same network, " +
		"loss, clipping and Adam step, with autograd and |W_l h|² computed directly; same sizes and settings. " +
		"1 core: GOMAXPROCS=1 and learner threads 1; torch with OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1. " +
		"2 cores: GOMAXPROCS=2 and learner threads 2 (samples split over goroutines) with one OpenBLAS thread, stages/lib/linalg's default " +
		"(and, in a row of its own, with OPENBLAS_NUM_THREADS=2, which the local and Slurm executors set for a stage granted 2 CPUs); " +
		"torch with OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=2. Samples per second; ratios are ours / torch (higher is better).\n\n")
	var rows [][]string
	for _, s := range learnerSizes {
		for _, c := range numCores() {
			row := []string{fmt.Sprintf("%s (d=%d, k=%d, L=%d, m=%d, batch %d)", s.Name, s.D, s.K, s.L, s.M, s.Batch), fmt.Sprint(c)}
			for _, be := range backends {
				row = append(row, h.cell(n, learnerID(s, c, be), "step samples/s", rate))
			}
			row = append(row, h.cell(n, learnerID(s, c, "torch"), "samples_per_s", rate))
			for _, be := range backends {
				r, txt := h.ratio(learnerID(s, c, be), "step samples/s", 1, learnerID(s, c, "torch"), "samples_per_s", 1)
				row = append(row, txt)
				if s.Name == "E1" && be == pureBackend && txt != "" {
					*targets = append(*targets, goal{fmt.Sprintf("E1 training, pure Go, %d core(s): at least %gx torch's samples/s (issue 14)", c, learnerGoal),
						txt + h.spread(learnerID(s, c, be), "step samples/s", 1, learnerID(s, c, "torch"), "samples_per_s", 1), yesNo(r >= learnerGoal)})
				}
			}
			rows = append(rows, row)
			if c > 1 {
				id := learnerID(s, c, executorBLAS)
				_, txt := h.ratio(id, "step samples/s", 1, learnerID(s, c, "torch"), "samples_per_s", 1)
				rows = append(rows, []string{row[0], fmt.Sprintf("%d, %d OpenBLAS threads (as the executors run stages)", c, c), "",
					h.cell(n, id, "step samples/s", rate), row[4], "", txt})
			}
		}
	}
	mdTable(b, []string{"size", "cores", "ours, pure Go", "ours, OpenBLAS", "PyTorch", "pure Go / torch", "OpenBLAS / torch"}, rows)

	// GFLOP/s of the large step.
	large := learnerSizes[len(learnerSizes)-1]
	tf := torchStepFlops(large)
	var own float64 // flops per step of ours, the same in every run
	for _, c := range numCores() {
		for _, be := range backends {
			if s := h.results[learnerID(large, c, be)]; s != nil && len(s.vals) > 0 && own == 0 {
				own = s.vals[0]["step GFLOP/s"] * s.vals[0]["step ns/op"]
			}
		}
	}
	fmt.Fprintf(b, "Large step: torch's formulation does %.0f MFLOP per step (every product W_l h through the m=%d-wide heads, forward and backward; `torchStepFlops`%s), "+
		"ours %.1f MFLOP (the Gram trick |W h|² = hᵀ(WᵀW)h; the benchmark's own count). Both count 2 flops per multiply-add of the matrix products only. "+
		"Peak: OpenBLAS dgemm (n=4096) through numpy on the same cores, `bench/dgemm_peak.py`; issue 6 states %.0f GFLOP/s for 2 cores.\n\n",
		tf/1e6, large.M, h.profilerAgreement(), own/1e6, issuePeak)
	rows = nil
	for _, c := range numCores() {
		peak, okPeak := h.value(peakID(c), "gflops")
		row := []string{fmt.Sprint(c), h.cell(n, peakID(c), "gflops", gflops)}
		for _, be := range backends {
			id := learnerID(large, c, be)
			sps, ok := h.value(id, "step samples/s")
			if !ok || own == 0 {
				row = append(row, h.cell(n, id, "step samples/s", rate), "", "")
				continue
			}
			g := own * sps / float64(large.Batch) / 1e9
			eff := tf * sps / float64(large.Batch) / 1e9
			p := ""
			if okPeak {
				p = pct(g / peak)
			}
			row = append(row, gflops(g), p, gflops(eff))
			if be == "openblas" && c == numCores()[len(numCores())-1] {
				t := goal{fmt.Sprintf("large step, OpenBLAS, %d cores: at least 50%% of the float64 peak", c), "", ""}
				t.measured = fmt.Sprintf("%s GFLOP/s of its own flops = %s of %.0f (issue's peak)", gflops(g), pct(g/issuePeak), issuePeak)
				if okPeak {
					t.measured += fmt.Sprintf(", %s of the measured dgemm %s; torch's work done at %s GFLOP/s-equivalent", pct(g/peak), gflops(peak), gflops(eff))
				}
				t.met = yesNo(g >= 0.5*issuePeak && (!okPeak || g >= 0.5*peak)) + " (own flops)"
				*targets = append(*targets, t)
			}
		}
		id := learnerID(large, c, "torch")
		if sps, ok := h.value(id, "samples_per_s"); ok {
			g := tf * sps / float64(large.Batch) / 1e9
			p := ""
			if okPeak {
				p = pct(g / peak)
			}
			row = append(row, gflops(g), p)
		} else {
			row = append(row, h.cell(n, id, "samples_per_s", rate), "")
		}
		rows = append(rows, row)
	}
	mdTable(b, []string{"cores", "dgemm peak GFLOP/s", "pure Go GFLOP/s (own flops)", "% of peak", "pure Go, torch's flops / its time",
		"OpenBLAS GFLOP/s (own flops)", "% of peak", "OpenBLAS, torch's flops / its time", "PyTorch GFLOP/s", "% of peak"}, rows)
}

// profilerAgreement compares torchStepFlops with the matrix-product flops
// torch_learner.py counted with torch.profiler (its flops_per_step), for
// every size the peer ran: "" if it ran at none, else a remark saying
// whether they agree (and the numbers where they do not).
func (h *harness) profilerAgreement() string {
	var bad []string
	checked := 0
	for _, s := range learnerSizes {
		for _, c := range numCores() {
			got, ok := h.value(learnerID(s, c, "torch"), "flops_per_step")
			if !ok {
				continue
			}
			checked++
			if want := torchStepFlops(s); math.Abs(got-want) > 1e-9*want {
				bad = append(bad, fmt.Sprintf("%s, %d core(s): torch.profiler %.0f, torchStepFlops %.0f", s.Name, c, got, want))
			}
		}
	}
	switch {
	case checked == 0:
		return ""
	case len(bad) == 0:
		return "; torch.profiler counts the same in the peer's runs"
	}
	return "; **torch.profiler counts differently in the peer's runs: " + strings.Join(bad, "; ") + "**"
}

func (h *harness) krrReport(b *strings.Builder, n *notes, targets *[]goal) {
	c := runtime.NumCPU()
	fmt.Fprintf(b, "### Kernel ridge regression (polynomial kernel (1 + ⟨x,y⟩/16)^8, d = 16, ridge 1e-3·mean diag K, %d threads)\n\n", c)
	b.WriteString("Ours: `BenchmarkKRR` in cmd/bfcbench (kernel.Fit: Gram matrix, Cholesky factorisation and solve; Gram matrix alone in brackets). " +
		"Peer: scikit-learn's `KernelRidge.fit` (`bench/sklearn_krr.py`; `pairwise_kernels` alone in brackets). " +
		fmt.Sprintf("GOMAXPROCS=OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=%d for everyone. Seconds; ratios are ours / sklearn (lower is better).\n\n", c))
	var rows [][]string
	for _, nn := range h.cfg.krrN {
		row := []string{fmt.Sprint(nn)}
		for _, be := range backends {
			id := krrID(nn, be)
			row = append(row, h.cell(n, id, "fit ns/op", func(x float64) string { return seconds(nsToS(x)) })+
				h.bracket(id, "gram ns/op", 1e-9))
		}
		id := krrID(nn, "sklearn")
		row = append(row, h.cell(n, id, "fit_s", seconds)+h.bracket(id, "gram_s", 1))
		for _, be := range backends {
			r, txt := h.ratio(krrID(nn, be), "fit ns/op", 1e-9, id, "fit_s", 1)
			row = append(row, txt)
			if be == pureBackend && txt != "" && nn == h.cfg.krrN[len(h.cfg.krrN)-1] {
				*targets = append(*targets, goal{fmt.Sprintf("kernel ridge n=%d, pure Go: at most %.1fx sklearn's time (issue 14)", nn, krrGoal),
					txt + h.spread(krrID(nn, be), "fit ns/op", 1e-9, id, "fit_s", 1), yesNo(r <= krrGoal)})
			}
			if be == "openblas" && txt != "" && nn == h.cfg.krrN[len(h.cfg.krrN)-1] {
				*targets = append(*targets, goal{fmt.Sprintf("kernel ridge n=%d, OpenBLAS: within 1.2x of sklearn's time", nn),
					txt + h.spread(krrID(nn, be), "fit ns/op", 1e-9, id, "fit_s", 1), yesNo(r <= 1.2)})
			}
		}
		rows = append(rows, row)
	}
	mdTable(b, []string{"n", "ours, pure Go", "ours, OpenBLAS", "scikit-learn", "pure Go / sklearn", "OpenBLAS / sklearn"}, rows)
}

// bracket formats " (value)" in seconds, or "" if missing.
func (h *harness) bracket(id, key string, scale float64) string {
	if v, ok := h.value(id, key); ok {
		return " (" + seconds(v*scale) + ")"
	}
	return ""
}

func (h *harness) storeReport(b *strings.Builder, n *notes, targets *[]goal) {
	b.WriteString("### Store and pipeline\n\n")
	b.WriteString("Go benchmarks in artifacts/ and pipeline/ (files in the page cache: CPU cost, not disk speed), and the `bfc` command timed as a process " +
		"(start to exit) on a copy of the project and its store in a scratch directory.\n\n")
	var rows [][]string
	if h.cfg.section("store") {
		rows = append(rows,
			[]string{"Arrow write: `EncodeTable`, a 20000-row train split (3.8 MB)", h.cell(n, idStore, "encode MB/s", gbps), ""},
			[]string{"Arrow read: `DecodeTable`, the same table", h.cell(n, idStore, "decode MB/s", gbps), ""},
			[]string{"hashing: `CheckObject`, one 64 MiB object", h.cell(n, idStore, "check MB/s", gbps), ""},
			[]string{"hashing: `Store.Verify`, 48 objects of 2 MiB, all CPUs", h.cell(n, idStore, "verify MB/s", gbps), ">= 1 GB/s"})
		if v, ok := h.value(idStore, "verify MB/s"); ok {
			*targets = append(*targets, goal{"store hashing (Store.Verify): at least 1 GB/s", gbps(v), yesNo(v >= 1000)})
		}
	}
	if h.cfg.section("pipeline") {
		objs := ""
		if h.project != "" {
			objs = fmt.Sprintf(" (%d objects, %.0f MB)", h.storeObjects(), h.storeMB)
		}
		which := "the project's store, " + profileName(h.profile)
		verify := h.cell(n, idVerify, "s", seconds)
		if v, ok := h.value(idVerify, "s"); ok && h.storeMB > 0 {
			verify = fmt.Sprintf("%s (%s)", gbps(h.storeMB/v), seconds(v))
			*targets = append(*targets, goal{"`bfc verify`: at least 1 GB/s (issue 14; measured on a copy of " + which + ")", gbps(h.storeMB / v), yesNo(h.storeMB/v >= 1000)})
		}
		rows = append(rows,
			[]string{"`bfc verify`, copy of the project's store" + objs, verify, ">= 1 GB/s"},
			[]string{"`bfc run`, nothing to do, real pipeline.toml, " + profileName(h.profile), h.cell(n, idNoop, "s", seconds), fmt.Sprintf("< %s", seconds(cliGoal))},
			[]string{"`bfc status`, same", h.cell(n, idStatus, "s", seconds), fmt.Sprintf("< %s", seconds(cliGoal))},
			[]string{"no-op run in process (`BenchmarkNoopRunProject`)", h.cell(n, idProject, "project ns/op", func(x float64) string { return seconds(nsToS(x)) }), ""},
			[]string{"engine alone: no-op run of 160 cached synthetic points (`BenchmarkNoopRunSynthetic`)", h.cell(n, idSynthetic, "synthetic ns/op", func(x float64) string { return seconds(nsToS(x)) }), ""},
			[]string{"code identity of every kind from the embedded sources (`BenchmarkCodeIdentity`)", h.cell(n, idSynthetic, "codeid ns/op", func(x float64) string { return seconds(nsToS(x)) }), ""})
		for _, c := range []struct{ id, what string }{{idNoop, "no-op `bfc run`"}, {idStatus, "`bfc status`"}} {
			what := fmt.Sprintf("%s of the real pipeline, %s: under %s (issue 14)", c.what, profileName(h.profile), seconds(cliGoal))
			if v, ok := h.value(c.id, "s"); ok {
				*targets = append(*targets, goal{what, seconds(v), yesNo(v < cliGoal)})
			} else if s := h.results[c.id]; s != nil && s.err != nil {
				*targets = append(*targets, goal{what, n.ref(s.err), "not measured"})
			}
		}
	}
	mdTable(b, []string{"measure", "value", "target"}, rows)
}

func (h *harness) memoryReport(b *strings.Builder, n *notes, targets *[]goal) {
	fmt.Fprintf(b, "### Peak memory of the stages (%s)\n\n", profileName(h.profile))
	dir := h.cfg.store
	if h.project != "" {
		dir = filepath.Join(h.project, ".bfc")
	}
	err := h.projErr
	var kinds []kindMemory
	if err == nil || h.project != "" {
		kinds, err = stageMemory(dir, h.profile)
	}
	if err != nil {
		fmt.Fprintf(b, "%s\n\n", n.ref(err))
		*targets = append(*targets, goal{"no default stage above 4 GiB", n.ref(err), "not measured"})
		return
	}
	fmt.Fprintf(b, "From the run record (`run.max_rss_bytes`) of the manifest each point of %s last resolved to: the maximum per stage kind.\n\n", profileName(h.profile))
	var rows [][]string
	var worst kindMemory
	for _, k := range kinds {
		flag := ""
		if k.MaxRSS > memoryLimit {
			flag = "**above 4 GiB**"
		}
		rows = append(rows, []string{k.Kind, fmt.Sprint(k.Points), fmt.Sprintf("%.0f MiB", float64(k.MaxRSS)/(1<<20)), "`" + k.At + "`", flag})
		if k.MaxRSS > worst.MaxRSS {
			worst = k
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	mdTable(b, []string{"kind", "points", "max RSS", "at", ""}, rows)
	*targets = append(*targets, goal{"no default stage above 4 GiB",
		fmt.Sprintf("largest %.2f GiB (%s)", float64(worst.MaxRSS)/(1<<30), worst.At), yesNo(worst.MaxRSS <= memoryLimit)})
}

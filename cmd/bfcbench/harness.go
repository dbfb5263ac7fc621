package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pureBackend names the default, pure-Go build (linalg.Backend() there):
// gonum's BLAS and LAPACK on fastblas's kernels.
const pureBackend = "fastblas"

// backends are the two builds of our code.
var backends = []string{pureBackend, "openblas"}

// harness holds the scratch directory, the binaries and the results.
type harness struct {
	cfg  config
	work string
	log  io.Writer

	bins    map[string]string // "learner/fastblas", "krr/openblas", "artifacts", "pipeline", "bfc" -> path
	missing map[string]string // backend -> why it is not available
	project string            // copy of the project for the no-op run ("" if none)
	profile string            // the profile the engine rows measure ("" is the default profile)
	projErr error             // why there is no usable project copy
	storeMB float64           // bytes of objects in the copy, in MB

	gemmKernel string       // the SIMD micro-kernel the GEMM rows measured
	sweepReady map[int]bool // sweep sizes whose store is computed

	results map[string]*series
	env     env      // machine and peer versions, for the report
	loads   []string // /proc/loadavg readings, one per round plus start and end
	started time.Time
}

// probe is one measurement, repeated once per round.
type probe struct {
	id    string
	label string // for the progress log
	peer  bool   // a peer's measurement (n/a if the peer is missing)
	best  bool   // summarise by the maximum rather than the median
	run   func(ctx context.Context) (metrics, error)
}

// series collects one probe's rounds.
type series struct {
	vals []metrics
	err  error
	peer bool
	best bool
}

func newHarness(cfg config, log io.Writer) (*harness, error) {
	h := &harness{cfg: cfg, log: log, bins: map[string]string{}, missing: map[string]string{},
		results: map[string]*series{}, sweepReady: map[int]bool{}, started: time.Now()}
	h.work = cfg.work
	if h.work == "" {
		d, err := os.MkdirTemp("", "bfcbench-")
		if err != nil {
			return nil, err
		}
		h.work = d
	} else if err := os.MkdirAll(h.work, 0o755); err != nil {
		return nil, err
	}
	h.loads = append(h.loads, loadAvg())
	return h, nil
}

func (h *harness) close() {
	if h.cfg.keep || h.cfg.work != "" {
		fmt.Fprintf(h.log, "bfcbench: scratch directory kept: %s\n", h.work)
		return
	}
	// The store copy holds read-only objects in writable directories.
	if err := os.RemoveAll(h.work); err != nil {
		fmt.Fprintf(h.log, "bfcbench: removing %s: %v\n", h.work, err)
	}
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "bfcbench: "+format+"\n", args...)
}

// build compiles the benchmark binaries: the learner and kernel ridge
// benchmarks in both builds (a failing openblas build marks that backend
// missing), the artifacts and pipeline benchmarks, and bfc itself.
func (h *harness) build(ctx context.Context) error {
	type target struct {
		name, pkg, tags string
		test            bool
		needed          bool
	}
	var targets []target
	for _, b := range backends {
		tags := ""
		if b == "openblas" {
			tags = "openblas"
		}
		if h.cfg.section("learner") {
			targets = append(targets, target{"learner/" + b, "./stages/lib/learner", tags, true, b == pureBackend})
		}
		if h.cfg.section("krr") {
			targets = append(targets, target{"krr/" + b, "./cmd/bfcbench", tags, true, b == pureBackend})
		}
	}
	if h.cfg.section("gemm") {
		targets = append(targets, target{"gemm", "./stages/lib/fastblas", "", true, true})
	}
	if h.cfg.section("store") {
		targets = append(targets, target{"artifacts", "./artifacts/store", "", true, true})
	}
	if h.cfg.section("pipeline") || h.cfg.section("sweep") {
		targets = append(targets, target{"pipeline", "./pipeline/exec", "", true, true})
	}
	if h.cfg.section("pipeline") || h.cfg.section("efficiency") {
		if h.cfg.bfc == "" {
			targets = append(targets, target{"bfc", "./cmd/bfc", "", false, true})
		} else {
			h.bins["bfc"] = h.cfg.bfc
		}
	} else if h.cfg.section("memory") && h.cfg.bfc != "" {
		h.bins["bfc"] = h.cfg.bfc
	}
	for _, t := range targets {
		if tags := t.tags; tags != "" && h.missing[tags] != "" {
			continue
		}
		out := filepath.Join(h.work, strings.ReplaceAll(t.name, "/", ".")+map[bool]string{true: ".test", false: ""}[t.test])
		args := []string{"build"}
		if t.test {
			args = []string{"test", "-c"}
		}
		if t.tags != "" {
			args = append(args, "-tags", t.tags)
		}
		args = append(args, "-o", out, t.pkg)
		h.logf("go %s", strings.Join(args, " "))
		res := h.exec(ctx, command{args: append([]string{"go"}, args...), timeout: 10 * time.Minute})
		if res.err != nil {
			if !t.needed {
				h.missing[t.tags] = fmt.Sprintf("`go %s` failed: %s", strings.Join(args[:len(args)-3], " "), tail(res.out, 200))
				h.logf("%s build unavailable: %s", t.tags, tail(res.out, 200))
				continue
			}
			return fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), res.err, tail(res.out, 500))
		}
		h.bins[t.name] = out
	}
	return nil
}

// command is a process to run.
type command struct {
	args    []string
	dir     string            // default: the repository root
	env     map[string]string // overrides of the inherited environment
	timeout time.Duration
}

type result struct {
	out    string // stdout and stderr
	wall   time.Duration
	maxRSS int64 // peak resident memory of the process (its largest child's if larger), bytes
	err    error
}

// threadVars are reset for every child so that only command.env sets them.
var threadVars = []string{"GOMAXPROCS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BFC_BENCH_PROJECT", "BFC_BENCH_PROFILE",
	"BFC_SWEEP_DIR", "BFC_SWEEP_POINTS"}

// exec runs c in its own process group (killed whole on timeout or
// interrupt) and times it.
func (h *harness) exec(ctx context.Context, c command) result {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, c.args[0], c.args[1:]...)
	cmd.Dir = c.dir
	if cmd.Dir == "" {
		cmd.Dir = h.cfg.root
	}
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !contains(threadVars, k) {
			env = append(env, kv)
		}
	}
	keys := make([]string, 0, len(c.env))
	for k := range c.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+c.env[k])
	}
	cmd.Env = env
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("%w (after %v)", ctx.Err(), wall.Round(time.Second))
	}
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	return result{out: buf.String(), wall: wall, maxRSS: rss, err: err}
}

// threads returns the thread environment for n threads.
func threads(n int) map[string]string {
	s := strconv.Itoa(n)
	return map[string]string{"GOMAXPROCS": s, "OPENBLAS_NUM_THREADS": s, "OMP_NUM_THREADS": s, "MKL_NUM_THREADS": s}
}

// goBenchProbe runs the benchmarks of bin selected by pattern and returns
// the metrics of the named ones, keyed "label unit".
func (h *harness) goBenchProbe(ctx context.Context, bin, pattern, benchtime string, env map[string]string, picks map[string]string, extra ...string) (metrics, error) {
	procs := runtime.NumCPU()
	if p, err := strconv.Atoi(env["GOMAXPROCS"]); err == nil {
		procs = p
	}
	args := append([]string{bin, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime}, extra...)
	res := h.exec(ctx, command{args: args, env: env, timeout: 40 * time.Minute})
	benches, perr := parseGoBench(res.out, procs)
	if res.err != nil {
		return nil, fmt.Errorf("%s: %v: %s", filepath.Base(bin), res.err, tail(res.out, 300))
	}
	if perr != nil {
		return nil, perr
	}
	out := metrics{}
	for label, name := range picks {
		m, err := findBench(benches, name)
		if err != nil {
			return nil, err
		}
		for unit, v := range m {
			out[label+" "+unit] = v
		}
	}
	return out, nil
}

// scriptProbe runs a peer script and parses its key=value line.
func (h *harness) scriptProbe(ctx context.Context, script, prefix string, env map[string]string, timeout time.Duration, args ...string) (metrics, error) {
	res := h.exec(ctx, command{args: append([]string{h.cfg.python, script}, args...), env: env, timeout: timeout})
	if res.err != nil {
		return nil, fmt.Errorf("%s: %v: %s", filepath.Base(script), res.err, tail(res.out, 300))
	}
	m, _, err := parseKeyValues(res.out, prefix)
	return m, err
}

// measure runs every probe once per round, reversing the order every
// other round, and logs each value and the load.
func (h *harness) measure(ctx context.Context, probes []probe) {
	for _, p := range probes {
		h.results[p.id] = &series{peer: p.peer, best: p.best}
	}
	for r := 0; r < h.cfg.reps; r++ {
		order := slices.Clone(probes)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, p := range order {
			if ctx.Err() != nil {
				return
			}
			s := h.results[p.id]
			if s.err != nil {
				continue // failed in an earlier round: do not retry
			}
			m, err := p.run(ctx)
			if err != nil {
				s.err = err
				h.logf("round %d/%d: %s: %v", r+1, h.cfg.reps, p.label, err)
				continue
			}
			s.vals = append(s.vals, m)
			h.logf("round %d/%d: %s: %s", r+1, h.cfg.reps, p.label, m)
		}
		h.loads = append(h.loads, loadAvg())
	}
}

func (m metrics) String() string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%.4g", k, m[k])
	}
	return strings.Join(parts, " ")
}

// value returns the summary (median, or maximum for best-of probes) of key
// in probe id's rounds, and whether there is one.
func (h *harness) value(id, key string) (float64, bool) {
	s := h.results[id]
	if s == nil {
		return 0, false
	}
	var xs []float64
	for _, m := range s.vals {
		if v, ok := m[key]; ok {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return 0, false
	}
	if s.best {
		return slices.Max(xs), true
	}
	return median(xs), true
}

// median returns the median of xs (the mean of the middle two for an even
// count); xs is not modified.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// errNotMeasured marks measurements that could not be taken for a reason
// that is not a failure of our code (no computed store to time a no-op
// run on); they are n/a in the report and do not fail the command.
var errNotMeasured = errors.New("not measured")

// ourFailures lists the probes of our own code that failed.
func (h *harness) ourFailures() []string {
	var bad []string
	for id, s := range h.results {
		if s.err != nil && !s.peer && !errors.Is(s.err, errNotMeasured) {
			bad = append(bad, id)
		}
	}
	sort.Strings(bad)
	return bad
}

// loadAvg reads the load averages (1, 5, 15 minutes).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// prepareProject copies the project's files (projectFiles) and store
// (objects, manifests, refs, pins) into the scratch directory, so that
// `bfc run` and `bfc verify` can be timed without touching the real store,
// and picks the profile to time (-profile; auto: the default profile if
// `bfc status` finds every point fresh, else smoke): a stale point would
// mean hours of computing, so without a fully computed profile the no-op
// run is not timed.
func (h *harness) prepareProject(ctx context.Context) {
	if !h.cfg.section("pipeline") && !h.cfg.section("memory") {
		return
	}
	if _, err := os.Stat(filepath.Join(h.cfg.store, "FORMAT")); err != nil {
		h.projErr = fmt.Errorf("%w: no store at %s (run `make figures` first)", errNotMeasured, h.cfg.store)
		return
	}
	proj := filepath.Join(h.work, "project")
	h.logf("copying the project and its store %s to %s", h.cfg.store, proj)
	var bytes int64
	copies := []struct{ from, to string }{
		{filepath.Join(h.cfg.store, "FORMAT"), ".bfc/FORMAT"},
		{filepath.Join(h.cfg.store, "keys"), ".bfc/keys"},
		{filepath.Join(h.cfg.store, "refs"), ".bfc/refs"},
		{filepath.Join(h.cfg.store, "pins"), ".bfc/pins"},
		{filepath.Join(h.cfg.store, "objects"), ".bfc/objects"},
	}
	for _, c := range copies {
		n, err := copyTree(c.from, filepath.Join(proj, c.to))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			h.projErr = fmt.Errorf("copy %s: %w", c.from, err)
			return
		}
		if strings.HasSuffix(c.to, "objects") {
			bytes = n
		}
	}
	if err := copyProjectFiles(h.cfg.root, proj); err != nil {
		h.projErr = err
		return
	}
	h.project, h.storeMB = proj, float64(bytes)/1e6
	if !h.cfg.section("pipeline") {
		if h.cfg.profile != "auto" {
			h.profile = strings.TrimPrefix(h.cfg.profile, "default")
		}
		return
	}
	candidates := []string{strings.TrimPrefix(h.cfg.profile, "default")}
	if h.cfg.profile == "auto" {
		candidates = []string{"", "smoke"}
	}
	var why []string
	for _, prof := range candidates {
		fresh, notFresh, err := h.freshness(ctx, prof)
		if err != nil {
			h.projErr = err
			return
		}
		if notFresh == 0 {
			h.profile = prof
			// One untimed run: a run rewrites every ref, the first one may
			// also publish; the timed ones then find what `make figures`
			// finds.
			if res := h.exec(ctx, command{args: h.bfcArgs("run"), dir: proj, timeout: 2 * time.Minute}); res.err != nil {
				h.projErr = fmt.Errorf("bfc run (warm-up): %v: %s", res.err, tail(res.out, 300))
			}
			return
		}
		why = append(why, fmt.Sprintf("%d of %d points of %s are stale or missing", notFresh, fresh+notFresh, profileName(prof)))
	}
	// A stale point would mean hours of computing: no no-op run to time.
	h.projErr = fmt.Errorf("%w: %s for this bfc (run `make figures` or `make smoke` with the current code first)", errNotMeasured, strings.Join(why, "; "))
}

// profileName words a profile for the report.
func profileName(p string) string {
	if p == "" {
		return "the default profile"
	}
	return "profile " + p
}

// bfcArgs is the command line of bfc with the measured profile.
func (h *harness) bfcArgs(args ...string) []string {
	out := []string{h.bins["bfc"]}
	if h.profile != "" {
		out = append(out, "--profile", h.profile)
	}
	return append(out, args...)
}

// freshness runs `bfc status` under profile prof in the project copy and
// counts its fresh and other points (status exits 1 when some are not
// fresh; that is an answer, not a failure).
func (h *harness) freshness(ctx context.Context, prof string) (fresh, notFresh int, err error) {
	args := []string{h.bins["bfc"], "status"}
	if prof != "" {
		args = []string{h.bins["bfc"], "--profile", prof, "status"}
	}
	res := h.exec(ctx, command{args: args, dir: h.project, timeout: 5 * time.Minute})
	f, stale, missing, perr := parseStatus(res.out)
	if perr != nil {
		if res.err != nil {
			return 0, 0, fmt.Errorf("bfc status: %v: %s", res.err, tail(res.out, 300))
		}
		return 0, 0, perr
	}
	return f, stale + missing, nil
}

// copyTree copies a file or directory tree and returns the bytes copied.
func copyTree(from, to string) (int64, error) {
	var total int64
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		n, err := copyFile(p, dst)
		total += n
		return err
	})
	return total, err
}

func copyFile(from, to string) (int64, error) {
	in, err := os.Open(from)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return 0, err
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm()|0o200)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(to, fi.Mode().Perm())
	}
	return n, err
}

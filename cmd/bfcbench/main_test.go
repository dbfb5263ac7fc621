package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// The testdata files are real outputs of the benchmark binaries and peer
// scripts, captured on the project's machine.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseGoBench(t *testing.T) {
	cases := []struct {
		file    string
		procs   int
		want    map[string]metrics // name -> some metrics it must have
		count   int
		wantErr string
	}{
		{"step-procs2.txt", 2, map[string]metrics{
			"BenchmarkStep/openblas/E1/m=64/batch=256/threads=1": {"ns/op": 172905, "GFLOP/s": 8.294, "samples/s": 1481999},
			"BenchmarkStep/openblas/E1/m=64/batch=256/threads=2": {"ns/op": 289409, "samples/s": 885191},
		}, 2, ""},
		{"step-procs1.txt", 1, map[string]metrics{
			"BenchmarkStep/gonum/large/m=1024/batch=1024/threads=1": {"ns/op": 1967900, "GFLOP/s": 4.788, "samples/s": 520518},
		}, 1, ""},
		{"krr.txt", 2, map[string]metrics{
			"BenchmarkKRR/gram/gonum/n=256": {"ns/op": 787680},
			"BenchmarkKRR/fit/gonum/n=300":  {"ns/op": 2110211},
		}, 4, ""},
		// A failed benchmark is an error with its message; the others
		// are still parsed.
		{"bench-fail.txt", 2, map[string]metrics{
			"BenchmarkCodeIdentity": {"ns/op": 1653073},
		}, 1, "BenchmarkNoopRunProject"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			res, err := parseGoBench(readTestdata(t, c.file), c.procs)
			if c.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "no such file")) {
				t.Fatalf("err = %v, want one naming %s and its message", err, c.wantErr)
			}
			if len(res) != c.count {
				t.Fatalf("%d results, want %d: %+v", len(res), c.count, res)
			}
			for name, want := range c.want {
				got, err := findBench(res, name)
				if err != nil {
					t.Fatal(err)
				}
				for unit, v := range want {
					// The values are printed with at most 4 significant
					// digits for GFLOP/s and exactly for the others, so
					// they must parse exactly.
					if got[unit] != v {
						t.Errorf("%s %s = %v, want %v", name, unit, got[unit], v)
					}
				}
			}
		})
	}
}

func TestFindBenchNamesWhatItHas(t *testing.T) {
	res := []goBench{{Name: "BenchmarkA"}, {Name: "BenchmarkB/x"}}
	_, err := findBench(res, "BenchmarkB")
	if err == nil || !strings.Contains(err.Error(), "BenchmarkB/x") {
		t.Fatalf("err = %v, want it to list the benchmarks found", err)
	}
}

// TestBenchPattern checks that the pattern selects exactly one name, level
// by level, as `go test -bench` matches it.
func TestBenchPattern(t *testing.T) {
	name := "BenchmarkStep/" + pureBackend + "/E1/m=64/batch=256/threads=1"
	levels := strings.Split(benchPattern(name), "/")
	matches := func(candidate string) bool {
		parts := strings.Split(candidate, "/")
		if len(parts) < len(levels) {
			return false
		}
		for i, l := range levels {
			if !regexp.MustCompile(l).MatchString(parts[i]) {
				return false
			}
		}
		return true
	}
	cases := map[string]bool{
		name: true,
		"BenchmarkStep/" + pureBackend + "/E1/m=64/batch=256/threads=10":      false,
		"BenchmarkStep/" + pureBackend + "/E1/m=640/batch=256/threads=1":      false,
		"BenchmarkStep/openblas/E1/m=64/batch=256/threads=1":                  false,
		"BenchmarkStepX/" + pureBackend + "/E1/m=64/batch=256/threads=1":      false,
		"BenchmarkStep/" + pureBackend + "/large/m=1024/batch=1024/threads=1": false,
	}
	for c, want := range cases {
		if got := matches(c); got != want {
			t.Errorf("pattern %s matches %s: %v, want %v", benchPattern(name), c, got, want)
		}
	}
}

func TestParseKeyValues(t *testing.T) {
	cases := []struct {
		file, prefix string
		want         metrics
		wantStr      map[string]string
	}{
		{"torch.txt", "torch", metrics{"samples_per_s": 96866.5, "steps": 10, "threads": 1, "flops_per_step": 5222528}, map[string]string{"dtype": "float64"}},
		{"sklearn.txt", "sklearn", metrics{"n": 300, "fit_s": 0.0049, "gram_s": 0.0005, "openblas_threads": 2}, map[string]string{"sklearn": "1.2.1"}},
		{"dgemm.txt", "dgemm", metrics{"n": 300, "gflops": 119.87}, map[string]string{"openblas_threads": "default"}},
	}
	for _, c := range cases {
		got, str, err := parseKeyValues(readTestdata(t, c.file), c.prefix)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", c.file, k, got[k], v)
			}
		}
		for k, v := range c.wantStr {
			if str[k] != v {
				t.Errorf("%s: %s = %q, want %q", c.file, k, str[k], v)
			}
		}
	}
	for _, bad := range []struct{ out, want string }{
		{"Traceback (most recent call last):\nModuleNotFoundError: No module named 'torch'\n", "no line starting with \"torch\""},
		{"torch samples_per_s=1 oops\n", "not key=value"},
	} {
		if _, _, err := parseKeyValues(bad.out, "torch"); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("parseKeyValues(%q) = %v, want an error with %q", bad.out, err, bad.want)
		}
	}
	if err := need(metrics{"a": 1}, "x", "a", "b"); err == nil || !strings.Contains(err.Error(), "no b") {
		t.Errorf("need: %v, want it to name the missing key", err)
	}
}

func TestParseStatus(t *testing.T) {
	f, s, m, err := parseStatus(readTestdata(t, "status.txt"))
	if err != nil || f != 167 || s != 0 || m != 0 {
		t.Fatalf("parseStatus = %d, %d, %d, %v; want 167, 0, 0", f, s, m, err)
	}
	f, s, m, err = parseStatus("E1_train: stale\n150 fresh, 12 stale, 5 missing (profile \"\")\n")
	if err != nil || f != 150 || s != 12 || m != 5 {
		t.Fatalf("parseStatus = %d, %d, %d, %v; want 150, 12, 5", f, s, m, err)
	}
	if _, _, _, err := parseStatus("bfc: pipeline.toml:3: bad\n"); err == nil {
		t.Fatal("parseStatus accepted output without a summary line")
	}
}

// TestTorchStepFlops checks the count against sums done by hand (the
// terms of torchStepFlops's documentation, product by product);
// TestTorchFlopsMatchProfiler checks it against torch's own count.
func TestTorchStepFlops(t *testing.T) {
	cases := []struct {
		s    learnerSize
		want float64
	}{
		// L=2: one layer, the top, h = [σ1(x), x] (P = 2): f and dW
		// (2·1·2·1 each), the Gram factors and their gradients
		// (6·2·2·(1+1)); no S_2, no dh.
		{learnerSize{D: 1, K: 1, L: 2, M: 1, Batch: 1}, 4 + 4 + 48},
		// E1: p = 8, P = 32 then 24.
		// layer 2: f 1048576, dW 1048576, Gram 411648, S 49152, u 12288,
		//          dS 12288, dK 49152                      = 2631680
		// layer 3: f 786432, dW 786432, Gram 231552, dh 786432 = 2590848
		{learnerSizes[0], 2631680 + 2590848},
		// large: layer 2 = 141019136, layer 3 = 154544256.
		{learnerSizes[1], 141019136 + 154544256},
		// chain, L = 3, d = 2, k = 1 (p = 3), m = 1, B = 1: layer 2 reads
		// σ1(x) (P = 2): f 4, dW 4, Gram 48, S 4, u 6, dS 6, dK 4 = 76;
		// layer 3 reads ψ_2 (P = 3): f 6, dW 6, Gram 108, dh 6 = 126.
		{learnerSize{D: 2, K: 1, L: 3, M: 1, Batch: 1, Connections: targetnet.Chain}, 76 + 126},
	}
	for _, c := range cases {
		if got := torchStepFlops(c.s); got != c.want {
			t.Errorf("torchStepFlops(%+v) = %.0f, want %.0f", c.s, got, c.want)
		}
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, c := range cases {
		in := append([]float64(nil), c.xs...)
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
		for i := range in {
			if in[i] != c.xs[i] {
				t.Fatalf("median reordered its input: %v", c.xs)
			}
		}
	}
}

// fakeHarness returns a harness whose probes "ran" with the given rounds.
func fakeHarness(t *testing.T, rounds map[string][]metrics, errs map[string]error, only ...string) *harness {
	t.Helper()
	cfg := config{reps: 3, krrN: []int{10000}, only: map[string]bool{}}
	for _, s := range only {
		cfg.only[s] = true
	}
	h := &harness{cfg: cfg, results: map[string]*series{}, missing: map[string]string{}, loads: []string{"1.00 1.00 1.00"}}
	for id, vals := range rounds {
		h.results[id] = &series{vals: vals, best: strings.HasPrefix(id, "peak/")}
	}
	for id, err := range errs {
		h.results[id] = &series{err: err, peer: strings.HasSuffix(id, "torch")}
	}
	return h
}

func TestReportRatiosAndVerdicts(t *testing.T) {
	e1, large := learnerSizes[0], learnerSizes[1]
	step := func(sps float64, size learnerSize) metrics {
		// 9.4 MFLOP per large step, as the benchmark's count gives.
		ns := 1e9 * float64(size.Batch) / sps
		return metrics{"step samples/s": sps, "step ns/op": ns, "step GFLOP/s": 9.4e6 / ns}
	}
	rounds := map[string][]metrics{
		// medians: 1.0 M, 2.0 M, 400 k (the outlier rounds must not count).
		learnerID(e1, 1, pureBackend):   {step(1e6, e1), step(0.2e6, e1), step(1.1e6, e1)},
		learnerID(e1, 1, "openblas"):    {step(2e6, e1), step(2e6, e1), step(2e6, e1)},
		learnerID(e1, 1, "torch"):       {{"samples_per_s": 4e5}, {"samples_per_s": 9e5}, {"samples_per_s": 3e5}},
		learnerID(e1, 2, pureBackend):   {step(0.7e6, e1)},
		learnerID(e1, 2, "openblas"):    {step(1e6, e1)},
		learnerID(e1, 2, executorBLAS):  {step(0.5e6, e1)},
		learnerID(large, 2, "openblas"): {step(1e6, large)},
		learnerID(large, 2, "torch"):    {{"samples_per_s": 5e4}},
		peakID(2):                       {{"gflops": 150}, {"gflops": 180}, {"gflops": 170}},
		krrID(10000, "openblas"):        {{"fit ns/op": 10e9, "gram ns/op": 1e9}},
		krrID(10000, "sklearn"):         {{"fit_s": 8, "gram_s": 2}},
	}
	errs := map[string]error{learnerID(e1, 2, "torch"): errors.New("No module named 'torch'")}
	h := fakeHarness(t, rounds, errs, "learner", "krr")
	rep := h.report()
	want := []string{
		"| E1 (d=16, k=3, L=3, m=64, batch 256) | 1 | 1.00 M/s | 2.00 M/s | 400 k/s | 2.50x | 5.00x |",
		// A failed peer is n/a with a numbered note, and no ratio.
		"| E1 (d=16, k=3, L=3, m=64, batch 256) | 2 | 700 k/s | 1.00 M/s | n/a [1] |  |  |",
		"1. No module named 'torch'",
		// Per-round ratios: 1/0.4, 0.2/0.9, 1.1/0.3.
		"| E1 training, pure Go, 1 core(s): at least 5x torch's samples/s (issue 14) | 2.50x (rounds 0.22x-3.67x) | **no** |",
		"| E1 (d=16, k=3, L=3, m=64, batch 256) | 2, 2 OpenBLAS threads (as the executors run stages) |  | 500 k/s | n/a [1] |  |  |",
		// 10 s against 8 s: 1.25x, over the 1.2x target.
		"| 10000 | n/a | 10.00 s (1.00 s) | 8.00 s (2.00 s) |  | 1.25x |",
		"| kernel ridge n=10000, OpenBLAS: within 1.2x of sklearn's time | 1.25x | **no** |",
		// Large step at 1 M samples/s: 9.4 MFLOP × ~977 steps/s = 9.2
		// GFLOP/s, 5% of the best dgemm round (180), 12% of 78.
		"9.2 GFLOP/s of its own flops = 12% of 78 (issue's peak), 5% of the measured dgemm 180.0",
		"| 2 | 180.0 |",
	}
	for _, w := range want {
		if !strings.Contains(rep, w) {
			t.Errorf("report lacks %q:\n%s", w, rep)
		}
	}
}

func TestStageMemory(t *testing.T) {
	st, err := store.Open(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	put := func(profile, point, kind string, rss int64) {
		t.Helper()
		comps := []store.Component{store.NewComponent("kind", kind), store.NewComponent("point", profile+point)}
		key, err := store.KeyOf(comps)
		if err != nil {
			t.Fatal(err)
		}
		m := &store.Manifest{Format: store.FormatVersion, Key: key, Kind: kind, Stage: point, Components: comps,
			Run: store.RunRecord{MaxRSSBytes: rss}}
		if err := st.PutManifest(m); err != nil {
			t.Fatal(err)
		}
		if err := st.SetRef(profile, point, key); err != nil {
			t.Fatal(err)
		}
	}
	put("", "a[seed=1]", "train", 100<<20)
	put("", "a[seed=2]", "train", 300<<20)
	put("", "big", "sweep", 5<<30)
	put("smoke", "huge", "figure", 9<<30) // another profile: not counted
	got, err := stageMemory(st.Dir, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []kindMemory{{"sweep", 1, 5 << 30, "big"}, {"train", 2, 300 << 20, "a[seed=2]"}}
	if len(got) != len(want) {
		t.Fatalf("stageMemory = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("kind %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	h := fakeHarness(t, nil, nil, "memory")
	h.cfg.store = st.Dir
	rep := h.report()
	for _, w := range []string{"| sweep | 1 | 5120 MiB | `big` | **above 4 GiB** |", "| no default stage above 4 GiB | largest 5.00 GiB (big) | **no** |"} {
		if !strings.Contains(rep, w) {
			t.Errorf("report lacks %q:\n%s", w, rep)
		}
	}
}

func TestParseFlags(t *testing.T) {
	var sink strings.Builder
	if _, err := parseFlags(nil, &sink); err == nil || !strings.Contains(err.Error(), "repository root") {
		t.Fatalf("outside the repository root: err = %v", err)
	}
	t.Chdir("../..")
	c, err := parseFlags([]string{"-quick", "-only", "krr,store"}, &sink)
	if err != nil {
		t.Fatal(err)
	}
	if c.reps != 1 || len(c.krrN) != 1 || c.krrN[0] != 512 || !c.section("krr") || c.section("learner") {
		t.Errorf("-quick -only krr,store: %+v", c)
	}
	if wd, _ := os.Getwd(); c.peers != filepath.Join(wd, "bench") {
		t.Errorf("peers = %s, want the repository's bench directory, %s", c.peers, filepath.Join(wd, "bench"))
	}
	if len(c.gemmN) != 1 || c.gemmN[0] != 256 || len(c.sweepN) != 1 || c.sweepN[0] != 1000 || c.profile != "auto" || c.jobs != 2 {
		t.Errorf("-quick: gemm %v, sweep %v, profile %q, -j %d", c.gemmN, c.sweepN, c.profile, c.jobs)
	}
	c, err = parseFlags([]string{"-e2e", "-profile", "smoke", "-sweep", "624, 100000"}, &sink)
	if err != nil || !c.e2e || c.profile != "smoke" || c.e2eBase != "76b76ed" || len(c.sweepN) != 2 || c.sweepN[1] != 100000 {
		t.Errorf("-e2e -profile smoke -sweep: %+v, %v", c, err)
	}
	for _, bad := range [][]string{{"-only", "gpu"}, {"-reps", "0"}, {"-krr", "10,x"}, {"extra"},
		{"-gemm", "4"}, {"-sweep", "1000,"}, {"-j", "0"}, {"-profile", ""}} {
		if _, err := parseFlags(bad, &sink); err == nil {
			t.Errorf("parseFlags(%q) accepted bad flags", bad)
		}
	}
}

// TestExecKillsTheProcessGroup checks that a timed-out child is killed
// with what it started (a peer script's worker threads, a test binary's
// subprocesses), so a hung peer cannot hold the harness.
func TestExecKillsTheProcessGroup(t *testing.T) {
	h := &harness{cfg: config{root: t.TempDir()}}
	start := time.Now()
	res := h.exec(context.Background(), command{args: []string{"sh", "-c", "sleep 30 & sleep 30; echo done"}, timeout: 200 * time.Millisecond})
	if res.err == nil || !strings.Contains(res.err.Error(), "deadline") {
		t.Fatalf("err = %v, want a deadline error", res.err)
	}
	// WaitDelay (5 s) bounds the wait for the pipes if the grandchild
	// survived; killing the group returns well before it.
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("exec returned after %v: the background sleep kept running", d)
	}
	res = h.exec(context.Background(), command{args: []string{"sh", "-c", "echo $OMP_NUM_THREADS $GOMAXPROCS"}, env: threads(2)})
	if res.err != nil || strings.TrimSpace(res.out) != "2 2" {
		t.Fatalf("thread variables not passed: %q, %v", res.out, res.err)
	}
}

func TestOurFailures(t *testing.T) {
	errs := map[string]error{
		learnerID(learnerSizes[0], 1, "torch"): errors.New("No module named 'torch'"), // a peer
		idNoop:                                 fmt.Errorf("%w: no store", errNotMeasured),
		idStore:                                errors.New("benchmark failed"),
	}
	h := fakeHarness(t, nil, errs)
	if got := h.ourFailures(); len(got) != 1 || got[0] != idStore {
		t.Fatalf("ourFailures = %v, want only %s (peers and unmeasurable no-op runs do not fail bfcbench)", got, idStore)
	}
}

func TestMdTableAlignment(t *testing.T) {
	var b strings.Builder
	mdTable(&b, []string{"name", "value", "verdict"}, [][]string{{"a", "1.0 s", "yes"}, {"b", "n/a [1]", ""}})
	if want := "| name | value | verdict |\n|---|--:|---|\n"; !strings.HasPrefix(b.String(), want) {
		t.Fatalf("table starts %q, want %q", b.String(), want)
	}
}

// TestProfilerAgreement checks the report's remark on the peer's own flop
// count: silent without a peer run, agreement when the counts match, both
// numbers when they do not.
func TestProfilerAgreement(t *testing.T) {
	e1 := learnerSizes[0]
	right := torchStepFlops(e1)
	cases := []struct {
		name   string
		rounds map[string][]metrics
		want   []string
	}{
		{"no peer run", nil, nil},
		{"same count", map[string][]metrics{learnerID(e1, 1, "torch"): {{"samples_per_s": 1, "flops_per_step": right}}},
			[]string{"torch.profiler counts the same"}},
		{"different count", map[string][]metrics{learnerID(e1, 1, "torch"): {{"samples_per_s": 1, "flops_per_step": right + 1e5}}},
			[]string{"counts differently", fmt.Sprintf("torch.profiler %.0f, torchStepFlops %.0f", right+1e5, right)}},
	}
	for _, c := range cases {
		got := fakeHarness(t, c.rounds, nil, "learner").profilerAgreement()
		if len(c.want) == 0 && got != "" {
			t.Errorf("%s: %q, want nothing", c.name, got)
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.name, got, w)
			}
		}
	}
}

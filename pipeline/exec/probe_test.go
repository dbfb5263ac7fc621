package exec_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	bfcexec "github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/internal/enginetest"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
	"github.com/bfc-repro/bfc/stages/kit"
)

func searchSrc(ratio string) string {
	return strings.Replace(enginetest.SearchPipeline, "RATIO", ratio, 1)
}

// recorder is a Display that keeps the probe events.
type recorder struct {
	bfcexec.NopDisplay
	mu     sync.Mutex
	probes []string
}

func (r *recorder) Event(ev bfcexec.Event) {
	if ev.Type == "probe" {
		r.mu.Lock()
		r.probes = append(r.probes, ev.Msg)
		r.mu.Unlock()
	}
}

// count returns how many probe events say computed and cached.
func (r *recorder) count() (computed, cached int) {
	for _, m := range r.probes {
		switch {
		case strings.Contains(m, " computed in "):
			computed++
		case strings.Contains(m, " cached "):
			cached++
		}
	}
	return computed, cached
}

// runWith runs targets (default all) of f with executor x (default in
// process) and a recording display.
func runWith(t *testing.T, f *enginetest.Fixture, x bfcexec.Executor, targets ...string) (*bfcexec.Summary, *recorder) {
	t.Helper()
	e := f.Engine("")
	pts, err := e.Graph.Select(targets)
	if err != nil {
		t.Fatal(err)
	}
	if x == nil {
		x = &bfcexec.InProcess{Store: e.Store, Kinds: kinds, Code: f.Code}
	}
	rec := &recorder{}
	s, err := (&bfcexec.Runner{Engine: e, Exec: x, Jobs: 2, Display: rec}).Run(context.Background(), pts)
	if err != nil {
		t.Fatal(err)
	}
	if s.Failed > 0 {
		for _, r := range s.Results {
			if r.Err != nil {
				t.Fatalf("%s: %v", r.Point.ID, r.Err)
			}
		}
	}
	return s, rec
}

func resultOf(t *testing.T, s *bfcexec.Summary, point string) *bfcexec.PointResult {
	t.Helper()
	for p, r := range s.Results {
		if p.ID == point {
			return r
		}
	}
	t.Fatalf("no result for %s", point)
	return nil
}

// found reads the bracket the search wrote.
func found(t *testing.T, st *store.Store, m *store.Manifest) (lo, hi, probes int64) {
	t.Helper()
	o, _ := m.Output("found")
	b, err := st.ReadObject(o.File)
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := store.DecodeTable(b)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	get := func(c string) int64 { v, _ := kit.ReadInt64s(rec, c); return v[0] }
	return get("lo"), get("hi"), get("probes")
}

func probeNames(m *store.Manifest) []string {
	var out []string
	for _, p := range m.Probes {
		out = append(out, p.Name)
	}
	return out
}

// TestProbesAreCachedPoints runs a search over probes: every probe is
// computed once and listed in the search's manifest; a rerun computes
// nothing; a finer ratio reuses every earlier probe and computes only the
// new ones; and a static point with a probe's components has its key and
// is found computed.
func TestProbesAreCachedPoints(t *testing.T) {
	f := newFixture(t, searchSrc("1.25"))
	s, rec := runWith(t, f, nil, "s")
	st := f.Engine("").Store
	m := resultOf(t, s, "s").Manifest
	// Doubling 2..128 (128 passes), then bisection 96 (fails), 112 (passes).
	want := []string{"src[n=112]", "src[n=128]", "src[n=16]", "src[n=2]", "src[n=32]", "src[n=4]", "src[n=64]", "src[n=8]", "src[n=96]"}
	if got := probeNames(m); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("probes %v, want %v", got, want)
	}
	if lo, hi, n := found(t, st, m); lo != 96 || hi != 112 || n != 9 {
		t.Fatalf("found [%d, %d] with %d probes, want [96, 112] with 9", lo, hi, n)
	}
	if c, k := rec.count(); testkinds.Runs("src") != 9 || c != 9 || k != 0 {
		t.Fatalf("src ran %d times, %d probes computed, %d cached; want 9, 9, 0", testkinds.Runs("src"), c, k)
	}
	for _, p := range m.Probes {
		pm, err := st.Manifest(p.Key)
		if err != nil || pm.Kind != "src" {
			t.Fatalf("probe %s: manifest %v, %v", p.Name, pm, err)
		}
	}

	testkinds.Reset()
	if s2, _ := runWith(t, f, nil, "s"); s2.Ran != 0 || testkinds.Runs("src")+testkinds.Runs("search") != 0 {
		t.Fatalf("rerun: ran %d, src %d, search %d; want nothing", s2.Ran, testkinds.Runs("src"), testkinds.Runs("search"))
	}

	// The static point src n=16 seed 7 is the probe src[n=16].
	s3, _ := runWith(t, f, nil, "st")
	if r := resultOf(t, s3, "st"); r.Status != bfcexec.StatusCached || r.Key != m.Probes[2].Key || testkinds.Runs("src") != 0 {
		t.Fatalf("static twin of probe src[n=16]: %s key %s, probe key %s, src ran %d", r.Status, r.Key.Short(), m.Probes[2].Key.Short(), testkinds.Runs("src"))
	}

	// A finer ratio probes 104 and 100 beyond the 9 it had.
	f.Write(searchSrc("1.05"))
	testkinds.Reset()
	s4, rec4 := runWith(t, f, nil, "s")
	m4 := resultOf(t, s4, "s").Manifest
	if lo, hi, n := found(t, st, m4); lo != 96 || hi != 100 || n != 11 {
		t.Fatalf("ratio 1.05: found [%d, %d] with %d probes, want [96, 100] with 11", lo, hi, n)
	}
	if c, k := rec4.count(); testkinds.Runs("src") != 2 || c != 2 || k != 9 {
		t.Fatalf("ratio 1.05: src ran %d, %d probes computed, %d cached; want 2, 2, 9", testkinds.Runs("src"), c, k)
	}
	if len(m4.Probes) != 11 {
		t.Fatalf("ratio 1.05: manifest lists %d probes, want 11", len(m4.Probes))
	}
}

// TestProbeIsRefusedClearly checks what Probe refuses, each failing the
// point that asked with a message naming the problem.
func TestProbeIsRefusedClearly(t *testing.T) {
	cases := []struct{ name, params, want string }{
		{"unknown kind", `kind = "srcc"`, `this bfc has no stage kind "srcc"`},
		{"unknown param", `params = '{"m": 3}'`, `m: unknown parameter of kind "src" (did you mean "n"?)`},
		{"out of range", `params = '{"n": 5000}'`, `n: 5000 is out of range`},
		{"bad seed", `params = '{"seed": -1}'`, `seed: -1: want a non-negative integer`},
		{"reads files", `kind = "file"`, `kind file reads external files`},
		{"cycle", `self = true`, `has the key of a point it is computed for (a probe cycle)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, "[stage.p]\nkind = \"prober\"\nparams = { "+c.params+" }\n")
			e := f.Engine("")
			s, err := (&bfcexec.Runner{Engine: e, Exec: &bfcexec.InProcess{Store: e.Store, Kinds: kinds, Code: f.Code}, Jobs: 1}).Run(context.Background(), e.Graph.Points)
			if err != nil {
				t.Fatal(err)
			}
			r := resultOf(t, s, "p")
			if r.Status != bfcexec.StatusFailed || !strings.Contains(r.Err.Error(), c.want) {
				t.Fatalf("%s %v, want a failure saying %q", r.Status, r.Err, c.want)
			}
		})
	}
}

// TestProbeOfInputsIsKeyedByTheirData probes src... with the prober's own
// input, a sum over src: the probe is keyed as a static sum point with that
// input, so it is found computed by a static twin.
func TestProbeOfInputsIsKeyedByTheirData(t *testing.T) {
	f := newFixture(t, `
[stage.a]
kind = "src"
params = { n = 3 }
[stage.p]
kind = "prober"
inputs = ["a"]
params = { kind = "sum", params = '{"offset": 2.5}', with_inputs = true }
[stage.twin]
kind = "sum"
inputs = ["a"]
params = { offset = 2.5 }
`)
	s, _ := runWith(t, f, nil, "p")
	m := resultOf(t, s, "p").Manifest
	if len(m.Probes) != 1 || m.Probes[0].Name != "sum[offset=2.5]" {
		t.Fatalf("probes %+v, want one named sum[offset=2.5]", m.Probes)
	}
	testkinds.Reset()
	s2, _ := runWith(t, f, nil, "twin")
	if r := resultOf(t, s2, "twin"); r.Key != m.Probes[0].Key || r.Status != bfcexec.StatusCached || testkinds.Runs("sum") != 0 {
		t.Fatalf("static twin: %s key %s, probe key %s, sum ran %d", r.Status, r.Key.Short(), m.Probes[0].Key.Short(), testkinds.Runs("sum"))
	}
}

// TestGCKeepsProbesOfLivePoints: gc keeps the probes of a live search and
// removes them once the search is gone from the pipeline, except the one
// a static point still uses.
func TestGCKeepsProbesOfLivePoints(t *testing.T) {
	f := newFixture(t, searchSrc("1.25"))
	s, _ := runWith(t, f, nil)
	m := resultOf(t, s, "s").Manifest
	gc := func() *store.GCReport {
		t.Helper()
		cfg, err := config.ParseFile(f.File())
		if err != nil {
			t.Fatal(err)
		}
		st := f.Engine("").Store
		live, err := graph.Live(cfg, kinds, st)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := st.GC(live.Keys, live.KeepRef, false)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	st := f.Engine("").Store
	if rep := gc(); len(rep.Manifests) != 0 {
		t.Fatalf("gc of a live search removed %v", rep.Manifests)
	}
	for _, p := range m.Probes {
		if _, err := st.Manifest(p.Key); err != nil {
			t.Fatalf("probe %s gone after gc: %v", p.Name, err)
		}
	}
	f.Write(strings.Replace(searchSrc("1.25"), `[stage.s]
kind = "search"
params = { threshold = 1.0, ratio = 1.25 }
seed = 7
`, "", 1))
	rep := gc()
	if len(rep.Manifests) != 9 { // the search and 8 of its 9 probes
		t.Fatalf("gc removed %d manifests, want 9 (the search and the probes st does not use): %v", len(rep.Manifests), rep.Manifests)
	}
	for _, p := range m.Probes {
		_, err := st.Manifest(p.Key)
		if (p.Name == "src[n=16]") != (err == nil) {
			t.Fatalf("after gc, probe %s: %v (only src[n=16], the static st, stays)", p.Name, err)
		}
	}
	if rep, _ := st.Verify(); len(rep.Problems) != 0 {
		t.Fatalf("verify after gc: %v", rep.Problems)
	}
}

// The child-process tests run this test binary as the stage process
// (`bfc exec`) or as a whole run, selected by BFC_TEST_CHILD.
func TestMain(m *testing.M) {
	switch os.Getenv("BFC_TEST_CHILD") {
	case "exec":
		os.Exit(childExec(os.Args[len(os.Args)-1]))
	case "run":
		os.Exit(childRun(os.Getenv("BFC_TEST_DIR")))
	}
	os.Exit(m.Run())
}

// childExec is `bfc exec JOBFILE` with the test kinds and an unchanged
// fake code identity.
func childExec(path string) int {
	job, err := bfcexec.ReadJob(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st, err := store.Open(job.Store, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	events, result := bfcexec.ChildReporter(os.Stdout)
	res := bfcexec.ExecuteJob(context.Background(), st, job, bfcexec.ExecOptions{Executor: "local", Events: events, Kinds: kinds, Code: enginetest.NewFakeCode()})
	result(res)
	if res.Error != "" {
		return 1
	}
	return 0
}

// childRun runs the pipeline in dir in this process, killing itself with
// SIGKILL when src has run BFC_TEST_KILL_AFTER times.
func childRun(dir string) int {
	var after int
	fmt.Sscan(os.Getenv("BFC_TEST_KILL_AFTER"), &after)
	testkinds.Gate = func(kind string) {
		if kind == "src" && testkinds.Runs("src") > after {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	cfg, err := config.ParseFile(filepath.Join(dir, "pipeline.toml"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	g, err := graph.Build(cfg, kinds, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st, err := store.Open(g.Config.Store, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := enginetest.NewFakeCode()
	e := graph.NewEngine(g, st, code)
	s, err := (&bfcexec.Runner{Engine: e, Exec: &bfcexec.InProcess{Store: st, Kinds: kinds, Code: code}, Jobs: 1}).Run(context.Background(), g.Points)
	if err != nil || s.Err() != nil {
		fmt.Fprintln(os.Stderr, err, s.Err())
		return 1
	}
	return 0
}

// TestProbesInAChildProcess runs the search with the local executor (each
// point in a child process that computes its probes itself): the same
// probes and bytes as in process.
func TestProbesInAChildProcess(t *testing.T) {
	ref := newFixture(t, searchSrc("1.25"))
	want := resultOf(t, first(runWith(t, ref, nil, "s")), "s").Manifest
	f := newFixture(t, searchSrc("1.25"))
	e := f.Engine("")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("BFC_TEST_CHILD", "exec")
	s, rec := runWith(t, f, &bfcexec.Local{Store: e.Store, Program: self, Args: []string{"-test.run=^$"}}, "s")
	got := resultOf(t, s, "s").Manifest
	if fmt.Sprint(got.Outputs, got.Probes) != fmt.Sprint(want.Outputs, want.Probes) {
		t.Fatalf("local executor: outputs and probes\n%v\n%v\nwant\n%v\n%v", got.Outputs, got.Probes, want.Outputs, want.Probes)
	}
	if c, _ := rec.count(); c != 9 {
		t.Fatalf("the child reported %d computed probes, want 9: %v", c, rec.probes)
	}
}

func first[A, B any](a A, _ B) A { return a }

// TestKilledSearchResumes kills a run (SIGKILL) in the middle of a search,
// after 4 of its probes: the rerun computes only the other 5, and the
// result has the bytes of an undisturbed run.
func TestKilledSearchResumes(t *testing.T) {
	ref := newFixture(t, searchSrc("1.25"))
	want := resultOf(t, first(runWith(t, ref, nil, "s")), "s").Manifest
	f := newFixture(t, strings.Replace(searchSrc("1.25"), "[stage.st]\nkind = \"src\"\nparams = { n = 16 }\nseed = 7\n", "", 1))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "BFC_TEST_CHILD=run", "BFC_TEST_DIR="+f.Dir, "BFC_TEST_KILL_AFTER=4")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed: %v\n%s", err, out)
	}
	st := f.Engine("").Store
	if rep, _ := st.Verify(); len(rep.Problems) != 0 || rep.Manifests != 4 {
		t.Fatalf("after the kill: %d manifests (want the 4 probes), problems %v", rep.Manifests, rep.Problems)
	}
	testkinds.Reset()
	s, rec := runWith(t, f, nil)
	got := resultOf(t, s, "s").Manifest
	if c, k := rec.count(); c != 5 || k != 4 || testkinds.Runs("src") != 5 {
		t.Fatalf("resume: %d probes computed, %d cached, src ran %d; want 5, 4, 5", c, k, testkinds.Runs("src"))
	}
	if got.Key != want.Key || fmt.Sprint(got.Outputs, got.Probes) != fmt.Sprint(want.Outputs, want.Probes) {
		t.Fatalf("resumed search differs from an undisturbed one:\n%v %v\n%v %v", got.Outputs, got.Probes, want.Outputs, want.Probes)
	}
}

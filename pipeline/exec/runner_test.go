package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bfc-repro/bfc/artifacts"
	"github.com/bfc-repro/bfc/pipeline"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds/sum"
)

// fakeCode is a code identity whose per-package versions tests can edit.
type fakeCode struct {
	mu  sync.Mutex
	ver map[string]string
}

func (f *fakeCode) Components(pkg string) ([]artifacts.Component, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []artifacts.Component{artifacts.NewComponent("code.pkg:"+pkg, f.ver[pkg])}, nil
}

func (f *fakeCode) bump(pkg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ver[pkg] += "+"
}

var kinds = pipeline.NewRegistry(testkinds.Src{}, sum.Kind{})

const basePipeline = `
[pipeline]
name = "test"
seed = 3

[stage.a]
kind = "src"
params = { n = 5, scale = 2.0 }
grid = { seed = [1, 2] }

[stage.b]
kind = "src"
params = { n = 3 }

[stage.total]
kind = "sum"
gather = ["a", "b"]
params = { offset = 1.5 }

[profile.small]
kind.src = { n = 2 }
`

type fixture struct {
	t    *testing.T
	dir  string
	code *fakeCode
}

func newFixture(t *testing.T, src string) *fixture {
	t.Helper()
	testkinds.Reset()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, code: &fakeCode{ver: map[string]string{}}}
	f.write(src)
	return f
}

func (f *fixture) write(src string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, "pipeline.toml"), []byte(src), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) engine(profile string) *pipeline.Engine {
	f.t.Helper()
	cfg, err := pipeline.ParseConfig(filepath.Join(f.dir, "pipeline.toml"))
	if err != nil {
		f.t.Fatal(err)
	}
	g, err := pipeline.Build(cfg, kinds, profile)
	if err != nil {
		f.t.Fatal(err)
	}
	st, err := artifacts.Open(cfg.Store, true)
	if err != nil {
		f.t.Fatal(err)
	}
	return pipeline.NewEngine(g, st, f.code)
}

func (f *fixture) run(profile string, targets ...string) *pipeline.Summary {
	f.t.Helper()
	e := f.engine(profile)
	pts, err := e.Graph.Select(targets)
	if err != nil {
		f.t.Fatal(err)
	}
	r := &pipeline.Runner{Engine: e, Exec: &pipeline.InProcess{Store: e.Store, Kinds: kinds, Code: f.code}, Jobs: 2, Publish: true}
	s, err := r.Run(context.Background(), pts)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// keys returns point id -> key after a run.
func keysOf(s *pipeline.Summary) map[string]string {
	out := map[string]string{}
	for p, r := range s.Results {
		out[p.ID] = r.Key
	}
	return out
}

func TestRunThenNothingToDo(t *testing.T) {
	f := newFixture(t, basePipeline)
	s := f.run("")
	if s.Ran != 4 || s.Cached != 0 || s.Failed != 0 {
		t.Fatalf("first run: ran %d cached %d failed %d, want 4/0/0", s.Ran, s.Cached, s.Failed)
	}
	if got := testkinds.Runs("src") + testkinds.Runs("sum"); got != 4 {
		t.Fatalf("executions = %d, want 4", got)
	}
	if b, err := os.ReadFile(filepath.Join(f.dir, "figures", "sum.txt")); err != nil || len(b) == 0 {
		t.Fatalf("published figure missing: %v", err)
	}
	s2 := f.run("")
	if s2.Ran != 0 || s2.Cached != 4 {
		t.Fatalf("second run: ran %d cached %d, want 0/4", s2.Ran, s2.Cached)
	}
	if got := testkinds.Runs("src") + testkinds.Runs("sum"); got != 4 {
		t.Fatalf("second run executed something: %d executions in total", got)
	}
	rep, err := f.engine("").Store.Verify()
	if err != nil || len(rep.Problems) != 0 {
		t.Fatalf("verify: %v %v", err, rep.Problems)
	}
}

func TestFormattingChangesNothing(t *testing.T) {
	f := newFixture(t, basePipeline)
	k1 := keysOf(f.run(""))
	reordered := `
# the same pipeline, keys reordered, other whitespace and comments
[stage.total]
params = {offset=1.5}   # same value
gather = ["a","b"]
kind = "sum"

[stage.b]
params.n = 3
kind = "src"

[profile.small.kind.src]
n = 2

[stage.a]
grid.seed = [1, 2]
kind = "src"
params = { scale = 2.0, n = 5, label = "x" }   # label spelled out at its default

[pipeline]
seed = 3
name = "test"
`
	f.write(reordered)
	s := f.run("")
	if s.Ran != 0 {
		t.Fatalf("reformatted pipeline reran %d points", s.Ran)
	}
	if k2 := keysOf(s); !mapsEqual(k1, k2) {
		t.Fatalf("keys changed:\n%v\n%v", k1, k2)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestParamChangeRerunsStageAndDependentsOnly(t *testing.T) {
	f := newFixture(t, basePipeline)
	f.run("")
	testkinds.Reset()
	f.write(strings.Replace(basePipeline, "params = { n = 3 }", "params = { n = 4 }", 1))
	e := f.engine("")
	var explained []string
	for _, st := range e.Status(e.Graph.Points) {
		if st.Point.ID == "b" {
			explained = st.Reasons
		}
		if st.Point.ID == "a[seed=1]" && st.State != pipeline.StateFresh {
			t.Errorf("a[seed=1] is %s, want fresh", st.State)
		}
	}
	if len(explained) != 1 || explained[0] != "param n 3 -> 4" {
		t.Errorf("explain b = %q, want [\"param n 3 -> 4\"]", explained)
	}
	s := f.run("")
	if s.Ran != 2 || s.Cached != 2 {
		t.Fatalf("ran %d cached %d, want 2 (b, total) and 2 (a)", s.Ran, s.Cached)
	}
	if testkinds.Runs("src") != 1 || testkinds.Runs("sum") != 1 {
		t.Fatalf("src ran %d, sum ran %d; want 1 and 1", testkinds.Runs("src"), testkinds.Runs("sum"))
	}
}

func TestEarlyCutoff(t *testing.T) {
	f := newFixture(t, basePipeline)
	f.run("")
	testkinds.Reset()
	// The src kind's code changes but its output does not: src reruns,
	// sum does not.
	f.code.bump(pipeline.KindPackage(testkinds.Src{}))
	e := f.engine("")
	for _, st := range e.Status(e.Graph.Points) {
		if st.Point.ID == "b" {
			if len(st.Reasons) != 1 || !strings.Contains(st.Reasons[0], "code of package") {
				t.Errorf("explain b: %q, want a code change", st.Reasons)
			}
		}
	}
	s := f.run("")
	if testkinds.Runs("src") != 3 || testkinds.Runs("sum") != 0 {
		t.Fatalf("src ran %d (want 3), sum ran %d (want 0: same upstream data)", testkinds.Runs("src"), testkinds.Runs("sum"))
	}
	if s.Ran != 3 || s.Cached != 1 {
		t.Fatalf("ran %d cached %d, want 3/1", s.Ran, s.Cached)
	}
	// A param that does not change src's output reruns src only.
	testkinds.Reset()
	f.write(strings.Replace(basePipeline, "params = { n = 3 }", `params = { n = 3, label = "renamed" }`, 1))
	f.run("")
	if testkinds.Runs("src") != 1 || testkinds.Runs("sum") != 0 {
		t.Fatalf("src ran %d (want 1), sum ran %d (want 0)", testkinds.Runs("src"), testkinds.Runs("sum"))
	}
}

func TestProfileOverridesAndKeepsDefaultFresh(t *testing.T) {
	f := newFixture(t, basePipeline)
	f.run("")
	testkinds.Reset()
	s := f.run("small")
	if testkinds.Runs("src") != 3 || testkinds.Runs("sum") != 1 {
		t.Fatalf("profile run executed src %d, sum %d times", testkinds.Runs("src"), testkinds.Runs("sum"))
	}
	for p := range s.Results {
		if p.Stage.Kind.Name() == "src" && p.Params.Int("n") != 2 {
			t.Errorf("%s has n=%d under profile small, want 2", p.ID, p.Params.Int("n"))
		}
	}
	if s := f.run(""); s.Ran != 0 {
		t.Fatalf("default profile reran %d after a profile run", s.Ran)
	}
}

// TestDamagedStoreIsDetectedAndRecomputed damages the stored result of
// point b in each way a disk or a person can, and checks that verify
// reports it (where there is something to report), that the next run
// recomputes b rather than reading the damage, that b's dependents are
// not rerun (b's data comes out the same), and that the store verifies.
func TestDamagedStoreIsDetectedAndRecomputed(t *testing.T) {
	cases := []struct {
		name      string
		damage    func(st *artifacts.Store, m *artifacts.Manifest) string // returns the path verify must name ("" = none)
		verifyBad bool
	}{
		{"flipped byte", func(st *artifacts.Store, m *artifacts.Manifest) string {
			p := st.ObjectPath(m.Outputs[0].File)
			os.Chmod(p, 0o644)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x01
			os.WriteFile(p, b, 0o444)
			return p
		}, true},
		{"truncated object", func(st *artifacts.Store, m *artifacts.Manifest) string {
			p := st.ObjectPath(m.Outputs[0].File)
			os.Chmod(p, 0o644)
			os.Truncate(p, 100)
			return p
		}, true},
		{"deleted object", func(st *artifacts.Store, m *artifacts.Manifest) string {
			os.Remove(st.ObjectPath(m.Outputs[0].File))
			return st.ManifestPath(m.Key)
		}, true},
		{"deleted manifest", func(st *artifacts.Store, m *artifacts.Manifest) string {
			os.Remove(st.ManifestPath(m.Key))
			return ""
		}, false},
		{"manifest naming a missing object", func(st *artifacts.Store, m *artifacts.Manifest) string {
			m2 := *m
			m2.Outputs = append([]artifacts.Output(nil), m.Outputs...)
			m2.Outputs[0].File = strings.Repeat("0", 64)
			os.Remove(st.ManifestPath(m.Key))
			if err := st.PutManifest(&m2); err != nil {
				t.Fatal(err)
			}
			return st.ManifestPath(m.Key)
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, basePipeline)
			s := f.run("")
			var m *artifacts.Manifest
			for p, r := range s.Results {
				if p.ID == "b" {
					m = r.Manifest
				}
			}
			st := f.engine("").Store
			path := c.damage(st, m)
			rep, err := st.Verify()
			if err != nil {
				t.Fatal(err)
			}
			if c.verifyBad {
				if len(rep.Problems) != 1 || rep.Problems[0].Path != path {
					t.Fatalf("verify problems %v, want exactly one naming %s", rep.Problems, path)
				}
			} else if len(rep.Problems) != 0 {
				t.Fatalf("verify problems %v, want none", rep.Problems)
			}
			testkinds.Reset()
			f.run("")
			if testkinds.Runs("src") != 1 {
				t.Fatalf("src ran %d times after the damage, want 1 (b recomputed)", testkinds.Runs("src"))
			}
			if testkinds.Runs("sum") != 0 {
				t.Fatalf("sum reran although b's data is unchanged")
			}
			rep, _ = st.Verify()
			if len(rep.Problems) != 0 {
				t.Fatalf("store does not verify after recompute: %v", rep.Problems)
			}
		})
	}
}

func TestFailuresAreIsolated(t *testing.T) {
	src := `
[stage.good]
kind = "src"
[stage.bad]
kind = "src"
grid = { mode = ["error", "panic", "nan"] }
[stage.after_bad]
kind = "sum"
inputs = ["bad"]
[stage.after_good]
kind = "sum"
inputs = ["good"]
`
	f := newFixture(t, src)
	e := f.engine("")
	r := &pipeline.Runner{Engine: e, Exec: &pipeline.InProcess{Store: e.Store, Kinds: kinds, Code: f.code}, Jobs: 2}
	s, err := r.Run(context.Background(), e.Graph.Points)
	if err != nil {
		t.Fatal(err)
	}
	if s.Failed != 3 || s.Skipped != 3 || s.Ran != 2 {
		t.Fatalf("failed %d skipped %d ran %d, want 3/3/2", s.Failed, s.Skipped, s.Ran)
	}
	for p, res := range s.Results {
		if res.Status != pipeline.StatusFailed {
			continue
		}
		if _, err := e.Store.Manifest(res.Key); err == nil {
			t.Errorf("%s failed but its key is committed", p.ID)
		}
		if p.Params.String("mode") == "panic" && !strings.Contains(res.Err.Error(), "panicked: asked to panic") {
			t.Errorf("panic not reported: %v", res.Err)
		}
	}
	if s.Err() == nil {
		t.Fatal("Summary.Err is nil despite failures")
	}
}

func TestConcurrentRunsComputeEachKeyOnce(t *testing.T) {
	f := newFixture(t, basePipeline)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.run("")
		}()
	}
	wg.Wait()
	if got := testkinds.Runs("src") + testkinds.Runs("sum"); got != 4 {
		t.Fatalf("3 concurrent runs executed %d stage points, want each of the 4 once", got)
	}
	rep, _ := f.engine("").Store.Verify()
	if len(rep.Problems) != 0 {
		t.Fatalf("verify: %v", rep.Problems)
	}
}

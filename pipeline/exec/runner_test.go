package exec_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/internal/enginetest"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
	"github.com/bfc-repro/bfc/pipeline/view"
)

const basePipeline = enginetest.BasePipeline

var kinds = enginetest.Kinds

func newFixture(t *testing.T, src string) *enginetest.Fixture { return enginetest.New(t, src) }

func TestRunThenNothingToDo(t *testing.T) {
	f := newFixture(t, basePipeline)
	s := f.Run("")
	if s.Ran != 4 || s.Cached != 0 || s.Failed != 0 {
		t.Fatalf("first run: ran %d cached %d failed %d, want 4/0/0", s.Ran, s.Cached, s.Failed)
	}
	if got := testkinds.Runs("src") + testkinds.Runs("sum"); got != 4 {
		t.Fatalf("executions = %d, want 4", got)
	}
	if b, err := os.ReadFile(filepath.Join(f.Dir, "figures", "sum.txt")); err != nil || len(b) == 0 {
		t.Fatalf("published figure missing: %v", err)
	}
	s2 := f.Run("")
	if s2.Ran != 0 || s2.Cached != 4 {
		t.Fatalf("second run: ran %d cached %d, want 0/4", s2.Ran, s2.Cached)
	}
	if got := testkinds.Runs("src") + testkinds.Runs("sum"); got != 4 {
		t.Fatalf("second run executed something: %d executions in total", got)
	}
	rep, err := f.Engine("").Store.Verify()
	if err != nil || len(rep.Problems) != 0 {
		t.Fatalf("verify: %v %v", err, rep.Problems)
	}
}

func TestFormattingChangesNothing(t *testing.T) {
	f := newFixture(t, basePipeline)
	k1 := enginetest.Keys(f.Run(""))
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
	f.Write(reordered)
	s := f.Run("")
	if s.Ran != 0 {
		t.Fatalf("reformatted pipeline reran %d points", s.Ran)
	}
	if k2 := enginetest.Keys(s); !maps.Equal(k1, k2) {
		t.Fatalf("keys changed:\n%v\n%v", k1, k2)
	}
}

func TestParamChangeRerunsStageAndDependentsOnly(t *testing.T) {
	f := newFixture(t, basePipeline)
	f.Run("")
	testkinds.Reset()
	f.Write(strings.Replace(basePipeline, "params = { n = 3 }", "params = { n = 4 }", 1))
	e := f.Engine("")
	var explained []string
	for _, st := range view.Status(e, e.Graph.Points) {
		if st.Point.ID == "b" {
			explained = st.Reasons
		}
		if st.Point.ID == "a[seed=1]" && st.State != view.StateFresh {
			t.Errorf("a[seed=1] is %s, want fresh", st.State)
		}
	}
	if len(explained) != 1 || explained[0] != "param n 3 -> 4" {
		t.Errorf("explain b = %q, want [\"param n 3 -> 4\"]", explained)
	}
	s := f.Run("")
	if s.Ran != 2 || s.Cached != 2 {
		t.Fatalf("ran %d cached %d, want 2 (b, total) and 2 (a)", s.Ran, s.Cached)
	}
	if testkinds.Runs("src") != 1 || testkinds.Runs("sum") != 1 {
		t.Fatalf("src ran %d, sum ran %d; want 1 and 1", testkinds.Runs("src"), testkinds.Runs("sum"))
	}
}

func TestEarlyCutoff(t *testing.T) {
	f := newFixture(t, basePipeline)
	f.Run("")
	testkinds.Reset()
	// The src kind's code changes but its output does not: src reruns,
	// sum does not.
	f.Code.Bump(graph.KindPackage(testkinds.Src{}))
	e := f.Engine("")
	for _, st := range view.Status(e, e.Graph.Points) {
		if st.Point.ID == "b" {
			if len(st.Reasons) != 1 || !strings.Contains(st.Reasons[0], "code of package") {
				t.Errorf("explain b: %q, want a code change", st.Reasons)
			}
		}
	}
	s := f.Run("")
	if testkinds.Runs("src") != 3 || testkinds.Runs("sum") != 0 {
		t.Fatalf("src ran %d (want 3), sum ran %d (want 0: same upstream data)", testkinds.Runs("src"), testkinds.Runs("sum"))
	}
	if s.Ran != 3 || s.Cached != 1 {
		t.Fatalf("ran %d cached %d, want 3/1", s.Ran, s.Cached)
	}
	// A param that does not change src's output reruns src only.
	testkinds.Reset()
	f.Write(strings.Replace(basePipeline, "params = { n = 3 }", `params = { n = 3, label = "renamed" }`, 1))
	f.Run("")
	if testkinds.Runs("src") != 1 || testkinds.Runs("sum") != 0 {
		t.Fatalf("src ran %d (want 1), sum ran %d (want 0)", testkinds.Runs("src"), testkinds.Runs("sum"))
	}
}

func TestProfileOverridesAndKeepsDefaultFresh(t *testing.T) {
	f := newFixture(t, basePipeline)
	f.Run("")
	testkinds.Reset()
	s := f.Run("small")
	if testkinds.Runs("src") != 3 || testkinds.Runs("sum") != 1 {
		t.Fatalf("profile run executed src %d, sum %d times", testkinds.Runs("src"), testkinds.Runs("sum"))
	}
	for p := range s.Results {
		if p.Stage.Kind.Name() == "src" && p.Params.Int("n") != 2 {
			t.Errorf("%s has n=%d under profile small, want 2", p.ID, p.Params.Int("n"))
		}
	}
	if s := f.Run(""); s.Ran != 0 {
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
		damage    func(st *store.Store, m *store.Manifest) string // returns the path verify must name ("" = none)
		verifyBad bool
	}{
		{"flipped byte", func(st *store.Store, m *store.Manifest) string {
			p := st.ObjectPath(m.Outputs[0].File)
			os.Chmod(p, 0o644)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x01
			os.WriteFile(p, b, 0o444)
			return p
		}, true},
		{"truncated object", func(st *store.Store, m *store.Manifest) string {
			p := st.ObjectPath(m.Outputs[0].File)
			os.Chmod(p, 0o644)
			os.Truncate(p, 100)
			return p
		}, true},
		{"deleted object", func(st *store.Store, m *store.Manifest) string {
			os.Remove(st.ObjectPath(m.Outputs[0].File))
			return st.ManifestPath(m.Key)
		}, true},
		{"deleted manifest", func(st *store.Store, m *store.Manifest) string {
			os.Remove(st.ManifestPath(m.Key))
			return ""
		}, false},
		{"manifest naming a missing object", func(st *store.Store, m *store.Manifest) string {
			m2 := *m
			m2.Outputs = append([]store.Output(nil), m.Outputs...)
			m2.Outputs[0].File = id.ObjectOf([]byte("no such object"))
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
			s := f.Run("")
			var m *store.Manifest
			for p, r := range s.Results {
				if p.ID == "b" {
					m = r.Manifest
				}
			}
			st := f.Engine("").Store
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
			f.Run("")
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
	e := f.Engine("")
	r := &exec.Runner{Engine: e, Exec: &exec.InProcess{Store: e.Store, Kinds: kinds, Code: f.Code}, Jobs: 2}
	s, err := r.Run(context.Background(), e.Graph.Points)
	if err != nil {
		t.Fatal(err)
	}
	if s.Failed != 3 || s.Skipped != 3 || s.Ran != 2 {
		t.Fatalf("failed %d skipped %d ran %d, want 3/3/2", s.Failed, s.Skipped, s.Ran)
	}
	for p, res := range s.Results {
		if res.Status != exec.StatusFailed {
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
			f.Run("")
		}()
	}
	wg.Wait()
	if got := testkinds.Runs("src") + testkinds.Runs("sum"); got != 4 {
		t.Fatalf("3 concurrent runs executed %d stage points, want each of the 4 once", got)
	}
	rep, _ := f.Engine("").Store.Verify()
	if len(rep.Problems) != 0 {
		t.Fatalf("verify: %v", rep.Problems)
	}
}

// TestWritesAreCheckedAgainstDeclaredSchemas runs src (a kit.Producer of
// values@v1 with column v) writing a conforming table, a table with
// another column and an undeclared table: the first commits a file that
// names its schema, the others fail their point and commit nothing.
func TestWritesAreCheckedAgainstDeclaredSchemas(t *testing.T) {
	f := newFixture(t, "[stage.s]\nkind = \"src\"\ngrid = { mode = [\"ok\", \"nonconforming\", \"undeclared\"] }\n")
	s := f.Run("")
	st := f.Engine("").Store
	want := map[string]string{
		"s[mode=ok]":            "",
		"s[mode=nonconforming]": `output "values": table values column 0 is "w", schema src/values@v1 declares "v"`,
		"s[mode=undeclared]":    `output "extra": kind src does not declare this table (it declares [values])`,
	}
	for p, res := range s.Results {
		w, ok := want[p.ID]
		if !ok {
			t.Fatalf("unexpected point %s", p.ID)
		}
		if w == "" {
			if res.Status != exec.StatusRan {
				t.Fatalf("%s: %s (%v)", p.ID, res.Status, res.Err)
			}
			o, _ := res.Manifest.Output("values")
			b, err := st.ReadObject(o.File)
			if err != nil {
				t.Fatal(err)
			}
			rec, meta, err := store.DecodeTable(b)
			if err != nil {
				t.Fatal(err)
			}
			rec.Release()
			if meta["bfc.schema"] != "src/values@v1" {
				t.Fatalf("%s: metadata bfc.schema = %q, want src/values@v1", p.ID, meta["bfc.schema"])
			}
			continue
		}
		if res.Status != exec.StatusFailed || res.Err == nil || !strings.Contains(res.Err.Error(), w) {
			t.Fatalf("%s: %s %v, want a failure saying %q", p.ID, res.Status, res.Err, w)
		}
		if _, err := st.Manifest(res.Key); err == nil {
			t.Fatalf("%s failed but its key is committed", p.ID)
		}
	}
}

// Package enginetest is the fixture the engine's tests share: a project
// directory with a pipeline file made of the test kinds, a code identity
// the tests can change, and helpers to build, run and archive it.
package enginetest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds/sum"
)

// Kinds are the test kinds.
var Kinds = graph.NewRegistry(testkinds.Src{}, sum.Kind{}, testkinds.Read{}, testkinds.Search{}, testkinds.Prober{}, testkinds.File{})

// SumPackage is the package of the sum kind (its code identity).
const SumPackage = "github.com/bfc-repro/bfc/pipeline/internal/testkinds/sum"

// BasePipeline has two source stages (one with a seed grid) and a sum
// gathering them, and a profile that changes a kind's params.
const BasePipeline = `
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

// SearchPipeline has a search over probes of src (testkinds.Search with
// threshold 1: 9 probes, the smallest passing n is 100; the ratio is
// RATIO, to be replaced) and a static src point that the search also
// probes (n = 16, same seed).
const SearchPipeline = `
[pipeline]
name = "test"
seed = 3

[stage.s]
kind = "search"
params = { threshold = 1.0, ratio = RATIO }
seed = 7

[stage.st]
kind = "src"
params = { n = 16 }
seed = 7
`

// FakeCode is a code identity whose per-package versions tests can edit.
type FakeCode struct {
	mu  sync.Mutex
	ver map[string]string
}

// NewFakeCode returns a code identity in which every package has version "".
func NewFakeCode() *FakeCode { return &FakeCode{ver: map[string]string{}} }

// Components is one component per package: its version.
func (f *FakeCode) Components(pkg string) ([]store.Component, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []store.Component{store.NewComponent("code.pkg:"+pkg, f.ver[pkg])}, nil
}

// Bump changes the code of pkg.
func (f *FakeCode) Bump(pkg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ver[pkg] += "+"
}

// Fixture is a project directory with pipeline.toml.
type Fixture struct {
	T    testing.TB
	Dir  string
	Code *FakeCode
}

// New writes src as the pipeline file of a new project and resets the
// test kinds' counters.
func New(t testing.TB, src string) *Fixture {
	t.Helper()
	testkinds.Reset()
	f := &Fixture{T: t, Dir: t.TempDir(), Code: NewFakeCode()}
	f.Write(src)
	return f
}

// Write replaces the pipeline file.
func (f *Fixture) Write(src string) {
	f.T.Helper()
	if err := os.WriteFile(f.File(), []byte(src), 0o644); err != nil {
		f.T.Fatal(err)
	}
}

// File is the path of the pipeline file.
func (f *Fixture) File() string { return filepath.Join(f.Dir, "pipeline.toml") }

// Engine parses and builds the pipeline under profile and opens its store.
func (f *Fixture) Engine(profile string) *graph.Engine {
	f.T.Helper()
	cfg, err := config.ParseFile(f.File())
	if err != nil {
		f.T.Fatal(err)
	}
	g, err := graph.Build(cfg, Kinds, profile)
	if err != nil {
		f.T.Fatal(err)
	}
	st, err := store.Open(g.Config.Store, true)
	if err != nil {
		f.T.Fatal(err)
	}
	return graph.NewEngine(g, st, f.Code)
}

// Run runs targets (default all) under profile in this process.
func (f *Fixture) Run(profile string, targets ...string) *exec.Summary {
	f.T.Helper()
	e := f.Engine(profile)
	pts, err := e.Graph.Select(targets)
	if err != nil {
		f.T.Fatal(err)
	}
	r := &exec.Runner{Engine: e, Exec: &exec.InProcess{Store: e.Store, Kinds: Kinds, Code: f.Code}, Jobs: 2, Publish: true}
	s, err := r.Run(context.Background(), pts)
	if err != nil {
		f.T.Fatal(err)
	}
	return s
}

// Keys returns point id -> key after a run.
func Keys(s *exec.Summary) map[string]id.Key {
	out := map[string]id.Key{}
	for p, r := range s.Results {
		out[p.ID] = r.Key
	}
	return out
}

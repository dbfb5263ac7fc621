package exec_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bfc "github.com/bfc-repro/bfc"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds/sum"
	"github.com/bfc-repro/bfc/pipeline/view"
	"github.com/bfc-repro/bfc/stages/all"
	"github.com/bfc-repro/bfc/stages/lib/linalg"
)

// The no-op run is what `make figures` costs when nothing changed: parse
// the pipeline file, build the graph, index the embedded sources for code
// identity, compute every point's key, find its manifest and check its
// outputs, publish. These benchmarks time it in process (no fork/exec, no
// runtime start-up) so that `go test -cpuprofile` can say where the time
// goes; cmd/bfcbench times the whole command on the real store.

// constCode is a code identity that never changes (one component per
// package), so that the synthetic benchmark times the engine alone.
type constCode struct{}

func (constCode) Components(pkg string) ([]store.Component, error) {
	return []store.Component{store.NewComponent("code.pkg:"+pkg, "v1")}, nil
}

// noopRun runs every point of the pipeline in file (all cached, so nothing
// executes) and fails the benchmark unless it was a no-op. With check set
// it first makes sure, without running anything, that every point is fresh
// (a stale point could mean hours of training).
func noopRun(b *testing.B, file string, kinds graph.Registry, code func() (graph.CodeIdentity, error), wantCached int, check bool) {
	b.Helper()
	cb, err := code()
	if err != nil {
		b.Fatal(err)
	}
	e := engineOf(b, file, kinds, cb, false)
	g, st := e.Graph, e.Store
	pts, err := g.Select(nil)
	if err != nil {
		b.Fatal(err)
	}
	if check {
		notFresh := 0
		for _, ps := range view.Status(e, pts) {
			if ps.State != view.StateFresh {
				notFresh++
			}
		}
		if notFresh > 0 {
			b.Fatalf("%s: %d of %d points are not fresh for this binary's code; a no-op run cannot be timed", file, notFresh, len(pts))
		}
		return
	}
	r := &exec.Runner{Engine: e, Exec: &exec.InProcess{Store: st, Kinds: kinds, Code: cb}, Jobs: 2, Display: exec.NopDisplay{}, Publish: true}
	s, err := r.Run(context.Background(), pts)
	if err != nil {
		b.Fatal(err)
	}
	if s.Ran != 0 || s.Failed != 0 || (wantCached > 0 && s.Cached != wantCached) {
		b.Fatalf("not a no-op: ran %d, failed %d, cached %d (want %d cached)", s.Ran, s.Failed, s.Cached, wantCached)
	}
}

// engineOf parses and builds the pipeline in file and opens its store.
func engineOf(b *testing.B, file string, kinds graph.Registry, code graph.CodeIdentity, create bool) *graph.Engine {
	b.Helper()
	cfg, err := config.ParseFile(file)
	if err != nil {
		b.Fatal(err)
	}
	g, err := graph.Build(cfg, kinds, os.Getenv("BFC_BENCH_PROFILE"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(g.Config.Store, create)
	if err != nil {
		b.Fatal(err)
	}
	return graph.NewEngine(g, st, code)
}

// BenchmarkNoopRunSynthetic times a no-op run of 160 cached points of the
// engine's test kinds (about the size of the real pipeline) with a fixed
// code identity: the engine's own bookkeeping.
func BenchmarkNoopRunSynthetic(b *testing.B) {
	const points = 160
	dir := b.TempDir()
	seeds := make([]string, points-1)
	for i := range seeds {
		seeds[i] = fmt.Sprint(i + 1)
	}
	src := fmt.Sprintf(`[pipeline]
name = "bench"
seed = 1

[stage.a]
kind = "src"
params = { n = 1000 }
grid = { seed = [%s] }

[stage.total]
kind = "sum"
gather = ["a"]
`, strings.Join(seeds, ", "))
	file := filepath.Join(dir, "pipeline.toml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	kinds := graph.NewRegistry(testkinds.Src{}, sum.Kind{})
	code := func() (graph.CodeIdentity, error) { return constCode{}, nil }

	// First run computes every point.
	e := engineOf(b, file, kinds, constCode{}, true)
	pts, _ := e.Graph.Select(nil)
	r := &exec.Runner{Engine: e, Exec: &exec.InProcess{Store: e.Store, Kinds: kinds, Code: constCode{}}, Jobs: 2, Display: exec.NopDisplay{}}
	if s, err := r.Run(context.Background(), pts); err != nil || s.Ran != points {
		b.Fatalf("first run: %v (ran %d of %d)", err, s.Ran, points)
	}
	noopRun(b, file, kinds, code, points, true)
	for b.Loop() {
		noopRun(b, file, kinds, code, points, false)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/points, "µs/point")
}

// BenchmarkNoopRunProject times a no-op run of a real project: set
// BFC_BENCH_PROJECT to a directory holding pipeline.toml and its fully
// computed store (cmd/bfcbench makes such a copy; never point it at a
// store that other runs are writing), and BFC_BENCH_PROFILE to the profile
// to run (default: the default profile). Skipped otherwise.
//
//	BFC_BENCH_PROJECT=/tmp/copy go test -run '^$' -bench NoopRunProject -cpuprofile cpu.out ./pipeline/exec
func BenchmarkNoopRunProject(b *testing.B) {
	dir := os.Getenv("BFC_BENCH_PROJECT")
	if dir == "" {
		b.Skip("set BFC_BENCH_PROJECT to a copy of a project whose store is fully computed")
	}
	kinds := graph.NewRegistry(all.Kinds()...)
	// The backend is a key component; bfc sets it the same way (cmd/bfc).
	defer func(b string) { graph.BLASBackend = b }(graph.BLASBackend)
	graph.BLASBackend = linalg.Backend()
	code := func() (graph.CodeIdentity, error) { return graph.NewCodeBase(bfc.Source, bfc.ModulePath) }
	file := filepath.Join(dir, "pipeline.toml")
	noopRun(b, file, kinds, code, 0, true)
	for b.Loop() {
		noopRun(b, file, kinds, code, 0, false)
	}
}

// BenchmarkCodeIdentity times indexing the embedded module sources and
// computing the code identity of every stage kind, which every command
// does once.
func BenchmarkCodeIdentity(b *testing.B) {
	kinds := all.Kinds()
	for b.Loop() {
		cb, err := graph.NewCodeBase(bfc.Source, bfc.ModulePath)
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range kinds {
			if _, err := cb.Components(graph.KindPackage(k)); err != nil {
				b.Fatal(err)
			}
		}
	}
}

package exec_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
	"github.com/bfc-repro/bfc/pipeline/view"
)

// The sweep benchmarks time the engine on a synthetic pipeline of many
// cached points, as users who extend a sweep to tens of thousands of
// points see it: a source stage on a grid of seed x scale (half the
// points) and a consumer that inherits its axes (the other half, each
// keyed on its input's data hash). BenchmarkSweep/points=N/PHASE times
//
//	expand  parse the file and build the graph (config.ParseFile, graph.Build)
//	keys    every point's key, in topological order, with the manifest
//	        lookups the keys of consumers need (what a no-op run does first)
//	noop    a whole no-op run (exec.Runner on a fully cached store, refs
//	        rewritten, nothing executed)
//	status  view.Status of every point
//
// and reports peak-heap-MiB, the largest heap in use seen while the phase
// ran (sampled every millisecond, after a GC before the phase: the phase's
// own footprint including the graph it builds). The store is built once per
// size by a real run, in BFC_SWEEP_DIR/N if that is set (kept between
// invocations, so that cmd/bfcbench pays for it once) or in a temporary
// directory. Sizes are BFC_SWEEP_POINTS (comma-separated, default
// 1000,10000; cmd/bfcbench adds 100000).
//
//	BFC_SWEEP_POINTS=100000 go test -run '^$' -bench 'Sweep/.*/noop' -cpuprofile cpu.out ./pipeline/exec
func BenchmarkSweep(b *testing.B) {
	sizes := []int{1000, 10000}
	if s := os.Getenv("BFC_SWEEP_POINTS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 4 {
				b.Fatalf("BFC_SWEEP_POINTS: %q is not a point count >= 4", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("points=%d", n), func(b *testing.B) {
			file, want := sweepProject(b, n)
			kinds := graph.NewRegistry(testkinds.Src{}, testkinds.Read{})
			phases := []struct {
				name string
				run  func(b *testing.B)
			}{
				{"expand", func(b *testing.B) { sweepGraph(b, file, kinds) }},
				{"keys", func(b *testing.B) {
					e := sweepEngine(b, file, kinds)
					if k := sweepKeys(b, e); k != want {
						b.Fatalf("%d keys, want %d", k, want)
					}
				}},
				{"noop", func(b *testing.B) {
					e := sweepEngine(b, file, kinds)
					r := &exec.Runner{Engine: e, Exec: &exec.InProcess{Store: e.Store, Kinds: kinds, Code: constCode{}}, Jobs: 2, Display: exec.NopDisplay{}}
					s, err := r.Run(context.Background(), e.Graph.Points)
					if err != nil {
						b.Fatal(err)
					}
					if s.Ran != 0 || s.Failed != 0 || s.Cached != want {
						b.Fatalf("not a no-op: ran %d, failed %d, cached %d of %d", s.Ran, s.Failed, s.Cached, want)
					}
				}},
				{"status", func(b *testing.B) {
					e := sweepEngine(b, file, kinds)
					fresh := 0
					for _, ps := range view.Status(e, e.Graph.Points) {
						if ps.State == view.StateFresh {
							fresh++
						}
					}
					if fresh != want {
						b.Fatalf("%d of %d points fresh", fresh, want)
					}
				}},
			}
			for _, ph := range phases {
				b.Run(ph.name, func(b *testing.B) {
					var peak uint64
					for b.Loop() {
						b.StopTimer()
						runtime.GC()
						stop := heapSampler()
						b.StartTimer()
						ph.run(b)
						b.StopTimer()
						peak = max(peak, stop())
						b.StartTimer()
					}
					b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(want), "ns/point")
				})
			}
		})
	}
}

// heapSampler samples the heap in use every millisecond until the
// returned function is called, which returns the largest reading (taken
// once more at the end).
func heapSampler() func() uint64 {
	done, out := make(chan struct{}), make(chan uint64)
	read := func() uint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	go func() {
		peak := read()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				out <- max(peak, read())
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	}()
	return func() uint64 { close(done); return <-out }
}

// sweepPipeline is the pipeline file of about points points: src on a
// grid of seeds x scales, read of each src point.
func sweepPipeline(points int) (src string, total int) {
	half := points / 2
	scales := 10
	seeds := (half + scales - 1) / scales
	var sd, sc []string
	for i := 1; i <= seeds; i++ {
		sd = append(sd, strconv.Itoa(i))
	}
	for i := 0; i < scales; i++ {
		sc = append(sc, strconv.FormatFloat(float64(i)/4, 'g', -1, 64))
	}
	return fmt.Sprintf(`[pipeline]
name = "sweep"
seed = 1

[stage.a]
kind = "src"
grid = { seed = [%s], scale = [%s] }

[stage.b]
kind = "read"
inputs = ["a"]
`, strings.Join(sd, ", "), strings.Join(sc, ", ")), 2 * seeds * scales
}

// sweepProject writes the pipeline file of about n points and computes its
// store (once: a directory under BFC_SWEEP_DIR that holds a complete run
// is reused), and returns the file and its number of points.
func sweepProject(b *testing.B, n int) (string, int) {
	b.Helper()
	src, total := sweepPipeline(n)
	dir := b.TempDir()
	if root := os.Getenv("BFC_SWEEP_DIR"); root != "" {
		dir = filepath.Join(root, strconv.Itoa(n))
	}
	file := filepath.Join(dir, "pipeline.toml")
	done := filepath.Join(dir, "complete")
	if old, err := os.ReadFile(file); err == nil && string(old) == src {
		if _, err := os.Stat(done); err == nil {
			return file, total
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	kinds := graph.NewRegistry(testkinds.Src{}, testkinds.Read{})
	e := engineOf(b, file, kinds, constCode{}, true)
	r := &exec.Runner{Engine: e, Exec: &exec.InProcess{Store: e.Store, Kinds: kinds, Code: constCode{}}, Jobs: runtime.NumCPU(), Display: exec.NopDisplay{}}
	start := time.Now()
	s, err := r.Run(context.Background(), e.Graph.Points)
	if err != nil || s.Ran != total {
		b.Fatalf("computing the %d-point sweep: %v (ran %d)", total, err, s.Ran)
	}
	b.Logf("computed the %d-point sweep in %v", total, time.Since(start).Round(time.Millisecond))
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return file, total
}

// sweepGraph parses and builds the pipeline in file.
func sweepGraph(b *testing.B, file string, kinds graph.Registry) *graph.Graph {
	b.Helper()
	cfg, err := config.ParseFile(file)
	if err != nil {
		b.Fatal(err)
	}
	g, err := graph.Build(cfg, kinds, "")
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// sweepEngine builds the graph and opens its store.
func sweepEngine(b *testing.B, file string, kinds graph.Registry) *graph.Engine {
	b.Helper()
	g := sweepGraph(b, file, kinds)
	st, err := store.Open(g.Config.Store, false)
	if err != nil {
		b.Fatal(err)
	}
	return graph.NewEngine(g, st, constCode{})
}

// sweepKeys computes every point's key in topological order, looking up
// the manifest of each key (a consumer's key needs its inputs' data
// hashes), and returns how many it computed.
func sweepKeys(b *testing.B, e *graph.Engine) int {
	b.Helper()
	manifests := make(map[*graph.Point]*store.Manifest, len(e.Graph.Points))
	for _, p := range e.Graph.Points {
		ins := make([]*store.Manifest, len(p.Inputs))
		for i, in := range p.Inputs {
			ins[i] = manifests[in]
		}
		_, key, err := e.Key(p, ins)
		if err != nil {
			b.Fatal(err)
		}
		m, err := e.Store.Manifest(key)
		if err != nil {
			b.Fatalf("%s: %v", p.ID, err)
		}
		manifests[p] = m
	}
	return len(manifests)
}

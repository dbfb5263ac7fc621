package exec_test

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// chainPipeline has three short source points first in graph order and
// id order, and a chain z -> zz after them.
const chainPipeline = `
[pipeline]
name = "test"
seed = 3

[stage.a]
kind = "src"
grid = { seed = [1, 2, 3] }

[stage.z]
kind = "src"
params = { n = 7 }

[stage.zz]
kind = "sum"
gather = ["z"]
`

// startOrder records the order points start in.
type startOrder struct {
	exec.NopDisplay
	mu  sync.Mutex
	ids []string
}

func (d *startOrder) Started(p *graph.Point, _ id.Key) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids = append(d.ids, p.ID)
}

// TestRunnerStartsTheCriticalPathFirst: with one CPU token and no run
// records (every point DefaultSeconds) the chain's head, the longest
// remaining path, starts before the shorts that precede it in the file;
// equal priorities go by point id; the order is the same every time.
func TestRunnerStartsTheCriticalPathFirst(t *testing.T) {
	want := []string{"z", "a[seed=1]", "a[seed=2]", "a[seed=3]", "zz"}
	for round := 0; round < 3; round++ {
		f := newFixture(t, chainPipeline)
		e := f.Engine("")
		d := &startOrder{}
		r := &exec.Runner{Engine: e, Exec: &exec.InProcess{Store: e.Store, Kinds: kinds, Code: f.Code}, Jobs: 1, Display: d}
		s, err := r.Run(context.Background(), e.Graph.Points)
		if err != nil || s.Ran != len(want) {
			t.Fatalf("run: %v, ran %d", err, s.Ran)
		}
		if !slices.Equal(d.ids, want) {
			t.Fatalf("round %d: start order %v, want %v", round, d.ids, want)
		}
	}
}

// TestSummaryEfficiency: the summary adds up the CPU time of the run
// records of the points that ran and their wall time times their grant,
// and divides by the wall time and the cores used; a run with nothing to
// do reports no CPU time.
func TestSummaryEfficiency(t *testing.T) {
	f := newFixture(t, chainPipeline)
	s := f.Run("")
	var cpu, busy float64
	for _, r := range s.Results {
		if r.Status == exec.StatusRan {
			cpu += r.Manifest.Run.UserSeconds + r.Manifest.Run.SysSeconds
			busy += r.Elapsed.Seconds() * float64(r.Manifest.Run.Threads)
		}
	}
	const jobs = 2 // the fixture's budget
	if want := min(jobs, runtime.NumCPU()); s.Cores != want {
		t.Errorf("cores %d, want %d", s.Cores, want)
	}
	if math.Abs(s.CPUSeconds-cpu) > 1e-9 || math.Abs(s.BusySeconds-busy) > 1e-9 {
		t.Errorf("CPU %v busy %v, want %v and %v", s.CPUSeconds, s.BusySeconds, cpu, busy)
	}
	if want := cpu / (s.Elapsed.Seconds() * float64(s.Cores)); math.Abs(s.Efficiency()-want) > 1e-12 {
		t.Errorf("efficiency %v, want %v", s.Efficiency(), want)
	}
	again := f.Run("")
	if again.Ran != 0 || again.CPUSeconds != 0 || again.Efficiency() != 0 {
		t.Errorf("no-op run: ran %d, CPU %v, efficiency %v; want 0, 0, 0", again.Ran, again.CPUSeconds, again.Efficiency())
	}
}

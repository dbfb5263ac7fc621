package exec

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/bfc-repro/bfc/artifacts/atomicfile"
	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Runner executes a graph: points run in topological order, independent
// points in parallel within a CPU budget, each either found fresh in the
// store (cached) or handed to the executor.
type Runner struct {
	Engine  *graph.Engine
	Exec    Executor
	Jobs    int // CPU budget (tokens); 0 = number of CPUs
	Display Display
	// Publish copies published files (figures, paper fragments) of every
	// point that succeeded into the project.
	Publish bool
	// Force lists points to compute even if their key is committed (`bfc
	// run --force`); the new manifest replaces the old, whose objects stay
	// until gc when the outputs differ.
	Force map[*graph.Point]bool
}

// Status of a point at the end of a run.
const (
	StatusRan     = "ran"
	StatusCached  = "cached"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// PointResult is what happened to one point.
type PointResult struct {
	Point    *graph.Point
	Status   string
	Key      id.Key
	Manifest *store.Manifest
	Err      error
	Elapsed  time.Duration
}

// Summary is the outcome of a run.
type Summary struct {
	Results   map[*graph.Point]*PointResult
	Ran       int
	Cached    int
	Failed    int
	Skipped   int
	Published []string
	Elapsed   time.Duration
}

// Err returns an error listing failures, or nil.
func (s *Summary) Err() error {
	if s.Failed == 0 && s.Skipped == 0 {
		return nil
	}
	return fmt.Errorf("%d stage point(s) failed, %d skipped because an input failed", s.Failed, s.Skipped)
}

type pstate struct {
	done chan struct{}
	res  *PointResult
}

// Run computes targets and everything they depend on.
func (r *Runner) Run(ctx context.Context, targets []*graph.Point) (*Summary, error) {
	e := r.Engine
	g := e.Graph
	start := time.Now()
	jobs := r.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	if mp, ok := r.Exec.(interface{ MaxParallel() int }); ok {
		// A cluster executor decides itself what runs at once.
		jobs = mp.MaxParallel()
	}
	disp := r.Display
	if disp == nil {
		disp = NopDisplay{}
	}
	slock, err := e.Store.LockShared(ctx, func() { disp.Printf("waiting for `bfc gc` to finish with the store") })
	if err != nil {
		return nil, err
	}
	defer slock.Unlock()
	defer e.Store.SaveChecked()

	pts := g.Closure(targets)
	states := map[*graph.Point]*pstate{}
	for _, p := range pts {
		states[p] = &pstate{done: make(chan struct{}), res: &PointResult{Point: p}}
	}
	tokens := semaphore.NewWeighted(int64(jobs))
	checks := semaphore.NewWeighted(int64(runtime.NumCPU()))
	var mu sync.Mutex
	sum := &Summary{Results: map[*graph.Point]*PointResult{}}
	var wg sync.WaitGroup
	disp.Begin(len(pts))
	for _, p := range pts {
		wg.Add(1)
		go func(p *graph.Point) {
			defer wg.Done()
			st := states[p]
			defer close(st.done)
			r.handle(ctx, p, st.res, states, tokens, checks, jobs, disp)
			mu.Lock()
			defer mu.Unlock()
			sum.Results[p] = st.res
			switch st.res.Status {
			case StatusRan:
				sum.Ran++
			case StatusCached:
				sum.Cached++
			case StatusFailed:
				sum.Failed++
			case StatusSkipped:
				sum.Skipped++
			}
			if st.res.Manifest != nil {
				if err := e.Store.SetRefIfChanged(g.Profile, p.ID, st.res.Key); err != nil {
					disp.Printf("warning: record ref of %s: %v", p.ID, err)
				}
				if r.Publish {
					files, err := r.publish(st.res.Manifest)
					if err != nil {
						disp.Printf("warning: publish files of %s: %v", p.ID, err)
					}
					sum.Published = append(sum.Published, files...)
				}
			}
		}(p)
	}
	wg.Wait()
	sort.Strings(sum.Published)
	sum.Elapsed = time.Since(start)
	disp.End(sum)
	if ctx.Err() != nil {
		return sum, fmt.Errorf("run interrupted: %w", ctx.Err())
	}
	return sum, nil
}

func (r *Runner) handle(ctx context.Context, p *graph.Point, res *PointResult, states map[*graph.Point]*pstate,
	tokens, checks *semaphore.Weighted, jobs int, disp Display) {
	e := r.Engine
	t0 := time.Now()
	inputs := make([]*store.Manifest, len(p.Inputs))
	for i, in := range p.Inputs {
		st := states[in]
		<-st.done
		if st.res.Manifest == nil {
			res.Status = StatusSkipped
			res.Err = fmt.Errorf("input %s %s", in.ID, st.res.Status)
			disp.Finished(res)
			return
		}
		inputs[i] = st.res.Manifest
	}
	fail := func(err error) {
		res.Status, res.Err, res.Elapsed = StatusFailed, err, time.Since(t0)
		disp.Finished(res)
	}
	comps, key, err := e.Key(p, inputs)
	if err != nil {
		fail(err)
		return
	}
	res.Key = key
	force := r.Force[p]
	if !force {
		if err := checks.Acquire(ctx, 1); err != nil {
			fail(err)
			return
		}
		m, ferr := e.Fresh(key)
		checks.Release(1)
		if ferr == nil {
			res.Status, res.Manifest, res.Elapsed = StatusCached, m, time.Since(t0)
			disp.Finished(res)
			return
		}
		if !errors.Is(ferr, store.ErrNotFound) {
			disp.Printf("%s: %v; recomputing", p.ID, ferr)
		}
	}
	want := 1
	if _, cluster := r.Exec.(interface{ MaxParallel() int }); !cluster {
		want = CPUGrant(p, jobs)
	}
	if err := tokens.Acquire(ctx, int64(want)); err != nil {
		fail(fmt.Errorf("interrupted"))
		return
	}
	defer tokens.Release(int64(want))
	job, err := NewJob(e, p, comps, key, inputs, want)
	if err != nil {
		fail(err)
		return
	}
	job.Force = force
	t0 = time.Now()
	disp.Started(p, key)
	out := r.Exec.Run(ctx, job, disp.Event)
	if out.Error != "" {
		fail(fmt.Errorf("%s (log: %s)", out.Error, e.Store.LogPath(key)))
		return
	}
	m, err := e.Store.Manifest(key)
	if err != nil {
		fail(fmt.Errorf("executor reported success but: %w", err))
		return
	}
	res.Manifest, res.Elapsed = m, time.Since(t0)
	res.Status = StatusRan
	if out.Cached {
		res.Status = StatusCached
	}
	disp.Finished(res)
}

// publish copies the published files of m into the project, writing
// only files whose content differs, and returns the paths it wrote.
func (r *Runner) publish(m *store.Manifest) ([]string, error) {
	cfg, st := r.Engine.Graph.Config, r.Engine.Store
	var wrote []string
	for _, o := range m.Outputs {
		if !strings.HasPrefix(o.Name, store.PublishPrefix) {
			continue
		}
		b, err := st.ReadObject(o.File)
		if err != nil {
			return wrote, err
		}
		dirName, name, data, err := store.PublishedFile(b)
		if err != nil {
			return wrote, fmt.Errorf("published file %s: %w", o.Name, err)
		}
		var dir string
		switch kit.PublishDir(dirName) {
		case kit.Figures:
			dir = cfg.Figures
		case kit.Paper:
			dir = cfg.Paper
		default:
			return wrote, fmt.Errorf("published file %s: unknown directory %q", o.Name, dirName)
		}
		if !plainNameRE.MatchString(name) {
			return wrote, fmt.Errorf("published file %s: bad name %q", o.Name, name)
		}
		path := filepath.Join(dir, name)
		if store.SameFileContent(path, data) {
			continue
		}
		if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
			return wrote, err
		}
		wrote = append(wrote, path)
	}
	return wrote, nil
}

// CPUGrant is how many of the run's jobs CPU tokens a point gets: what its
// kind asks for (kit.Threader; 0 means all), else one.
func CPUGrant(p *graph.Point, jobs int) int {
	th, ok := p.Stage.Kind.(kit.Threader)
	if !ok {
		return 1
	}
	if n := th.Threads(p.Params); n > 0 {
		return min(n, jobs)
	}
	return jobs
}

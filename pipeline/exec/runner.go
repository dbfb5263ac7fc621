package exec

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
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
	// CPUSeconds is the user+sys CPU time of the points this run computed,
	// from their run records (measured in the process that ran each point:
	// with the in-process executor concurrent points share one process and
	// each counts the whole process's time).
	CPUSeconds float64
	// BusySeconds is the wall time of the points this run computed, each
	// times its CPU grant: the token-seconds in use.
	BusySeconds float64
	// Cores is the number of CPUs the run could use: its CPU budget, at
	// most the machine's CPUs; 0 under a cluster executor, where the
	// run's own machine does not compute.
	Cores int
}

// Efficiency is the run's parallel efficiency: CPUSeconds / (Elapsed x
// Cores), 0 when it is not known (nothing ran, or a cluster executor).
func (s *Summary) Efficiency() float64 {
	return Efficiency(s.CPUSeconds, s.Elapsed.Seconds(), s.Cores)
}

// Efficiency is cpu / (wall x cores), 0 when wall or cores is not
// positive.
func Efficiency(cpu, wall float64, cores int) float64 {
	if wall <= 0 || cores <= 0 {
		return 0
	}
	return cpu / (wall * float64(cores))
}

// Err returns an error listing failures, or nil.
func (s *Summary) Err() error {
	if s.Failed == 0 && s.Skipped == 0 {
		return nil
	}
	return fmt.Errorf("%d stage point(s) failed, %d skipped because an input failed", s.Failed, s.Skipped)
}

// toCheck is a ready point and its inputs' manifests.
type toCheck struct {
	p      *graph.Point
	inputs []*store.Manifest
}

// maxChecks bounds the freshness checks in flight: two per CPU, so that
// one's file reads overlap another's hashing.
func maxChecks() int { return 2 * runtime.NumCPU() }

// pending is a point whose key is known and that must be computed.
type pending struct {
	comps  []store.Component
	key    id.Key
	inputs []*store.Manifest
	force  bool
}

// done is what a point's goroutine (freshness check, or execution) reports
// to the run's loop.
type done struct {
	p         *graph.Point
	checked   bool     // a freshness check (else an execution)
	work      *pending // a check's point must be computed
	grant     int      // CPU tokens an execution held
	published []string
}

// run is the state of one Runner.Run, owned by its loop (Runner.Run):
// the goroutines it starts only read what they are given and report on
// msgs.
type run struct {
	r       *Runner
	ctx     context.Context
	disp    Display
	jobs    int
	cluster bool
	pts     []*graph.Point
	res     map[*graph.Point]*PointResult
	waiting map[*graph.Point]int // inputs not finished
	down    map[*graph.Point][]*graph.Point
	prio    map[*graph.Point]float64 // computed when the first point must run
	queue   readyQueue
	// toCheck are the points whose inputs are done, in the order they
	// became ready, waiting for one of the maxChecks check goroutines (a
	// goroutine per ready point held a stack for each of 1e5 points).
	toCheck []toCheck
	free    int // CPU tokens
	checks  *semaphore.Weighted
	// checking and running count goroutines in flight; finished counts
	// points with a final status.
	checking, running, finished int
	msgs                        chan done   // executions
	checked                     chan []done // batches of checks
	sum                         *Summary
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
	mp, cluster := r.Exec.(interface{ MaxParallel() int })
	if cluster {
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
	defer e.Store.SaveIndex()

	pts := g.Closure(targets)
	s := &run{r: r, ctx: ctx, disp: disp, jobs: jobs, cluster: cluster, pts: pts,
		res: make(map[*graph.Point]*PointResult, len(pts)), waiting: make(map[*graph.Point]int, len(pts)),
		down: map[*graph.Point][]*graph.Point{}, free: jobs, checks: semaphore.NewWeighted(int64(runtime.NumCPU())),
		msgs: make(chan done), checked: make(chan []done), sum: &Summary{Results: map[*graph.Point]*PointResult{}}}
	if !cluster {
		s.sum.Cores = min(jobs, runtime.NumCPU())
	}
	for _, p := range pts {
		s.res[p] = &PointResult{Point: p}
		s.waiting[p] = len(p.Inputs)
		for _, in := range p.Inputs {
			s.down[in] = append(s.down[in], p)
		}
	}
	disp.Begin(len(pts))
	s.loop()
	sum := s.sum
	sort.Strings(sum.Published)
	sum.Elapsed = time.Since(start)
	disp.End(sum)
	if ctx.Err() != nil {
		return sum, fmt.Errorf("run interrupted: %w", ctx.Err())
	}
	return sum, nil
}

// loop runs the points: it checks every point whose inputs are done,
// queues those that must be computed and starts them, critical path
// first, whenever tokens are free and no check is in flight.
func (s *run) loop() {
	for _, p := range s.pts {
		if s.waiting[p] == 0 {
			s.ready(p)
		}
	}
	cancelled := s.ctx.Done()
	for s.finished < len(s.pts) {
		s.startChecks()
		s.dispatch()
		if s.finished == len(s.pts) {
			break
		}
		select {
		case d := <-s.msgs:
			s.receive(d)
		case ds := <-s.checked:
			s.checking--
			for _, d := range ds {
				s.receive(d)
			}
		case <-cancelled:
			cancelled = nil // dispatch now fails what is queued
		}
	}
}

// ready queues the freshness check of p, whose inputs are done, or skips
// it if one of them has no result.
func (s *run) ready(p *graph.Point) {
	inputs := make([]*store.Manifest, len(p.Inputs))
	for i, in := range p.Inputs {
		r := s.res[in]
		if r.Manifest == nil {
			res := s.res[p]
			res.Status = StatusSkipped
			res.Err = fmt.Errorf("input %s %s", in.ID, r.Status)
			s.finish(p)
			return
		}
		inputs[i] = r.Manifest
	}
	s.toCheck = append(s.toCheck, toCheck{p, inputs})
}

// startChecks starts the freshness checks of ready points, in the order
// they became ready, in batches on at most maxChecks goroutines: one
// goroutine and one message per point cost more than checking a cached
// point (each wakes another thread, a system call).
func (s *run) startChecks() {
	for len(s.toCheck) > 0 && s.checking < maxChecks() {
		n := min(len(s.toCheck), maxBatch, max(1, len(s.toCheck)/maxChecks()))
		batch := make([]checkItem, n)
		for i, c := range s.toCheck[:n] {
			batch[i] = checkItem{toCheck: c, force: s.r.Force[c.p], res: s.res[c.p]}
		}
		clear(s.toCheck[:n])
		s.toCheck = s.toCheck[n:]
		s.checking++
		go func() {
			out := make([]done, len(batch))
			for i, c := range batch {
				work := s.r.check(s.ctx, c.p, c.res, c.inputs, c.force, s.checks, s.disp)
				var files []string
				if work == nil && c.res.Manifest != nil {
					files = s.r.record(c.p, c.res, s.disp)
				}
				out[i] = done{p: c.p, checked: true, work: work, published: files}
			}
			s.checked <- out
		}()
	}
	if len(s.toCheck) == 0 {
		s.toCheck = nil // let the backing array go
	}
}

// maxBatch is the most points one check goroutine takes at once.
const maxBatch = 256

// checkItem is a point to check with what the run's loop knows of it.
type checkItem struct {
	toCheck
	force bool
	res   *PointResult
}

// receive handles what a goroutine reports.
func (s *run) receive(d done) {
	res := s.res[d.p]
	if d.checked {
		if d.work == nil {
			s.sum.Published = append(s.sum.Published, d.published...)
			s.finish(d.p)
			return
		}
		s.enqueue(d.p, d.work)
		return
	}
	s.running--
	s.free += d.grant
	s.sum.Published = append(s.sum.Published, d.published...)
	if res.Status == StatusRan {
		s.sum.CPUSeconds += res.Manifest.Run.UserSeconds + res.Manifest.Run.SysSeconds
		s.sum.BusySeconds += res.Elapsed.Seconds() * float64(d.grant)
	}
	s.finish(d.p)
}

// enqueue queues a point that must be computed.
func (s *run) enqueue(p *graph.Point, work *pending) {
	if s.prio == nil {
		host, _ := os.Hostname()
		est := NewEstimator(s.r.Engine, host)
		s.prio = CriticalPath(s.pts, func(p *graph.Point) float64 {
			if e := est.Point(p); e.Known {
				return e.Seconds
			}
			return DefaultSeconds
		})
	}
	want := 1
	if !s.cluster {
		want = CPUGrant(p, s.jobs)
	}
	s.queue.push(&queued{p: p, prio: s.prio[p], want: want, work: work})
}

// dispatch starts what fits in the free tokens once no check is in
// flight; after an interrupt it fails everything queued instead.
func (s *run) dispatch() {
	if s.ctx.Err() != nil {
		for s.queue.Len() > 0 {
			q := heap.Pop(&s.queue).(*queued)
			res := s.res[q.p]
			res.Status, res.Err = StatusFailed, fmt.Errorf("interrupted")
			s.finish(q.p)
		}
		return
	}
	if s.checking > 0 || len(s.toCheck) > 0 {
		return
	}
	for _, q := range s.queue.take(s.free) {
		s.free -= q.want
		s.running++
		res := s.res[q.p]
		go func() {
			s.r.execute(s.ctx, q.p, res, q.work, q.want, s.disp)
			var files []string
			if res.Manifest != nil {
				files = s.r.record(q.p, res, s.disp)
			}
			s.msgs <- done{p: q.p, grant: q.want, published: files}
		}()
	}
}

// finish counts a point's final status, shows it, and readies the
// dependents whose inputs are now all done.
func (s *run) finish(p *graph.Point) {
	res := s.res[p]
	s.finished++
	s.sum.Results[p] = res
	switch res.Status {
	case StatusRan:
		s.sum.Ran++
	case StatusCached:
		s.sum.Cached++
	case StatusFailed:
		s.sum.Failed++
	case StatusSkipped:
		s.sum.Skipped++
	}
	s.disp.Finished(res)
	for _, q := range s.down[p] {
		s.waiting[q]--
		if s.waiting[q] == 0 {
			s.ready(q)
		}
	}
}

// check computes p's key and looks for it in the store: it fills res for
// a point that is cached or fails, and returns what computing it needs
// otherwise.
func (r *Runner) check(ctx context.Context, p *graph.Point, res *PointResult, inputs []*store.Manifest, force bool,
	checks *semaphore.Weighted, disp Display) *pending {
	e := r.Engine
	t0 := time.Now()
	fail := func(err error) *pending {
		res.Status, res.Err, res.Elapsed = StatusFailed, err, time.Since(t0)
		return nil
	}
	comps, key, err := e.Key(p, inputs)
	if err != nil {
		return fail(err)
	}
	res.Key = key
	if !force {
		if err := checks.Acquire(ctx, 1); err != nil {
			return fail(err)
		}
		m, ferr := e.Fresh(key)
		checks.Release(1)
		if ferr == nil {
			res.Status, res.Manifest, res.Elapsed = StatusCached, m, time.Since(t0)
			return nil
		}
		if !errors.Is(ferr, store.ErrNotFound) {
			disp.Printf("%s: %v; recomputing", p.ID, ferr)
		}
	}
	return &pending{comps: comps, key: key, inputs: inputs, force: force}
}

// execute computes p with its CPU grant and fills res.
func (r *Runner) execute(ctx context.Context, p *graph.Point, res *PointResult, w *pending, grant int, disp Display) {
	e := r.Engine
	t0 := time.Now()
	fail := func(err error) {
		res.Status, res.Err, res.Elapsed = StatusFailed, err, time.Since(t0)
	}
	job, err := NewJob(e, p, w.comps, w.key, w.inputs, grant)
	if err != nil {
		fail(err)
		return
	}
	job.Force = w.force
	disp.Started(p, w.key)
	out := r.Exec.Run(ctx, job, disp.Event)
	if out.Error != "" {
		fail(fmt.Errorf("%s (log: %s)", out.Error, e.Store.LogPath(w.key)))
		return
	}
	m, err := e.Store.Manifest(w.key)
	if err != nil {
		fail(fmt.Errorf("executor reported success but: %w", err))
		return
	}
	res.Manifest, res.Elapsed = m, time.Since(t0)
	res.Status = StatusRan
	if out.Cached {
		res.Status = StatusCached
	}
}

// record notes the key of a point with a result in its ref and publishes
// its files, returning the paths it wrote.
func (r *Runner) record(p *graph.Point, res *PointResult, disp Display) []string {
	e := r.Engine
	if err := e.Store.SetRefIfChanged(e.Graph.Profile, p.ID, res.Key); err != nil {
		disp.Printf("warning: record ref of %s: %v", p.ID, err)
	}
	if !r.Publish {
		return nil
	}
	files, err := r.publish(res.Manifest)
	if err != nil {
		disp.Printf("warning: publish files of %s: %v", p.ID, err)
	}
	return files
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
		dirs := cfg.Figures + "\x00" + cfg.Paper
		if _, ok := st.Published(o.File, dirs); ok {
			continue // the file holds its data, unchanged since it was written or compared
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
			st.NotePublished(o.File, dirs, path)
			continue
		}
		if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
			return wrote, err
		}
		st.NotePublished(o.File, dirs, path)
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

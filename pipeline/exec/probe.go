package exec

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Dynamic probes (kit.Env.Probe). A probe is keyed by the same functions as
// a static point (graph.DeclaredComponents, graph.InputComponent and the
// kind's code identity), so a probe and a static point with the same
// components share one key and one result. It is computed by
// executeLocked, the code path of every job, inside the process and the
// CPU grant of the point that asks for it: the in-process, local and Slurm
// executors all run jobs through ExecuteJob, so probes work alike in all
// three.

// Probe resolves a probe, finds or computes its result and records it for
// the caller's manifest.
func (e *jobEnv) Probe(kindName string, raw map[string]any, inputs []kit.Input) (kit.Input, error) {
	job, kind, params, err := e.probeJob(kindName, raw, inputs)
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", kindName, err)
	}
	caller := e.job.Point
	events := func(ev Event) {
		ev.Point = caller
		if ev.Type == "progress" || ev.Type == "log" {
			ev.Msg = "probe " + job.Point + ": " + ev.Msg
		}
		e.events(ev)
	}
	opt := e.opt
	opt.Executor = e.opt.Executor + " (probe of " + caller + ")"
	start := time.Now()
	events(Event{Type: "progress", Msg: "started"})
	cached, err := executeLocked(e.ctx, e.st, &job.Job, kind, params, events, opt, e.chain)
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", job.Point, err)
	}
	m, err := e.st.Manifest(job.Key)
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", job.Point, err)
	}
	how := fmt.Sprintf("computed in %s", time.Since(start).Round(time.Millisecond))
	if cached {
		how = "cached"
	}
	e.events(Event{Point: caller, Type: "probe", Msg: fmt.Sprintf("probe %s %s (key %s)", job.Point, how, job.Key.Short())})
	e.mu.Lock()
	e.probes = append(e.probes, store.ProbeRef{Name: job.Point, Key: job.Key})
	e.mu.Unlock()
	in := &JobInput{Point: job.Point, Kind: job.Kind, Labels: job.labels, Params: job.Params, Seed: job.Seed, Key: job.Key, Outputs: m.Outputs}
	return &jobInput{st: e.st, in: in, params: params}, nil
}

// probeJob is the job of a probe: params resolved against the kind's
// declaration, the seed (params["seed"], else the caller's), the inputs
// as the engine handed them out, and the key components of a static point
// with those components.
func (e *jobEnv) probeJob(kindName string, raw map[string]any, inputs []kit.Input) (*probeJob, kit.Kind, kit.Params, error) {
	kind, ok := e.registry[kindName]
	if !ok {
		return nil, nil, nil, fmt.Errorf("this bfc has no stage kind %q", kindName)
	}
	if _, ok := kind.(kit.Filer); ok {
		return nil, nil, nil, fmt.Errorf("kind %s reads external files, which a probe cannot declare", kindName)
	}
	if e.opt.Code == nil {
		return nil, nil, nil, fmt.Errorf("no code identity to key a probe with")
	}
	params, seed, given, err := kit.ProbeParams(kind, raw, e.job.Seed)
	if err != nil {
		return nil, nil, nil, err
	}
	explicit := map[string]string{}
	for n, v := range given {
		explicit[n] = config.Label(v)
	}
	pj, err := json.Marshal(params)
	if err != nil {
		return nil, nil, nil, err
	}
	job := &probeJob{Job: Job{Format: 1, Point: graph.PointID(kindName, explicit), Kind: kindName, Params: pj, Seed: seed,
		MasterSeed: e.job.MasterSeed, Pipeline: e.job.Pipeline, Threads: e.job.Threads, Store: e.st.Dir}, labels: map[string]string{}}
	cs := graph.DeclaredComponents(kind, params, e.job.MasterSeed, seed)
	for i, in := range inputs {
		ji, ok := in.(*jobInput)
		if !ok || ji.st != e.st {
			return nil, nil, nil, fmt.Errorf("input %d (%s %s) was not handed out by this run (pass the stage's inputs or earlier probes)", i, in.Kind(), in.Key())
		}
		m := &store.Manifest{Outputs: ji.in.Outputs}
		cs = append(cs, graph.InputComponent(i, ji.in.Kind, ji.in.Labels, m))
		job.Inputs = append(job.Inputs, *ji.in)
		maps.Copy(job.labels, ji.in.Labels)
	}
	maps.Copy(job.labels, explicit)
	code, err := e.opt.Code.Components(graph.KindPackage(kind))
	if err != nil {
		return nil, nil, nil, err
	}
	job.Components = append(cs, code...)
	if job.Key, err = store.KeyOf(job.Components); err != nil {
		return nil, nil, nil, err
	}
	return job, kind, params, nil
}

// probeJob is a probe's job with the labels its result carries as an input.
type probeJob struct {
	Job
	labels map[string]string
}

// probeRefs are the probes the run used, as its manifest lists them.
func (e *jobEnv) probeRefs() []store.ProbeRef {
	e.mu.Lock()
	defer e.mu.Unlock()
	return store.SortProbes(e.probes)
}

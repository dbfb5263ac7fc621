// Package exec is the third layer of the bfc engine: it computes stage
// points.
//
// A Runner walks a graph's points in topological order. Each point whose
// key (graph.Engine) is committed in the store with intact outputs is
// cached; every other point becomes a Job once its inputs are done, and
// is handed to an Executor within a CPU budget (kit.Threader decides how
// many CPU tokens a point takes), critical path first (schedule.go: the
// longest chain of estimated run times, from the store's run records,
// Estimator). Independent points run in parallel; a failed point fails
// alone and its dependents are skipped. The Summary of a run gives its
// parallel efficiency.
//
// A Job is everything needed to compute one point: kind, params, seed, the
// manifests of its inputs, the files it reads and its key components. It
// is written to the store as JSON, so that the process that executes it
// needs nothing but the store and the bfc binary: InProcess runs it in the
// calling process, Local in a child `bfc exec` (its own CPU time and peak
// memory, GOMAXPROCS set to its grant, dying with its parent), Slurm as a
// batch job on a cluster sharing the store. ExecuteJob does the work in
// all three: it takes the key's lock, runs the kind against an Env whose
// inputs are verified reads of the store, checks every table a producer
// writes against its declared schema, stores the outputs and commits the
// manifest last. A kind's dynamic probes (kit.Env.Probe, probe.go) are
// jobs of their own that ExecuteJob's process computes the same way, nested
// in the job that asks for them. Progress and log lines reach a Display as
// Events.
package exec

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bfc-repro/bfc/artifacts/atomicfile"
	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Job is everything an executor needs to compute one stage point: it is
// written to the store as JSON and handed to `bfc exec` (locally or on a
// Slurm node), so the executing process needs nothing but the store.
type Job struct {
	Format     int               `json:"format"`
	Key        id.Key            `json:"key"`
	Point      string            `json:"point"`
	Kind       string            `json:"kind"`
	Params     json.RawMessage   `json:"params"`
	Seed       int64             `json:"seed"`
	MasterSeed int64             `json:"master_seed"`
	Pipeline   string            `json:"pipeline"`
	Threads    int               `json:"threads"`
	Components []store.Component `json:"components"`
	Inputs     []JobInput        `json:"inputs"`
	Files      []graph.FileRef   `json:"files,omitempty"`
	Store      string            `json:"store"`
	// Force computes the point even if its key is committed (bfc run --force).
	Force bool `json:"force,omitempty"`
}

// JobInput is one input point of a job.
type JobInput struct {
	Point   string            `json:"point"`
	Kind    string            `json:"kind"`
	Labels  map[string]string `json:"labels,omitempty"`
	Params  json.RawMessage   `json:"params"`
	Seed    int64             `json:"seed"`
	Key     id.Key            `json:"key"`
	Outputs []store.Output    `json:"outputs"`
}

// Event is what a running job reports: progress, log lines, waiting for
// a lock held by another process.
type Event struct {
	Point string `json:"point"`
	Type  string `json:"type"` // "progress", "log", "wait", "takeover"
	Done  int    `json:"done,omitempty"`
	Total int    `json:"total,omitempty"`
	Msg   string `json:"msg,omitempty"`
}

// Result reports how a job ended.
type Result struct {
	Point  string `json:"point"`
	Key    id.Key `json:"key"`
	Cached bool   `json:"cached"` // another process had committed the key
	Error  string `json:"error,omitempty"`
}

// NewJob builds the job of point p of e's graph, whose key components are
// comps and whose inputs have the given manifests.
func NewJob(e *graph.Engine, p *graph.Point, comps []store.Component, key id.Key, inputs []*store.Manifest, threads int) (*Job, error) {
	params, err := json.Marshal(p.Params)
	if err != nil {
		return nil, err
	}
	j := &Job{Format: 1, Key: key, Point: p.ID, Kind: p.Stage.Kind.Name(), Params: params, Seed: p.Seed,
		MasterSeed: e.Graph.Config.Seed, Pipeline: e.Graph.Config.Name, Threads: threads, Components: comps,
		Files: p.Files, Store: e.Store.Dir}
	for i, in := range p.Inputs {
		ip, err := json.Marshal(in.Params)
		if err != nil {
			return nil, err
		}
		j.Inputs = append(j.Inputs, JobInput{Point: in.ID, Kind: in.Stage.Kind.Name(), Labels: in.Labels, Params: ip,
			Seed: in.Seed, Key: inputs[i].Key, Outputs: inputs[i].Outputs})
	}
	return j, nil
}

// DecodeParams turns JSON params back into canonical typed values using
// the kind's declarations (JSON alone cannot tell 2 from 2.0).
func DecodeParams(decl []kit.Param, raw json.RawMessage) (kit.Params, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("job params: %w", err)
	}
	out := kit.Params{}
	for _, d := range decl {
		v, ok := m[d.Name]
		if !ok {
			return nil, fmt.Errorf("job params: %q missing", d.Name)
		}
		c, err := kit.Coerce(d.Type, fromJSON(v, d.Type))
		if err != nil {
			return nil, fmt.Errorf("job params: %s: %w", d.Name, err)
		}
		out[d.Name] = c
	}
	return out, nil
}

func fromJSON(v any, t kit.Type) any {
	switch x := v.(type) {
	case json.Number:
		if t == kit.Int || t == kit.Ints {
			if i, err := x.Int64(); err == nil {
				return i
			}
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromJSON(e, t)
		}
		return out
	}
	return v
}

// WriteJob stores a job description for an executor under a name unique
// to this submission (several runs may submit the same key at once; the
// key lock decides which computes it).
func WriteJob(st *store.Store, j *Job) (string, error) {
	b, err := json.MarshalIndent(j, "", " ")
	if err != nil {
		return "", err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	p := st.JobPath(fmt.Sprintf("%s.%d.%x", j.Key, os.Getpid(), rnd))
	if err := atomicfile.WriteFile(p, b, 0o644); err != nil {
		return "", err
	}
	return p, nil
}

// ReadJob loads a job description.
func ReadJob(path string) (*Job, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var j Job
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("job %s: %w", filepath.Base(path), err)
	}
	if j.Format != 1 || j.Key.IsZero() {
		return nil, errors.New("job " + filepath.Base(path) + ": unknown format or missing key")
	}
	return &j, nil
}

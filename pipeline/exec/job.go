package pipeline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/artifacts"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Job is everything an executor needs to compute one stage point: it is
// written to the store as JSON and handed to `bfc exec` (locally or on a
// Slurm node), so the executing process needs nothing but the store.
type Job struct {
	Format     int                   `json:"format"`
	Key        string                `json:"key"`
	Point      string                `json:"point"`
	Kind       string                `json:"kind"`
	Params     json.RawMessage       `json:"params"`
	Seed       int64                 `json:"seed"`
	MasterSeed int64                 `json:"master_seed"`
	Pipeline   string                `json:"pipeline"`
	Threads    int                   `json:"threads"`
	Components []artifacts.Component `json:"components"`
	Inputs     []JobInput            `json:"inputs"`
	Files      []FileRef             `json:"files,omitempty"`
	Store      string                `json:"store"`
}

// JobInput is one input point of a job.
type JobInput struct {
	Point   string             `json:"point"`
	Kind    string             `json:"kind"`
	Labels  map[string]string  `json:"labels,omitempty"`
	Params  json.RawMessage    `json:"params"`
	Seed    int64              `json:"seed"`
	Key     string             `json:"key"`
	Outputs []artifacts.Output `json:"outputs"`
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
	Key    string `json:"key"`
	Cached bool   `json:"cached"` // another process had committed the key
	Error  string `json:"error,omitempty"`
}

// NewJob builds the job of point p whose inputs have the given manifests.
func (e *Engine) NewJob(p *Point, comps []artifacts.Component, key string, inputs []*artifacts.Manifest, threads int) (*Job, error) {
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

// decodeParams turns JSON params back into canonical typed values using
// the kind's declarations (JSON alone cannot tell 2 from 2.0).
func decodeParams(decl []kit.Param, raw json.RawMessage) (kit.Params, error) {
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

var outputNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ExecOptions configure ExecuteJob.
type ExecOptions struct {
	Executor string            // recorded in the run record
	Events   func(Event)       // may be nil
	Kinds    Registry          // to find the job's kind
	Code     CodeIdentity      // to check the job's code identity against this binary
	Extra    map[string]string // extra notes for the run record
}

// ExecuteJob computes a job in this process: it takes the key's lock,
// returns early if another process committed the key meanwhile, runs the
// kind, stores the outputs and commits the manifest. A panicking kind is
// a failed job, not a crashed program. Nothing is committed on failure.
func ExecuteJob(ctx context.Context, st *artifacts.Store, job *Job, opt ExecOptions) (res Result) {
	res = Result{Point: job.Point, Key: job.Key}
	fail := func(err error) Result {
		res.Error = err.Error()
		return res
	}
	events := opt.Events
	if events == nil {
		events = func(Event) {}
	}
	kind, ok := opt.Kinds[job.Kind]
	if !ok {
		return fail(fmt.Errorf("this bfc has no stage kind %q", job.Kind))
	}
	if key, err := artifacts.KeyOf(job.Components); err != nil || key != job.Key {
		return fail(fmt.Errorf("job %s: its key components do not hash to its key (damaged job file?)", job.Point))
	}
	if opt.Code != nil {
		mine, err := opt.Code.Components(KindPackage(kind))
		if err != nil {
			return fail(err)
		}
		for _, c := range mine {
			if jc, ok := findComponent(job.Components, c.Name); !ok || jc.Hash != c.Hash {
				return fail(fmt.Errorf("job %s was planned by a different bfc build (code component %s differs); rebuild bfc on this machine from the same revision", job.Point, c.Name))
			}
		}
	}
	params, err := decodeParams(kind.Params(), job.Params)
	if err != nil {
		return fail(err)
	}
	slock, err := st.LockShared(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer slock.Unlock()
	klock, took, err := st.LockKey(ctx, job.Key, artifacts.ThisProcess("compute "+job.Point), func(h artifacts.Owner) {
		events(Event{Point: job.Point, Type: "wait", Msg: "waiting for " + h.String()})
	})
	if err != nil {
		return fail(err)
	}
	defer klock.Unlock()
	if took != "" {
		events(Event{Point: job.Point, Type: "takeover", Msg: took})
	}
	if m, err := st.Manifest(job.Key); err == nil {
		if err := st.CheckOutputs(m); err == nil {
			res.Cached = true
			return res
		}
		if err := quarantine(st, m); err != nil {
			return fail(err)
		}
	}
	start := time.Now()
	logf, err := os.OpenFile(st.LogPath(job.Key), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fail(fmt.Errorf("open log: %w", err))
	}
	defer logf.Close()
	env := &jobEnv{ctx: ctx, st: st, job: job, params: params, events: events, log: logf, kindName: kind.Name()}
	for i := range job.Inputs {
		in := &job.Inputs[i]
		decl := opt.Kinds[in.Kind]
		var ip kit.Params
		if decl != nil {
			if ip, err = decodeParams(decl.Params(), in.Params); err != nil {
				return fail(fmt.Errorf("input %s: %w", in.Point, err))
			}
		}
		env.inputs = append(env.inputs, &jobInput{st: st, in: in, params: ip})
	}
	ru0 := rusage()
	if err := runKind(kind, env); err != nil {
		fmt.Fprintf(logf, "FAILED: %v\n", err)
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("interrupted: %w", err))
	}
	ru1 := rusage()
	host, _ := os.Hostname()
	m := &artifacts.Manifest{Format: artifacts.FormatVersion, Key: job.Key, Kind: job.Kind, Stage: job.Point,
		Components: job.Components, Outputs: env.outputs,
		Run: artifacts.RunRecord{
			Start: start.UTC().Format(time.RFC3339Nano), WallSeconds: time.Since(start).Seconds(),
			UserSeconds: ru1.user - ru0.user, SysSeconds: ru1.sys - ru0.sys, MaxRSSBytes: ru1.maxRSS,
			Threads: job.Threads, Host: host, Executor: opt.Executor, Log: st.LogPath(job.Key), Notes: opt.Extra,
		}}
	fillBuild(&m.Run)
	artifacts.FaultPoint("before-manifest")
	if err := st.PutManifest(m); err != nil {
		return fail(fmt.Errorf("commit: %w", err))
	}
	artifacts.FaultPoint("after-manifest")
	return res
}

func findComponent(cs []artifacts.Component, name string) (artifacts.Component, bool) {
	for _, c := range cs {
		if c.Name == name {
			return c, true
		}
	}
	return artifacts.Component{}, false
}

// quarantine moves the damaged outputs of m aside and drops m, so the key
// is recomputed.
func quarantine(st *artifacts.Store, m *artifacts.Manifest) error {
	for _, o := range m.Outputs {
		if st.CheckObject(o.File) != nil {
			if err := st.Quarantine(o.File); err != nil {
				return err
			}
		}
	}
	return st.RemoveManifest(m.Key)
}

func runKind(k kit.Kind, env *jobEnv) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("stage kind %s panicked: %v\n%s", k.Name(), r, debug.Stack())
		}
	}()
	return k.Run(env)
}

type usage struct {
	user, sys float64
	maxRSS    int64
}

func rusage() usage {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return usage{user: tv(ru.Utime), sys: tv(ru.Stime), maxRSS: ru.Maxrss * 1024}
}

// BuildTags is set by build-tagged files (see stages/linalg via BLASBackend).
func fillBuild(r *artifacts.RunRecord) {
	r.GoVersion = runtime.Version()
	r.BuildTags = BLASBackend
	if bi, ok := debug.ReadBuildInfo(); ok {
		r.Program = bi.Main.Path + "@" + bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				r.VCSRevision = s.Value
			case "vcs.modified":
				r.VCSDirty = s.Value == "true"
			case "-tags":
				r.BuildTags = s.Value
			}
		}
	}
}

// jobEnv implements kit.Env for ExecuteJob.
type jobEnv struct {
	ctx      context.Context
	st       *artifacts.Store
	job      *Job
	params   kit.Params
	inputs   []kit.Input
	events   func(Event)
	kindName string

	mu      sync.Mutex
	outputs []artifacts.Output
	log     *os.File
}

func (e *jobEnv) Context() context.Context { return e.ctx }
func (e *jobEnv) Params() kit.Params       { return e.params }
func (e *jobEnv) Seed() uint64             { return EffectiveSeed(e.job.MasterSeed, e.job.Seed) }
func (e *jobEnv) Inputs() []kit.Input      { return e.inputs }
func (e *jobEnv) Threads() int             { return max(1, e.job.Threads) }

func (e *jobEnv) Write(name string, rec arrow.Record) error {
	defer rec.Release()
	if !outputNameRE.MatchString(name) {
		return fmt.Errorf("output name %q: use letters, digits, '_', '.', '-'", name)
	}
	return e.store(name, rec)
}

func (e *jobEnv) store(name string, rec arrow.Record) error {
	e.mu.Lock()
	for _, o := range e.outputs {
		if o.Name == name {
			e.mu.Unlock()
			return fmt.Errorf("output %q written twice", name)
		}
	}
	e.mu.Unlock()
	for _, col := range rec.Columns() {
		if col.NullN() > 0 {
			return fmt.Errorf("output %q: column %s has nulls", name, col.DataType())
		}
	}
	plain, err := artifacts.EncodeTable(rec, nil)
	if err != nil {
		return fmt.Errorf("output %q: %w", name, err)
	}
	var params bytes.Buffer
	if err := json.Compact(&params, e.job.Params); err != nil {
		return fmt.Errorf("output %q: params: %w", name, err)
	}
	meta := map[string]string{
		"bfc.key": e.job.Key, "bfc.kind": e.job.Kind, "bfc.point": e.job.Point, "bfc.output": name,
		"bfc.params": params.String(), "bfc.seed": fmt.Sprint(e.job.Seed), "bfc.master_seed": fmt.Sprint(e.job.MasterSeed),
		"bfc.pipeline": e.job.Pipeline,
	}
	full, err := artifacts.EncodeTable(rec, meta)
	if err != nil {
		return fmt.Errorf("output %q: %w", name, err)
	}
	h, err := e.st.PutObject(full)
	if err != nil {
		return fmt.Errorf("output %q: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.outputs = append(e.outputs, artifacts.Output{Name: name, File: h, Data: artifacts.HashBytes(plain), Size: int64(len(full)), Rows: rec.NumRows()})
	artifacts.FaultPoint("output-written")
	return nil
}

// PublishPrefix starts the output names of published files.
const PublishPrefix = "publish."

var fileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func (e *jobEnv) Publish(dir kit.PublishDir, name string, data []byte) error {
	if dir != kit.Figures && dir != kit.Paper {
		return fmt.Errorf("publish %s: unknown directory %q", name, dir)
	}
	if !fileNameRE.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("publish: %q is not a plain file name", name)
	}
	rec, err := kit.NewTable().String("dir", []string{string(dir)}).String("name", []string{name}).Binary("bytes", [][]byte{data}).Record()
	if err != nil {
		return err
	}
	defer rec.Release()
	return e.store(PublishPrefix+string(dir)+"."+name, rec)
}

// ReadFile reads a declared file, named as the kind declared it (or by
// its absolute path), and checks it still has the content the key was
// computed from.
func (e *jobEnv) ReadFile(path string) ([]byte, error) {
	i := slices.IndexFunc(e.job.Files, func(f FileRef) bool { return f.Path == path || f.Abs == path })
	if i < 0 {
		return nil, fmt.Errorf("read %s: the kind did not declare this file (kit.Filer)", path)
	}
	f := e.job.Files[i]
	b, err := os.ReadFile(f.Abs)
	if err != nil {
		return nil, err
	}
	want, ok := findComponent(e.job.Components, "file:"+f.Path)
	if !ok || artifacts.HashBytes(b) != want.Value {
		return nil, fmt.Errorf("read %s: the file changed after the run was planned; rerun", path)
	}
	return b, nil
}

func (e *jobEnv) Progress(done, total int, msg string) {
	e.events(Event{Point: e.job.Point, Type: "progress", Done: done, Total: total, Msg: msg})
}

func (e *jobEnv) Logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	e.mu.Lock()
	fmt.Fprintf(e.log, "%s %s\n", time.Now().UTC().Format("15:04:05.000"), line)
	e.mu.Unlock()
	e.events(Event{Point: e.job.Point, Type: "log", Msg: line})
}

// jobInput implements kit.Input over the store.
type jobInput struct {
	st     *artifacts.Store
	in     *JobInput
	params kit.Params
}

func (i *jobInput) Kind() string              { return i.in.Kind }
func (i *jobInput) Labels() map[string]string { return maps.Clone(i.in.Labels) }
func (i *jobInput) Params() kit.Params        { return i.params }
func (i *jobInput) Seed() int64               { return i.in.Seed }
func (i *jobInput) Key() string               { return i.in.Key }
func (i *jobInput) Outputs() []string {
	out := make([]string, len(i.in.Outputs))
	for j, o := range i.in.Outputs {
		out[j] = o.Name
	}
	return out
}

func (i *jobInput) Read(name string) (arrow.Record, error) {
	for _, o := range i.in.Outputs {
		if o.Name != name {
			continue
		}
		b, err := i.st.ReadObject(o.File)
		if err != nil {
			return nil, fmt.Errorf("input %s output %s: %w", i.in.Point, name, err)
		}
		rec, _, err := artifacts.DecodeTable(b)
		if err != nil {
			return nil, fmt.Errorf("input %s output %s: %w", i.in.Point, name, err)
		}
		return rec, nil
	}
	return nil, fmt.Errorf("input %s has no output %q (has %v)", i.in.Point, name, i.Outputs())
}

// WriteJob stores a job description for an executor under a name unique
// to this submission (several runs may submit the same key at once; the
// key lock decides which computes it).
func WriteJob(st *artifacts.Store, j *Job) (string, error) {
	b, err := json.MarshalIndent(j, "", " ")
	if err != nil {
		return "", err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	p := st.JobPath(fmt.Sprintf("%s.%d.%x", j.Key, os.Getpid(), rnd))
	if err := artifacts.WriteFileAtomic(p, b, 0o644); err != nil {
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
	if j.Format != 1 || !artifacts.ValidHash(j.Key) {
		return nil, errors.New("job " + filepath.Base(path) + ": unknown format or malformed key")
	}
	return &j, nil
}

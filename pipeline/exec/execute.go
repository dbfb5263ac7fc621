package exec

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"github.com/bfc-repro/bfc/artifacts/bundle"
	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/stages/kit"
)

// ExecOptions configure ExecuteJob.
type ExecOptions struct {
	Executor string             // recorded in the run record
	Events   func(Event)        // may be nil
	Kinds    graph.Registry     // to find the job's kind
	Code     graph.CodeIdentity // to check the job's code identity against this binary
	Extra    map[string]string  // extra notes for the run record
}

// ExecuteJob computes a job in this process: it checks the job against
// this binary, takes the key's lock, returns early if another process
// committed the key meanwhile (unless the job is forced), runs the kind, stores the outputs and
// commits the manifest. A panicking kind is a failed job, not a crashed
// program. Nothing is committed on failure.
func ExecuteJob(ctx context.Context, st *store.Store, job *Job, opt ExecOptions) (res Result) {
	res = Result{Point: job.Point, Key: job.Key}
	fail := func(err error) Result {
		res.Error = err.Error()
		return res
	}
	events := opt.Events
	if events == nil {
		events = func(Event) {}
	}
	kind, params, err := checkJob(job, opt)
	if err != nil {
		return fail(err)
	}
	slock, err := st.LockShared(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer slock.Unlock()
	cached, err := executeLocked(ctx, st, job, kind, params, events, opt, nil)
	if err != nil {
		return fail(err)
	}
	res.Cached = cached
	return res
}

// executeLocked computes a checked job with the store lock held (by this
// process): it takes the key's lock, reports the key cached if it is
// committed with intact outputs, and otherwise runs the kind and commits
// it. chain lists the keys this computation is nested in (the callers of
// a probe), which it must not wait for.
func executeLocked(ctx context.Context, st *store.Store, job *Job, kind kit.Kind, params kit.Params, events func(Event), opt ExecOptions, chain []id.Key) (cached bool, err error) {
	if slices.Contains(chain, job.Key) {
		return false, fmt.Errorf("%s has the key of a point it is computed for (a probe cycle)", job.Point)
	}
	klock, took, err := st.LockKey(ctx, job.Key, store.ThisProcess("compute "+job.Point), func(h store.Owner) {
		events(Event{Point: job.Point, Type: "wait", Msg: "waiting for " + h.String()})
	})
	if err != nil {
		return false, err
	}
	defer klock.Unlock()
	if took != "" {
		events(Event{Point: job.Point, Type: "takeover", Msg: took})
	}
	if m, err := st.Manifest(job.Key); err == nil && !job.Force {
		if err := st.CheckOutputs(m); err == nil {
			return true, nil
		}
		if err := quarantine(st, m); err != nil {
			return false, err
		}
	}
	return false, compute(ctx, st, job, kind, params, events, opt, append(slices.Clone(chain), job.Key))
}

// checkJob finds the job's kind, checks that its key components hash to
// its key and that this binary's code identity of the kind is the job's,
// and decodes its params.
func checkJob(job *Job, opt ExecOptions) (kit.Kind, kit.Params, error) {
	kind, ok := opt.Kinds[job.Kind]
	if !ok {
		return nil, nil, fmt.Errorf("this bfc has no stage kind %q", job.Kind)
	}
	if key, err := store.KeyOf(job.Components); err != nil || key != job.Key {
		return nil, nil, fmt.Errorf("job %s: its key components do not hash to its key (damaged job file?)", job.Point)
	}
	if opt.Code != nil {
		mine, err := opt.Code.Components(graph.KindPackage(kind))
		if err != nil {
			return nil, nil, err
		}
		for _, c := range mine {
			if jc, ok := findComponent(job.Components, c.Name); !ok || jc.Hash != c.Hash {
				return nil, nil, fmt.Errorf("job %s was planned by a different bfc build (code component %s differs); rebuild bfc on this machine from the same revision", job.Point, c.Name)
			}
		}
	}
	params, err := DecodeParams(kind.Params(), job.Params)
	return kind, params, err
}

// compute runs the kind with the key's lock held and commits its outputs.
func compute(ctx context.Context, st *store.Store, job *Job, kind kit.Kind, params kit.Params, events func(Event), opt ExecOptions, chain []id.Key) error {
	start := time.Now()
	logf, err := os.OpenFile(st.LogPath(job.Key), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	env := &jobEnv{ctx: ctx, st: st, job: job, kind: kind, params: params, events: events, log: logf, registry: opt.Kinds, opt: opt, chain: chain}
	for i := range job.Inputs {
		in := &job.Inputs[i]
		var ip kit.Params
		if decl := opt.Kinds[in.Kind]; decl != nil {
			if ip, err = DecodeParams(decl.Params(), in.Params); err != nil {
				return fmt.Errorf("input %s: %w", in.Point, err)
			}
		}
		env.inputs = append(env.inputs, &jobInput{st: st, in: in, params: ip})
	}
	ru0 := rusage()
	if err := runKind(kind, env); err != nil {
		fmt.Fprintf(logf, "FAILED: %v\n", err)
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	ru1 := rusage()
	host, _ := os.Hostname()
	m := &store.Manifest{Format: store.FormatVersion, Key: job.Key, Kind: job.Kind, Stage: job.Point,
		Components: job.Components, Outputs: env.outputs, Probes: env.probeRefs(),
		Run: store.RunRecord{
			Start: start.UTC().Format(time.RFC3339Nano), WallSeconds: time.Since(start).Seconds(),
			UserSeconds: ru1.user - ru0.user, SysSeconds: ru1.sys - ru0.sys, MaxRSSBytes: ru1.maxRSS,
			Threads: job.Threads, Host: host, Executor: opt.Executor, Log: st.LogPath(job.Key), Notes: opt.Extra,
		}}
	fillBuild(&m.Run)
	store.FaultPoint("before-manifest")
	if err := st.PutManifest(m); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	store.FaultPoint("after-manifest")
	return nil
}

func findComponent(cs []store.Component, name string) (store.Component, bool) {
	for _, c := range cs {
		if c.Name == name {
			return c, true
		}
	}
	return store.Component{}, false
}

// quarantine moves the damaged outputs of m aside and drops m, so the key
// is recomputed.
func quarantine(st *store.Store, m *store.Manifest) error {
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

// fillBuild records the program in a run record: Go version, module
// version, VCS state and build tags (the BLAS backend without tags).
func fillBuild(r *store.RunRecord) {
	b := bundle.ReadBuildInfo(graph.BLASBackend)
	r.GoVersion, r.BuildTags = b.GoVersion, b.BuildTags
	r.CPU = bundle.CPUModel()
	if r.BuildTags == "" {
		r.BuildTags = graph.BLASBackend
	}
	if b.Module.Path != "" {
		r.Program = b.Module.Path + "@" + b.Module.Version
	}
	r.VCSRevision, r.VCSDirty = b.VCSRevision, b.VCSDirty
}

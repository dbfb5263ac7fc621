// Package review is the top layer of the bfc engine: what a reviewer does
// with a pipeline's results.
//
// Archive writes a review bundle (package bundle) of a graph's fresh
// points and pins its keys in the store. CheckBundle checks what hashes
// alone cannot: that a bundle's manifests follow from the pipeline file it
// carries (lineage of inputs, declared params and seeds). A Reproducer
// reruns a bundle's points with this binary from the bundle's copies of
// their inputs and compares the outputs bit for bit (or by data, when the
// code differs); DiffSides compares two bundles, or a bundle and the
// store, point by point and table by table.
package review

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/artifacts/bundle"
	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/view"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Reproducing from a bundle. A manifest holds everything that determined
// its outputs: the kind, every parameter ("param:NAME", the canonical JSON
// of the value), the seed ("seed": "master=M seed=S"), each input
// ("input:NNN": the input's kind, labels and the data hash of each of its
// outputs), the external files ("file:PATH": their hash) and the code
// ("code.*"). RebuildJob turns a manifest back into the Job that computed
// it, finding each input among the bundle's points by the data it names;
// Reproducer runs such jobs with this binary in a scratch store and
// compares the outputs with the bundle's.
//
// If this binary's code identity for the kind equals the manifest's, the
// job has the manifest's key, and the same key must give the same bytes:
// output files are compared by their file hash. Otherwise the key differs
// (and with it the key written into each file's metadata), so outputs are
// compared by their data hash, the hash of the table without metadata.

// ManifestSource is where manifests and objects are read from: a bundle
// or a store.
type ManifestSource interface {
	Manifest(key id.Key) (*store.Manifest, error)
	ReadObject(o id.Object) ([]byte, error)
}

// InputCandidate is a point that may be the input a manifest names.
type InputCandidate struct {
	Point    string
	Kind     string
	Labels   map[string]string
	Manifest *store.Manifest
}

// InputValue is the value of the input component that c gives a point
// reading it (graph.InputValue).
func InputValue(c InputCandidate) string { return graph.InputValue(c.Kind, c.Labels, c.Manifest) }

// RebuiltJob is a job rebuilt from a manifest, with what could not be
// carried over exactly.
type RebuiltJob struct {
	Job *exec.Job
	// CodeSame reports whether this binary's code identity of the kind
	// equals the manifest's; if not, CodeDiff says how, and the job has
	// this binary's code components and so another key.
	CodeSame bool
	CodeDiff []string
	// Inputs are the candidates chosen for the input components.
	Inputs []InputCandidate
	// Notes list parameters filled in from this binary's defaults or
	// dropped because this binary's kind does not declare them.
	Notes []string
}

// RebuildJob rebuilds the job that computed m: params from its "param:"
// components (typed by the kind's declarations), the seed and master seed
// from "seed", files from "file:", and for each "input:NNN" component the
// candidate whose kind, labels and output data hashes it names
// (preferring preferred[i], a candidate point id, when it matches). The
// job runs in store st under pipeline name pipeline.
func RebuildJob(m *store.Manifest, kinds graph.Registry, code graph.CodeIdentity, candidates []InputCandidate, preferred []string, pipeline string, st *store.Store, threads int) (*RebuiltJob, error) {
	kind, ok := kinds[m.Kind]
	if !ok {
		return nil, fmt.Errorf("%s: this bfc has no stage kind %q", m.Stage, m.Kind)
	}
	rj := &RebuiltJob{}
	params, notes, err := paramsFromComponents(kind, m.Components)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Stage, err)
	}
	rj.Notes = notes
	sc, ok := m.Component("seed")
	if !ok {
		return nil, fmt.Errorf("%s: the manifest has no seed component", m.Stage)
	}
	var master, seed int64
	if _, err := fmt.Sscanf(sc.Value, "master=%d seed=%d", &master, &seed); err != nil {
		return nil, fmt.Errorf("%s: seed component %q: %v", m.Stage, sc.Value, err)
	}
	job := &exec.Job{Format: 1, Point: m.Stage, Kind: m.Kind, Params: params, Seed: seed, MasterSeed: master,
		Pipeline: pipeline, Threads: max(1, threads), Store: st.Dir}

	byID := map[string]InputCandidate{}
	for _, c := range candidates {
		byID[c.Point] = c
	}
	var comps []store.Component
	inputs := map[int]InputCandidate{}
	for _, c := range m.Components {
		switch {
		case strings.HasPrefix(c.Name, "code."):
			continue
		case strings.HasPrefix(c.Name, "file:"):
			// Relative paths are resolved against the working directory.
			p := strings.TrimPrefix(c.Name, "file:")
			abs, _ := filepath.Abs(p)
			job.Files = append(job.Files, graph.FileRef{Path: p, Abs: abs})
		case strings.HasPrefix(c.Name, "input:"):
			var i int
			if _, err := fmt.Sscanf(c.Name, "input:%d", &i); err != nil || c.Name != fmt.Sprintf("input:%03d", i) {
				return nil, fmt.Errorf("%s: component %s is not input:NNN", m.Stage, c.Name)
			}
			in, err := matchInput(c.Value, i, candidates, byID, preferred)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.Stage, err)
			}
			inputs[i] = in
		}
		comps = append(comps, c)
	}
	// Input components are named input:000, input:001, ... in input order.
	for i := range len(inputs) {
		in, ok := inputs[i]
		if !ok {
			return nil, fmt.Errorf("%s: input components are not numbered 0 to %d", m.Stage, len(inputs)-1)
		}
		rj.Inputs = append(rj.Inputs, in)
	}
	for i, in := range rj.Inputs {
		ik := kinds[in.Kind]
		var ip json.RawMessage = json.RawMessage("{}")
		if ik != nil {
			if ip, _, err = paramsFromComponents(ik, in.Manifest.Components); err != nil {
				return nil, fmt.Errorf("%s: input %d (%s): %w", m.Stage, i, in.Point, err)
			}
		}
		var s int64
		if c, ok := in.Manifest.Component("seed"); ok {
			fmt.Sscanf(c.Value, "master=%d seed=%d", new(int64), &s)
		}
		job.Inputs = append(job.Inputs, exec.JobInput{Point: in.Point, Kind: in.Kind, Labels: in.Labels, Params: ip,
			Seed: s, Key: in.Manifest.Key, Outputs: in.Manifest.Outputs})
	}

	mine, err := code.Components(graph.KindPackage(kind))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Stage, err)
	}
	rj.CodeDiff = CodeDiff(m.Components, mine)
	rj.CodeSame = len(rj.CodeDiff) == 0
	if rj.CodeSame {
		job.Components, job.Key = m.Components, m.Key
	} else {
		job.Components = append(comps, mine...)
		if job.Key, err = store.KeyOf(job.Components); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Stage, err)
		}
	}
	rj.Job = job
	return rj, nil
}

// CodeDiff words how the code components of a manifest's key differ from
// mine (this binary's for the same kind); nil when they are the same.
func CodeDiff(manifest, mine []store.Component) []string {
	code := func(cs []store.Component) []store.Component {
		return slices.DeleteFunc(slices.Clone(cs), func(c store.Component) bool { return !strings.HasPrefix(c.Name, "code.") })
	}
	return view.DiffComponents(code(manifest), code(mine), false)
}

// matchInput finds the candidate that input component i (value v) names.
func matchInput(v string, i int, candidates []InputCandidate, byID map[string]InputCandidate, preferred []string) (InputCandidate, error) {
	if i < len(preferred) {
		if c, ok := byID[preferred[i]]; ok && c.Manifest != nil && InputValue(c) == v {
			return c, nil
		}
	}
	for _, c := range candidates {
		if c.Manifest != nil && InputValue(c) == v {
			return c, nil
		}
	}
	return InputCandidate{}, fmt.Errorf("input %d (%s) matches no point of the bundle", i, view.Clip(v))
}

// paramsFromComponents rebuilds a job's params (a JSON object, as NewJob
// writes it) from the "param:" components of a manifest, for the params
// kind declares. A declared param the manifest lacks takes its default,
// a manifest param the kind does not know is dropped; both are noted.
// The values must pass the kind's ranges and Validate, as in a pipeline
// file: a bundle is untrusted input.
func paramsFromComponents(kind kit.Kind, cs []store.Component) (json.RawMessage, []string, error) {
	decl := kind.Params()
	vals := map[string]json.RawMessage{}
	for _, c := range cs {
		if name, ok := strings.CutPrefix(c.Name, "param:"); ok {
			if !json.Valid([]byte(c.Value)) {
				return nil, nil, fmt.Errorf("param %s: %q is not JSON", name, c.Value)
			}
			vals[name] = json.RawMessage(c.Value)
		}
	}
	out := map[string]json.RawMessage{}
	var notes []string
	for _, d := range decl {
		v, ok := vals[d.Name]
		if !ok {
			if d.Default == nil {
				return nil, nil, fmt.Errorf("this bfc's kind requires param %s, which the manifest lacks", d.Name)
			}
			v = json.RawMessage(graph.CanonicalJSON(d.Default))
			notes = append(notes, fmt.Sprintf("param %s is not in the manifest; using this bfc's default %s", d.Name, v))
		}
		out[d.Name] = v
		delete(vals, d.Name)
	}
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		notes = append(notes, fmt.Sprintf("param %s = %s of the manifest is not a parameter of this bfc's kind; dropped", name, vals[name]))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, nil, err
	}
	typed, err := exec.DecodeParams(decl, b)
	if err != nil {
		return nil, nil, err
	}
	checked, err := kit.Resolve(decl, typed)
	if err == nil {
		if v, ok := kind.(kit.Validator); ok {
			err = v.Validate(checked)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("params of kind %s: %w", kind.Name(), err)
	}
	return b, notes, nil
}

// ReproduceResult is the outcome of reproducing one point.
type ReproduceResult struct {
	Point    string
	Key      id.Key // the bundle's key
	NewKey   id.Key // the key of the rerun (equal when the code is the same)
	CodeSame bool
	CodeDiff []string
	// ByFile is set when outputs were compared by file hash (same key),
	// clear when by data hash (the code identity differs).
	ByFile  bool
	Status  string // "identical", "different" or "failed"
	Err     error
	Notes   []string
	Outputs []OutputDiff
}

// Reproduce statuses.
const (
	ReproIdentical = "identical"
	ReproDifferent = "different"
	ReproFailed    = "failed"
)

// Reproducer reruns the points of a bundle with this binary.
type Reproducer struct {
	Bundle  *bundle.Bundle
	Kinds   graph.Registry
	Code    graph.CodeIdentity
	Store   *store.Store // scratch store the reruns compute in
	Threads int
	Events  func(exec.Event) // may be nil
}

// candidates are the bundle's points with their manifests.
func (r *Reproducer) candidates() []InputCandidate {
	var cs []InputCandidate
	for _, p := range r.Bundle.Index.Points {
		m, err := r.Bundle.Manifest(p.Key)
		if err != nil {
			continue
		}
		cs = append(cs, InputCandidate{Point: p.Point, Kind: p.Kind, Labels: p.Labels, Manifest: m})
	}
	return cs
}

// Select resolves stage or point names to the bundle's points; with no
// names, every point whose inputs are in the bundle.
func (r *Reproducer) Select(names []string) ([]bundle.Point, error) {
	pts := r.Bundle.Index.Points
	if len(names) == 0 {
		var out []bundle.Point
		for _, p := range pts {
			if r.Reproducible(p) == nil {
				out = append(out, p)
			}
		}
		return out, nil
	}
	var out []bundle.Point
	seen := map[string]bool{}
	for _, n := range names {
		found := false
		for _, p := range pts {
			if (p.Point == n || p.Stage == n) && !seen[p.Point] {
				out, seen[p.Point], found = append(out, p), true, true
			} else if p.Point == n || p.Stage == n {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("the bundle has no stage or point %q", n)
		}
	}
	return out, nil
}

// Reproducible says why p cannot be rerun from the bundle, or nil: its
// manifest and the output objects of every input must be in the bundle.
func (r *Reproducer) Reproducible(p bundle.Point) error {
	_, err := r.rebuild(p, r.candidates())
	return err
}

func (r *Reproducer) rebuild(p bundle.Point, cands []InputCandidate) (*RebuiltJob, error) {
	m, err := r.Bundle.Manifest(p.Key)
	if err != nil {
		return nil, err
	}
	rj, err := RebuildJob(m, r.Kinds, r.Code, cands, p.Inputs, r.Bundle.Index.Pipeline, r.Store, r.Threads)
	if err != nil {
		return nil, err
	}
	for _, in := range rj.Inputs {
		for _, o := range in.Manifest.Outputs {
			if !r.Bundle.HasObject(o.File) {
				return nil, fmt.Errorf("%s: output %q of its input %s is not in the bundle (archived with --outputs final?)", p.Point, o.Name, in.Point)
			}
		}
	}
	return rj, nil
}

// Run reruns point p of the bundle from the bundle's copies of its inputs
// and compares its outputs with the bundle's.
func (r *Reproducer) Run(ctx context.Context, p bundle.Point) *ReproduceResult {
	res := &ReproduceResult{Point: p.Point, Key: p.Key, Status: ReproFailed}
	fail := func(err error) *ReproduceResult {
		res.Err = err
		return res
	}
	rj, err := r.rebuild(p, r.candidates())
	if err != nil {
		return fail(err)
	}
	res.CodeSame, res.CodeDiff, res.Notes, res.NewKey = rj.CodeSame, rj.CodeDiff, rj.Notes, rj.Job.Key
	res.ByFile = rj.CodeSame
	for _, in := range rj.Inputs {
		for _, o := range in.Manifest.Outputs {
			data, err := r.Bundle.ReadObject(o.File)
			if err != nil {
				return fail(fmt.Errorf("input %s: %w", in.Point, err))
			}
			if _, err := r.Store.PutObject(data); err != nil {
				return fail(err)
			}
		}
	}
	out := exec.ExecuteJob(ctx, r.Store, rj.Job, exec.ExecOptions{Executor: "reproduce", Events: r.Events, Kinds: r.Kinds, Code: r.Code})
	if out.Error != "" {
		log, _ := os.ReadFile(r.Store.LogPath(rj.Job.Key))
		return fail(fmt.Errorf("%s%s", out.Error, tail(string(log), 600)))
	}
	got, err := r.Store.Manifest(rj.Job.Key)
	if err != nil {
		return fail(err)
	}
	want, err := r.Bundle.Manifest(p.Key)
	if err != nil {
		return fail(err)
	}
	res.Outputs = CompareOutputs(want.Outputs, got.Outputs, r.Bundle, r.Store, res.ByFile)
	res.Outputs = append(res.Outputs, r.compareProbes(want, got, res.ByFile)...)
	res.Status = ReproIdentical
	for _, o := range res.Outputs {
		if o.State != OutputSame {
			res.Status = ReproDifferent
		}
	}
	return res
}

// compareProbes compares the probes the rerun computed (in the scratch
// store) with the bundle's: the same probes by name, and for each the
// outputs, as "probe NAME: OUTPUT" (by data when the probe's key differs).
func (r *Reproducer) compareProbes(want, got *store.Manifest, byFile bool) []OutputDiff {
	names := func(ps []store.ProbeRef) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	if !slices.Equal(names(want.Probes), names(got.Probes)) {
		return []OutputDiff{{Name: "probes", State: OutputChanged,
			Note: fmt.Sprintf("the rerun probed %s, the bundle's run %s", view.FirstN(names(got.Probes), 4), view.FirstN(names(want.Probes), 4))}}
	}
	var out []OutputDiff
	for i, wp := range want.Probes {
		gp := got.Probes[i]
		wm, err1 := r.Bundle.Manifest(wp.Key)
		gm, err2 := r.Store.Manifest(gp.Key)
		if err1 != nil || err2 != nil {
			out = append(out, OutputDiff{Name: "probe " + wp.Name, State: OutputChanged, Note: fmt.Sprintf("manifest missing: %v", cmp.Or(err1, err2))})
			continue
		}
		for _, d := range CompareOutputs(wm.Outputs, gm.Outputs, r.Bundle, r.Store, byFile && wp.Key == gp.Key) {
			d.Name = "probe " + wp.Name + ": " + d.Name
			out = append(out, d)
		}
	}
	return out
}

// tail returns the end of a log, introduced, or "".
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return "\nlog:\n" + s
}

// ScratchStore opens a new store in a temporary directory under dir ("" for
// the system's), for reruns whose results must not mix with a real store.
func ScratchStore(dir string) (*store.Store, func(), error) {
	tmp, err := os.MkdirTemp(dir, "bfc-reproduce-")
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(filepath.Join(tmp, "store"), true)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, nil, err
	}
	return st, func() { os.RemoveAll(tmp) }, nil
}

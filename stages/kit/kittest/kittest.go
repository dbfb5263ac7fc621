// Package kittest runs stage kinds in memory, without an engine or a
// store, for the kinds' own tests.
//
//	env := kittest.NewEnv(t, kind, map[string]any{"d": int64(8)}, 1)
//	if err := kind.Run(env); err != nil { ... }
//	rec := env.Output("history")
//
// Outputs of one run can be fed to another kind as inputs with AsInput.
// A kind that probes (kit.Env.Probe) is given the kinds it may probe with
// SetProbeKinds; each distinct probe runs once, in memory, and Probes
// lists what ran.
//
// An Env holds a kind to its declarations: Write fails on a table the kind
// does not declare (kit.Producer, kit.InputProducer) or one that does not match
// its declared schema, and NewEnv fails the test when a kit.Consumer reads
// a column its inputs do not declare (kit.CheckWiring), so every kind's
// own tests prove what it declares.
package kittest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"

	"github.com/bfc-repro/bfc/stages/kit"
)

// Env is an in-memory kit.Env.
type Env struct {
	t       testing.TB
	k       kit.Kind
	kind    string
	params  kit.Params
	seed    int64
	inputs  []kit.Input
	threads int

	// probeKinds are the kinds Probe may run; probed memoises probes by
	// kind, params, seed and inputs; probeRuns lists the ones that ran.
	probeKinds map[string]kit.Kind
	probed     map[string]kit.Input
	probeRuns  []string

	mu        sync.Mutex
	outputs   map[string]arrow.Record
	order     []string
	published map[string][]byte
	progress  []string
}

// NewEnv resolves raw params against kind's declaration (failing the test
// on a validation error) and returns an Env with the given stage seed.
func NewEnv(t testing.TB, kind kit.Kind, raw map[string]any, seed int64, inputs ...kit.Input) *Env {
	t.Helper()
	p, err := kit.Resolve(kind.Params(), raw)
	if err != nil {
		t.Fatalf("params of %s: %v", kind.Name(), err)
	}
	if v, ok := kind.(kit.Validator); ok {
		if err := v.Validate(p); err != nil {
			t.Fatalf("params of %s: %v", kind.Name(), err)
		}
	}
	if c, ok := kind.(kit.Consumer); ok {
		// Every need counts as optional: tests of a kind's own input
		// errors leave inputs out on purpose; what is checked is that the
		// columns it reads are declared by the inputs it is given.
		needs := slices.Clone(c.Consumes(p))
		for i := range needs {
			needs[i].Optional = true
		}
		if err := kit.CheckWiring(kind.Name(), needs, upstreams(inputs)); err != nil {
			t.Fatalf("wiring of %s: %v", kind.Name(), err)
		}
	}
	e := &Env{t: t, k: kind, kind: kind.Name(), params: p, seed: seed, inputs: inputs, threads: 1,
		outputs: map[string]arrow.Record{}, published: map[string][]byte{}}
	t.Cleanup(func() {
		for _, r := range e.outputs {
			r.Release()
		}
	})
	return e
}

// SetProbeKinds sets the kinds Probe may run.
func (e *Env) SetProbeKinds(kinds ...kit.Kind) {
	e.probeKinds = map[string]kit.Kind{}
	for _, k := range kinds {
		e.probeKinds[k.Name()] = k
	}
}

// Probe runs kind at params in memory, once per distinct kind, params,
// seed and inputs (as the engine would find a probe computed before), and
// returns its outputs as an input. Its params are resolved as the engine
// resolves them (kit.ProbeParams).
func (e *Env) Probe(kind string, raw map[string]any, inputs []kit.Input) (kit.Input, error) {
	k, ok := e.probeKinds[kind]
	if !ok {
		return nil, fmt.Errorf("probe %s: not a kind given to SetProbeKinds", kind)
	}
	p, seed, given, err := kit.ProbeParams(k, raw, e.seed)
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", kind, err)
	}
	id := fmt.Sprint(kind, p, seed)
	labels := map[string]string{}
	for _, in := range inputs {
		id += " " + in.Key()
		maps.Copy(labels, in.Labels())
	}
	e.mu.Lock()
	in, done := e.probed[id]
	e.mu.Unlock()
	if done {
		return in, nil
	}
	for n, v := range given {
		labels[n] = fmt.Sprint(v)
	}
	pe := &Env{t: e.t, k: k, kind: kind, params: p, seed: seed, inputs: inputs, threads: e.threads,
		outputs: map[string]arrow.Record{}, published: map[string][]byte{}, probeKinds: e.probeKinds}
	e.t.Cleanup(func() {
		for _, r := range pe.outputs {
			r.Release()
		}
	})
	if err := k.Run(pe); err != nil {
		return nil, fmt.Errorf("probe %s %v: %w", kind, given, err)
	}
	x := pe.AsInput(labels).(*input)
	x.key = "probe " + id // distinct for distinct probes, as a key is
	in = x
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.probed == nil {
		e.probed = map[string]kit.Input{}
	}
	e.probed[id] = in
	e.probeRuns = append(e.probeRuns, fmt.Sprintf("%s %v", kind, given))
	return in, nil
}

// Probes lists the probes that ran, in order, as "kind map[param:value]".
func (e *Env) Probes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.probeRuns)
}

// SetThreads sets what Threads reports.
func (e *Env) SetThreads(n int) { e.threads = n }

func (e *Env) Context() context.Context { return context.Background() }
func (e *Env) Params() kit.Params       { return e.params }
func (e *Env) Seed() uint64             { return uint64(e.seed) }
func (e *Env) Inputs() []kit.Input      { return e.inputs }
func (e *Env) Threads() int             { return e.threads }

// Write stores an output after checking it against the kind's
// declarations (see the package doc).
func (e *Env) Write(name string, rec arrow.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.outputs[name]; dup {
		return fmt.Errorf("output %q written twice", name)
	}
	if err := e.checkDeclared(name, rec); err != nil {
		return err
	}
	e.outputs[name] = rec
	e.order = append(e.order, name)
	return nil
}

func (e *Env) Publish(dir kit.PublishDir, name string, data []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := string(dir) + "/" + name
	if _, dup := e.published[key]; dup {
		return fmt.Errorf("file %q published twice", key)
	}
	e.published[key] = slices.Clone(data)
	return nil
}

func (e *Env) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

func (e *Env) Progress(done, total int, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.progress = append(e.progress, fmt.Sprintf("%d/%d %s", done, total, msg))
}

func (e *Env) Logf(format string, args ...any) { e.t.Logf(e.kind+": "+format, args...) }

// Output returns a written output, failing the test if it is missing.
func (e *Env) Output(name string) arrow.Record {
	e.t.Helper()
	r, ok := e.outputs[name]
	if !ok {
		e.t.Fatalf("%s wrote no output %q (have %v)", e.kind, name, e.order)
	}
	return r
}

// OutputNames lists the outputs in the order they were written.
func (e *Env) OutputNames() []string { return slices.Clone(e.order) }

// Published returns the published files keyed "dir/name".
func (e *Env) Published() map[string][]byte { return maps.Clone(e.published) }

// ProgressLines returns what the kind reported with Progress.
func (e *Env) ProgressLines() []string { return slices.Clone(e.progress) }

// declared returns the tables the kind declares for this Env's params and
// inputs, and whether it declares any.
func (e *Env) declared() ([]kit.TableDesc, bool, error) {
	return kit.Declares(e.k, e.params, upstreams(e.inputs))
}

func (e *Env) checkDeclared(name string, rec arrow.Record) error {
	ds, ok, err := e.declared()
	if err != nil {
		return fmt.Errorf("%s: declarations: %w", e.kind, err)
	}
	if !ok {
		return nil
	}
	for _, d := range ds {
		if d.Name == name {
			if err := d.Check(rec); err != nil {
				return fmt.Errorf("%s wrote %s against its declaration: %w", e.kind, name, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%s wrote table %q, which it does not declare", e.kind, name)
}

// upstreams describes inputs as kit.CheckWiring sees them; inputs not
// made by AsInput count as undeclared.
func upstreams(ins []kit.Input) []kit.Upstream {
	out := make([]kit.Upstream, len(ins))
	for i, in := range ins {
		out[i] = kit.Upstream{Stage: in.Key(), Kind: in.Kind()}
		if x, ok := in.(*input); ok {
			out[i].Produces, out[i].Declared = x.produces, x.declared
		}
	}
	return out
}

// AsInput turns this run's outputs into an input for a downstream kind.
func (e *Env) AsInput(labels map[string]string) kit.Input {
	ds, ok, err := e.declared()
	if err != nil {
		e.t.Fatalf("%s: declarations: %v", e.kind, err)
	}
	return &input{kind: e.kind, labels: labels, params: e.params, seed: e.seed, key: fmt.Sprintf("test-%s-%d", e.kind, e.seed), outs: e.outputs, order: e.order,
		produces: ds, declared: ok}
}

type input struct {
	produces []kit.TableDesc
	declared bool
	kind     string
	labels   map[string]string
	params   kit.Params
	seed     int64
	key      string
	outs     map[string]arrow.Record
	order    []string
}

func (i *input) Kind() string              { return i.kind }
func (i *input) Labels() map[string]string { return maps.Clone(i.labels) }
func (i *input) Params() kit.Params        { return i.params }
func (i *input) Seed() int64               { return i.seed }
func (i *input) Key() string               { return i.key }
func (i *input) Outputs() []string         { return slices.Clone(i.order) }
func (i *input) Read(name string) (arrow.Record, error) {
	r, ok := i.outs[name]
	if !ok {
		return nil, fmt.Errorf("input %s has no output %q", i.kind, name)
	}
	r.Retain()
	return r, nil
}

// Bytes serialises records as Arrow IPC streams, one after the other, for
// tests that compare outputs byte for byte (determinism across seeds and
// thread counts). The records may have different schemas.
func Bytes(t testing.TB, recs ...arrow.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, rec := range recs {
		w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// Fake returns a table of schema d whose columns cols holds (name ->
// []float64, []int, []string or []bool; all of one length) and zeros, empty
// strings or false elsewhere (matrix columns one zero wide): a producer's
// table for a consumer's test without running the producer.
func Fake(t testing.TB, d kit.TableDesc, cols map[string]any) arrow.Record {
	t.Helper()
	n := -1
	for name, v := range cols {
		if _, ok := d.Column(name); !ok {
			t.Fatalf("Fake: schema %s declares no column %q", d.ID(), name)
		}
		l := reflect.ValueOf(v).Len()
		if n >= 0 && l != n {
			t.Fatalf("Fake: column %q has %d rows, others %d", name, l, n)
		}
		n = l
	}
	n = max(n, 0)
	tb := kit.NewTable()
	for _, c := range d.Columns {
		v, given := cols[c.Name]
		switch c.Type {
		case kit.ColFloat64:
			if !given {
				v = make([]float64, n)
			}
			tb.Float64(c.Name, v.([]float64))
		case kit.ColInt64:
			if !given {
				v = make([]int, n)
			}
			tb.Ints(c.Name, v.([]int))
		case kit.ColString:
			if !given {
				v = make([]string, n)
			}
			tb.String(c.Name, v.([]string))
		case kit.ColBool:
			if !given {
				v = make([]bool, n)
			}
			tb.Bool(c.Name, v.([]bool))
		case kit.ColBinary:
			tb.Binary(c.Name, make([][]byte, n))
		case kit.ColMatrix:
			tb.Matrix(c.Name, n, 1, make([]float64, n))
		}
	}
	rec, err := tb.Record()
	if err != nil {
		t.Fatalf("Fake %s: %v", d.ID(), err)
	}
	return rec
}

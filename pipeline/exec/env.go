package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/stages/kit"
)

// plainNameRE is what an output name and a published file name must match.
var plainNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// jobEnv implements kit.Env for ExecuteJob.
type jobEnv struct {
	ctx  context.Context
	st   *store.Store
	job  *Job
	kind kit.Kind
	// registry resolves input kinds for kit.InputProducer declarations.
	registry graph.Registry
	params   kit.Params
	inputs   []kit.Input
	events   func(Event)

	declOnce   sync.Once
	declared   []kit.TableDesc // the tables the kind declares (kit.Declares)
	declaredOK bool

	// opt and chain are what probes are computed with (probe.go): the
	// options of this execution and the keys it is nested in.
	opt   ExecOptions
	chain []id.Key

	mu      sync.Mutex
	outputs []store.Output
	probes  []store.ProbeRef
	log     *os.File
}

func (e *jobEnv) Context() context.Context { return e.ctx }
func (e *jobEnv) Params() kit.Params       { return e.params }
func (e *jobEnv) Seed() uint64             { return graph.EffectiveSeed(e.job.MasterSeed, e.job.Seed) }
func (e *jobEnv) Inputs() []kit.Input      { return e.inputs }
func (e *jobEnv) Threads() int             { return max(1, e.job.Threads) }

// Write stores an output table. A kind that declares its tables
// (kit.Producer) may write only those, each with its declared columns;
// the table's file then names its schema in the metadata (bfc.schema).
func (e *jobEnv) Write(name string, rec arrow.Record) error {
	defer rec.Release()
	if !plainNameRE.MatchString(name) {
		return fmt.Errorf("output name %q: use letters, digits, '_', '.', '-'", name)
	}
	schema, err := e.schema(name, rec)
	if err != nil {
		return err
	}
	return e.store(name, rec, schema)
}

// schema checks rec against the table the kind declares under name and
// returns the schema id ("" for a kind that declares nothing). A kind whose
// tables depend on its inputs (kit.InputProducer) is given its inputs as
// upstreams, each with the tables its own kind declares for it.
func (e *jobEnv) schema(name string, rec arrow.Record) (string, error) {
	var declErr error
	e.declOnce.Do(func() {
		var ups []kit.Upstream
		if _, ok := e.kind.(kit.InputProducer); ok {
			ups = e.upstreams()
		}
		e.declared, e.declaredOK, declErr = kit.Declares(e.kind, e.params, ups)
	})
	if declErr != nil {
		return "", fmt.Errorf("output %q: tables of kind %s: %w", name, e.kind.Name(), declErr)
	}
	if !e.declaredOK {
		return "", nil
	}
	i := slices.IndexFunc(e.declared, func(d kit.TableDesc) bool { return d.Name == name })
	if i < 0 {
		var names []string
		for _, d := range e.declared {
			names = append(names, d.Name)
		}
		return "", fmt.Errorf("output %q: kind %s does not declare this table (it declares %v)", name, e.kind.Name(), names)
	}
	if err := e.declared[i].Check(rec); err != nil {
		return "", fmt.Errorf("output %q: %w", name, err)
	}
	return e.declared[i].ID(), nil
}

// upstreams describes the job's inputs as kit.Upstreams, one level deep:
// an input whose own kind needs its inputs to declare its tables counts
// as undeclared.
func (e *jobEnv) upstreams() []kit.Upstream {
	var out []kit.Upstream
	for i, in := range e.inputs {
		u := kit.Upstream{Stage: e.job.Inputs[i].Point, Kind: in.Kind()}
		if k, ok := e.registry[in.Kind()]; ok {
			u.Produces, u.Declared, _ = kit.Declares(k, in.Params(), nil)
		}
		out = append(out, u)
	}
	return out
}

// store encodes and stores an output, and records it for the manifest.
func (e *jobEnv) store(name string, rec arrow.Record, schema string) error {
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
	plain, err := store.EncodeTable(rec, nil)
	if err != nil {
		return fmt.Errorf("output %q: %w", name, err)
	}
	var params bytes.Buffer
	if err := json.Compact(&params, e.job.Params); err != nil {
		return fmt.Errorf("output %q: params: %w", name, err)
	}
	// Everything in the file is a function of the key (the kind, params,
	// seeds and code it hashes): several points can share a key (the same
	// computation declared twice), and the file must not depend on which
	// of them ran first. The points that use a key are in the refs.
	meta := map[string]string{
		"bfc.key": e.job.Key.String(), "bfc.kind": e.job.Kind, "bfc.output": name,
		"bfc.params": params.String(), "bfc.seed": fmt.Sprint(e.job.Seed), "bfc.master_seed": fmt.Sprint(e.job.MasterSeed),
	}
	if schema != "" {
		meta["bfc.schema"] = schema
	}
	full, err := store.EncodeTable(rec, meta)
	if err != nil {
		return fmt.Errorf("output %q: %w", name, err)
	}
	h, err := e.st.PutObject(full)
	if err != nil {
		return fmt.Errorf("output %q: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.outputs = append(e.outputs, store.Output{Name: name, File: h, Data: id.DataOf(plain), Size: int64(len(full)), Rows: rec.NumRows()})
	store.FaultPoint("output-written")
	return nil
}

// Publish stores a file for the project's figures or paper directory as
// the output "publish.DIR.NAME" (see store.PublishedFile).
func (e *jobEnv) Publish(dir kit.PublishDir, name string, data []byte) error {
	if dir != kit.Figures && dir != kit.Paper {
		return fmt.Errorf("publish %s: unknown directory %q", name, dir)
	}
	if !plainNameRE.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("publish: %q is not a plain file name", name)
	}
	rec, err := kit.NewTable().String("dir", []string{string(dir)}).String("name", []string{name}).Binary("bytes", [][]byte{data}).Record()
	if err != nil {
		return err
	}
	defer rec.Release()
	return e.store(store.PublishPrefix+string(dir)+"."+name, rec, "")
}

// ReadFile reads a declared file, named as the kind declared it (or by
// its absolute path), and checks it still has the content the key was
// computed from.
func (e *jobEnv) ReadFile(path string) ([]byte, error) {
	i := slices.IndexFunc(e.job.Files, func(f graph.FileRef) bool { return f.Path == path || f.Abs == path })
	if i < 0 {
		return nil, fmt.Errorf("read %s: the kind did not declare this file (kit.Filer)", path)
	}
	f := e.job.Files[i]
	b, err := os.ReadFile(f.Abs)
	if err != nil {
		return nil, err
	}
	want, ok := findComponent(e.job.Components, "file:"+f.Path)
	if !ok || id.HexSum(b) != want.Value {
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
	st     *store.Store
	in     *JobInput
	params kit.Params
}

func (i *jobInput) Kind() string              { return i.in.Kind }
func (i *jobInput) Labels() map[string]string { return maps.Clone(i.in.Labels) }
func (i *jobInput) Params() kit.Params        { return i.params }
func (i *jobInput) Seed() int64               { return i.in.Seed }
func (i *jobInput) Key() string               { return i.in.Key.String() }
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
		rec, _, err := store.DecodeTable(b)
		if err != nil {
			return nil, fmt.Errorf("input %s output %s: %w", i.in.Point, name, err)
		}
		return rec, nil
	}
	return nil, fmt.Errorf("input %s has no output %q (has %v)", i.in.Point, name, i.Outputs())
}

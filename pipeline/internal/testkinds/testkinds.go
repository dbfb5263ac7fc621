// Package testkinds holds tiny stage kinds for the engine's tests: "src"
// writes a table computed from its params (and fails, panics or writes a
// wrong table on request), "file" reads a file, "read" reads a table it
// names from its inputs (to test wiring), "search" searches over dynamic
// probes of src, "prober" probes what it is told, and sum.Kind (in a separate package, so that its code
// identity is separate) adds up its inputs. Every execution is counted.
package testkinds

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/bfc-repro/bfc/stages/kit"
)

var (
	mu     sync.Mutex
	counts = map[string]int{}
	// Gate, if set, is called at the start of every Run (tests use it to
	// hold a stage open while they do something else).
	Gate func(kind string)
)

// Count records one execution of kind.
func Count(kind string) {
	mu.Lock()
	counts[kind]++
	g := Gate
	mu.Unlock()
	if g != nil {
		g(kind)
	}
}

// Runs returns how often kind ran since the last Reset.
func Runs(kind string) int {
	mu.Lock()
	defer mu.Unlock()
	return counts[kind]
}

// Reset clears the counters and the gate.
func Reset() {
	mu.Lock()
	defer mu.Unlock()
	counts = map[string]int{}
	Gate = nil
}

// Src writes v[i] = scale*i + noise_i for i < n, noise from the seed.
type Src struct{}

func (Src) Name() string { return "src" }
func (Src) Doc() string  { return "test source" }
func (Src) Params() []kit.Param {
	return []kit.Param{
		kit.IntParam("n", 4, "rows").In(1, 1000),
		kit.FloatParam("scale", 1, "slope").In(-100, 100),
		kit.StringParam("label", "x", "a label that does not change the output"),
		kit.StringParam("mode", "ok", "ok, error, panic or nan; nonconforming or undeclared write a table against the declared schema").
			OneOf("ok", "error", "panic", "nan", "nonconforming", "undeclared"),
	}
}

func (Src) Run(env kit.Env) error {
	Count("src")
	p := env.Params()
	switch p.String("mode") {
	case "error":
		return errors.New("asked to fail")
	case "panic":
		panic("asked to panic")
	}
	rng := kit.RNG(env.Seed(), "src")
	v := make([]float64, p.Int("n"))
	for i := range v {
		v[i] = p.Float("scale")*float64(i) + rng.Float64()
	}
	if p.String("mode") == "nan" {
		v[0] = math.NaN()
		return fmt.Errorf("value 0 is NaN")
	}
	env.Progress(1, 1, "done")
	name, col := "values", "v"
	switch p.String("mode") {
	case "nonconforming":
		col = "w"
	case "undeclared":
		name = "extra"
	}
	rec, err := kit.NewTable().Float64(col, v).Record()
	if err != nil {
		return err
	}
	return env.Write(name, rec)
}

// ValuesTable is the one table src writes.
var ValuesTable = kit.TableDesc{Kind: "src", Version: 1, Name: "values", Columns: []kit.ColumnDesc{{Name: "v", Type: kit.ColFloat64}}}

// Produces declares the table src writes.
func (Src) Produces(kit.Params) []kit.TableDesc { return []kit.TableDesc{ValuesTable} }

// Read is a consumer of the table its params name, for the wiring tests:
// it reads column of src's table values at version (required unless
// optional is set), or its first values, and writes how many values it
// read. first may not exceed a src input's n (kit.InputChecker).
type Read struct{}

func (Read) Name() string { return "read" }
func (Read) Doc() string  { return "test consumer" }
func (Read) Params() []kit.Param {
	return []kit.Param{
		kit.StringParam("column", "v", "column of src/values to read"),
		kit.IntParam("version", 1, "schema version of src/values read").In(1, 9),
		kit.BoolParam("optional", false, "read src/values only if an input writes it"),
		kit.IntParam("first", 0, "read only the first values of each input (0: all)").In(0, 1000),
	}
}

// CheckInputs implements kit.InputChecker: first is at most each src
// input's n.
func (Read) CheckInputs(p kit.Params, inputs []kit.InputParams) error {
	for _, in := range inputs {
		if in.Kind == "src" && p.Int("first") > in.Params.Int("n") {
			return kit.Errorf("first", "%d is more than the %d values of input %s", p.Int("first"), in.Params.Int("n"), in.Point)
		}
	}
	return nil
}

// Consumes declares what read reads.
func (Read) Consumes(p kit.Params) []kit.TableNeed {
	return []kit.TableNeed{{Kind: "src", Version: p.Int("version"), Name: "values", Optional: p.Bool("optional"),
		Columns: []kit.ColumnDesc{{Name: p.String("column"), Type: kit.ColFloat64}}}}
}

func (Read) Run(env kit.Env) error {
	Count("read")
	n := 0
	for _, in := range kit.InputsOfKind(env, "src") {
		rec, err := in.Read("values")
		if err != nil {
			return err
		}
		v, err := kit.ReadFloat64s(rec, env.Params().String("column"))
		rec.Release()
		if err != nil {
			return err
		}
		if f := env.Params().Int("first"); f > 0 {
			v = v[:f]
		}
		n += len(v)
	}
	rec, err := kit.NewTable().Int64("n", []int64{int64(n)}).Record()
	if err != nil {
		return err
	}
	return env.Write("count", rec)
}

// File reads the file named by its param path (kit.Filer).
type File struct{}

func (File) Name() string { return "file" }
func (File) Doc() string  { return "test file reader" }
func (File) Params() []kit.Param {
	return []kit.Param{kit.StringParam("path", "data.txt", "file to read")}
}
func (File) Files(p kit.Params) []string { return []string{p.String("path")} }
func (File) Run(env kit.Env) error {
	Count("file")
	b, err := env.ReadFile(env.Params().String("path"))
	if err != nil {
		return err
	}
	rec, err := kit.NewTable().Int64("bytes", []int64{int64(len(b))}).Record()
	if err != nil {
		return err
	}
	return env.Write("values", rec)
}

// Typed is a kind with one parameter of every type, for the fuzz tests of
// the loader and of job files.
type Typed struct{}

func (Typed) Name() string { return "k" }
func (Typed) Doc() string  { return "" }
func (Typed) Params() []kit.Param {
	return []kit.Param{
		kit.IntParam("n", 1, "").In(0, 100),
		kit.FloatParam("x", 0.5, "").In(0, 1),
		kit.StringParam("s", "a", "").OneOf("a", "b"),
		kit.BoolParam("b", false, ""),
		kit.FloatsParam("xs", []float64{1}, "").NonEmpty(1),
	}
}
func (Typed) Run(kit.Env) error { return nil }

// Search is a test of dynamic probes (kit.Env.Probe) shaped like the
// adaptive sample-size search of claim 4: the "error" of src at n rows is
// 100/n, computed from the rows a probe of src wrote; Search doubles n
// from n0 until the error is at most threshold, then bisects until the
// smallest passing n is bracketed within ratio, and writes what it found
// and how many probes it used. Each probe is a src point with that n (and
// the search's seed).
type Search struct{}

func (Search) Name() string { return "search" }
func (Search) Doc() string  { return "test adaptive search over probes of src" }
func (Search) Params() []kit.Param {
	return []kit.Param{
		kit.FloatParam("threshold", 1, "largest acceptable error 100/n").In(0.1, 100),
		kit.FloatParam("ratio", 1.25, "bracket the smallest passing n within this ratio").In(1.01, 4),
		kit.IntParam("n0", 2, "first n tried").In(1, 1000),
	}
}

// Produces declares the table search writes.
func (Search) Produces(kit.Params) []kit.TableDesc { return []kit.TableDesc{SearchTable} }

// SearchTable is the one table search writes: the bracket and the probes.
var SearchTable = kit.TableDesc{Kind: "search", Version: 1, Name: "found", Columns: []kit.ColumnDesc{
	{Name: "lo", Type: kit.ColInt64}, {Name: "hi", Type: kit.ColInt64}, {Name: "probes", Type: kit.ColInt64}}}

func (Search) Run(env kit.Env) error {
	Count("search")
	p := env.Params()
	thr, ratio := p.Float("threshold"), p.Float("ratio")
	probes := 0
	pass := func(n int) (bool, error) {
		probes++
		in, err := env.Probe("src", map[string]any{"n": n}, nil)
		if err != nil {
			return false, err
		}
		rec, err := in.Read("values")
		if err != nil {
			return false, err
		}
		defer rec.Release()
		return 100/float64(rec.NumRows()) <= thr, nil
	}
	lo, hi := 0, p.Int("n0")
	for {
		ok, err := pass(hi)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if hi >= 1000 {
			return fmt.Errorf("no n up to 1000 reaches error %g", thr)
		}
		lo, hi = hi, min(2*hi, 1000)
	}
	for lo > 0 && float64(hi) > ratio*float64(lo) && hi-lo > 1 {
		mid := (lo + hi) / 2
		ok, err := pass(mid)
		if err != nil {
			return err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
		env.Progress(probes, probes+1, fmt.Sprintf("bracket [%d, %d]", lo, hi))
	}
	rec, err := kit.NewTable().Int64("lo", []int64{int64(lo)}).Int64("hi", []int64{int64(hi)}).Int64("probes", []int64{int64(probes)}).Record()
	if err != nil {
		return err
	}
	return env.Write("found", rec)
}

// Prober probes the kind its params name with the params they give (a
// JSON object; integers stay integers), passing its own inputs when
// with_inputs is set, or itself with its own params when self is set, and
// writes how many rows the probe's first output
// has: for testing what Probe accepts and refuses.
type Prober struct{}

func (Prober) Name() string { return "prober" }
func (Prober) Doc() string  { return "test kind that probes what it is told" }
func (Prober) Params() []kit.Param {
	return []kit.Param{
		kit.StringParam("kind", "src", "kind to probe"),
		kit.StringParam("params", "{}", "params of the probe, a JSON object"),
		kit.BoolParam("with_inputs", false, "pass this point's inputs to the probe"),
		kit.BoolParam("self", false, "probe prober with these very params instead (a cycle)"),
	}
}

func (Prober) Run(env kit.Env) error {
	Count("prober")
	p := env.Params()
	dec := json.NewDecoder(strings.NewReader(p.String("params")))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	for k, v := range raw {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				raw[k] = i
			} else {
				raw[k], _ = n.Float64()
			}
		}
	}
	var ins []kit.Input
	if p.Bool("with_inputs") {
		ins = env.Inputs()
	}
	kind := p.String("kind")
	if p.Bool("self") {
		kind, raw = "prober", map[string]any{}
		for n, v := range p {
			raw[n] = v
		}
	}
	in, err := env.Probe(kind, raw, ins)
	if err != nil {
		return err
	}
	rec, err := in.Read(in.Outputs()[0])
	if err != nil {
		return err
	}
	n := rec.NumRows()
	rec.Release()
	out, err := kit.NewTable().Int64("rows", []int64{n}).Record()
	if err != nil {
		return err
	}
	return env.Write("rows", out)
}

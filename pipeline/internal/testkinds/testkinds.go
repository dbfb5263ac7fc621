// Package testkinds holds tiny stage kinds for the engine's tests: "src"
// writes a table computed from its params (and fails, panics or writes a
// wrong table on request), "file" reads a file, "read" reads a table it
// names from its inputs (to test wiring), and sum.Kind (in a separate
// package, so that its code identity is separate) adds up its inputs.
// Every execution is counted.
package testkinds

import (
	"errors"
	"fmt"
	"math"
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

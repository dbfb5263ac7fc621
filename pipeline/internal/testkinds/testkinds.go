// Package testkinds holds tiny stage kinds for the engine's tests: "src"
// writes a table computed from its params, "fail" fails on request, and
// sum.Kind (in a separate package, so that its code identity is separate)
// adds up its inputs. Every execution is counted.
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
		kit.StringParam("mode", "ok", "ok, error, panic or nan").OneOf("ok", "error", "panic", "nan"),
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
	rec, err := kit.NewTable().Float64("v", v).Record()
	if err != nil {
		return err
	}
	return env.Write("values", rec)
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

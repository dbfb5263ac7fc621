package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kit"
)

// fuzzKind is a kind with one parameter of every type, for the loader fuzz.
type fuzzKind struct{}

func (fuzzKind) Name() string { return "k" }
func (fuzzKind) Doc() string  { return "" }
func (fuzzKind) Params() []kit.Param {
	return []kit.Param{
		kit.IntParam("n", 1, "").In(0, 100),
		kit.FloatParam("x", 0.5, "").In(0, 1),
		kit.StringParam("s", "a", "").OneOf("a", "b"),
		kit.BoolParam("b", false, ""),
		kit.FloatsParam("xs", []float64{1}, "").NonEmpty(1),
	}
}
func (fuzzKind) Run(kit.Env) error { return nil }

var fuzzSeeds = []string{
	"[stage.a]\nkind = \"k\"\nparams = { n = 3, x = 0.1 }\ngrid = { seed = [1, 2], s = [\"a\", \"b\"] }\n[stage.b]\nkind = \"k\"\ninputs = [\"a\"]\n[profile.p.kind.k]\nn = 4\n",
	"[pipeline]\nseed = 1\nstore = \".s\"\n[stage.x]\nkind = \"k\"\n[stage.x.params]\nxs = [1.0, 2]\n",
	"[stage.a]\nkind = \"k\"\ngather = [\"b\"]\n[stage.b]\nkind = \"k\"\ninputs = [\"a\"]\n",
	"a = \"\"\"\nmulti\n\"\"\"\n[stage.'q']\nkind='k'\n",
	"[[stage]]\nkind = 1\n",
	"[stage.a]\nkind = \"k\"\nparams = { n = { deep = { deeper = [1, [2, {a = 1}]] } } }\n",
}

// FuzzLoad checks that the loader never panics and that every rejection
// is one ConfigError naming the file, on one line.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	kinds := NewRegistry(fuzzKind{})
	f.Fuzz(func(t *testing.T, src string) {
		locateKeys([]byte(src))
		cfg, err := parseConfig("pipeline.toml", []byte(src))
		if err == nil {
			_, err = Build(cfg, kinds, "")
			for name := range cfg.Profiles {
				if err != nil {
					break
				}
				_, err = Build(cfg, kinds, name)
			}
		}
		if err == nil {
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("error is not a ConfigError: %v", err)
		}
		if ce.File != "pipeline.toml" || !strings.HasPrefix(err.Error(), "pipeline.toml") {
			t.Fatalf("error does not name the file: %v", err)
		}
		if strings.Contains(ce.Field+ce.Msg, "\n") && !strings.Contains(ce.Msg, "TOML") {
			t.Fatalf("multi-line error: %q", err)
		}
	})
}

// FuzzJob checks that a damaged job file is an error, never a panic.
func FuzzJob(f *testing.F) {
	f.Add([]byte(`{"format":1,"key":"` + strings.Repeat("a", 64) + `","params":{"n":1}}`))
	f.Add([]byte(`{"format":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeParams(fuzzKind{}.Params(), b)
	})
}

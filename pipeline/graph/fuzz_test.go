package graph

import (
	"errors"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
)

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
	kinds := NewRegistry(testkinds.Typed{})
	f.Fuzz(func(t *testing.T, src string) {
		cfg, err := config.Parse("pipeline.toml", []byte(src))
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
		var ce *config.ConfigError
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

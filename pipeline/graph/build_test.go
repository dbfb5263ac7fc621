package graph_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/internal/enginetest"
)

var kinds = enginetest.Kinds

// buildFile parses and builds src as pipeline.toml in a fresh directory,
// reporting the problems of both steps (as bfc does).
func buildFile(t *testing.T, src, profile string) (*graph.Graph, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "pipeline.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, perr := config.ParseFile(path)
	if cfg == nil {
		return nil, perr
	}
	g, err := graph.Build(cfg, kinds, profile)
	if err := config.Collect(path, perr, err); err != nil {
		return nil, err
	}
	return g, nil
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want string // substring of the error, after "pipeline.toml:"
	}{
		{"syntax", "[stage.a]\nkind = \"src\"\nparams = { n = }\n", "pipeline.toml:3: TOML syntax error"},
		{"unknown kind", "[stage.a]\nkind = \"srx\"\n", `pipeline.toml:2: stage.a.kind: unknown stage kind "srx" (did you mean "src"?)`},
		{"unknown param", "[stage.a]\nkind = \"src\"\n\n[stage.a.params]\nn = 3\nscal = 2.0\n", `pipeline.toml:6: stage.a.params.scal: unknown parameter of kind "src" (did you mean "scale"?)`},
		{"wrong type", "[stage.a]\nkind = \"src\"\nparams = { n = \"three\" }\n", `pipeline.toml:3: stage.a.params.n: want an integer, have the string "three"`},
		{"float for int", "[stage.a]\nkind = \"src\"\nparams = { n = 3.0 }\n", "pipeline.toml:3: stage.a.params.n: want an integer, have the float 3 (write 3)"},
		{"out of range", "[stage.a]\nkind = \"src\"\nparams = { n = 0 }\n", "pipeline.toml:3: stage.a.params.n: 0 is out of range [1, 1000]"},
		{"bad enum", "[stage.a]\nkind = \"src\"\nparams = { mode = \"fast\" }\n", `pipeline.toml:3: stage.a.params.mode: "fast" is not one of "ok", "error", "panic", "nan"`},
		{"missing input", "[stage.a]\nkind = \"src\"\n[stage.b]\nkind = \"sum\"\ninputs = [\"aa\"]\n", `pipeline.toml:5: stage.b.inputs: no stage "aa" (did you mean "a"?)`},
		{"duplicate id", "[stage.a]\nkind = \"src\"\n[stage.a]\nkind = \"src\"\n", "pipeline.toml:3: TOML syntax error"},
		{"cycle", "[stage.a]\nkind = \"sum\"\ninputs = [\"c\"]\n[stage.b]\nkind = \"sum\"\ninputs = [\"a\"]\n[stage.c]\nkind = \"sum\"\ninputs = [\"b\"]\n", "stage.a.inputs: cycle: a -> b -> c -> a"},
		{"self input", "[stage.a]\nkind = \"sum\"\ninputs = [\"a\"]\n", "pipeline.toml:3: stage.a.inputs: stage a lists itself as an input"},
		{"empty grid", "[stage.a]\nkind = \"src\"\ngrid = { seed = [] }\n", "pipeline.toml:3: stage.a.grid.seed: grid axis is empty"},
		{"grid not a param", "[stage.a]\nkind = \"src\"\n[stage.a.grid]\nsede = [1, 2]\n", `pipeline.toml:4: stage.a.grid.sede: grid axis must be "seed" or a parameter of kind "src" (did you mean "seed"?)`},
		{"grid value out of range", "[stage.a]\nkind = \"src\"\ngrid = { n = [2, 5000] }\n", "pipeline.toml:3: stage.a.grid.n: value 5000: 5000 is out of range [1, 1000]"},
		{"unknown stage field", "[stage.a]\nkind = \"src\"\ninptus = []\n", `pipeline.toml:3: stage.a.inptus: unknown field in [stage.a] (did you mean "inputs"?)`},
		{"missing kind", "[stage.a]\nparams = { n = 2 }\n", "pipeline.toml:1: stage.a.kind: missing"},
		{"bad id", "[stage.\"../x\"]\nkind = \"src\"\n", `pipeline.toml:1: stage.../x: stage id "../x"`},
		{"unknown top level", "[pipline]\nseed = 1\n[stage.a]\nkind = \"src\"\n", `pipeline.toml:1: pipline: unknown field in the top level (did you mean "pipeline"?)`},
		{"figures outside", "[pipeline]\nfigures = \"../elsewhere\"\n[stage.a]\nkind = \"src\"\n", "pipeline.toml:2: pipeline.figures: \"../elsewhere\" leads outside the project"},
		{"profile unknown stage", "[stage.a]\nkind = \"src\"\n[profile.p.stage.b]\nparams = { n = 2 }\n", "profile.p.stage.b: no stage \"b\" to override"},
		{"profile bad value", "[stage.a]\nkind = \"src\"\n[profile.p.kind.src]\nn = -1\n", "pipeline.toml:4: profile.p.kind.src.n: -1 is out of range"},
		{"empty pipeline", "[pipeline]\nseed = 1\n", "no [stage.ID] tables"},
		{"enum did you mean", "[stage.a]\nkind = \"src\"\nparams = { mode = \"panik\" }\n", `"panik" is not one of "ok", "error", "panic", "nan", "nonconforming", "undeclared" (did you mean "panic"?)`},
		{"more than the input has", "[stage.a]\nkind = \"src\"\nparams = { n = 5 }\n[stage.b]\nkind = \"read\"\ninputs = [\"a\"]\nparams = { first = 6 }\n", "pipeline.toml:7: stage.b.params.first: 6 is more than the 5 values of input a"},
		{"more than the input has, in a grid", "[stage.a]\nkind = \"src\"\ngrid = { n = [5, 10] }\n[stage.b]\nkind = \"read\"\ninputs = [\"a\"]\ngrid = { first = [6] }\n", "pipeline.toml:7: stage.b.grid.first: value 6: 6 is more than the 5 values of input a[n=5]"},
		{"inherited axis redefined", "[stage.a]\nkind = \"src\"\ngrid = { seed = [1, 2] }\n[stage.b]\nkind = \"sum\"\ninputs = [\"a\"]\ngrid = { seed = [3] }\n", "pipeline.toml:7: stage.b.grid.seed: axis seed already comes from an input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			profile := ""
			if strings.HasPrefix(c.name, "profile") {
				profile = "p"
			}
			_, err := buildFile(t, c.src, profile)
			if err == nil {
				t.Fatalf("no error; want %q", c.want)
			}
			var ce *config.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a ConfigError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error\n  %s\nwant it to contain\n  %s", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans several lines: %q", err)
			}
		})
	}
}

func TestGridJoinAndGather(t *testing.T) {
	src := `
[stage.data]
kind = "src"
grid = { seed = [1, 2], n = [3, 4] }

[stage.model]
kind = "sum"
inputs = ["data"]
grid = { offset = [0.5, 1.0] }

[stage.per_n]
kind = "sum"
gather = ["model"]
inputs = ["other"]

[stage.other]
kind = "src"
grid = { n = [3, 4] }

[stage.fig]
kind = "sum"
gather = ["model"]
`
	g, err := buildFile(t, src, "")
	if err != nil {
		t.Fatal(err)
	}
	count := func(id string) int { s, _ := g.Stage(id); return len(s.Points) }
	if count("data") != 4 || count("model") != 8 || count("other") != 2 || count("per_n") != 2 || count("fig") != 1 {
		t.Fatalf("points: data %d model %d other %d per_n %d fig %d; want 4 8 2 2 1",
			count("data"), count("model"), count("other"), count("per_n"), count("fig"))
	}
	p, ok := g.Point("model[n=3,offset=0.5,seed=2]")
	if !ok {
		t.Fatal("point model[n=3,offset=0.5,seed=2] missing")
	}
	if len(p.Inputs) != 1 || p.Inputs[0].ID != "data[n=3,seed=2]" || p.Seed != 2 {
		t.Fatalf("model point inputs %v seed %d", p.Inputs, p.Seed)
	}
	if p.Params.Float("offset") != 0.5 {
		t.Fatalf("offset %v, want 0.5", p.Params.Float("offset"))
	}
	q, _ := g.Point("per_n[n=4]")
	// per_n[n=4] maps other[n=4] and gathers the 4 model points with n=4.
	if len(q.Inputs) != 5 || q.Inputs[0].ID != "other[n=4]" {
		t.Fatalf("per_n[n=4] inputs: %d, first %s", len(q.Inputs), q.Inputs[0].ID)
	}
	for _, in := range q.Inputs[1:] {
		if in.Labels["n"] != "4" {
			t.Fatalf("per_n[n=4] gathered %s", in.ID)
		}
	}
	f, _ := g.Point("fig")
	if len(f.Inputs) != 8 {
		t.Fatalf("fig gathered %d points, want 8", len(f.Inputs))
	}
}

func TestProfileKindParamsSkipGridAxes(t *testing.T) {
	src := "[stage.a]\nkind = \"src\"\ngrid = { n = [3, 4] }\n[stage.b]\nkind = \"src\"\n[profile.p.kind.src]\nn = 2\n"
	g, err := buildFile(t, src, "p")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := g.Stage("a")
	b, _ := g.Stage("b")
	if len(a.Points) != 2 || a.Points[0].Params.Int("n") != 3 || b.Points[0].Params.Int("n") != 2 {
		t.Fatalf("a has %d points (n=%d), b has n=%d; want the grid to win for a and the profile for b",
			len(a.Points), a.Points[0].Params.Int("n"), b.Points[0].Params.Int("n"))
	}
}

// TestBuildLeavesTheConfigAlone builds a parsed file under a profile that
// changes directories, params and grids, and checks that the config is
// deeply equal to a fresh parse afterwards, while the graph has the
// profile's values.
func TestBuildLeavesTheConfigAlone(t *testing.T) {
	src := "[stage.a]\nkind = \"src\"\ngrid = { n = [3, 4] }\n[stage.b]\nkind = \"src\"\n[profile.p]\npipeline = { figures = \"p/figures\" }\nkind.src = { scale = 3.0 }\nstage.a = { grid = { n = [5] } }\n"
	path := filepath.Join(t.TempDir(), "pipeline.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := config.ParseFile(path)
	g, err := graph.Build(cfg, kinds, "p")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, fresh) {
		t.Fatal("Build modified the config it was given")
	}
	a, _ := g.Stage("a")
	if g.Config == cfg || g.Config.Figures != filepath.Join(cfg.Dir, "p", "figures") || len(a.Points) != 1 || a.Points[0].Params.Float("scale") != 3 {
		t.Fatalf("graph under the profile: figures %s, %d points of a", g.Config.Figures, len(a.Points))
	}
}

// TestAllErrorsAtOnce checks that one pass reports every problem of a
// file, each once, in line order, and none that only echoes another (the
// dependents of a stage with an unknown kind).
func TestAllErrorsAtOnce(t *testing.T) {
	src := `[pipeline]
sed = 1
[stage.a]
kind = "src"
params = { n = 0, scal = 2.0, mode = "fats" }
[stage.b]
kind = "srx"
[stage.c]
kind = "sum"
inputs = ["b"]
[stage.d]
kind = "sum"
inputs = ["nope"]
[stage.e]
kind = "src"
grid = { n = [2, 2000, 3000] }
[profile.p.kind.srcc]
n = 1
`
	_, err := buildFile(t, src, "p")
	want := []string{
		`pipeline.toml:2: pipeline.sed: unknown field in [pipeline] (did you mean "seed"?)`,
		`pipeline.toml:5: stage.a.params.scal: unknown parameter of kind "src" (did you mean "scale"?)`,
		`pipeline.toml:5: stage.a.params.n: 0 is out of range [1, 1000]`,
		`pipeline.toml:5: stage.a.params.mode: "fats" is not one of`,
		`pipeline.toml:7: stage.b.kind: unknown stage kind "srx" (did you mean "src"?)`,
		`pipeline.toml:13: stage.d.inputs: no stage "nope"`,
		`pipeline.toml:16: stage.e.grid.n: value 2000: 2000 is out of range [1, 1000]`,
		`pipeline.toml:16: stage.e.grid.n: value 3000: 3000 is out of range [1, 1000]`,
		`pipeline.toml:17: profile.p.kind.srcc: unknown stage kind "srcc" (did you mean "src"?)`,
	}
	var list config.Errors
	if !errors.As(err, &list) {
		t.Fatalf("error %v is not a config.Errors", err)
	}
	if len(list) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(list), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(list[i].Error(), w) {
			t.Errorf("error %d:\n  %s\nwant it to contain\n  %s", i, list[i], w)
		}
	}
	if strings.Contains(err.Error(), "stage.c") {
		t.Errorf("the dependent of a broken stage is reported: %v", err)
	}
}

package config_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/pipeline/config"
)

const profiled = `
[pipeline]
name = "p"
seed = 7

[stage.a]
kind = "src"
params = { n = 5, scale = 2.0 }
grid = { seed = [1, 2] }

[stage.b]
kind = "src"
params = { n = 3 }
grid = { scale = [1.0, 3.0] }

[profile.small]
pipeline = { store = ".small", figures = "small/figures" }
kind.src = { n = 2, scale = 9.0 }
stage.a = { params = { n = 1 }, grid = { seed = [4] } }
`

func parse(t *testing.T, src string) *config.Config {
	t.Helper()
	c, err := config.Parse(filepath.Join(t.TempDir(), "pipeline.toml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestApplyIsPure applies a profile and checks that the config it was
// given is deeply equal to a second parse of the same file afterwards, while
// the result carries the overrides.
func TestApplyIsPure(t *testing.T) {
	c := parse(t, profiled)
	untouched, err := config.Parse(c.File, []byte(profiled))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Apply("small", []string{"src"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, untouched) {
		t.Fatalf("Apply modified its input:\n%+v\nwant\n%+v", c, untouched)
	}
	if got.Applied != "small" || got.Store != filepath.Join(c.Dir, ".small") || got.Figures != filepath.Join(c.Dir, "small", "figures") || got.Paper != c.Paper {
		t.Fatalf("directories under the profile: store %s figures %s paper %s (applied %q)", got.Store, got.Figures, got.Paper, got.Applied)
	}
	// Applying twice gives equal configs: nothing leaks between calls.
	again, err := c.Apply("small", []string{"src"})
	if err != nil || !reflect.DeepEqual(got, again) {
		t.Fatalf("a second Apply differs: %v", err)
	}
	if none, _ := c.Apply("", nil); none.Stages[0] == c.Stages[0] {
		t.Fatal(`Apply("") shares stage declarations with its input`)
	}
}

func TestApplyPrecedence(t *testing.T) {
	c := parse(t, profiled)
	got, err := c.Apply("small", []string{"src"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		stage, param string
		want         any
		source       string
	}{
		{"a", "n", int64(1), "profile.small.stage.a.params.n"},     // stage params win over kind params
		{"a", "scale", 9.0, "profile.small.kind.src.scale"},        // kind params win over the base
		{"b", "n", int64(2), "profile.small.kind.src.n"},           // kind params apply to every stage of the kind
		{"b", "scale", nil, ""},                                    // but skip a stage's grid axes,
		{"b", "grid:scale", nil, "stage.b.grid.scale"},             // which keep their source
		{"a", "grid:seed", nil, "profile.small.stage.a.grid.seed"}, // a stage's grid axis is replaced
	}
	for _, tc := range cases {
		t.Run(tc.stage+"."+tc.param, func(t *testing.T) {
			var d *config.StageDecl
			for _, s := range got.Stages {
				if s.ID == tc.stage {
					d = s
				}
			}
			if tc.want != nil && d.Params[tc.param] != tc.want {
				t.Errorf("param %s = %v, want %v", tc.param, d.Params[tc.param], tc.want)
			}
			if tc.want == nil {
				if _, set := d.Params[tc.param]; set {
					t.Errorf("param %s set to %v, want it left to the grid", tc.param, d.Params[tc.param])
				}
			}
			if src, _ := d.Source(tc.param); src != tc.source {
				t.Errorf("source of %s = %q, want %q", tc.param, src, tc.source)
			}
		})
	}
	if a := got.Stages[0]; len(a.Grid) != 1 || len(a.Grid[0].Values) != 1 || a.Grid[0].Values[0] != int64(4) {
		t.Fatalf("grid of a under the profile: %+v", a.Grid)
	}
}

func TestApplyErrors(t *testing.T) {
	cases := []struct {
		name, profile, src, want string
	}{
		{"unknown profile", "smal", profiled, `pipeline.toml: --profile: no [profile.smal] in the file (did you mean "small"?)`},
		{"unknown kind", "p", "[stage.a]\nkind = \"src\"\n[profile.p.kind.srx]\nn = 1\n", `pipeline.toml:3: profile.p.kind.srx: unknown stage kind "srx" (did you mean "src"?)`},
		{"unknown stage", "p", "[stage.a]\nkind = \"src\"\n[profile.p.stage.b]\nparams = { n = 2 }\n", `pipeline.toml:3: profile.p.stage.b: no stage "b" to override`},
		{"figures outside", "p", "[stage.a]\nkind = \"src\"\n[profile.p]\npipeline = { figures = \"../x\" }\n", `pipeline.toml:4: profile.p.pipeline.figures: "../x" leads outside the project`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := parse(t, tc.src)
			_, err := c.Apply(tc.profile, []string{"src"})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if got := err.Error(); !strings.Contains(got, tc.want) {
				t.Fatalf("error %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

package graph_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/pipeline/config"
)

// TestWiringIsCheckedAtBuild builds pipelines whose consumer (kind "read",
// which reads column v of src's table values@v1) is wired right and wrong,
// and checks that each wrong wiring is a config error at the line of the
// field at fault, before anything runs.
func TestWiringIsCheckedAtBuild(t *testing.T) {
	const srcs = "[stage.s]\nkind = \"src\"\n\n[stage.t]\nkind = \"sum\"\ngather = [\"s\"]\n\n"
	cases := []struct {
		name  string
		stage string
		want  string // "" = builds
	}{
		{"reads its src input", "[stage.r]\nkind = \"read\"\ninputs = [\"s\"]\n", ""},
		{"gathers src", "[stage.r]\nkind = \"read\"\ngather = [\"s\"]\n", ""},
		{"optional need without a src input", "[stage.r]\nkind = \"read\"\ninputs = [\"t\"]\nparams = { optional = true }\n", ""},
		{"no src input", "[stage.r]\nkind = \"read\"\ninputs = [\"t\"]\n",
			"pipeline.toml:10: stage.r.inputs: r reads table src/values@v1, but no input is of kind src (inputs: t (sum))"},
		{"gathers no src", "[stage.r]\nkind = \"read\"\ngather = [\"t\"]\n",
			"pipeline.toml:10: stage.r.gather: r reads table src/values@v1, but no input is of kind src (inputs: t (sum))"},
		{"undeclared column", "[stage.r]\nkind = \"read\"\ninputs = [\"s\"]\nparams = { column = \"w\" }\n",
			`pipeline.toml:10: stage.r.inputs: r reads column "w" of table src/values@v1, which input s does not declare`},
		{"other schema version", "[stage.r]\nkind = \"read\"\ninputs = [\"s\"]\nparams = { version = 2 }\n",
			"pipeline.toml:10: stage.r.inputs: r reads table src/values@v2, but input s writes src/values@v1"},
		{"fault in gather, not inputs", "[stage.r]\nkind = \"read\"\ninputs = [\"t\"]\n\ngather = [\"s\"]\nparams = { column = \"w\" }\n",
			`pipeline.toml:12: stage.r.gather: r reads column "w" of table src/values@v1, which input s does not declare`},
		{"per point, under its params", "[stage.r]\nkind = \"read\"\ninputs = [\"s\"]\ngrid = { version = [1, 3] }\n",
			"pipeline.toml:10: stage.r.inputs: r[version=3] reads table src/values@v3, but input s writes src/values@v1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := buildFile(t, srcs+c.stage, "")
			if c.want == "" {
				if err != nil {
					t.Fatalf("build: %v", err)
				}
				return
			}
			var ce *config.ConfigError
			if !errors.As(err, &ce) || !strings.HasSuffix(err.Error(), c.want) {
				t.Fatalf("error\n  %v\nwant a ConfigError ending in\n  %s", err, c.want)
			}
		})
	}
}

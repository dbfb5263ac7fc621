package kittest

import (
	"maps"
	"testing"

	"github.com/BurntSushi/toml"
)

// StageParams returns the params table of stage in a pipeline file
// ([stage.NAME.params]), with over replacing some of them: for tests that
// run a kind under the parameters the project declares (the claims
// stage's frozen rules, for instance). A missing or empty table fails the
// test.
func StageParams(t testing.TB, file, stage string, over map[string]any) map[string]any {
	t.Helper()
	var f struct {
		Stage map[string]struct{ Params map[string]any }
	}
	if _, err := toml.DecodeFile(file, &f); err != nil {
		t.Fatal(err)
	}
	p := f.Stage[stage].Params
	if len(p) == 0 {
		t.Fatalf("%s: no [stage.%s.params]", file, stage)
	}
	maps.Copy(p, over)
	return p
}

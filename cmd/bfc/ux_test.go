package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/bundle"
)

// These tests check what a researcher touches every day: asking before
// running, selecting points, scripting with --json and exit codes, and
// bad input reported all at once.

// twoTargets is targets plus a stage whose one point is the same
// computation as a point of tgt (so it shares that point's key).
const twoTargets = targets + `
[stage.again]
kind = "target"
params = { d = 8, n_train = 3000, n_test = 500, norm_samples = 20000, L = 3 }
seed = 1
`

func decode(t *testing.T, r result, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("not JSON (%v): %q; stderr %q", err, r.stdout, r.stderr)
	}
}

func TestAskBeforeTheFirstRun(t *testing.T) {
	dir := newProject(t, twoTargets)
	r := runBFC(t, dir, nil, "status")
	if r.code != 1 || !regexp.MustCompile(`(?m)^tgt\s+target\s+8\s+0\s+0\s+8$`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, "no store at") || !strings.Contains(r.stdout, "9 points: 0 fresh, 0 stale, 9 missing") {
		t.Fatalf("status before the first run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "8 distinct keys: 1 points share their key with another point (the same computation, stored once; e.g. tgt[L=3,seed=1] = again)") {
		t.Errorf("status does not explain why there are fewer keys than points:\n%s", r.stdout)
	}
	var st statusJSON
	decode(t, runBFC(t, dir, nil, "status", "--json"), &st)
	if st.StoreExists || st.Total != 9 || st.Missing != 9 || st.DistinctKeys != 8 || len(st.SharedKeys) != 1 ||
		len(st.Stages) != 2 || st.Stages[0].Points != 8 || len(st.Points) != 9 || st.Points[0].Reasons[0] != "never computed (there is no store yet)" {
		t.Fatalf("status --json before the first run: %+v", st)
	}
	if r := runBFC(t, dir, nil, "explain", "tgt[seed=2]"); r.code != 0 || strings.Count(r.stdout, ": missing (key ") != 2 {
		t.Fatalf("explain: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := runBFC(t, dir, nil, "dag"); r.code != 0 || !strings.Contains(r.stdout, "digraph") {
		t.Fatalf("dag: %d %s", r.code, r.stderr)
	}
	r = runBFC(t, dir, nil, "run", "-n")
	if r.code != 0 || len(regexp.MustCompile(`(?m)^would run `).FindAllString(r.stdout, -1)) != 9 || !strings.Contains(r.stdout, "9 points would run, 0 fresh; 9 without an estimate") {
		t.Fatalf("run -n: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".bfc")); !os.IsNotExist(err) {
		t.Fatal("looking before the first run created the store")
	}
}

func TestSelectors(t *testing.T) {
	dir := newProject(t, twoTargets)
	cases := []struct {
		sel  []string
		want string // the points selected, or the error
	}{
		{[]string{"tgt"}, "8 points"},
		{[]string{"tgt[seed=1]"}, "tgt[L=3,seed=1] tgt[L=4,seed=1]"},
		{[]string{"tgt[seed=1,L=4]"}, "tgt[L=4,seed=1]"},
		{[]string{"tgt[L=4,seed=1]"}, "tgt[L=4,seed=1]"},
		{[]string{"tgt[seed=[34]]", "tgt[seed=4]"}, "tgt[L=3,seed=3] tgt[L=3,seed=4] tgt[L=4,seed=3] tgt[L=4,seed=4]"},
		{[]string{"*[L=3,seed=1]"}, "tgt[L=3,seed=1]"},
		{[]string{"ag*"}, "again"},
		{[]string{"tgt[L=5]"}, `error: tgt: no point has L=5 (L: 3, 4)`},
		{[]string{"tgt[x=1]"}, `error: tgt: no axis "x" (axes: L, seed)`},
		{[]string{"tgg"}, `error: no stage matches "tgg" in pipeline.toml (did you mean "tgt"?)`},
		{[]string{"tgt[L=3"}, `error: selector "tgt[L=3": missing the closing ]`},
		{[]string{"again[seed=1]"}, `error: again: no axis "seed" (it has no grid axes)`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.sel, " "), func(t *testing.T) {
			r := runBFC(t, dir, nil, append([]string{"run", "-n", "--json"}, c.sel...)...)
			if msg, isErr := strings.CutPrefix(c.want, "error: "); isErr {
				if r.code != 2 || !strings.Contains(r.stderr, msg) {
					t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, msg)
				}
				return
			}
			var plan planJSON
			decode(t, r, &plan)
			var ids []string
			for _, p := range plan.Run {
				ids = append(ids, p.Point)
			}
			got := strings.Join(ids, " ")
			if strings.HasSuffix(c.want, " points") {
				got = strings.Repeat("x", len(ids))
				c.want = strings.Repeat("x", int(c.want[0]-'0'))
			}
			if got != c.want {
				t.Fatalf("selected %q, want %q", got, c.want)
			}
		})
	}
}

func TestStatusExitCodesForceAndLog(t *testing.T) {
	dir := newProject(t, targets)
	const one = "tgt[seed=1,L=3]"
	if r := runBFC(t, dir, nil, "run", one); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runBFC(t, dir, nil, "status", one); r.code != 0 {
		t.Fatalf("status of a fresh point: exit %d, want 0\n%s", r.code, r.stdout)
	}
	r := runBFC(t, dir, nil, "-v", "status")
	if r.code != 1 || strings.Count(r.stdout, "missing  tgt[") != 7 {
		t.Fatalf("status -v with 7 missing points: exit %d, want 1\n%s", r.code, r.stdout)
	}
	r = runBFC(t, dir, nil, "run", "-n", "tgt[seed=2]")
	if !regexp.MustCompile(`would run\s+tgt\[L=3,seed=2\]\s+~\S+ \(median of 1 runs of tgt\)`).MatchString(r.stdout) {
		t.Errorf("run -n estimates a missing point from its stage's runs:\n%s", r.stdout)
	}
	r = runBFC(t, dir, nil, "run", "--force", one)
	if r.code != 0 || !strings.Contains(r.stderr, "1 ran, 0 cached") || !strings.Contains(r.stderr, "; parallel efficiency ") {
		t.Fatalf("run --force of a fresh point: %d %s", r.code, r.stderr)
	}
	r = runBFC(t, dir, nil, "run", "-n", "--force", one)
	if !regexp.MustCompile(`would run\s+tgt\[L=3,seed=1\]\s+~\S+ \(last run\)\s+--force`).MatchString(r.stdout) {
		t.Errorf("run -n --force: %s", r.stdout)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[stage.a]\nkind = \"target\"\nparams = { d = 1 }\n"), 0o644)
	if r := runBFC(t, dir, nil, "-f", bad, "status"); r.code != 2 {
		t.Fatalf("status of a bad file: exit %d, want 2", r.code)
	}
	var runs []runEntry
	decode(t, runBFC(t, dir, nil, "log", "--json"), &runs)
	if len(runs) != 2 || runs[1].Ran != 1 || runs[1].Exit != 0 || len(runs[1].Points) != 1 || runs[1].Points[0].Point != "tgt[L=3,seed=1]" ||
		runs[1].Points[0].CPUSeconds <= 0 || math.Abs(runs[1].CPUSeconds-runs[1].Points[0].CPUSeconds) > 1e-9 || runs[1].Cores < 1 ||
		math.Abs(runs[1].Efficiency-runs[1].CPUSeconds/(runs[1].RunWallSeconds*float64(runs[1].Cores))) > 1e-9 || runs[1].Host == "" || runs[1].Args[len(runs[1].Args)-1] != one || runs[0].Start > runs[1].Start {
		t.Fatalf("log --json: %+v", runs)
	}
	if r := runBFC(t, dir, nil, "-v", "log"); r.code != 0 || strings.Count(r.stdout, "exit 0") != 2 || !regexp.MustCompile(`cpu \S+\s+eff \d+%`).MatchString(r.stdout) || !strings.Contains(r.stdout, "    ran     tgt[L=3,seed=1]  wall ") {
		t.Fatalf("log -v: %s %s", r.stdout, r.stderr)
	}
	// The store remembers that this file passed under every profile; an
	// edit that breaks a profile that is not selected is still found.
	if _, err := os.Stat(filepath.Join(dir, ".bfc", "validated")); err != nil {
		t.Fatalf("no validation stamp: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(targets+"[profile.small.kind.target]\nn_tset = 5\n"), 0o644)
	r = runBFC(t, dir, nil, "status")
	if want := `bfc: pipeline.toml:11: profile.small.kind.target.n_tset: unknown parameter of kind "target" (did you mean "n_test"?)`; r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Fatalf("a typo in an unselected profile after a stamp: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestJSONOutputs(t *testing.T) {
	dir := newProject(t, targets)
	runBFC(t, dir, nil, "run", "tgt[L=3,seed=1]")
	var kinds []kindJSON
	decode(t, runBFC(t, dir, nil, "kinds", "--json", "target", "sweep"), &kinds)
	if len(kinds) != 2 || kinds[0].Name != "target" || !strings.HasSuffix(kinds[0].Package, "stages/kinds/target") {
		t.Fatalf("kinds --json: %+v", kinds)
	}
	for _, p := range kinds[0].Params {
		if p.Name == "d" && (p.Min == nil || *p.Min != 2 || *p.Max != 4096 || p.Default != 16.0 || p.Required || p.Type != "integer") {
			t.Errorf("kinds --json, target's d: %+v", p)
		}
		if p.Name == "connections" && len(p.Enum) != 3 {
			t.Errorf("kinds --json, target's connections: %+v", p)
		}
	}
	if r := runBFC(t, dir, nil, "kinds", "targt"); r.code != 2 || !strings.Contains(r.stderr, `(did you mean "target"?)`) {
		t.Errorf("kinds of an unknown kind: %d %s", r.code, r.stderr)
	}
	var shown []showJSON
	decode(t, runBFC(t, dir, nil, "show", "--json", "tgt[L=3,seed=1]"), &shown)
	if len(shown) != 1 || len(shown[0].Key) != 64 || shown[0].Run.WallSeconds <= 0 || len(shown[0].Outputs) == 0 ||
		shown[0].Outputs[0].Metadata["bfc.key"] != shown[0].Key || len(shown[0].Outputs[0].Columns) == 0 {
		t.Fatalf("show --json: %+v", shown)
	}
	if want := bundle.CPUModel(); shown[0].Run.CPU != want {
		t.Errorf("show --json: run record names CPU %q, this machine is %q", shown[0].Run.CPU, want)
	}
	var pts []pointJSON
	decode(t, runBFC(t, dir, nil, "explain", "--json", "tgt[seed=1]"), &pts)
	if len(pts) != 2 || pts[0].State != "fresh" || pts[0].Key != shown[0].Key || pts[1].State != "missing" ||
		pts[1].Labels["L"] != "4" || pts[1].Reasons[0] != "never computed" {
		t.Fatalf("explain --json: %+v", pts)
	}
	if r := runBFC(t, dir, nil, "help", "json"); !strings.Contains(r.stdout, "bfc status --json") || !strings.Contains(r.stdout, "bfc log --json") {
		t.Errorf("bfc help json: %s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	r := runBFC(t, t.TempDir(), nil, "--version")
	if r.code != 0 || !regexp.MustCompile(`(?m)^code  [0-9a-f]{24} `).MatchString(r.stdout) || !strings.Contains(r.stdout, "BLAS ") {
		t.Fatalf("--version: %d %q", r.code, r.stdout)
	}
}

// TestBadInputIsReportedAllAtOnce: every problem, in the selected profile
// and in the others, one line each, exit 2, nothing created.
func TestBadInputIsReportedAllAtOnce(t *testing.T) {
	dir := newProject(t, `[pipeline]
seed = 1

[stage.t]
kind = "target"
params = { d = 8, n_train = 500, n_trian = 3 }

[stage.s]
kind = "sweep"
inputs = ["t"]
params = { method = "krr_pol" }

[stage.u]
kind = "sweep"
inputs = ["t"]
grid = { n = [100, 100000] }

[stage.pub]
kind = "fmnist_published"
params = { readme = "missing/README.md" }

[profile.small]
kind.targt = { n_train = 10 }
stage.t = { params = { d = 1 } }
`)
	r := runBFC(t, dir, nil, "run")
	want := []string{
		`bfc: pipeline.toml:6: stage.t.params.n_trian: unknown parameter of kind "target" (did you mean "n_train"?)`,
		`bfc: pipeline.toml:11: stage.s.params.method: "krr_pol" is not one of "krr_poly", "krr_ntk", "monomial", "twolayer_quad", "twolayer_relu", "deep" (did you mean "krr_poly"?)`,
		`bfc: pipeline.toml:16: stage.u.grid.n: value 100000: 100000 is more than the 500 training samples of its input t (its n_train)`,
		`bfc: pipeline.toml:20: stage.pub.params.readme: file ` + filepath.Join(dir, "missing/README.md") + ` does not exist (the stage reads it)`,
		`bfc: pipeline.toml:23: profile.small.kind.targt: unknown stage kind "targt" (did you mean "target"?)`,
		`bfc: pipeline.toml:24: profile.small.stage.t.params.d: 1 is out of range [2, 4096]`,
	}
	if r.code != 2 || r.stderr != strings.Join(want, "\n")+"\n" {
		t.Fatalf("exit %d, stderr\n%s\nwant\n%s", r.code, r.stderr, strings.Join(want, "\n"))
	}
	if _, err := os.Stat(filepath.Join(dir, ".bfc")); !os.IsNotExist(err) {
		t.Fatal("a failed validation created the store")
	}
	if r := runBFC(t, dir, nil, "-f", "nope.toml", "status"); r.code != 2 || !strings.Contains(r.stderr, "bfc: nope.toml: no such pipeline file") {
		t.Fatalf("missing -f file: exit %d %q", r.code, r.stderr)
	}
}

func TestDagSVG(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz not installed (.ci/run installs it)")
	}
	dir := newProject(t, targets)
	svg := filepath.Join(dir, "dag.svg")
	if r := runBFC(t, dir, nil, "dag", "--points", "--svg", svg); r.code != 0 {
		t.Fatalf("dag --svg: %s", r.stderr)
	}
	b, err := os.ReadFile(svg)
	if err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "tgt[L=4,seed=3]") {
		t.Fatalf("dag --svg wrote %d bytes (%v)", len(b), err)
	}
}

// TestShowListsEveryPointOfAKey: two points that declare one computation
// share a key and its files, which name neither point; show names the
// point asked for and every point that uses the key.
func TestShowListsEveryPointOfAKey(t *testing.T) {
	dir := newProject(t, targets+`
[stage.twin]
kind = "target"
params = { d = 8, n_train = 3000, n_test = 500, norm_samples = 20000, L = 3 }
seed = 1
`)
	if r := runBFC(t, dir, nil, "run", "twin", "tgt[L=3,seed=1]"); r.code != 0 || !strings.Contains(r.stderr, "1 ran, 1 cached") {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	var shown []showJSON
	decode(t, runBFC(t, dir, nil, "show", "--json", "twin"), &shown)
	want := []string{"tgt[L=3,seed=1]", "twin"}
	if len(shown) != 1 || shown[0].Point != "twin" || !slices.Equal(shown[0].Points, want) {
		t.Fatalf("show --json twin: %+v, want point twin and points %v", shown, want)
	}
	for _, o := range shown[0].Outputs {
		for k := range o.Metadata {
			if k == "bfc.point" || k == "bfc.pipeline" {
				t.Errorf("output %s names %s=%q: its file would depend on which point ran first", o.Name, k, o.Metadata[k])
			}
		}
	}
	r := runBFC(t, dir, nil, "show", "tgt[L=3,seed=1]")
	if r.code != 0 || !strings.Contains(r.stdout, "point tgt[L=3,seed=1]\n") || !strings.Contains(r.stdout, "also  twin (same key)\n") {
		t.Fatalf("show: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/pipeline/config"
)

const ruled = `
[pipeline]
rules = "r"

[stage.r]
kind = "src"
params = { thr = 0.5, n = 3 }

[stage.c]
kind = "src"
grid = { seed = { confirm = "n" } }

[profile.small]
stage.r = { params = { n = 2 } }
`

// seedsOf returns the values of stage id's seed axis under profile.
func seedsOf(t *testing.T, src, profile string) ([]int64, *config.Config) {
	t.Helper()
	c, err := parse(t, src).Apply(profile, []string{"src"})
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, d := range c.Stages {
		if d.ID == "c" {
			for _, v := range d.Grid[0].Values {
				out = append(out, v.(int64))
			}
		}
	}
	return out, c
}

func TestDerivedSeeds(t *testing.T) {
	seeds, c := seedsOf(t, ruled, "")
	_, hash, ok := c.Rules()
	if !ok || !slices.Equal(seeds, config.DeriveSeeds(hash, 3)) {
		t.Fatalf("seeds %v, want the first 3 derived from %s", seeds, hash)
	}
	for _, s := range seeds {
		if s < 0 || s >= 1<<31 {
			t.Errorf("seed %d is not a 31-bit number", s)
		}
	}
	// The engine's params of the rules stage: the labels of the longest
	// derived axis, the hash, no lock.
	var r *config.StageDecl
	for _, d := range c.Stages {
		if d.ID == "r" {
			r = d
		}
	}
	if got := r.Params["confirm_seeds"].([]any); len(got) != 3 || got[0] != config.Label(seeds[0]) || r.Params["rules_hash"] != hash || r.Params["rules_lock"] != "" {
		t.Errorf("rules stage params %v", r.Params)
	}
	// The hash leaves the engine's params out: it is the hash of the file's.
	if config.RulesHash(r.Params) != hash {
		t.Error("the hash depends on the parameters the engine set")
	}
	// One rule changed: every seed changes; a profile with fewer seeds
	// has its own hash.
	other, _ := seedsOf(t, strings.Replace(ruled, "thr = 0.5", "thr = 0.6", 1), "")
	for _, s := range other {
		if slices.Contains(seeds, s) {
			t.Errorf("seed %d survives a change of the rules", s)
		}
	}
	small, _ := seedsOf(t, ruled, "small")
	if len(small) != 2 || slices.Contains(seeds, small[0]) {
		t.Errorf("profile seeds %v (file's %v): a profile's rules are other rules", small, seeds)
	}
	// 2 and 2.0 are the same rule.
	if config.RulesHash(map[string]any{"x": int64(2)}) != config.RulesHash(map[string]any{"x": 2.0}) {
		t.Error("2 and 2.0 hash differently")
	}
}

func TestDerivedSeedErrors(t *testing.T) {
	first := config.DeriveSeeds(config.RulesHash(map[string]any{"thr": 0.5, "n": int64(3)}), 1)[0]
	for _, tc := range []struct{ name, src, want string }{
		{"a derived seed listed by hand", ruled + fmt.Sprintf("\n[stage.d]\nkind = \"src\"\ngrid = { seed = [%d] }\n", first),
			fmt.Sprintf("stage.c.grid.seed: derived seed %d is also listed by hand", first)},
		{"no rules stage named", strings.Replace(ruled, `rules = "r"`, "", 1),
			`stage.c.grid.seed: a derived axis needs the rules: name their stage in [pipeline] rules`},
		{"unknown rules stage", strings.Replace(ruled, `rules = "r"`, `rules = "q"`, 1), `pipeline.rules: no stage "q"`},
		{"count not an integer", strings.Replace(ruled, "n = 3 }", `n = "3" }`, 1),
			`stage.c.grid.seed.confirm: "n" must name an integer parameter in [1, 1000] of the rules stage r, have a string`},
		{"count missing", strings.Replace(ruled, `confirm = "n"`, `confirm = "m"`, 1), `"m" must name an integer parameter in [1, 1000] of the rules stage r, have none`},
		{"not the seed", strings.Replace(ruled, "grid = { seed = {", "grid = { n = {", 1), `stage.c.grid.n: only the seed axis can be derived`},
		{"unknown field", strings.Replace(ruled, `confirm = "n"`, `confirmed = "n"`, 1), `stage.c.grid.seed.confirmed: unknown field`},
		{"engine param in the file", strings.Replace(ruled, "thr = 0.5,", `thr = 0.5, rules_hash = "x",`, 1),
			`stage.r.params.rules_hash: set by bfc from the rules' hash`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse(filepath.Join(t.TempDir(), "pipeline.toml"), []byte(tc.src))
			if err == nil {
				_, err = c.Apply("", []string{"src"})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), "pipeline.toml:") {
				t.Errorf("error %v does not name the file and line", err)
			}
		})
	}
}

func TestLockFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, config.LockFile)
	if m, err := config.ReadLock(path); err != nil || len(m) != 0 {
		t.Fatalf("missing lock: %v, %v", m, err)
	}
	want := map[string]string{"default": strings.Repeat("a", 64), "smoke": strings.Repeat("0", 64)}
	if err := config.WriteLock(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := config.ReadLock(path)
	if err != nil || len(got) != 2 || got["default"] != want["default"] || got["smoke"] != want["smoke"] {
		t.Fatalf("read back %v, %v", got, err)
	}
	for _, tc := range []struct{ name, src, want string }{
		{"short hash", "default abc\n", "rules.lock:1: want \"PROFILE HASH\""},
		{"three fields", "# c\ndefault " + want["default"] + " x\n", "rules.lock:2:"},
		{"twice", "default " + want["default"] + "\ndefault " + want["default"] + "\n", "rules.lock:2: default: profile listed twice"},
	} {
		if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := config.ReadLock(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// ParseFile reads the lock next to the pipeline file into Lock, and
	// Apply passes the profile's entry to the rules stage.
	if err := os.WriteFile(path, []byte("default "+want["default"]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(ruled), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.ParseFile(filepath.Join(dir, "pipeline.toml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Apply("", []string{"src"})
	if err != nil {
		t.Fatal(err)
	}
	if d, _, _ := a.Rules(); d.Params["rules_lock"] != want["default"] {
		t.Errorf("rules_lock %v, want the lock's default entry", d.Params["rules_lock"])
	}
}

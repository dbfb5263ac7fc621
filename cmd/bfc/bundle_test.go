package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// bundlePipeline trains on a tiny target and draws a figure from it.
const bundlePipeline = `
[pipeline]
name = "bundle-test"
seed = 5

[stage.tgt]
kind = "target"
params = { d = 6, k = 2, n_train = 300, n_test = 100, norm_samples = 2000 }
grid = { L = [3], seed = [1] }

[stage.train]
kind = "train"
inputs = ["tgt"]
params = { epochs_first = 2, epochs_per_stage = 1, m = 8, batch = 50 }

[stage.fig]
kind = "figure"
gather = ["tgt"]
params = { plot = "E0-information-gap" }
`

var rootRE = regexp.MustCompile(`merkle root ([0-9a-f]{64})`)

// archived runs the pipeline in a new project and archives it.
func archived(t *testing.T, extra ...string) (dir, bundle, root string) {
	t.Helper()
	dir = newProject(t, bundlePipeline)
	os.MkdirAll(filepath.Join(dir, "paper"), 0o755)
	os.WriteFile(filepath.Join(dir, "paper", "README.md"), []byte("# The reproduction\n"), 0o644)
	if r := runBFC(t, dir, nil, "run"); r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	bundle = filepath.Join(dir, "b.tar.zst")
	r := runBFC(t, dir, nil, append([]string{"archive", "-o", bundle}, extra...)...)
	m := rootRE.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("archive: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return dir, bundle, m[1]
}

func TestArchiveThenVerifyIntoAnotherDirectory(t *testing.T) {
	dir, bundle, root := archived(t)
	into := filepath.Join(t.TempDir(), "review")
	r := runBFC(t, t.TempDir(), nil, "verify", bundle, "--into", into)
	if r.code != 0 || !strings.Contains(r.stdout, "0 problem(s), 0 warning(s)") || !strings.Contains(r.stdout, "merkle root "+root) {
		t.Fatalf("verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"bfc-bundle.json", "pipeline.toml", "build.json", "machine.json", "figures/E0-information-gap.svg", "paper/README.md"} {
		if _, err := os.Stat(filepath.Join(into, f)); err != nil {
			t.Errorf("not unpacked: %s", f)
		}
	}
	// The store verify is unchanged without an argument.
	if r := runBFC(t, dir, nil, "verify"); r.code != 0 || !strings.Contains(r.stdout, "verified") {
		t.Fatalf("store verify: %d %s", r.code, r.stdout)
	}
	// A second verify into the same (now full) directory is refused.
	if r := runBFC(t, dir, nil, "verify", bundle, "--into", into); r.code != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("verify into a full directory: %d %s", r.code, r.stderr)
	}
}

func TestFlippedByteFailsVerifyAndNamesTheMember(t *testing.T) {
	_, bundle, _ := archived(t)
	data, _ := os.ReadFile(bundle)
	for i := 0; i < 12; i++ {
		pos := (len(data) - 1) * i / 11
		flipped := append([]byte(nil), data...)
		flipped[pos] ^= 0x04
		path := filepath.Join(t.TempDir(), "flipped.tar.zst")
		os.WriteFile(path, flipped, 0o644)
		r := runBFC(t, t.TempDir(), nil, "verify", path)
		if r.code != 1 || !strings.Contains(r.stderr, "bundle member ") {
			t.Fatalf("byte %d of %d flipped: exit %d\n%s%s", pos, len(data), r.code, r.stdout, r.stderr)
		}
		t.Logf("byte %d: %s", pos, strings.TrimSpace(r.stderr))
	}
}

func TestReproduceATrainingStageGivesIdenticalBytes(t *testing.T) {
	_, bundle, _ := archived(t)
	r := runBFC(t, t.TempDir(), nil, "reproduce", bundle, "train")
	if r.code != 0 || !strings.Contains(r.stdout, "identical  train[L=3,seed=1] (same key, output files compared by file hash)") ||
		!strings.Contains(r.stdout, "1 of 1 point(s) reproduced identically") {
		t.Fatalf("reproduce: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestDiffBundlesSaysWhyAndByHowMuch(t *testing.T) {
	dir, a, _ := archived(t)
	if r := runBFC(t, dir, nil, "diff", a, "store"); r.code != 0 || !strings.Contains(r.stdout, "3 points: 3 same") {
		t.Fatalf("diff with its own store: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(strings.Replace(bundlePipeline, "epochs_first = 2", "epochs_first = 3", 1)), 0o644)
	// Archiving stale points is refused, unless asked for.
	if r := runBFC(t, dir, nil, "archive", "-o", filepath.Join(dir, "x.tar.zst")); r.code != 1 || !strings.Contains(r.stderr, "not computed: train[L=3,seed=1] (stale)") {
		t.Fatalf("archive of a stale point: %d %s", r.code, r.stderr)
	}
	runBFC(t, dir, nil, "run")
	b := filepath.Join(dir, "c.tar.zst")
	if r := runBFC(t, dir, nil, "archive", "-o", b, "--outputs", "final"); r.code != 0 {
		t.Fatalf("archive: %s", r.stderr)
	}
	r := runBFC(t, dir, nil, "diff", a, b)
	for _, want := range []string{
		"changed    train[L=3,seed=1]",
		"why: param epochs_first 2 -> 3",
		"output history: changed",
		"rows 3 -> 4 (the first 3 compared)",
		"3 points: 2 same, 0 same data (other key), 1 changed, 0 only in A, 0 only in B",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("diff lacks %q: exit %d\n%s%s", want, r.code, r.stdout, r.stderr)
		}
	}
	if r.code != 1 || !regexp.MustCompile(`test_rel_err: 3/3 values differ, max abs [0-9.e-]+, max rel [0-9.e-]+`).MatchString(r.stdout) {
		t.Fatalf("diff: exit %d, no per-column difference\n%s", r.code, r.stdout)
	}
}

func TestGCKeepsWhatABundlePinned(t *testing.T) {
	dir, bundle, _ := archived(t)
	os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(strings.Replace(bundlePipeline, "m = 8", "m = 9", 1)), 0o644)
	runBFC(t, dir, nil, "run")
	if r := runBFC(t, dir, nil, "gc"); r.code != 0 {
		t.Fatalf("gc: %s", r.stderr)
	}
	// The old train point is no longer current, but the bundle pinned it.
	r := runBFC(t, dir, nil, "diff", bundle, "store")
	if r.code != 1 || !strings.Contains(r.stdout, "why: param m 8 -> 9") || !strings.Contains(r.stdout, "output weights: changed") {
		t.Fatalf("diff after gc: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	keys, _ := filepath.Glob(filepath.Join(dir, ".bfc", "keys", "*", "*.json"))
	if len(keys) != 4 {
		t.Fatalf("%d manifests after gc, want 4 (3 current + the pinned old train)", len(keys))
	}
}

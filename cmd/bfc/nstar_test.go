package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// nstarPipeline is a tiny claim-4 search: L = 2 targets at d = 4 over the
// given seeds, and an nstar search of kernel ridge regression up to
// n_max, with a fixed threshold no learner reaches so that one search
// always runs to the budget.
func nstarPipeline(nMax int, seeds string) string {
	return fmt.Sprintf(`[pipeline]
seed = 11

[stage.t]
kind = "target"
params = { d = 4, k = 2, L = 2, n_train = 512, n_test = 200, norm_samples = 2000 }
grid = { seed = [%s] }

[stage.s]
kind = "nstar"
inputs = ["t"]
params = { method = "krr_poly", n_min = 16, n_max = %d, n_test = 200, fixed_taus = [1e-9] }
`, seeds, nMax)
}

// probedNs exports the probes table of stage s: the distinct (seed, n)
// pairs probed.
func probedNs(t *testing.T, dir, store string) []string {
	t.Helper()
	r := runBFC(t, dir, nil, "--store", store, "export", "s", "--output", "probes", "--format", "csv")
	if r.code != 0 {
		t.Fatalf("export probes: %s", r.stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("probes csv: %v (%d rows)", err, len(rows))
	}
	seed, n := slices.Index(rows[0], "seed"), slices.Index(rows[0], "n")
	var out []string
	for _, row := range rows[1:] {
		if p := row[seed] + "/" + row[n]; !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// TestNStarReusesProbes shows that the N* search computes only new
// probes: a rerun computes nothing, a larger n_max computes only the n
// past the old budget, and a new seed only its own probes.
func TestNStarReusesProbes(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := newProject(t, nstarPipeline(64, "1"))
	store := t.TempDir()
	run := func() int {
		t.Helper()
		r := runBFC(t, dir, nil, "--store", store, "run")
		if r.code != 0 {
			t.Fatalf("run: exit %d\n%s", r.code, lastLines(r.stderr, 20))
		}
		n := 0
		for _, l := range strings.Split(r.stderr, "\n") {
			if strings.Contains(l, ": probe sweep[") && strings.Contains(l, " computed in ") {
				n++
			}
		}
		return n
	}
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := run(), len(probedNs(t, dir, store)); got != want {
		t.Fatalf("first run computed %d probes, the search probed %d distinct n", got, want)
	}
	first := probedNs(t, dir, store)
	if got := run(); got != 0 {
		t.Fatalf("a rerun computed %d probes", got)
	}
	write(nstarPipeline(256, "1"))
	got, all := run(), probedNs(t, dir, store)
	if want := len(all) - len(first); got != want || want == 0 {
		t.Fatalf("n_max 64 -> 256 computed %d probes, want the %d new n (before %v, after %v)", got, want, first, all)
	}
	write(nstarPipeline(256, "1, 2"))
	got, both := run(), probedNs(t, dir, store)
	var seed2 int
	for _, p := range both {
		if strings.HasPrefix(p, "2/") {
			seed2++
		}
	}
	if got != seed2 || len(both) != len(all)+seed2 {
		t.Fatalf("adding seed 2 computed %d probes, want its own %d (probed %v)", got, seed2, both)
	}
	t.Logf("probes: %d at n_max 64, %d more at n_max 256, %d for seed 2", len(first), len(all)-len(first), seed2)
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rulesProject is a pipeline with the project's decision rules (the
// [stage.claims.params] block of pipeline.toml) and one stage whose seeds
// derive from their hash.
func rulesProject(t *testing.T) (dir, src string) {
	t.Helper()
	b, err := os.ReadFile("../../pipeline.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "[stage.claims.params]\n")
	if i < 0 {
		t.Fatal("pipeline.toml: no [stage.claims.params]")
	}
	block := s[i:]
	if j := strings.Index(block, "\n# ---"); j >= 0 {
		block = block[:j]
	}
	src = `
[pipeline]
name = "rules-test"
seed = 11
rules = "claims"

[stage.tgt]
kind = "target"
params = { d = 4, n_train = 300, n_test = 100, norm_samples = 2000 }
grid = { seed = { confirm = "confirm_E1" } }

[stage.claims]
kind = "claims"
gather = ["tgt"]

` + block + "\n"
	return newProject(t, src), src
}

// statusOf runs bfc status --json in dir.
func statusOf(t *testing.T, dir string) statusJSON {
	t.Helper()
	r := runBFC(t, dir, nil, "status", "--json")
	if r.code == 2 {
		t.Fatalf("status: exit 2: %s", r.stderr)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	if st.Rules == nil {
		t.Fatal("status --json has no rules")
	}
	return st
}

// keysOf maps the points of a stage to their keys.
func keysOf(st statusJSON, stage string) map[string]string {
	out := map[string]string{}
	for _, p := range st.Points {
		if p.Stage == stage {
			out[p.Point] = p.Key
		}
	}
	return out
}

// bfc freeze records the rules' hash; editing one threshold changes the
// hash, so every confirmatory seed and key, and status reports the lock
// as mismatched until the rules are frozen again.
func TestFreezeAndConfirmatorySeeds(t *testing.T) {
	dir, src := rulesProject(t)
	before := statusOf(t, dir)
	if before.Rules.Frozen || before.Rules.Locked != "" || len(before.Rules.Hash) != 64 {
		t.Fatalf("before freeze: %+v", before.Rules)
	}
	if r := runBFC(t, dir, nil, "status"); !strings.Contains(r.stdout, "NOT FROZEN") {
		t.Errorf("status before freeze does not say so:\n%s", r.stdout)
	}
	if r := runBFC(t, dir, nil, "freeze"); r.code != 0 || !strings.Contains(r.stdout, "default "+before.Rules.Hash) {
		t.Fatalf("freeze: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	frozen := statusOf(t, dir)
	if !frozen.Rules.Frozen || frozen.Rules.Locked != before.Rules.Hash {
		t.Fatalf("after freeze: %+v", frozen.Rules)
	}
	k0 := keysOf(frozen, "tgt")
	if len(k0) == 0 {
		t.Fatal("no confirmatory points")
	}

	edited := strings.Replace(src, "small_error = 0.01", "small_error = 0.02", 1)
	if edited == src {
		t.Fatal("the rules have no small_error = 0.01 to edit")
	}
	if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	after := statusOf(t, dir)
	if after.Rules.Frozen || after.Rules.Locked != before.Rules.Hash || after.Rules.Hash == before.Rules.Hash {
		t.Fatalf("after editing a threshold: %+v", after.Rules)
	}
	k1 := keysOf(after, "tgt")
	if len(k1) != len(k0) {
		t.Fatalf("%d confirmatory points, were %d", len(k1), len(k0))
	}
	for p, k := range k1 {
		if _, same := k0[p]; same {
			t.Errorf("point %s kept its seed", p)
		}
		for q, old := range k0 {
			if old == k {
				t.Errorf("%s has the key of %s before the edit", p, q)
			}
		}
	}
	if r := runBFC(t, dir, nil, "status"); !strings.Contains(r.stdout, "CHANGED since bfc freeze") {
		t.Errorf("status does not report the mismatched lock:\n%s", r.stdout)
	}

	// A damaged lock is an error naming its line.
	if err := os.WriteFile(filepath.Join(dir, "rules.lock"), []byte("# c\ndefault abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runBFC(t, dir, nil, "status"); r.code != 2 || !strings.Contains(r.stderr, "rules.lock:2") {
		t.Errorf("damaged lock: exit %d, stderr %q", r.code, r.stderr)
	}
}

// The engine sets the seeds, hash and lock of the rules stage; the file
// must not.
func TestEngineRuleParamsAreRefused(t *testing.T) {
	dir, src := rulesProject(t)
	src = strings.Replace(src, "[stage.claims.params]\n", "[stage.claims.params]\nrules_hash = \"x\"\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runBFC(t, dir, nil, "status"); r.code != 2 || !strings.Contains(r.stderr, "stage.claims.params.rules_hash: set by bfc") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// The report prints the hash of the rules in force, says whether the lock
// records it, and gives the confirmatory verdicts.
func TestReportStatesTheRules(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	root, file, st, dir, m := smokePaper(t)
	r := runBFC(t, root, nil, "-f", file, "--profile", "smoke", "--store", dir, "status", "--json")
	var s statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || s.Rules == nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	readme := string(publishedFile(t, st, m, "README.md"))
	if !strings.Contains(readme, "`"+s.Rules.Hash+"`") {
		t.Errorf("the report does not print the rules' hash %s", s.Rules.Hash)
	}
	want := "**no lock\nrecords it**"
	switch {
	case s.Rules.Frozen:
		want = "it is the one the lock records"
	case s.Rules.Locked != "":
		want = s.Rules.Locked
	}
	if !strings.Contains(readme, want) {
		t.Errorf("the report does not say what the lock records (want %q)", want)
	}
	if !strings.Contains(readme, "This section is about the confirmatory verdicts") || !strings.Contains(readme, "(confirmatory seeds: ") {
		t.Error("the report gives no confirmatory verdicts")
	}
}

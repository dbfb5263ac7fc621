package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmokeProfile runs the project's own pipeline.toml under the smoke
// profile (every stage at tiny sizes) into a temporary store: every stage
// point must run, a second run must run nothing, the claims table must
// export, and the store must verify. This is what CI relies on to know the
// whole DAG works end to end.
func TestSmokeProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	os.RemoveAll(filepath.Join(root, ".bfc", "smoke"))
	start := time.Now()
	r := runBFC(t, root, nil, "--profile", "smoke", "--store", store, "run")
	if r.code != 0 {
		t.Fatalf("smoke run failed (exit %d):\n%s", r.code, lastLines(r.stderr, 30))
	}
	t.Logf("smoke profile: %s in %s", lastLines(r.stderr, 1), time.Since(start).Round(time.Millisecond))
	if strings.Contains(r.stderr, "\nFAILED ") || strings.Contains(r.stderr, "\nskipped ") || !strings.Contains(r.stderr, " 0 failed, 0 skipped") {
		t.Fatalf("smoke run reported failures:\n%s", r.stderr)
	}
	again := runBFC(t, root, nil, "--profile", "smoke", "--store", store, "run")
	if again.code != 0 || !strings.Contains(again.stderr, "nothing to run") {
		t.Fatalf("second smoke run did something:\n%s", lastLines(again.stderr, 10))
	}
	c := runBFC(t, root, nil, "--profile", "smoke", "--store", store, "export", "claims", "--format", "csv")
	if c.code != 0 || !strings.HasPrefix(c.stdout, "key,claim,sample,experiment") {
		t.Fatalf("export claims: exit %d\n%s%s", c.code, firstLines(c.stdout, 3), c.stderr)
	}
	if v := runBFC(t, root, nil, "--store", store, "verify"); v.code != 0 {
		t.Fatalf("verify: %s", v.stdout)
	}
	figs, _ := filepath.Glob(filepath.Join(root, ".bfc", "smoke", "figures", "*.png"))
	if len(figs) < 8 {
		t.Fatalf("smoke run published %d PNG figures, want one per figure stage", len(figs))
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func firstLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[:n]
	}
	return strings.Join(l, "\n")
}

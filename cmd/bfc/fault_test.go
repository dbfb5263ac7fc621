package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDiskFullLeavesNoPartialArtifact runs the pipeline against a store on
// a 1 MiB tmpfs: the run fails with a clear error, the store still
// verifies, and nothing half-written is left for a later run to read.
func TestDiskFullLeavesNoPartialArtifact(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := newProject(t, targets)
	store := filepath.Join(t.TempDir(), "small")
	os.MkdirAll(store, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", store).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	defer exec.Command("umount", "-l", store).Run()
	r := runBFC(t, dir, nil, "--store", store, "run")
	if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") {
		t.Fatalf("run on a full disk: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("stack trace on a full disk:\n%s", r.stderr)
	}
	if v := runBFC(t, dir, nil, "--store", store, "verify"); v.code != 0 {
		t.Fatalf("store on the full disk does not verify: %s", v.stdout)
	}
	tmp, _ := os.ReadDir(filepath.Join(store, "tmp"))
	if len(tmp) != 0 {
		t.Fatalf("temporary files left after failed writes: %d", len(tmp))
	}
	// Every committed manifest names objects that exist in full.
	// (exit 1: some points are not computed, which is no error)
	s := runBFC(t, dir, nil, "--store", store, "status", "-a")
	if s.code != 0 && s.code != 1 {
		t.Fatalf("status: exit %d: %s", s.code, s.stderr)
	}
}

// TestGCWaitsForARunningRun starts gc while a run computes: gc waits for
// the run to release the store, removes nothing the run produced, and
// the store verifies afterwards.
func TestGCWaitsForARunningRun(t *testing.T) {
	dir := newProject(t, strings.Replace(targets, "norm_samples = 20000", "norm_samples = 2000000", 1))
	run := exec.Command(bfcBin, "--progress", "lines", "run", "tgt[L=3,seed=1]")
	run.Dir = dir
	var runErr bytes.Buffer
	run.Stderr = &runErr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(runErr.String(), "run     ") {
		time.Sleep(20 * time.Millisecond)
	}
	gc := runBFC(t, dir, nil, "gc")
	if err := run.Wait(); err != nil {
		t.Fatalf("run failed while gc waited: %v\n%s", err, runErr.String())
	}
	if gc.code != 0 || !strings.Contains(gc.stderr, "waiting for running bfc processes") {
		t.Fatalf("gc did not wait for the run: exit %d\n%s%s", gc.code, gc.stdout, gc.stderr)
	}
	if v := runBFC(t, dir, nil, "verify"); v.code != 0 {
		t.Fatalf("verify after gc: %s", v.stdout)
	}
	if s := runBFC(t, dir, nil, "status", "tgt[L=3,seed=1]"); !strings.Contains(s.stdout, "1 fresh, 0 stale, 0 missing") {
		t.Fatalf("gc removed results of the run: %s", s.stdout)
	}
}

// TestCrashAtEachFaultPoint kills the stage process at exact moments of
// the commit protocol (BFC_FAULT, see store.FaultPoint): after an
// output object is written, just before and just after the manifest. Each
// time the store must verify, and a rerun must finish with the outputs of
// an undisturbed run.
func TestCrashAtEachFaultPoint(t *testing.T) {
	ref := newProject(t, targets)
	if r := runBFC(t, ref, nil, "run"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	want := outputHashes(t, filepath.Join(ref, ".bfc"))
	for _, point := range []string{"output-written", "before-manifest", "after-manifest"} {
		t.Run(point, func(t *testing.T) {
			dir := newProject(t, targets)
			r := runBFC(t, dir, []string{"BFC_FAULT=" + point}, "run")
			if r.code != 1 || !strings.Contains(r.stderr, "signal: killed") {
				t.Fatalf("run with a crash at %s: exit %d\n%s", point, r.code, r.stderr)
			}
			if v := runBFC(t, dir, nil, "verify"); v.code != 0 {
				t.Fatalf("store after a crash at %s does not verify:\n%s", point, v.stdout)
			}
			if r := runBFC(t, dir, nil, "run"); r.code != 0 {
				t.Fatalf("rerun: %s", r.stderr)
			}
			if got := outputHashes(t, filepath.Join(dir, ".bfc")); strSig(got) != strSig(want) {
				t.Fatalf("outputs after a crash at %s and a rerun differ from an undisturbed run", point)
			}
		})
	}
}

// TestCrashDuringGC kills gc after it removed dead manifests and before it
// removed their objects: the store verifies, live results are intact, and
// the next gc finishes the job.
func TestCrashDuringGC(t *testing.T) {
	dir := newProject(t, targets)
	runBFC(t, dir, nil, "run")
	os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(strings.Replace(targets, "n_test = 500", "n_test = 400", 1)), 0o644)
	runBFC(t, dir, nil, "run") // the first run's results are now garbage
	r := runBFC(t, dir, []string{"BFC_FAULT=gc-manifests-removed"}, "gc")
	if r.code == 0 {
		t.Fatal("gc was not killed at the fault point")
	}
	if v := runBFC(t, dir, nil, "verify"); v.code != 0 {
		t.Fatalf("store after a crash in gc does not verify:\n%s", v.stdout)
	}
	if s := runBFC(t, dir, nil, "status"); !strings.Contains(s.stdout, "8 fresh, 0 stale, 0 missing") {
		t.Fatalf("live results lost: %s", s.stdout)
	}
	g := runBFC(t, dir, nil, "gc")
	if g.code != 0 || !strings.Contains(g.stdout, "0 manifests") || strings.Contains(g.stdout, " 0 objects") {
		t.Fatalf("second gc should remove the leftover objects only: %s", g.stdout)
	}
	if v := runBFC(t, dir, nil, "verify"); v.code != 0 {
		t.Fatalf("verify: %s", v.stdout)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests drive the real bfc binary, as a user would, on small
// pipelines made of real stage kinds.

var bfcBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bfc-cli-test")
	if err != nil {
		panic(err)
	}
	bfcBin = filepath.Join(dir, "bfc")
	out, err := exec.Command("go", "build", "-o", bfcBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build bfc: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// targets is a small pipeline of target stages that takes a few seconds.
const targets = `
[pipeline]
name = "cli-test"
seed = 11

[stage.tgt]
kind = "target"
params = { d = 8, n_train = 3000, n_test = 500, norm_samples = 20000 }
grid = { seed = [1, 2, 3, 4], L = [3, 4] }
`

type result struct {
	code   int
	stdout string
	stderr string
}

func runBFC(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bfcBin, append([]string{"--progress", "lines"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

func newProject(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// outputHashes reads every manifest in a store: point -> sorted output file hashes.
func outputHashes(t *testing.T, store string) map[string]string {
	t.Helper()
	out := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(store, "keys", "*", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Stage   string
			Outputs []struct{ Name, File string }
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var hs []string
		for _, o := range m.Outputs {
			hs = append(hs, o.Name+"="+o.File)
		}
		sort.Strings(hs)
		out[m.Stage] = strings.Join(hs, " ")
	}
	return out
}

func TestBadInputExitsTwoAndTouchesNothing(t *testing.T) {
	dir := newProject(t, "[stage.a]\nkind = \"target\"\nparams = { d = 1 }\n")
	r := runBFC(t, dir, nil, "run")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr %q", r.code, r.stderr)
	}
	want := "bfc: pipeline.toml:3: stage.a.params.d: 1 is out of range [2, 4096]\n"
	if r.stderr != want {
		t.Fatalf("stderr %q, want %q", r.stderr, want)
	}
	if _, err := os.Stat(filepath.Join(dir, ".bfc")); !os.IsNotExist(err) {
		t.Fatal("a failed validation created the store")
	}
	if r := runBFC(t, dir, nil, "run", "--bogus"); r.code != 2 || strings.Contains(r.stderr, "goroutine") {
		t.Fatalf("unknown flag: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestRunTwiceAndExplain(t *testing.T) {
	dir := newProject(t, targets)
	if r := runBFC(t, dir, nil, "run"); r.code != 0 || !strings.Contains(r.stderr, "8 ran") {
		t.Fatalf("first run: %d %s", r.code, r.stderr)
	}
	start := time.Now()
	r := runBFC(t, dir, nil, "run")
	if r.code != 0 || !strings.Contains(r.stderr, "all 8 stage points up to date, nothing to run") {
		t.Fatalf("second run: %d %s", r.code, r.stderr)
	}
	t.Logf("no-op run took %s", time.Since(start))
	os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(strings.Replace(targets, "n_test = 500", "n_test = 600", 1)), 0o644)
	r = runBFC(t, dir, nil, "explain", "tgt[L=3,seed=1]")
	if !strings.Contains(r.stdout, "param n_test 500 -> 600") {
		t.Fatalf("explain: %s %s", r.stdout, r.stderr)
	}
	r = runBFC(t, dir, nil, "status")
	if !strings.Contains(r.stdout, "0 fresh, 8 stale, 0 missing") {
		t.Fatalf("status: %s", r.stdout)
	}
	if r := runBFC(t, dir, nil, "export", "tgt", "--format", "csv"); r.code != 1 || !strings.Contains(r.stderr, "is stale (param n_test 500 -> 600); run `bfc run tgt` first") {
		t.Fatalf("export of stale points: %d %q", r.code, r.stderr)
	}
	runBFC(t, dir, nil, "run")
	r = runBFC(t, dir, nil, "export", "tgt", "--format", "csv")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 9 || !strings.HasPrefix(lines[0], "seed,key,d,k,L,gap") {
		t.Fatalf("export: %d lines, header %q, stderr %q", len(lines), lines[0], r.stderr)
	}
}

func TestSameBytesWhateverTheThreads(t *testing.T) {
	var got []map[string]string
	for _, th := range []string{"1", "4"} {
		dir := newProject(t, targets)
		if r := runBFC(t, dir, []string{"GOMAXPROCS=" + th}, "-j", th, "run"); r.code != 0 {
			t.Fatalf("-j %s: %s", th, r.stderr)
		}
		got = append(got, outputHashes(t, filepath.Join(dir, ".bfc")))
	}
	if len(got[0]) != 8 || fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
		t.Fatalf("outputs differ between 1 and 4 threads:\n%v\n%v", got[0], got[1])
	}
}

func TestKillAtRandomMomentsThenResume(t *testing.T) {
	ref := newProject(t, targets)
	if r := runBFC(t, ref, nil, "run"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	want := outputHashes(t, filepath.Join(ref, ".bfc"))
	dir := newProject(t, targets)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 6; i++ {
		cmd := exec.Command(bfcBin, "--progress", "none", "run")
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if r := runBFC(t, dir, nil, "verify"); r.code != 0 {
			t.Fatalf("after kill %d the store does not verify: %s %s", i, r.stdout, r.stderr)
		}
	}
	if r := runBFC(t, dir, nil, "run"); r.code != 0 {
		t.Fatalf("resume: %s", r.stderr)
	}
	if got := outputHashes(t, filepath.Join(dir, ".bfc")); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outputs after kills and resume differ from an undisturbed run:\n%v\n%v", got, want)
	}
}

// TestConcurrentProcessesComputeEachKeyOnce starts three `bfc run` on one
// store at once, in several rounds: all succeed, every key is computed by
// exactly one of them, the store verifies and the results equal a serial
// run's.
func TestConcurrentProcessesComputeEachKeyOnce(t *testing.T) {
	ref := newProject(t, targets)
	runBFC(t, ref, nil, "run")
	want := outputHashes(t, filepath.Join(ref, ".bfc"))
	for round := 0; round < 3; round++ {
		dir := newProject(t, targets)
		var wg sync.WaitGroup
		results := make([]result, 3)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = runBFC(t, dir, nil, "run")
			}()
		}
		wg.Wait()
		ran := 0
		for _, r := range results {
			if r.code != 0 {
				t.Fatalf("round %d: a concurrent run failed: %s", round, r.stderr)
			}
			for _, line := range strings.Split(r.stderr, "\n") {
				if strings.HasPrefix(line, "done ") {
					ran++
				}
			}
		}
		if ran != 8 {
			t.Fatalf("round %d: 3 concurrent runs computed %d points in total, want each of 8 once", round, ran)
		}
		if r := runBFC(t, dir, nil, "verify"); r.code != 0 {
			t.Fatalf("round %d: verify: %s", round, r.stdout)
		}
		if got := outputHashes(t, filepath.Join(dir, ".bfc")); strSig(got) != strSig(want) {
			t.Fatalf("round %d: concurrent results differ from a serial run", round)
		}
	}
}

func TestVerifyNamesAFlippedByte(t *testing.T) {
	dir := newProject(t, targets)
	runBFC(t, dir, nil, "run")
	objs, _ := filepath.Glob(filepath.Join(dir, ".bfc", "objects", "*", "*.arrow"))
	victim := objs[len(objs)/2]
	os.Chmod(victim, 0o644)
	b, _ := os.ReadFile(victim)
	b[100] ^= 0xff
	os.WriteFile(victim, b, 0o444)
	r := runBFC(t, dir, nil, "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "BAD  "+victim) {
		t.Fatalf("verify after flip: exit %d\n%s", r.code, r.stdout)
	}
	r = runBFC(t, dir, nil, "run")
	if r.code != 0 || !strings.Contains(r.stderr, "1 ran") {
		t.Fatalf("run after flip should recompute one point: %s", r.stderr)
	}
	if r := runBFC(t, dir, nil, "verify"); r.code != 0 {
		t.Fatalf("verify after recompute: %s", r.stdout)
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(s, v) }

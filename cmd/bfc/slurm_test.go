package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The slurm tests run against a real Slurm cluster (.ci/slurm/up.sh starts
// a one-node one); they are skipped unless BFC_TEST_SLURM=1.

func needSlurm(t *testing.T) {
	t.Helper()
	if os.Getenv("BFC_TEST_SLURM") != "1" {
		t.Skip("set BFC_TEST_SLURM=1 with a running Slurm (.ci/slurm/up.sh) to run")
	}
}

const slurmPipeline = `
[pipeline]
name = "slurm-test"
seed = 5

[executor]
kind = "slurm"
poll_seconds = 0.5
mem = "1G"
time = "00:10:00"

[stage.tgt]
kind = "target"
params = { d = 8, n_train = 3000, n_test = 500, norm_samples = 20000 }
grid = { seed = [1, 2, 3] }

[stage.slow]
kind = "target"
params = { d = 8, n_train = 1000, n_test = 500, norm_samples = 3000000 }

[stage.fig]
kind = "figure"
gather = ["tgt", "slow"]
params = { plot = "E0-information-gap" }
`

// sacctKeys returns, for every bfc job in sacct since start, the keys its
// comment names and its state.
func sacctJobs(t *testing.T, since time.Time) map[string][]string {
	t.Helper()
	out, err := exec.Command("sacct", "-n", "-P", "-X", "-S", since.Format("2006-01-02T15:04:05"), "-o", "JobID,State,Comment").Output()
	if err != nil {
		t.Fatalf("sacct: %v", err)
	}
	jobs := map[string][]string{} // key -> states of the jobs that ran it
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], "bfc:") {
			continue
		}
		keys := strings.Split(strings.TrimPrefix(f[2], "bfc:"), ",")
		if _, task, ok := strings.Cut(f[0], "_"); ok {
			var i int
			if _, err := fmtSscan(task, &i); err == nil && i < len(keys) {
				keys = keys[i : i+1]
			}
		}
		for _, k := range keys {
			jobs[k] = append(jobs[k], f[1])
		}
	}
	return jobs
}

func TestSlurmMatchesLocal(t *testing.T) {
	needSlurm(t)
	start := time.Now().Add(-2 * time.Second)
	dir := newProject(t, slurmPipeline)
	r := runBFC(t, dir, nil, "run")
	if r.code != 0 {
		t.Fatalf("slurm run: %s", r.stderr)
	}
	if !regexp.MustCompile(`submitted as slurm job \d+_2`).MatchString(r.stderr) {
		t.Errorf("the 3 points of tgt were not submitted as one job array:\n%s", r.stderr)
	}
	local := newProject(t, slurmPipeline)
	if r := runBFC(t, local, nil, "run", "--executor", "local"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	sh, lh := outputHashes(t, filepath.Join(dir, ".bfc")), outputHashes(t, filepath.Join(local, ".bfc"))
	if len(sh) != 5 || strSig(sh) != strSig(lh) {
		t.Fatalf("slurm and local outputs differ:\n%v\n%v", sh, lh)
	}
	time.Sleep(6 * time.Second) // sacct lags a few seconds
	jobs := sacctJobs(t, start)
	for _, key := range manifestKeys(t, filepath.Join(dir, ".bfc")) {
		if st := jobs[key]; len(st) != 1 || st[0] != "COMPLETED" {
			t.Errorf("key %s: slurm jobs %v, want exactly one COMPLETED", key[:12], st)
		}
	}
}

func TestSlurmKilledRunReattaches(t *testing.T) {
	needSlurm(t)
	start := time.Now().Add(-2 * time.Second)
	dir := newProject(t, slurmPipeline)
	cmd := exec.Command(bfcBin, "--progress", "lines", "run", "slow")
	cmd.Dir = dir
	var se bytes.Buffer
	cmd.Stderr = &se
	cmd.Start()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(se.String(), "submitted as slurm job") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	r := runBFC(t, dir, nil, "run", "slow")
	if r.code != 0 || !strings.Contains(r.stderr, "re-attaching to slurm job") {
		t.Fatalf("restarted run did not re-attach (exit %d):\n%s", r.code, r.stderr)
	}
	time.Sleep(6 * time.Second)
	jobs := sacctJobs(t, start)
	for _, key := range manifestKeys(t, filepath.Join(dir, ".bfc")) {
		if n := len(jobs[key]); n != 1 {
			t.Errorf("key %s ran in %d slurm jobs (%v), want 1", key[:12], n, jobs[key])
		}
	}
}

func TestSlurmCancelledJobFailsClearlyThenReruns(t *testing.T) {
	needSlurm(t)
	dir := newProject(t, slurmPipeline)
	cmd := exec.Command(bfcBin, "--progress", "lines", "run", "slow")
	cmd.Dir = dir
	var se bytes.Buffer
	cmd.Stderr = &se
	cmd.Start()
	re := regexp.MustCompile(`submitted as slurm job (\d+)`)
	deadline := time.Now().Add(60 * time.Second)
	var id string
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(se.String()); m != nil {
			id = m[1]
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if id == "" {
		t.Fatalf("no job submitted:\n%s", se.String())
	}
	exec.Command("scancel", id).Run()
	err := cmd.Wait()
	if err == nil || !strings.Contains(se.String(), "ended CANCELLED") {
		t.Fatalf("cancelled job: exit %v\n%s", err, se.String())
	}
	if r := runBFC(t, dir, nil, "run", "slow"); r.code != 0 {
		t.Fatalf("rerun after scancel: %s", r.stderr)
	}
}

func manifestKeys(t *testing.T, store string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(store, "keys", "*", "*.json"))
	var keys []string
	for _, f := range files {
		keys = append(keys, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	return keys
}

func strSig(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		b.WriteString(k + "=" + m[k] + "\n")
	}
	return b.String()
}

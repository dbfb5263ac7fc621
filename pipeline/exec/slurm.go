package exec

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
)

// Slurm runs each job as a Slurm batch job that executes `bfc exec` on a
// compute node, against the same store on a shared file system. The
// store's atomic protocol and per-key locks work across nodes as they do
// across local processes.
//
// Jobs that become ready together for one stage are submitted as one job
// array. Every job carries the stage key in its comment ("bfc:KEY"), so a
// restarted `bfc run` finds jobs still queued or running for a key and
// follows them instead of submitting duplicates. Jobs are followed with
// squeue while Slurm's controller remembers them and sacct after that; a
// job that ends FAILED, CANCELLED or TIMEOUT fails its stage with Slurm's
// state and reason and the path of its log.
type Slurm struct {
	Store   *store.Store
	Program string // bfc binary, reachable from the nodes
	Config  config.ExecutorConfig
	Kinds   map[string]string // point id -> kind name, for per-kind resources
	// Batch is how long to wait for more ready jobs of the same stage
	// before submitting them together as an array (default 300 ms).
	Batch time.Duration

	mu      sync.Mutex
	pending map[string]*slurmBatch // stage id -> batch being collected
	tracked map[string]*slurmTask  // slurm job id ("123" or "123_4") -> task
	poller  bool
	cmdTO   time.Duration
}

type slurmBatch struct {
	tasks []*slurmTask
	timer *time.Timer
}

type slurmTask struct {
	job    *Job
	file   string // job file
	log    string // slurm output file (JSON event lines from bfc exec)
	id     string // slurm id once submitted
	state  string
	reason string
	events func(Event)
	done   chan struct{}
	err    error
	read   int64 // bytes of the log already forwarded
	seen   time.Time
}

// MaxParallel lets the runner keep every ready point in flight: Slurm,
// not the local CPU count, decides what runs at once.
func (x *Slurm) MaxParallel() int { return 100000 }

func (x *Slurm) Name() string { return "slurm" }

// resources returns the sbatch resource flags for a job.
func (x *Slurm) resources(j *Job) (cpus int, mem, tlimit, part string) {
	c := x.Config
	cpus, mem, tlimit, part = c.CPUs, c.Mem, c.Time, c.Partition
	if r, ok := c.PerKind[j.Kind]; ok {
		if r.CPUs > 0 {
			cpus = r.CPUs
		}
		if r.Mem != "" {
			mem = r.Mem
		}
		if r.Time != "" {
			tlimit = r.Time
		}
		if r.Partition != "" {
			part = r.Partition
		}
	}
	return max(cpus, 1), mem, tlimit, part
}

func stageOf(point string) string {
	s, _, _ := strings.Cut(point, "[")
	return s
}

// Run submits (or re-attaches to) the job and waits for it to end.
func (x *Slurm) Run(ctx context.Context, job *Job, events func(Event)) Result {
	fail := func(err error) Result { return Result{Point: job.Point, Key: job.Key, Error: err.Error()} }
	cpus, _, _, _ := x.resources(job)
	job.Threads = cpus
	t := &slurmTask{job: job, events: events, done: make(chan struct{})}
	x.enqueue(t)
	select {
	case <-t.done:
	case <-ctx.Done():
		return fail(fmt.Errorf("interrupted; slurm job %s keeps running (rerun `bfc run` to follow it, or scancel it)", t.id))
	}
	if t.err != nil {
		return fail(t.err)
	}
	return Result{Point: job.Point, Key: job.Key}
}

// logPattern is the output file of a job ("123") or array task ("123_4"),
// as set by submit's --output.
func (x *Slurm) logPattern(key id.Key, job string) string {
	if base, task, ok := strings.Cut(job, "_"); ok {
		return filepath.Join(x.Store.Dir, "logs", "array-"+base+"."+task+".out")
	}
	return filepath.Join(x.Store.Dir, "logs", key.String()+".slurm-"+job+".out")
}

// enqueue adds t to its stage's batch; the batch is submitted when no new
// job of that stage has arrived for Batch.
func (x *Slurm) enqueue(t *slurmTask) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.pending == nil {
		x.pending = map[string]*slurmBatch{}
	}
	wait := x.Batch
	if wait == 0 {
		wait = 300 * time.Millisecond
	}
	st := stageOf(t.job.Point) + "\x00" + t.job.Kind
	b := x.pending[st]
	if b == nil {
		b = &slurmBatch{}
		x.pending[st] = b
		b.timer = time.AfterFunc(wait, func() { x.flush(st) })
	} else {
		b.timer.Reset(wait)
	}
	b.tasks = append(b.tasks, t)
}

// flush handles a batch: jobs already queued or running for their key
// (submitted by an earlier, interrupted run) are followed; the others are
// submitted together.
func (x *Slurm) flush(st string) {
	x.mu.Lock()
	b := x.pending[st]
	delete(x.pending, st)
	x.mu.Unlock()
	if b == nil || len(b.tasks) == 0 {
		return
	}
	failAll := func(ts []*slurmTask, err error) {
		for _, t := range ts {
			t.err = err
			close(t.done)
		}
	}
	existing, err := x.findExisting(context.Background())
	if err != nil {
		failAll(b.tasks, err)
		return
	}
	var fresh []*slurmTask
	for _, t := range b.tasks {
		if e, ok := existing[t.job.Key]; ok {
			t.id, t.state = e.id, e.state
			t.log = x.logPattern(t.job.Key, e.id)
			t.events(Event{Point: t.job.Point, Type: "note", Msg: fmt.Sprintf("re-attaching to slurm job %s (%s) already submitted for this key (log %s)", e.id, e.state, t.log)})
			x.track(t)
			continue
		}
		path, err := WriteJob(x.Store, t.job)
		if err != nil {
			failAll([]*slurmTask{t}, err)
			continue
		}
		t.file = path
		fresh = append(fresh, t)
	}
	if len(fresh) == 0 {
		return
	}
	if err := x.submit(fresh); err != nil {
		failAll(fresh, err)
		return
	}
	for _, t := range fresh {
		x.track(t)
	}
}

// submit runs sbatch for one job or one array of jobs of the same stage.
func (x *Slurm) submit(tasks []*slurmTask) error {
	j0 := tasks[0].job
	cpus, mem, tlimit, part := x.resources(j0)
	name := "bfc-" + stageOf(j0.Point)
	args := []string{"--parsable", "--job-name=" + name, "--cpus-per-task=" + strconv.Itoa(cpus)}
	if mem != "" {
		args = append(args, "--mem="+mem)
	}
	if tlimit != "" {
		args = append(args, "--time="+tlimit)
	}
	if part != "" {
		args = append(args, "--partition="+part)
	}
	args = append(args, x.Config.Extra...)
	var script strings.Builder
	script.WriteString("#!/bin/sh\n# submitted by bfc run\n")
	fmt.Fprintf(&script, "export GOMAXPROCS=%d OPENBLAS_NUM_THREADS=1\n", cpus)
	if len(tasks) == 1 {
		t := tasks[0]
		args = append(args, "--comment=bfc:"+t.job.Key.String(), "--output="+filepath.Join(x.Store.Dir, "logs", t.job.Key.String()+".slurm-%j.out"))
		fmt.Fprintf(&script, "exec %s exec %s\n", shellQuote(x.Program), shellQuote(t.file))
	} else {
		// One array: task i runs job file i. The comment lists every key
		// so that a restarted run can find each task's key.
		keys := make([]string, len(tasks))
		script.WriteString("case \"$SLURM_ARRAY_TASK_ID\" in\n")
		for i, t := range tasks {
			keys[i] = t.job.Key.String()
			fmt.Fprintf(&script, "%d) exec %s exec %s ;;\n", i, shellQuote(x.Program), shellQuote(t.file))
		}
		script.WriteString("esac\nexit 99\n")
		args = append(args, fmt.Sprintf("--array=0-%d", len(tasks)-1), "--comment=bfc:"+strings.Join(keys, ","),
			"--output="+filepath.Join(x.Store.Dir, "logs", "array-%A.%a.out"))
	}
	out, err := x.cmd(context.Background(), script.String(), "sbatch", args...)
	if err != nil {
		return fmt.Errorf("sbatch: %w", err)
	}
	id := strings.TrimSpace(strings.Split(strings.TrimSpace(out), ";")[0])
	if _, err := strconv.Atoi(id); err != nil {
		return fmt.Errorf("sbatch printed %q, not a job id", out)
	}
	for i, t := range tasks {
		t.id = id
		if len(tasks) > 1 {
			t.id = fmt.Sprintf("%s_%d", id, i)
		}
		t.log = x.logPattern(t.job.Key, t.id)
		t.state = "PENDING"
		t.events(Event{Point: t.job.Point, Type: "note", Msg: "submitted as slurm job " + t.id + " (log " + t.log + ")"})
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// cmd runs a Slurm command with a timeout and returns its stdout.
func (x *Slurm) cmd(ctx context.Context, stdin, name string, args ...string) (string, error) {
	to := x.cmdTO
	if to == 0 {
		to = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	var se strings.Builder
	c.Stderr = &se
	out, err := c.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(se.String()))
	}
	return string(out), nil
}

type existingJob struct{ id, state string }

// findExisting maps stage keys to the queued or running jobs whose
// comments name them. Comments that do not name keys are not bfc's.
func (x *Slurm) findExisting(ctx context.Context) (map[id.Key]existingJob, error) {
	out, err := x.cmd(ctx, "", "squeue", "-h", "-r", "-t", "PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED,REQUEUED", "-o", "%i|%T|%k")
	if err != nil {
		return nil, err
	}
	found := map[id.Key]existingJob{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], "bfc:") {
			continue
		}
		keys, err := parseKeys(strings.Split(strings.TrimPrefix(f[2], "bfc:"), ","))
		if err != nil {
			continue
		}
		if len(keys) == 1 {
			found[keys[0]] = existingJob{f[0], f[1]}
			continue
		}
		// An array: squeue -r lists each live task as BASE_I; task I
		// runs keys[I].
		base, task, ok := strings.Cut(f[0], "_")
		i, err := strconv.Atoi(task)
		if ok && err == nil && i >= 0 && i < len(keys) {
			found[keys[i]] = existingJob{base + "_" + task, f[1]}
		}
	}
	return found, nil
}

// parseKeys parses the keys of a job comment.
func parseKeys(ss []string) ([]id.Key, error) {
	keys := make([]id.Key, len(ss))
	for i, s := range ss {
		var err error
		if keys[i], err = id.ParseKey(s); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func (x *Slurm) track(t *slurmTask) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.tracked == nil {
		x.tracked = map[string]*slurmTask{}
	}
	t.seen = time.Now()
	x.tracked[t.id] = t
	if !x.poller {
		x.poller = true
		go x.poll()
	}
}

// poll follows every tracked job until none is left.
func (x *Slurm) poll() {
	every := time.Duration(x.Config.Poll * float64(time.Second))
	if every <= 0 {
		every = 2 * time.Second
	}
	for {
		time.Sleep(every)
		x.mu.Lock()
		if len(x.tracked) == 0 {
			x.poller = false
			x.mu.Unlock()
			return
		}
		var ids []string
		for id := range x.tracked {
			ids = append(ids, id)
		}
		x.mu.Unlock()
		states := x.states(ids)
		for _, id := range ids {
			x.mu.Lock()
			t := x.tracked[id]
			x.mu.Unlock()
			x.forwardLog(t)
			st, ok := states[id]
			if !ok {
				if time.Since(t.seen) > 10*time.Minute {
					x.finish(t, fmt.Errorf("slurm job %s is unknown to squeue and sacct (log %s)", id, t.log))
				}
				continue
			}
			t.seen = time.Now()
			if st.state != t.state {
				t.state, t.reason = st.state, st.reason
				t.events(Event{Point: t.job.Point, Type: "note", Msg: fmt.Sprintf("slurm job %s %s", id, describeState(st))})
			}
			switch {
			case st.state == "COMPLETED":
				x.finish(t, x.completed(t))
			case isTerminal(st.state):
				x.finish(t, fmt.Errorf("slurm job %s ended %s (reason %s, exit %s); log %s%s", id, st.state, st.reason, st.exit, t.log, logTail(t.log)))
			}
		}
	}
}

func describeState(s slurmState) string {
	if s.reason != "" && s.reason != "None" {
		return s.state + " (" + s.reason + ")"
	}
	return s.state
}

func isTerminal(state string) bool {
	for _, s := range []string{"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "PREEMPTED", "REVOKED"} {
		if strings.HasPrefix(state, s) {
			return true
		}
	}
	return false
}

// completed reads the result line `bfc exec` wrote to the job's log.
func (x *Slurm) completed(t *slurmTask) error {
	x.forwardLog(t)
	f, err := os.Open(t.log)
	if err != nil {
		return fmt.Errorf("slurm job %s completed but its log %s is unreadable: %v", t.id, t.log, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l childLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Result != nil {
			if l.Result.Error != "" {
				return errors.New(l.Result.Error)
			}
			return nil
		}
	}
	return fmt.Errorf("slurm job %s completed without a bfc result in %s", t.id, t.log)
}

func (x *Slurm) finish(t *slurmTask, err error) {
	x.mu.Lock()
	if _, ok := x.tracked[t.id]; !ok {
		x.mu.Unlock()
		return
	}
	delete(x.tracked, t.id)
	x.mu.Unlock()
	if t.file != "" {
		os.Remove(t.file)
	}
	t.err = err
	close(t.done)
}

// forwardLog passes on the progress events bfc exec wrote since last time.
func (x *Slurm) forwardLog(t *slurmTask) {
	f, err := os.Open(t.log)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(t.read, io.SeekStart); err != nil {
		return
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return // an incomplete last line is read next time
		}
		t.read += int64(len(line))
		var l childLine
		if json.Unmarshal(line, &l) == nil && l.Event != nil && l.Event.Type == "progress" {
			t.events(*l.Event)
		}
	}
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var keep []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "{") { // not a JSON event line
			keep = append(keep, l)
		}
	}
	if len(keep) > 3 {
		keep = keep[len(keep)-3:]
	}
	if len(keep) == 0 {
		return ""
	}
	return ": " + strings.Join(keep, " | ")
}

type slurmState struct{ state, reason, exit string }

// states asks squeue, then sacct for the ids squeue no longer knows.
func (x *Slurm) states(ids []string) map[string]slurmState {
	out := map[string]slurmState{}
	ctx := context.Background()
	if s, err := x.cmd(ctx, "", "squeue", "-h", "-r", "-t", "all", "-j", joinBase(ids), "-o", "%i|%T|%r"); err == nil {
		for _, line := range strings.Split(s, "\n") {
			f := strings.Split(line, "|")
			if len(f) == 3 {
				out[f[0]] = slurmState{state: f[1], reason: f[2]}
			}
		}
	}
	var missing []string
	for _, id := range ids {
		if st, ok := out[id]; !ok || (isTerminal(st.state) && st.state != "COMPLETED") {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out
	}
	// sacct gives exit codes and is the record once squeue forgets a job.
	if s, err := x.cmd(ctx, "", "sacct", "-n", "-P", "-X", "-S", "now-7days", "-j", joinBase(missing), "-o", "JobID,State,ExitCode,Reason"); err == nil {
		for _, line := range strings.Split(s, "\n") {
			f := strings.Split(line, "|")
			if len(f) == 4 {
				st := slurmState{state: f[1], exit: f[2], reason: f[3]}
				if prev, ok := out[f[0]]; ok && st.reason == "None" {
					st.reason = prev.reason
				}
				out[f[0]] = st
			}
		}
	}
	return out
}

// joinBase lists the job ids for -j (array tasks by their array id).
func joinBase(ids []string) string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return strings.Join(out, ",")
}

package exec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// Executor runs jobs. When Run returns a Result without Error, the job's
// manifest is committed in the store.
type Executor interface {
	Name() string
	Run(ctx context.Context, job *Job, events func(Event)) Result
}

// InProcess runs jobs inside the calling process (tests, and `bfc exec`).
type InProcess struct {
	Store *store.Store
	Kinds graph.Registry
	Code  graph.CodeIdentity
}

func (x *InProcess) Name() string { return "inprocess" }

func (x *InProcess) Run(ctx context.Context, job *Job, events func(Event)) Result {
	return ExecuteJob(ctx, x.Store, job, ExecOptions{Executor: "inprocess", Events: events, Kinds: x.Kinds, Code: x.Code})
}

// Local runs each job in a child process (`bfc exec JOBFILE`), so every
// stage has its own CPU time and peak memory in its run record, a crash
// of one stage cannot take the run down, and GOMAXPROCS is the stage's
// CPU grant. The child dies with its parent.
type Local struct {
	Store   *store.Store
	Program string   // path of the bfc binary
	Args    []string // arguments before the job file, default ["exec"]
}

func (x *Local) Name() string { return "local" }

func (x *Local) Run(ctx context.Context, job *Job, events func(Event)) Result {
	fail := func(err error) Result { return Result{Point: job.Point, Key: job.Key, Error: err.Error()} }
	path, err := WriteJob(x.Store, job)
	if err != nil {
		return fail(err)
	}
	defer os.Remove(path)
	args := append([]string(nil), x.Args...)
	if len(args) == 0 {
		args = []string{"exec"}
	}
	cmd := exec.Command(x.Program, append(args, path)...)
	threads := strconv.Itoa(max(1, job.Threads))
	// One OpenBLAS thread: kinds that want BLAS threads for a large solve
	// ask for them (linalg.SetThreads); otherwise OpenBLAS's threads and
	// the stage's goroutines oversubscribe the CPUs (make bench: -46%).
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+threads, "OPENBLAS_NUM_THREADS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("start %s: %w", x.Program, err))
	}
	stop := context.AfterFunc(ctx, func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		time.AfterFunc(3*time.Second, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	})
	defer stop()
	res, gotResult := readChild(stdout, events)
	werr := cmd.Wait()
	if gotResult {
		return res
	}
	msg := strings.TrimSpace(stderr.String())
	if ctx.Err() != nil {
		return fail(fmt.Errorf("interrupted"))
	}
	if msg == "" {
		msg = fmt.Sprint(werr)
	}
	return fail(fmt.Errorf("stage process ended without a result (%v): %s", werr, msg))
}

// childLine is one line a `bfc exec` child writes on stdout.
type childLine struct {
	Event  *Event  `json:"event,omitempty"`
	Result *Result `json:"result,omitempty"`
}

func readChild(r io.Reader, events func(Event)) (Result, bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var res Result
	got := false
	for sc.Scan() {
		var l childLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		if l.Event != nil {
			events(*l.Event)
		}
		if l.Result != nil {
			res, got = *l.Result, true
		}
	}
	return res, got
}

// ChildReporter returns the event sink and the final reporter used by
// `bfc exec`: JSON lines on w that the parent's Local executor reads.
func ChildReporter(w io.Writer) (events func(Event), result func(Result)) {
	enc := json.NewEncoder(w)
	events = func(e Event) { enc.Encode(childLine{Event: &e}) }
	result = func(r Result) { enc.Encode(childLine{Result: &r}) }
	return events, result
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct{ b bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b.Write(p)
	if t.b.Len() > 8<<10 {
		rest := t.b.Bytes()[t.b.Len()-8<<10:]
		nb := append([]byte(nil), rest...)
		t.b.Reset()
		t.b.Write(nb)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.b.String() }

package view

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

func TestDiffComponentsWordsEachChange(t *testing.T) {
	c := store.NewComponent
	old := []store.Component{
		c("kind", "train"), c("param:n_train", "1000"), c("seed", "master=1 seed=2"),
		c("input:000", "target[seed=1] test=aa train=bb"), c("file:data.txt", "h1"),
		c("code.pkg:stages/train", "p1"), c("code.mod:gonum.org/v1/gonum", "v0.16.0 h1:x"), c("code.go", "go1.25"),
		c("param:gone", `"x"`),
	}
	new := []store.Component{
		c("kind", "train"), c("param:n_train", "2000"), c("seed", "master=1 seed=3"),
		c("input:000", "target[seed=1] test=aa train=cc"), c("file:data.txt", "h2"),
		c("code.pkg:stages/train", "p2"), c("code.mod:gonum.org/v1/gonum", "v0.17.0 h1:y"), c("code.go", "go1.26"),
		c("param:added", "3"),
	}
	want := []string{
		"param n_train 1000 -> 2000",
		"seed master=1 seed=2 -> master=1 seed=3",
		"upstream target[seed=1] output changed (train)",
		"file data.txt changed",
		"code of package stages/train changed",
		"module gonum.org/v1/gonum v0.16.0 -> v0.17.0",
		"Go version go1.25 -> go1.26",
		"new param added = 3",
		`removed param gone (was "x")`,
	}
	got := DiffComponents(old, new, false)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if d := DiffComponents(old, old, false); len(d) != 0 {
		t.Fatalf("no change described as %v", d)
	}
	// With partial set, inputs missing from new are not reported removed.
	if d := DiffComponents(old[3:4], nil, true); len(d) != 0 {
		t.Fatalf("partial: %v", d)
	}
}

func TestFirstN(t *testing.T) {
	cases := []struct {
		in   []string
		n    int
		want string
	}{
		{nil, 2, ""},
		{[]string{"a", "b"}, 2, "a|b"},
		{[]string{"a", "b", "c", "d"}, 2, "a|b|and 2 more"},
	}
	for _, c := range cases {
		if got := strings.Join(FirstN(c.in, c.n), "|"); got != c.want {
			t.Errorf("FirstN(%v, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// TestLineDisplay drives a LineDisplay through a small run and checks
// every line it writes; the lines for finished points and notes are the
// ones BarDisplay prints above its bars.
func TestLineDisplay(t *testing.T) {
	var buf bytes.Buffer
	d := &LineDisplay{W: &buf, Every: time.Hour}
	p := &graph.Point{ID: "a[seed=1]"}
	q := &graph.Point{ID: "b"}
	key := id.Key(id.ObjectOf([]byte("k")))
	d.Begin(3)
	d.Started(p, key)
	d.Event(exec.Event{Point: p.ID, Type: "progress", Done: 1, Total: 4, Msg: "loss 0.5"}) // throttled
	d.Event(exec.Event{Point: p.ID, Type: "progress", Done: 4, Total: 4, Msg: "loss 0.1"}) // the last one shows
	d.Event(exec.Event{Point: p.ID, Type: "log", Msg: "hidden unless verbose"})
	d.Event(exec.Event{Point: p.ID, Type: "wait", Msg: "waiting for pid 7"})
	d.Finished(&exec.PointResult{Point: p, Status: exec.StatusRan, Elapsed: 1500 * time.Millisecond})
	d.Finished(&exec.PointResult{Point: q, Status: exec.StatusCached})
	d.Finished(&exec.PointResult{Point: &graph.Point{ID: "c"}, Status: exec.StatusFailed, Err: errors.New("boom")})
	const cpu, wall, cores = 3.0, 2.0, 2
	d.End(&exec.Summary{Ran: 1, Cached: 1, Failed: 1, Elapsed: wall * time.Second, CPUSeconds: cpu, Cores: cores})
	want := "run     a[seed=1]  (key " + key.Short() + ")\n" +
		"        a[seed=1]  4/4  loss 0.1  \n" +
		"note    a[seed=1]: waiting for pid 7\n" +
		"done    a[seed=1]  1.5s  [1/3]\n" +
		"FAILED  c: boom\n" +
		fmt.Sprintf("bfc: 1 ran, 1 cached, 1 failed, 0 skipped in 2s; parallel efficiency %.0f%% (CPU 3.0s / wall 2.0s x 2)\n", 100*cpu/(wall*cores))
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// TestEfficiencyNote: no note when nothing ran or under a cluster
// executor (no cores of ours).
func TestEfficiencyNote(t *testing.T) {
	cases := []struct {
		name string
		s    exec.Summary
		want string
	}{
		{"ran", exec.Summary{Ran: 2, Elapsed: 10 * time.Second, CPUSeconds: 19, Cores: 2}, "; parallel efficiency 95% (CPU 19s / wall 10s x 2)"},
		{"nothing ran", exec.Summary{Cached: 2, Elapsed: time.Second, Cores: 2}, ""},
		{"cluster", exec.Summary{Ran: 2, Elapsed: time.Second, CPUSeconds: 4}, ""},
	}
	for _, c := range cases {
		if got := EfficiencyNote(&c.s); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestFinishedAndEventLines(t *testing.T) {
	p := &graph.Point{ID: "p"}
	cases := []struct {
		res     exec.PointResult
		verbose bool
		want    string
	}{
		{exec.PointResult{Point: p, Status: exec.StatusRan, Elapsed: time.Second}, false, "done    p  1s  [2/5]\n"},
		{exec.PointResult{Point: p, Status: exec.StatusCached}, false, ""},
		{exec.PointResult{Point: p, Status: exec.StatusCached}, true, "cached  p\n"},
		{exec.PointResult{Point: p, Status: exec.StatusSkipped, Err: errors.New("input q failed")}, false, "skipped p: input q failed\n"},
	}
	for _, c := range cases {
		if got := finishedLine(&c.res, 2, 5, c.verbose); got != c.want {
			t.Errorf("%s verbose=%v: %q, want %q", c.res.Status, c.verbose, got, c.want)
		}
	}
	if got := eventLine(exec.Event{Point: "p", Type: "log", Msg: "x"}, true); got != "        p: x\n" {
		t.Errorf("verbose log line %q", got)
	}
	if got := eventLine(exec.Event{Point: "p", Type: "log", Msg: "x"}, false); got != "" {
		t.Errorf("quiet log line %q", got)
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		secs float64
		want string
	}{{0.042, "0.04s"}, {2.44, "2.4s"}, {12.4, "12s"}, {185, "3m05s"}, {3725, "1h02m"}} {
		if got := Duration(c.secs); got != c.want {
			t.Errorf("Duration(%v) = %q, want %q", c.secs, got, c.want)
		}
	}
}

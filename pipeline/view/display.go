package view

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// The two displays say the same things (a line per finished point, notes
// and log lines, the summary) and differ in how a running point shows:
// LineDisplay prints throttled progress lines, BarDisplay draws a bar.
// What they share lives in tracker and the line functions below.

// progressState tracks one running point for ETA estimates.
type progressState struct {
	first     time.Time
	firstDone int
	last      time.Time
	bar       *mpb.Bar
	msg       string
}

func eta(ps *progressState, done, total int, now time.Time) string {
	if done <= ps.firstDone || total <= done {
		return ""
	}
	rate := now.Sub(ps.first).Seconds() / float64(done-ps.firstDone)
	left := time.Duration(rate * float64(total-done) * float64(time.Second))
	return "eta " + left.Round(time.Second).String()
}

// tracker counts finished points and keeps the state of running ones.
type tracker struct {
	mu    sync.Mutex
	state map[string]*progressState
	total int
	seen  int
}

func (t *tracker) begin(n int) {
	t.total, t.state = n, map[string]*progressState{}
}

// finish forgets a point and returns its state and the count of finished
// points. The caller holds t.mu.
func (t *tracker) finish(point string) (*progressState, int) {
	ps := t.state[point]
	delete(t.state, point)
	t.seen++
	return ps, t.seen
}

// progress handles an event for both displays: any event but progress is
// written to w as a line (eventLine) and gives nil; a progress event gives
// the state of its point, created if the point was not started. The caller
// holds t.mu.
func (t *tracker) progress(w io.Writer, ev exec.Event, verbose bool) *progressState {
	if ev.Type != "progress" {
		writeLine(w, eventLine(ev, verbose))
		return nil
	}
	ps := t.state[ev.Point]
	if ps == nil {
		ps = &progressState{first: time.Now()}
		t.state[ev.Point] = ps
	}
	return ps
}

// finishedLine is the line a finished point gets, or "" for none.
func finishedLine(res *exec.PointResult, seen, total int, verbose bool) string {
	switch res.Status {
	case exec.StatusRan:
		return fmt.Sprintf("done    %s  %s  [%d/%d]\n", res.Point.ID, res.Elapsed.Round(time.Millisecond), seen, total)
	case exec.StatusCached:
		if verbose {
			return fmt.Sprintf("cached  %s\n", res.Point.ID)
		}
	case exec.StatusFailed:
		return fmt.Sprintf("FAILED  %s: %v\n", res.Point.ID, res.Err)
	case exec.StatusSkipped:
		return fmt.Sprintf("skipped %s: %v\n", res.Point.ID, res.Err)
	}
	return ""
}

// eventLine is the line an event other than progress gets, or "".
func eventLine(ev exec.Event, verbose bool) string {
	if ev.Type == "log" {
		if verbose {
			return fmt.Sprintf("        %s: %s\n", ev.Point, ev.Msg)
		}
		return ""
	}
	return fmt.Sprintf("note    %s: %s\n", ev.Point, ev.Msg)
}

// writeLine writes a line unless it is empty.
func writeLine(w io.Writer, line string) {
	if line != "" {
		io.WriteString(w, line)
	}
}

// LineDisplay writes plain lines, for logs and non-terminals: starts,
// throttled progress with ETA, finishes, failures and the summary.
type LineDisplay struct {
	W       io.Writer
	Verbose bool          // also show cached points and stage log lines
	Every   time.Duration // minimum time between progress lines of one point

	tracker
}

func (d *LineDisplay) Begin(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.begin(n)
	if d.Every == 0 {
		d.Every = 5 * time.Second
	}
}

func (d *LineDisplay) Started(p *graph.Point, key id.Key) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	d.state[p.ID] = &progressState{first: now, last: now}
	fmt.Fprintf(d.W, "run     %s  (key %s)\n", p.ID, key.Short())
}

func (d *LineDisplay) Event(ev exec.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ps := d.progress(d.W, ev, d.Verbose)
	if ps == nil {
		return
	}
	now := time.Now()
	if ps.firstDone == 0 && ev.Done > 0 && ps.first.IsZero() {
		ps.first, ps.firstDone = now, ev.Done
	}
	if now.Sub(ps.last) < d.Every && ev.Done < ev.Total {
		return
	}
	ps.last = now
	fmt.Fprintf(d.W, "        %s  %d/%d  %s  %s\n", ev.Point, ev.Done, ev.Total, ev.Msg, eta(ps, ev.Done, ev.Total, now))
}

func (d *LineDisplay) Finished(res *exec.PointResult) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, seen := d.finish(res.Point.ID)
	writeLine(d.W, finishedLine(res, seen, d.total, d.Verbose))
}

func (d *LineDisplay) Printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.W, format+"\n", args...)
}

func (d *LineDisplay) End(s *exec.Summary) {
	d.mu.Lock()
	defer d.mu.Unlock()
	writeSummary(d.W, s)
}

func writeSummary(w io.Writer, s *exec.Summary) {
	for _, p := range s.Published {
		fmt.Fprintf(w, "wrote   %s\n", relPath(p))
	}
	if s.Ran == 0 && s.Failed == 0 && s.Skipped == 0 {
		fmt.Fprintf(w, "bfc: all %d stage points up to date, nothing to run (%s)\n", s.Cached, s.Elapsed.Round(time.Millisecond))
		return
	}
	fmt.Fprintf(w, "bfc: %d ran, %d cached, %d failed, %d skipped in %s%s\n", s.Ran, s.Cached, s.Failed, s.Skipped, s.Elapsed.Round(time.Millisecond), EfficiencyNote(s))
}

// EfficiencyNote is the summary line's note on the parallel efficiency of
// a run, "; parallel efficiency 93% (CPU 12m03s / wall 6m30s x 2)", or ""
// when it is not known (nothing ran, or a cluster executor).
func EfficiencyNote(s *exec.Summary) string {
	if s.Ran == 0 || s.Cores == 0 {
		return ""
	}
	return fmt.Sprintf("; parallel efficiency %.0f%% (CPU %s / wall %s x %d)", 100*s.Efficiency(), Duration(s.CPUSeconds), Duration(s.Elapsed.Seconds()), s.Cores)
}

func relPath(p string) string {
	if wd, err := filepath.Abs("."); err == nil {
		if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return p
}

// BarDisplay draws a live progress bar per running point on a terminal
// (mpb), with stage, step, status message and ETA, and prints finished
// points above the bars.
type BarDisplay struct {
	W       io.Writer
	Verbose bool

	tracker
	p *mpb.Progress
}

func (d *BarDisplay) Begin(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.begin(n)
	d.p = mpb.New(mpb.WithOutput(d.W), mpb.WithWidth(30), mpb.WithRefreshRate(200*time.Millisecond))
}

func (d *BarDisplay) Started(pt *graph.Point, _ id.Key) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ps := &progressState{}
	d.state[pt.ID] = ps
	name := pt.ID
	if len(name) > 48 {
		name = name[:45] + "..."
	}
	ps.bar = d.p.AddBar(0,
		mpb.PrependDecorators(decor.Name(name, decor.WC{W: 49, C: decor.DindentRight})),
		mpb.AppendDecorators(
			decor.CountersNoUnit("%d/%d", decor.WCSyncWidth),
			decor.Any(func(decor.Statistics) string {
				d.mu.Lock()
				defer d.mu.Unlock()
				return "  " + ps.msg
			}),
		),
		mpb.BarRemoveOnComplete(),
	)
}

func (d *BarDisplay) Event(ev exec.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ps := d.progress(d.p, ev, d.Verbose)
	if ps == nil || ps.bar == nil {
		return
	}
	now := time.Now()
	if ps.first.IsZero() {
		ps.first, ps.firstDone = now, ev.Done
	}
	ps.msg = strings.TrimSpace(ev.Msg + "  " + eta(ps, ev.Done, ev.Total, now))
	ps.bar.SetTotal(int64(ev.Total), false)
	ps.bar.SetCurrent(int64(min(ev.Done, ev.Total)))
}

func (d *BarDisplay) Finished(res *exec.PointResult) {
	d.mu.Lock()
	ps, seen := d.finish(res.Point.ID)
	d.mu.Unlock()
	if ps != nil && ps.bar != nil {
		ps.bar.Abort(true)
		ps.bar.Wait()
	}
	writeLine(d.p, finishedLine(res, seen, d.total, d.Verbose))
}

func (d *BarDisplay) Printf(format string, args ...any) {
	fmt.Fprintf(d.p, format+"\n", args...)
}

func (d *BarDisplay) End(s *exec.Summary) {
	d.p.Wait()
	writeSummary(d.W, s)
}

package pipeline

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Display shows a run as it happens.
type Display interface {
	Begin(points int)
	Started(p *Point, key string)
	Event(ev Event)
	Finished(res *PointResult)
	Printf(format string, args ...any)
	End(sum *Summary)
}

// NopDisplay shows nothing.
type NopDisplay struct{}

func (NopDisplay) Begin(int)              {}
func (NopDisplay) Started(*Point, string) {}
func (NopDisplay) Event(Event)            {}
func (NopDisplay) Finished(*PointResult)  {}
func (NopDisplay) Printf(string, ...any)  {}
func (NopDisplay) End(*Summary)           {}

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

// LineDisplay writes plain lines, for logs and non-terminals: starts,
// throttled progress with ETA, finishes, failures and the summary.
type LineDisplay struct {
	W       io.Writer
	Verbose bool          // also show cached points and stage log lines
	Every   time.Duration // minimum time between progress lines of one point

	mu    sync.Mutex
	state map[string]*progressState
	total int
	seen  int
}

func (d *LineDisplay) Begin(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.total, d.state = n, map[string]*progressState{}
	if d.Every == 0 {
		d.Every = 5 * time.Second
	}
}

func (d *LineDisplay) Started(p *Point, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	d.state[p.ID] = &progressState{first: now, last: now}
	fmt.Fprintf(d.W, "run     %s  (key %s)\n", p.ID, key[:12])
}

func (d *LineDisplay) Event(ev Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch ev.Type {
	case "progress":
		ps := d.state[ev.Point]
		if ps == nil {
			ps = &progressState{first: time.Now()}
			d.state[ev.Point] = ps
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
	case "log":
		if d.Verbose {
			fmt.Fprintf(d.W, "        %s: %s\n", ev.Point, ev.Msg)
		}
	default:
		fmt.Fprintf(d.W, "note    %s: %s\n", ev.Point, ev.Msg)
	}
}

func (d *LineDisplay) Finished(res *PointResult) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen++
	delete(d.state, res.Point.ID)
	switch res.Status {
	case StatusRan:
		fmt.Fprintf(d.W, "done    %s  %s  [%d/%d]\n", res.Point.ID, res.Elapsed.Round(time.Millisecond), d.seen, d.total)
	case StatusCached:
		if d.Verbose {
			fmt.Fprintf(d.W, "cached  %s\n", res.Point.ID)
		}
	case StatusFailed:
		fmt.Fprintf(d.W, "FAILED  %s: %v\n", res.Point.ID, res.Err)
	case StatusSkipped:
		fmt.Fprintf(d.W, "skipped %s: %v\n", res.Point.ID, res.Err)
	}
}

func (d *LineDisplay) Printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.W, format+"\n", args...)
}

func (d *LineDisplay) End(s *Summary) {
	d.mu.Lock()
	defer d.mu.Unlock()
	writeSummary(d.W, s)
}

func writeSummary(w io.Writer, s *Summary) {
	for _, p := range s.Published {
		fmt.Fprintf(w, "wrote   %s\n", relPath(p))
	}
	if s.Ran == 0 && s.Failed == 0 && s.Skipped == 0 {
		fmt.Fprintf(w, "bfc: all %d stage points up to date, nothing to run (%s)\n", s.Cached, s.Elapsed.Round(time.Millisecond))
		return
	}
	fmt.Fprintf(w, "bfc: %d ran, %d cached, %d failed, %d skipped in %s\n", s.Ran, s.Cached, s.Failed, s.Skipped, s.Elapsed.Round(time.Millisecond))
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

	mu    sync.Mutex
	p     *mpb.Progress
	state map[string]*progressState
	total int
	seen  int
}

func (d *BarDisplay) Begin(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.total, d.state = n, map[string]*progressState{}
	d.p = mpb.New(mpb.WithOutput(d.W), mpb.WithWidth(30), mpb.WithRefreshRate(200*time.Millisecond))
}

func (d *BarDisplay) Started(pt *Point, key string) {
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

func (d *BarDisplay) Event(ev Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch ev.Type {
	case "progress":
		ps := d.state[ev.Point]
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
	case "log":
		if d.Verbose {
			fmt.Fprintf(d.p, "        %s: %s\n", ev.Point, ev.Msg)
		}
	default:
		fmt.Fprintf(d.p, "note    %s: %s\n", ev.Point, ev.Msg)
	}
}

func (d *BarDisplay) Finished(res *PointResult) {
	d.mu.Lock()
	ps := d.state[res.Point.ID]
	delete(d.state, res.Point.ID)
	d.seen++
	seen := d.seen
	d.mu.Unlock()
	if ps != nil && ps.bar != nil {
		ps.bar.Abort(true)
		ps.bar.Wait()
	}
	switch res.Status {
	case StatusRan:
		fmt.Fprintf(d.p, "done    %s  %s  [%d/%d]\n", res.Point.ID, res.Elapsed.Round(time.Millisecond), seen, d.total)
	case StatusCached:
		if d.Verbose {
			fmt.Fprintf(d.p, "cached  %s\n", res.Point.ID)
		}
	case StatusFailed:
		fmt.Fprintf(d.p, "FAILED  %s: %v\n", res.Point.ID, res.Err)
	case StatusSkipped:
		fmt.Fprintf(d.p, "skipped %s: %v\n", res.Point.ID, res.Err)
	}
}

func (d *BarDisplay) Printf(format string, args ...any) {
	fmt.Fprintf(d.p, format+"\n", args...)
}

func (d *BarDisplay) End(s *Summary) {
	d.p.Wait()
	writeSummary(d.W, s)
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bfc-repro/bfc/artifacts/atomicfile"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/view"
)

// The run history. Every `bfc run` (not -n) writes one file,
// STORE/history/START-PID.json, when it ends, failed or not: when it ran,
// its command line, profile, host, exit status, counts, parallel
// efficiency (exec.Summary.Efficiency), and every point it computed,
// failed or skipped with its key and times (CPU from the
// point's run record). Cached points are only counted. gc leaves the
// history alone; `bfc log` reads it.

// runEntry is one run of `bfc run`.
type runEntry struct {
	Start       string  `json:"start"` // RFC 3339, UTC
	End         string  `json:"end"`
	WallSeconds float64 `json:"wall_s"`
	CPUSeconds  float64 `json:"cpu_s"` // user+sys of the points that ran, from their run records
	// RunWallSeconds is the wall time of the runner (exec.Summary.Elapsed:
	// from taking the store lock to the last point), Cores the CPUs it
	// could use and Efficiency cpu_s / (run_wall_s x cores); absent when
	// nothing ran or under a cluster executor.
	RunWallSeconds float64    `json:"run_wall_s,omitempty"`
	Cores          int        `json:"cores,omitempty"`
	Efficiency     float64    `json:"parallel_efficiency,omitempty"`
	Host           string     `json:"host"`
	Args           []string   `json:"args"`
	Profile        string     `json:"profile"`
	Exit           int        `json:"exit"` // the exit status of bfc run: 0 or 1
	Error          string     `json:"error,omitempty"`
	Ran            int        `json:"ran"`
	Cached         int        `json:"cached"`
	Failed         int        `json:"failed"`
	Skipped        int        `json:"skipped"`
	Points         []runPoint `json:"points"` // ran, failed or skipped, in the order they finished
}

// runPoint is a point a run computed, failed or skipped.
type runPoint struct {
	Point       string  `json:"point"`
	Status      string  `json:"status"` // ran, failed, skipped
	Key         string  `json:"key,omitempty"`
	WallSeconds float64 `json:"wall_s"`
	CPUSeconds  float64 `json:"cpu_s"`
	Error       string  `json:"error,omitempty"`
}

// history records one run as it goes.
type history struct {
	p     *project
	start time.Time
	args  []string
}

func startHistory(p *project, args []string) *history {
	return &history{p: p, start: time.Now(), args: args}
}

func historyDir(dir string) string { return filepath.Join(dir, "history") }

// finish writes the run's entry; sum may be nil if the run could not start.
func (h *history) finish(sum *exec.Summary, runErr error) error {
	end := time.Now()
	host, _ := os.Hostname()
	e := runEntry{Start: h.start.UTC().Format(time.RFC3339Nano), End: end.UTC().Format(time.RFC3339Nano),
		WallSeconds: end.Sub(h.start).Seconds(), Host: host, Args: h.args, Profile: h.p.graph.Profile, Points: []runPoint{}}
	if runErr != nil {
		e.Exit, e.Error = 1, runErr.Error()
	}
	if sum != nil {
		e.Ran, e.Cached, e.Failed, e.Skipped = sum.Ran, sum.Cached, sum.Failed, sum.Skipped
		e.CPUSeconds = sum.CPUSeconds
		if sum.Ran > 0 && sum.Cores > 0 {
			e.RunWallSeconds, e.Cores, e.Efficiency = sum.Elapsed.Seconds(), sum.Cores, sum.Efficiency()
		}
		for _, pt := range h.p.graph.Points { // graph order: deterministic
			r, ok := sum.Results[pt]
			if !ok || r.Status == exec.StatusCached {
				continue
			}
			rp := runPoint{Point: pt.ID, Status: r.Status, WallSeconds: r.Elapsed.Seconds()}
			if !r.Key.IsZero() {
				rp.Key = r.Key.String()
			}
			if r.Err != nil {
				rp.Error = r.Err.Error()
			}
			if r.Manifest != nil {
				rp.WallSeconds = r.Manifest.Run.WallSeconds
				rp.CPUSeconds = r.Manifest.Run.UserSeconds + r.Manifest.Run.SysSeconds
			}
			e.Points = append(e.Points, rp)
		}
	}
	b, err := json.MarshalIndent(e, "", " ")
	if err != nil {
		return err
	}
	dir := historyDir(h.p.store.Dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%d.json", h.start.UTC().Format("20060102T150405.000000000Z"), os.Getpid())
	_, err = atomicfile.Write(filepath.Join(dir, name), filepath.Join(h.p.store.Dir, "tmp"), 0o444, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	return err
}

// readHistory returns every run of the store's history, oldest first. A
// file that does not parse is an error naming it.
func readHistory(storeDir string) ([]runEntry, error) {
	ents, err := os.ReadDir(historyDir(storeDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	var out []runEntry
	for _, de := range ents {
		if !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		p := filepath.Join(historyDir(storeDir), de.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		var e runEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("history file %s: %w", p, err)
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b runEntry) int { return strings.Compare(a.Start, b.Start) })
	return out, nil
}

func logCmd(g *globals) *cobra.Command {
	var last int
	var asJSON bool
	c := &cobra.Command{
		Use:   "log",
		Short: "List past runs: when, which points, wall and CPU time, host, exit status",
		Long: `Log lists the runs recorded in the store's history (STORE/history/, one file per
` + "`bfc run`" + `), oldest first: start time, exit status, wall time, CPU time of the
points that ran (from their run records), parallel efficiency (that CPU time /
(the runner's wall time x the CPUs it could use); "-" when nothing ran), host,
the counts of points that ran, were cached, failed or were skipped, and the
command line. -v also lists each
point a run computed, failed or skipped. --json prints an array of runs (see
` + "`bfc help json`" + `).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, _, dir, err := g.build()
			if err != nil {
				return err
			}
			runs, err := readHistory(dir)
			if err != nil {
				return err
			}
			if last > 0 && len(runs) > last {
				runs = runs[len(runs)-last:]
			}
			if asJSON {
				if runs == nil {
					runs = []runEntry{}
				}
				return writeJSON(os.Stdout, runs)
			}
			if len(runs) == 0 {
				fmt.Printf("no runs recorded in %s\n", historyDir(dir))
				return nil
			}
			for _, r := range runs {
				when := r.Start
				if t, err := time.Parse(time.RFC3339Nano, r.Start); err == nil {
					when = t.Local().Format("2006-01-02 15:04:05")
				}
				eff := "-"
				if r.Cores > 0 {
					eff = fmt.Sprintf("%.0f%%", 100*r.Efficiency)
				}
				fmt.Printf("%s  exit %d  wall %-7s cpu %-7s eff %-4s %s  ran %d, cached %d, failed %d, skipped %d  bfc %s\n", when, r.Exit,
					view.Duration(r.WallSeconds), view.Duration(r.CPUSeconds), eff, r.Host, r.Ran, r.Cached, r.Failed, r.Skipped, strings.Join(r.Args, " "))
				if !g.verbose {
					continue
				}
				for _, p := range r.Points {
					detail := fmt.Sprintf("wall %s, cpu %s", view.Duration(p.WallSeconds), view.Duration(p.CPUSeconds))
					if p.Error != "" {
						detail = p.Error
					}
					fmt.Printf("    %-7s %s  %s\n", p.Status, p.Point, detail)
				}
			}
			return nil
		},
	}
	c.Flags().IntVar(&last, "last", 20, "show the last N runs (0: all)")
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array (see `bfc help json`)")
	return c
}

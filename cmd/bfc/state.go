package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/view"
)

// selectorHelp is the selector syntax, shown by every command that takes
// selectors.
const selectorHelp = `Selectors: a stage (E5_kernel), a glob of stages (E5_*), or either with
conditions on grid axes in any order and any subset, values globbed too:
E5_kernel[n=128], E5_kernel[seed=1,method=krr_poly], E5_*[d=1*]. An unknown
stage, axis or value is an error listing the valid ones.`

// pointJSON is one point's state in the JSON of status, explain and run -n.
type pointJSON struct {
	Point    string            `json:"point"`
	Stage    string            `json:"stage"`
	Kind     string            `json:"kind"`
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"`
	Key      string            `json:"key"` // "" until the upstream points it waits for have run
	Reasons  []string          `json:"reasons"`
	Probes   []store.ProbeRef  `json:"probes,omitempty"`   // of a fresh point: the dynamic probes its run used
	Estimate *exec.Estimate    `json:"estimate,omitempty"` // run -n only
}

func toJSON(s *view.PointStatus) pointJSON {
	pj := pointJSON{Point: s.Point.ID, Stage: s.Point.Stage.ID, Kind: s.Point.Stage.Kind.Name(), Labels: s.Point.Labels,
		State: s.State, Reasons: s.Reasons}
	if pj.Labels == nil {
		pj.Labels = map[string]string{}
	}
	if pj.Reasons == nil {
		pj.Reasons = []string{}
	}
	if !s.Key.IsZero() {
		pj.Key = s.Key.String()
	}
	if s.Manifest != nil {
		pj.Probes = s.Manifest.Probes
	}
	return pj
}

// statusJSON is the JSON of `bfc status --json`.
type statusJSON struct {
	Profile      string            `json:"profile"`
	Store        string            `json:"store"`
	StoreExists  bool              `json:"store_exists"`
	Total        int               `json:"total"`
	Fresh        int               `json:"fresh"`
	Stale        int               `json:"stale"`
	Missing      int               `json:"missing"`
	DistinctKeys int               `json:"distinct_keys"`
	UnknownKeys  int               `json:"unknown_keys"`
	SharedKeys   []view.SharedKey  `json:"shared_keys"`
	Stages       []view.StageCount `json:"stages"`
	Points       []pointJSON       `json:"points"`
	Rules        *rulesJSON        `json:"rules,omitempty"` // the frozen decision rules, if the file names them
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// statusErr makes every error of status exit 2: exit 1 means "something
// would run".
func statusErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(exitStatus); ok {
		return err
	}
	return exitStatus{code: 2, err: err}
}

func statusCmd(g *globals) *cobra.Command {
	var all, asJSON bool
	c := &cobra.Command{
		Use:   "status [SELECTOR...]",
		Short: "Count fresh, stale and missing points per stage; exit 1 if anything would run",
		Long: `Status computes every selected point's key without running anything and compares
it with the store: fresh (committed, outputs intact), stale (computed before,
but something changed), missing (never computed). It works before the first
run too (everything missing; nothing is created).

By default it prints one line per stage with its counts, then the totals and
the number of distinct keys: points of different stages that describe the
same computation (same kind, parameters, seed, input data and code) share one
key and are stored once, so there are fewer keys than points. -v lists every
point that is not fresh with its reasons (-v --all: every point, with the
dynamic probes a fresh point's run used) and the points that share a key.

Exit status: 0 when every selected point is fresh, 1 when something would run,
2 on an error (as git diff --exit-code). --json prints the same as one JSON
object (see ` + "`bfc help json`" + `).

` + selectorHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return statusErr(status(g, args, all, asJSON))
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "with -v: list fresh points too")
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON object (see `bfc help json`)")
	return c
}

// statuses loads the project to look at it (g.inspect) and computes the
// status of the points the selectors select, with what they depend on if
// closure is set.
func (g *globals) statuses(args []string, closure bool) (*project, []*view.PointStatus, error) {
	p, err := g.inspect()
	if err != nil {
		return nil, nil, err
	}
	pts, err := view.Select(p.graph, args)
	if err != nil {
		return nil, nil, usageError{err}
	}
	if closure {
		pts = p.graph.Closure(pts)
	}
	return p, view.Status(p.engine, pts), nil
}

func status(g *globals, args []string, all, asJSON bool) error {
	p, sts, err := g.statuses(args, false)
	if err != nil {
		return err
	}
	distinct, unknown, shared := view.KeyCount(sts)
	out := statusJSON{Profile: p.graph.Profile, Store: storeDir(p), StoreExists: p.store != nil, Total: len(sts),
		DistinctKeys: distinct, UnknownKeys: unknown, SharedKeys: shared, Stages: view.Rollup(sts), Rules: rulesState(p.graph.Config)}
	if out.SharedKeys == nil {
		out.SharedKeys = []view.SharedKey{}
	}
	for _, s := range sts {
		out.Points = append(out.Points, toJSON(s))
		switch s.State {
		case view.StateFresh:
			out.Fresh++
		case view.StateStale:
			out.Stale++
		default:
			out.Missing++
		}
	}
	if asJSON {
		if err := writeJSON(os.Stdout, out); err != nil {
			return err
		}
	} else {
		printStatus(os.Stdout, &out, sts, g.verbose, all)
	}
	if out.Fresh < out.Total {
		return exitStatus{code: 1}
	}
	return nil
}

func storeDir(p *project) string {
	if p.store != nil {
		return p.store.Dir
	}
	return p.graph.Config.Store
}

func printStatus(w io.Writer, out *statusJSON, sts []*view.PointStatus, verbose, all bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if verbose {
		for _, s := range sts {
			if s.State == view.StateFresh && !all {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.State, s.Point.ID, strings.Join(view.FirstN(s.Reasons, 3), "; "))
			if s.Manifest != nil {
				for _, pr := range s.Manifest.Probes {
					fmt.Fprintf(tw, "\t  probe %s\tkey %s\n", pr.Name, pr.Key.Short())
				}
			}
		}
	} else {
		fmt.Fprintln(tw, "stage\tkind\tpoints\tfresh\tstale\tmissing")
		for _, c := range out.Stages {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", c.Stage, c.Kind, c.Points, c.Fresh, c.Stale, c.Missing)
		}
	}
	tw.Flush()
	if !out.StoreExists {
		fmt.Fprintf(w, "no store at %s yet: `bfc run` creates it\n", out.Store)
	}
	fmt.Fprintf(w, "%d points: %d fresh, %d stale, %d missing (profile %q)\n", out.Total, out.Fresh, out.Stale, out.Missing, out.Profile)
	fmt.Fprintln(w, keyLine(out))
	if out.Rules != nil {
		fmt.Fprintln(w, rulesLine(out.Rules, out.Profile))
	}
	if verbose {
		for _, sk := range out.SharedKeys {
			fmt.Fprintf(w, "  key %s: %s\n", sk.Key.Short(), strings.Join(sk.Points, " = "))
		}
	}
}

// keyLine says how many distinct keys the points have, and why there are
// fewer keys than points.
func keyLine(out *statusJSON) string {
	line := fmt.Sprintf("%d distinct keys", out.DistinctKeys)
	if out.UnknownKeys > 0 {
		line += fmt.Sprintf(" (+ %d points whose key is known only once their upstream points have run)", out.UnknownKeys)
	}
	if n := out.Total - out.DistinctKeys - out.UnknownKeys; n > 0 {
		ex := out.SharedKeys[0].Points
		line += fmt.Sprintf(": %d points share their key with another point (the same computation, stored once; e.g. %s = %s)",
			n, ex[0], ex[1])
	}
	return line
}

func explainCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "explain SELECTOR...",
		Short: "Say exactly why a point would rerun: which key components changed",
		Long: `Explain compares the key each point would have now with the key of its last
run under the same profile, component by component: parameters (old and new
value), seed, upstream outputs, external files, and the code of each Go
package and module the stage kind depends on. A point waiting on stale
upstream points names them. With -v, the dynamic probes a fresh point used
are listed with their keys. --json prints an array of points (see ` + "`bfc help json`" + `).

` + selectorHelp,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, sts, err := g.statuses(args, false)
			if err != nil {
				return err
			}
			if asJSON {
				list := make([]pointJSON, len(sts))
				for i, s := range sts {
					list[i] = toJSON(s)
				}
				return writeJSON(os.Stdout, list)
			}
			for _, s := range sts {
				key := "unknown until upstream runs"
				if !s.Key.IsZero() {
					key = s.Key.Short()
				}
				fmt.Printf("%s: %s (key %s)\n", s.Point.ID, s.State, key)
				for _, r := range s.Reasons {
					fmt.Printf("  - %s\n", r)
				}
				if g.verbose && s.Manifest != nil {
					for _, pr := range s.Manifest.Probes {
						fmt.Printf("  probe %s (key %s)\n", pr.Name, pr.Key.Short())
					}
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array (see `bfc help json`)")
	return c
}

// planJSON is the JSON of `bfc run -n --json`.
type planJSON struct {
	Profile        string      `json:"profile"`
	Host           string      `json:"host"`
	Jobs           int         `json:"jobs"`
	Run            []pointJSON `json:"run"` // the points that would run, in order
	Fresh          int         `json:"fresh"`
	KnownSeconds   float64     `json:"known_seconds"` // sum of the known estimates
	Unknown        int         `json:"unknown"`       // points without an estimate
	MinWallSeconds float64     `json:"min_wall_seconds"`
}

// dryRun prints what `bfc run` would do with the same selectors.
func dryRun(g *globals, args []string, force, asJSON bool) error {
	p, sts, err := g.statuses(args, true)
	if err != nil {
		return err
	}
	forced := map[*graph.Point]bool{}
	if force {
		targets, _ := view.Select(p.graph, args) // selected without error just now
		for _, t := range targets {
			forced[t] = true
		}
	}
	host, _ := os.Hostname()
	est := exec.NewEstimator(p.engine, host)
	plan := planJSON{Profile: p.graph.Profile, Host: host, Jobs: g.jobs, Run: []pointJSON{}}
	var cpuSecs float64 // estimate x CPU grant, for the wall-time bound
	for _, s := range sts {
		if s.State == view.StateFresh && !forced[s.Point] {
			plan.Fresh++
			continue
		}
		pj := toJSON(s)
		if forced[s.Point] && s.State == view.StateFresh {
			pj.Reasons = []string{"--force"}
		}
		e := est.For(s.Point, s.Last)
		pj.Estimate = &e
		if e.Known {
			plan.KnownSeconds += e.Seconds
			cpuSecs += e.Seconds * float64(exec.CPUGrant(s.Point, g.jobs))
			plan.MinWallSeconds = max(plan.MinWallSeconds, e.Seconds)
		} else {
			plan.Unknown++
		}
		plan.Run = append(plan.Run, pj)
	}
	plan.MinWallSeconds = max(plan.MinWallSeconds, cpuSecs/float64(max(1, g.jobs)))
	if asJSON {
		return writeJSON(os.Stdout, plan)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	for _, pj := range plan.Run {
		t := "unknown"
		if pj.Estimate.Known {
			t = "~" + view.Duration(pj.Estimate.Seconds) + " (" + pj.Estimate.Basis + ")"
		}
		fmt.Fprintf(tw, "would run\t%s\t%s\t%s\n", pj.Point, t, strings.Join(view.FirstN(pj.Reasons, 2), "; "))
	}
	tw.Flush()
	fmt.Println(planLine(&plan))
	return nil
}

func planLine(plan *planJSON) string {
	if len(plan.Run) == 0 {
		return fmt.Sprintf("nothing would run: all %d points are fresh", plan.Fresh)
	}
	line := fmt.Sprintf("%d points would run, %d fresh", len(plan.Run), plan.Fresh)
	if plan.Unknown < len(plan.Run) {
		line += fmt.Sprintf("; estimated %s of stage time on %s, at least %s of wall time with -j %d",
			view.Duration(plan.KnownSeconds), plan.Host, view.Duration(plan.MinWallSeconds), plan.Jobs)
	}
	if plan.Unknown > 0 {
		line += fmt.Sprintf("; %d without an estimate (no run record of their stage on this store)", plan.Unknown)
	}
	return line
}

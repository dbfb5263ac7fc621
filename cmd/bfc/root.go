package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	bfc "github.com/bfc-repro/bfc"
	"github.com/bfc-repro/bfc/artifacts/atomicfile"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/view"
	"github.com/bfc-repro/bfc/stages/all"
	"github.com/bfc-repro/bfc/stages/lib/linalg"
)

func init() {
	// The BLAS backend linked into this binary is part of the code
	// identity of every kind that uses gonum.
	graph.BLASBackend = linalg.Backend()
}

// globals are the flags every command takes.
type globals struct {
	file     string
	profile  string
	jobs     int
	store    string
	verbose  bool
	progress string
	// cpuProfile is the hidden --cpuprofile FILE: a CPU profile of the
	// whole command, for work on the engine's speed (go tool pprof).
	cpuProfile string
}

func newRoot() *cobra.Command {
	g := &globals{}
	var showVersion bool
	root := &cobra.Command{
		Use:   "bfc",
		Short: "Reproduce \"Backward Feature Correction\" (Allen-Zhu & Li) from a TOML-declared DAG",
		Long: `bfc runs the reproduction pipeline declared in pipeline.toml: a DAG of stages
(target sampling, hierarchical training, baselines, sweeps, figures, the report)
whose results are cached as content-addressed Arrow files in the store (.bfc/).
A stage reruns only when its key changes: its kind, parameters, seed, the data
of its inputs, or the code it runs.

Before running: bfc run -n says what would run, why and about how long it
takes; bfc status counts fresh, stale and missing points (exit 1 when
something would run). Commands take selectors (bfc help run), --json output
is described by bfc help json, bfc log lists past runs. bfc freeze records the
hash of the decision rules, from which the confirmatory seeds derive.

The pipeline file is checked before anything runs, under every profile: each
problem is reported on its own line (file:line: field: message, with a
suggestion for a misspelt name or value), external files a stage reads must
exist, and bfc exits with status 2.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				fmt.Print(versionText())
				return nil
			}
			return cmd.Help()
		},
	}
	root.Flags().BoolVar(&showVersion, "version", false, "print the version and the code identity of this binary")
	pf := root.PersistentFlags()
	pf.StringVarP(&g.file, "file", "f", "pipeline.toml", "pipeline file")
	pf.StringVar(&g.profile, "profile", "", "profile of the pipeline file to apply (e.g. smoke)")
	pf.IntVarP(&g.jobs, "jobs", "j", runtime.NumCPU(), "CPU budget: stages run in parallel within it")
	pf.StringVar(&g.store, "store", "", "store directory (default: [pipeline] store, .bfc)")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "show cached stages and stage log lines")
	pf.StringVar(&g.progress, "progress", "auto", "progress display: auto, bars, lines or none")
	pf.StringVar(&g.cpuProfile, "cpuprofile", "", "write a CPU profile of the command to `FILE` (for go tool pprof)")
	pf.MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error { return g.startProfile() }
	root.AddCommand(runCmd(g), statusCmd(g), explainCmd(g), dagCmd(g), showCmd(g), exportCmd(g),
		withBundleVerify(g, verifyCmd(g)), gcCmd(g), kindsCmd(g), execCmd(g), archiveCmd(g), reproduceCmd(g), diffCmd(g),
		logCmd(g), freezeCmd(g), jsonHelp())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	return root
}

// project is a loaded pipeline: graph, store, code base.
type project struct {
	graph  *graph.Graph
	store  *store.Store
	engine *graph.Engine
	kinds  graph.Registry
}

func registry() graph.Registry { return graph.NewRegistry(all.Kinds()...) }

func codeBase() (*graph.CodeBase, error) { return graph.NewCodeBase(bfc.Source, bfc.ModulePath) }

// storeCodeBase is codeBase with its package hashes cached in the store's
// file codehash (graph.CodeBase.LoadHashes), saved when the command ends,
// and the store's recoverable problems printed as notes. Without a store
// nothing is cached.
func storeCodeBase(st *store.Store) (*graph.CodeBase, error) {
	cb, err := codeBase()
	if err != nil || st == nil {
		return cb, err
	}
	st.Warn = func(msg string) { fmt.Fprintf(os.Stderr, "bfc: note: %s\n", msg) }
	path := filepath.Join(st.Dir, "codehash")
	if b, err := os.ReadFile(path); err == nil {
		cb.LoadHashes(b)
	}
	atExit(func() {
		if b, changed := cb.Hashes(); changed {
			// Best effort: losing the file costs only hashing.
			atomicfile.Write(path, filepath.Join(st.Dir, "tmp"), 0o644, func(w io.Writer) error {
				_, err := w.Write(b)
				return err
			})
		}
	})
	return cb, nil
}

// build parses and validates the pipeline file under the profile and
// returns its graph and the store directory (--store, else the profile's).
// See check for what is validated.
func (g *globals) build() (*config.Config, *graph.Graph, string, error) {
	return check(g.file, g.profile, g.store)
}

// check validates a pipeline file and returns its graph under profile
// and the store directory (storeFlag, else the profile's). Every problem
// is reported at once (a config.Errors, by line): the structure of the
// file, then its graph under the profile and under every other profile
// and none (a typo in a profile fails before that profile is used; a
// problem only another profile has says which), then the external files
// the selected profile's points read, which must exist.
//
// Checking the other profiles costs a graph build each, so a store
// remembers (file "validated") the last pipeline file, with this binary's
// code identity, under which every profile built: the same file with the
// same code is not checked under the other profiles again.
func check(file, profile, storeFlag string) (*config.Config, *graph.Graph, string, error) {
	cfg, perr := config.ParseFile(file)
	if cfg == nil {
		return nil, nil, "", perr
	}
	if profile == "" {
		profile = cfg.Profile
	}
	gr, err := graph.Build(cfg, registry(), profile)
	errs := []error{perr, err}
	dir := cfg.Store
	if gr != nil {
		dir = gr.Config.Store
	}
	if storeFlag != "" {
		abs, err := filepath.Abs(storeFlag)
		if err != nil {
			return nil, nil, "", err
		}
		dir = abs
	}
	stamp := validationStamp(file)
	if perr != nil || err != nil || stamp == "" || !hasStamp(dir, stamp) {
		var others []error
		for _, other := range append([]string{""}, slices.Sorted(maps.Keys(cfg.Profiles))...) {
			if other == profile {
				continue
			}
			if _, oerr := graph.Build(cfg, registry(), other); oerr != nil {
				others = append(others, underProfile(oerr, other, err))
			}
		}
		if perr == nil && err == nil && len(others) == 0 && stamp != "" {
			writeStamp(dir, stamp) // best effort: a later run checks again
		}
		errs = append(errs, others...)
	}
	if gr != nil {
		errs = append(errs, missingFiles(gr))
	}
	if err := config.Collect(cfg.File, errs...); err != nil {
		return nil, nil, "", err
	}
	return cfg, gr, dir, nil
}

// validationStamp identifies a pipeline file's content under this
// binary's code, or is "" if either cannot be read.
func validationStamp(file string) string {
	src, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	code, err := codeIdentity()
	if err != nil {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "bfc-validated-v1\n%s\n", code)
	h.Write(src)
	return hex.EncodeToString(h.Sum(nil))
}

func stampPath(dir string) string { return filepath.Join(dir, "validated") }

func hasStamp(dir, stamp string) bool {
	b, err := os.ReadFile(stampPath(dir))
	return err == nil && strings.TrimSpace(string(b)) == stamp
}

// writeStamp records stamp in an existing store (it creates none).
func writeStamp(dir, stamp string) {
	if _, err := os.Stat(filepath.Join(dir, "FORMAT")); err != nil {
		return
	}
	atomicfile.Write(stampPath(dir), filepath.Join(dir, "tmp"), 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, stamp+"\n")
		return err
	})
}

// underProfile marks the problems of err, found under profile other, that
// the selected profile's check (selected) did not find.
func underProfile(err error, other string, selected error) error {
	seen := map[string]bool{}
	var sel config.Errors
	if errors.As(selected, &sel) {
		for _, ce := range sel {
			seen[ce.Error()] = true
		}
	}
	var list config.Errors
	if !errors.As(config.Collect("", err), &list) {
		return err
	}
	name := fmt.Sprintf("%q", other)
	if other == "" {
		name = "none"
	}
	out := make(config.Errors, 0, len(list))
	for _, ce := range list {
		if !seen[ce.Error()] && !strings.HasPrefix(ce.Field, "profile.") {
			cp := *ce
			cp.Msg += " (under profile " + name + ")"
			ce = &cp
		}
		out = append(out, ce)
	}
	return out
}

// missingFiles reports every external file a point of gr reads that does
// not exist, at the params of its stage (the parameter that names it,
// when one does).
func missingFiles(gr *graph.Graph) error {
	var errs []error
	for _, p := range gr.Points {
		for _, f := range p.Files {
			if _, err := os.Stat(f.Abs); err == nil {
				continue
			}
			field := "stage." + p.Stage.ID + ".params"
			for name, v := range p.Params {
				if s, ok := v.(string); ok && s != "" && (s == f.Path || strings.HasPrefix(f.Path, strings.TrimSuffix(s, "/")+"/")) {
					field += "." + name
					if src, ok := p.Stage.Decl.Source(name); ok {
						field = src
					}
				}
			}
			errs = append(errs, gr.Config.ErrAt(field, "file %s does not exist (the stage reads it)", f.Abs))
		}
	}
	return config.Collect(gr.Config.File, errs...)
}

// load parses and validates the pipeline file and opens the store,
// creating it if create is set.
func (g *globals) load(create bool) (*project, error) {
	_, gr, dir, err := g.build()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(dir, create)
	if err != nil {
		return nil, err
	}
	return openProject(gr, st)
}

// inspect is load for the commands that only look (status, explain,
// run -n): a store that does not exist yet is no error, every point is
// then missing, and nothing is created on disk.
func (g *globals) inspect() (*project, error) {
	_, gr, dir, err := g.build()
	if err != nil {
		return nil, err
	}
	var st *store.Store
	// A store is a directory with a FORMAT file; a profile may keep its
	// figures in the store's directory before there is a store.
	if _, serr := os.Stat(filepath.Join(dir, "FORMAT")); serr == nil {
		if st, err = store.Open(dir, false); err != nil {
			return nil, err
		}
	}
	return openProject(gr, st)
}

func openProject(gr *graph.Graph, st *store.Store) (*project, error) {
	cb, err := storeCodeBase(st)
	if err != nil {
		return nil, err
	}
	return &project{graph: gr, store: st, engine: graph.NewEngine(gr, st, cb), kinds: registry()}, nil
}

func (g *globals) display() exec.Display {
	mode := g.progress
	if mode == "auto" {
		mode = "lines"
		if isatty.IsTerminal(os.Stderr.Fd()) {
			mode = "bars"
		}
	}
	switch mode {
	case "bars":
		return &view.BarDisplay{W: os.Stderr, Verbose: g.verbose}
	case "none":
		return exec.NopDisplay{}
	default:
		return &view.LineDisplay{W: os.Stderr, Verbose: g.verbose}
	}
}

func runCmd(g *globals) *cobra.Command {
	var inprocess, noPublish, dry, force, asJSON bool
	var executor string
	c := &cobra.Command{
		Use:   "run [SELECTOR...]",
		Short: "Compute stages (default: all) and what they need, then publish figures",
		Long: `Run computes the selected points (all if none are selected) and every point
they depend on. A point whose key is in the store, with outputs that rehash to
their names, is not rerun. Figures and report fragments are written to the
project's figures/ and paper/ directories (or the profile's). Ready points
start critical path first (the longest chain of estimated run times to the end
of the run first; ties by point id), within the -j CPU budget. The last line
gives the run's parallel efficiency: the CPU time of the points it computed
(their run records) / (wall time x the CPUs it could use). Every run is
recorded in the store's history (bfc log).

` + selectorHelp + `

-n (--dry-run) runs nothing and creates nothing: it lists every point that
would run, why (the key component that differs, "never computed", or the
upstream point it waits for), and an estimate of its wall time from the run
records of this machine (the point's last run, else the median of its stage's
runs; "unknown" without any), with the total. --force reruns the selected
points even if they are fresh (not what they depend on); their old objects
stay in the store until gc.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.progress != "auto" && g.progress != "bars" && g.progress != "lines" && g.progress != "none" {
				return usageError{fmt.Errorf("--progress %q: use auto, bars, lines or none", g.progress)}
			}
			if asJSON && !dry {
				return usageError{fmt.Errorf("--json goes with -n (--dry-run); a run reports on standard error")}
			}
			if dry {
				return dryRun(g, args, force, asJSON)
			}
			p, err := g.load(true)
			if err != nil {
				return err
			}
			targets, err := view.Select(p.graph, args)
			if err != nil {
				return usageError{err}
			}
			if rs := rulesState(p.graph.Config); rs != nil && !rs.Frozen {
				fmt.Fprintf(os.Stderr, "bfc: note: %s\n", rulesLine(rs, p.graph.Profile))
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			kind := p.graph.Config.Executor.Kind
			if executor != "" {
				kind = executor
			}
			var ex exec.Executor
			switch {
			case inprocess:
				ex = &exec.InProcess{Store: p.store, Kinds: p.kinds, Code: p.engine.Code}
			case kind == "slurm":
				ex = &exec.Slurm{Store: p.store, Program: exe, Config: p.graph.Config.Executor}
			case kind == "local":
				ex = &exec.Local{Store: p.store, Program: exe}
			default:
				return usageError{fmt.Errorf("--executor %q: use local or slurm", kind)}
			}
			r := &exec.Runner{Engine: p.engine, Exec: ex, Jobs: g.jobs, Display: g.display(), Publish: !noPublish}
			if force {
				r.Force = map[*graph.Point]bool{}
				for _, t := range targets {
					r.Force[t] = true
				}
			}
			h := startHistory(p, os.Args[1:])
			sum, err := r.Run(cmd.Context(), targets)
			if err == nil {
				err = sum.Err()
			}
			if herr := h.finish(sum, err); herr != nil {
				fmt.Fprintf(os.Stderr, "bfc: warning: could not record the run in the history: %v\n", herr)
			}
			return err
		},
	}
	c.Flags().BoolVar(&inprocess, "inprocess", false, "run stages inside this process instead of one child process each")
	c.Flags().BoolVar(&noPublish, "no-publish", false, "do not write figures and report fragments into the project")
	c.Flags().StringVar(&executor, "executor", "", "local or slurm (default: [executor] kind in the pipeline file, else local)")
	c.Flags().BoolVarP(&dry, "dry-run", "n", false, "run nothing: list what would run, why, and how long it is likely to take")
	c.Flags().BoolVar(&force, "force", false, "rerun the selected points even if they are fresh")
	c.Flags().BoolVar(&asJSON, "json", false, "with -n: print the plan as JSON (see `bfc help json`)")
	return c
}

func execCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "exec JOBFILE",
		Short:  "Compute one job (used by the executors; not for direct use)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			job, err := exec.ReadJob(args[0])
			if err != nil {
				return err
			}
			st, err := store.Open(job.Store, false)
			if err != nil {
				return err
			}
			cb, err := storeCodeBase(st)
			if err != nil {
				return err
			}
			events, result := exec.ChildReporter(os.Stdout)
			res := exec.ExecuteJob(cmd.Context(), st, job, exec.ExecOptions{Executor: executorName(), Events: events, Kinds: registry(), Code: cb})
			result(res)
			if res.Error != "" {
				return fmt.Errorf("%s: %s", job.Point, res.Error)
			}
			return nil
		},
	}
}

// executorName records where a job ran.
func executorName() string {
	if id := os.Getenv("SLURM_JOB_ID"); id != "" {
		return "slurm:" + id
	}
	return "local"
}

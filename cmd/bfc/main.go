// Command bfc runs the reproduction pipeline declared in pipeline.toml.
//
// Usage:
//
//	bfc run [SELECTOR...]     compute points and what they need; publish figures
//	bfc run -n [SELECTOR...]  what would run, why, and an estimate of how long
//	bfc run --force SELECTOR  recompute points even if they are fresh
//	bfc status [SELECTOR...]  fresh, stale and missing counts per stage (-v: per point); exit 1 if anything would run
//	bfc explain SELECTOR...   which key components changed, old and new value
//	bfc log                   past runs: when, which points, wall/CPU time, host, exit status
//	bfc dag                   the DAG as DOT (SVG with --svg when Graphviz is installed)
//	bfc show SELECTOR         schema and first rows of a stage's outputs
//	bfc export SELECTOR       an output table as CSV or Parquet, losslessly
//	bfc verify                rehash the whole store
//	bfc gc [--dry-run]        remove what no stage or archive references
//	bfc kinds                 stage kinds and their parameters
//	bfc archive [-o FILE]     one review bundle: pipeline, manifests, outputs, figures, build, Merkle root
//	bfc verify BUNDLE         re-check a bundle offline
//	bfc reproduce BUNDLE [STAGE...]  rerun stages from a bundle's inputs and compare bit for bit
//	bfc diff A B|store        which points differ between two bundles (or a bundle and the store), why, by how much
//	bfc --version             version and code identity of the binary
//
// A SELECTOR is a stage, a glob of stages, or either with conditions on
// grid axes in any order and subset, values globbed too: E5_kernel,
// E5_*, E5_kernel[n=128], E5_*[d=1*,seed=1]. status, explain, run -n,
// show, kinds and log take --json (`bfc help json` gives the schema).
//
// Global flags: -f FILE (default pipeline.toml), --profile NAME, -j N,
// --store DIR, -v. Run `bfc help COMMAND` for details. Exit status: 0, 1
// for a failure (for status: something would run), 2 for a wrong command
// line or pipeline file (every problem of the file is reported at once).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/bfc-repro/bfc/pipeline/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	for _, f := range exitFuncs {
		f()
	}
	stopProfile()
	stop()
	os.Exit(report(os.Stderr, err))
}

// report prints err, one "bfc: " line per problem (a list of pipeline
// file errors gives one line each), and returns the exit status: 0
// without an error, 2 for a wrong command line or pipeline file, the code
// of an exitStatus, else 1.
func report(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var es exitStatus
	if errors.As(err, &es) {
		if es.err == nil {
			return es.code
		}
		report(w, es.err)
		return es.code
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(w, "bfc: "+line)
	}
	var ce *config.ConfigError
	var ue usageError
	if errors.As(err, &ce) || errors.As(err, &ue) {
		return 2
	}
	return 1
}

// usageError is a wrong command line (exit status 2).
type usageError struct{ error }

// exitStatus ends bfc with code, printing err if there is one: `bfc
// status` exits 1 when something would run, without an error.
type exitStatus struct {
	code int
	err  error
}

func (e exitStatus) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitStatus) Unwrap() error { return e.err }

// stopProfile ends the CPU profile of --cpuprofile, if one is running.
var stopProfile = func() {}

// startProfile starts the CPU profile that --cpuprofile asks for.
func (g *globals) startProfile() error {
	if g.cpuProfile == "" {
		return nil
	}
	f, err := os.Create(g.cpuProfile)
	if err != nil {
		return usageError{fmt.Errorf("--cpuprofile: %w", err)}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return usageError{fmt.Errorf("--cpuprofile: %w", err)}
	}
	stopProfile = func() {
		pprof.StopCPUProfile()
		f.Close()
	}
	return nil
}

// exitFuncs run when a command has ended (atExit).
var exitFuncs []func()

// atExit has f run when the command ends, before bfc exits.
func atExit(f func()) { exitFuncs = append(exitFuncs, f) }

// Command bfc runs the reproduction pipeline declared in pipeline.toml.
//
// Usage:
//
//	bfc run [STAGE...]        compute stages and what they need; publish figures
//	bfc status                every stage point: fresh, stale or missing, and why
//	bfc explain STAGE         which key components changed, old and new value
//	bfc dag                   the DAG as DOT (SVG with --svg when Graphviz is installed)
//	bfc show STAGE            schema and first rows of a stage's outputs
//	bfc export STAGE          an output table as CSV
//	bfc verify                rehash the whole store
//	bfc gc [--dry-run]        remove what no stage or archive references
//	bfc kinds                 stage kinds and their parameters
//	bfc archive [-o FILE]     one review bundle: pipeline, manifests, outputs, figures, build, Merkle root
//	bfc verify BUNDLE         re-check a bundle offline
//	bfc reproduce BUNDLE [STAGE...]  rerun stages from a bundle's inputs and compare bit for bit
//	bfc diff A B|store        which points differ between two bundles (or a bundle and the store), why, by how much
//
// Global flags: -f FILE (default pipeline.toml), --profile NAME, -j N,
// --store DIR. Run `bfc help COMMAND` for details.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/bfc-repro/bfc/pipeline/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
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

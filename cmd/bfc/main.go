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
	"os"
	"os/signal"
	"syscall"

	"github.com/bfc-repro/bfc/pipeline/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bfc: "+err.Error())
		var ce *config.ConfigError
		var ue usageError
		switch {
		case errors.As(err, &ce), errors.As(err, &ue):
			os.Exit(2)
		default:
			os.Exit(1)
		}
	}
}

// usageError is a wrong command line (exit status 2).
type usageError struct{ error }

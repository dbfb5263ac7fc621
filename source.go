// Package bfc carries the project's own Go sources inside the binary.
//
// A stage key includes the identity of the code that runs the stage: the
// hashes of the Go packages its kind depends on, transitively within this
// module, plus the versions of the external modules they import. Embedding
// the sources (rather than asking the go command or a generated list) ties
// that identity to exactly the code compiled into the running binary, so
// it can never be stale. See graph.CodeBase (pipeline/graph).
package bfc

import "embed"

// Source holds go.mod, go.sum and every Go file of the stage packages.
//
//go:embed go.mod go.sum stages/*/*.go stages/*/*/*.go stages/*/*/*/*.go
var Source embed.FS

// ModulePath is this module's import path prefix.
const ModulePath = "github.com/bfc-repro/bfc"

// Package pipeline is the bfc engine. It holds no code of its own: the
// engine is a stack of layers, each a package below this directory, and
// each importing only the layers beneath it (layers_test.go checks this
// for every package under pipeline/, artifacts/ and cmd/):
//
//	review   archive, reproduce, bundle checks, diff of two sides    pipeline/review
//	view     status and explain, progress displays, DOT              pipeline/view
//	exec     runner, jobs, executors (in-process, local, Slurm)      pipeline/exec
//	graph    kinds, points, wiring, keys, code identity, gc's rule   pipeline/graph
//	config   pipeline.toml, profiles, errors with file:line          pipeline/config
//
// beneath which lie the artifacts, which know nothing of pipelines:
//
//	bundle      review bundles: write, read, verify, diff of tables   artifacts/bundle
//	store       content-addressed store of stage outputs             artifacts/store
//	atomicfile  the one way bfc writes a file                        artifacts/atomicfile
//	id          stage keys, object ids, data hashes                  artifacts/id
//
// and beside them the contract with the stage kinds, stages/kit, which
// graph, exec and review import (and artifacts do not). The command line
// (cmd/bfc) sits on top of everything.
package pipeline

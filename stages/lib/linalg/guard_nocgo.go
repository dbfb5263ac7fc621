//go:build openblas && !cgo

package linalg

// The openblas build needs cgo: build with CGO_ENABLED=1 and Debian's
// libopenblas-dev installed, or drop the tag for the pure-Go build.
const backend = openblasBuildTagNeedsCgo // deliberately undefined: fail to compile

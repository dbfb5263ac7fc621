package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"runtime"
	"strings"

	bfc "github.com/bfc-repro/bfc"
	"github.com/bfc-repro/bfc/artifacts/bundle"
	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// codeIdentity is the identity of this binary's code: the SHA-256 over
// the path and bytes of every source file embedded in it (go.mod, go.sum
// and the stage packages, the code that stage keys hash; see package bfc),
// the Go version, the platform and the BLAS backend. Two binaries with the
// same identity compute the same keys.
func codeIdentity() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(bfc.Source, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(bfc.Source, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("code identity: %w", err)
	}
	fmt.Fprintf(h, "%s %s/%s %s", runtime.Version(), runtime.GOOS, runtime.GOARCH, graph.BLASBackend)
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// versionText is what `bfc --version` prints.
func versionText() string {
	b := bundle.ReadBuildInfo(graph.BLASBackend)
	ver := b.Module.Version
	if ver == "" {
		ver = "(unknown)"
	}
	code, err := codeIdentity()
	if err != nil {
		code = err.Error()
	}
	var s strings.Builder
	fmt.Fprintf(&s, "bfc %s (%s)\n", ver, bfc.ModulePath)
	fmt.Fprintf(&s, "code  %s  (sources embedded in this binary, Go version, platform, BLAS)\n", code[:min(len(code), 2*id.ShortLen)])
	fmt.Fprintf(&s, "build %s %s/%s, BLAS %s", b.GoVersion, runtime.GOOS, runtime.GOARCH, graph.BLASBackend)
	if b.BuildTags != "" {
		fmt.Fprintf(&s, ", tags %s", b.BuildTags)
	}
	s.WriteString("\n")
	if b.VCSKnown {
		dirty := ""
		if b.VCSDirty {
			dirty = " (modified)"
		}
		fmt.Fprintf(&s, "vcs   %s%s %s\n", b.VCSRevision, dirty, b.VCSTime)
	} else {
		s.WriteString("vcs   unknown (built outside a git checkout, or with -buildvcs=false)\n")
	}
	return s.String()
}

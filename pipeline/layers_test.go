package pipeline

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/bfc-repro/bfc/"

// layers lists, for every package under pipeline/, artifacts/ and cmd/
// (by directory below the module root), the packages of this module it may
// import. A package missing here fails the test: a new package must take
// its place in the layering.
var layers = map[string][]string{
	"artifacts/id":         {},
	"artifacts/atomicfile": {},
	"artifacts/store":      {"artifacts/id", "artifacts/atomicfile"},
	"artifacts/bundle":     {"artifacts/id", "artifacts/store"},
	"pipeline":             {},
	"pipeline/config":      {},
	"pipeline/graph":       {"artifacts/id", "artifacts/store", "pipeline/config", "stages/kit"},
	"pipeline/exec":        {"artifacts/id", "artifacts/atomicfile", "artifacts/store", "artifacts/bundle", "pipeline/config", "pipeline/graph", "stages/kit"},
	"pipeline/view":        {"artifacts/id", "artifacts/store", "pipeline/config", "pipeline/exec", "pipeline/graph"},
	"pipeline/review":      {"artifacts/id", "artifacts/store", "artifacts/bundle", "pipeline/config", "pipeline/graph", "pipeline/exec", "pipeline/view", "stages/kit"},
	// Test support: the kinds import only the contract; the fixture
	// builds and runs pipelines of them.
	"pipeline/internal/testkinds":     {"stages/kit"},
	"pipeline/internal/testkinds/sum": {"pipeline/internal/testkinds", "stages/kit"},
	"pipeline/internal/enginetest":    {"artifacts/id", "artifacts/store", "pipeline/config", "pipeline/exec", "pipeline/graph", "pipeline/internal/testkinds", "pipeline/internal/testkinds/sum"},
	// The programs may use every layer (and the stage kinds).
	"cmd/bfc":      {"*"},
	"cmd/bfcbench": {"*"},
}

// TestLayers parses the imports of the non-test files of every package
// under pipeline/, artifacts/ and cmd/ (and of the test files compiled into
// the package itself) and fails on an import of this module that its layer
// does not allow: an upward edge (store importing pipeline, graph importing
// exec), a sideways one (view importing review, bundle importing pipeline)
// or, for any package, an import of a command.
func TestLayers(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, top := range []string{"pipeline", "artifacts", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") {
				return nil
			}
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			pkg := filepath.ToSlash(rel)
			seen[pkg] = true
			allowed, ok := layers[pkg]
			if !ok {
				t.Errorf("package %s has no place in the layering (add it to layers in %s)", pkg, "pipeline/layers_test.go")
				return nil
			}
			for _, e := range importErrors(p, pkg, allowed) {
				t.Error(e)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for pkg := range layers {
		if !seen[pkg] {
			t.Errorf("layers lists %s, which has no Go files", pkg)
		}
	}
}

// testSupport may be imported by the test files compiled into any layer.
var testSupport = []string{"pipeline/internal/testkinds", "pipeline/internal/testkinds/sum"}

// importErrors checks the imports of one file of package pkg against the
// packages its layer allows.
func importErrors(path, pkg string, allowed []string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		return []string{err.Error()}
	}
	isTest := strings.HasSuffix(path, "_test.go")
	if isTest && strings.HasSuffix(f.Name.Name, "_test") {
		return nil // an external test package is a client, not part of the layer
	}
	var errs []string
	for _, imp := range f.Imports {
		ip, _ := strconv.Unquote(imp.Path.Value)
		dep, ok := strings.CutPrefix(ip, module)
		switch {
		case !ok:
		case strings.HasPrefix(dep, "cmd/"):
			errs = append(errs, path+" imports the command "+dep)
		case len(allowed) == 1 && allowed[0] == "*":
		case contains(allowed, dep), isTest && contains(testSupport, dep):
		default:
			errs = append(errs, fmt.Sprintf("%s (layer %s) imports %s, which its layer may not (allowed: %v)", path, pkg, dep, allowed))
		}
	}
	return errs
}

// TestImportErrorsFindsForbiddenEdges checks the checker on files written
// for the purpose: each forbidden edge is reported, allowed ones are not.
func TestImportErrorsFindsForbiddenEdges(t *testing.T) {
	cases := []struct {
		name, pkg, file, src string
		want                 string // "" = allowed
	}{
		{"downward", "pipeline/graph", "g.go", `package graph; import _ "github.com/bfc-repro/bfc/artifacts/store"`, ""},
		{"upward", "artifacts/store", "s.go", `package store; import _ "github.com/bfc-repro/bfc/pipeline/graph"`, "imports pipeline/graph"},
		{"sideways", "pipeline/view", "v.go", `package view; import _ "github.com/bfc-repro/bfc/pipeline/review"`, "imports pipeline/review"},
		{"store to kinds", "artifacts/store", "s.go", `package store; import _ "github.com/bfc-repro/bfc/stages/kit"`, "imports stages/kit"},
		{"a command", "pipeline/review", "r.go", `package review; import _ "github.com/bfc-repro/bfc/cmd/bfc"`, "imports the command cmd/bfc"},
		{"test kinds in a test", "pipeline/exec", "e_test.go", `package exec; import _ "github.com/bfc-repro/bfc/pipeline/internal/testkinds"`, ""},
		{"test kinds in code", "pipeline/exec", "e.go", `package exec; import _ "github.com/bfc-repro/bfc/pipeline/internal/testkinds"`, "imports pipeline/internal/testkinds"},
		{"external test", "pipeline/graph", "g_test.go", `package graph_test; import _ "github.com/bfc-repro/bfc/pipeline/exec"`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.file)
			if err := os.WriteFile(path, []byte(c.src), 0o644); err != nil {
				t.Fatal(err)
			}
			errs := importErrors(path, c.pkg, layers[c.pkg])
			switch {
			case c.want == "" && len(errs) > 0:
				t.Fatalf("allowed edge reported: %v", errs)
			case c.want != "" && (len(errs) != 1 || !strings.Contains(errs[0], c.want)):
				t.Fatalf("errors %v, want one containing %q", errs, c.want)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

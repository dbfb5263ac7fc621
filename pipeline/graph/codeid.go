package pipeline

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/artifacts"
)

// BLASBackend names the BLAS implementation linked into this binary; the
// openblas build sets it (see stages/linalg). It is part of the code
// identity of every kind that imports gonum, because the implementation is
// process-global and can change floating-point results.
var BLASBackend = "gonum"

// CodeBase computes the code identity of stage kinds from the module's
// embedded sources (package bfc). The identity of a kind is:
//
//   - one component per package of this module that the kind's package
//     imports, transitively (hash of its non-test .go files, all build tags);
//   - one component per external module those packages import (version
//     and go.sum hash from the embedded go.mod and go.sum);
//   - the Go version and GOARCH (floating-point code generation), and the
//     BLAS backend for kinds that use gonum.
//
// So editing figure code changes only the identity of the figure kind,
// while editing the learner changes the identity of every kind built on it.
type CodeBase struct {
	modPath string
	pkgs    map[string]*pkgInfo // module-relative dir -> info
	mods    map[string]string   // module path -> "version sum"
	goVer   string
	arch    string
}

type pkgInfo struct {
	dir      string
	hash     string
	internal []string // module-relative dirs imported
	external []string // import paths outside the module (non-std)
}

// NewCodeBase indexes the module sources in fsys, whose root holds go.mod.
func NewCodeBase(fsys fs.FS, modPath string) (*CodeBase, error) {
	cb := &CodeBase{modPath: modPath, pkgs: map[string]*pkgInfo{}, mods: map[string]string{}, goVer: runtime.Version(), arch: runtime.GOARCH}
	if err := cb.readModules(fsys); err != nil {
		return nil, err
	}
	files := map[string][]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		files[path.Dir(p)] = append(files[path.Dir(p)], p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("code identity: %w", err)
	}
	for dir, fl := range files {
		sort.Strings(fl)
		info := &pkgInfo{dir: dir}
		h := sha256.New()
		fset := token.NewFileSet()
		intSet, extSet := map[string]bool{}, map[string]bool{}
		for _, f := range fl {
			src, err := fs.ReadFile(fsys, f)
			if err != nil {
				return nil, fmt.Errorf("code identity: %w", err)
			}
			fmt.Fprintf(h, "%s %d\n", path.Base(f), len(src))
			h.Write(src)
			af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
			if err != nil {
				return nil, fmt.Errorf("code identity: %w", err)
			}
			for _, imp := range af.Imports {
				ip, _ := strconv.Unquote(imp.Path.Value)
				switch {
				case ip == modPath:
					intSet["."] = true
				case strings.HasPrefix(ip, modPath+"/"):
					intSet[strings.TrimPrefix(ip, modPath+"/")] = true
				case isStd(ip):
				default:
					extSet[ip] = true
				}
			}
		}
		info.hash = hex.EncodeToString(h.Sum(nil))
		info.internal = slices.Sorted(mapKeys(intSet))
		info.external = slices.Sorted(mapKeys(extSet))
		cb.pkgs[dir] = info
	}
	return cb, nil
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// isStd reports whether an import path belongs to the standard library
// (no dot in its first element).
func isStd(ip string) bool {
	first, _, _ := strings.Cut(ip, "/")
	return !strings.Contains(first, ".")
}

// readModules reads required module versions from go.mod and their
// hashes from go.sum.
func (cb *CodeBase) readModules(fsys fs.FS) error {
	mod, err := fs.ReadFile(fsys, "go.mod")
	if err != nil {
		return fmt.Errorf("code identity: %w", err)
	}
	sum, err := fs.ReadFile(fsys, "go.sum")
	if err != nil {
		return fmt.Errorf("code identity: %w", err)
	}
	versions := map[string]string{}
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(mod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "require (":
			inBlock = true
			continue
		case inBlock && line == ")":
			inBlock = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !inBlock:
			continue
		}
		f := strings.Fields(line)
		if len(f) >= 2 {
			versions[f[0]] = f[1]
		}
	}
	sums := map[string]string{}
	sc = bufio.NewScanner(bytes.NewReader(sum))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && !strings.HasSuffix(f[1], "/go.mod") {
			sums[f[0]+" "+f[1]] = f[2]
		}
	}
	for m, v := range versions {
		cb.mods[m] = strings.TrimSpace(v + " " + sums[m+" "+v])
	}
	return nil
}

// moduleOf returns the required module that provides import path ip.
func (cb *CodeBase) moduleOf(ip string) (string, bool) {
	best := ""
	for m := range cb.mods {
		if (ip == m || strings.HasPrefix(ip, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	return best, best != ""
}

// Components returns the code-identity key components of the kind
// implemented in package pkgPath (a full import path).
func (cb *CodeBase) Components(pkgPath string) ([]artifacts.Component, error) {
	rel := strings.TrimPrefix(pkgPath, cb.modPath+"/")
	if rel == pkgPath {
		return nil, fmt.Errorf("code identity: package %s is not in module %s", pkgPath, cb.modPath)
	}
	seen := map[string]bool{}
	var order []string
	var visit func(dir, from string) error
	visit = func(dir, from string) error {
		if seen[dir] {
			return nil
		}
		if _, ok := cb.pkgs[dir]; !ok {
			return fmt.Errorf("code identity: package %s/%s (imported by %s) is not embedded in the binary; add its directory to the go:embed list in source.go", cb.modPath, dir, from)
		}
		seen[dir] = true
		order = append(order, dir)
		for _, d := range cb.pkgs[dir].internal {
			if err := visit(d, dir); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(rel, "the kind"); err != nil {
		return nil, err
	}
	sort.Strings(order)
	var cs []artifacts.Component
	mods := map[string]bool{}
	usesGonum := false
	for _, dir := range order {
		info := cb.pkgs[dir]
		cs = append(cs, artifacts.NewComponent("code.pkg:"+dir, info.hash))
		for _, ip := range info.external {
			m, ok := cb.moduleOf(ip)
			if !ok {
				return nil, fmt.Errorf("code identity: import %q of %s is in no module required by go.mod", ip, dir)
			}
			mods[m] = true
			if strings.HasPrefix(ip, "gonum.org/v1/gonum/") {
				usesGonum = true
			}
		}
	}
	for _, m := range slices.Sorted(mapKeys(mods)) {
		cs = append(cs, artifacts.NewComponent("code.mod:"+m, cb.mods[m]))
	}
	cs = append(cs, artifacts.NewComponent("code.go", cb.goVer), artifacts.NewComponent("code.arch", cb.arch))
	if usesGonum {
		cs = append(cs, artifacts.NewComponent("code.blas", BLASBackend))
	}
	return cs, nil
}

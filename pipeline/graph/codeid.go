package graph

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"hash"
	"io/fs"
	"maps"
	"path"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/modfile"

	"github.com/bfc-repro/bfc/artifacts/store"
)

// BLASBackend names the BLAS implementation linked into this binary; the
// openblas build sets it (see stages/lib/linalg). It is part of the code
// identity of every kind that imports gonum, because the implementation is
// process-global and can change floating-point results.
var BLASBackend = "gonum"

// CodeBase computes the code identity of stage kinds from the module's
// embedded sources (package bfc). The identity of a kind is:
//
//   - one component per package of this module that the kind's package
//     imports, transitively: the hash of the Go token streams of its
//     non-test .go files (all build tags), without comments, so that
//     editing a comment or reformatting reruns nothing while any change to
//     the code does (see hashGoFile for the comments that are code);
//   - one component per external module those packages import: its
//     version and go.sum hash from the embedded go.mod and go.sum, read
//     with golang.org/x/mod/modfile, after the go.mod's replace directives
//     (a module replaced by another version has that version's identity; one
//     replaced by a local directory is named by the directory, whose
//     content is not embedded and so not part of the identity);
//   - the Go version and GOARCH (floating-point code generation), and the
//     BLAS backend for kinds that use gonum.
//
// So editing figure code changes only the identity of the figure kind,
// while editing the learner changes the identity of every kind built on it.
//
// Packages are indexed (their imports) when the CodeBase is made and hashed,
// in parallel, when a kind that depends on them first asks, so that `bfc
// exec` hashes only its own kind's packages. A CodeBase is safe for
// concurrent use.
type CodeBase struct {
	modPath string
	fsys    fs.FS
	pkgs    map[string]*pkgInfo // module-relative dir -> info
	mods    map[string]string   // module path -> component value
	goVer   string
	arch    string

	cache codeCache
}

type pkgInfo struct {
	dir      string
	files    []string // sorted
	internal []string // module-relative dirs imported
	external []string // import paths outside the module (non-std)

	once sync.Once
	hash string
	err  error
}

// NewCodeBase indexes the module sources in fsys, whose root holds go.mod.
func NewCodeBase(fsys fs.FS, modPath string) (*CodeBase, error) {
	cb := &CodeBase{modPath: modPath, fsys: fsys, pkgs: map[string]*pkgInfo{}, goVer: runtime.Version(), arch: runtime.GOARCH}
	var err error
	if cb.mods, err = readModules(fsys); err != nil {
		return nil, fmt.Errorf("code identity: %w", err)
	}
	files := map[string][]string{}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
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
		info, err := cb.indexPackage(dir, fl)
		if err != nil {
			return nil, fmt.Errorf("code identity: %w", err)
		}
		cb.pkgs[dir] = info
	}
	return cb, nil
}

// indexPackage lists the imports of one package.
func (cb *CodeBase) indexPackage(dir string, files []string) (*pkgInfo, error) {
	sort.Strings(files)
	fset := token.NewFileSet()
	intSet, extSet := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		src, err := fs.ReadFile(cb.fsys, f)
		if err != nil {
			return nil, err
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			return nil, err
		}
		for _, imp := range af.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case ip == cb.modPath:
				intSet["."] = true
			case strings.HasPrefix(ip, cb.modPath+"/"):
				intSet[strings.TrimPrefix(ip, cb.modPath+"/")] = true
			case isStd(ip):
			default:
				extSet[ip] = true
			}
		}
	}
	return &pkgInfo{dir: dir, files: files, internal: slices.Sorted(maps.Keys(intSet)), external: slices.Sorted(maps.Keys(extSet))}, nil
}

// hashPackages computes the hash of every package in dirs not hashed yet
// (hashPackage), on as many goroutines as there are CPUs.
func (cb *CodeBase) hashPackages(dirs []string) error {
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, dir := range dirs {
		info := cb.pkgs[dir]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			info.once.Do(func() { info.hash, info.err = cb.hashPackage(info) })
		}()
	}
	wg.Wait()
	for _, dir := range dirs {
		if err := cb.pkgs[dir].err; err != nil {
			return err
		}
	}
	return nil
}

// hashPackage hashes a package's files: the name and the token stream
// (hashGoFile) of each.
func (cb *CodeBase) hashPackage(info *pkgInfo) (string, error) {
	content, err := cb.contentHash(info)
	if err != nil {
		return "", err
	}
	if h, ok := cb.cache.get(content); ok {
		return h, nil
	}
	h, err := cb.tokenHash(info)
	if err == nil {
		cb.cache.put(content, h)
	}
	return h, err
}

// tokenHash is the hash of a package's token streams (hashPackage).
func (cb *CodeBase) tokenHash(info *pkgInfo) (string, error) {
	h := sha256.New()
	fset := token.NewFileSet()
	for _, f := range info.files {
		src, err := fs.ReadFile(cb.fsys, f)
		if err != nil {
			return "", fmt.Errorf("code identity: %w", err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return "", fmt.Errorf("code identity: %w", err)
		}
		fmt.Fprintf(h, "%s\n", path.Base(f))
		if err := hashGoFile(h, fset, af, src); err != nil {
			return "", fmt.Errorf("code identity: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashGoFile writes the token stream of a Go file to h: every token with
// its text, each written as (token, length, text), so that no two streams
// write the same bytes. What gofmt or a reader may change without changing the code
// is left out: comments, except those that are code (directives such as
// "//go:build", "//go:embed", "//go:noinline", "//line", "//export" and the
// old "// +build", and the cgo preamble, the comment above `import "C"`);
// the difference between explicit and automatic semicolons; and a
// semicolon or comma just before a closing bracket, which Go ignores
// (`f(a, b,\n)` is `f(a, b)`, and `{ x }` on one line has no semicolon
// where the same block over three lines has one).
func hashGoFile(h hash.Hash, fset *token.FileSet, af *ast.File, src []byte) error {
	keep := cgoPreamble(af)
	var s scanner.Scanner
	var errs scanner.ErrorList
	s.Init(fset.File(af.Pos()), src, func(pos token.Position, msg string) { errs.Add(pos, msg) }, scanner.ScanComments)
	buf := make([]byte, 0, 2*len(src))
	write := func(tok token.Token, text string) {
		buf = binary.AppendUvarint(buf, uint64(tok))
		buf = binary.AppendUvarint(buf, uint64(len(text)))
		buf = append(buf, text...)
	}
	pending := token.ILLEGAL // a separator not yet written: SEMICOLON or COMMA
	for {
		pos, tok, lit := s.Scan()
		if tok == token.COMMENT {
			if keep[pos] || isDirective(lit) {
				write(tok, lit)
			}
			continue
		}
		if pending != token.ILLEGAL && tok != token.RPAREN && tok != token.RBRACE && tok != token.RBRACK && tok != token.EOF {
			write(pending, pending.String())
		}
		pending = token.ILLEGAL
		switch {
		case tok == token.EOF:
			h.Write(buf)
			errs.Sort()
			return errs.Err()
		case tok == token.SEMICOLON || tok == token.COMMA:
			pending = tok
		case lit != "":
			write(tok, lit)
		default:
			write(tok, tok.String())
		}
	}
}

// isDirective reports whether a comment is read by the go command or the
// compiler.
func isDirective(c string) bool {
	for _, p := range []string{"//go:", "//line ", "//export ", "// +build"} {
		if strings.HasPrefix(c, p) {
			return true
		}
	}
	return false
}

// cgoPreamble returns the positions of the comments that form the cgo
// preamble of f: the doc comment of `import "C"`.
func cgoPreamble(f *ast.File) map[token.Pos]bool {
	keep := map[token.Pos]bool{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		for _, sp := range gd.Specs {
			is := sp.(*ast.ImportSpec)
			if is.Path.Value != `"C"` {
				continue
			}
			for _, g := range []*ast.CommentGroup{gd.Doc, is.Doc} {
				if g == nil {
					continue
				}
				for _, c := range g.List {
					keep[c.Slash] = true
				}
			}
		}
	}
	return keep
}

// isStd reports whether an import path belongs to the standard library
// (no dot in its first element).
func isStd(ip string) bool {
	first, _, _ := strings.Cut(ip, "/")
	return !strings.Contains(first, ".")
}

// readModules reads the required modules from go.mod, after its replace
// directives, and their hashes from go.sum. It returns, for each required
// module path, the value of its code.mod component: "VERSION SUM" (the
// form this had before replace directives were honoured, so that keys of
// modules that are not replaced do not change), or for a replaced module
// "VERSION SUM => PATH VERSION SUM" with the replacement's version and sum,
// or "VERSION SUM => DIR" for a local directory.
func readModules(fsys fs.FS) (map[string]string, error) {
	mod, err := fs.ReadFile(fsys, "go.mod")
	if err != nil {
		return nil, err
	}
	sum, err := fs.ReadFile(fsys, "go.sum")
	if err != nil {
		return nil, err
	}
	mf, err := modfile.Parse("go.mod", mod, nil)
	if err != nil {
		return nil, err
	}
	sums := map[string]string{}
	for _, line := range strings.Split(string(sum), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && !strings.HasSuffix(f[1], "/go.mod") {
			sums[f[0]+" "+f[1]] = f[2]
		}
	}
	withSum := func(p, v string) string { return strings.TrimSpace(v + " " + sums[p+" "+v]) }
	mods := map[string]string{}
	for _, r := range mf.Require {
		p, v := r.Mod.Path, r.Mod.Version
		mods[p] = withSum(p, v)
		if rep := replacement(mf, p, v); rep != nil {
			if modfile.IsDirectoryPath(rep.New.Path) {
				mods[p] += " => " + rep.New.Path
			} else {
				mods[p] += " => " + rep.New.Path + " " + withSum(rep.New.Path, rep.New.Version)
			}
		}
	}
	return mods, nil
}

// replacement returns the replace directive that applies to module path
// at version v: one for that exact version wins over one for all versions.
func replacement(mf *modfile.File, p, v string) *modfile.Replace {
	var all *modfile.Replace
	for _, r := range mf.Replace {
		switch {
		case r.Old.Path != p:
		case r.Old.Version == v:
			return r
		case r.Old.Version == "":
			all = r
		}
	}
	return all
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
func (cb *CodeBase) Components(pkgPath string) ([]store.Component, error) {
	rel := strings.TrimPrefix(pkgPath, cb.modPath+"/")
	if rel == pkgPath {
		return nil, fmt.Errorf("code identity: package %s is not in module %s", pkgPath, cb.modPath)
	}
	order, err := cb.closure(rel)
	if err != nil {
		return nil, err
	}
	if err := cb.hashPackages(order); err != nil {
		return nil, err
	}
	var cs []store.Component
	mods := map[string]bool{}
	usesGonum := false
	for _, dir := range order {
		info := cb.pkgs[dir]
		cs = append(cs, store.NewComponent("code.pkg:"+dir, info.hash))
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
	for _, m := range slices.Sorted(maps.Keys(mods)) {
		cs = append(cs, store.NewComponent("code.mod:"+m, cb.mods[m]))
	}
	cs = append(cs, store.NewComponent("code.go", cb.goVer), store.NewComponent("code.arch", cb.arch))
	if usesGonum {
		cs = append(cs, store.NewComponent("code.blas", BLASBackend))
	}
	return cs, nil
}

// closure returns the module-relative package dir and every package of the
// module it imports, transitively, in order.
func (cb *CodeBase) closure(dir string) ([]string, error) {
	seen := map[string]bool{}
	var visit func(dir, from string) error
	visit = func(dir, from string) error {
		if seen[dir] {
			return nil
		}
		if _, ok := cb.pkgs[dir]; !ok {
			return fmt.Errorf("code identity: package %s/%s (imported by %s) is not embedded in the binary; add its directory to the go:embed list in source.go", cb.modPath, dir, from)
		}
		seen[dir] = true
		for _, d := range cb.pkgs[dir].internal {
			if err := visit(d, dir); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(dir, "the kind"); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

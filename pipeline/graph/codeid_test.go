package graph_test

import (
	"maps"
	"strings"
	"testing"
	"testing/fstest"

	bfc "github.com/bfc-repro/bfc"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

func compNames(cs []store.Component) map[string]string {
	m := map[string]string{}
	for _, c := range cs {
		m[c.Name] = c.Hash
	}
	return m
}

func TestCodeIdentityOfRealKind(t *testing.T) {
	cb, err := graph.NewCodeBase(bfc.Source, bfc.ModulePath)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cb.Components(bfc.ModulePath + "/stages/kinds/target")
	if err != nil {
		t.Fatal(err)
	}
	m := compNames(cs)
	for _, want := range []string{"code.pkg:stages/kinds/target", "code.pkg:stages/kit", "code.mod:github.com/apache/arrow/go/v15", "code.mod:gonum.org/v1/gonum", "code.go", "code.arch", "code.blas"} {
		if _, ok := m[want]; !ok {
			t.Errorf("target's code identity lacks %s (has %v)", want, m)
		}
	}
	for name := range m {
		if strings.Contains(name, "figure") || strings.Contains(name, "plot") {
			t.Errorf("target's code identity includes %s", name)
		}
	}
}

const modFile = "module example.com/m\n\ngo 1.26\n\nrequire (\n\tgithub.com/ext/lib v1.2.3\n)\n"

func TestCodeIdentityIsNarrow(t *testing.T) {
	fs := fstest.MapFS{
		"go.mod":                 {Data: []byte(modFile)},
		"go.sum":                 {Data: []byte("github.com/ext/lib v1.2.3 h1:abc=\ngithub.com/ext/lib v1.2.3/go.mod h1:def=\n")},
		"stages/kit/kit.go":      {Data: []byte("package kit\n")},
		"stages/learn/l.go":      {Data: []byte("package learn\nimport \"example.com/m/stages/kit\"\nvar _ = kit.X\n")},
		"stages/train/t.go":      {Data: []byte("package train\nimport (\n\"fmt\"\n\"example.com/m/stages/learn\"\n)\n")},
		"stages/train/t_test.go": {Data: []byte("package train\n// tests do not count\n")},
		"stages/figure/f.go":     {Data: []byte("package figure\nimport \"github.com/ext/lib/sub\"\n")},
	}
	ids := func(fsys fstest.MapFS) (train, figure map[string]string) {
		cb, err := graph.NewCodeBase(fsys, "example.com/m")
		if err != nil {
			t.Fatal(err)
		}
		tc, err := cb.Components("example.com/m/stages/train")
		if err != nil {
			t.Fatal(err)
		}
		fc, err := cb.Components("example.com/m/stages/figure")
		if err != nil {
			t.Fatal(err)
		}
		return compNames(tc), compNames(fc)
	}
	t0, f0 := ids(fs)
	if _, ok := t0["code.pkg:stages/learn"]; !ok {
		t.Fatalf("train's identity misses its transitive dependency learn: %v", t0)
	}
	if f0["code.mod:github.com/ext/lib"] == "" {
		t.Fatalf("figure's identity misses the module it imports: %v", f0)
	}
	if _, ok := t0["code.blas"]; ok {
		t.Fatalf("train does not import gonum but has a BLAS component")
	}
	// Editing the figure package changes only the figure kind.
	fs["stages/figure/f.go"] = &fstest.MapFile{Data: []byte("package figure\nimport \"github.com/ext/lib/sub\"\nvar colours = 3\n")}
	t1, f1 := ids(fs)
	if !maps.Equal(t0, t1) {
		t.Fatal("editing figure code changed the identity of train")
	}
	if maps.Equal(f0, f1) {
		t.Fatal("editing figure code did not change the identity of figure")
	}
	// Editing a test file changes nothing; editing the learner changes train.
	fs["stages/train/t_test.go"] = &fstest.MapFile{Data: []byte("package train\n// more tests\n")}
	t2, _ := ids(fs)
	if !maps.Equal(t1, t2) {
		t.Fatal("editing a _test.go file changed the identity of train")
	}
	fs["stages/learn/l.go"] = &fstest.MapFile{Data: []byte("package learn\nimport \"example.com/m/stages/kit\"\nvar _ = kit.Y\n")}
	t3, f3 := ids(fs)
	if t3["code.pkg:stages/learn"] == t2["code.pkg:stages/learn"] || !maps.Equal(f1, f3) {
		t.Fatal("editing the learner must change train's identity and only train's")
	}
}

func TestCodeIdentityRefusesUnembeddedPackage(t *testing.T) {
	fs := fstest.MapFS{
		"go.mod":            {Data: []byte(modFile)},
		"go.sum":            {Data: []byte("")},
		"stages/train/t.go": {Data: []byte("package train\nimport \"example.com/m/internal/secret\"\n")},
	}
	cb, err := graph.NewCodeBase(fs, "example.com/m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Components("example.com/m/stages/train"); err == nil || !strings.Contains(err.Error(), "not embedded") {
		t.Fatalf("want a not-embedded error, have %v", err)
	}
}

// pkgHash returns the code.pkg component of stages/p in a module whose
// only package is stages/p with the given file.
func pkgHash(t *testing.T, src string) string {
	t.Helper()
	fsys := fstest.MapFS{
		"go.mod":        {Data: []byte(modFile)},
		"go.sum":        {Data: []byte("")},
		"stages/p/p.go": {Data: []byte(src)},
	}
	cb, err := graph.NewCodeBase(fsys, "example.com/m")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cb.Components("example.com/m/stages/p")
	if err != nil {
		t.Fatal(err)
	}
	return compNames(cs)["code.pkg:stages/p"]
}

// TestCodeIdentityIgnoresCommentsAndFormatting edits one file in ways that
// change no code (comments, layout, gofmt) and in ways that do, and checks
// that exactly the latter change the package's identity.
func TestCodeIdentityIgnoresCommentsAndFormatting(t *testing.T) {
	const base = `// Package p computes.
package p

import "fmt"

// F says hello.
func F(n int) string {
	x := n * 2 // double it
	return fmt.Sprint(x)
}
`
	cases := []struct {
		name    string
		src     string
		changes bool
	}{
		{"edited comment", strings.Replace(base, "// double it", "// twice n, as the paper says", 1), false},
		{"removed doc comment", strings.Replace(base, "// F says hello.\n", "", 1), false},
		{"block comment", strings.Replace(base, "x := n * 2", "x := n /* the input */ * 2", 1), false},
		{"reformatted", "package p\nimport \"fmt\"\nfunc F(n int) string {\n\tx := n*2; return fmt.Sprint(x) }\n", false},
		{"trailing comma", strings.Replace(base, "fmt.Sprint(x)", "fmt.Sprint(\n\t\tx,\n\t)", 1), false},
		{"no final newline", strings.TrimSuffix(base, "\n"), false},
		{"changed semicolon to nothing", strings.Replace(base, "x := n * 2 // double it\n\treturn", "x := n * 2; return", 1), false},
		{"blank lines", strings.Replace(base, "\treturn", "\n\n\treturn", 1), false},
		{"changed constant", strings.Replace(base, "n * 2", "n * 3", 1), true},
		{"renamed variable", strings.ReplaceAll(base, "x", "y"), true},
		{"changed string", strings.Replace(base, "fmt.Sprint(x)", `fmt.Sprint(x, "")`, 1), true},
		{"changed operator", strings.Replace(base, "n * 2", "n + 2", 1), true},
		{"added build constraint", "//go:build linux\n\n" + base, true},
		{"added compiler directive", strings.Replace(base, "func F", "//go:noinline\nfunc F", 1), true},
	}
	h0 := pkgHash(t, base)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := pkgHash(t, c.src) != h0; got != c.changes {
				t.Fatalf("identity changed = %v, want %v", got, c.changes)
			}
		})
	}
}

// TestCodeIdentityKeepsTheCgoPreamble checks that the comment above
// import "C", which is C code, counts, while other comments do not.
func TestCodeIdentityKeepsTheCgoPreamble(t *testing.T) {
	const base = "package p\n\n// #cgo LDFLAGS: -lopenblas\n// void f(int);\nimport \"C\"\n\n// G calls f.\nfunc G() { C.f(1) }\n"
	h0 := pkgHash(t, base)
	if pkgHash(t, strings.Replace(base, "-lopenblas", "-lblas", 1)) == h0 {
		t.Error("editing the cgo preamble did not change the identity")
	}
	if pkgHash(t, strings.Replace(base, "// G calls f.", "// G calls f, once.", 1)) != h0 {
		t.Error("editing a comment that is not the preamble changed the identity")
	}
}

// TestCodeIdentityHonoursReplace checks the code.mod component of a module
// that go.mod replaces by another version and by a local directory, and
// that a module without a replace keeps the value it always had.
func TestCodeIdentityHonoursReplace(t *testing.T) {
	sum := "github.com/ext/lib v1.2.3 h1:abc=\ngithub.com/ext/lib v1.2.4 h1:new=\ngithub.com/fork/lib v0.9.0 h1:fork=\n"
	cases := []struct {
		name, replace, want string
	}{
		{"none", "", "v1.2.3 h1:abc="},
		{"other version", "replace github.com/ext/lib => github.com/ext/lib v1.2.4\n", "v1.2.3 h1:abc= => github.com/ext/lib v1.2.4 h1:new="},
		{"other module", "replace github.com/ext/lib v1.2.3 => github.com/fork/lib v0.9.0\n", "v1.2.3 h1:abc= => github.com/fork/lib v0.9.0 h1:fork="},
		{"other version of another", "replace github.com/ext/lib v1.0.0 => ../old\n", "v1.2.3 h1:abc="},
		{"local directory", "replace github.com/ext/lib => ../lib\n", "v1.2.3 h1:abc= => ../lib"},
		{"block", "replace (\n\tgithub.com/ext/lib => ./third_party/lib\n)\n", "v1.2.3 h1:abc= => ./third_party/lib"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"go.mod":        {Data: []byte(modFile + c.replace)},
				"go.sum":        {Data: []byte(sum)},
				"stages/f/f.go": {Data: []byte("package f\nimport \"github.com/ext/lib/sub\"\n")},
			}
			cb, err := graph.NewCodeBase(fsys, "example.com/m")
			if err != nil {
				t.Fatal(err)
			}
			cs, err := cb.Components("example.com/m/stages/f")
			if err != nil {
				t.Fatal(err)
			}
			for _, comp := range cs {
				if comp.Name == "code.mod:github.com/ext/lib" {
					if comp.Value != c.want {
						t.Fatalf("value %q, want %q", comp.Value, c.want)
					}
					return
				}
			}
			t.Fatalf("no code.mod component in %v", cs)
		})
	}
}

func TestCodeIdentityRejectsABadGoMod(t *testing.T) {
	fsys := fstest.MapFS{
		"go.mod": {Data: []byte("module example.com/m\nrequire github.com/ext/lib\n")},
		"go.sum": {Data: []byte("")},
	}
	if _, err := graph.NewCodeBase(fsys, "example.com/m"); err == nil || !strings.Contains(err.Error(), "go.mod:2") {
		t.Fatalf("want an error naming go.mod:2, have %v", err)
	}
}

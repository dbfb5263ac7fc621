package all_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/all"
)

// kindSources parses the non-test Go files of every package under
// stages/kinds, by package directory.
func kindSources(t *testing.T) map[string][]*ast.File {
	t.Helper()
	dirs, err := os.ReadDir("../kinds")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	out := map[string][]*ast.File{}
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join("../kinds", d.Name(), "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			out[d.Name()] = append(out[d.Name()], af)
		}
	}
	return out
}

// columnConsts returns the values of a package's exported Col* string
// constants: the columns its kind declares.
func columnConsts(files []*ast.File) map[string]bool {
	out := map[string]bool{}
	for _, f := range files {
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Col") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						out[v] = true
					}
				}
			}
		}
	}
	return out
}

// TestNoOtherKindsColumnLiterals: a kind names another kind's columns
// only through the producer's exported constants and typed readers. It
// fails on a string literal in a kind package that is a column of another
// kind and not one of its own, unless it is a parameter name or indexes
// the grid labels of an input (in.Labels()["gap"] names an axis).
func TestNoOtherKindsColumnLiterals(t *testing.T) {
	srcs := kindSources(t)
	cols := map[string]map[string]bool{}
	for dir, files := range srcs {
		cols[dir] = columnConsts(files)
	}
	if len(cols["train"]) < 20 || len(cols["sweep"]) < 20 {
		t.Fatalf("found %d train and %d sweep column constants: is the test reading the kinds?", len(cols["train"]), len(cols["sweep"]))
	}
	// Parameter names are not columns (a kind reads its inputs'
	// parameters by name, as the report does for its provenance); a
	// literal that is both is not flagged.
	params := map[string]bool{}
	for _, k := range all.Kinds() {
		for _, p := range k.Params() {
			params[p.Name] = true
		}
	}
	var found []string
	for dir, files := range srcs {
		for _, f := range files {
			var stack []ast.Node
			ast.Inspect(f, func(n ast.Node) bool {
				if n == nil {
					stack = stack[:len(stack)-1]
					return true
				}
				stack = append(stack, n)
				if g, ok := n.(*ast.GenDecl); ok && g.Tok == token.CONST {
					stack = stack[:len(stack)-1]
					return false // a named constant declares a name, it reads nothing
				}
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING || labelIndex(stack) {
					return true
				}
				v, _ := strconv.Unquote(lit.Value)
				if cols[dir][v] || params[v] || notColumns[dir+" "+v] {
					return true
				}
				for other, c := range cols {
					if other != dir && c[v] {
						found = append(found, dir+": "+strconv.Quote(v)+" (a column of "+other+")")
					}
				}
				return true
			})
		}
	}
	sort.Strings(found)
	for _, f := range found {
		t.Error(f)
	}
}

// notColumns are literals that are another kind's column name by
// coincidence only.
var notColumns = map[string]bool{
	"figure alpha":     true, // the name of the Greek letter in PDF text
	"fmnist unit":      true, // a normalisation
	"train layer":      true, // what the train kind calls a unit of its network
	"paper g":          true, // the prefix of the report's g2 and g3 number formats
	"paper seeds":      true, // columns of the hand-written paper/search.csv
	"paper experiment": true, // columns of paper/timings.csv
	"paper points":     true,
	"paper alpha":      true, // TeX commands the HTML page renders (htmlmath.go)
	"paper max":        true,
	"paper min":        true,
}

// labelIndex reports whether the innermost node of stack is the index of
// an expression x.Labels()[...].
func labelIndex(stack []ast.Node) bool {
	if len(stack) < 2 {
		return false
	}
	ix, ok := stack[len(stack)-2].(*ast.IndexExpr)
	if !ok || ix.Index != stack[len(stack)-1] {
		return false
	}
	call, ok := ix.X.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Labels"
}

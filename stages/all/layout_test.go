package all_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	bfc "github.com/bfc-repro/bfc"
	"github.com/bfc-repro/bfc/stages/all"
	"github.com/bfc-repro/bfc/stages/kit"
)

// TestLibrariesImportNoKind parses every Go file under stages/lib (tests
// included) and fails on an import of a package under stages/kinds: the
// numerical libraries are the lower floor of the house, the kinds stand on
// them, never the other way round.
func TestLibrariesImportNoKind(t *testing.T) {
	kinds := bfc.ModulePath + "/stages/kinds"
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir("../lib", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		files++
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if ip == kinds || strings.HasPrefix(ip, kinds+"/") {
				t.Errorf("%s imports %s: a library must not import a stage kind", path, ip)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("found only %d Go files under stages/lib: is the test running in stages/all?", files)
	}
}

// TestEveryKindPackageIsListed checks that each package under stages/kinds
// holds a kind that Kinds returns (a kind package nobody lists would never
// run) and that stages/kinds holds nothing but kind packages.
func TestEveryKindPackageIsListed(t *testing.T) {
	ents, err := os.ReadDir("../kinds")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, k := range all.Kinds() {
		listed[pkgDir(k)] = true
	}
	for _, e := range ents {
		if !e.IsDir() {
			t.Errorf("stages/kinds/%s: only kind packages belong there", e.Name())
			continue
		}
		if !listed[e.Name()] {
			t.Errorf("stages/kinds/%s holds no kind listed by all.Kinds", e.Name())
		}
	}
}

// pkgDir is the directory under stages/kinds of the package defining k.
func pkgDir(k kit.Kind) string {
	return strings.TrimPrefix(reflect.TypeOf(k).PkgPath(), bfc.ModulePath+"/stages/kinds/")
}

package pipeline_test

import (
	"strings"
	"testing"
	"testing/fstest"

	bfc "github.com/bfc-repro/bfc"
	"github.com/bfc-repro/bfc/artifacts"
	"github.com/bfc-repro/bfc/pipeline"
)

func compNames(cs []artifacts.Component) map[string]string {
	m := map[string]string{}
	for _, c := range cs {
		m[c.Name] = c.Hash
	}
	return m
}

func TestCodeIdentityOfRealKind(t *testing.T) {
	cb, err := pipeline.NewCodeBase(bfc.Source, bfc.ModulePath)
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
		cb, err := pipeline.NewCodeBase(fsys, "example.com/m")
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
	fs["stages/figure/f.go"] = &fstest.MapFile{Data: []byte("package figure\nimport \"github.com/ext/lib/sub\"\n// new colours\n")}
	t1, f1 := ids(fs)
	if !mapsEqual(t0, t1) {
		t.Fatal("editing figure code changed the identity of train")
	}
	if mapsEqual(f0, f1) {
		t.Fatal("editing figure code did not change the identity of figure")
	}
	// Editing a test file changes nothing; editing the learner changes train.
	fs["stages/train/t_test.go"] = &fstest.MapFile{Data: []byte("package train\n// more tests\n")}
	t2, _ := ids(fs)
	if !mapsEqual(t1, t2) {
		t.Fatal("editing a _test.go file changed the identity of train")
	}
	fs["stages/learn/l.go"] = &fstest.MapFile{Data: []byte("package learn\nimport \"example.com/m/stages/kit\"\nvar _ = kit.Y\n")}
	t3, f3 := ids(fs)
	if t3["code.pkg:stages/learn"] == t2["code.pkg:stages/learn"] || !mapsEqual(f1, f3) {
		t.Fatal("editing the learner must change train's identity and only train's")
	}
}

func TestCodeIdentityRefusesUnembeddedPackage(t *testing.T) {
	fs := fstest.MapFS{
		"go.mod":            {Data: []byte(modFile)},
		"go.sum":            {Data: []byte("")},
		"stages/train/t.go": {Data: []byte("package train\nimport \"example.com/m/internal/secret\"\n")},
	}
	cb, err := pipeline.NewCodeBase(fs, "example.com/m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Components("example.com/m/stages/train"); err == nil || !strings.Contains(err.Error(), "not embedded") {
		t.Fatalf("want a not-embedded error, have %v", err)
	}
}

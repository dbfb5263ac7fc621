package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/artifacts"
	"github.com/bfc-repro/bfc/pipeline"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
)

// TestFilesStayInsideProjectAndDataRoots checks that no parameter can make
// a kind read outside the project and the declared data roots, including
// through a symbolic link, and that editing a file a stage read reruns it.
func TestFilesStayInsideProjectAndDataRoots(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644)
	reg := pipeline.NewRegistry(testkinds.File{})
	build := func(dir, path string) error {
		src := "[pipeline]\ndata_roots = [\"/usr/share/datasets\"]\n[stage.f]\nkind = \"file\"\nparams = { path = \"" + path + "\" }\n"
		os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(src), 0o644)
		cfg, err := pipeline.ParseConfig(filepath.Join(dir, "pipeline.toml"))
		if err != nil {
			return err
		}
		_, err = pipeline.Build(cfg, reg, "")
		return err
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "data.txt"), []byte("hello"), 0o644)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link"))
	for _, bad := range []string{"../x", filepath.Join(outside, "secret"), "link", "/etc/passwd"} {
		err := build(dir, bad)
		if err == nil || !strings.Contains(err.Error(), "outside the project and the data roots") {
			t.Errorf("path %q: err = %v", bad, err)
		}
	}
	if err := build(dir, "data.txt"); err != nil {
		t.Fatal(err)
	}
	run := func() int {
		testkinds.Reset()
		cfg, _ := pipeline.ParseConfig(filepath.Join(dir, "pipeline.toml"))
		g, err := pipeline.Build(cfg, reg, "")
		if err != nil {
			t.Fatal(err)
		}
		st, _ := artifacts.Open(cfg.Store, true)
		code := &fakeCode{ver: map[string]string{}}
		e := pipeline.NewEngine(g, st, code)
		r := &pipeline.Runner{Engine: e, Exec: &pipeline.InProcess{Store: st, Kinds: reg, Code: code}, Jobs: 1}
		s, err := r.Run(context.Background(), g.Points)
		if err != nil || s.Err() != nil {
			t.Fatalf("run: %v %v", err, s.Err())
		}
		return testkinds.Runs("file")
	}
	if run() != 1 || run() != 0 {
		t.Fatal("file stage should run once, then be cached")
	}
	os.WriteFile(filepath.Join(dir, "data.txt"), []byte("hello, edited"), 0o644)
	if run() != 1 {
		t.Fatal("editing the file the stage reads did not rerun it")
	}
}

package exec_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/internal/enginetest"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
)

// TestFilesStayInsideProjectAndDataRoots checks that no parameter can make
// a kind read outside the project and the declared data roots, including
// through a symbolic link, and that editing a file a stage read reruns it.
func TestFilesStayInsideProjectAndDataRoots(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644)
	reg := graph.NewRegistry(testkinds.File{})
	build := func(dir, path string) error {
		src := "[pipeline]\ndata_roots = [\"/usr/share/datasets\"]\n[stage.f]\nkind = \"file\"\nparams = { path = \"" + path + "\" }\n"
		os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(src), 0o644)
		cfg, err := config.ParseFile(filepath.Join(dir, "pipeline.toml"))
		if err != nil {
			return err
		}
		_, err = graph.Build(cfg, reg, "")
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
		cfg, _ := config.ParseFile(filepath.Join(dir, "pipeline.toml"))
		g, err := graph.Build(cfg, reg, "")
		if err != nil {
			t.Fatal(err)
		}
		st, _ := store.Open(g.Config.Store, true)
		code := enginetest.NewFakeCode()
		e := graph.NewEngine(g, st, code)
		r := &exec.Runner{Engine: e, Exec: &exec.InProcess{Store: st, Kinds: reg, Code: code}, Jobs: 1}
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

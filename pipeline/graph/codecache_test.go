package graph_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/bfc-repro/bfc/pipeline/graph"
)

// TestCodeHashCacheGivesTheSameIdentity checks that code identities
// computed through the cache file are those computed without it: when the
// file was just written, when a package changed since (its new hash, not
// the remembered one), and when the file is damaged (ignored, rewritten).
func TestCodeHashCacheGivesTheSameIdentity(t *testing.T) {
	fsys := fstest.MapFS{
		"go.mod":            {Data: []byte(modFile)},
		"go.sum":            {Data: []byte("github.com/ext/lib v1.2.3 h1:abc=\ngithub.com/ext/lib v1.2.3/go.mod h1:def=\n")},
		"stages/kit/kit.go": {Data: []byte("package kit\nvar X = 1\n")},
		"stages/train/t.go": {Data: []byte("package train\nimport \"example.com/m/stages/kit\"\nvar _ = kit.X\n")},
	}
	cacheFile := filepath.Join(t.TempDir(), "codehash")
	ident := func(cached bool) map[string]string {
		t.Helper()
		cb, err := graph.NewCodeBase(fsys, "example.com/m")
		if err != nil {
			t.Fatal(err)
		}
		if cached {
			b, _ := os.ReadFile(cacheFile)
			cb.LoadHashes(b)
		}
		cs, err := cb.Components("example.com/m/stages/train")
		if err != nil {
			t.Fatal(err)
		}
		if b, changed := cb.Hashes(); cached && changed {
			if err := os.WriteFile(cacheFile, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return compNames(cs)
	}
	cases := []struct {
		name   string
		change func()
	}{
		{"empty cache", func() {}},
		{"cache written", func() {
			if _, err := os.Stat(cacheFile); err != nil {
				t.Fatalf("no cache file written: %v", err)
			}
		}},
		{"package changed", func() {
			fsys["stages/kit/kit.go"] = &fstest.MapFile{Data: []byte("package kit\nvar X = 2\n")}
		}},
		{"damaged cache", func() {
			b, _ := os.ReadFile(cacheFile)
			b[3] ^= 1
			os.WriteFile(cacheFile, b, 0o644)
		}},
		{"cache rewritten", func() {}},
	}
	for _, c := range cases {
		c.change()
		want := ident(false)
		if got := ident(true); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: identity through the cache %v, want %v", c.name, got, want)
		}
	}
	if _, err := os.Stat(cacheFile); err != nil {
		t.Fatalf("no cache file written: %v", err)
	}
}

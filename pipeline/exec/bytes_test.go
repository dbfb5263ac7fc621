package exec_test

import (
	"bytes"
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/internal/enginetest"
)

// sharedKeyPipeline has two stages whose points describe one computation
// (same kind, parameters, seed and code: one key), each gathered by a sum
// of its own (different labels: different keys).
const sharedKeyPipeline = `
[pipeline]
name = "NAME"
seed = 3

[stage.first]
kind = "src"
params = { n = 6 }
seed = 1

[stage.second]
kind = "src"
params = { n = 6 }
seed = 1

[stage.sum1]
kind = "sum"
gather = ["first"]

[stage.sum2]
kind = "sum"
gather = ["second", "first"]
`

// TestStoreBytesDoNotDependOnTheSchedule: two stores of the same pipeline
// filled in different orders (the point computed first is first in one,
// second in the other; one CPU token against four) and under different
// pipeline names hold the same object files, byte for byte: a file is a
// function of its key alone. The points that share a key both name it in
// their refs.
func TestStoreBytesDoNotDependOnTheSchedule(t *testing.T) {
	type schedule struct {
		name  string
		first string // computed alone before the rest
		jobs  int
	}
	var stores []string
	for _, sc := range []schedule{{"one", "first", 1}, {"two", "second", 4}} {
		f := enginetest.New(t, strings.ReplaceAll(sharedKeyPipeline, "NAME", sc.name))
		e := f.Engine("")
		r := &exec.Runner{Engine: e, Exec: &exec.InProcess{Store: e.Store, Kinds: kinds, Code: f.Code}, Jobs: sc.jobs}
		for _, targets := range [][]string{{sc.first}, nil} {
			pts, err := e.Graph.Select(targets)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Run(context.Background(), pts); err != nil {
				t.Fatal(err)
			}
		}
		a, errA := e.Store.GetRef("", "first")
		b, errB := e.Store.GetRef("", "second")
		if errA != nil || errB != nil || a.Key != b.Key {
			t.Fatalf("%s: refs of the two points: %v %v %v %v, want one key", sc.name, a, errA, b, errB)
		}
		stores = append(stores, e.Store.Dir)
	}
	files := func(dir string) map[string][]byte {
		out := map[string][]byte{}
		root := filepath.Join(dir, "objects")
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			out[rel] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	one, two := files(stores[0]), files(stores[1])
	if len(one) == 0 {
		t.Fatal("no objects")
	}
	for name, b := range one {
		if c, ok := two[name]; !ok || !bytes.Equal(b, c) {
			t.Errorf("object %s is in the first store only", name)
		}
	}
	for name := range two {
		if _, ok := one[name]; !ok {
			t.Errorf("object %s is in the second store only", name)
		}
	}
	if t.Failed() {
		t.Logf("first store: %v", slices.Sorted(maps.Keys(one)))
	}
}

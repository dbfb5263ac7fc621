package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestArrowFilesOpenInApacheArrowJS reads store files written by a real
// run with an independent Arrow implementation (the apache-arrow npm
// package, artifacts/interop; `make interop` installs it) and checks that
// the tables and their metadata (stage key, params) come through.
func TestArrowFilesOpenInApacheArrowJS(t *testing.T) {
	interop, _ := filepath.Abs("../../artifacts/interop")
	if _, err := os.Stat(filepath.Join(interop, "node_modules", "apache-arrow")); err != nil {
		t.Skip("apache-arrow (npm) not installed: run `make interop`")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir := newProject(t, targets)
	if r := runBFC(t, dir, nil, "run", "tgt[L=3,seed=1]"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, ".bfc", "keys", "*", "*.json"))
	if len(files) != 1 {
		t.Fatalf("%d manifests, want 1", len(files))
	}
	b, _ := os.ReadFile(files[0])
	var m struct {
		Key     string
		Outputs []struct {
			Name, File string
			Rows       int
		}
	}
	json.Unmarshal(b, &m)
	for _, o := range m.Outputs {
		path := filepath.Join(dir, ".bfc", "objects", o.File[:2], o.File+".arrow")
		out, err := exec.Command(node, filepath.Join(interop, "read.mjs"), path).Output()
		if err != nil {
			t.Fatalf("apache-arrow could not read output %s: %v", o.Name, err)
		}
		var got struct {
			Metadata map[string]string
			Fields   []struct{ Name, Type string }
			Rows     int
			First    map[string]any
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v: %s", o.Name, err, out)
		}
		if got.Metadata["bfc.key"] != m.Key || got.Metadata["bfc.output"] != o.Name || !strings.Contains(got.Metadata["bfc.params"], `"n_train":3000`) {
			t.Errorf("%s: metadata as apache-arrow reads it: %v", o.Name, got.Metadata)
		}
		if got.Rows != o.Rows || len(got.Fields) == 0 {
			t.Errorf("%s: %d rows and %d fields, manifest says %d rows", o.Name, got.Rows, len(got.Fields), o.Rows)
		}
		if o.Name == "train" {
			x, ok := got.First["x"].([]any)
			if !ok || len(x) != 8 {
				t.Errorf("train.x[0] as apache-arrow reads it: %v (want 8 values)", got.First["x"])
			}
		}
	}
}

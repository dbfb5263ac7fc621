package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/stages/kinds/paper"
)

// projectPipeline is the pipeline file the end-to-end tests run under the
// smoke profile: the project's own, or (to try a stage before it is in
// pipeline.toml) the file named by BFC_TEST_PIPELINE, relative to the
// project root.
func projectPipeline(t *testing.T) (root, file string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	file = "pipeline.toml"
	if f := os.Getenv("BFC_TEST_PIPELINE"); f != "" {
		file = f
	}
	return root, file
}

// smokeRun runs stages (all if none) of the project's pipeline under the
// smoke profile into a fresh store and returns the store and its directory.
func smokeRun(t *testing.T, stages ...string) (*store.Store, string) {
	t.Helper()
	root, file := projectPipeline(t)
	dir := t.TempDir()
	r := runBFC(t, root, nil, append([]string{"-f", file, "--profile", "smoke", "--store", dir, "run"}, stages...)...)
	if r.code != 0 {
		t.Fatalf("smoke run failed (exit %d):\n%s", r.code, lastLines(r.stderr, 30))
	}
	st, err := store.Open(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}

// smokeManifest returns the manifest of a point of the last smoke run.
func smokeManifest(t *testing.T, st *store.Store, point string) *store.Manifest {
	t.Helper()
	ref, err := st.GetRef("smoke", point)
	if err != nil {
		t.Fatalf("ref of %s: %v", point, err)
	}
	m, err := st.Manifest(ref.Key)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readTable decodes output name of a manifest (the caller releases it).
func readTable(st *store.Store, m *store.Manifest, name string) (arrow.Record, error) {
	o, ok := m.Output(name)
	if !ok {
		return nil, fmt.Errorf("%s has no output %q", m.Stage, name)
	}
	b, err := st.ReadObject(o.File)
	if err != nil {
		return nil, err
	}
	rec, _, err := store.DecodeTable(b)
	return rec, err
}

// storeLookup reads source cells from the store: table cells from the
// point's outputs, parameters from its key components, files from disk.
func storeLookup(st *store.Store, root string) paper.Lookup {
	return func(c paper.Cell) (paper.Cell, error) {
		var err error
		if c.Kind == "file" {
			raw, err := os.ReadFile(filepath.Join(root, c.Key))
			if err != nil {
				return c, err
			}
			return paper.FileCell(raw, c)
		}
		key, err := id.ParseKey(c.Key)
		if err != nil {
			return c, err
		}
		m, err := st.Manifest(key)
		if err != nil {
			return c, err
		}
		if c.Table == "params" {
			comp, ok := m.Component("param:" + c.Column)
			if !ok {
				return c, fmt.Errorf("%s has no parameter %s", m.Stage, c.Column)
			}
			var v any
			if err := json.Unmarshal([]byte(comp.Value), &v); err != nil {
				return c, err
			}
			c.Num, c.Str, c.IsText, err = paper.ParamValue(v)
			return c, err
		}
		rec, err := readTable(st, m, c.Table)
		if err != nil {
			return c, err
		}
		defer rec.Release()
		c.Num, c.Str, c.IsText, err = paper.RecordCell(rec, c.Row, c.Column)
		return c, err
	}
}

// TestPaperNumbersMatchStore runs the report under the smoke profile and
// checks, from the store alone, that every macro of the published
// numbers.tex (which paper.tex typesets) is recomputed from the artifacts
// its sources name; and, through the command line, that the numbers taken
// from the claims table are the ones `bfc export claims` prints.
func TestPaperNumbersMatchStore(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	root, file, st, dir, m := smokePaper(t)
	nums, err := readTable(st, m, "numbers")
	if err != nil {
		t.Fatal(err)
	}
	defer nums.Release()
	srcs, err := readTable(st, m, "sources")
	if err != nil {
		t.Fatal(err)
	}
	defer srcs.Release()
	tex := publishedFile(t, st, m, "numbers.tex")
	if err := paper.Check(tex, nums, srcs, storeLookup(st, root)); err != nil {
		t.Fatalf("numbers.tex does not match the artifacts:\n%v", err)
	}
	t.Logf("%d entries of numbers.tex recomputed from the store", nums.NumRows())

	// The claims cells, against the command line's export of the claims table.
	c := runBFC(t, root, nil, "-f", file, "--profile", "smoke", "--store", dir, "export", "claims", "--format", "csv")
	if c.code != 0 {
		t.Fatalf("export claims: exit %d: %s", c.code, c.stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(c.stdout)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("export claims: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	checked := 0
	for r := 0; r < int(srcs.NumRows()); r++ {
		str := func(col string) string { _, v, _, _ := paper.RecordCell(srcs, r, col); return v }
		num := func(col string) float64 { v, _, _, _ := paper.RecordCell(srcs, r, col); return v }
		if str("kind") != "claims" || str("table") != "claims" {
			continue
		}
		entry, row, column := str("name"), int(num("row")), str("column")
		j, ok := col[column]
		if !ok || row+1 >= len(rows) {
			t.Errorf("%s: claims row %d column %s is not in the export", entry, row, column)
			continue
		}
		want := str("text")
		if str("is_text") != "true" {
			want = strconv.FormatFloat(num("num"), 'g', -1, 64)
		}
		if got := rows[row+1][j]; got != want {
			t.Errorf("%s: claims row %d %s is %q in the export, %q in the paper's sources", entry, row, column, got, want)
		}
		checked++
	}
	if checked == 0 {
		t.Error("no entry of the paper comes from the claims table")
	}
	t.Logf("%d claims cells of the paper agree with bfc export claims", checked)
}

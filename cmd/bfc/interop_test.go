package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/bfc-repro/bfc/artifacts/store"
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

// TestExportIsLossless exports one output table of four points as Parquet
// and as CSV and checks every value against the store's Arrow files as Go
// reads them: the Parquet file as DuckDB reads it (npm @duckdb/node-api),
// the Arrow files as apache-arrow (npm) reads them, and the CSV as
// strconv parses it. Lossless means equal bits: the tolerance is zero.
// The Parquet file's key-value metadata must carry every point's key and
// params.
func TestExportIsLossless(t *testing.T) {
	interop, _ := filepath.Abs("../../artifacts/interop")
	if _, err := os.Stat(filepath.Join(interop, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Skip("DuckDB (npm) not installed: run `make interop`")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir := newProject(t, targets)
	const sel = "tgt[L=3]"
	if r := runBFC(t, dir, nil, "run", sel); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := runBFC(t, dir, nil, "show", sel, "--json")
	var shown []showJSON
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || len(shown) != 4 {
		t.Fatalf("show --json: %d points, %v: %s", len(shown), err, r.stderr)
	}
	pq := filepath.Join(t.TempDir(), "test.parquet")
	if r := runBFC(t, dir, nil, "export", sel, "--output", "test", "--format", "parquet", "-o", pq); r.code != 0 {
		t.Fatalf("export parquet: %s", r.stderr)
	}
	csvOut := runBFC(t, dir, nil, "export", sel, "--output", "test")
	if csvOut.code != 0 {
		t.Fatalf("export csv: %s", csvOut.stderr)
	}

	// The reference: every row of every point as Go reads the store,
	// preceded by the point's labels (L, seed) and key.
	var want [][]any
	var paths []string
	var goRows [][][]any // per point, without labels and key
	for _, s := range shown {
		var out outputJSON
		for _, o := range s.Outputs {
			if o.Name == "test" {
				out = o
			}
		}
		paths = append(paths, out.Path)
		b, err := os.ReadFile(out.Path)
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := store.DecodeTable(b)
		if err != nil {
			t.Fatal(err)
		}
		rows := goValues(t, rec)
		rec.Release()
		goRows = append(goRows, rows)
		labels := strings.TrimSuffix(strings.TrimPrefix(s.Point, "tgt["), "]") // L=3,seed=N
		l, seed, _ := strings.Cut(labels, ",")
		for _, row := range rows {
			want = append(want, append([]any{strings.TrimPrefix(l, "L="), strings.TrimPrefix(seed, "seed="), s.Key}, row...))
		}
	}

	out, err := exec.Command(node, append([]string{filepath.Join(interop, "duckdb.mjs"), pq}, paths...)...).Output()
	if err != nil {
		t.Fatalf("duckdb.mjs: %v", err)
	}
	var got struct {
		Parquet struct {
			Columns []string
			Types   []string
			Rows    [][]any
			KV      map[string]string
		}
		Arrow []struct {
			Metadata map[string]string
			Columns  []string
			Rows     [][]any
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Parquet.Columns, ",") != "L,seed,key,x,y,g,s2,s3" || got.Parquet.Types[3] != "DOUBLE[]" {
		t.Fatalf("Parquet columns as DuckDB reads them: %v %v", got.Parquet.Columns, got.Parquet.Types)
	}
	if n := compareRows(t, "Parquet in DuckDB", got.Parquet.Rows, want); n == 0 {
		t.Fatal("compared no values")
	}
	for i, a := range got.Arrow {
		compareRows(t, "Arrow in apache-arrow, "+shown[i].Point, a.Rows, goRows[i])
		if a.Metadata["bfc.key"] != shown[i].Key {
			t.Errorf("%s: apache-arrow reads bfc.key %q, want %q", shown[i].Point, a.Metadata["bfc.key"], shown[i].Key)
		}
	}
	var prov []struct {
		Point, Key string
		Labels     map[string]string
		Params     map[string]any
	}
	if err := json.Unmarshal([]byte(got.Parquet.KV["bfc.points"]), &prov); err != nil || len(prov) != 4 {
		t.Fatalf("bfc.points as DuckDB reads it: %v %q", err, got.Parquet.KV["bfc.points"])
	}
	for i, p := range prov {
		var params map[string]any
		json.Unmarshal([]byte(got.Arrow[i].Metadata["bfc.params"]), &params)
		if p.Point != shown[i].Point || p.Key != shown[i].Key || p.Labels["seed"] == "" || !reflect.DeepEqual(p.Params, params) || params["n_test"] != 500.0 {
			t.Errorf("bfc.points[%d] = %+v, want point %s key %s params %v", i, p, shown[i].Point, shown[i].Key, params)
		}
	}
	if got.Parquet.KV["bfc.output"] != "test" || got.Parquet.KV["bfc.kind"] != "target" {
		t.Errorf("Parquet metadata: %v", got.Parquet.KV)
	}

	// CSV: every float reads back to the same bits.
	recs, err := csv.NewReader(strings.NewReader(csvOut.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var csvRows [][]any
	for _, rec := range recs[1:] {
		row := []any{rec[0], rec[1], rec[2]}
		for _, c := range rec[3:] {
			row = append(row, parseCell(t, c))
		}
		csvRows = append(csvRows, row)
	}
	if strings.Join(recs[0], ",") != "L,seed,key,x,y,g,s2,s3" {
		t.Fatalf("CSV header %v", recs[0])
	}
	compareRows(t, "CSV", csvRows, want)
}

// goValues are the rows of rec as Go reads them: float64, string, or
// []any of float64 for a vector column.
func goValues(t *testing.T, rec arrow.Record) [][]any {
	t.Helper()
	rows := make([][]any, rec.NumRows())
	for c := 0; c < int(rec.NumCols()); c++ {
		switch col := rec.Column(c).(type) {
		case *array.Float64:
			for r := range rows {
				rows[r] = append(rows[r], col.Value(r))
			}
		case *array.FixedSizeList:
			vals := col.ListValues().(*array.Float64)
			n := int(col.DataType().(*arrow.FixedSizeListType).Len())
			for r := range rows {
				v := make([]any, n)
				for j := range v {
					v[j] = vals.Value((col.Offset()+r)*n + j)
				}
				rows[r] = append(rows[r], v)
			}
		default:
			t.Fatalf("column %s of type %s: not in this test", rec.ColumnName(c), col.DataType())
		}
	}
	return rows
}

// parseCell reads a CSV float or "[x y ...]" vector.
func parseCell(t *testing.T, s string) any {
	t.Helper()
	if v, ok := strings.CutPrefix(s, "["); ok {
		var out []any
		for _, f := range strings.Fields(strings.TrimSuffix(v, "]")) {
			out = append(out, parseCell(t, f))
		}
		return out
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("CSV cell %q: %v", s, err)
	}
	return x
}

// compareRows checks got against want value by value (floats bit for
// bit), reports the first few differences and returns how many values
// it compared.
func compareRows(t *testing.T, what string, got, want [][]any) int {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
		return 0
	}
	n, bad := 0, 0
	var cmp func(g, w any) bool
	cmp = func(g, w any) bool {
		switch wv := w.(type) {
		case float64:
			gv, ok := g.(float64)
			n++
			return ok && math.Float64bits(gv) == math.Float64bits(wv)
		case []any:
			gv, ok := g.([]any)
			if !ok || len(gv) != len(wv) {
				return false
			}
			for i := range wv {
				if !cmp(gv[i], wv[i]) {
					return false
				}
			}
			return true
		}
		n++
		return g == w
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Errorf("%s: row %d has %d values, want %d", what, i, len(got[i]), len(want[i]))
			continue
		}
		for j := range want[i] {
			if !cmp(got[i][j], want[i][j]) {
				if bad++; bad <= 5 {
					t.Errorf("%s: row %d column %d = %v, want %v", what, i, j, got[i][j], want[i][j])
				}
			}
		}
	}
	return n
}

package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/stages/kinds/paper"
)

// Figure regression: the numbers drawn in every figure of the smoke
// profile (each figure point's "data" table) are compared with an approved
// baseline, testdata/figure-baselines/smoke/<figure>.csv. A value differs
// when |new - old| > figAbsTol + figRelTol * max(|new|, |old|): the smoke
// runs are deterministic (same code, same bytes), so any difference means
// that the code behind a figure changed; the tolerance only absorbs the
// last bits of floating-point noise. After checking the reported
// differences, approve the new figures with
//
//	BFC_APPROVE_FIGURES=1 go test -run '^TestFigureRegression$' ./cmd/bfc
//
// (make approve-figures), which rewrites the baseline, and commit it.
const (
	figRelTol = 1e-6
	figAbsTol = 1e-12
)

var figBaselineDir = filepath.Join("testdata", "figure-baselines", "smoke")

// figureData are the numeric columns of a figure's data table.
var figureData = []string{"x", "y", "lo", "hi", "z"}

// figureLabels identify a row: which panel, which element and series.
var figureLabels = []string{"panel", "panel_title", "element", "series", "grp", "x_label"}

// figureCSV writes a figure point's data table as CSV: the label columns,
// then the numeric columns with every float printed exactly.
func figureCSV(rec arrow.Record) ([][]string, error) {
	cols := append(slices.Clone(figureLabels), figureData...)
	out := [][]string{cols}
	for r := 0; r < int(rec.NumRows()); r++ {
		row := make([]string, len(cols))
		for i, c := range cols {
			num, str, isText, err := paper.RecordCell(rec, r, c)
			if err != nil {
				return nil, err
			}
			if isText {
				row[i] = str
			} else {
				row[i] = strconv.FormatFloat(num, 'g', -1, 64)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// smokeFigures returns the data of every figure point of the smoke run,
// by figure name (the file stem it publishes).
func smokeFigures(t *testing.T, st *store.Store) map[string][][]string {
	t.Helper()
	refs, _, err := st.AllRefs()
	if err != nil {
		t.Fatal(err)
	}
	figs := map[string][][]string{}
	for _, ref := range refs {
		if ref.Profile != "smoke" {
			continue
		}
		m, err := st.Manifest(ref.Key)
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind != "figure" {
			continue
		}
		name := ""
		for _, o := range m.Outputs {
			if n, ok := strings.CutPrefix(o.Name, "publish.figures."); ok && strings.HasSuffix(n, ".png") {
				name = strings.TrimSuffix(n, ".png")
			}
		}
		if name == "" {
			t.Fatalf("figure point %s published no PNG", ref.Point)
		}
		rec, err := readTable(st, m, "data")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := figureCSV(rec)
		rec.Release()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		figs[name] = rows
	}
	return figs
}

// seriesDiff accumulates the differences of one series.
type seriesDiff struct {
	name         string
	n, over      int
	maxAbs       float64
	maxRel       float64
	where        string // the value with the largest relative difference
	shapeChanged string
}

// compareFigure compares a figure's fresh rows with the baseline's, series
// by series (rows in order within a series), and returns every series that
// changed at all.
func compareFigure(old, cur [][]string) []*seriesDiff {
	// A series is named by its panel, element, legend name and colour group
	// (unnamed series, such as the dots of one schedule, differ by group).
	key := func(row []string) string { return strings.Join(row[:5], " | ") }
	group := func(rows [][]string) (map[string][][]string, []string) {
		m := map[string][][]string{}
		var order []string
		for _, r := range rows[1:] {
			k := key(r)
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = append(m[k], r)
		}
		return m, order
	}
	om, oorder := group(old)
	cm, corder := group(cur)
	var out []*seriesDiff
	for _, k := range oorder {
		if _, ok := cm[k]; !ok {
			out = append(out, &seriesDiff{name: k, shapeChanged: "series gone"})
		}
	}
	for _, k := range corder {
		o, ok := om[k]
		c := cm[k]
		d := &seriesDiff{name: k}
		switch {
		case !ok:
			d.shapeChanged = "new series"
		case len(o) != len(c):
			d.shapeChanged = fmt.Sprintf("%d rows, were %d", len(c), len(o))
		}
		if d.shapeChanged != "" {
			out = append(out, d)
			continue
		}
		nl := len(figureLabels)
		for i := range c {
			if !slices.Equal(o[i][:nl], c[i][:nl]) {
				d.shapeChanged = fmt.Sprintf("row %d labels %v, were %v", i, c[i][:nl], o[i][:nl])
				break
			}
			for j, col := range figureData {
				a, _ := strconv.ParseFloat(o[i][nl+j], 64)
				b, _ := strconv.ParseFloat(c[i][nl+j], 64)
				if a == b || math.IsNaN(a) && math.IsNaN(b) {
					continue
				}
				d.n++
				abs := math.Abs(b - a)
				rel := abs / math.Max(math.Abs(a), math.Abs(b))
				if math.IsNaN(abs) {
					abs, rel = math.Inf(1), math.Inf(1)
				}
				if abs > figAbsTol+figRelTol*math.Max(math.Abs(a), math.Abs(b)) || math.IsInf(abs, 0) {
					d.over++
				}
				d.maxAbs = math.Max(d.maxAbs, abs)
				if rel >= d.maxRel {
					d.maxRel, d.where = rel, fmt.Sprintf("%s at row %d: %s -> %s", col, i, o[i][nl+j], c[i][nl+j])
				}
			}
		}
		if d.n > 0 || d.shapeChanged != "" {
			out = append(out, d)
		}
	}
	return out
}

// TestFigureRegression compares the figure data of a fresh smoke run with
// the approved baseline and reports, per series, the largest absolute and
// relative differences; it fails if any value differs beyond the tolerance
// or a figure or series appeared, vanished or changed shape. With
// BFC_APPROVE_FIGURES=1 it writes the fresh data as the new baseline.
func TestFigureRegression(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	st, _ := smokeRun(t)
	figs := smokeFigures(t, st)
	if len(figs) == 0 {
		t.Fatal("the smoke run has no figure points")
	}
	if os.Getenv("BFC_APPROVE_FIGURES") != "" {
		approveFigures(t, figs)
		return
	}
	old, _ := filepath.Glob(filepath.Join(figBaselineDir, "*.csv"))
	for _, f := range old {
		name := strings.TrimSuffix(filepath.Base(f), ".csv")
		if _, ok := figs[name]; !ok {
			t.Errorf("%s: in the baseline, but the smoke run has no such figure", name)
		}
	}
	names := make([]string, 0, len(figs))
	for n := range figs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		path := filepath.Join(figBaselineDir, name+".csv")
		f, err := os.Open(path)
		if err != nil {
			t.Errorf("%s: no approved baseline (%v); run make approve-figures after checking the figure", name, err)
			continue
		}
		base, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(base) == 0 || !slices.Equal(base[0], figs[name][0]) {
			t.Errorf("%s: baseline %s is not a figure data table (%v)", name, path, err)
			continue
		}
		for _, d := range compareFigure(base, figs[name]) {
			switch {
			case d.shapeChanged != "":
				t.Errorf("%s / %s: %s", name, d.name, d.shapeChanged)
			case d.over > 0:
				t.Errorf("%s / %s: %d of %d changed values beyond tolerance; max |diff| %.3g, max rel %.3g (%s)",
					name, d.name, d.over, d.n, d.maxAbs, d.maxRel, d.where)
			default:
				t.Logf("%s / %s: %d values within tolerance; max |diff| %.3g, max rel %.3g", name, d.name, d.n, d.maxAbs, d.maxRel)
			}
		}
	}
	if t.Failed() {
		t.Log("if the changes are intended, approve them: make approve-figures (BFC_APPROVE_FIGURES=1), then commit " + figBaselineDir)
	}
}

// approveFigures writes figs as the baseline, removing figures that no
// longer exist.
func approveFigures(t *testing.T, figs map[string][][]string) {
	t.Helper()
	if err := os.MkdirAll(figBaselineDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(figBaselineDir, "*.csv"))
	for _, f := range old {
		if _, ok := figs[strings.TrimSuffix(filepath.Base(f), ".csv")]; !ok {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
			t.Logf("removed %s", f)
		}
	}
	for name, rows := range figs {
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := w.WriteAll(rows); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(figBaselineDir, name+".csv")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("approved %s (%d rows)", path, len(rows)-1)
	}
}

// TestCompareFigure: the comparison finds changed values, their size,
// and changes of shape.
func TestCompareFigure(t *testing.T) {
	head := append(slices.Clone(figureLabels), figureData...)
	row := func(series string, y string) []string {
		return []string{"0", "panel", "series", series, series, "", "1", y, "NaN", "NaN", "NaN"}
	}
	base := [][]string{head, row("a", "1"), row("a", "2"), row("b", "3")}
	for _, c := range []struct {
		name   string
		cur    [][]string
		series string
		over   int
		shape  bool
		maxRel float64
	}{
		{"identical", [][]string{head, row("a", "1"), row("a", "2"), row("b", "3")}, "", 0, false, 0},
		{"noise within tolerance", [][]string{head, row("a", "1"), row("a", "2.0000000001"), row("b", "3")}, "a", 0, false, 5e-11},
		{"real change", [][]string{head, row("a", "1"), row("a", "2.2"), row("b", "3")}, "a", 1, false, 0.2 / 2.2},
		{"NaN appears", [][]string{head, row("a", "1"), row("a", "NaN"), row("b", "3")}, "a", 1, false, math.Inf(1)},
		{"row lost", [][]string{head, row("a", "1"), row("b", "3")}, "a", 0, true, 0},
		{"series renamed", [][]string{head, row("a", "1"), row("a", "2"), row("c", "3")}, "b", 0, true, 0},
	} {
		diffs := compareFigure(base, c.cur)
		if c.series == "" {
			if len(diffs) != 0 {
				t.Errorf("%s: reported %+v", c.name, diffs[0])
			}
			continue
		}
		var d *seriesDiff
		for _, x := range diffs {
			if strings.HasSuffix(x.name, "| "+c.series+" | "+c.series) {
				d = x
			}
		}
		switch {
		case d == nil:
			t.Errorf("%s: series %s not reported (%d diffs)", c.name, c.series, len(diffs))
		case (d.shapeChanged != "") != c.shape || d.over != c.over:
			t.Errorf("%s: shape %q, %d over tolerance; want shape change %v, %d over", c.name, d.shapeChanged, d.over, c.shape, c.over)
		case !c.shape && math.Abs(d.maxRel-c.maxRel) > 1e-9*math.Max(1, c.maxRel) && !(math.IsInf(c.maxRel, 1) && math.IsInf(d.maxRel, 1)):
			t.Errorf("%s: max rel %v, want %v", c.name, d.maxRel, c.maxRel)
		}
	}
}

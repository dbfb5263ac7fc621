package bundle

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// Comparing tables. `bfc diff` and `bfc reproduce` say how two versions
// of an output differ, not just that they do: per column, how many values
// differ and by how much. Numeric columns (float64, int64 and fixed-size
// lists of float64, flattened) report
//
//	max abs = max |a - b|
//	max rel = max |a - b| / max(|a|, |b|)     (0 when a = b, including 0 = 0)
//
// over the pairs where both values are finite; NaN equals NaN and an
// infinity equals itself, and any other pair with a non-finite value is
// counted as a non-finite mismatch. The relative difference is symmetric
// and at most 2 (reached only when a and b have opposite signs). Rows are
// compared by position over the rows both tables have.

// ColumnDiff compares one column of two tables (or the rows of one series).
type ColumnDiff struct {
	Column    string
	Group     string // the series, for per-series rows; "" for the whole column
	TypeA     string
	TypeB     string
	Numeric   bool
	Compared  int     // values compared
	Differ    int     // values not equal
	NonFinite int     // differing pairs with a NaN or an infinity
	MaxAbs    float64 // over differing finite pairs
	MaxRel    float64
}

// Equal reports whether every compared value was equal and the types agree.
func (c *ColumnDiff) Equal() bool { return c.Differ == 0 && c.TypeA == c.TypeB }

// String words the difference, e.g. "y: 3/40 values differ, max abs 1.2e-06, max rel 3.4e-07".
func (c *ColumnDiff) String() string {
	name := c.Column
	if c.Group != "" {
		name = c.Group + ": " + c.Column
	}
	if c.TypeA != c.TypeB {
		return fmt.Sprintf("%s: type %s -> %s", name, c.TypeA, c.TypeB)
	}
	s := fmt.Sprintf("%s: %d/%d values differ", name, c.Differ, c.Compared)
	if c.Numeric && c.Differ > c.NonFinite {
		s += fmt.Sprintf(", max abs %.3g, max rel %.3g", c.MaxAbs, c.MaxRel)
	}
	if c.NonFinite > 0 {
		s += fmt.Sprintf(", %d with NaN or Inf on one side", c.NonFinite)
	}
	return s
}

// TableDiff compares two tables column by column.
type TableDiff struct {
	RowsA, RowsB int64
	OnlyA, OnlyB []string     // columns of one table only
	Columns      []ColumnDiff // columns of both, in the first table's order
	// Series breaks the numeric columns down by series, for tables with
	// a "series" column (figure data) whose labels agree row by row; only
	// series with differences are listed.
	Series []ColumnDiff
}

// Equal reports whether the tables have the same columns, rows and values.
func (d *TableDiff) Equal() bool {
	if d.RowsA != d.RowsB || len(d.OnlyA) > 0 || len(d.OnlyB) > 0 {
		return false
	}
	for i := range d.Columns {
		if !d.Columns[i].Equal() {
			return false
		}
	}
	return true
}

// CompareTables compares a and b column by column (matched by name).
func CompareTables(a, b arrow.Record) *TableDiff {
	d := &TableDiff{RowsA: a.NumRows(), RowsB: b.NumRows()}
	rows := int(min(a.NumRows(), b.NumRows()))
	colB := map[string]arrow.Array{}
	for i, f := range b.Schema().Fields() {
		colB[f.Name] = b.Column(i)
	}
	inA := map[string]bool{}
	for i, f := range a.Schema().Fields() {
		inA[f.Name] = true
		cb, ok := colB[f.Name]
		if !ok {
			d.OnlyA = append(d.OnlyA, f.Name)
			continue
		}
		d.Columns = append(d.Columns, compareColumns(f.Name, "", a.Column(i), cb, 0, rows))
	}
	for _, f := range b.Schema().Fields() {
		if !inA[f.Name] {
			d.OnlyB = append(d.OnlyB, f.Name)
		}
	}
	d.Series = seriesDiffs(a, colB, rows)
	return d
}

// seriesDiffs splits the numeric columns of a figure data table by series.
func seriesDiffs(a arrow.Record, colB map[string]arrow.Array, rows int) []ColumnDiff {
	colA := map[string]arrow.Array{}
	for i, f := range a.Schema().Fields() {
		colA[f.Name] = a.Column(i)
	}
	sa, ok1 := colA["series"].(*array.String)
	sb, ok2 := colB["series"].(*array.String)
	if !ok1 || !ok2 {
		return nil
	}
	label := func(r int) string {
		var parts []string
		if p, ok := colA["panel"].(*array.Int64); ok {
			parts = append(parts, fmt.Sprintf("panel %d", p.Value(r)))
		}
		if e, ok := colA["element"].(*array.String); ok && e.Value(r) != "series" {
			parts = append(parts, e.Value(r))
		}
		if s := sa.Value(r); s != "" {
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	// Runs of consecutive rows with the same label form one series.
	type run struct {
		label      string
		start, end int
	}
	var runs []run
	for r := 0; r < rows; r++ {
		if sa.Value(r) != sb.Value(r) {
			return nil // rows do not align; the column diffs say so
		}
		l := label(r)
		if n := len(runs); n > 0 && runs[n-1].label == l && runs[n-1].end == r {
			runs[n-1].end = r + 1
			continue
		}
		runs = append(runs, run{l, r, r + 1})
	}
	if len(runs) < 2 {
		return nil
	}
	var out []ColumnDiff
	for _, rn := range runs {
		for i, f := range a.Schema().Fields() {
			cb, ok := colB[f.Name]
			if !ok || !isNumeric(a.Column(i)) || !isNumeric(cb) {
				continue
			}
			if c := compareColumns(f.Name, rn.label, a.Column(i), cb, rn.start, rn.end); c.Differ > 0 {
				out = append(out, c)
			}
		}
	}
	return out
}

func isNumeric(c arrow.Array) bool {
	_, _, ok := numericAt(c, 0)
	return ok
}

// numericAt returns the values of row r of a numeric column and its width.
func numericAt(c arrow.Array, r int) (vals []float64, width int, ok bool) {
	switch x := c.(type) {
	case *array.Float64:
		if r >= x.Len() {
			return nil, 1, true
		}
		return []float64{x.Value(r)}, 1, true
	case *array.Int64:
		if r >= x.Len() {
			return nil, 1, true
		}
		return []float64{float64(x.Value(r))}, 1, true
	case *array.FixedSizeList:
		f, isF := x.ListValues().(*array.Float64)
		if !isF {
			return nil, 0, false
		}
		n := int(x.DataType().(*arrow.FixedSizeListType).Len())
		if r >= x.Len() {
			return nil, n, true
		}
		off := (x.Offset() + r) * n
		return f.Float64Values()[off : off+n], n, true
	}
	return nil, 0, false
}

// compareColumns compares rows [start, end) of two columns.
func compareColumns(name, group string, a, b arrow.Array, start, end int) ColumnDiff {
	c := ColumnDiff{Column: name, Group: group, TypeA: a.DataType().String(), TypeB: b.DataType().String()}
	if c.TypeA != c.TypeB {
		return c
	}
	if _, _, ok := numericAt(a, 0); ok {
		c.Numeric = true
		for r := start; r < end; r++ {
			va, _, _ := numericAt(a, r)
			vb, _, _ := numericAt(b, r)
			for j := range va {
				c.compareFloats(va[j], vb[j])
			}
		}
		return c
	}
	for r := start; r < end; r++ {
		c.Compared++
		if !sameCell(a, b, r) {
			c.Differ++
		}
	}
	return c
}

func (c *ColumnDiff) compareFloats(x, y float64) {
	c.Compared++
	if x == y || (math.IsNaN(x) && math.IsNaN(y)) {
		return
	}
	c.Differ++
	if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		c.NonFinite++
		return
	}
	abs := math.Abs(x - y)
	c.MaxAbs = max(c.MaxAbs, abs)
	c.MaxRel = max(c.MaxRel, abs/max(math.Abs(x), math.Abs(y)))
}

// sameCell compares one non-numeric cell of two columns of the same type.
func sameCell(a, b arrow.Array, r int) bool {
	switch x := a.(type) {
	case *array.String:
		return x.Value(r) == b.(*array.String).Value(r)
	case *array.Binary:
		return bytes.Equal(x.Value(r), b.(*array.Binary).Value(r))
	case *array.Boolean:
		return x.Value(r) == b.(*array.Boolean).Value(r)
	}
	return a.IsNull(r) == b.IsNull(r) && a.ValueStr(r) == b.ValueStr(r)
}

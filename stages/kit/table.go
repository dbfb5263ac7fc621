package kit

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Table builds an Arrow record column by column. Matrices are stored as
// FixedSizeList<float64> columns (one list of cols values per row), which
// pyarrow, R and DuckDB read as arrays.
//
//	rec, err := kit.NewTable().Int64("epoch", epochs).Float64("loss", loss).Record()
type Table struct {
	fields []arrow.Field
	cols   []arrow.Array
	rows   int
	err    error
}

// NewTable starts an empty table.
func NewTable() *Table { return &Table{rows: -1} }

func (t *Table) add(name string, typ arrow.DataType, n int, build func(mem memory.Allocator) arrow.Array) *Table {
	if t.err != nil {
		return t
	}
	if t.rows >= 0 && n != t.rows {
		t.err = fmt.Errorf("table column %q has %d rows, earlier columns have %d", name, n, t.rows)
		return t
	}
	for _, f := range t.fields {
		if f.Name == name {
			t.err = fmt.Errorf("table column %q given twice", name)
			return t
		}
	}
	t.rows = n
	t.fields = append(t.fields, arrow.Field{Name: name, Type: typ})
	t.cols = append(t.cols, build(memory.DefaultAllocator))
	return t
}

// Float64 adds a float64 column.
func (t *Table) Float64(name string, v []float64) *Table {
	return t.add(name, arrow.PrimitiveTypes.Float64, len(v), func(mem memory.Allocator) arrow.Array {
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.AppendValues(v, nil)
		return b.NewArray()
	})
}

// Int64 adds an int64 column.
func (t *Table) Int64(name string, v []int64) *Table {
	return t.add(name, arrow.PrimitiveTypes.Int64, len(v), func(mem memory.Allocator) arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues(v, nil)
		return b.NewArray()
	})
}

// Ints adds an int64 column from ints.
func (t *Table) Ints(name string, v []int) *Table {
	w := make([]int64, len(v))
	for i, x := range v {
		w[i] = int64(x)
	}
	return t.Int64(name, w)
}

// String adds a UTF-8 column.
func (t *Table) String(name string, v []string) *Table {
	return t.add(name, arrow.BinaryTypes.String, len(v), func(mem memory.Allocator) arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues(v, nil)
		return b.NewArray()
	})
}

// Bool adds a boolean column.
func (t *Table) Bool(name string, v []bool) *Table {
	return t.add(name, arrow.FixedWidthTypes.Boolean, len(v), func(mem memory.Allocator) arrow.Array {
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		b.AppendValues(v, nil)
		return b.NewArray()
	})
}

// Binary adds a binary column.
func (t *Table) Binary(name string, v [][]byte) *Table {
	return t.add(name, arrow.BinaryTypes.Binary, len(v), func(mem memory.Allocator) arrow.Array {
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		defer b.Release()
		b.AppendValues(v, nil)
		return b.NewArray()
	})
}

// Matrix adds a column of rows vectors of length cols, taken row-major
// from v (len(v) must be rows*cols). cols must be at least 1.
func (t *Table) Matrix(name string, rows, cols int, v []float64) *Table {
	if t.err == nil && (cols < 1 || len(v) != rows*cols) {
		t.err = fmt.Errorf("table column %q: %d values do not form %d rows of %d", name, len(v), rows, cols)
		return t
	}
	typ := arrow.FixedSizeListOf(int32(cols), arrow.PrimitiveTypes.Float64)
	return t.add(name, typ, rows, func(mem memory.Allocator) arrow.Array {
		b := array.NewFixedSizeListBuilder(mem, int32(cols), arrow.PrimitiveTypes.Float64)
		defer b.Release()
		vb := b.ValueBuilder().(*array.Float64Builder)
		for r := 0; r < rows; r++ {
			b.Append(true)
			vb.AppendValues(v[r*cols:(r+1)*cols], nil)
		}
		return b.NewArray()
	})
}

// Record returns the built record. The caller owns it.
func (t *Table) Record() (arrow.Record, error) {
	defer func() {
		for _, c := range t.cols {
			c.Release()
		}
		t.cols = nil
	}()
	if t.err != nil {
		return nil, t.err
	}
	rows := t.rows
	if rows < 0 {
		rows = 0
	}
	schema := arrow.NewSchema(t.fields, nil)
	return array.NewRecord(schema, t.cols, int64(rows)), nil
}

func column(rec arrow.Record, name string) (arrow.Array, error) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		return nil, fmt.Errorf("table has no column %q", name)
	}
	col := rec.Column(idx[0])
	if col.NullN() > 0 {
		return nil, fmt.Errorf("column %q has %d nulls", name, col.NullN())
	}
	return col, nil
}

// ReadFloat64s returns a copy of a float64 column.
func ReadFloat64s(rec arrow.Record, name string) ([]float64, error) {
	col, err := column(rec, name)
	if err != nil {
		return nil, err
	}
	a, ok := col.(*array.Float64)
	if !ok {
		return nil, fmt.Errorf("column %q is %s, not float64", name, col.DataType())
	}
	return append([]float64(nil), a.Float64Values()...), nil
}

// ReadInt64s returns a copy of an int64 column.
func ReadInt64s(rec arrow.Record, name string) ([]int64, error) {
	col, err := column(rec, name)
	if err != nil {
		return nil, err
	}
	a, ok := col.(*array.Int64)
	if !ok {
		return nil, fmt.Errorf("column %q is %s, not int64", name, col.DataType())
	}
	return append([]int64(nil), a.Int64Values()...), nil
}

// ReadStrings returns a copy of a string column.
func ReadStrings(rec arrow.Record, name string) ([]string, error) {
	col, err := column(rec, name)
	if err != nil {
		return nil, err
	}
	a, ok := col.(*array.String)
	if !ok {
		return nil, fmt.Errorf("column %q is %s, not string", name, col.DataType())
	}
	out := make([]string, a.Len())
	for i := range out {
		out[i] = a.Value(i)
	}
	return out, nil
}

// ReadBools returns a copy of a boolean column.
func ReadBools(rec arrow.Record, name string) ([]bool, error) {
	col, err := column(rec, name)
	if err != nil {
		return nil, err
	}
	a, ok := col.(*array.Boolean)
	if !ok {
		return nil, fmt.Errorf("column %q is %s, not bool", name, col.DataType())
	}
	out := make([]bool, a.Len())
	for i := range out {
		out[i] = a.Value(i)
	}
	return out, nil
}

// ReadBinaries returns a copy of a binary column.
func ReadBinaries(rec arrow.Record, name string) ([][]byte, error) {
	col, err := column(rec, name)
	if err != nil {
		return nil, err
	}
	a, ok := col.(*array.Binary)
	if !ok {
		return nil, fmt.Errorf("column %q is %s, not binary", name, col.DataType())
	}
	out := make([][]byte, a.Len())
	for i := range out {
		out[i] = append([]byte(nil), a.Value(i)...)
	}
	return out, nil
}

// ReadMatrix returns a matrix column as row-major values and its width.
func ReadMatrix(rec arrow.Record, name string) (v []float64, cols int, err error) {
	col, err := column(rec, name)
	if err != nil {
		return nil, 0, err
	}
	a, ok := col.(*array.FixedSizeList)
	if !ok {
		return nil, 0, fmt.Errorf("column %q is %s, not a fixed-size list", name, col.DataType())
	}
	typ := a.DataType().(*arrow.FixedSizeListType)
	vals, ok := a.ListValues().(*array.Float64)
	if !ok {
		return nil, 0, fmt.Errorf("column %q holds %s, not float64", name, typ.Elem())
	}
	cols = int(typ.Len())
	off := a.Offset() * cols
	n := a.Len() * cols
	if vals.NullN() > 0 {
		return nil, 0, fmt.Errorf("column %q has null elements", name)
	}
	raw := vals.Float64Values()
	if off+n > len(raw) {
		return nil, 0, fmt.Errorf("column %q is shorter than its length says", name)
	}
	return append([]float64(nil), raw[off:off+n]...), cols, nil
}

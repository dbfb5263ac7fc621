package kit

import (
	"fmt"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// Rows is a table read back against its declared schema. Because the
// record passed TableDesc.Check, every declared column exists with its
// declared type, so the accessors cannot fail on one: asking for a column
// the schema does not declare, or as another type, is a programming error
// of the reader and panics (the engine fails the stage). Producers build
// their typed readers on it; consumers call those readers.
type Rows struct {
	Desc TableDesc
	Rec  arrow.Record
}

// Open checks rec against d. The error names the producer's schema.
func (d TableDesc) Open(rec arrow.Record) (*Rows, error) {
	if err := d.Check(rec); err != nil {
		return nil, err
	}
	return &Rows{Desc: d, Rec: rec}, nil
}

// Read reads table d.Name of input in and checks it against d. The caller
// must Release the result.
func (d TableDesc) Read(in Input) (*Rows, error) {
	if in.Kind() != d.Kind {
		return nil, fmt.Errorf("input %s is a %q stage, table %s is written by %q stages", in.Key(), in.Kind(), d.ID(), d.Kind)
	}
	rec, err := in.Read(d.Name)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", in.Kind(), in.Key(), err)
	}
	r, err := d.Open(rec)
	if err != nil {
		rec.Release()
		return nil, fmt.Errorf("%s %s: %w", in.Kind(), in.Key(), err)
	}
	return r, nil
}

// Release releases the record.
func (r *Rows) Release() { r.Rec.Release() }

// Len is the number of rows.
func (r *Rows) Len() int { return int(r.Rec.NumRows()) }

// One checks that the table has exactly one row (a summary).
func (r *Rows) One() error {
	if r.Len() != 1 {
		return fmt.Errorf("table %s has %d rows, want 1", r.Desc.ID(), r.Len())
	}
	return nil
}

func (r *Rows) col(name string, t ColType) arrow.Array {
	c, ok := r.Desc.Column(name)
	if !ok || c.Type != t {
		panic(fmt.Sprintf("kit: schema %s declares no %s column %q", r.Desc.ID(), t, name))
	}
	return r.Rec.Column(r.Rec.Schema().FieldIndices(name)[0])
}

// must turns the error of a read of a declared column into a panic: it
// can only be a null value, which no stage writes.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("kit: %v", err))
	}
	return v
}

// Float64s returns a copy of a float64 column.
func (r *Rows) Float64s(name string) []float64 {
	r.col(name, ColFloat64)
	return must(ReadFloat64s(r.Rec, name))
}

// Int64s returns a copy of an int64 column.
func (r *Rows) Int64s(name string) []int64 {
	r.col(name, ColInt64)
	return must(ReadInt64s(r.Rec, name))
}

// Ints returns an int64 column as ints.
func (r *Rows) Ints(name string) []int {
	v := r.Int64s(name)
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// Strings returns a copy of a string column.
func (r *Rows) Strings(name string) []string {
	r.col(name, ColString)
	return must(ReadStrings(r.Rec, name))
}

// Bools returns a copy of a boolean column.
func (r *Rows) Bools(name string) []bool {
	r.col(name, ColBool)
	return must(ReadBools(r.Rec, name))
}

// Matrix returns a matrix column as row-major values and its width.
func (r *Rows) Matrix(name string) ([]float64, int) {
	r.col(name, ColMatrix)
	v, w, err := ReadMatrix(r.Rec, name)
	return must(v, err), w
}

// Labels returns the label column name (see TableDesc.Labels), and false
// if the table has no such label.
func (r *Rows) Labels(name string) ([]string, bool) {
	for _, l := range r.Desc.LabelNames(r.Rec) {
		if l == name {
			return must(ReadStrings(r.Rec, name)), true
		}
	}
	return nil, false
}

// Cell returns row i of a declared column as a report cell stores it
// (see RecordCell).
func (r *Rows) Cell(i int, name string) (num float64, str string, isText bool) {
	if _, ok := r.Desc.Column(name); !ok {
		panic(fmt.Sprintf("kit: schema %s declares no column %q", r.Desc.ID(), name))
	}
	num, str, isText, err := RecordCell(r.Rec, i, name)
	if err != nil {
		panic(fmt.Sprintf("kit: table %s: %v", r.Desc.ID(), err))
	}
	return num, str, isText
}

// RecordCell reads row r of column col of rec as a report cell stores
// it: a float64 or int64 as num (str empty), a string or boolean as str
// with isText set (num NaN).
func RecordCell(rec arrow.Record, r int, col string) (num float64, str string, isText bool, err error) {
	idx := rec.Schema().FieldIndices(col)
	if len(idx) != 1 {
		return math.NaN(), "", false, fmt.Errorf("no column %q", col)
	}
	if r < 0 || r >= int(rec.NumRows()) {
		return math.NaN(), "", false, fmt.Errorf("%d rows, no row %d", rec.NumRows(), r)
	}
	arr := rec.Column(idx[0])
	if arr.IsNull(r) {
		return math.NaN(), "", false, fmt.Errorf("row %d column %s is null", r, col)
	}
	switch a := arr.(type) {
	case *array.Float64:
		return a.Value(r), "", false, nil
	case *array.Int64:
		return float64(a.Value(r)), "", false, nil
	case *array.String:
		return math.NaN(), a.Value(r), true, nil
	case *array.Boolean:
		return math.NaN(), fmt.Sprint(a.Value(r)), true, nil
	}
	return math.NaN(), "", false, fmt.Errorf("column %s has type %s, not a number or string", col, arr.DataType())
}

// Use reads table d of in against its schema, hands it to fn and
// releases it; an error of fn is wrapped with the input and the table.
func (d TableDesc) Use(in Input, fn func(r *Rows) error) error {
	r, err := d.Read(in)
	if err != nil {
		return err
	}
	defer r.Release()
	if err := fn(r); err != nil {
		return fmt.Errorf("%s %s: %s: %w", in.Kind(), in.Key(), d.Name, err)
	}
	return nil
}

// Output is one table a kind writes, built on demand.
type Output struct {
	Name  string
	Build func() (arrow.Record, error)
}

// WriteAll builds every output, then writes them in order, so that a
// table that fails to build writes nothing.
func WriteAll(env Env, outs ...Output) error {
	recs := make([]arrow.Record, 0, len(outs))
	for _, o := range outs {
		rec, err := o.Build()
		if err != nil {
			for _, r := range recs {
				r.Release()
			}
			return fmt.Errorf("table %s: %w", o.Name, err)
		}
		recs = append(recs, rec)
	}
	for i, o := range outs {
		if err := env.Write(o.Name, recs[i]); err != nil {
			for _, r := range recs[i+1:] {
				r.Release()
			}
			return fmt.Errorf("write %s: %w", o.Name, err)
		}
	}
	return nil
}

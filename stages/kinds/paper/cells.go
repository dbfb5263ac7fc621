package paper

import (
	"fmt"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/bfc-repro/bfc/stages/kit"
)

// table is one output table of an input, read whole, from which cells are
// taken with their provenance.
type table struct {
	in   kit.Input
	name string
	rec  arrow.Record
}

// readTable reads output name of in. The caller must release it.
func readTable(in kit.Input, name string) (*table, error) {
	rec, err := in.Read(name)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", in.Kind(), shortKey(in.Key()), err)
	}
	return &table{in: in, name: name, rec: rec}, nil
}

func (t *table) release() { t.rec.Release() }

func (t *table) rows() int { return int(t.rec.NumRows()) }

// cell returns the value of column col in row r: numbers (float64, int64)
// as Num, strings and booleans as text.
func (t *table) cell(r int, col string) (Cell, error) {
	c := Cell{Key: t.in.Key(), Kind: t.in.Kind(), Table: t.name, Row: r, Column: col}
	var err error
	c.Num, c.Str, c.IsText, err = RecordCell(t.rec, r, col)
	if err != nil {
		return c, fmt.Errorf("%s %s: table %s: %w", t.in.Kind(), shortKey(t.in.Key()), t.name, err)
	}
	return c, nil
}

// RecordCell reads row r of column col of rec as a Cell stores it: a
// float64 or int64 as num (str empty), a string or boolean as str with
// isText set (num NaN).
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

// reader reads cells and keeps the first error, so that code reading many
// cells checks once.
type reader struct{ err error }

func (rd *reader) fail(err error) {
	if rd.err == nil && err != nil {
		rd.err = err
	}
}

// cell is table.cell keeping the first error.
func (rd *reader) cell(t *table, r int, col string) Cell {
	c, err := t.cell(r, col)
	rd.fail(err)
	return c
}

// param returns parameter name of in as a cell.
func (rd *reader) param(in kit.Input, name string) Cell {
	c := Cell{Key: in.Key(), Kind: in.Kind(), Table: paramTable, Row: -1, Column: name}
	v, ok := in.Params()[name]
	if !ok {
		c.Num = math.NaN()
		rd.fail(fmt.Errorf("%s %s has no parameter %q", in.Kind(), shortKey(in.Key()), name))
		return c
	}
	var err error
	c.Num, c.Str, c.IsText, err = ParamValue(v)
	if err != nil {
		rd.fail(fmt.Errorf("%s %s: parameter %s: %w", in.Kind(), shortKey(in.Key()), name, err))
	}
	return c
}

// ParamValue converts a parameter value as a Cell stores it: numbers
// (int64, float64, and the float64 of decoded JSON) as num, strings and
// booleans as text.
func ParamValue(v any) (num float64, str string, isText bool, err error) {
	switch x := v.(type) {
	case int64:
		return float64(x), "", false, nil
	case float64:
		return x, "", false, nil
	case string:
		return math.NaN(), x, true, nil
	case bool:
		return math.NaN(), fmt.Sprint(x), true, nil
	}
	return math.NaN(), "", false, fmt.Errorf("a %T, not a number or string", v)
}

package paper

import (
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
)

// table is one output table of an input, read whole against its
// producer's schema, from which cells are taken with their provenance.
type table struct {
	in kit.Input
	r  *kit.Rows
}

// readTable reads table d of in. The caller must release it.
func readTable(in kit.Input, d kit.TableDesc) (*table, error) {
	r, err := d.Read(in)
	if err != nil {
		return nil, err
	}
	return &table{in: in, r: r}, nil
}

func (t *table) release() { t.r.Release() }

func (t *table) rows() int { return t.r.Len() }

// cell returns the value of column col in row r: numbers (float64, int64)
// as Num, strings and booleans as text. col must be a column the
// producer declares.
func (t *table) cell(r int, col string) (Cell, error) {
	name := t.r.Desc.Name
	c := Cell{Key: t.in.Key(), Kind: t.in.Kind(), Table: name, Row: r, Column: col}
	if _, ok := t.r.Desc.Column(col); !ok && !slices.Contains(t.r.Desc.LabelNames(t.r.Rec), col) {
		return c, fmt.Errorf("%s %s: table %s: schema %s has no column %q", t.in.Kind(), shortKey(t.in.Key()), name, t.r.Desc.ID(), col)
	}
	var err error
	c.Num, c.Str, c.IsText, err = RecordCell(t.r.Rec, r, col)
	if err != nil {
		return c, fmt.Errorf("%s %s: table %s: %w", t.in.Kind(), shortKey(t.in.Key()), name, err)
	}
	return c, nil
}

// RecordCell reads row r of column col of rec as a Cell stores it (see
// kit.RecordCell).
func RecordCell(rec arrow.Record, r int, col string) (num float64, str string, isText bool, err error) {
	return kit.RecordCell(rec, r, col)
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

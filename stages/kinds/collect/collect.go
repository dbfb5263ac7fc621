// Package collect implements the stage kind "collect": it gathers one
// output table from every input point (typically all points of a sweep)
// into a single table, adding the point's grid labels and its stage key to
// every row, so that each row of a summary can be traced to the exact
// cache entry it came from.
package collect

import (
	"fmt"
	"slices"
	"sort"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/bfc-repro/bfc/stages/kit"
)

// Kind is the stage kind "collect".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "collect" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Concatenates one output table (param output) of every input point into one table, " +
		"with the points' grid labels as string columns and their stage keys in column \"key\". Output: table."
}

// Params implements kit.Kind.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.StringParam("output", "result", "name of the output table to read from every input"),
		kit.StringParam("kind", "", "only inputs of this kind (empty: all inputs)"),
	}
}

// config is the typed form of a collect stage's parameters.
type config struct{ output, kind string }

func configOf(p kit.Params) config { return config{output: p.String("output"), kind: p.String("kind")} }

// Version is that of the collect table's schema.
const Version = 1

// The table a collect stage writes and its column of stage keys; the
// label columns before it are named after the grid axes of the points.
const (
	TableName = "table"
	ColKey    = "key"
)

// Desc is the schema of a collect table that carries the rows of tables
// declared by d: label columns, the key, then d's columns.
func Desc(d kit.TableDesc) kit.TableDesc {
	return kit.TableDesc{Kind: "collect", Version: Version, Name: TableName,
		Columns: append([]kit.ColumnDesc{kit.StringCol(ColKey)}, d.Columns...), Labels: true, Relays: d.ID()}
}

// Read reads the table of a collect input that carries rows of d's
// schema. The rows' own columns are read with d's producer's typed
// reader; Rows.Labels gives a label column, ColKey the points' keys.
func Read(in kit.Input, d kit.TableDesc) (*kit.Rows, error) { return Desc(d).Read(in) }

// Need is the kit.TableNeed of a consumer of a collect table that carries
// rows of d's schema.
func Need(d kit.TableDesc) kit.TableNeed { return Desc(d).Need() }

// ProducesFrom implements kit.InputProducer: the table carries the rows of
// the collected table, which every collected input must declare alike.
func (Kind) ProducesFrom(p kit.Params, ups []kit.Upstream) ([]kit.TableDesc, error) {
	cfg := configOf(p)
	var first *kit.TableDesc
	for _, u := range ups {
		if cfg.kind != "" && u.Kind != cfg.kind {
			continue
		}
		if !u.Declared {
			return nil, fmt.Errorf("input %s (kind %s): %w", u.Stage, u.Kind, kit.ErrUndeclared)
		}
		i := slices.IndexFunc(u.Produces, func(d kit.TableDesc) bool { return d.Name == cfg.output })
		if i < 0 {
			return nil, fmt.Errorf("input %s (kind %s) does not write table %q", u.Stage, u.Kind, cfg.output)
		}
		d := u.Produces[i]
		if first == nil {
			first = &d
		} else if d.ID() != first.ID() || !slices.Equal(d.Columns, first.Columns) {
			return nil, fmt.Errorf("input %s writes %s, another input %s: collect needs one schema", u.Stage, d.ID(), first.ID())
		}
	}
	if first == nil {
		return nil, fmt.Errorf("no input of kind %q to collect", cfg.kind)
	}
	return []kit.TableDesc{Desc(*first)}, nil
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	cfg := configOf(env.Params())
	name, only := cfg.output, cfg.kind
	var ins []kit.Input
	for _, in := range env.Inputs() {
		if only == "" || in.Kind() == only {
			ins = append(ins, in)
		}
	}
	if len(ins) == 0 {
		return fmt.Errorf("no inputs of kind %q to collect", only)
	}
	// Label columns: every axis seen on any input, in name order, except
	// those that are already columns of the table.
	axes := map[string]bool{}
	for _, in := range ins {
		for k := range in.Labels() {
			axes[k] = true
		}
	}
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var schema *arrow.Schema
	for i, in := range ins {
		rec, err := in.Read(name)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
		plain := arrow.NewSchema(rec.Schema().Fields(), nil)
		if schema == nil {
			schema = plain
		} else if !schema.Equal(plain) {
			return fmt.Errorf("input %d (%s %v): table %q has columns %v, the first input has %v", i, in.Kind(), in.Labels(), name, plain, schema)
		}
		env.Progress(i+1, len(ins), "")
	}
	var labelCols []string
	for _, a := range sortedKeys(axes) {
		if len(schema.FieldIndices(a)) == 0 && a != ColKey {
			labelCols = append(labelCols, a)
		}
	}
	t := kit.NewTable()
	for _, a := range labelCols {
		var vals []string
		for i, in := range ins {
			v := in.Labels()[a]
			for r := 0; r < int(recs[i].NumRows()); r++ {
				vals = append(vals, v)
			}
		}
		t.String(a, vals)
	}
	var keys []string
	for i, in := range ins {
		for r := 0; r < int(recs[i].NumRows()); r++ {
			keys = append(keys, in.Key())
		}
	}
	t.String(ColKey, keys)
	head, err := t.Record()
	if err != nil {
		return err
	}
	defer head.Release()
	fields := slices.Clone(head.Schema().Fields())
	cols := slices.Clone(head.Columns())
	for c, f := range schema.Fields() {
		parts := make([]arrow.Array, len(recs))
		for i, r := range recs {
			parts[i] = r.Column(c)
		}
		col, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			return fmt.Errorf("column %s: %w", f.Name, err)
		}
		defer col.Release()
		fields = append(fields, f)
		cols = append(cols, col)
	}
	out := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(keys)))
	return env.Write(TableName, out)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/bfc-repro/bfc/pipeline/view"
)

func exportCmd(g *globals) *cobra.Command {
	var format, output, file string
	c := &cobra.Command{
		Use:   "export SELECTOR [--format csv|parquet] [-o FILE]",
		Short: "Write an output table of every selected point as CSV or Parquet, losslessly",
		Long: `Export writes one output table (--output, default the stage's only table, or
"summary") of every selected point: the points' rows concatenated, their grid
labels as leading string columns (unless the table has a column of that name)
and the point's stage key in the column "key".

--format csv (default) writes every float in the shortest form that reads back
to the same float64 (vector columns as "[x y ...]"). --format parquet writes one
Parquet file (zstd) with the table's types (vectors as lists of doubles) and the
provenance as file key-value metadata: bfc.points (a JSON array of every point
with its key, labels and params), bfc.output, bfc.pipeline (the pipeline's
name), and every bfc.* entry of the
Arrow files that all points share (bfc.key and bfc.params too for one point).
Polars, pandas, DuckDB and R's arrow read it. Standard output is the default;
-o FILE writes a file (Parquet is not written to a terminal).

` + selectorHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "csv" && format != "parquet" {
				return usageError{fmt.Errorf("--format %q: use csv or parquet", format)}
			}
			p, sts, err := g.freshPoints(args[0])
			if err != nil {
				return err
			}
			x, err := gather(p, sts, output)
			if err != nil {
				return err
			}
			defer x.release()
			var w io.Writer = os.Stdout
			if file != "" {
				f, err := os.Create(file)
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				defer f.Close()
				w = f
			} else if format == "parquet" && isatty.IsTerminal(os.Stdout.Fd()) {
				return usageError{fmt.Errorf("--format parquet writes binary data: give -o FILE or redirect standard output")}
			}
			if format == "csv" {
				err = x.writeCSV(w)
			} else {
				err = x.writeParquet(w)
			}
			if err != nil {
				return fmt.Errorf("export %s: %w", args[0], err)
			}
			if f, ok := w.(*os.File); ok && file != "" {
				return f.Close()
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "csv", "csv or parquet")
	c.Flags().StringVar(&output, "output", "", "which output table (default: the only one, or summary)")
	c.Flags().StringVarP(&file, "out", "o", "", "write to this file instead of standard output")
	return c
}

// exportSet is one output table of several points, ready to write.
type exportSet struct {
	name   string   // the output table
	labels []string // label columns (axes that are not table columns)
	points []*view.PointStatus
	recs   []arrow.Record
	metas  []map[string]string
	// pipeline is the pipeline's name (the files do not carry it: they
	// are a function of their keys).
	pipeline string
}

func (x *exportSet) release() {
	for _, r := range x.recs {
		r.Release()
	}
}

// gather reads the output table of every point; all must have the same
// columns.
func gather(p *project, sts []*view.PointStatus, output string) (*exportSet, error) {
	x := &exportSet{points: sts, pipeline: p.graph.Config.Name}
	axes := map[string]bool{}
	for _, s := range sts {
		for k := range s.Point.Labels {
			axes[k] = true
		}
	}
	var first []string
	for i, s := range sts {
		name := output
		if name == "" {
			var err error
			if name, err = defaultOutput(s.Manifest); err != nil {
				x.release()
				return nil, err
			}
		}
		rec, meta, err := readOutput(p.store, s.Manifest, name)
		if err != nil {
			x.release()
			return nil, err
		}
		x.name = name
		x.recs, x.metas = append(x.recs, rec), append(x.metas, meta)
		var cols []string
		for _, f := range rec.Schema().Fields() {
			cols = append(cols, f.Name+" "+f.Type.String())
		}
		if i == 0 {
			first = cols
			for _, a := range slices.Sorted(maps.Keys(axes)) {
				if rec.Schema().FieldIndices(a) == nil {
					x.labels = append(x.labels, a)
				}
			}
		} else if !slices.Equal(cols, first) {
			x.release()
			return nil, fmt.Errorf("%s: its %s table has other columns than %s's", s.Point.ID, name, sts[0].Point.ID)
		}
	}
	return x, nil
}

func (x *exportSet) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	h := append(slices.Clone(x.labels), "key")
	for _, f := range x.recs[0].Schema().Fields() {
		h = append(h, f.Name)
	}
	cw.Write(h)
	for i, s := range x.points {
		pre := make([]string, 0, len(x.labels)+1)
		for _, l := range x.labels {
			pre = append(pre, s.Point.Labels[l])
		}
		pre = append(pre, s.Key.String())
		rec := x.recs[i]
		for r := 0; r < int(rec.NumRows()); r++ {
			row := slices.Clone(pre)
			for c := 0; c < int(rec.NumCols()); c++ {
				row = append(row, cell(rec.Column(c), r))
			}
			cw.Write(row)
		}
	}
	cw.Flush()
	return cw.Error()
}

// provenance is one point of bfc.points.
type provenance struct {
	Point  string            `json:"point"`
	Key    string            `json:"key"`
	Labels map[string]string `json:"labels"`
	Params json.RawMessage   `json:"params"`
}

// metadata is the file key-value metadata of a Parquet export.
func (x *exportSet) metadata() (arrow.Metadata, error) {
	var prov []provenance
	for i, s := range x.points {
		params := json.RawMessage(x.metas[i]["bfc.params"])
		if !json.Valid(params) {
			params = json.RawMessage("null")
		}
		labels := s.Point.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		prov = append(prov, provenance{Point: s.Point.ID, Key: s.Key.String(), Labels: labels, Params: params})
	}
	b, err := json.Marshal(prov)
	if err != nil {
		return arrow.Metadata{}, err
	}
	kv := map[string]string{"bfc.points": string(b), "bfc.output": x.name, "bfc.pipeline": x.pipeline}
	for k, v := range x.metas[0] {
		if !strings.HasPrefix(k, "bfc.") || k == "bfc.points" {
			continue
		}
		same := true
		for _, m := range x.metas[1:] {
			same = same && m[k] == v
		}
		if same {
			kv[k] = v
		}
	}
	keys := slices.Sorted(maps.Keys(kv))
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = kv[k]
	}
	return arrow.NewMetadata(keys, vals), nil
}

// record is the whole export as one Arrow record: label and key columns,
// then the table's columns, the points' rows concatenated.
func (x *exportSet) record(mem memory.Allocator) (arrow.Record, error) {
	var fields []arrow.Field
	var cols []arrow.Array
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	strCol := func(name string, value func(i int) string) {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for i, rec := range x.recs {
			v := value(i)
			for r := int64(0); r < rec.NumRows(); r++ {
				b.Append(v)
			}
		}
		fields = append(fields, arrow.Field{Name: name, Type: arrow.BinaryTypes.String})
		cols = append(cols, b.NewArray())
	}
	for _, l := range x.labels {
		strCol(l, func(i int) string { return x.points[i].Point.Labels[l] })
	}
	strCol("key", func(i int) string { return x.points[i].Key.String() })
	for c, f := range x.recs[0].Schema().Fields() {
		parts := make([]arrow.Array, len(x.recs))
		for i, rec := range x.recs {
			parts[i] = rec.Column(c)
		}
		col, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name, err)
		}
		if fl, ok := col.(*array.FixedSizeList); ok {
			lc, err := asList(fl, mem)
			col.Release()
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", f.Name, err)
			}
			col = lc
		}
		fields = append(fields, arrow.Field{Name: f.Name, Type: col.DataType(), Nullable: f.Nullable})
		cols = append(cols, col)
	}
	meta, err := x.metadata()
	if err != nil {
		return nil, err
	}
	var rows int64
	for _, rec := range x.recs {
		rows += rec.NumRows()
	}
	return array.NewRecord(arrow.NewSchema(fields, &meta), cols, rows), nil
}

func (x *exportSet) writeParquet(w io.Writer) error {
	mem := memory.NewGoAllocator()
	rec, err := x.record(mem)
	if err != nil {
		return err
	}
	defer rec.Release()
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec})
	defer tbl.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCreatedBy("bfc"))
	// The Parquet writer closes a writer that is an io.Closer; the caller
	// closes its file (and standard output stays open).
	sink := struct{ io.Writer }{w}
	return pqarrow.WriteTable(tbl, sink, max(1, rec.NumRows()), props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
}

// asList turns a vector column (FixedSizeList<float64>) into a List of
// non-null doubles. Written as a fixed-size list by arrow/go v15's
// pqarrow, its elements read back as NULL in DuckDB 1.5; as a list they
// read back exactly (TestExportIsLossless).
func asList(fl *array.FixedSizeList, mem memory.Allocator) (arrow.Array, error) {
	vals, ok := fl.ListValues().(*array.Float64)
	if !ok {
		return nil, fmt.Errorf("vector column of %s, want float64", fl.ListValues().DataType())
	}
	n := int(fl.DataType().(*arrow.FixedSizeListType).Len())
	b := array.NewListBuilderWithField(mem, arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Float64})
	defer b.Release()
	vb := b.ValueBuilder().(*array.Float64Builder)
	for i := 0; i < fl.Len(); i++ {
		b.Append(true)
		off := (fl.Offset() + i) * n
		for j := 0; j < n; j++ {
			vb.Append(vals.Value(off + j))
		}
	}
	return b.NewArray(), nil
}

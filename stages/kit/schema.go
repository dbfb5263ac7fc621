package kit

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
)

// Tables that pass between stages have declared schemas, owned by the kind
// that writes them. A producer declares every table it writes (Producer);
// a consumer declares every table it reads from its inputs (Consumer). The
// engine checks the wiring of pipeline.toml against both declarations when
// it builds the graph, before anything runs (CheckWiring), and checks every
// table a kind writes against its declaration (TableDesc.Check), so a
// consumer can rely on the columns it reads.

// ColType is the type of a column as stage tables store it.
type ColType string

const (
	ColFloat64 ColType = "float64"
	ColInt64   ColType = "int64"
	ColString  ColType = "string"
	ColBool    ColType = "bool"
	ColBinary  ColType = "binary"
	// ColMatrix is a FixedSizeList<float64> column: one vector per row
	// (see Table.Matrix). Its width is data, not schema.
	ColMatrix ColType = "matrix"
)

// ColumnDesc is one declared column.
type ColumnDesc struct {
	Name string
	Type ColType
}

// FloatCol, IntCol, StringCol, BoolCol, BinaryCol and MatrixCol declare a
// column of the named type.
func FloatCol(name string) ColumnDesc  { return ColumnDesc{name, ColFloat64} }
func IntCol(name string) ColumnDesc    { return ColumnDesc{name, ColInt64} }
func StringCol(name string) ColumnDesc { return ColumnDesc{name, ColString} }
func BoolCol(name string) ColumnDesc   { return ColumnDesc{name, ColBool} }
func BinaryCol(name string) ColumnDesc { return ColumnDesc{name, ColBinary} }
func MatrixCol(name string) ColumnDesc { return ColumnDesc{name, ColMatrix} }

// TableDesc describes one table a kind writes: the producing kind, the
// version of the table's schema (bumped on every incompatible change), the
// table's output name and its columns in order.
//
// A table that gathers rows of its inputs' tables (collect) sets Relays to
// the ID of the schema whose columns it carries and Labels: its columns are
// then any number of leading string columns named after grid axes (which
// only the pipeline's grids determine), then Columns.
type TableDesc struct {
	Kind    string
	Version int
	Name    string
	Columns []ColumnDesc
	Labels  bool
	Relays  string
}

// ID names the schema: "kind/table@vN".
func (d TableDesc) ID() string { return fmt.Sprintf("%s/%s@v%d", d.Kind, d.Name, d.Version) }

// Column returns the declared column named name.
func (d TableDesc) Column(name string) (ColumnDesc, bool) {
	for _, c := range d.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return ColumnDesc{}, false
}

// colType maps an Arrow type to the ColType a stage table uses for it.
func colType(t arrow.DataType) (ColType, bool) {
	switch t.ID() {
	case arrow.FLOAT64:
		return ColFloat64, true
	case arrow.INT64:
		return ColInt64, true
	case arrow.STRING:
		return ColString, true
	case arrow.BOOL:
		return ColBool, true
	case arrow.BINARY:
		return ColBinary, true
	case arrow.FIXED_SIZE_LIST:
		if l, ok := t.(*arrow.FixedSizeListType); ok && l.Elem().ID() == arrow.FLOAT64 {
			return ColMatrix, true
		}
	}
	return "", false
}

// Check reports whether rec has exactly the declared columns, in order and
// with the declared types (after its label columns, if d has Labels). The
// error names the schema.
func (d TableDesc) Check(rec arrow.Record) error {
	fields := rec.Schema().Fields()
	if d.Labels {
		n := d.labelCount(fields)
		for _, f := range fields[:n] {
			if ct, _ := colType(f.Type); ct != ColString {
				return fmt.Errorf("table %s label column %q is %s, schema %s declares string labels", d.Name, f.Name, f.Type, d.ID())
			}
		}
		fields = fields[n:]
	}
	if len(fields) != len(d.Columns) {
		return fmt.Errorf("table %s has %d columns (%s), schema %s declares %d (%s)", d.Name, len(fields),
			strings.Join(fieldNames(fields), ", "), d.ID(), len(d.Columns), strings.Join(d.columnNames(), ", "))
	}
	for i, f := range fields {
		c := d.Columns[i]
		if f.Name != c.Name {
			return fmt.Errorf("table %s column %d is %q, schema %s declares %q", d.Name, i, f.Name, d.ID(), c.Name)
		}
		ct, ok := colType(f.Type)
		if !ok || ct != c.Type {
			return fmt.Errorf("table %s column %q is %s, schema %s declares %s", d.Name, f.Name, f.Type, d.ID(), c.Type)
		}
	}
	return nil
}

// labelCount is the number of leading fields before the first declared
// column (all of them if none is declared or found).
func (d TableDesc) labelCount(fields []arrow.Field) int {
	if len(d.Columns) == 0 {
		return len(fields)
	}
	for i, f := range fields {
		if f.Name == d.Columns[0].Name {
			return i
		}
	}
	return 0
}

// LabelNames returns the label columns of rec under d (none unless d has
// Labels); rec must have passed Check.
func (d TableDesc) LabelNames(rec arrow.Record) []string {
	if !d.Labels {
		return nil
	}
	fields := rec.Schema().Fields()
	return fieldNames(fields[:d.labelCount(fields)])
}

func fieldNames(fs []arrow.Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func (d TableDesc) columnNames() []string {
	out := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		out[i] = c.Name
	}
	return out
}

// Producer is implemented by kinds that write tables. Produces returns the
// schema of every table the kind writes under the given parameters.
type Producer interface {
	Produces(p Params) []TableDesc
}

// TableNeed is a table a consumer reads from its inputs: the producing
// kind, the schema version the consumer was written against, the table
// name and the columns it reads (each must be declared by the producer
// with the given type). Optional needs are read when an input provides
// them; a required need must be met by at least one input. A need of a
// gathering table (collect) names in Relays the schema whose rows it
// expects the table to carry.
type TableNeed struct {
	Kind     string
	Version  int
	Name     string
	Columns  []ColumnDesc
	Optional bool
	Relays   string
}

// Need returns the need of every column of d (the consumer reads the
// whole table, typically through the producer's typed reader).
func (d TableDesc) Need() TableNeed {
	return TableNeed{Kind: d.Kind, Version: d.Version, Name: d.Name, Columns: d.Columns, Relays: d.Relays}
}

// Of returns the need of the named columns of d; it panics on a column d
// does not declare, a programming error of the consumer.
func (d TableDesc) Of(names ...string) TableNeed {
	n := TableNeed{Kind: d.Kind, Version: d.Version, Name: d.Name, Relays: d.Relays}
	for _, name := range names {
		c, ok := d.Column(name)
		if !ok {
			panic(fmt.Sprintf("kit: schema %s declares no column %q", d.ID(), name))
		}
		n.Columns = append(n.Columns, c)
	}
	return n
}

// ID names the needed schema: "kind/table@vN".
func (n TableNeed) ID() string { return fmt.Sprintf("%s/%s@v%d", n.Kind, n.Name, n.Version) }

// Consumer is implemented by kinds that read tables of their inputs.
// Consumes returns every table the kind reads under the given parameters.
type Consumer interface {
	Consumes(p Params) []TableNeed
}

// InputProducer is implemented by kinds whose table schemas depend on
// what their inputs declare, not on their parameters alone: collect
// carries the rows of its inputs' tables, train has one column per layer
// of its target. The engine calls it where it would call
// Producer.Produces; see Declares.
type InputProducer interface {
	ProducesFrom(p Params, ups []Upstream) ([]TableDesc, error)
}

// ErrUndeclared is returned by ProducesFrom when the upstream stages it
// derives its tables from declare none themselves: the tables are then
// unknown, as those of a kind that declares nothing, and not checked.
var ErrUndeclared = errors.New("the inputs declare no tables to derive the schema from")

// Declares returns the tables kind k writes under params p when fed by
// ups: Produces for a Producer, ProducesFrom for an InputProducer. ok is
// false when k declares nothing (or ProducesFrom says ErrUndeclared), so
// that its tables are not checked.
func Declares(k Kind, p Params, ups []Upstream) (tables []TableDesc, ok bool, err error) {
	switch x := k.(type) {
	case Producer:
		return x.Produces(p), true, nil
	case InputProducer:
		tables, err := x.ProducesFrom(p, ups)
		if errors.Is(err, ErrUndeclared) {
			return nil, false, nil
		}
		return tables, err == nil, err
	}
	return nil, false, nil
}

// Upstream is one stage feeding a consumer, as the engine sees it at
// validation: the stage id, its kind and the tables it declares.
type Upstream struct {
	Stage    string
	Kind     string
	Produces []TableDesc
	// Declared is false when the upstream kind does not implement
	// Producer; its tables are then unknown and not checked.
	Declared bool
}

// CheckWiring checks a consumer's needs against its upstream stages:
//
//   - every upstream whose kind a need names must declare that table, at
//     the same version, with every needed column at the needed type;
//   - every required need must be provided by at least one upstream.
//
// It returns nil when the wiring is consistent, else an error that names
// the table, the producing kind and version, and the upstream stages.
func CheckWiring(consumer string, needs []TableNeed, ups []Upstream) error {
	for _, n := range needs {
		met := false
		for _, u := range ups {
			if u.Kind != n.Kind {
				continue
			}
			if !u.Declared {
				met = true
				continue
			}
			i := slices.IndexFunc(u.Produces, func(d TableDesc) bool { return d.Name == n.Name })
			if i < 0 {
				return fmt.Errorf("%s reads table %s, but input %s (kind %s) does not write it (it writes %s)",
					consumer, n.ID(), u.Stage, u.Kind, tableNames(u.Produces))
			}
			d := u.Produces[i]
			if d.Version != n.Version {
				return fmt.Errorf("%s reads table %s, but input %s writes %s", consumer, n.ID(), u.Stage, d.ID())
			}
			if n.Relays != "" && d.Relays != n.Relays {
				return fmt.Errorf("%s reads table %s carrying rows of %s, but input %s carries %s", consumer, n.ID(), n.Relays, u.Stage, cmp.Or(d.Relays, "no relayed rows"))
			}
			for _, c := range n.Columns {
				dc, ok := d.Column(c.Name)
				if !ok {
					return fmt.Errorf("%s reads column %q of table %s, which input %s does not declare", consumer, c.Name, n.ID(), u.Stage)
				}
				if dc.Type != c.Type {
					return fmt.Errorf("%s reads column %q of table %s as %s, but input %s declares it %s", consumer, c.Name, n.ID(), c.Type, u.Stage, dc.Type)
				}
			}
			met = true
		}
		if !met && !n.Optional {
			return fmt.Errorf("%s reads table %s, but no input is of kind %s (inputs: %s)", consumer, n.ID(), n.Kind, upstreamList(ups))
		}
	}
	return nil
}

func tableNames(ds []TableDesc) string {
	if len(ds) == 0 {
		return "no tables"
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	return strings.Join(out, ", ")
}

func upstreamList(ups []Upstream) string {
	if len(ups) == 0 {
		return "none"
	}
	out := make([]string, len(ups))
	for i, u := range ups {
		out[i] = u.Stage + " (" + u.Kind + ")"
	}
	return strings.Join(out, ", ")
}

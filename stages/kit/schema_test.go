package kit_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

var summaryDesc = kit.TableDesc{Kind: "train", Version: 2, Name: "summary", Columns: []kit.ColumnDesc{
	{Name: "epoch", Type: kit.ColInt64},
	{Name: "test_rel_err", Type: kit.ColFloat64},
	{Name: "s2", Type: kit.ColMatrix},
}}

func TestTableDescCheck(t *testing.T) {
	cases := []struct {
		name string
		tab  *kit.Table
		want string // "" = conforms
	}{
		{"conforms", kit.NewTable().Int64("epoch", []int64{1}).Float64("test_rel_err", []float64{0.5}).Matrix("s2", 1, 2, []float64{1, 2}), ""},
		{"missing column", kit.NewTable().Int64("epoch", []int64{1}).Float64("test_rel_err", []float64{0.5}), "has 2 columns"},
		{"renamed", kit.NewTable().Int64("epoch", []int64{1}).Float64("rel_err", []float64{0.5}).Matrix("s2", 1, 1, []float64{1}), `is "rel_err"`},
		{"wrong type", kit.NewTable().Float64("epoch", []float64{1}).Float64("test_rel_err", []float64{0.5}).Matrix("s2", 1, 1, []float64{1}), "declares int64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, err := c.tab.Record()
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Release()
			err = summaryDesc.Check(rec)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "train/summary@v2")):
				t.Fatalf("Check = %v, want an error containing %q and the schema id", err, c.want)
			}
		})
	}
}

func TestCheckWiring(t *testing.T) {
	need := kit.TableNeed{Kind: "train", Version: 2, Name: "summary", Columns: []kit.ColumnDesc{{Name: "test_rel_err", Type: kit.ColFloat64}}}
	train := kit.Upstream{Stage: "E1_train", Kind: "train", Produces: []kit.TableDesc{summaryDesc}, Declared: true}
	target := kit.Upstream{Stage: "E1_target", Kind: "target", Declared: true,
		Produces: []kit.TableDesc{{Kind: "target", Version: 1, Name: "train"}}}
	old := need
	old.Version = 1
	wrongType := need
	wrongType.Columns = []kit.ColumnDesc{{Name: "test_rel_err", Type: kit.ColInt64}}
	unknownCol := need
	unknownCol.Columns = []kit.ColumnDesc{{Name: "eps9", Type: kit.ColFloat64}}
	otherTable := need
	otherTable.Name = "history"
	optional := need
	optional.Optional = true
	cases := []struct {
		name  string
		needs []kit.TableNeed
		ups   []kit.Upstream
		want  string
	}{
		{"met", []kit.TableNeed{need}, []kit.Upstream{target, train}, ""},
		{"no such input kind", []kit.TableNeed{need}, []kit.Upstream{target}, "no input is of kind train (inputs: E1_target (target))"},
		{"optional and absent", []kit.TableNeed{optional}, []kit.Upstream{target}, ""},
		{"version", []kit.TableNeed{old}, []kit.Upstream{train}, "reads table train/summary@v1, but input E1_train writes train/summary@v2"},
		{"column type", []kit.TableNeed{wrongType}, []kit.Upstream{train}, `as int64, but input E1_train declares it float64`},
		{"column unknown", []kit.TableNeed{unknownCol}, []kit.Upstream{train}, `column "eps9"`},
		{"table unknown", []kit.TableNeed{otherTable}, []kit.Upstream{train}, "does not write it (it writes summary)"},
		{"undeclared producer", []kit.TableNeed{need}, []kit.Upstream{{Stage: "X", Kind: "train"}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := kit.CheckWiring("figure E2", c.needs, c.ups)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("CheckWiring: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("CheckWiring = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// A gathering table (collect) declares its rows' columns after any number
// of string label columns.
func TestTableDescLabels(t *testing.T) {
	d := kit.TableDesc{Kind: "collect", Version: 1, Name: "table", Labels: true, Relays: "sweep/result@v1",
		Columns: []kit.ColumnDesc{kit.StringCol("key"), kit.FloatCol("err")}}
	cases := []struct {
		name   string
		tab    *kit.Table
		want   string // "" = conforms
		labels []string
	}{
		{"no labels", kit.NewTable().String("key", []string{"k"}).Float64("err", []float64{1}), "", nil},
		{"two labels", kit.NewTable().String("seed", []string{"1"}).String("width", []string{"8"}).String("key", []string{"k"}).
			Float64("err", []float64{1}), "", []string{"seed", "width"}},
		{"numeric label", kit.NewTable().Int64("seed", []int64{1}).String("key", []string{"k"}).Float64("err", []float64{1}), "label column", nil},
		{"rows of another table", kit.NewTable().String("seed", []string{"1"}).String("key", []string{"k"}).Float64("loss", []float64{1}), `is "loss"`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, err := c.tab.Record()
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Release()
			err = d.Check(rec)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "collect/table@v1")):
				t.Fatalf("Check = %v, want an error containing %q and the schema id", err, c.want)
			case c.want == "":
				if got := d.LabelNames(rec); !slices.Equal(got, c.labels) {
					t.Fatalf("labels %v, want %v", got, c.labels)
				}
			}
		})
	}
}

func TestCheckWiringRelays(t *testing.T) {
	sweeps := kit.TableDesc{Kind: "collect", Version: 1, Name: "table", Relays: "sweep/result@v1", Labels: true,
		Columns: []kit.ColumnDesc{kit.StringCol("key")}}
	trains := sweeps
	trains.Relays = "train/summary@v1"
	need := sweeps.Need()
	if err := kit.CheckWiring("E7_width", []kit.TableNeed{need}, []kit.Upstream{{Stage: "E7_collect", Kind: "collect", Declared: true,
		Produces: []kit.TableDesc{sweeps}}}); err != nil {
		t.Errorf("matching relay: %v", err)
	}
	err := kit.CheckWiring("E7_width", []kit.TableNeed{need}, []kit.Upstream{{Stage: "E1_collect", Kind: "collect", Declared: true,
		Produces: []kit.TableDesc{trains}}})
	if err == nil || !strings.Contains(err.Error(), "sweep/result@v1") || !strings.Contains(err.Error(), "train/summary@v1") {
		t.Errorf("collect of train summaries read as sweep results: %v", err)
	}
}

// kinds for Declares
type producer struct{ kit.Kind }

func (producer) Produces(kit.Params) []kit.TableDesc { return []kit.TableDesc{summaryDesc} }

type deriver struct {
	kit.Kind
	err error
}

func (d deriver) ProducesFrom(_ kit.Params, ups []kit.Upstream) ([]kit.TableDesc, error) {
	if d.err != nil {
		return nil, d.err
	}
	return ups[0].Produces, nil
}

func TestDeclares(t *testing.T) {
	ups := []kit.Upstream{{Stage: "a", Kind: "train", Declared: true, Produces: []kit.TableDesc{summaryDesc}}}
	for _, c := range []struct {
		name   string
		k      kit.Kind
		ok     bool
		errMsg string
	}{
		{"producer", producer{}, true, ""},
		{"input producer", deriver{}, true, ""},
		{"undeclared inputs", deriver{err: fmt.Errorf("input a: %w", kit.ErrUndeclared)}, false, ""},
		{"bad inputs", deriver{err: errors.New("two schemas")}, false, "two schemas"},
		{"neither", struct{ kit.Kind }{}, false, ""},
	} {
		ds, ok, err := kit.Declares(c.k, nil, ups)
		if ok != c.ok || (c.errMsg == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.errMsg)) {
			t.Errorf("%s: ok %v err %v", c.name, ok, err)
		}
		if ok && (len(ds) != 1 || ds[0].ID() != summaryDesc.ID()) {
			t.Errorf("%s: declares %v", c.name, ds)
		}
	}
}

func TestRowsReadDeclaredColumns(t *testing.T) {
	rec, err := kit.NewTable().Int64("epoch", []int64{1, 2}).Float64("test_rel_err", []float64{0.5, 0.25}).
		Matrix("s2", 2, 2, []float64{1, 2, 3, 4}).Record()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	r, err := summaryDesc.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Ints("epoch"); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("epoch %v", got)
	}
	if v, w := r.Matrix("s2"); w != 2 || !slices.Equal(v, []float64{1, 2, 3, 4}) {
		t.Errorf("s2 %v width %d", v, w)
	}
	if num, _, isText := r.Cell(1, "test_rel_err"); num != 0.25 || isText {
		t.Errorf("cell %v %v", num, isText)
	}
	if err := r.One(); err == nil || !strings.Contains(err.Error(), "train/summary@v2") {
		t.Errorf("One on two rows: %v", err)
	}
	for _, bad := range []func(){func() { r.Float64s("epoch") }, func() { r.Strings("nope") }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("reading an undeclared column or type did not panic")
				}
			}()
			bad()
		}()
	}
}

func TestSuggest(t *testing.T) {
	for _, c := range []struct {
		s    string
		cand []string
		want string
	}{
		{"sprad", []string{"spread", "L"}, `(did you mean "spread"?)`},
		{"sede", []string{"seed", "units", "raw", "L"}, `(did you mean "seed"?)`},
		{"zzzzzz", []string{"spread", "L"}, "(valid: L, spread)"},
	} {
		if got := kit.Suggest(c.s, c.cand); !strings.Contains(got, c.want) {
			t.Errorf("Suggest(%q) = %q, want %q", c.s, got, c.want)
		}
	}
}

// writer is a kind for WriteAll: it declares nothing, so kittest checks
// nothing but duplicates.
type writer struct{ kit.Kind }

func (writer) Name() string        { return "writer" }
func (writer) Params() []kit.Param { return nil }

func TestWriteAllBuildsBeforeWriting(t *testing.T) {
	env := kittest.NewEnv(t, writer{}, nil, 1)
	ok := kit.Output{Name: "a", Build: func() (arrow.Record, error) { return kit.NewTable().Ints("x", []int{1}).Record() }}
	bad := kit.Output{Name: "b", Build: func() (arrow.Record, error) { return nil, errors.New("no b") }}
	if err := kit.WriteAll(env, ok, bad); err == nil || !strings.Contains(err.Error(), "table b: no b") {
		t.Fatalf("err %v", err)
	}
	if n := env.OutputNames(); len(n) != 0 {
		t.Fatalf("a failed build wrote %v", n)
	}
	if err := kit.WriteAll(env, ok); err != nil || !slices.Equal(env.OutputNames(), []string{"a"}) {
		t.Fatalf("err %v, outputs %v", err, env.OutputNames())
	}
}

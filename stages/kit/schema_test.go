package kit_test

import (
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kit"
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

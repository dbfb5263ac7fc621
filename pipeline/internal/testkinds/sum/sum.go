// Package sum is a test kind that adds up the "values" of its inputs.
package sum

import (
	"fmt"

	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Kind is the test kind "sum".
type Kind struct{}

func (Kind) Name() string { return "sum" }
func (Kind) Doc() string  { return "test sum" }
func (Kind) Params() []kit.Param {
	return []kit.Param{kit.FloatParam("offset", 0, "added to the total").In(-1e9, 1e9)}
}

// Produces declares the table sum writes.
func (Kind) Produces(kit.Params) []kit.TableDesc {
	return []kit.TableDesc{{Kind: "sum", Version: 1, Name: "values", Columns: []kit.ColumnDesc{
		{Name: "total", Type: kit.ColFloat64}, {Name: "inputs", Type: kit.ColInt64}}}}
}

// Consumes declares that sum reads column v of the values of its src
// inputs (optional: a sum may gather other stages too).
func (Kind) Consumes(kit.Params) []kit.TableNeed {
	return []kit.TableNeed{{Kind: "src", Version: testkinds.ValuesTable.Version, Name: "values", Optional: true,
		Columns: []kit.ColumnDesc{{Name: "v", Type: kit.ColFloat64}}}}
}

func (Kind) Run(env kit.Env) error {
	testkinds.Count("sum")
	total := env.Params().Float("offset")
	var labels []string
	for _, in := range env.Inputs() {
		rec, err := in.Read("values")
		if err != nil {
			return err
		}
		v, err := kit.ReadFloat64s(rec, "v")
		rec.Release()
		if err != nil {
			return err
		}
		for _, x := range v {
			total += x
		}
		labels = append(labels, fmt.Sprint(in.Labels()))
	}
	rec, err := kit.NewTable().Float64("total", []float64{total}).Int64("inputs", []int64{int64(len(labels))}).Record()
	if err != nil {
		return err
	}
	if err := env.Write("values", rec); err != nil {
		return err
	}
	return env.Publish(kit.Figures, "sum.txt", []byte(fmt.Sprintf("%g\n", total)))
}

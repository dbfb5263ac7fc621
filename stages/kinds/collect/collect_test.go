package collect_test

import (
	"testing"

	"github.com/bfc-repro/bfc/stages/kinds/collect"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// src is a tiny kind writing a "result" table.
type src struct{ rows int }

func (src) Name() string        { return "src" }
func (src) Doc() string         { return "" }
func (src) Params() []kit.Param { return []kit.Param{kit.FloatParam("v", 0, "")} }
func (s src) Run(env kit.Env) error {
	v := make([]float64, s.rows)
	for i := range v {
		v[i] = env.Params().Float("v") + float64(i)
	}
	rec, err := kit.NewTable().Float64("err", v).String("method", make([]string, s.rows)).Record()
	if err != nil {
		return err
	}
	return env.Write("result", rec)
}

func TestCollect(t *testing.T) {
	var ins []kit.Input
	for i, v := range []float64{1, 10, 100} {
		e := kittest.NewEnv(t, src{rows: i + 1}, map[string]any{"v": v}, int64(i+1))
		if err := (src{rows: i + 1}).Run(e); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, e.AsInput(map[string]string{"n": []string{"10", "20", "30"}[i], "method": "x"}))
	}
	env := kittest.NewEnv(t, collect.Kind{}, nil, 0, ins...)
	if err := (collect.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	rec := env.Output("table")
	if rec.NumRows() != 6 {
		t.Fatalf("%d rows, want 1+2+3", rec.NumRows())
	}
	n, _ := kit.ReadStrings(rec, "n")
	e, _ := kit.ReadFloat64s(rec, "err")
	keys, _ := kit.ReadStrings(rec, "key")
	if n[0] != "10" || n[2] != "20" || n[5] != "30" || e[3] != 100 || e[5] != 102 || keys[0] == keys[5] {
		t.Fatalf("n %v err %v keys %v", n, e, keys)
	}
	if got := rec.Schema().FieldIndices("method"); len(got) != 1 {
		t.Fatalf("label method duplicates the column method: %v", rec.Schema())
	}
}

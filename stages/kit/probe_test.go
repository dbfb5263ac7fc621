package kit_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// counted is a kind that writes n rows and counts its runs.
type counted struct{ runs *int }

func (counted) Name() string { return "counted" }
func (counted) Doc() string  { return "" }
func (counted) Params() []kit.Param {
	return []kit.Param{kit.IntParam("n", 3, "").In(1, 10), kit.FloatParam("x", 0.5, "").In(0, 1)}
}
func (c counted) Run(env kit.Env) error {
	*c.runs++
	rec, err := kit.NewTable().Float64("v", make([]float64, env.Params().Int("n"))).Record()
	if err != nil {
		return err
	}
	return env.Write("values", rec)
}

func TestProbeParams(t *testing.T) {
	k := counted{runs: new(int)}
	cases := []struct {
		name  string
		raw   map[string]any
		n     int
		seed  int64
		field string // "" = success
		msg   string
	}{
		{"defaults and the caller's seed", map[string]any{}, 3, 5, "", ""},
		{"Go int", map[string]any{"n": 7}, 7, 5, "", ""},
		{"seed", map[string]any{"n": int64(2), "seed": 9}, 2, 9, "", ""},
		{"unknown", map[string]any{"m": 1}, 0, 0, "m", `unknown parameter of kind "counted" (did you mean "n"?)`},
		{"out of range", map[string]any{"n": 11}, 0, 0, "n", "out of range [1, 10]"},
		{"negative seed", map[string]any{"seed": -2}, 0, 0, "seed", "want a non-negative integer"},
		{"float seed", map[string]any{"seed": 1.5}, 0, 0, "seed", "want a non-negative integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, seed, given, err := kit.ProbeParams(k, c.raw, 5)
			if c.field == "" {
				if err != nil || p.Int("n") != c.n || seed != c.seed || len(given) != len(c.raw) {
					t.Fatalf("got n=%v seed=%d given=%v err=%v; want n=%d seed=%d", p, seed, given, err, c.n, c.seed)
				}
				return
			}
			var fe *kit.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("err %v, want field %s saying %q", err, c.field, c.msg)
			}
		})
	}
}

// prober probes counted at each n it is given, twice.
type prober struct{}

func (prober) Name() string        { return "prober" }
func (prober) Doc() string         { return "" }
func (prober) Params() []kit.Param { return nil }
func (prober) Run(env kit.Env) error {
	total := int64(0)
	for _, n := range []int{2, 4, 2} {
		in, err := env.Probe("counted", map[string]any{"n": n}, nil)
		if err != nil {
			return err
		}
		rec, err := in.Read("values")
		if err != nil {
			return err
		}
		total += rec.NumRows()
		rec.Release()
	}
	if _, err := env.Probe("nope", nil, nil); err == nil {
		return fmt.Errorf("probe of an unknown kind succeeded")
	}
	rec, err := kit.NewTable().Int64("rows", []int64{total}).Record()
	if err != nil {
		return err
	}
	return env.Write("rows", rec)
}

// TestKittestProbes: kittest runs each distinct probe once.
func TestKittestProbes(t *testing.T) {
	runs := 0
	env := kittest.NewEnv(t, prober{}, nil, 1)
	env.SetProbeKinds(counted{runs: &runs})
	if err := (prober{}).Run(env); err != nil {
		t.Fatal(err)
	}
	v, _ := kit.ReadInt64s(env.Output("rows"), "rows")
	if v[0] != 8 || runs != 2 || fmt.Sprint(env.Probes()) != "[counted map[n:2] counted map[n:4]]" {
		t.Fatalf("rows %d, counted ran %d times, probes %v; want 8, 2, [counted map[n:2] counted map[n:4]]", v[0], runs, env.Probes())
	}
}

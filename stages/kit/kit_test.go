package kit_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kit"
)

func TestResolve(t *testing.T) {
	decl := []kit.Param{
		kit.IntParam("n", 10, "").In(1, 100),
		kit.FloatParam("lr", 0.1, "").In(0, 1),
		kit.StringParam("opt", "adam", "").OneOf("adam", "sgd"),
		kit.FloatsParam("gaps", []float64{0.1}, "").In(0, 1).NonEmpty(1),
		kit.IntParam("req", 0, "").Required(),
	}
	cases := []struct {
		name    string
		raw     map[string]any
		field   string // "" = success
		msgPart string
	}{
		{"defaults", map[string]any{"req": int64(1)}, "", ""},
		{"int for float", map[string]any{"req": int64(1), "lr": int64(1)}, "", ""},
		{"missing required", map[string]any{}, "req", "required"},
		{"float for int", map[string]any{"req": 1.5}, "req", "want an integer"},
		{"out of range", map[string]any{"req": int64(1), "n": int64(0)}, "n", "out of range [1, 100]"},
		{"nan", map[string]any{"req": int64(1), "lr": math.NaN()}, "lr", "not a finite number"},
		{"enum", map[string]any{"req": int64(1), "opt": "adamw"}, "opt", `"adamw" is not one of "adam", "sgd"`},
		{"list element", map[string]any{"req": int64(1), "gaps": []any{0.1, 2.0}}, "gaps", "element 1: 2 is out of range"},
		{"empty list", map[string]any{"req": int64(1), "gaps": []any{}}, "gaps", "at least 1"},
		{"list of wrong type", map[string]any{"req": int64(1), "gaps": []any{"x"}}, "gaps", `element 0: want a float, have the string "x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := kit.Resolve(decl, c.raw)
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if p.Int("n") != 10 || p.String("opt") != "adam" || len(p.Floats("gaps")) != 1 {
					t.Fatalf("defaults not applied: %v", p)
				}
				return
			}
			var fe *kit.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msgPart) {
				t.Fatalf("err %v, want field %s with %q", err, c.field, c.msgPart)
			}
		})
	}
}

func TestTableRoundTrip(t *testing.T) {
	rec, err := kit.NewTable().
		Int64("i", []int64{1, 2}).
		Float64("x", []float64{0.5, -1}).
		String("s", []string{"a", "b"}).
		Bool("b", []bool{true, false}).
		Matrix("m", 2, 3, []float64{1, 2, 3, 4, 5, 6}).
		Binary("raw", [][]byte{{1}, {2, 3}}).
		Record()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	m, cols, err := kit.ReadMatrix(rec, "m")
	if err != nil || cols != 3 || m[4] != 5 {
		t.Fatalf("matrix %v %d %v", m, cols, err)
	}
	s, _ := kit.ReadStrings(rec, "s")
	x, _ := kit.ReadFloat64s(rec, "x")
	i, _ := kit.ReadInt64s(rec, "i")
	b, _ := kit.ReadBools(rec, "b")
	raw, _ := kit.ReadBinaries(rec, "raw")
	if s[1] != "b" || x[1] != -1 || i[0] != 1 || !b[0] || len(raw[1]) != 2 {
		t.Fatalf("round trip: %v %v %v %v %v", s, x, i, b, raw)
	}
	if _, err := kit.ReadFloat64s(rec, "i"); err == nil {
		t.Fatal("reading an int column as float64 must fail")
	}
	if _, err := kit.ReadFloat64s(rec, "nope"); err == nil {
		t.Fatal("reading a missing column must fail")
	}
	if _, err := kit.NewTable().Int64("a", []int64{1}).Int64("b", []int64{1, 2}).Record(); err == nil {
		t.Fatal("columns of different lengths must fail")
	}
	if _, err := kit.NewTable().Matrix("m", 2, 3, []float64{1}).Record(); err == nil {
		t.Fatal("a matrix with the wrong number of values must fail")
	}
}

func TestRNGStreamsAreIndependentAndReproducible(t *testing.T) {
	a1, a2, b := kit.RNG(7, "a"), kit.RNG(7, "a"), kit.RNG(7, "b")
	same, diff := true, false
	for i := 0; i < 100; i++ {
		x, y, z := a1.Uint64(), a2.Uint64(), b.Uint64()
		same = same && x == y
		diff = diff || x != z
	}
	if !same || !diff {
		t.Fatalf("same stream reproducible: %v, different streams differ: %v", same, diff)
	}
}

// TestResolveReportsEveryParameter: one problem is a *FieldError, several
// a FieldErrors naming each parameter; an enum value one edit away from a
// valid one gets a suggestion.
func TestResolveReportsEveryParameter(t *testing.T) {
	decl := []kit.Param{
		kit.IntParam("n", 1, "").In(1, 10),
		kit.StringParam("mode", "fast", "").OneOf("fast", "slow"),
		kit.FloatParam("x", 0, "").Required(),
	}
	cases := []struct {
		raw  map[string]any
		want []string // field: message of each problem
	}{
		{map[string]any{"x": 1.0}, nil},
		{map[string]any{"x": 1.0, "n": int64(0)}, []string{"n: 0 is out of range [1, 10]"}},
		{map[string]any{"n": int64(11), "mode": "slwo"}, []string{
			"n: 11 is out of range [1, 10]",
			`mode: "slwo" is not one of "fast", "slow" (did you mean "slow"?)`,
			"x: required parameter is missing"}},
		{map[string]any{"x": 1.0, "mode": "medium"}, []string{`mode: "medium" is not one of "fast", "slow"`}},
	}
	for _, c := range cases {
		_, err := kit.Resolve(decl, c.raw)
		var got []string
		var list kit.FieldErrors
		var fe *kit.FieldError
		switch {
		case errors.As(err, &list):
			for _, e := range list {
				got = append(got, e.Error())
			}
		case errors.As(err, &fe):
			got = []string{fe.Error()}
		case err != nil:
			t.Fatalf("%v: %T %v", c.raw, err, err)
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%v:\n got %q\nwant %q", c.raw, got, c.want)
		}
		if len(c.want) == 1 {
			if _, ok := err.(*kit.FieldError); !ok {
				t.Errorf("%v: a lone problem is %T, want *FieldError", c.raw, err)
			}
		}
	}
}

package graph

import (
	"fmt"
	"math"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
)

// TestCanonicalMemoIsCanonicalJSON checks that the engine's remembered
// encodings are CanonicalJSON's, asked twice, for values a memo keyed
// carelessly would confuse (-0 and 0, 1 and 1.0, "1" and 1, true and 1).
func TestCanonicalMemoIsCanonicalJSON(t *testing.T) {
	e := NewEngine(&Graph{}, nil, nil)
	values := []any{int64(0), 0.0, math.Copysign(0, -1), int64(1), 1.0, "1", true, false, 1e21, 1e-7, 0.1,
		int64(math.MaxInt64), "a\"<b>", math.NaN(), []any{int64(1), "x"}, map[string]any{"b": 1.5, "a": int64(2)}, 7}
	for round := 0; round < 2; round++ {
		for _, v := range values {
			if got, want := e.canonical(v), CanonicalJSON(v); got != want {
				t.Errorf("round %d: canonical(%#v) = %s, want %s", round, v, got, want)
			}
		}
	}
}

// TestInputComponentText pins the text of input components, which every
// consumer's key hashes: "input:NNN" and "kind[labels] out=DATA ..." with
// outputs in name order.
func TestInputComponentText(t *testing.T) {
	d1, d2 := id.DataOf([]byte("1")), id.DataOf([]byte("2"))
	m := &store.Manifest{Outputs: []store.Output{{Name: "train", Data: d2}, {Name: "test", Data: d1}}}
	for _, c := range []struct {
		i      int
		labels map[string]string
		name   string
		value  string
	}{
		{0, nil, "input:000", "src test=" + d1.String() + " train=" + d2.String()},
		{7, map[string]string{"seed": "1", "d": "8"}, "input:007", "src[d=8,seed=1] test=" + d1.String() + " train=" + d2.String()},
		{42, nil, "input:042", "src test=" + d1.String() + " train=" + d2.String()},
		{1234, nil, "input:1234", "src test=" + d1.String() + " train=" + d2.String()},
	} {
		got := InputComponent(c.i, "src", c.labels, m)
		if want := store.NewComponent(fmt.Sprintf("input:%03d", c.i), c.value); got != want || got.Name != c.name {
			t.Errorf("InputComponent(%d, %v) = %+v, want %+v", c.i, c.labels, got, want)
		}
	}
	if m.Outputs[0].Name != "train" {
		t.Error("InputComponent reordered the manifest's outputs")
	}
}

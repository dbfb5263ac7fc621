package graph

import (
	"math"
	"testing"
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

package view

import (
	"slices"

	"github.com/bfc-repro/bfc/artifacts/id"
)

// StageCount is the rollup of one stage's points by state.
type StageCount struct {
	Stage   string `json:"stage"`
	Kind    string `json:"kind"`
	Points  int    `json:"points"`
	Fresh   int    `json:"fresh"`
	Stale   int    `json:"stale"`
	Missing int    `json:"missing"`
}

// Rollup counts the states of sts per stage, stages in the order their
// first point appears (topological for Status's output).
func Rollup(sts []*PointStatus) []StageCount {
	var out []StageCount
	at := map[string]int{}
	for _, s := range sts {
		id := s.Point.Stage.ID
		i, ok := at[id]
		if !ok {
			i = len(out)
			at[id] = i
			out = append(out, StageCount{Stage: id, Kind: s.Point.Stage.Kind.Name()})
		}
		c := &out[i]
		c.Points++
		switch s.State {
		case StateFresh:
			c.Fresh++
		case StateStale:
			c.Stale++
		default:
			c.Missing++
		}
	}
	return out
}

// SharedKey is a stage key that more than one point has: the points
// describe the same computation (same kind, parameters, seed, input data
// and code), which the store holds once.
type SharedKey struct {
	Key    id.Key   `json:"key"`
	Points []string `json:"points"`
}

// KeyCount says how many distinct keys the points of sts have: distinct
// counts the known keys once each, unknown the points whose key cannot be
// known before an upstream point runs, and shared lists every key that
// several points have (in the order of its first point). So
// len(sts) = distinct + unknown + sum over shared of (len(Points) - 1).
func KeyCount(sts []*PointStatus) (distinct, unknown int, shared []SharedKey) {
	byKey := map[id.Key]int{} // key -> index in groups
	var groups []SharedKey
	for _, s := range sts {
		if s.Key.IsZero() {
			unknown++
			continue
		}
		i, ok := byKey[s.Key]
		if !ok {
			i = len(groups)
			byKey[s.Key] = i
			groups = append(groups, SharedKey{Key: s.Key})
		}
		groups[i].Points = append(groups[i].Points, s.Point.ID)
	}
	shared = slices.DeleteFunc(groups, func(g SharedKey) bool { return len(g.Points) < 2 })
	return len(byKey), unknown, shared
}

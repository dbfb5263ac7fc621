package exec

import (
	"math"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// TestEstimatePrefersThisHost: a point's last run if it ran here (or
// nothing of its stage did), else the median of its stage's runs here,
// else of other hosts' runs, saying so; without records, unknown.
func TestEstimatePrefersThisHost(t *testing.T) {
	st := &graph.Stage{ID: "s"}
	rec := func(host string, wall float64) store.RunRecord { return store.RunRecord{Host: host, WallSeconds: wall} }
	last := func(host string, wall float64) *store.Manifest { return &store.Manifest{Run: rec(host, wall)} }
	cases := []struct {
		recs []store.RunRecord
		last *store.Manifest
		want Estimate
	}{
		{nil, nil, Estimate{Basis: "unknown"}},
		{[]store.RunRecord{rec("here", 1), rec("here", 3), rec("there", 100)}, last("here", 1), Estimate{1, true, "last run"}},
		{[]store.RunRecord{rec("here", 1), rec("here", 3), rec("there", 100)}, nil, Estimate{2, true, "median of 2 runs of s"}},
		{[]store.RunRecord{rec("here", 1), rec("here", 3), rec("here", 5), rec("there", 100)}, last("there", 100), Estimate{3, true, "median of 3 runs of s"}},
		{[]store.RunRecord{rec("there", 100)}, last("there", 100), Estimate{100, true, "last run on there"}},
		{[]store.RunRecord{rec("there", 10), rec("there", 30)}, nil, Estimate{20, true, "median of 2 runs of s on there"}},
	}
	for i, c := range cases {
		e := &Estimator{host: "here", byStage: map[string][]store.RunRecord{"s": c.recs}}
		got := e.For(&graph.Point{ID: "s[x=1]", Stage: st}, c.last)
		if got.Known != c.want.Known || got.Basis != c.want.Basis || math.Abs(got.Seconds-c.want.Seconds) > 1e-12 {
			t.Errorf("case %d: %+v, want %+v", i, got, c.want)
		}
	}
}

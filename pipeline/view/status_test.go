package view_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/pipeline/internal/enginetest"
	"github.com/bfc-repro/bfc/pipeline/view"
)

// sweepFile is a src grid of seeds 1..n and a reader of each point.
func sweepFile(n int) string {
	seeds := make([]string, n)
	for i := range seeds {
		seeds[i] = fmt.Sprint(i + 1)
	}
	return fmt.Sprintf(`[pipeline]
name = "t"
seed = 1

[stage.a]
kind = "src"
grid = { seed = [%s] }

[stage.b]
kind = "read"
inputs = ["a"]
`, strings.Join(seeds, ", "))
}

// TestStatusSameAtAnyParallelism checks that Status, which looks at the
// points of a wave in parallel, says the same of every point whatever
// GOMAXPROCS is: fresh points, missing ones and ones waiting for them.
func TestStatusSameAtAnyParallelism(t *testing.T) {
	f := enginetest.New(t, sweepFile(40))
	f.Run("")
	f.Write(sweepFile(60)) // 20 new src points, and 20 readers waiting for them
	describe := func(procs int) (string, map[string]int) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		e := f.Engine("")
		var b strings.Builder
		counts := map[string]int{}
		for _, ps := range view.Status(e, e.Graph.Points) {
			fmt.Fprintf(&b, "%s %s %s %q\n", ps.Point.ID, ps.State, ps.Key, ps.Reasons)
			counts[ps.State]++
		}
		return b.String(), counts
	}
	one, counts := describe(1)
	want := map[string]int{view.StateFresh: 80, view.StateMissing: 40}
	for state, n := range want {
		if counts[state] != n {
			t.Errorf("GOMAXPROCS=1: %d points %s, want %d (all counts %v)", counts[state], state, n, counts)
		}
	}
	for _, procs := range []int{2, 4, 8} {
		if got, _ := describe(procs); got != one {
			t.Errorf("GOMAXPROCS=%d: statuses differ from GOMAXPROCS=1:\n%s\nwant\n%s", procs, got, one)
		}
	}
}

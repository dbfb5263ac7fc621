package exec

import (
	"container/heap"

	"github.com/bfc-repro/bfc/pipeline/graph"
)

// Scheduling. The Runner starts ready points critical path first: a
// point's priority is its longest remaining path, the summed estimated
// wall time (Estimator; DefaultSeconds for a point of a stage without run
// records) along the longest chain of points from it to a sink of the
// run, the point itself included. Starting the longest chains first keeps
// every CPU token busy to the end instead of leaving one long chain to run
// alone after the short points are done (Graham's list scheduling with
// critical-path priorities). Ties go to the smaller point id, so the
// order is a function of the graph and the estimates: the Runner also
// waits until no freshness check is in flight before it starts anything,
// so that the points competing for tokens are the same in every run.

// DefaultSeconds is the cost assumed for a point whose stage has no run
// record in the store (a first run): equal costs make the critical path
// the longest chain in points.
const DefaultSeconds = 1.0

// CriticalPath returns the longest remaining path of every point of pts,
// which must be in topological order (as graph.Closure returns them):
// cost(p) plus the largest longest remaining path among p's dependents in
// pts (0 for a sink). A negative cost counts as 0.
func CriticalPath(pts []*graph.Point, cost func(*graph.Point) float64) map[*graph.Point]float64 {
	in := make(map[*graph.Point]bool, len(pts))
	for _, p := range pts {
		in[p] = true
	}
	down := make(map[*graph.Point]float64, len(pts)) // longest path among dependents
	out := make(map[*graph.Point]float64, len(pts))
	for i := len(pts) - 1; i >= 0; i-- {
		p := pts[i]
		out[p] = max(0, cost(p)) + down[p]
		for _, q := range p.Inputs {
			if in[q] {
				down[q] = max(down[q], out[p])
			}
		}
	}
	return out
}

// queued is a point waiting for CPU tokens.
type queued struct {
	p    *graph.Point
	prio float64 // higher first
	want int     // CPU tokens
	work *pending
}

// readyQueue orders waiting points by priority, then point id (a heap).
type readyQueue []*queued

func (q readyQueue) Len() int { return len(q) }
func (q readyQueue) Less(i, j int) bool {
	if q[i].prio != q[j].prio {
		return q[i].prio > q[j].prio
	}
	return q[i].p.ID < q[j].p.ID
}
func (q readyQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *readyQueue) Push(x any)   { *q = append(*q, x.(*queued)) }
func (q *readyQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

func (q *readyQueue) push(x *queued) { heap.Push(q, x) }

// take removes and returns the points to start with free tokens: in
// order while the first fits. The first point that does not fit blocks
// the rest, so a point wanting every token is not overtaken forever.
func (q *readyQueue) take(free int) []*queued {
	var out []*queued
	for q.Len() > 0 && (*q)[0].want <= free {
		x := heap.Pop(q).(*queued)
		free -= x.want
		out = append(out, x)
	}
	return out
}

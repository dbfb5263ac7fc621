package exec

import (
	"cmp"
	"math"
	"slices"
	"testing"

	"github.com/bfc-repro/bfc/pipeline/graph"
)

// chainAndShorts is a synthetic graph: six short independent points that
// come first in graph order and in id order ("a0".."a5", cost 1), and a
// chain z0 -> z1 -> z2 (cost 3 each), so that first-come first-served
// runs the shorts on both CPUs and leaves the chain to run alone.
func chainAndShorts() ([]*graph.Point, map[*graph.Point]float64) {
	st := &graph.Stage{ID: "s"}
	var pts []*graph.Point
	cost := map[*graph.Point]float64{}
	for _, id := range []string{"a0", "a1", "a2", "a3", "a4", "a5"} {
		p := &graph.Point{ID: id, Stage: st}
		pts = append(pts, p)
		cost[p] = 1
	}
	var prev *graph.Point
	for _, id := range []string{"z0", "z1", "z2"} {
		p := &graph.Point{ID: id, Stage: st}
		if prev != nil {
			p.Inputs = []*graph.Point{prev}
		}
		pts = append(pts, p)
		cost[p] = 3
		prev = p
	}
	return pts, cost
}

// simulate runs pts on jobs CPU tokens in simulated time with the
// Runner's queue (readyQueue.take), each point taking want tokens for
// cost seconds, and returns the makespan and the start order. prio gives
// a point's priority when it becomes ready, the seq'th to do so.
func simulate(pts []*graph.Point, cost map[*graph.Point]float64, want map[*graph.Point]int, jobs int,
	prio func(p *graph.Point, seq int) float64) (float64, []string) {
	waiting := map[*graph.Point]int{}
	down := map[*graph.Point][]*graph.Point{}
	for _, p := range pts {
		waiting[p] = len(p.Inputs)
		for _, in := range p.Inputs {
			down[in] = append(down[in], p)
		}
	}
	var q readyQueue
	seq := 0
	push := func(p *graph.Point) {
		q.push(&queued{p: p, prio: prio(p, seq), want: max(1, want[p])})
		seq++
	}
	for _, p := range pts {
		if waiting[p] == 0 {
			push(p)
		}
	}
	type job struct {
		end float64
		q   *queued
	}
	var running []job
	var starts []string
	now, free := 0.0, jobs
	for {
		for _, x := range q.take(free) {
			free -= x.want
			running = append(running, job{now + cost[x.p], x})
			starts = append(starts, x.p.ID)
		}
		if len(running) == 0 {
			return now, starts
		}
		// Finish every job that ends first, in id order.
		slices.SortFunc(running, func(a, b job) int {
			if a.end != b.end {
				return cmp.Compare(a.end, b.end)
			}
			return cmp.Compare(a.q.p.ID, b.q.p.ID)
		})
		now = running[0].end
		for len(running) > 0 && running[0].end == now {
			j := running[0]
			running = running[1:]
			free += j.q.want
			for _, d := range down[j.q.p] {
				if waiting[d]--; waiting[d] == 0 {
					push(d)
				}
			}
		}
	}
}

// TestCriticalPathFirstFinishesEarlier: on two CPUs the critical-path
// order reaches the lower bound (the longest chain) while first come first
// served runs the chain alone at the end; the order does not depend on
// the order the points are listed in.
func TestCriticalPathFirstFinishesEarlier(t *testing.T) {
	pts, cost := chainAndShorts()
	const jobs = 2
	cp := CriticalPath(pts, func(p *graph.Point) float64 { return cost[p] })
	critical := func(p *graph.Point, _ int) float64 { return cp[p] }
	fifo := func(_ *graph.Point, seq int) float64 { return -float64(seq) }

	var total, chain, shorts float64
	for _, p := range pts {
		total += cost[p]
		if p.ID[0] == 'z' {
			chain += cost[p]
		} else {
			shorts += cost[p]
		}
	}
	lower := max(chain, total/jobs)
	gotCP, order := simulate(pts, cost, nil, jobs, critical)
	gotFIFO, _ := simulate(pts, cost, nil, jobs, fifo)
	if math.Abs(gotCP-lower) > 1e-9 {
		t.Errorf("critical path first: makespan %v, want the lower bound %v", gotCP, lower)
	}
	// FIFO runs the shorts two at a time, then the chain alone.
	if want := shorts/jobs + chain; math.Abs(gotFIFO-want) > 1e-9 || gotFIFO <= gotCP {
		t.Errorf("FIFO makespan %v, want %v (> critical path's %v)", gotFIFO, want, gotCP)
	}
	if order[0] != "z0" {
		t.Errorf("start order %v: the chain's head should start first", order)
	}
	// Another topological listing of the same graph: the same order.
	rev := slices.Clone(pts)
	slices.Reverse(rev[:6])
	cp2 := CriticalPath(rev, func(p *graph.Point) float64 { return cost[p] })
	for i := 0; i < 3; i++ {
		_, order2 := simulate(rev, cost, nil, jobs, func(p *graph.Point, _ int) float64 { return cp2[p] })
		if !slices.Equal(order, order2) {
			t.Fatalf("start order depends on the listing: %v vs %v", order, order2)
		}
	}
}

// TestCriticalPath: a point's priority is its cost plus the largest of
// its dependents' within the set (a diamond with a tail; the tail left out
// of the set makes d a sink).
func TestCriticalPath(t *testing.T) {
	st := &graph.Stage{ID: "s"}
	a := &graph.Point{ID: "a", Stage: st}
	b := &graph.Point{ID: "b", Stage: st, Inputs: []*graph.Point{a}}
	c := &graph.Point{ID: "c", Stage: st, Inputs: []*graph.Point{a}}
	d := &graph.Point{ID: "d", Stage: st, Inputs: []*graph.Point{b, c}}
	tail := &graph.Point{ID: "e", Stage: st, Inputs: []*graph.Point{d}}
	cost := map[*graph.Point]float64{a: 1, b: 5, c: 2, d: 0.5, tail: 7}
	f := func(p *graph.Point) float64 { return cost[p] }
	cases := []struct {
		name string
		pts  []*graph.Point
		want map[*graph.Point]float64
	}{
		{"whole", []*graph.Point{a, b, c, d, tail}, map[*graph.Point]float64{
			tail: cost[tail], d: cost[d] + cost[tail], b: cost[b] + cost[d] + cost[tail], c: cost[c] + cost[d] + cost[tail],
			a: cost[a] + cost[b] + cost[d] + cost[tail]}},
		{"without the tail", []*graph.Point{a, b, c, d}, map[*graph.Point]float64{
			d: cost[d], b: cost[b] + cost[d], c: cost[c] + cost[d], a: cost[a] + cost[b] + cost[d]}},
		{"one point", []*graph.Point{c}, map[*graph.Point]float64{c: cost[c]}},
	}
	for _, tc := range cases {
		got := CriticalPath(tc.pts, f)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d priorities, want %d", tc.name, len(got), len(tc.want))
		}
		for p, w := range tc.want {
			if math.Abs(got[p]-w) > 1e-12 {
				t.Errorf("%s: %s = %v, want %v", tc.name, p.ID, got[p], w)
			}
		}
	}
}

// TestReadyQueueTake: priority first, then id; a point that does not fit
// blocks those behind it.
func TestReadyQueueTake(t *testing.T) {
	st := &graph.Stage{ID: "s"}
	pt := func(id string) *graph.Point { return &graph.Point{ID: id, Stage: st} }
	cases := []struct {
		name  string
		items []*queued
		free  int
		want  []string
	}{
		{"priority then id", []*queued{{p: pt("b"), prio: 1, want: 1}, {p: pt("a"), prio: 1, want: 1}, {p: pt("c"), prio: 2, want: 1}}, 3, []string{"c", "a", "b"}},
		{"only what fits", []*queued{{p: pt("b"), prio: 1, want: 1}, {p: pt("a"), prio: 1, want: 1}, {p: pt("c"), prio: 2, want: 1}}, 2, []string{"c", "a"}},
		{"head blocks", []*queued{{p: pt("big"), prio: 9, want: 2}, {p: pt("small"), prio: 1, want: 1}}, 1, nil},
		{"nothing free", []*queued{{p: pt("a"), prio: 1, want: 1}}, 0, nil},
	}
	for _, tc := range cases {
		var q readyQueue
		for _, x := range tc.items {
			q.push(x)
		}
		var got []string
		for _, x := range q.take(tc.free) {
			got = append(got, x.p.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: took %v, want %v", tc.name, got, tc.want)
		}
		if q.Len()+len(got) != len(tc.items) || !heapOK(q) {
			t.Errorf("%s: queue left with %d items, not a heap or lost some", tc.name, q.Len())
		}
	}
}

func heapOK(q readyQueue) bool {
	for i := 1; i < len(q); i++ {
		if q.Less(i, (i-1)/2) {
			return false
		}
	}
	return true
}

// TestEfficiency: CPU / (wall x cores), 0 when unknown.
func TestEfficiency(t *testing.T) {
	cases := []struct {
		cpu, wall float64
		cores     int
		want      float64
	}{
		{cpu: 6, wall: 4, cores: 2, want: 6.0 / 8.0},
		{cpu: 8, wall: 4, cores: 2, want: 1},
		{cpu: 3, wall: 3, cores: 1, want: 1},
		{cpu: 5, wall: 0, cores: 2, want: 0},
		{cpu: 5, wall: 2, cores: 0, want: 0},
	}
	for _, c := range cases {
		if got := Efficiency(c.cpu, c.wall, c.cores); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Efficiency(%v, %v, %v) = %v, want %v", c.cpu, c.wall, c.cores, got, c.want)
		}
	}
}

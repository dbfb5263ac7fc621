// Package view is the fourth layer of the bfc engine: what a user sees of
// a pipeline and its runs.
//
// Status says of every point whether it is fresh (committed for its
// current key, outputs intact), stale (computed before, but its key
// changed or its result is damaged or gone) or missing, without running
// anything, and Explain-style reasons say why: DiffComponents compares two
// sets of key components and words each difference ("param n_train 1000
// -> 2000", "code of package stages/train changed", "upstream
// target[seed=1] output changed (train, test)"). LineDisplay and
// BarDisplay show a run as it happens (exec.Display): plain lines for logs,
// live progress bars on a terminal. DOT draws the graph.
package view

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// States reported by Status.
const (
	StateFresh   = "fresh"   // committed for the current key, outputs intact
	StateStale   = "stale"   // computed before, but the current key differs or is not known yet
	StateMissing = "missing" // never computed under this profile
)

// PointStatus says whether a point is up to date, and why not.
type PointStatus struct {
	Point    *graph.Point
	State    string
	Key      id.Key // zero when it cannot be known before upstream points run
	Reasons  []string
	Manifest *store.Manifest // when fresh
	// Last is the manifest of the point's last run under this profile
	// (its ref), when that is still in the store: fresh or not, it holds
	// the run record a time estimate starts from.
	Last *store.Manifest
}

// Status computes the state of pts (and, internally, of what they need)
// without running anything. An engine without a store (e.Store nil: a
// fresh clone before its first run) has every point missing, and nothing
// is created on disk.
func Status(e *graph.Engine, pts []*graph.Point) []*PointStatus {
	if e.Store != nil {
		defer e.Store.SaveChecked()
		defer e.Store.SaveIndex()
	}
	// Points are independent given their inputs' statuses: each wave
	// holds the points whose inputs are all in earlier waves, and the
	// points of a wave are looked at in parallel (reading manifests is most
	// of the work). Every status depends only on its point and its inputs'
	// statuses, so the result is the same whatever the parallelism.
	memo := map[*graph.Point]*PointStatus{}
	for _, wave := range waves(e.Graph.Closure(pts)) {
		res := make([]*PointStatus, len(wave))
		parallelFor(len(wave), func(i int) { res[i] = status(e, wave[i], memo) })
		for i, p := range wave {
			memo[p] = res[i]
		}
	}
	out := make([]*PointStatus, 0, len(pts))
	for _, p := range pts {
		out = append(out, memo[p])
	}
	return out
}

// waves splits points in topological order into waves: a point's wave is
// one more than the latest wave of its inputs among pts (0 without any).
// Within a wave the order of pts is kept.
func waves(pts []*graph.Point) [][]*graph.Point {
	depth := make(map[*graph.Point]int, len(pts))
	var out [][]*graph.Point
	for _, p := range pts {
		d := 0
		for _, in := range p.Inputs {
			if di, ok := depth[in]; ok && di+1 > d {
				d = di + 1
			}
		}
		depth[p] = d
		for len(out) <= d {
			out = append(out, nil)
		}
		out[d] = append(out[d], p)
	}
	return out
}

// parallelFor calls f(i) for every i < n on up to GOMAXPROCS goroutines,
// each taking contiguous chunks, and returns when all are done.
func parallelFor(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/minPerWorker)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	const chunk = 16
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					f(i)
				}
			}
		}()
	}
	wg.Wait()
}

// minPerWorker is the fewest points worth a goroutine of their own.
const minPerWorker = 8

func status(e *graph.Engine, p *graph.Point, memo map[*graph.Point]*PointStatus) *PointStatus {
	ps := &PointStatus{Point: p}
	var ref store.Ref
	rerr := error(store.ErrNotFound)
	if e.Store != nil {
		ref, rerr = e.Store.GetRef(e.Graph.Profile, p.ID)
	}
	var old *store.Manifest
	if rerr == nil {
		old, _ = e.Store.Manifest(ref.Key)
	}
	ps.Last = old
	inputs := make([]*store.Manifest, len(p.Inputs))
	var waiting []string
	for i, in := range p.Inputs {
		st := memo[in]
		if st.State != StateFresh {
			waiting = append(waiting, fmt.Sprintf("upstream %s is %s", in.ID, st.State))
			continue
		}
		inputs[i] = st.Manifest
	}
	if len(waiting) > 0 {
		ps.State = StateMissing
		if rerr == nil {
			ps.State = StateStale
		}
		ps.Reasons = waitingFor(waiting)
		if old != nil {
			if cs, err := e.Components(p, nil); err == nil {
				ps.Reasons = append(ps.Reasons, DiffComponents(old.Components, cs, true)...)
			}
		}
		return ps
	}
	cs, key, err := e.Key(p, inputs)
	if err != nil {
		ps.State, ps.Reasons = StateStale, []string{err.Error()}
		return ps
	}
	ps.Key = key
	if e.Store == nil {
		ps.State, ps.Reasons = StateMissing, []string{"never computed (there is no store yet)"}
		return ps
	}
	var m *store.Manifest
	var ferr error
	if old != nil && ref.Key == key {
		// The ref's manifest, already read, is the one for this key: check
		// its outputs rather than reading and parsing it again.
		m, ferr = old, e.Store.CheckOutputs(old)
	} else {
		m, ferr = e.Fresh(key)
	}
	switch {
	case ferr == nil:
		ps.State, ps.Manifest = StateFresh, m
		if rerr == nil && ref.Key != key {
			ps.Reasons = []string{"computed for this key elsewhere (another stage or profile)"}
		}
	case !errors.Is(ferr, store.ErrNotFound):
		ps.State, ps.Reasons = StateStale, []string{"stored result damaged: " + ferr.Error()}
	case rerr != nil:
		ps.State, ps.Reasons = StateMissing, []string{"never computed"}
	case old == nil:
		ps.State, ps.Reasons = StateStale, []string{"the result of its last run is no longer in the store (gc?)"}
	default:
		ps.State = StateStale
		ps.Reasons = DiffComponents(old.Components, cs, false)
		if len(ps.Reasons) == 0 {
			ps.Reasons = []string{"key changed"}
		}
	}
	return ps
}

// waitingFor words the upstream points a point waits for: each of a few,
// else the first two and how many more.
func waitingFor(waiting []string) []string {
	if len(waiting) <= 3 {
		return waiting
	}
	return []string{fmt.Sprintf("%s; %s; and %d more upstream points that are not fresh", waiting[0], waiting[1], len(waiting)-2)}
}

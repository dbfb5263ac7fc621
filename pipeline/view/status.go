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
	}
	memo := map[*graph.Point]*PointStatus{}
	var out []*PointStatus
	for _, p := range e.Graph.Closure(pts) {
		memo[p] = status(e, p, memo)
	}
	for _, p := range pts {
		out = append(out, memo[p])
	}
	return out
}

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
	m, ferr := e.Fresh(key)
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

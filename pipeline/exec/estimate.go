package exec

import (
	"fmt"
	"slices"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// Estimates. How long a point is likely to take comes from the run
// records of the store (RunRecord.WallSeconds) of this machine: the
// point's own last run under the profile if there is one (its parameters
// may have changed since, so this is a guess), else the median over the
// points of the same stage that ran under the profile (a grid over n or d
// spreads widely; the median says what is typical). Records of other
// hosts are used only when this host has none, and the basis says so.
// Without any record the estimate is unknown. `bfc run -n` prints the
// estimates; the Runner orders ready points by them (critical path, with
// DefaultSeconds for unknown points).

// Estimate is the expected wall time of one point.
type Estimate struct {
	Seconds float64 `json:"seconds"` // 0 when unknown
	Known   bool    `json:"known"`
	Basis   string  `json:"basis"` // "last run", "median of 4 runs of E5_kernel", "unknown", with "on HOST" for other machines
}

// Estimator indexes run records by point and stage.
type Estimator struct {
	host    string
	byStage map[string][]store.RunRecord // stage id -> records of its points' last runs
	last    map[string]*store.Manifest   // point id -> manifest of its last run
}

// NewEstimator reads the run records of the last runs of every point of
// e's graph under its profile (their refs), for a run on host. Without a
// store it knows nothing.
func NewEstimator(e *graph.Engine, host string) *Estimator {
	est := &Estimator{host: host, byStage: map[string][]store.RunRecord{}, last: map[string]*store.Manifest{}}
	if e.Store == nil {
		return est
	}
	for _, p := range e.Graph.Points {
		ref, err := e.Store.GetRef(e.Graph.Profile, p.ID)
		if err != nil {
			continue
		}
		if m, err := e.Store.Manifest(ref.Key); err == nil {
			est.byStage[p.Stage.ID] = append(est.byStage[p.Stage.ID], m.Run)
			est.last[p.ID] = m
		}
	}
	return est
}

// Point estimates the wall time of p from its own last run under the
// profile (if it has one) and its stage's.
func (e *Estimator) Point(p *graph.Point) Estimate { return e.For(p, e.last[p.ID]) }

// For estimates the wall time of p, whose last run under the profile
// produced last (nil if none).
func (e *Estimator) For(p *graph.Point, last *store.Manifest) Estimate {
	if last != nil && (last.Run.Host == e.host || len(e.local(p.Stage)) == 0) {
		return e.basis(last.Run.WallSeconds, "last run", []store.RunRecord{last.Run})
	}
	recs := e.local(p.Stage)
	if len(recs) == 0 {
		recs = e.byStage[p.Stage.ID]
	}
	if len(recs) == 0 {
		return Estimate{Basis: "unknown"}
	}
	walls := make([]float64, len(recs))
	for i, r := range recs {
		walls[i] = r.WallSeconds
	}
	slices.Sort(walls)
	med := walls[len(walls)/2]
	if len(walls)%2 == 0 {
		med = (walls[len(walls)/2-1] + walls[len(walls)/2]) / 2
	}
	return e.basis(med, fmt.Sprintf("median of %d runs of %s", len(recs), p.Stage.ID), recs)
}

// local returns the records of the stage's points made on this host.
func (e *Estimator) local(st *graph.Stage) []store.RunRecord {
	var out []store.RunRecord
	for _, r := range e.byStage[st.ID] {
		if r.Host == e.host {
			out = append(out, r)
		}
	}
	return out
}

func (e *Estimator) basis(secs float64, what string, recs []store.RunRecord) Estimate {
	if recs[0].Host != e.host {
		what += " on " + recs[0].Host
	}
	return Estimate{Seconds: secs, Known: true, Basis: what}
}

package view

import (
	"fmt"
	"slices"
	"time"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// Estimates. `bfc run -n` says how long each point that would run is
// likely to take, from the run records of the store (RunRecord.WallSeconds)
// of this machine: the point's own last run under the profile if there is
// one (its parameters may have changed since, so this is a guess), else
// the median over the points of the same stage that ran under the profile
// (a grid over n or d spreads widely; the median says what is typical).
// Records of other hosts are used only when this host has none, and the
// basis says so. Without any record the estimate is unknown.

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
}

// NewEstimator reads the run records of the last runs of every point of
// e's graph under its profile (their refs), for a run on host. Without a
// store it knows nothing.
func NewEstimator(e *graph.Engine, host string) *Estimator {
	est := &Estimator{host: host, byStage: map[string][]store.RunRecord{}}
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
		}
	}
	return est
}

// For estimates the wall time of the point s describes.
func (e *Estimator) For(s *PointStatus) Estimate {
	if s.Last != nil && (s.Last.Run.Host == e.host || len(e.local(s.Point.Stage)) == 0) {
		return e.basis(s.Last.Run.WallSeconds, "last run", []store.RunRecord{s.Last.Run})
	}
	recs := e.local(s.Point.Stage)
	if len(recs) == 0 {
		recs = e.byStage[s.Point.Stage.ID]
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
	return e.basis(med, fmt.Sprintf("median of %d runs of %s", len(recs), s.Point.Stage.ID), recs)
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

// Duration formats seconds for people: "0.04s", "2.4s", "12s", "3m05s", "1h02m".
func Duration(secs float64) string {
	d := time.Duration(secs * float64(time.Second))
	switch {
	case d < time.Second:
		return fmt.Sprintf("%.2fs", secs)
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", secs)
	case d < time.Minute:
		return fmt.Sprintf("%.0fs", secs)
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

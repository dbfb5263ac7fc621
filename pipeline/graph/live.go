package graph

import (
	"fmt"
	"maps"
	"slices"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
)

// LiveSet is what `bfc gc` must keep: the point ids of every profile's
// graph, and the keys that the refs of those points and the pins name.
type LiveSet struct {
	// Points are the current point ids by profile ("" for the file's
	// default, as a run without --profile records them).
	Points map[string]map[string]bool
	// Keys are the keys whose manifests and objects stay.
	Keys map[id.Key]bool
}

// KeepRef reports whether a ref names a current point of its profile.
func (l *LiveSet) KeepRef(r store.Ref) bool { return l.Points[r.Profile][r.Point] }

// Live computes the reachability rule of gc: the graph of cfg is built
// under no profile and under each of its profiles (an error in any is
// returned, not skipped: gc must not remove what a profile it could not
// read would keep); a ref is live when it names a current point of its
// profile, and its key is kept; every key a pin names is kept.
func Live(cfg *config.Config, kinds Registry, st *store.Store) (*LiveSet, error) {
	l := &LiveSet{Points: map[string]map[string]bool{}, Keys: map[id.Key]bool{}}
	for _, prof := range append([]string{""}, slices.Sorted(maps.Keys(cfg.Profiles))...) {
		g, err := Build(cfg, kinds, prof)
		if err != nil {
			return nil, err // a *config.ConfigError names the file, line and field
		}
		ids := map[string]bool{}
		for _, p := range g.Points {
			ids[p.ID] = true
		}
		l.Points[prof] = ids
	}
	refs, _, err := st.AllRefs()
	if err != nil {
		return nil, fmt.Errorf("read refs: %w", err)
	}
	for _, r := range refs {
		if l.KeepRef(r) {
			l.Keys[r.Key] = true
		}
	}
	pins, err := st.Pins()
	if err != nil {
		return nil, fmt.Errorf("read pins: %w", err)
	}
	for _, p := range pins {
		for _, k := range p.Keys {
			l.Keys[k] = true
		}
	}
	return l, nil
}

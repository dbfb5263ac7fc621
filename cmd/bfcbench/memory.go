package main

import (
	"fmt"
	"sort"

	"github.com/bfc-repro/bfc/artifacts/store"
)

// memoryLimit is the most a default stage may use (issue 6).
const memoryLimit = 4 << 30

// kindMemory is the largest peak memory among the points of one kind.
type kindMemory struct {
	Kind   string
	Points int
	MaxRSS int64
	At     string // the point that used MaxRSS
}

// stageMemory reads the run record (run.max_rss_bytes) of the manifest
// each point of profile ("" is the default profile) last resolved to, and
// returns the maximum per stage kind, sorted by kind.
func stageMemory(storeDir, profile string) ([]kindMemory, error) {
	st, err := store.Open(storeDir, false)
	if err != nil {
		return nil, err
	}
	refs, _, err := st.AllRefs()
	if err != nil {
		return nil, fmt.Errorf("refs of %s: %w", storeDir, err)
	}
	byKind := map[string]*kindMemory{}
	for _, r := range refs {
		if r.Profile != profile {
			continue
		}
		m, err := st.Manifest(r.Key)
		if err != nil {
			return nil, fmt.Errorf("point %s: %w", r.Point, err)
		}
		km := byKind[m.Kind]
		if km == nil {
			km = &kindMemory{Kind: m.Kind}
			byKind[m.Kind] = km
		}
		km.Points++
		if m.Run.MaxRSSBytes > km.MaxRSS || km.At == "" {
			km.MaxRSS, km.At = m.Run.MaxRSSBytes, r.Point
		}
	}
	out := make([]kindMemory, 0, len(byKind))
	for _, km := range byKind {
		out = append(out, *km)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out, nil
}

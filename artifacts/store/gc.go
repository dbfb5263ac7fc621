package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bfc-repro/bfc/artifacts/id"
)

// GCReport lists what gc removed (or would remove, in a dry run).
type GCReport struct {
	Manifests []string
	Objects   []string
	Refs      []string
	Other     []string
	Bytes     int64
}

// GC removes manifests whose keys are not live, objects that no live
// manifest names, refs for which keepRef returns false, and leftovers
// (temporary files, job files, logs and locks of dead keys). A key is live
// if it is in live or is a probe (Manifest.Probes) of a live key. The
// caller must hold the store lock exclusively.
func (s *Store) GC(live map[id.Key]bool, keepRef func(Ref) bool, dryRun bool) (*GCReport, error) {
	rep := &GCReport{}
	live = s.WithProbes(live)
	if !dryRun {
		// Entries of what gc removes would only be dropped one by one;
		// the next command rebuilds the index from what is left.
		defer s.dropIndex()
	}
	rm := func(p string, list *[]string) error {
		if fi, err := os.Stat(p); err == nil {
			rep.Bytes += fi.Size()
		}
		*list = append(*list, p)
		if dryRun {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	refs, paths, err := s.AllRefs()
	if err != nil {
		return nil, err
	}
	for i, r := range refs {
		if !keepRef(r) {
			if err := rm(paths[i], &rep.Refs); err != nil {
				return rep, err
			}
		}
	}
	keys, err := s.ListManifests()
	if err != nil {
		return nil, err
	}
	keep := map[id.Object]bool{}
	for _, k := range keys {
		if live[k] {
			m, err := s.Manifest(k)
			if err == nil {
				for _, o := range m.Outputs {
					keep[o.File] = true
				}
				continue
			}
		}
		if err := rm(s.ManifestPath(k), &rep.Manifests); err != nil {
			return rep, err
		}
		for _, p := range []string{s.LogPath(k), s.lockBase(k) + ".lock", s.lockBase(k) + ".owner"} {
			if _, err := os.Stat(p); err == nil {
				if err := rm(p, &rep.Other); err != nil {
					return rep, err
				}
			}
		}
	}
	if !dryRun {
		FaultPoint("gc-manifests-removed")
	}
	err = filepath.WalkDir(filepath.Join(s.Dir, "objects"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if o, ok := objectName(p); !ok || !keep[o] {
			return rm(p, &rep.Objects)
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, dir := range []string{"tmp", "jobs"} {
		ents, _ := os.ReadDir(filepath.Join(s.Dir, dir))
		for _, e := range ents {
			if err := rm(filepath.Join(s.Dir, dir, e.Name()), &rep.Other); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

// WithProbes returns keys with the probes their manifests name, and the
// probes of those, transitively (keys whose manifest cannot be read add
// nothing).
func (s *Store) WithProbes(keys map[id.Key]bool) map[id.Key]bool {
	out := make(map[id.Key]bool, len(keys))
	var todo []id.Key
	for k, ok := range keys {
		if ok {
			out[k] = true
			todo = append(todo, k)
		}
	}
	for len(todo) > 0 {
		k := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		m, err := s.Manifest(k)
		if err != nil {
			continue
		}
		for _, p := range m.Probes {
			if !out[p.Key] {
				out[p.Key] = true
				todo = append(todo, p.Key)
			}
		}
	}
	return out
}

package artifacts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Problem is one thing verify found wrong.
type Problem struct {
	Path string
	What string
}

func (p Problem) String() string { return p.Path + ": " + p.What }

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Objects   int
	Manifests int
	Bytes     int64
	Elapsed   time.Duration
	Problems  []Problem
}

// Verify trusts nothing: it rehashes every object against its name,
// parses every manifest (whose key must recompute from its components)
// and checks that every output a manifest names exists with its recorded
// size. It never changes the store.
func (s *Store) Verify() (*VerifyReport, error) {
	start := time.Now()
	rep := &VerifyReport{}
	var paths []string
	err := filepath.WalkDir(filepath.Join(s.Dir, "objects"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	var mu sync.Mutex
	add := func(p Problem) {
		mu.Lock()
		rep.Problems = append(rep.Problems, p)
		mu.Unlock()
	}
	sizes := map[string]int64{}
	bad := map[string]bool{} // objects already reported
	work := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				name := filepath.Base(p)
				h, ok := strings.CutSuffix(name, ".arrow")
				if !ok || !ValidHash(h) || filepath.Base(filepath.Dir(p)) != h[:2] {
					add(Problem{p, "stray file in objects/ (not named by a content hash)"})
					continue
				}
				fi, err := os.Stat(p)
				if err != nil {
					add(Problem{p, err.Error()})
					continue
				}
				got, err := hashFile(p)
				if err != nil {
					add(Problem{p, "unreadable: " + err.Error()})
					continue
				}
				mu.Lock()
				rep.Objects++
				rep.Bytes += fi.Size()
				sizes[h] = fi.Size()
				mu.Unlock()
				if got != h {
					add(Problem{p, fmt.Sprintf("content hash %s does not match its name", short(got))})
					mu.Lock()
					bad[h] = true
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	keys, err := s.ListManifests()
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	for _, k := range keys {
		m, err := s.Manifest(k)
		if err != nil {
			add(Problem{s.ManifestPath(k), err.Error()})
			continue
		}
		rep.Manifests++
		for _, o := range m.Outputs {
			size, ok := sizes[o.File]
			switch {
			case !ok:
				add(Problem{s.ManifestPath(k), fmt.Sprintf("output %q of %s: object %s is missing", o.Name, m.Stage, short(o.File))})
			case size != o.Size && !bad[o.File]:
				add(Problem{s.ObjectPath(o.File), fmt.Sprintf("size %d, manifest of %s says %d", size, m.Stage, o.Size)})
			}
		}
	}
	sort.Slice(rep.Problems, func(i, j int) bool { return rep.Problems[i].Path < rep.Problems[j].Path })
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// GCReport lists what gc removed (or would remove, in a dry run).
type GCReport struct {
	Manifests []string
	Objects   []string
	Refs      []string
	Other     []string
	Bytes     int64
}

// GC removes manifests whose keys are not in live, objects that no live
// manifest names, refs for which keepRef returns false, and leftovers
// (temporary files, job files, logs and locks of dead keys). The caller
// must hold the store lock exclusively.
func (s *Store) GC(live map[string]bool, keepRef func(Ref) bool, dryRun bool) (*GCReport, error) {
	rep := &GCReport{}
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
	keep := map[string]bool{}
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
		for _, p := range []string{s.LogPath(k), filepath.Join(s.Dir, "locks", k+".lock"), filepath.Join(s.Dir, "locks", k+".owner")} {
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
		h, _ := strings.CutSuffix(d.Name(), ".arrow")
		if !keep[h] {
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

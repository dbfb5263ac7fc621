package artifacts

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The checked cache remembers, for every object that rehashed correctly,
// the file's identity at that moment: device, inode, size, modification
// and status-change times. A freshness check whose object still has the
// same identity skips the rehash, as git's index does for its work tree.
// Any write to the file (a flipped byte, a truncation, a chmod, a
// replacement) changes its ctime, which no process can set back, so the
// object is rehashed and the damage found. What the cache cannot see is
// silent corruption by the disk itself; `bfc verify` rehashes everything
// and never consults the cache. Reads of an object's bytes always verify.
type checkedCache struct {
	mu      sync.Mutex
	loaded  bool
	entries map[string]fileID
	dirty   bool
}

type fileID struct {
	dev, ino, size   uint64
	mtimeNs, ctimeNs int64
}

// checkedMinAge is how long ago a file must have changed for its identity
// to be remembered (tests shorten it).
var checkedMinAge = 2 * time.Second

func (id fileID) String() string {
	return fmt.Sprintf("%d %d %d %d %d", id.dev, id.ino, id.size, id.mtimeNs, id.ctimeNs)
}

func statID(p string) (fileID, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return fileID{}, err
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino, size: uint64(st.Size),
		mtimeNs: st.Mtim.Nano(), ctimeNs: st.Ctim.Nano()}, nil
}

func (s *Store) checkedPath() string { return filepath.Join(s.Dir, "checked") }

func (s *Store) loadChecked() {
	c := &s.checked
	if c.loaded {
		return
	}
	c.loaded, c.entries = true, map[string]fileID{}
	b, err := os.ReadFile(s.checkedPath())
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 6 || !ValidHash(f[0]) {
			continue
		}
		var n [5]int64
		ok := true
		for i := range n {
			v, err := strconv.ParseInt(f[i+1], 10, 64)
			n[i], ok = v, ok && err == nil
		}
		if ok {
			c.entries[f[0]] = fileID{uint64(n[0]), uint64(n[1]), uint64(n[2]), n[3], n[4]}
		}
	}
}

// CheckObjectFast is CheckObject, except that an object whose file
// identity is unchanged since it last rehashed correctly is not rehashed.
// Freshness checks use it; verify and reads do not.
func (s *Store) CheckObjectFast(h string) error {
	if !ValidHash(h) {
		return fmt.Errorf("object name %q is not a SHA-256", h)
	}
	p := s.ObjectPath(h)
	id, err := statID(p)
	if err == nil {
		s.checked.mu.Lock()
		s.loadChecked()
		known, ok := s.checked.entries[h]
		s.checked.mu.Unlock()
		if ok && known == id {
			return nil
		}
	}
	if err := s.CheckObject(h); err != nil {
		return err
	}
	// File times have a coarse granularity (a clock tick), so a file
	// changed within the tick after it was checked could keep the same
	// identity ("racy git"). Only remember files whose last change is
	// safely in the past.
	if id2, err := statID(p); err == nil && id2 == id && time.Since(time.Unix(0, id.ctimeNs)) > checkedMinAge {
		s.checked.mu.Lock()
		s.checked.entries[h] = id
		s.checked.dirty = true
		s.checked.mu.Unlock()
	}
	return nil
}

// SaveChecked writes the checked cache if it changed. Losing it costs
// only rehashing; concurrent runs may overwrite each other's entries.
func (s *Store) SaveChecked() error {
	c := &s.checked
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	var b bytes.Buffer
	for h, id := range c.entries {
		fmt.Fprintf(&b, "%s %s\n", h, id)
	}
	c.dirty = false
	return s.writeAtomic(s.checkedPath(), b.Bytes(), 0o644)
}

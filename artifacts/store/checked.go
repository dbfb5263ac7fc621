package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/bfc-repro/bfc/artifacts/id"
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
	entries map[id.Object]fileID
	dirty   bool
}

type fileID struct {
	dev, ino, size   uint64
	mtimeNs, ctimeNs int64
}

// checkedMinAge is how long ago a file must have changed for its identity
// to be remembered (tests shorten it).
var checkedMinAge = 2 * time.Second

func (f fileID) String() string {
	return fmt.Sprintf("%d %d %d %d %d", f.dev, f.ino, f.size, f.mtimeNs, f.ctimeNs)
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
	c.loaded, c.entries = true, map[id.Object]fileID{}
	b, err := os.ReadFile(s.checkedPath())
	if err != nil {
		return
	}
	// One line per object: its hash and five decimal numbers, separated
	// by single spaces (what SaveChecked writes); any other line is
	// skipped. Parsed by hand: at sweep scale the file has 1e5 lines.
	c.entries = make(map[id.Object]fileID, bytes.Count(b, []byte{'\n'}))
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if o, f, ok := parseCheckedLine(line); ok {
			c.entries[o] = f
		}
	}
}

// parseCheckedLine parses "HASH DEV INO SIZE MTIME CTIME".
func parseCheckedLine(line []byte) (id.Object, fileID, bool) {
	const hexLen = 2 * len(id.Object{})
	if len(line) < hexLen+1 || line[hexLen] != ' ' {
		return id.Object{}, fileID{}, false
	}
	var o id.Object
	if err := o.UnmarshalText(line[:hexLen]); err != nil {
		return id.Object{}, fileID{}, false
	}
	var n [5]int64
	rest := line[hexLen+1:]
	for i := range n {
		j := bytes.IndexByte(rest, ' ')
		field := rest
		if j >= 0 {
			field, rest = rest[:j], rest[j+1:]
		} else {
			rest = nil
		}
		v, ok := parseDecimal(field)
		if !ok || (j >= 0) != (i < len(n)-1) {
			return id.Object{}, fileID{}, false
		}
		n[i] = v
	}
	return o, fileID{uint64(n[0]), uint64(n[1]), uint64(n[2]), n[3], n[4]}, true
}

// parseDecimal parses an optionally negative decimal int64.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	return v, err == nil
}

// CheckObjectFast is CheckObject, except that an object whose file
// identity is unchanged since it last rehashed correctly is not rehashed.
// Freshness checks use it; verify and reads do not.
func (s *Store) CheckObjectFast(h id.Object) error {
	p := s.ObjectPath(h)
	fid, err := statID(p)
	if err == nil {
		s.checked.mu.Lock()
		s.loadChecked()
		known, ok := s.checked.entries[h]
		s.checked.mu.Unlock()
		if ok && known == fid {
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
	if id2, err := statID(p); err == nil && id2 == fid && time.Since(time.Unix(0, fid.ctimeNs)) > checkedMinAge {
		s.checked.mu.Lock()
		s.checked.entries[h] = fid
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
	for h, f := range c.entries {
		fmt.Fprintf(&b, "%s %s\n", h, f)
	}
	c.dirty = false
	return s.writeAtomic(s.checkedPath(), b.Bytes(), 0o644)
}

// Package store is bfc's content-addressed store of stage outputs.
//
// The model follows Go's build cache. A stage point has a key (id.Key): a
// hash over the components that determine its result (kind, params, seed,
// the data hashes of its inputs, the identity of the code that runs it).
// Running it produces output objects, each an Arrow IPC file named by the
// SHA-256 of its bytes (id.Object); each output also has a data hash
// (id.Data), the hash of its table without metadata, which is what
// downstream keys use. A manifest, written last, binds the key to its
// outputs and records every key component and the run (time, memory,
// host, program version). The manifest is the commit marker: an object
// without a manifest that names it is never read as a result, so a run
// killed at any moment leaves at worst unreferenced objects and temporary
// files, which gc removes.
//
// Layout of a store directory:
//
//	FORMAT                      format version of the layout
//	LOCK                        shared by runs, exclusive for gc
//	objects/ab/ab12...ef.arrow  outputs, read-only, named by content hash
//	keys/cd/cd34...01.json      manifests, named by stage key
//	refs/PROFILE/POINT.json     the key each stage point last resolved to
//	locks/KEY.lock, KEY.owner   per-key locks and who holds them
//	pins/NAME.json              keys kept alive by an archive (written by `bfc archive`)
//	logs/KEY.log                stage logs
//	jobs/KEY.json               job descriptions handed to executors
//	checked                     identities of objects that last rehashed correctly
//	index                       manifests and refs in one file, checked against theirs (index.go)
//	codehash                    package hashes of code identities (cmd/bfc; graph.CodeBase.LoadHashes)
//	quarantine/                 damaged objects moved out of the way
//	tmp/                        files being written
//	history/START-PID.json      one record per `bfc run` (cmd/bfc; read by `bfc log`)
//	validated                   the last pipeline file that passed under every profile (cmd/bfc)
//
// Every write goes through package atomicfile with its temporary file in
// tmp/ (so that a killed write leaves nothing but a file gc removes), is
// synced, and is renamed into place; reads verify content hashes, so a
// flipped byte is reported rather than used. Verify rehashes everything;
// GC removes what a caller-supplied set of live keys does not reach (the
// engine's rule for that set is graph.Live).
//
// Output tables are Arrow IPC files (EncodeTable, DecodeTable). Files come
// from disks and, through review bundles, from other people, so DecodeTable
// bounds-checks a file's structure before the Arrow library reads it.
package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/artifacts/atomicfile"
	"github.com/bfc-repro/bfc/artifacts/id"
)

// FormatVersion is the layout version this program reads and writes.
const FormatVersion = 1

// ErrNotFound reports a missing object, manifest or ref.
var ErrNotFound = errors.New("not found")

// CorruptError reports stored bytes that do not match their name.
type CorruptError struct {
	Path string
	Want string // expected hash
	Got  string // actual hash ("" if unreadable)
	Err  error  // read error, if any
}

func (e *CorruptError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: unreadable: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("%s: content hash %s does not match its name %s", e.Path, short(e.Got), short(e.Want))
}

func short(h string) string {
	if len(h) > id.ShortLen {
		return h[:id.ShortLen]
	}
	return h
}

// Problem is one thing a check found wrong, with the file it concerns.
type Problem struct {
	Path string
	What string
}

func (p Problem) String() string { return p.Path + ": " + p.What }

// Store is an opened store directory.
type Store struct {
	Dir string
	// Warn, if set, is told of problems the store recovers from by
	// itself (a damaged index, which is rebuilt).
	Warn func(msg string)

	checked checkedCache
	index   index
}

var subdirs = []string{"objects", "keys", "refs", "locks", "pins", "logs", "jobs", "tmp", "quarantine"}

// Open opens the store at dir, creating it if create is set and it does
// not exist. A store written by an incompatible layout version is refused.
func Open(dir string, create bool) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	s := &Store{Dir: abs}
	verPath := filepath.Join(abs, "FORMAT")
	b, err := os.ReadFile(verPath)
	switch {
	case err == nil:
		v, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if perr != nil {
			return nil, fmt.Errorf("store %s: FORMAT file holds %q, not a version number", abs, strings.TrimSpace(string(b)))
		}
		if v != FormatVersion {
			return nil, fmt.Errorf("store %s has layout version %d; this bfc reads version %d (use a bfc of the matching version, or move the store aside and rerun)", abs, v, FormatVersion)
		}
	case errors.Is(err, fs.ErrNotExist):
		if !create {
			return nil, fmt.Errorf("store %s does not exist (run `bfc run` first)", abs)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("create store: %w", err)
		}
		if err := s.writeAtomic(verPath, []byte(strconv.Itoa(FormatVersion)+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("create store: %w", err)
		}
	default:
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	for _, d := range subdirs {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("store %s: %w", abs, err)
		}
	}
	return s, nil
}

// ObjectPath is where the object o lives.
func (s *Store) ObjectPath(o id.Object) string {
	h := o.String()
	// filepath.Join's cleaning, per point per command, is not needed:
	// Dir is absolute and clean (Open), the other parts plain names.
	return s.root() + sep + "objects" + sep + h[:2] + sep + h + ".arrow"
}

// ManifestPath is where the manifest of key lives.
func (s *Store) ManifestPath(key id.Key) string {
	k := key.String()
	return s.root() + sep + "keys" + sep + k[:2] + sep + k + ".json"
}

const sep = string(filepath.Separator)

// root is Dir without a trailing separator (a store at "/").
func (s *Store) root() string { return strings.TrimSuffix(s.Dir, sep) }

// LogPath is where the log of the run that computed key lives.
func (s *Store) LogPath(key id.Key) string {
	return filepath.Join(s.Dir, "logs", key.String()+".log")
}

// JobPath is where a job description named name is written for an executor.
func (s *Store) JobPath(name string) string { return filepath.Join(s.Dir, "jobs", name+".json") }

// writeAtomic writes data to path (inside the store) atomically, with its
// temporary file in tmp/.
func (s *Store) writeAtomic(path string, data []byte, perm os.FileMode) error {
	_, err := atomicfile.Write(path, filepath.Join(s.Dir, "tmp"), perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	return err
}

// PutObject stores data under its content hash and returns the hash. An
// existing, intact object with that hash is kept; a damaged one is replaced.
func (s *Store) PutObject(data []byte) (id.Object, error) {
	o := id.ObjectOf(data)
	if err := s.CheckObject(o); err == nil {
		return o, nil
	}
	if err := s.writeAtomic(s.ObjectPath(o), data, 0o444); err != nil {
		return id.Object{}, fmt.Errorf("store object %s: %w", o.Short(), err)
	}
	return o, nil
}

// ReadObject returns the bytes of object o after checking their hash.
func (s *Store) ReadObject(o id.Object) ([]byte, error) {
	p := s.ObjectPath(o)
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("object %s: %w", p, ErrNotFound)
		}
		return nil, &CorruptError{Path: p, Want: o.String(), Err: err}
	}
	if got := id.ObjectOf(b); got != o {
		return nil, &CorruptError{Path: p, Want: o.String(), Got: got.String()}
	}
	return b, nil
}

// CheckObject rehashes object o without keeping its bytes.
func (s *Store) CheckObject(o id.Object) error {
	p := s.ObjectPath(o)
	got, err := hashFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("object %s: %w", p, ErrNotFound)
		}
		return &CorruptError{Path: p, Want: o.String(), Err: err}
	}
	if got != o {
		return &CorruptError{Path: p, Want: o.String(), Got: got.String()}
	}
	return nil
}

func hashFile(p string) (id.Object, error) {
	f, err := os.Open(p)
	if err != nil {
		return id.Object{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return id.Object{}, err
	}
	return id.Object(h.Sum(nil)), nil
}

// Quarantine moves a damaged object out of the way so that it is
// recomputed, keeping a copy of what could be read under quarantine/ for
// inspection.
func (s *Store) Quarantine(o id.Object) error {
	p := s.ObjectPath(o)
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err == nil:
		if err := s.writeAtomic(filepath.Join(s.Dir, "quarantine", filepath.Base(p)), b, 0o444); err != nil {
			return fmt.Errorf("quarantine %s: %w", p, err)
		}
	}
	// An object that cannot even be read is not kept: it is removed so
	// that the key can be recomputed.
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("quarantine %s: %w", p, err)
	}
	return nil
}

// SameFileContent reports whether path exists and holds exactly data.
func SameFileContent(path string, data []byte) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(b, data)
}

// Package artifacts is bfc's content-addressed store of stage outputs.
//
// The model follows Go's build cache. A stage point has a key: a hash over
// the components that determine its result (kind, params, seed, the data
// hashes of its inputs, the identity of the code that runs it). Running
// it produces output objects, each an Arrow IPC file named by the SHA-256
// of its bytes. A manifest, written last, binds the key to its outputs and
// records every key component and the run (time, memory, host, program
// version). The manifest is the commit marker: an object without a
// manifest that names it is never read as a result, so a run killed at any
// moment leaves at worst unreferenced objects and temporary files, which
// gc removes.
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
//	tmp/                        files being written
//
// Every write goes to tmp/, is synced, and is renamed into place; reads
// verify content hashes, so a flipped byte is reported rather than used.
//
// Review bundles (one file holding a pipeline's manifests, outputs,
// figures and build description, with a Merkle root) are described at the
// top of bundle.go.
package artifacts

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// Store is an opened store directory.
type Store struct {
	Dir string

	checked checkedCache
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

// HashBytes returns the hex SHA-256 of b.
func HashBytes(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ValidHash reports whether h looks like a hex SHA-256.
func ValidHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ObjectPath is where the object with content hash h lives.
func (s *Store) ObjectPath(h string) string {
	return filepath.Join(s.Dir, "objects", h[:2], h+".arrow")
}

// ManifestPath is where the manifest of key lives.
func (s *Store) ManifestPath(key string) string {
	return filepath.Join(s.Dir, "keys", key[:2], key+".json")
}

// LogPath is where the log of the run that computed key lives.
func (s *Store) LogPath(key string) string { return filepath.Join(s.Dir, "logs", key+".log") }

// JobPath is where a job description named name is written for an executor.
func (s *Store) JobPath(name string) string { return filepath.Join(s.Dir, "jobs", name+".json") }

// writeAtomic writes data to path through a synced temporary file and a
// rename, then syncs the directory, so that path holds either its old
// content or all of data, never a prefix.
func (s *Store) writeAtomic(path string, data []byte, perm os.FileMode) error {
	tmpDir := filepath.Join(s.Dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return err
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := filepath.Join(tmpDir, filepath.Base(path)+"."+hex.EncodeToString(rnd[:])+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	cleanup := func(e error) error {
		f.Close()
		os.Remove(tmp)
		return e
	}
	if _, err := f.Write(data); err != nil {
		return cleanup(fmt.Errorf("write %s: %w", path, err))
	}
	if err := f.Sync(); err != nil {
		return cleanup(fmt.Errorf("sync %s: %w", path, err))
	}
	if err := f.Chmod(perm); err != nil {
		return cleanup(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// PutObject stores data under its content hash and returns the hash. An
// existing, intact object with that hash is kept; a damaged one is replaced.
func (s *Store) PutObject(data []byte) (string, error) {
	h := HashBytes(data)
	p := s.ObjectPath(h)
	if err := s.CheckObject(h); err == nil {
		return h, nil
	}
	if err := s.writeAtomic(p, data, 0o444); err != nil {
		return "", fmt.Errorf("store object %s: %w", short(h), err)
	}
	return h, nil
}

// ReadObject returns the bytes of object h after checking their hash.
func (s *Store) ReadObject(h string) ([]byte, error) {
	if !ValidHash(h) {
		return nil, fmt.Errorf("object name %q is not a SHA-256", h)
	}
	p := s.ObjectPath(h)
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("object %s: %w", p, ErrNotFound)
		}
		return nil, &CorruptError{Path: p, Want: h, Err: err}
	}
	if got := HashBytes(b); got != h {
		return nil, &CorruptError{Path: p, Want: h, Got: got}
	}
	return b, nil
}

// CheckObject rehashes object h without keeping its bytes.
func (s *Store) CheckObject(h string) error {
	if !ValidHash(h) {
		return fmt.Errorf("object name %q is not a SHA-256", h)
	}
	p := s.ObjectPath(h)
	got, err := hashFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("object %s: %w", p, ErrNotFound)
		}
		return &CorruptError{Path: p, Want: h, Err: err}
	}
	if got != h {
		return &CorruptError{Path: p, Want: h, Got: got}
	}
	return nil
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Quarantine moves a damaged object out of the way so that it is
// recomputed, keeping it under quarantine/ for inspection.
func (s *Store) Quarantine(h string) error {
	p := s.ObjectPath(h)
	dst := filepath.Join(s.Dir, "quarantine", filepath.Base(p))
	if err := os.Rename(p, dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("quarantine %s: %w", p, err)
	}
	return nil
}

// WriteFileAtomic writes data to path (outside or inside the store) with
// the same temp-sync-rename protocol, using the store's tmp directory
// when path is on the same file system, else a temporary file beside path.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if werr == nil {
		werr = f.Chmod(perm)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return syncDir(dir)
}

// SameFileContent reports whether path exists and holds exactly data.
func SameFileContent(path string, data []byte) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(b, data)
}

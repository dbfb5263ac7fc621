package bundle

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
)

// Bundle is a bundle that has been read: its index and its members. Every
// read rehashes the member against the index, so a member changed after
// extraction is reported, not used.
type Bundle struct {
	Index *Index
	Dir   string // where it was extracted

	fsys    fs.FS
	closer  io.Closer
	members map[string]Member
	bad     map[string]bool // members that did not match the index
	points  map[string]Point

	mu        sync.Mutex
	manifests map[id.Key]*store.Manifest
}

func newBundle(idx *Index, fsys fs.FS, problems []store.Problem) *Bundle {
	b := &Bundle{Index: idx, fsys: fsys, members: map[string]Member{}, bad: map[string]bool{},
		points: map[string]Point{}, manifests: map[id.Key]*store.Manifest{}}
	for _, m := range idx.Members {
		b.members[m.Path] = m
	}
	for _, p := range problems {
		b.bad[p.Path] = true
	}
	for _, p := range idx.Points {
		b.points[p.Point] = p
	}
	return b
}

// Close releases the extraction directory handle (the files stay).
func (b *Bundle) Close() error {
	if b.closer == nil {
		return nil
	}
	return b.closer.Close()
}

// Point returns the archived point named point.
func (b *Bundle) Point(point string) (Point, bool) {
	p, ok := b.points[point]
	return p, ok
}

// Has reports whether member path is in the bundle, intact as extracted.
func (b *Bundle) Has(path string) bool {
	_, ok := b.members[path]
	return ok && !b.bad[path]
}

// HasObject reports whether object o is in the bundle.
func (b *Bundle) HasObject(o id.Object) bool { return b.Has(ObjectMember(o)) }

// ReadMember returns the content of member path after checking it
// against the index.
func (b *Bundle) ReadMember(path string) ([]byte, error) {
	m, ok := b.members[path]
	if !ok {
		return nil, fmt.Errorf("bundle member %s: %w", path, store.ErrNotFound)
	}
	if b.bad[path] {
		return nil, fmt.Errorf("bundle member %s: damaged (its content did not match the index)", path)
	}
	data, err := fs.ReadFile(b.fsys, path)
	if err != nil {
		return nil, &store.CorruptError{Path: path, Want: m.SHA256, Err: err}
	}
	if got := id.HexSum(data); got != m.SHA256 {
		return nil, &store.CorruptError{Path: path, Want: m.SHA256, Got: got}
	}
	return data, nil
}

// ReadObject returns the bytes of object o.
func (b *Bundle) ReadObject(o id.Object) ([]byte, error) {
	data, err := b.ReadMember(ObjectMember(o))
	if err != nil {
		return nil, err
	}
	if got := id.ObjectOf(data); got != o {
		return nil, &store.CorruptError{Path: ObjectMember(o), Want: o.String(), Got: got.String()}
	}
	return data, nil
}

// Manifest returns the validated manifest of key; the error wraps
// store.ErrNotFound when the bundle does not hold it.
func (b *Bundle) Manifest(key id.Key) (*store.Manifest, error) {
	b.mu.Lock()
	m, ok := b.manifests[key]
	b.mu.Unlock()
	if ok {
		return m, nil
	}
	data, err := b.ReadMember(ManifestMember(key))
	if err != nil {
		return nil, err
	}
	m, err = store.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("bundle member %s: %w", ManifestMember(key), err)
	}
	if m.Key != key {
		return nil, fmt.Errorf("bundle member %s: holds the manifest of key %s", ManifestMember(key), m.Key.Short())
	}
	b.mu.Lock()
	b.manifests[key] = m
	b.mu.Unlock()
	return m, nil
}

// publishesFigure reports whether m published a file into figures/.
func publishesFigure(m *store.Manifest) bool {
	for _, o := range m.Outputs {
		if strings.HasPrefix(o.Name, store.PublishPrefix+"figures.") {
			return true
		}
	}
	return false
}

// Required reports whether the object of output o of point p must be in
// a bundle: always with outputs "all"; with "final", for final points,
// published files, and every output of a point that publishes a figure.
func (idx *Index) Required(p Point, m *store.Manifest, o store.Output) bool {
	return idx.Outputs == OutputsAll || p.Final || strings.HasPrefix(o.Name, store.PublishPrefix) || publishesFigure(m)
}

package artifacts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow/go/v15/arrow/array"
)

// Bundle is a bundle that has been read: its index and its members. Every
// read rehashes the member against the index, so a member changed after
// extraction is reported, not used.
type Bundle struct {
	Index *BundleIndex
	Dir   string // where it was extracted

	fsys    fs.FS
	closer  io.Closer
	members map[string]BundleMember
	bad     map[string]bool // members that did not match the index
	points  map[string]BundlePoint

	mu        sync.Mutex
	manifests map[string]*Manifest
}

func newBundle(idx *BundleIndex, fsys fs.FS, problems []Problem) *Bundle {
	b := &Bundle{Index: idx, fsys: fsys, members: map[string]BundleMember{}, bad: map[string]bool{},
		points: map[string]BundlePoint{}, manifests: map[string]*Manifest{}}
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

// Point returns the archived point with id.
func (b *Bundle) Point(id string) (BundlePoint, bool) {
	p, ok := b.points[id]
	return p, ok
}

// Has reports whether member path is in the bundle, intact as extracted.
func (b *Bundle) Has(path string) bool {
	_, ok := b.members[path]
	return ok && !b.bad[path]
}

// HasObject reports whether the object with content hash h is in the bundle.
func (b *Bundle) HasObject(h string) bool { return b.Has(ObjectMember(h)) }

// ReadMember returns the content of member path after checking it
// against the index.
func (b *Bundle) ReadMember(path string) ([]byte, error) {
	m, ok := b.members[path]
	if !ok {
		return nil, fmt.Errorf("bundle member %s: %w", path, ErrNotFound)
	}
	if b.bad[path] {
		return nil, fmt.Errorf("bundle member %s: damaged (its content did not match the index)", path)
	}
	data, err := fs.ReadFile(b.fsys, path)
	if err != nil {
		return nil, &CorruptError{Path: path, Want: m.SHA256, Err: err}
	}
	if got := HashBytes(data); got != m.SHA256 {
		return nil, &CorruptError{Path: path, Want: m.SHA256, Got: got}
	}
	return data, nil
}

// ReadObject returns the bytes of the object with content hash h.
func (b *Bundle) ReadObject(h string) ([]byte, error) {
	if !ValidHash(h) {
		return nil, fmt.Errorf("object name %q is not a SHA-256", h)
	}
	data, err := b.ReadMember(ObjectMember(h))
	if err != nil {
		return nil, err
	}
	if got := HashBytes(data); got != h {
		return nil, &CorruptError{Path: ObjectMember(h), Want: h, Got: got}
	}
	return data, nil
}

// Manifest returns the validated manifest of key; the error wraps
// ErrNotFound when the bundle does not hold it.
func (b *Bundle) Manifest(key string) (*Manifest, error) {
	if !ValidHash(key) {
		return nil, fmt.Errorf("key %q is not a SHA-256", key)
	}
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
	m, err = ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("bundle member %s: %w", ManifestMember(key), err)
	}
	if m.Key != key {
		return nil, fmt.Errorf("bundle member %s: holds the manifest of key %s", ManifestMember(key), short(m.Key))
	}
	b.mu.Lock()
	b.manifests[key] = m
	b.mu.Unlock()
	return m, nil
}

// PublishedFile decodes a published-file output (the engine stores each
// file a stage publishes as a one-row table of dir, name and bytes).
func PublishedFile(data []byte) (dir, name string, content []byte, err error) {
	rec, _, err := DecodeTable(data)
	if err != nil {
		return "", "", nil, err
	}
	defer rec.Release()
	col := func(n string) any {
		for i, f := range rec.Schema().Fields() {
			if f.Name == n {
				return rec.Column(i)
			}
		}
		return nil
	}
	d, ok1 := col("dir").(*array.String)
	nm, ok2 := col("name").(*array.String)
	by, ok3 := col("bytes").(*array.Binary)
	if !ok1 || !ok2 || !ok3 || rec.NumRows() != 1 {
		return "", "", nil, errors.New("not a published-file table (one row of dir, name, bytes)")
	}
	return d.Value(0), nm.Value(0), slices.Clone(by.Value(0)), nil
}

// publishesFigure reports whether m published a file into figures/.
func publishesFigure(m *Manifest) bool {
	for _, o := range m.Outputs {
		if strings.HasPrefix(o.Name, "publish.figures.") {
			return true
		}
	}
	return false
}

// Required reports whether the object of output o of point p must be in
// a bundle: always with outputs "all"; with "final", for final points,
// published files, and every output of a point that publishes a figure.
func (idx *BundleIndex) Required(p BundlePoint, m *Manifest, o Output) bool {
	return idx.Outputs == OutputsAll || p.Final || strings.HasPrefix(o.Name, "publish.") || publishesFigure(m)
}

// Verify re-checks an extracted bundle offline and lists every problem,
// each naming the member it concerns: the Merkle root over the index's
// members; the presence of pipeline.toml, build.json and machine.json;
// every manifest (its key recomputed from its components, and named by
// it); every point's manifest; every object (named by its content hash,
// named by a manifest whose size, row count and data hash it matches, and
// carrying that manifest's key in its metadata); every object the output
// selection requires; and every published figure or report file, which
// must equal the published-file output it came from, with the data table
// of a figure point present. Member hashes were checked when reading.
func (b *Bundle) Verify() []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, What: fmt.Sprintf(format, args...)})
	}
	idx := b.Index
	if root, err := MerkleRoot(idx.Members); err != nil {
		add(BundleIndexName, "%v", err)
	} else if root != idx.Root {
		add(BundleIndexName, "merkle root %s does not match its members, which give %s", idx.Root, root)
	}
	for _, p := range []string{"pipeline.toml", "build.json", "machine.json"} {
		if _, ok := b.members[p]; !ok {
			add(p, "missing")
			continue
		}
		data, err := b.ReadMember(p)
		if err != nil {
			continue // reported when read
		}
		if p != "pipeline.toml" && !json.Valid(data) {
			add(p, "not valid JSON")
		}
	}

	manifests := map[string]*Manifest{}
	for _, m := range idx.Members {
		key, isManifest, ok := hashMember(m.Path, "manifests/", ".json")
		if !isManifest || b.bad[m.Path] {
			continue
		}
		if !ok {
			add(m.Path, "not named manifests/KEY.json")
			continue
		}
		man, err := b.Manifest(key)
		if err != nil {
			add(m.Path, "%v", strings.TrimPrefix(err.Error(), "bundle member "+m.Path+": "))
			continue
		}
		manifests[key] = man
	}
	pointKeys := map[string]bool{}
	for _, p := range idx.Points {
		pointKeys[p.Key] = true
		man := manifests[p.Key]
		switch {
		case man == nil && !b.bad[ManifestMember(p.Key)]:
			add(ManifestMember(p.Key), "the manifest of point %s is not in the bundle", p.Point)
		case man != nil && man.Kind != p.Kind:
			add(ManifestMember(p.Key), "point %s has kind %s, its manifest %s", p.Point, p.Kind, man.Kind)
		}
	}
	type ref struct {
		m *Manifest
		o Output
	}
	refs := map[string][]ref{}
	for _, key := range sortedKeys(manifests) {
		man := manifests[key]
		if !pointKeys[key] {
			add(ManifestMember(key), "not the manifest of any point in the index")
		}
		for _, o := range man.Outputs {
			refs[o.File] = append(refs[o.File], ref{man, o})
		}
	}

	for _, m := range idx.Members {
		h, isObject, ok := hashMember(m.Path, "objects/", ".arrow")
		if !isObject || b.bad[m.Path] {
			continue
		}
		if !ok {
			add(m.Path, "not named objects/HASH.arrow")
			continue
		}
		if m.SHA256 != h {
			add(m.Path, "content hashes to %s, not to its name", short(m.SHA256))
			continue
		}
		rs := refs[h]
		if len(rs) == 0 {
			add(m.Path, "no manifest in the bundle names this object")
			continue
		}
		data, err := b.ReadObject(h)
		if err != nil {
			add(m.Path, "%v", err)
			continue
		}
		rec, meta, err := DecodeTable(data)
		if err != nil {
			add(m.Path, "output %q of %s: %v", rs[0].o.Name, rs[0].m.Stage, err)
			continue
		}
		plain, err := EncodeTable(rec, nil)
		rows := rec.NumRows()
		rec.Release()
		if err != nil {
			add(m.Path, "re-encode: %v", err)
			continue
		}
		dataHash := HashBytes(plain)
		for _, r := range rs {
			what := fmt.Sprintf("output %q of %s", r.o.Name, r.m.Stage)
			switch {
			case r.o.Size != int64(len(data)):
				add(m.Path, "%s: %d bytes, the manifest says %d", what, len(data), r.o.Size)
			case r.o.Rows != rows:
				add(m.Path, "%s: %d rows, the manifest says %d", what, rows, r.o.Rows)
			case r.o.Data != dataHash:
				add(m.Path, "%s: its table hashes to data %s, the manifest says %s", what, short(dataHash), short(r.o.Data))
			case meta["bfc.key"] != r.m.Key || meta["bfc.output"] != r.o.Name:
				add(m.Path, "%s: its metadata names key %s output %q", what, short(meta["bfc.key"]), meta["bfc.output"])
			}
		}
	}

	for _, p := range idx.Points {
		man := manifests[p.Key]
		if man == nil {
			continue
		}
		for _, o := range man.Outputs {
			path := ObjectMember(o.File)
			if _, ok := b.members[path]; !ok && idx.Required(p, man, o) {
				add(path, "output %q of %s is not in the bundle (selection %q requires it)", o.Name, p.Point, idx.Outputs)
			}
		}
	}

	for _, m := range idx.Members {
		top, name, _ := strings.Cut(m.Path, "/")
		if (top != "figures" && top != "paper") || b.bad[m.Path] {
			continue
		}
		if m.Origin == nil {
			if top == "figures" {
				add(m.Path, "not published by any point in the bundle")
			}
			continue
		}
		if err := b.checkPublished(m, top, name, manifests); err != nil {
			add(m.Path, "%v", err)
		}
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return strings.Compare(a.Path, b.Path) })
	return ps
}

// checkPublished checks a figures/ or paper/ member against the output it
// came from, and a figure point's data table.
func (b *Bundle) checkPublished(m BundleMember, dir, name string, manifests map[string]*Manifest) error {
	o := m.Origin
	p, ok := b.points[o.Point]
	if !ok || p.Key != o.Key {
		return fmt.Errorf("published by point %s with key %s, which the index does not list", o.Point, short(o.Key))
	}
	man := manifests[o.Key]
	if man == nil {
		return fmt.Errorf("the manifest of %s (its origin) is not in the bundle", o.Point)
	}
	out, ok := man.Output(o.Output)
	if !ok {
		return fmt.Errorf("%s has no output %q", o.Point, o.Output)
	}
	data, err := b.ReadObject(out.File)
	if err != nil {
		return fmt.Errorf("output %q of %s: %v", o.Output, o.Point, err)
	}
	pdir, pname, content, err := PublishedFile(data)
	if err != nil {
		return fmt.Errorf("output %q of %s: %v", o.Output, o.Point, err)
	}
	if pdir != dir || pname != name {
		return fmt.Errorf("output %q of %s publishes %s/%s, not this file", o.Output, o.Point, pdir, pname)
	}
	file, err := b.ReadMember(m.Path)
	if err != nil {
		return err
	}
	if string(file) != string(content) {
		return fmt.Errorf("differs from what %s published (output %q, %d bytes, this file %d bytes)", o.Point, o.Output, len(content), len(file))
	}
	if dir == "figures" && man.Kind == "figure" {
		d, ok := man.Output("data")
		if !ok {
			return fmt.Errorf("figure point %s has no data table", o.Point)
		}
		if !b.HasObject(d.File) {
			return fmt.Errorf("the data table of figure point %s (object %s) is not in the bundle", o.Point, short(d.File))
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// hashMember splits a member path "PREFIX HASH SUFFIX": in says whether the
// path is under prefix, ok whether the rest is a SHA-256 with the suffix.
func hashMember(path, prefix, suffix string) (h string, in, ok bool) {
	rest, in := strings.CutPrefix(path, prefix)
	if !in {
		return "", false, false
	}
	h, ok = strings.CutSuffix(rest, suffix)
	return h, true, ok && ValidHash(h)
}

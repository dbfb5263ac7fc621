package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/bfc-repro/bfc/artifacts/id"
)

// The index is a cache, in one file (index), of what a no-op run or a
// status reads from every stage point: its manifest and its ref. Reading
// and parsing one small file per point costs tens of microseconds each on
// the machines bfc runs on, seconds at sweep scale; the index turns that
// into one read of the file and one stat per manifest.
//
// Nothing in it is trusted without a check. The file ends with the
// SHA-256 of its content: a damaged or truncated index (or one of another
// version) is ignored, said so through Store.Warn, and rebuilt from the
// files. A manifest entry is used only while the manifest file has the
// identity (device, inode, size, modification and status-change times) it
// had when the entry was made, the rule of the checked cache: any write,
// replacement or removal of the file changes it, and the file is read
// again. The refs of a profile are used as a whole while the directory
// refs/PROFILE has the identity it had when they were read: a ref is
// written by renaming a file into that directory and removed by unlinking
// it, which change the directory's times (refs edited in place, which bfc
// never does, are not seen until the directory changes). When it has
// changed, every ref file is stat'ed and only those whose identity
// changed are read. A command reads the refs of a profile once: a ref
// another process writes meanwhile is seen by the next command. Entries
// of files changed within checkedMinAge of being read are not kept ("racy
// git"). Losing the index costs only the reads it saves; concurrent runs
// may overwrite each other's index, each one consistent. The index also
// remembers the published files known to hold their objects' data
// (Published), by the same rule.
//
// Manifests decoded from the index are not validated again (their key
// recomputed from the components): they were when the entry was made, and
// the checksum covers the file since.

const indexMagic = "bfc-index\x00v1\n"

// index is the in-memory state of the store's index.
type index struct {
	mu     sync.Mutex
	loaded bool
	buf    []byte   // the file read at load (strings alias it)
	strs   []string // its string table
	man    map[id.Key]*indexManifest
	refs   map[string]*indexRefs     // by profile
	pub    map[string]indexPublished // by publishedKey
	dirty  bool
	// fileReads counts the manifest and ref files read (tests).
	fileReads int
}

// indexManifest is one manifest: encoded in the loaded file (raw), or
// read from its file in this process (m).
type indexManifest struct {
	fid fileID
	raw []byte
	m   *Manifest
}

// indexRefs are the refs of one profile, by file name.
type indexRefs struct {
	dir     fileID // identity of refs/PROFILE when read (zero: not to be trusted)
	checked bool   // validated (or rebuilt) in this process
	listErr bool   // the directory could not be listed: GetRef reads files
	files   map[string]*indexRef
}

type indexRef struct {
	fid     fileID // zero: read again at the next rescan
	ref     Ref
	damaged bool // unreadable as a ref
}

// indexPublished is a file published into the project (by object and
// the project's directories, publishedKey): where, and the file's
// identity when it was found to hold the object's data.
type indexPublished struct {
	path string
	fid  fileID
}

func (s *Store) indexPath() string { return filepath.Join(s.Dir, "index") }

// warnf reports a problem that bfc recovers from, through Warn if set.
func (s *Store) warnf(format string, args ...any) {
	if s.Warn != nil {
		s.Warn(fmt.Sprintf(format, args...))
	}
}

// loadIndex reads the index once. Call with ix.mu held.
func (s *Store) loadIndex() {
	ix := &s.index
	if ix.loaded {
		return
	}
	ix.loaded = true
	ix.man, ix.refs, ix.pub = map[id.Key]*indexManifest{}, map[string]*indexRefs{}, map[string]indexPublished{}
	b, err := os.ReadFile(s.indexPath())
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.warnf("store index %s unreadable (%v); rebuilding it", s.indexPath(), err)
		}
		return
	}
	if err := ix.decodeFile(b); err != nil {
		ix.man, ix.refs, ix.pub, ix.strs, ix.buf = map[id.Key]*indexManifest{}, map[string]*indexRefs{}, map[string]indexPublished{}, nil, nil
		ix.dirty = true
		s.warnf("store index %s is damaged (%v); not using it, rebuilding it from the manifests and refs", s.indexPath(), err)
	}
}

// indexedManifest returns the manifest of key through the index, reading
// its file when the index has no entry for it or the file changed.
func (s *Store) indexedManifest(key id.Key) (*Manifest, error) {
	p := s.ManifestPath(key)
	fid, serr := statID(p)
	ix := &s.index
	ix.mu.Lock()
	s.loadIndex()
	e := ix.man[key]
	var m *Manifest
	var derr error
	switch {
	case serr == nil && e != nil && e.fid == fid:
		if m, derr = ix.decodeEntry(e); derr != nil || m.Key != key {
			delete(ix.man, key) // the file is read below
			ix.dirty = true
		}
	case e != nil: // the file changed (or cannot be stat'ed): read below
		delete(ix.man, key)
		ix.dirty = true
	}
	ix.mu.Unlock()
	if m != nil && derr == nil && m.Key == key {
		return m, nil
	}
	if serr != nil && errors.Is(serr, fs.ErrNotExist) {
		return nil, fmt.Errorf("manifest %s: %w", key.Short(), ErrNotFound)
	}
	m, err := s.readManifest(key)
	ix.mu.Lock()
	ix.fileReads++
	ix.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if serr == nil && time.Since(time.Unix(0, fid.ctimeNs)) > checkedMinAge {
		ix.mu.Lock()
		ix.man[key] = &indexManifest{fid: fid, m: cloneManifest(m)}
		ix.dirty = true
		ix.mu.Unlock()
	}
	return m, nil
}

// cloneManifest copies m deeply enough that a caller changing the
// manifest it was given leaves the index's copy alone.
func cloneManifest(m *Manifest) *Manifest {
	c := *m
	c.Components = slices.Clone(m.Components)
	c.Outputs = slices.Clone(m.Outputs)
	c.Probes = slices.Clone(m.Probes)
	if m.Run.Notes != nil {
		c.Run.Notes = make(map[string]string, len(m.Run.Notes))
		for k, v := range m.Run.Notes {
			c.Run.Notes[k] = v
		}
	}
	return &c
}

// decodeEntry decodes e (a copy the caller may change). Call with ix.mu held.
func (ix *index) decodeEntry(e *indexManifest) (*Manifest, error) {
	if e.m != nil {
		return cloneManifest(e.m), nil
	}
	d := &ixDec{b: e.raw, strs: ix.strs}
	m := d.manifest()
	if d.err == nil && d.i != len(d.b) {
		d.fail("trailing bytes")
	}
	return m, d.err
}

// profileRefs returns the refs of profile, validated or rebuilt once per
// process. Call with ix.mu held.
func (s *Store) profileRefs(profile string) *indexRefs {
	ix := &s.index
	s.loadIndex()
	r := ix.refs[profile]
	if r != nil && r.checked {
		return r
	}
	dir := filepath.Join(s.Dir, "refs", profileDir(profile))
	before, err := statID(dir)
	if err == nil && r != nil && !r.dir.isZero() && r.dir == before && time.Since(time.Unix(0, before.ctimeNs)) > checkedMinAge {
		r.checked = true
		return r
	}
	// Rebuild: every ref file, read again unless its identity is the one
	// the index has.
	old := r
	r = &indexRefs{checked: true, files: map[string]*indexRef{}}
	ix.refs[profile] = r
	ix.dirty = true
	ents, rerr := os.ReadDir(dir)
	if rerr != nil {
		// No refs yet; or an unreadable directory, whose files GetRef
		// then reads itself (with their own errors).
		r.listErr = !errors.Is(rerr, fs.ErrNotExist)
		return r
	}
	for _, de := range ents {
		name := de.Name()
		if !strings.HasSuffix(name, ".json") || de.IsDir() {
			continue
		}
		p := filepath.Join(dir, name)
		fid, err := statID(p)
		if err != nil {
			continue
		}
		if old != nil {
			if o := old.files[name]; o != nil && !o.fid.isZero() && o.fid == fid {
				r.files[name] = o
				continue
			}
		}
		e := &indexRef{}
		ix.fileReads++
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if uerr := jsonUnmarshalRef(b, &e.ref); uerr != nil {
			e.damaged = true
		}
		if time.Since(time.Unix(0, fid.ctimeNs)) > checkedMinAge {
			e.fid = fid
		}
		r.files[name] = e
	}
	if after, err := statID(dir); err == nil && after == before && time.Since(time.Unix(0, before.ctimeNs)) > checkedMinAge {
		r.dir = before
	}
	return r
}

// indexedRef looks point up in the refs of profile: the ref, or
// ErrNotFound, or an error for a damaged ref file.
func (s *Store) indexedRef(profile, point string) (Ref, error) {
	ix := &s.index
	ix.mu.Lock()
	defer ix.mu.Unlock()
	r := s.profileRefs(profile)
	if r.listErr {
		return s.readRef(profile, point)
	}
	name := refFile(point)
	e := r.files[name]
	if e == nil {
		return Ref{}, ErrNotFound
	}
	if e.damaged || e.ref.Point != point {
		return Ref{}, fmt.Errorf("%s: damaged ref", filepath.Join(s.Dir, "refs", profileDir(profile), name))
	}
	return e.ref, nil
}

// noteRef records in the index a ref this process wrote: the directory
// changed (its identity is no longer the one read), and the file is read
// again at the next rebuild.
func (s *Store) noteRef(r Ref) {
	ix := &s.index
	ix.mu.Lock()
	defer ix.mu.Unlock()
	pr := s.profileRefs(r.Profile)
	pr.dir = fileID{}
	pr.files[refFile(r.Point)] = &indexRef{ref: r}
	ix.dirty = true
}

// Published returns where the published file of object o was written
// in the project under name (the project's directories: a profile may
// publish elsewhere), if NotePublished recorded it and the file's identity
// has not changed since: then it still holds the object's data.
func (s *Store) Published(o id.Object, name string) (string, bool) {
	ix := &s.index
	ix.mu.Lock()
	s.loadIndex()
	e, ok := ix.pub[publishedKey(o, name)]
	ix.mu.Unlock()
	if !ok {
		return "", false
	}
	fid, err := statID(e.path)
	return e.path, err == nil && fid == e.fid
}

// NotePublished records that the file at path holds the published data
// of object o under name (it was just written, or compared byte for
// byte), unless it changed too recently for its identity to tell later
// changes apart.
func (s *Store) NotePublished(o id.Object, name, path string) {
	fid, err := statID(path)
	ix := &s.index
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s.loadIndex()
	k := publishedKey(o, name)
	if err != nil || time.Since(time.Unix(0, fid.ctimeNs)) <= checkedMinAge {
		if _, ok := ix.pub[k]; ok {
			delete(ix.pub, k)
			ix.dirty = true
		}
		return
	}
	if e, ok := ix.pub[k]; !ok || e.path != path || e.fid != fid {
		ix.pub[k] = indexPublished{path: path, fid: fid}
		ix.dirty = true
	}
}

func publishedKey(o id.Object, name string) string { return o.String() + "\x00" + name }

// SaveIndex writes the index if it changed in this process.
func (s *Store) SaveIndex() error {
	ix := &s.index
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.dirty {
		return nil
	}
	ix.dirty = false
	return s.writeAtomic(s.indexPath(), ix.encodeFile(), 0o644)
}

// dropIndex forgets the index and removes its file (gc, which removes
// many manifests and refs at once, has the next command rebuild it).
func (s *Store) dropIndex() error {
	ix := &s.index
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.loaded, ix.dirty, ix.man, ix.refs, ix.pub, ix.strs, ix.buf = false, false, nil, nil, nil, nil, nil
	if err := os.Remove(s.indexPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (f fileID) isZero() bool { return f == fileID{} }

// ---------------------------------------------------------------- encoding

// The file: indexMagic; the string table (count, then each string's
// length and bytes); the manifests (count, then key, file identity, and
// the length and bytes of the encoded manifest); the refs (count of
// profiles, then per profile its name, the directory's identity and its
// ref files: name, identity, damaged flag, point, key, time); the
// published files (count, then object and directories, path and identity); and the
// SHA-256 of everything before it. Numbers are varints, strings indices
// into the table, slices and maps their length + 1 (0 for nil).

type ixEnc struct {
	b []byte
	t *strTable
}

// strTable numbers the distinct strings of an index in order of first use.
type strTable struct {
	ids  map[string]uint64
	list []string
}

func (e *ixEnc) uv(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *ixEnc) iv(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *ixEnc) f(v float64)  { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *ixEnc) raw(p []byte) { e.b = append(e.b, p...) }
func (e *ixEnc) str(s string) {
	i, ok := e.t.ids[s]
	if !ok {
		i = uint64(len(e.t.list))
		e.t.ids[s] = i
		e.t.list = append(e.t.list, s)
	}
	e.uv(i)
}
func (e *ixEnc) n(length int, isNil bool) {
	if isNil {
		e.uv(0)
		return
	}
	e.uv(uint64(length) + 1)
}
func (e *ixEnc) fid(f fileID) {
	e.uv(f.dev)
	e.uv(f.ino)
	e.uv(f.size)
	e.iv(f.mtimeNs)
	e.iv(f.ctimeNs)
}
func (e *ixEnc) bool(v bool) {
	if v {
		e.uv(1)
	} else {
		e.uv(0)
	}
}

func (e *ixEnc) manifest(m *Manifest) {
	e.iv(int64(m.Format))
	e.raw(m.Key[:])
	e.str(m.Kind)
	e.str(m.Stage)
	e.n(len(m.Components), m.Components == nil)
	for _, c := range m.Components {
		e.str(c.Name)
		e.str(c.Value)
		e.str(c.Hash)
	}
	e.n(len(m.Outputs), m.Outputs == nil)
	for _, o := range m.Outputs {
		e.str(o.Name)
		e.raw(o.File[:])
		e.raw(o.Data[:])
		e.iv(o.Size)
		e.iv(o.Rows)
	}
	e.n(len(m.Probes), m.Probes == nil)
	for _, p := range m.Probes {
		e.str(p.Name)
		e.raw(p.Key[:])
	}
	r := &m.Run
	e.str(r.Start)
	e.f(r.WallSeconds)
	e.f(r.UserSeconds)
	e.f(r.SysSeconds)
	e.iv(r.MaxRSSBytes)
	e.iv(int64(r.Threads))
	for _, s := range []string{r.Host, r.CPU, r.GoVersion, r.Program, r.VCSRevision} {
		e.str(s)
	}
	e.bool(r.VCSDirty)
	for _, s := range []string{r.BuildTags, r.Executor, r.Log} {
		e.str(s)
	}
	e.n(len(r.Notes), r.Notes == nil)
	for _, k := range slices.Sorted(mapKeys(r.Notes)) {
		e.str(k)
		e.str(r.Notes[k])
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// encodeFile encodes the whole index. Call with ix.mu held.
func (ix *index) encodeFile() []byte {
	t := &strTable{ids: map[string]uint64{}}
	body := &ixEnc{t: t}
	keys := slices.SortedFunc(func(yield func(id.Key) bool) {
		for k := range ix.man {
			if !yield(k) {
				return
			}
		}
	}, func(a, b id.Key) int { return bytes.Compare(a[:], b[:]) })
	body.uv(uint64(len(keys)))
	rec := &ixEnc{t: t}
	for _, k := range keys {
		e := ix.man[k]
		m, err := ix.decodeEntry(e)
		if err != nil || m.Key != k {
			continue // unusable: its manifest is read again when needed
		}
		rec.b = rec.b[:0]
		rec.manifest(m)
		body.raw(k[:])
		body.fid(e.fid)
		body.uv(uint64(len(rec.b)))
		body.raw(rec.b)
	}
	profiles := slices.Sorted(func(yield func(string) bool) {
		for p := range ix.refs {
			if !yield(p) {
				return
			}
		}
	})
	body.uv(uint64(len(profiles)))
	for _, p := range profiles {
		r := ix.refs[p]
		body.str(p)
		body.fid(r.dir)
		names := slices.Sorted(func(yield func(string) bool) {
			for n := range r.files {
				if !yield(n) {
					return
				}
			}
		})
		body.uv(uint64(len(names)))
		for _, n := range names {
			f := r.files[n]
			body.str(n)
			body.fid(f.fid)
			body.bool(f.damaged)
			body.str(f.ref.Profile)
			body.str(f.ref.Point)
			body.raw(f.ref.Key[:])
			body.str(f.ref.Time)
		}
	}
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range ix.pub {
			if !yield(p) {
				return
			}
		}
	})
	body.uv(uint64(len(paths)))
	for _, p := range paths {
		body.str(p)
		body.str(ix.pub[p].path)
		body.fid(ix.pub[p].fid)
	}
	out := &ixEnc{b: []byte(indexMagic), t: t}
	out.uv(uint64(len(t.list)))
	for _, s := range t.list {
		out.uv(uint64(len(s)))
		out.b = append(out.b, s...)
	}
	out.raw(body.b)
	sum := sha256.Sum256(out.b)
	return append(out.b, sum[:]...)
}

// ixDec decodes the index; the first problem sets err, after which every
// method returns zero values.
type ixDec struct {
	b    []byte
	i    int
	strs []string
	err  error
}

func (d *ixDec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d: %s", d.i, what)
	}
}

func (d *ixDec) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.i += n
	return v
}

func (d *ixDec) iv() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.i:])
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.i += n
	return v
}

func (d *ixDec) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.i) {
		d.fail("truncated")
		return nil
	}
	p := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return p
}

func (d *ixDec) f() float64 {
	p := d.bytes(8)
	if p == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(p))
}

func (d *ixDec) str() string {
	i := d.uv()
	if d.err != nil {
		return ""
	}
	if i >= uint64(len(d.strs)) {
		d.fail("bad string index")
		return ""
	}
	return d.strs[i]
}

func (d *ixDec) hash(dst []byte) { copy(dst, d.bytes(uint64(len(dst)))) }

// n decodes a length + 1 (0: nil), bounded by what the rest could hold.
func (d *ixDec) n() (int, bool) {
	v := d.uv()
	if d.err != nil || v == 0 {
		return 0, false
	}
	if v-1 > uint64(len(d.b)-d.i) {
		d.fail("length beyond the end")
		return 0, false
	}
	return int(v - 1), true
}

func (d *ixDec) fid() fileID {
	return fileID{dev: d.uv(), ino: d.uv(), size: d.uv(), mtimeNs: d.iv(), ctimeNs: d.iv()}
}

func (d *ixDec) bool() bool {
	switch d.uv() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bad flag")
	return false
}

func (d *ixDec) manifest() *Manifest {
	m := &Manifest{}
	m.Format = int(d.iv())
	d.hash(m.Key[:])
	m.Kind = d.str()
	m.Stage = d.str()
	if n, ok := d.n(); ok {
		m.Components = make([]Component, n)
		for i := range m.Components {
			m.Components[i] = Component{Name: d.str(), Value: d.str(), Hash: d.str()}
		}
	}
	if n, ok := d.n(); ok {
		m.Outputs = make([]Output, n)
		for i := range m.Outputs {
			o := &m.Outputs[i]
			o.Name = d.str()
			d.hash(o.File[:])
			d.hash(o.Data[:])
			o.Size = d.iv()
			o.Rows = d.iv()
		}
	}
	if n, ok := d.n(); ok {
		m.Probes = make([]ProbeRef, n)
		for i := range m.Probes {
			m.Probes[i].Name = d.str()
			d.hash(m.Probes[i].Key[:])
		}
	}
	r := &m.Run
	r.Start = d.str()
	r.WallSeconds, r.UserSeconds, r.SysSeconds = d.f(), d.f(), d.f()
	r.MaxRSSBytes = d.iv()
	r.Threads = int(d.iv())
	r.Host, r.CPU, r.GoVersion, r.Program, r.VCSRevision = d.str(), d.str(), d.str(), d.str(), d.str()
	r.VCSDirty = d.bool()
	r.BuildTags, r.Executor, r.Log = d.str(), d.str(), d.str()
	if n, ok := d.n(); ok {
		r.Notes = make(map[string]string, n)
		for range n {
			k := d.str()
			r.Notes[k] = d.str()
		}
	}
	if d.err != nil {
		return nil
	}
	return m
}

// decodeFile checks and decodes a whole index file into ix. The strings
// alias b, which is never written.
func (ix *index) decodeFile(b []byte) error {
	if len(b) < len(indexMagic)+sha256.Size || string(b[:len(indexMagic)]) != indexMagic {
		return errors.New("not an index of this version")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return errors.New("checksum mismatch")
	}
	d := &ixDec{b: body, i: len(indexMagic)}
	ns := d.uv()
	if ns > uint64(len(body)) {
		return errors.New("string count beyond the file's size")
	}
	strs := make([]string, 0, ns)
	for range ns {
		p := d.bytes(d.uv())
		if d.err != nil {
			return d.err
		}
		strs = append(strs, unsafe.String(unsafe.SliceData(p), len(p)))
	}
	d.strs = strs
	man := map[id.Key]*indexManifest{}
	nm := d.uv()
	for range nm {
		if d.err != nil {
			break
		}
		var k id.Key
		d.hash(k[:])
		e := &indexManifest{fid: d.fid()}
		e.raw = d.bytes(d.uv())
		man[k] = e
	}
	refs := map[string]*indexRefs{}
	np := d.uv()
	for range np {
		if d.err != nil {
			break
		}
		p := d.str()
		r := &indexRefs{dir: d.fid(), files: map[string]*indexRef{}}
		nf := d.uv()
		for range nf {
			if d.err != nil {
				break
			}
			name := d.str()
			f := &indexRef{fid: d.fid(), damaged: d.bool()}
			f.ref.Profile, f.ref.Point = d.str(), d.str()
			d.hash(f.ref.Key[:])
			f.ref.Time = d.str()
			r.files[name] = f
		}
		refs[p] = r
	}
	pub := map[string]indexPublished{}
	npub := d.uv()
	for range npub {
		if d.err != nil {
			break
		}
		p := d.str()
		e := indexPublished{path: d.str()}
		e.fid = d.fid()
		pub[p] = e
	}
	if d.err == nil && d.i != len(body) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return d.err
	}
	ix.buf, ix.strs, ix.man, ix.refs, ix.pub = b, strs, man, refs, pub
	return nil
}

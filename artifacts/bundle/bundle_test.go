package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/klauspost/compress/zstd"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
)

// --- fixtures -------------------------------------------------------------

// bundleCol is one column of a test table.
type bundleCol struct {
	name string
	f64  []float64
	str  []string
	bin  [][]byte
}

func bundleTable(t testing.TB, cols ...bundleCol) arrow.Record {
	t.Helper()
	var fields []arrow.Field
	for _, c := range cols {
		typ := arrow.DataType(arrow.PrimitiveTypes.Float64)
		switch {
		case c.str != nil:
			typ = arrow.BinaryTypes.String
		case c.bin != nil:
			typ = arrow.BinaryTypes.Binary
		}
		fields = append(fields, arrow.Field{Name: c.name, Type: typ})
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i, c := range cols {
		switch fb := b.Field(i).(type) {
		case *array.Float64Builder:
			fb.AppendValues(c.f64, nil)
		case *array.StringBuilder:
			fb.AppendValues(c.str, nil)
		case *array.BinaryBuilder:
			fb.AppendValues(c.bin, nil)
		}
	}
	return b.NewRecord()
}

// bundlePoint commits a manifest of kind with the given outputs to st, the
// way the engine does (metadata naming the key and output), and returns it.
func bundlePoint(t testing.TB, st *store.Store, kind, point string, salt string, outs map[string]arrow.Record) *store.Manifest {
	t.Helper()
	cs := []store.Component{store.NewComponent("kind", kind), store.NewComponent("param:salt", salt)}
	key, err := store.KeyOf(cs)
	if err != nil {
		t.Fatal(err)
	}
	m := &store.Manifest{Format: store.FormatVersion, Key: key, Kind: kind, Stage: point, Components: cs}
	for _, name := range slices.Sorted(maps.Keys(outs)) {
		rec := outs[name]
		full, err := store.EncodeTable(rec, map[string]string{"bfc.key": key.String(), "bfc.output": name})
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := store.EncodeTable(rec, nil)
		h, err := st.PutObject(full)
		if err != nil {
			t.Fatal(err)
		}
		m.Outputs = append(m.Outputs, store.Output{Name: name, File: h, Data: id.DataOf(plain), Size: int64(len(full)), Rows: rec.NumRows()})
		rec.Release()
	}
	if err := st.PutManifest(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func publishTable(t testing.TB, dir, name string, data []byte) arrow.Record {
	return bundleTable(t, bundleCol{name: "dir", str: []string{dir}}, bundleCol{name: "name", str: []string{name}}, bundleCol{name: "bytes", bin: [][]byte{data}})
}

// bundleFixture is a tiny archived project: a source point, a figure
// point that publishes figures/f.svg and has a data table, a report point
// that publishes paper/macros.tex, and a hand-written paper/text.md.
type bundleFixture struct {
	st    *store.Store
	idx   *Index
	files []File
	src   *store.Manifest
	fig   *store.Manifest
}

const bundleSVG = "<svg>figure</svg>\n"

func newBundleFixture(t testing.TB, outputs string) *bundleFixture {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "store"), true)
	if err != nil {
		t.Fatal(err)
	}
	f := &bundleFixture{st: st}
	f.src = bundlePoint(t, st, "src", "src", "1", map[string]arrow.Record{
		"values": bundleTable(t, bundleCol{name: "v", f64: []float64{1, 2, 3}}),
	})
	f.fig = bundlePoint(t, st, "figure", "fig", "2", map[string]arrow.Record{
		"data":                  bundleTable(t, bundleCol{name: "series", str: []string{"a", "a", "b"}}, bundleCol{name: "y", f64: []float64{1, 2, 3}}),
		"publish.figures.f.svg": publishTable(t, "figures", "f.svg", []byte(bundleSVG)),
	})
	rep := bundlePoint(t, st, "paper", "rep", "3", map[string]arrow.Record{
		"publish.paper.macros.tex": publishTable(t, "paper", "macros.tex", []byte(`\newcommand{\X}{1}`)),
	})
	f.idx = &Index{Created: "2026-01-02T03:04:05Z", Pipeline: "test", Outputs: outputs, Program: "test",
		FiguresDir: "figures", PaperDir: "paper",
		Points: []Point{
			{Point: "src", Stage: "src", Kind: "src", Key: f.src.Key},
			{Point: "fig", Stage: "fig", Kind: "figure", Key: f.fig.Key, Inputs: []string{"src"}, Final: true},
			{Point: "rep", Stage: "rep", Kind: "paper", Key: rep.Key, Final: true},
		}}
	f.files = []File{
		{Path: "pipeline.toml", Data: []byte("[pipeline]\nname = \"test\"\n")},
		{Path: "build.json", Data: []byte(`{"go":"test"}`)},
		{Path: "machine.json", Data: []byte(`{"cpus":1}`)},
		{Path: "figures/f.svg", Data: []byte(bundleSVG), Origin: &Origin{Point: "fig", Key: f.fig.Key, Output: "publish.figures.f.svg"}},
		{Path: "paper/macros.tex", Data: []byte(`\newcommand{\X}{1}`), Origin: &Origin{Point: "rep", Key: rep.Key, Output: "publish.paper.macros.tex"}},
		{Path: "paper/text.md", Data: []byte("# Text\n")},
	}
	for _, m := range []*store.Manifest{f.src, f.fig, rep} {
		f.files = append(f.files, File{Path: ManifestMember(m.Key), File: st.ManifestPath(m.Key)})
		for _, o := range m.Outputs {
			if outputs == OutputsFinal && m == f.src {
				continue // an intermediate: its hash only
			}
			f.files = append(f.files, File{Path: ObjectMember(o.File), File: st.ObjectPath(o.File)})
		}
	}
	return f
}

func (f *bundleFixture) write(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	idx := *f.idx
	if _, err := Write(&buf, &idx, f.files); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// memSink keeps a bundle's members in memory.
type memSink struct{ fs fstest.MapFS }

func (m *memSink) Begin(*Index) error { m.fs = fstest.MapFS{}; return nil }
func (m *memSink) Put(bm Member, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.fs[bm.Path] = &fstest.MapFile{Data: b}
	return nil
}
func (m *memSink) Drop(p string) error { delete(m.fs, p); return nil }

// readMem reads a bundle into memory and verifies it: the problems of
// both steps, or the fatal error.
func readMem(data []byte, lim Limits) (*Bundle, []store.Problem, error) {
	sink := &memSink{}
	idx, problems, err := Read(bytes.NewReader(data), lim, sink)
	if err != nil {
		return nil, nil, err
	}
	b := newBundle(idx, sink.fs, problems)
	return b, append(problems, b.Verify()...), nil
}

// --- format -----------------------------------------------------------------

func leafHash(path, h string) [32]byte {
	raw, _ := hex.DecodeString(h)
	return sha256.Sum256(slices.Concat([]byte{0}, []byte(path), []byte{0}, raw))
}

func node(l, r [32]byte) [32]byte { return sha256.Sum256(slices.Concat([]byte{1}, l[:], r[:])) }

func TestMerkleRootFollowsRFC6962(t *testing.T) {
	var ms []Member
	for i := 0; i < 5; i++ {
		ms = append(ms, Member{Path: fmt.Sprintf("objects/%d", i), SHA256: id.HexSum([]byte{byte(i)})})
	}
	l := make([][32]byte, len(ms))
	for i, m := range ms {
		l[i] = leafHash(m.Path, m.SHA256)
	}
	hexOf := func(h [32]byte) string { return hex.EncodeToString(h[:]) }
	empty := sha256.Sum256(nil)
	tests := []struct {
		n    int
		want string
	}{
		{0, hexOf(empty)},
		{1, hexOf(l[0])},
		{2, hexOf(node(l[0], l[1]))},
		{3, hexOf(node(node(l[0], l[1]), l[2]))},
		{4, hexOf(node(node(l[0], l[1]), node(l[2], l[3])))},
		{5, hexOf(node(node(node(l[0], l[1]), node(l[2], l[3])), l[4]))},
	}
	for _, tc := range tests {
		sub := slices.Clone(ms[:tc.n])
		slices.Reverse(sub) // input order must not matter: leaves are sorted by path
		got, err := MerkleRoot(sub)
		if err != nil || got != tc.want {
			t.Errorf("n=%d: root %s, %v; want %s", tc.n, got, err, tc.want)
		}
	}
	base, _ := MerkleRoot(ms)
	for i := range ms {
		for _, change := range []func(*Member){
			func(m *Member) { m.Path += "x" },
			func(m *Member) { m.SHA256 = id.HexSum([]byte("other")) },
		} {
			c := slices.Clone(ms)
			change(&c[i])
			if got, _ := MerkleRoot(c); got == base {
				t.Errorf("changing member %d leaves the root unchanged", i)
			}
		}
	}
	if _, err := MerkleRoot(append(slices.Clone(ms), ms[0])); err == nil {
		t.Error("a repeated path gives a root")
	}
}

func TestValidBundlePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"pipeline.toml", true},
		{"objects/ab.arrow", true},
		{"figures/E1-feature-error.svg", true},
		{"paper/sections/results (draft) v2.tex", true},
		{"/etc/passwd", false},
		{"../x", false},
		{"figures/../../x", false},
		{"figures/./x", false},
		{"figures//x", false},
		{"figures/x/", false},
		{"figures/.hidden", false},
		{"figures/a\\b", false},
		{"figures/a\x00b", false},
		{"figures/é", false},
		{"figures", false},
		{"pipeline.toml/x", false},
		{"etc/passwd", false},
		{"figures/" + strings.Repeat("a", 256), false},
		{"figures/" + strings.Repeat("a/", 600) + "b", false},
	}
	for _, tc := range tests {
		if err := ValidPath(tc.path); (err == nil) != tc.ok {
			t.Errorf("ValidPath(%q) = %v, want ok=%v", tc.path, err, tc.ok)
		}
	}
}

func TestBundleRoundTripVerifies(t *testing.T) {
	for _, outputs := range []string{OutputsAll, OutputsFinal} {
		t.Run(outputs, func(t *testing.T) {
			f := newBundleFixture(t, outputs)
			data := f.write(t)
			if again := f.write(t); !bytes.Equal(data, again) {
				t.Fatal("the same index and files give different bundle bytes")
			}
			b, problems, err := readMem(data, DefaultLimits())
			if err != nil || len(problems) > 0 {
				t.Fatalf("read: %v %v", err, problems)
			}
			var paths []string
			for _, m := range b.Index.Members {
				paths = append(paths, m.Path)
			}
			if !slices.IsSortedFunc(paths, compareMembers) || paths[0] != "pipeline.toml" || paths[len(paths)-1] != "paper/text.md" {
				t.Fatalf("members not in canonical order: %v", paths)
			}
			if root, _ := MerkleRoot(b.Index.Members); root != b.Index.Root {
				t.Fatal("index root is not the root of its members")
			}
			want := 13
			if outputs == OutputsFinal {
				want-- // src's values object is an intermediate
			}
			if len(paths) != want {
				t.Fatalf("%d members, want %d: %v", len(paths), want, paths)
			}
			if b.HasObject(f.src.Outputs[0].File) != (outputs == OutputsAll) {
				t.Fatal("intermediate object presence does not follow the selection")
			}
			// Extraction into a directory gives the same files.
			dir := filepath.Join(t.TempDir(), "x")
			path := filepath.Join(t.TempDir(), "b.tar.zst")
			os.WriteFile(path, data, 0o644)
			eb, problems, err := Extract(path, dir, DefaultLimits())
			if err != nil || len(problems) > 0 {
				t.Fatalf("extract: %v %v", err, problems)
			}
			defer eb.Close()
			if ps := eb.Verify(); len(ps) > 0 {
				t.Fatalf("extracted bundle does not verify: %v", ps)
			}
			got, _ := os.ReadFile(filepath.Join(dir, "figures", "f.svg"))
			if string(got) != bundleSVG {
				t.Fatalf("extracted figure %q", got)
			}
			if _, err := os.Stat(filepath.Join(dir, IndexName)); err != nil {
				t.Fatal("index not extracted")
			}
		})
	}
}

func TestBundleOpensWithStandardTools(t *testing.T) {
	// The bundle is an ordinary tar.zst: Go's tar reader over a plain
	// streaming zstd decoder (which, like `zstd -d`, skips the frame
	// index) lists every member.
	f := newBundleFixture(t, OutputsAll)
	data := f.write(t)
	zr, err := zstd.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || h.Mode != 0o644 || !h.ModTime.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Fatalf("header %+v", h)
		}
		n++
	}
	if n != 14 {
		t.Fatalf("%d tar members, want 14 (index + 13)", n)
	}
}

// frameSpans returns the [start, end) byte ranges of the zstd frames of a
// bundle, in order.
func frameSpans(t *testing.T, data []byte) [][2]int {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(data))
	var spans [][2]int
	pos := 0
	for {
		fr, _, err := readFrame(br, nil)
		if err == io.EOF {
			return spans
		}
		if err != nil {
			t.Fatal(err)
		}
		spans = append(spans, [2]int{pos, pos + len(fr)})
		pos += len(fr)
	}
}

func TestEveryFlippedByteIsCaughtAndNamed(t *testing.T) {
	f := newBundleFixture(t, OutputsFinal)
	data := f.write(t)
	idx := *f.idx
	Write(io.Discard, &idx, f.files)
	// One frame per member (the index first), then the end of the archive.
	names := []string{IndexName}
	for _, m := range idx.Members {
		names = append(names, m.Path)
	}
	names = append(names, "(end of archive)", "(end of archive)") // end blocks, frame index
	spans := frameSpans(t, data)
	if len(spans) != len(names) || spans[len(spans)-1][1] != len(data) {
		t.Fatalf("%d frames for %d members + end; last ends at %d of %d", len(spans), len(names)-1, spans[len(spans)-1][1], len(data))
	}
	t.Logf("bundle of %d bytes in %d frames", len(data), len(spans))
	flipped := make([]byte, len(data))
	step := 1
	if testing.Short() {
		step = 7
	}
	for fi, sp := range spans {
		for pos := sp[0]; pos < sp[1]; pos += step {
			// Every bit position is flipped somewhere in the file.
			for _, mask := range []byte{1 << (pos % 8)} {
				copy(flipped, data)
				flipped[pos] ^= mask
				b, problems, err := readMem(flipped, DefaultLimits())
				var be *Error
				switch {
				case err == nil:
					t.Fatalf("byte %d ^ %#x (frame of %s): bundle reads and verifies with problems %v", pos, mask, names[fi], problems)
				case !errors.As(err, &be):
					t.Fatalf("byte %d: error %v is not a Error", pos, err)
				case be.Member != names[fi]:
					t.Fatalf("byte %d ^ %#x in the frame of %s: error names %q: %v", pos, mask, names[fi], be.Member, err)
				}
				_ = b
			}
		}
	}
}

// --- hostile bundles ----------------------------------------------------------

// rawEntry is one tar entry of a hand-made bundle.
type rawEntry struct {
	hdr  tar.Header
	data []byte
}

func regular(name string, data []byte) rawEntry {
	return rawEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: 0o644}, data: data}
}

// indexFor returns an index entry listing entries (as they are, in
// order), edited by edit.
func indexFor(t testing.TB, entries []rawEntry, edit func(*Index)) rawEntry {
	t.Helper()
	idx := Index{Format: Format, Outputs: OutputsAll}
	for _, e := range entries {
		idx.Members = append(idx.Members, Member{Path: e.hdr.Name, Size: int64(len(e.data)), SHA256: id.HexSum(e.data)})
	}
	idx.Root, _ = MerkleRoot(idx.Members)
	if edit != nil {
		edit(&idx)
	}
	b, _ := json.Marshal(idx)
	return regular(IndexName, b)
}

// rawBundle writes entries as bfc does (one zstd frame per entry).
func rawBundle(t testing.TB, entries ...rawEntry) []byte {
	return rawBundleExtra(t, nil, entries...)
}

// rawBundleExtra calls extra after the end of the tar archive, before
// the frame index.
func rawBundleExtra(t testing.TB, extra func(*frameWriter), entries ...rawEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, _ := newFrameWriter(&buf)
	tw := tar.NewWriter(fw)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.data)
		tw.Flush()
		fw.cut()
	}
	tw.Close()
	fw.cut()
	if extra != nil {
		extra(fw)
	}
	fw.close()
	return buf.Bytes()
}

func TestHostileBundlesAreRejected(t *testing.T) {
	toml := regular("pipeline.toml", []byte("x"))
	small := DefaultLimits()
	small.MaxMemberSize, small.MaxTotalSize, small.MaxMembers = 1000, 3000, 4
	withIndex := func(es ...rawEntry) []rawEntry {
		return append([]rawEntry{indexFor(t, es, nil)}, es...)
	}
	link := func(typ byte, name, target string) rawEntry {
		return rawEntry{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o777}}
	}
	tests := []struct {
		name    string
		entries []rawEntry
		lim     Limits
		member  string
		want    string
	}{
		{"absolute path", []rawEntry{indexFor(t, nil, nil), regular("/tmp/bfc-evil", []byte("x"))}, small, "/tmp/bfc-evil", "absolute path"},
		{"dot-dot", []rawEntry{indexFor(t, nil, nil), regular("../bfc-evil", []byte("x"))}, small, "../bfc-evil", `".." component`},
		{"dot-dot inside", []rawEntry{indexFor(t, nil, nil), regular("figures/../../bfc-evil", []byte("x"))}, small, "figures/../../bfc-evil", `".." component`},
		{"symlink", []rawEntry{indexFor(t, nil, nil), link(tar.TypeSymlink, "figures/l", "/etc")}, small, "figures/l", "symbolic link"},
		{"hard link", []rawEntry{indexFor(t, nil, nil), link(tar.TypeLink, "figures/l", "/etc/passwd")}, small, "figures/l", "hard link"},
		{"char device", []rawEntry{indexFor(t, nil, nil), {hdr: tar.Header{Typeflag: tar.TypeChar, Name: "figures/null", Devmajor: 1, Devminor: 3}}}, small, "figures/null", "device file"},
		{"block device", []rawEntry{indexFor(t, nil, nil), {hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "figures/sda", Devmajor: 8}}}, small, "figures/sda", "device file"},
		{"fifo", []rawEntry{indexFor(t, nil, nil), {hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "figures/p"}}}, small, "figures/p", "named pipe"},
		{"directory", []rawEntry{indexFor(t, nil, nil), {hdr: tar.Header{Typeflag: tar.TypeDir, Name: "figures/", Mode: 0o755}}}, small, "figures/", "directory entry"},
		{"duplicate", append(withIndex(toml), toml), small, "pipeline.toml", "appears twice"},
		{"duplicate index", append(withIndex(toml), indexFor(t, nil, nil)), small, IndexName, "appears twice"},
		{"not in index", append(withIndex(toml), regular("paper/extra.md", []byte("x"))), small, "paper/extra.md", "not listed in the index"},
		{"index not first", []rawEntry{toml, indexFor(t, []rawEntry{toml}, nil)}, small, "pipeline.toml", "must be the index"},
		{"out of order", []rawEntry{indexFor(t, []rawEntry{toml, regular("paper/a", nil)}, nil), regular("paper/a", nil), toml}, small, "paper/a", "out of order"},
		{"missing member", []rawEntry{indexFor(t, []rawEntry{toml}, nil)}, small, "pipeline.toml", "missing"},
		{"size differs from index", []rawEntry{indexFor(t, []rawEntry{toml}, func(i *Index) { i.Members[0].Size = 5 }), toml}, small, "pipeline.toml", "tar header says 1 bytes, the index 5"},
		{"member over the size limit", withIndex(regular("paper/big", make([]byte, 1001))), small, IndexName, "member size limit"},
		{"total over the limit", withIndex(regular("paper/a", make([]byte, 1000)), regular("paper/b", make([]byte, 1000)), regular("paper/c", make([]byte, 1000))), small, IndexName, "members total more than"},
		{"too many members", withIndex(regular("paper/a", nil), regular("paper/b", nil), regular("paper/c", nil), regular("paper/d", nil)), small, IndexName, "over the limit of 4"},
		{"index over its limit", []rawEntry{regular(IndexName, make([]byte, 2000))}, Limits{MaxMembers: 10, MaxMemberSize: 1 << 20, MaxTotalSize: 1 << 20, MaxIndexSize: 1000}, IndexName, "over the limit"},
		{"bad index path", []rawEntry{indexFor(t, nil, func(i *Index) {
			i.Members = []Member{{Path: "../x", SHA256: id.HexSum(nil)}}
		})}, small, IndexName, `".." component`},
		{"unknown index field", []rawEntry{regular(IndexName, []byte(`{"format":"bfc-bundle/1","evil":1}`))}, small, IndexName, "unknown field"},
		{"other format", []rawEntry{indexFor(t, nil, func(i *Index) { i.Format = "bfc-bundle/9" })}, small, IndexName, "format"},
		{"malformed point key", []rawEntry{editedIndex(t, withPoint, `"key":"`+pointKey, `"key":"../../etc/passwd`)}, small, IndexName, `stage key "../../etc/passwd" is not a SHA-256`},
		{"missing point key", []rawEntry{editedIndex(t, withPoint, `"key":"`+pointKey+`",`, ``)}, small, IndexName, "without kind and key"},
		{"malformed root", []rawEntry{indexFor(t, nil, func(i *Index) { i.Root = "XYZ" })}, small, IndexName, "merkle root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			src := filepath.Join(parent, "b.tar.zst")
			if err := os.WriteFile(src, rawBundle(t, tc.entries...), 0o644); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(parent, "into")
			_, _, err := Extract(src, dst, tc.lim)
			var be *Error
			if !errors.As(err, &be) || be.Member != tc.member || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want an *Error on %q containing %q", err, tc.member, tc.want)
			}
			assertOnly(t, parent, "b.tar.zst", "into")
			filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type()&fs.ModeType != 0 && !d.IsDir() {
					t.Errorf("extraction created %s of type %v", p, d.Type())
				}
				return nil
			})
		})
	}
}

// pointKey is the key of the point withPoint adds to an index.
var pointKey = id.Key{1}.String()

func withPoint(i *Index) { i.Points = []Point{{Point: "a", Stage: "a", Kind: "src", Key: id.Key{1}}} }

// editedIndex is an index (see indexFor) whose JSON has from replaced by to,
// as someone editing the file by hand would.
func editedIndex(t testing.TB, edit func(*Index), from, to string) rawEntry {
	e := indexFor(t, nil, edit)
	if !bytes.Contains(e.data, []byte(from)) {
		t.Fatalf("index %s does not contain %s", e.data, from)
	}
	return regular(IndexName, bytes.Replace(e.data, []byte(from), []byte(to), 1))
}

// assertOnly checks that dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}

func TestDecompressionBombsStopEarly(t *testing.T) {
	toml := regular("pipeline.toml", []byte("x"))
	zeros := make([]byte, 64<<20)
	// A tar member that is all zeros, declared as such in the index.
	big := regular("paper/zeros", zeros)

	lim := DefaultLimits()
	lim.MaxTotalSize = 16 << 20
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"64 MiB of zeros after the archive, in 1 MiB frames", rawBundleExtra(t, func(fw *frameWriter) {
			fw.Write(zeros)
			fw.cut()
		}, indexFor(t, []rawEntry{toml}, nil), toml), "decompression bomb"},
		{"64 MiB of zeros after the archive in one frame", rawBundleExtra(t, func(fw *frameWriter) {
			fw.enc.Write(zeros)
			fw.n = 1
			fw.cut()
		}, indexFor(t, []rawEntry{toml}, nil), toml), "decompression bomb"},
		{"declared but over the total limit", rawBundle(t, indexFor(t, []rawEntry{big}, nil), big), "members total more than"},
		{"many tiny frames", rawBundleExtra(t, func(fw *frameWriter) {
			for range 100 {
				fw.Write([]byte{0})
				fw.cut()
			}
		}, indexFor(t, []rawEntry{toml}, nil), toml), "more zstd frames than the index allows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("%d compressed bytes", len(tc.data))
			_, _, err := readMem(tc.data, lim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDamagedStreamsAreRejected(t *testing.T) {
	toml := regular("pipeline.toml", []byte("x"))
	honest := rawBundle(t, indexFor(t, []rawEntry{toml}, nil), toml)
	// A frame without checksum, written by a plain encoder.
	var nocrc bytes.Buffer
	tw := tar.NewWriter(&nocrc)
	for _, e := range []rawEntry{indexFor(t, []rawEntry{toml}, nil), toml} {
		h := e.hdr
		tw.WriteHeader(&h)
		tw.Write(e.data)
	}
	tw.Close()
	plain := zstdNoCRC(t, nocrc.Bytes())
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "empty file"},
		{"not zstd", []byte("PK\x03\x04 a zip file"), "not a zstd frame"},
		{"truncated", honest[:len(honest)-3], "unexpected EOF"},
		{"garbage after the end", append(slices.Clone(honest), 0x28, 0xb5), "data after the frame index"},
		{"frame without checksum", plain, "without content checksum"},
		{"other skippable frame", append([]byte{0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0}, honest...), "not bfc's frame index"},
		{"no frame index", honest[:bytes.LastIndex(honest, []byte{0x5b, 0x2a, 0x4d, 0x18})], "without its frame index"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readMem(tc.data, DefaultLimits())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestExtractRefusesANonEmptyDirectory(t *testing.T) {
	f := newBundleFixture(t, OutputsAll)
	src := filepath.Join(t.TempDir(), "b.tar.zst")
	os.WriteFile(src, f.write(t), 0o644)
	dst := t.TempDir()
	os.Symlink("/etc", filepath.Join(dst, "figures"))
	if _, _, err := Extract(src, dst, DefaultLimits()); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("extract into a non-empty directory: %v", err)
	}
}

// --- verification -------------------------------------------------------------

func TestVerifyNamesWhatDoesNotMatch(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(t *testing.T, f *bundleFixture)
		member func(f *bundleFixture) string
		want   string
	}{
		{"figure differs from its output", func(t *testing.T, f *bundleFixture) {
			f.files[3].Data = []byte("<svg>edited</svg>")
		}, func(*bundleFixture) string { return "figures/f.svg" }, "differs from what fig published"},
		{"figure without origin", func(t *testing.T, f *bundleFixture) {
			f.files[3].Origin = nil
		}, func(*bundleFixture) string { return "figures/f.svg" }, "not published by any point"},
		{"origin names another output", func(t *testing.T, f *bundleFixture) {
			f.files[3].Origin = &Origin{Point: "rep", Key: f.idx.Points[2].Key, Output: "publish.paper.macros.tex"}
		}, func(*bundleFixture) string { return "figures/f.svg" }, "publishes paper/macros.tex, not this file"},
		{"figure data table missing", func(t *testing.T, f *bundleFixture) {
			d, _ := f.fig.Output("data")
			f.files = slices.DeleteFunc(f.files, func(b File) bool { return b.Path == ObjectMember(d.File) })
		}, func(f *bundleFixture) string { d, _ := f.fig.Output("data"); return ObjectMember(d.File) }, "not in the bundle"},
		{"manifest key does not recompute", func(t *testing.T, f *bundleFixture) {
			b, _ := os.ReadFile(f.st.ManifestPath(f.src.Key))
			b = bytes.Replace(b, []byte(`"value": "1"`), []byte(`"value": "9"`), 1)
			setFile(f, ManifestMember(f.src.Key), b)
		}, func(f *bundleFixture) string { return ManifestMember(f.src.Key) }, "hash does not match its value"},
		{"output data hash differs", func(t *testing.T, f *bundleFixture) {
			m := *f.src
			m.Outputs = slices.Clone(m.Outputs)
			m.Outputs[0].Data = id.DataOf([]byte("other"))
			b, _ := json.Marshal(m)
			setFile(f, ManifestMember(f.src.Key), b)
		}, func(f *bundleFixture) string { return ObjectMember(f.src.Outputs[0].File) }, "its table hashes to data"},
		{"object under a wrong name", func(t *testing.T, f *bundleFixture) {
			i := slices.IndexFunc(f.files, func(b File) bool { return b.Path == ObjectMember(f.src.Outputs[0].File) })
			f.files[i].Path = ObjectMember(id.ObjectOf([]byte("x")))
		}, func(f *bundleFixture) string { return ObjectMember(id.ObjectOf([]byte("x"))) }, "not to its name"},
		{"object not named by a hash", func(t *testing.T, f *bundleFixture) {
			i := slices.IndexFunc(f.files, func(b File) bool { return b.Path == ObjectMember(f.src.Outputs[0].File) })
			f.files[i].Path = "objects/" + strings.ToUpper(f.src.Outputs[0].File.String()) + ".arrow"
		}, func(f *bundleFixture) string {
			return "objects/" + strings.ToUpper(f.src.Outputs[0].File.String()) + ".arrow"
		}, "not named objects/HASH.arrow"},
		{"manifest not named by a key", func(t *testing.T, f *bundleFixture) {
			f.files = append(f.files, File{Path: "manifests/not-a-key.json", Data: []byte("{}")})
		}, func(f *bundleFixture) string { return "manifests/not-a-key.json" }, "not named manifests/KEY.json"},
		{"stray manifest", func(t *testing.T, f *bundleFixture) {
			f.idx.Points = f.idx.Points[1:]
			f.idx.Points[0].Inputs = nil
		}, func(f *bundleFixture) string { return ManifestMember(f.src.Key) }, "not the manifest of any point"},
		{"point without manifest", func(t *testing.T, f *bundleFixture) {
			f.files = slices.DeleteFunc(f.files, func(b File) bool { return b.Path == ManifestMember(f.src.Key) })
		}, func(f *bundleFixture) string { return ManifestMember(f.src.Key) }, "the manifest of point src is not in the bundle"},
		{"build info missing", func(t *testing.T, f *bundleFixture) {
			f.files = slices.DeleteFunc(f.files, func(b File) bool { return b.Path == "build.json" })
		}, func(f *bundleFixture) string { return "build.json" }, "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newBundleFixture(t, OutputsAll)
			tc.edit(t, f)
			_, problems, err := readMem(f.write(t), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			want := tc.member(f)
			for _, p := range problems {
				if p.Path == want && strings.Contains(p.What, tc.want) {
					return
				}
			}
			t.Fatalf("problems %v; want one on %s containing %q", problems, want, tc.want)
		})
	}
}

func setFile(f *bundleFixture, path string, data []byte) {
	for i := range f.files {
		if f.files[i].Path == path {
			f.files[i].Data, f.files[i].File = data, ""
		}
	}
}

func TestVerifyCatchesAnEditedIndex(t *testing.T) {
	// Someone edits the index and recompresses: the root no longer
	// matches; changing a listed hash instead is a member mismatch.
	f := newBundleFixture(t, OutputsAll)
	toml := []byte("[pipeline]\nname = \"test\"\n")
	var entries []rawEntry
	idx := *f.idx
	Write(io.Discard, &idx, f.files)
	for _, m := range idx.Members {
		var data []byte
		for _, bf := range f.files {
			if bf.Path == m.Path {
				if bf.Data != nil {
					data = bf.Data
				} else {
					data, _ = os.ReadFile(bf.File)
				}
			}
		}
		entries = append(entries, regular(m.Path, data))
	}
	for _, tc := range []struct {
		name   string
		edit   func(*Index)
		member string
		want   string
	}{
		{"root", func(i *Index) { i.Root = id.HexSum([]byte("forged")) }, IndexName, "merkle root"},
		{"listed hash", func(i *Index) { i.Members[0].SHA256 = id.HexSum([]byte("forged")) }, "pipeline.toml", "content hashes to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := idx
			ix.Members = slices.Clone(idx.Members)
			tc.edit(&ix)
			ib, _ := json.Marshal(ix)
			_, problems, err := readMem(rawBundle(t, append([]rawEntry{regular(IndexName, ib)}, entries...)...), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				if p.Path == tc.member && strings.Contains(p.What, tc.want) {
					return
				}
			}
			t.Fatalf("problems %v; want one on %s containing %q", problems, tc.member, tc.want)
		})
	}
	_ = toml
}

func TestCompareTables(t *testing.T) {
	a := bundleTable(t, bundleCol{name: "series", str: []string{"s", "s", "t"}}, bundleCol{name: "y", f64: []float64{1, 2, 4}}, bundleCol{name: "only_a", f64: []float64{0, 0, 0}})
	b := bundleTable(t, bundleCol{name: "series", str: []string{"s", "s", "t"}}, bundleCol{name: "y", f64: []float64{1, 2.5, -4}})
	defer a.Release()
	defer b.Release()
	d := CompareTables(a, b)
	if d.Equal() || len(d.OnlyA) != 1 || len(d.OnlyB) != 0 {
		t.Fatalf("diff %+v", d)
	}
	y := d.Columns[1]
	// |2-2.5| = 0.5, rel 0.5/2.5 = 0.2; |4-(-4)| = 8, rel 8/4 = 2.
	if y.Differ != 2 || y.Compared != 3 || y.MaxAbs != 8 || y.MaxRel != 2 {
		t.Fatalf("y: %+v", y)
	}
	if d.Columns[0].Differ != 0 {
		t.Fatalf("series: %+v", d.Columns[0])
	}
	if len(d.Series) != 2 || d.Series[0].Group != "s" || d.Series[0].MaxAbs != 0.5 || d.Series[1].Group != "t" || d.Series[1].MaxRel != 2 {
		t.Fatalf("per series: %+v", d.Series)
	}
	if same := CompareTables(a, a); !same.Equal() || len(same.Series) != 0 {
		t.Fatalf("a table differs from itself: %+v", same)
	}
	nan := bundleTable(t, bundleCol{name: "y", f64: []float64{0, 0, 0}})
	nan2 := bundleTable(t, bundleCol{name: "y", f64: []float64{0, 0, 0}})
	defer nan.Release()
	defer nan2.Release()
	// NaN = NaN; NaN vs a number is a non-finite mismatch.
	nan.Column(0).(*array.Float64).Float64Values()[0] = mathNaN()
	nan2.Column(0).(*array.Float64).Float64Values()[0] = mathNaN()
	nan2.Column(0).(*array.Float64).Float64Values()[1] = mathNaN()
	c := CompareTables(nan, nan2).Columns[0]
	if c.Differ != 1 || c.NonFinite != 1 || c.MaxAbs != 0 {
		t.Fatalf("NaN handling: %+v", c)
	}
}

func zstdNoCRC(t testing.TB, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(false))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

func mathNaN() float64 { return math.NaN() }

// benchFiles are 8 members of 2 MiB each: float64 values of a random
// walk, about as compressible as training histories and weights.
func benchFiles() ([]File, int64) {
	var files []File
	var total int64
	x := 0.0
	state := uint64(1)
	for i := range 8 {
		b := make([]byte, 2<<20)
		for j := 0; j < len(b); j += 8 {
			state = state*6364136223846793005 + 1442695040888963407
			x += float64(int64(state>>11))/float64(1<<53) - 0.5
			binary.LittleEndian.PutUint64(b[j:], math.Float64bits(x))
		}
		files = append(files, File{Path: fmt.Sprintf("paper/data%d.bin", i), Data: b})
		total += int64(len(b))
	}
	return files, total
}

func BenchmarkWriteBundle(b *testing.B) {
	files, total := benchFiles()
	b.SetBytes(total)
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		idx := &Index{Created: "2026-01-02T03:04:05Z", Outputs: OutputsAll}
		if _, err := Write(&buf, idx, files); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size)/float64(total), "compressed/raw")
}

func BenchmarkReadBundle(b *testing.B) {
	files, total := benchFiles()
	var buf bytes.Buffer
	if _, err := Write(&buf, &Index{Created: "2026-01-02T03:04:05Z", Outputs: OutputsAll}, files); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total)
	for b.Loop() {
		if _, problems, err := Read(bytes.NewReader(buf.Bytes()), DefaultLimits(), discardSink{}); err != nil || len(problems) > 0 {
			b.Fatal(err, problems)
		}
	}
}

type discardSink struct{}

func (discardSink) Begin(*Index) error { return nil }
func (discardSink) Put(_ Member, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (discardSink) Drop(string) error { return nil }

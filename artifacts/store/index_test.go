package store

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bfc-repro/bfc/artifacts/id"
)

// indexStore opens dir with a fresh in-memory state (as the next command
// would) and collects its warnings.
func indexStore(t *testing.T, dir string) (*Store, *[]string) {
	t.Helper()
	s, err := Open(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	var warns []string
	s.Warn = func(m string) { warns = append(warns, m) }
	return s, &warns
}

// reads returns how many manifest and ref files s has read.
func reads(s *Store) int {
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	return s.index.fileReads
}

// TestIndexServesUnchangedFilesAndRereadsChangedOnes checks that a saved
// index answers for unchanged manifests and refs without reading their
// files, with the same values, and that every change bfc or a person can
// make to those files is seen: a manifest replaced or removed, a ref
// written by another process, a damaged index.
func TestIndexServesUnchangedFilesAndRereadsChangedOnes(t *testing.T) {
	defer func(d time.Duration) { checkedMinAge = d }(checkedMinAge)
	checkedMinAge = 0
	dir := t.TempDir()
	s, _ := indexStore(t, dir)
	m := testManifest(t, s)
	m.Probes = []ProbeRef{{Name: "p[n=1]", Key: id.Key{7}}}
	m.Run = RunRecord{Start: "2026-12-04T00:00:00Z", WallSeconds: 1.5, Host: "h", Notes: map[string]string{"b": "2", "a": "1"}}
	if err := s.PutManifest(m); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRef("smoke", "a[seed=1]", m.Key); err != nil {
		t.Fatal(err)
	}
	want, err := s.readManifest(m.Key)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(t *testing.T, s *Store) {
		t.Helper()
		got, err := s.Manifest(m.Key)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("manifest from the index\n%+v\nwant\n%+v", got, want)
		}
		r, err := s.GetRef("smoke", "a[seed=1]")
		if err != nil || r.Key != m.Key {
			t.Fatalf("ref %+v, %v; want key %s", r, err, m.Key.Short())
		}
		if _, err := s.GetRef("smoke", "a[seed=2]"); err != ErrNotFound {
			t.Fatalf("missing ref: %v, want ErrNotFound", err)
		}
	}
	// The first reader builds the index and saves it.
	s1, _ := indexStore(t, dir)
	lookup(t, s1)
	if err := s1.SaveIndex(); err != nil {
		t.Fatal(err)
	}
	// The next reads nothing but the index.
	s2, warns := indexStore(t, dir)
	lookup(t, s2)
	if n := reads(s2); n != 0 || len(*warns) > 0 {
		t.Fatalf("unchanged store: %d files read, warnings %q; want none", n, *warns)
	}
	// A caller changing its copy changes nothing stored.
	got, _ := s2.Manifest(m.Key)
	got.Outputs[0].Rows, got.Run.Notes["a"] = 99, "x"
	lookup(t, s2)

	cases := []struct {
		name    string
		change  func(t *testing.T)
		check   func(t *testing.T, s *Store)
		warning string
	}{
		{"manifest replaced", func(t *testing.T) {
			m2 := *m
			m2.Run.Host = "other"
			os.Remove(s.ManifestPath(m.Key))
			if err := s.PutManifest(&m2); err != nil {
				t.Fatal(err)
			}
			want.Run.Host = "other"
		}, nil, ""},
		{"ref written by another process", func(t *testing.T) {
			other, _ := indexStore(t, dir)
			if err := other.SetRef("smoke", "b", id.Key{9}); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, s *Store) {
			if r, err := s.GetRef("smoke", "b"); err != nil || r.Key != (id.Key{9}) {
				t.Fatalf("new ref: %+v, %v", r, err)
			}
		}, ""},
		{"flipped byte in the index", func(t *testing.T) { flip(t, s.indexPath(), 0.6) }, nil, "damaged"},
		{"truncated index", func(t *testing.T) {
			b, _ := os.ReadFile(s.indexPath())
			os.WriteFile(s.indexPath(), b[:len(b)/2], 0o644)
		}, nil, "damaged"},
		{"index of another version", func(t *testing.T) { flip(t, s.indexPath(), 0) }, nil, "damaged"},
		{"manifest removed", func(t *testing.T) { os.Remove(s.ManifestPath(m.Key)) }, func(t *testing.T, s *Store) {
			if _, err := s.Manifest(m.Key); err == nil || !strings.Contains(err.Error(), ErrNotFound.Error()) {
				t.Fatalf("removed manifest: %v, want not found", err)
			}
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.change(t)
			s3, warns := indexStore(t, dir)
			if c.check != nil {
				c.check(t, s3)
			} else {
				lookup(t, s3)
				if reads(s3) == 0 && c.warning == "" {
					t.Fatal("the changed file was not read")
				}
			}
			if got := strings.Join(*warns, "\n"); c.warning == "" && got != "" || !strings.Contains(got, c.warning) {
				t.Fatalf("warnings %q, want one containing %q", got, c.warning)
			}
			if err := s3.SaveIndex(); err != nil {
				t.Fatal(err)
			}
			// Rebuilt: the next reader trusts it again.
			s4, warns := indexStore(t, dir)
			if c.check != nil {
				c.check(t, s4)
			} else {
				lookup(t, s4)
			}
			if n := reads(s4); n != 0 || len(*warns) > 0 {
				t.Fatalf("after the rebuild: %d files read, warnings %q", n, *warns)
			}
		})
	}
}

// flip flips a byte of the file at the fraction at of its length.
func flip(t *testing.T, path string, at float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[int(at*float64(len(b)-1))] ^= 0x20
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecodeIndex checks that no index content, even with a correct
// checksum, makes the decoder panic or hand out a manifest it cannot
// decode.
func FuzzDecodeIndex(f *testing.F) {
	defer func(d time.Duration) { checkedMinAge = d }(checkedMinAge)
	checkedMinAge = 0
	s, _ := Open(f.TempDir(), true)
	m := testManifest(f, s)
	s.PutManifest(m)
	s.SetRef("", "a", m.Key)
	s2, _ := Open(s.Dir, false)
	s2.Manifest(m.Key)
	s2.GetRef("", "a")
	s2.SaveIndex()
	b, _ := os.ReadFile(s.indexPath())
	f.Add(b[len(indexMagic) : len(b)-sha256.Size])
	f.Fuzz(func(t *testing.T, body []byte) {
		b := append([]byte(indexMagic), body...)
		sum := sha256.Sum256(b)
		ix := &index{}
		if err := ix.decodeFile(append(b, sum[:]...)); err != nil {
			return
		}
		for _, e := range ix.man {
			ix.decodeEntry(e)
		}
		ix.encodeFile()
	})
}

// TestPublishedFilesAreTrustedOnlyUnchanged checks that a published file
// is known to hold its object's data only while it is unchanged, and that
// this survives the index being saved and read.
func TestPublishedFilesAreTrustedOnlyUnchanged(t *testing.T) {
	defer func(d time.Duration) { checkedMinAge = d }(checkedMinAge)
	checkedMinAge = 0
	dir := t.TempDir()
	s, _ := indexStore(t, dir)
	o := id.ObjectOf([]byte("figure object"))
	fig := dir + "/fig.svg"
	os.WriteFile(fig, []byte("<svg/>"), 0o644)
	if _, ok := s.Published(o, "figures"); ok {
		t.Fatal("a file never noted is published")
	}
	s.NotePublished(o, "figures", fig)
	if p, ok := s.Published(o, "figures"); !ok || p != fig {
		t.Fatalf("noted file: %q, %v", p, ok)
	}
	if _, ok := s.Published(o, "other dirs"); ok {
		t.Fatal("published under other directories")
	}
	s.SaveIndex()
	s2, _ := indexStore(t, dir)
	if _, ok := s2.Published(o, "figures"); !ok {
		t.Fatal("not published after the index was saved and read")
	}
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(fig, []byte("<svg>edited</svg>"), 0o644)
	if _, ok := s2.Published(o, "figures"); ok {
		t.Fatal("an edited file is still taken to hold the object's data")
	}
}

// TestRefFileNamesAreUnchanged checks refFile against the definition the
// existing stores' ref files were named by (fmt's "%%%02x" per escaped
// rune): a different name would lose every ref.
func TestRefFileNamesAreUnchanged(t *testing.T) {
	old := func(point string) string {
		var b strings.Builder
		for _, r := range point {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.' && b.Len() > 0:
				b.WriteRune(r)
			default:
				fmt.Fprintf(&b, "%%%02x", r)
			}
		}
		name := b.String()
		if len(name) > 200 {
			name = name[:120] + "~" + id.HexSum([]byte(point))[:16]
		}
		return name + ".json"
	}
	for _, p := range []string{"a", "E5_kernel[d=8,method=krr_poly,n=128,seed=1]", ".hidden", "a.b", "x[\t\n]", "ü€\u2028", strings.Repeat("E5[d=1]", 40), ""} {
		if got, want := refFile(p), old(p); got != want {
			t.Errorf("refFile(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestCheckedLinesParse checks the checked cache's line parser on what
// SaveChecked writes and on lines it must skip.
func TestCheckedLinesParse(t *testing.T) {
	o := id.ObjectOf([]byte("x"))
	f := fileID{dev: 2049, ino: 123456, size: 1450, mtimeNs: 1764800000123456789, ctimeNs: -5}
	good := o.String() + " " + f.String()
	if got, gf, ok := parseCheckedLine([]byte(good)); !ok || got != o || gf != f {
		t.Fatalf("parse %q = %v %v %v", good, got, gf, ok)
	}
	for _, bad := range []string{"", o.String(), good + " 7", strings.Replace(good, " ", "  ", 1), good[:len(good)-1] + "x",
		"zz" + good[2:], strings.Replace(good, "2049", "", 1), o.String() + " 1 2 3 4"} {
		if _, _, ok := parseCheckedLine([]byte(bad)); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}

// TestPathsAreJoined checks the store's hand-built paths against
// filepath.Join.
func TestPathsAreJoined(t *testing.T) {
	o, k := id.ObjectOf([]byte("o")), id.Key{1, 2, 3}
	for _, dir := range []string{"/tmp/s/.bfc", "/"} {
		s := &Store{Dir: dir}
		if got, want := s.ObjectPath(o), filepath.Join(dir, "objects", o.String()[:2], o.String()+".arrow"); got != want {
			t.Errorf("ObjectPath = %q, want %q", got, want)
		}
		if got, want := s.ManifestPath(k), filepath.Join(dir, "keys", k.String()[:2], k.String()+".json"); got != want {
			t.Errorf("ManifestPath = %q, want %q", got, want)
		}
	}
}

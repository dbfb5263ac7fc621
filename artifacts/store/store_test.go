package store

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/bfc-repro/bfc/artifacts/id"
)

func testRecord(t testing.TB) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64},
	}, nil))
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{0.5, 1.5, -2}, nil)
	return b.NewRecord()
}

func testManifest(t testing.TB, s *Store) *Manifest {
	t.Helper()
	rec := testRecord(t)
	defer rec.Release()
	full, err := EncodeTable(rec, map[string]string{"bfc.key": "k"})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := EncodeTable(rec, nil)
	h, err := s.PutObject(full)
	if err != nil {
		t.Fatal(err)
	}
	cs := []Component{NewComponent("kind", "src"), NewComponent("param:n", "3")}
	key, err := KeyOf(cs)
	if err != nil {
		t.Fatal(err)
	}
	return &Manifest{Format: FormatVersion, Key: key, Kind: "src", Stage: "a", Components: cs,
		Outputs: []Output{{Name: "values", File: h, Data: id.DataOf(plain), Size: int64(len(full)), Rows: 3}}}
}

func TestEncodeIsDeterministicAndRoundTrips(t *testing.T) {
	rec := testRecord(t)
	defer rec.Release()
	a, _ := EncodeTable(rec, map[string]string{"b": "2", "a": "1"})
	b, _ := EncodeTable(rec, map[string]string{"a": "1", "b": "2"})
	if string(a) != string(b) {
		t.Fatal("same table and metadata encode to different bytes")
	}
	plain, _ := EncodeTable(rec, nil)
	if string(plain) == string(a) {
		t.Fatal("metadata does not change the file bytes")
	}
	got, meta, err := DecodeTable(a)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if meta["a"] != "1" || got.NumRows() != 3 || !array.RecordEqual(got, rec) {
		t.Fatalf("round trip: meta %v rows %d", meta, got.NumRows())
	}
}

func TestTruncatedOrAlteredFilesAreErrors(t *testing.T) {
	rec := testRecord(t)
	defer rec.Release()
	full, _ := EncodeTable(rec, nil)
	for _, n := range []int{0, 8, len(full) / 2, len(full) - 1} {
		if r, _, err := DecodeTable(full[:n]); err == nil {
			r.Release()
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
	s, _ := Open(t.TempDir(), true)
	h, _ := s.PutObject(full)
	p := s.ObjectPath(h)
	os.Chmod(p, 0o644)
	alt := append([]byte(nil), full...)
	alt[len(alt)/3] ^= 0x40
	os.WriteFile(p, alt, 0o444)
	var ce *CorruptError
	if _, err := s.ReadObject(h); err == nil || !asCorrupt(err, &ce) || ce.Path != p {
		t.Fatalf("altered object read: %v", err)
	}
}

func asCorrupt(err error, ce **CorruptError) bool {
	c, ok := err.(*CorruptError)
	*ce = c
	return ok
}

func TestObjectsAreReadOnlyAndIdempotent(t *testing.T) {
	s, _ := Open(t.TempDir(), true)
	h1, err := s.PutObject([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := s.PutObject([]byte("hello"))
	fi, _ := os.Stat(s.ObjectPath(h1))
	if h1 != h2 || fi.Mode().Perm() != 0o444 {
		t.Fatalf("hashes %s %s, mode %v", h1, h2, fi.Mode())
	}
	ents, _ := os.ReadDir(filepath.Join(s.Dir, "tmp"))
	if len(ents) != 0 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
}

func TestManifestValidation(t *testing.T) {
	s, _ := Open(t.TempDir(), true)
	m := testManifest(t, s)
	if err := s.PutManifest(m); err != nil {
		t.Fatal(err)
	}
	got, err := s.Manifest(m.Key)
	if err != nil || got.Outputs[0].File != m.Outputs[0].File {
		t.Fatalf("read back: %v", err)
	}
	if err := s.CheckOutputs(got); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(m *Manifest){
		"tampered component": func(m *Manifest) { m.Components[1].Value = "4"; m.Components[1].Hash = id.HexSum([]byte("4")) },
		"wrong hash":         func(m *Manifest) { m.Components[1].Value = "4" },
		"duplicate output":   func(m *Manifest) { m.Outputs = append(m.Outputs, m.Outputs[0]) },
		"format":             func(m *Manifest) { m.Format = 99 },
	}
	for name, mutate := range cases {
		c := *m
		c.Components = append([]Component(nil), m.Components...)
		c.Outputs = append([]Output(nil), m.Outputs...)
		mutate(&c)
		b, _ := json.Marshal(&c)
		if _, err := ParseManifest(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParseManifest([]byte(`{"format":1,"extra":true}`)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("unknown field: %v", err)
	}
	// Malformed hashes are errors where the JSON is read.
	good, _ := json.Marshal(m)
	for name, bad := range map[string]string{"key": m.Key.String(), "output file": m.Outputs[0].File.String(), "output data": m.Outputs[0].Data.String()} {
		b := strings.Replace(string(good), `"`+bad+`"`, `"xyz"`, 1)
		if _, err := ParseManifest([]byte(b)); err == nil || !strings.Contains(err.Error(), "not a SHA-256") {
			t.Errorf("malformed %s: %v", name, err)
		}
	}
}

func TestFormatVersionMismatch(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "FORMAT"), []byte("7\n"), 0o644)
	_, err := Open(dir, true)
	if err == nil || !strings.Contains(err.Error(), "layout version 7; this bfc reads version 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestStaleKeyLockIsTakenOverWithAMessage(t *testing.T) {
	s, _ := Open(t.TempDir(), true)
	key := id.Key(id.ObjectOf([]byte("some key")))
	// A process that died holding the lock leaves its owner record; the
	// kernel has released its flock.
	dead := Owner{PID: 1 << 30, Host: ThisProcess("").Host, What: "compute x", Time: "2026-01-01T00:00:00Z"}
	b, _ := json.Marshal(dead)
	os.WriteFile(s.lockBase(key)+".owner", b, 0o644)
	l, took, err := s.LockKey(context.Background(), key, ThisProcess("test"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(took, "pid 1073741824") || !strings.Contains(took, "ended without releasing") {
		t.Fatalf("takeover message %q", took)
	}
	l.Unlock()
	l2, took2, err := s.LockKey(context.Background(), key, ThisProcess("test"), nil)
	if err != nil || took2 != "" {
		t.Fatalf("clean release must not look like a takeover: %q %v", took2, err)
	}
	// While held, a second locker waits and is told who holds it.
	waited := make(chan Owner, 1)
	done := make(chan struct{})
	go func() {
		l3, _, _ := s.LockKey(context.Background(), key, ThisProcess("second"), func(o Owner) { waited <- o })
		l3.Unlock()
		close(done)
	}()
	o := <-waited
	if o.What != "test" {
		t.Fatalf("waiter saw holder %+v", o)
	}
	l2.Unlock()
	<-done
}

func TestGCKeepsLiveAndRemovesTheRest(t *testing.T) {
	s, _ := Open(t.TempDir(), true)
	m := testManifest(t, s)
	s.PutManifest(m)
	orphan, _ := s.PutObject([]byte("orphan"))
	os.WriteFile(filepath.Join(s.Dir, "tmp", "x.tmp"), []byte("partial"), 0o644)
	rep, err := s.GC(map[id.Key]bool{m.Key: true}, func(Ref) bool { return true }, true)
	if err != nil || len(rep.Objects) != 1 || len(rep.Other) != 1 {
		t.Fatalf("dry run: %+v %v", rep, err)
	}
	if _, err := os.Stat(s.ObjectPath(orphan)); err != nil {
		t.Fatal("dry run removed a file")
	}
	s.GC(map[id.Key]bool{m.Key: true}, func(Ref) bool { return true }, false)
	if _, err := os.Stat(s.ObjectPath(orphan)); !os.IsNotExist(err) {
		t.Fatal("orphan object kept")
	}
	if err := s.CheckOutputs(m); err != nil {
		t.Fatalf("live output removed: %v", err)
	}
	s.GC(map[id.Key]bool{}, func(Ref) bool { return true }, false)
	if _, err := s.Manifest(m.Key); err == nil {
		t.Fatal("dead manifest kept")
	}
	rep2, _ := s.Verify()
	if len(rep2.Problems) != 0 || rep2.Objects != 0 {
		t.Fatalf("after full gc: %+v", rep2)
	}
}

func FuzzParseManifest(f *testing.F) {
	s, _ := Open(f.TempDir(), true)
	m := testManifest(f, s)
	b, _ := json.Marshal(m)
	f.Add(b)
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"outputs":null}`))
	f.Add([]byte(`{"format":1,"Kind":"x","run":{"notes":{"a":"b","a":"c"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The fast decoder agrees with encoding/json wherever it decodes.
		if fast, ok := fastManifest(b); ok {
			var slow Manifest
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&slow); err != nil || dec.More() {
				t.Fatalf("fastManifest decoded what encoding/json rejects (%v): %q", err, b)
			}
			if !reflect.DeepEqual(*fast, slow) {
				t.Fatalf("fastManifest and encoding/json disagree on %q:\n%+v\n%+v", b, *fast, slow)
			}
		}
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed manifest does not validate: %v", err)
		}
		again, _ := json.Marshal(m)
		if _, err := ParseManifest(again); err != nil {
			t.Fatalf("re-encoded manifest does not parse: %v", err)
		}
	})
}

func FuzzDecodeTable(f *testing.F) {
	rec := testRecord(f)
	full, _ := EncodeTable(rec, map[string]string{"bfc.key": "k"})
	rec.Release()
	f.Add(full)
	f.Add(full[:len(full)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _, err := DecodeTable(b)
		if err == nil {
			r.Release()
		}
	})
}

func TestCheckedCacheNeverHidesAChange(t *testing.T) {
	defer func(d time.Duration) { checkedMinAge = d }(checkedMinAge)
	checkedMinAge = 0
	dir := t.TempDir()
	s, _ := Open(dir, true)
	h, _ := s.PutObject([]byte("some output bytes"))
	if err := s.CheckObjectFast(h); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveChecked(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "checked")); !strings.HasPrefix(string(b), h.String()+" ") {
		t.Fatalf("checked cache does not record the object: %q", b)
	}
	time.Sleep(50 * time.Millisecond) // past the file-time granularity
	p := s.ObjectPath(h)
	os.Chmod(p, 0o644)
	b, _ := os.ReadFile(p)
	b[0] ^= 1
	os.WriteFile(p, b, 0o444) // same size: only the times reveal the change
	s2, _ := Open(dir, false)
	if err := s2.CheckObjectFast(h); err == nil {
		t.Fatal("a changed object passed the cached check")
	}
}

func TestQuarantineKeepsACopyAndFreesTheName(t *testing.T) {
	s, _ := Open(t.TempDir(), true)
	o, err := s.PutObject([]byte("damaged soon"))
	if err != nil {
		t.Fatal(err)
	}
	p := s.ObjectPath(o)
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("damaged now"), 0o444)
	if err := s.Quarantine(o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("the damaged object is still at %s: %v", p, err)
	}
	kept, err := os.ReadFile(filepath.Join(s.Dir, "quarantine", filepath.Base(p)))
	if err != nil || string(kept) != "damaged now" {
		t.Fatalf("quarantine holds %q (%v), want the damaged bytes", kept, err)
	}
	if err := s.Quarantine(o); err != nil {
		t.Fatalf("quarantining a missing object: %v", err)
	}
	if _, err := s.PutObject([]byte("damaged soon")); err != nil || s.CheckObject(o) != nil {
		t.Fatalf("the object cannot be stored again: %v", err)
	}
}

// TestPointsUsing: the points of one profile whose refs name a key, in
// name order; other profiles and keys do not count.
func TestPointsUsing(t *testing.T) {
	s, err := Open(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := id.Key(id.ObjectOf([]byte("one"))), id.Key(id.ObjectOf([]byte("two")))
	for _, r := range []Ref{{"", "b[seed=1]", k1, ""}, {"", "a[L=3,seed=1]", k1, ""}, {"", "c", k2, ""}, {"smoke", "d", k1, ""}} {
		if err := s.SetRef(r.Profile, r.Point, r.Key); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		profile string
		key     id.Key
		want    []string
	}{
		{"", k1, []string{"a[L=3,seed=1]", "b[seed=1]"}},
		{"", k2, []string{"c"}},
		{"smoke", k1, []string{"d"}},
		{"smoke", k2, nil},
		{"other", k1, nil},
	}
	for _, c := range cases {
		got, err := s.PointsUsing(c.profile, c.key)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("PointsUsing(%q, %s) = %v, %v; want %v", c.profile, c.key.Short(), got, err, c.want)
		}
	}
}

package store_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Throughput of the store's hot paths, reported in MB/s (b.SetBytes) so
// that cmd/bfcbench can print GB/s. The files live in the page cache, as
// they do when a no-op run rechecks them, so these are CPU costs
// (SHA-256, Arrow framing and validation), not disk speed.

// trainSplit is a table shaped like a target's train split at the E1 size:
// 20000 rows of x (d = 16), y, g and the hidden features s2, s3 (k = 3),
// 3.8 MB of float64s.
func trainSplit(b *testing.B) arrow.Record {
	b.Helper()
	const n, d, k = 20000, 16, 3
	rng := rand.New(rand.NewPCG(1, 2))
	col := func(size int) []float64 {
		v := make([]float64, size)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	rec, err := kit.NewTable().Matrix("x", n, d, col(n*d)).Float64("y", col(n)).Float64("g", col(n)).
		Matrix("s2", n, k, col(n*k)).Matrix("s3", n, k, col(n*k)).Record()
	if err != nil {
		b.Fatal(err)
	}
	return rec
}

var benchMeta = map[string]string{"bfc.key": "0123456789abcdef", "bfc.kind": "target", "bfc.params": `{"d":16,"k":3}`}

// BenchmarkEncodeTable times store.EncodeTable (Arrow IPC file with
// metadata) of a train split.
func BenchmarkEncodeTable(b *testing.B) {
	rec := trainSplit(b)
	defer rec.Release()
	data, err := store.EncodeTable(rec, benchMeta)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := store.EncodeTable(rec, benchMeta); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeTable times store.DecodeTable (bounds checks of the
// IPC structure, then Arrow's reader and record validation) of a train
// split.
func BenchmarkDecodeTable(b *testing.B) {
	rec := trainSplit(b)
	defer rec.Release()
	data, err := store.EncodeTable(rec, benchMeta)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, meta, err := store.DecodeTable(data)
		if err != nil {
			b.Fatal(err)
		}
		if r.NumRows() != rec.NumRows() || len(meta) != len(benchMeta) {
			b.Fatalf("decoded %d rows and %d metadata keys, want %d and %d", r.NumRows(), len(meta), rec.NumRows(), len(benchMeta))
		}
		r.Release()
	}
}

// putRandom stores count objects of size random bytes and returns their
// hashes.
func putRandom(b *testing.B, s *store.Store, count, size int) []id.Object {
	b.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	hashes := make([]id.Object, count)
	buf := make([]byte, size)
	for i := range hashes {
		for j := 0; j+8 <= len(buf); j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		h, err := s.PutObject(buf)
		if err != nil {
			b.Fatal(err)
		}
		hashes[i] = h
	}
	return hashes
}

// BenchmarkCheckObject times rehashing one 64 MiB object (SHA-256 of the
// file against its name), the check every read and freshness test does.
func BenchmarkCheckObject(b *testing.B) {
	s, err := store.Open(b.TempDir(), true)
	if err != nil {
		b.Fatal(err)
	}
	const size = 64 << 20
	h := putRandom(b, s, 1, size)[0]
	b.SetBytes(size)
	for b.Loop() {
		if err := s.CheckObject(h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify times Store.Verify (`bfc verify`) over 48 objects of
// 2 MiB, 96 MiB in all; Verify hashes objects on every CPU. With
// BFC_VERIFY_MB it verifies that many MiB instead, in BFC_VERIFY_DIR if
// set (a store kept afterwards, to time `bfc verify --store DIR` on the
// same bytes):
//
//	BFC_VERIFY_MB=400 BFC_VERIFY_DIR=/tmp/big go test -run '^$' -bench Verify ./artifacts/store
func BenchmarkVerify(b *testing.B) {
	dir := b.TempDir()
	if d := os.Getenv("BFC_VERIFY_DIR"); d != "" {
		dir = d
	}
	s, err := store.Open(dir, true)
	if err != nil {
		b.Fatal(err)
	}
	count, size := 48, 2<<20
	if mb := os.Getenv("BFC_VERIFY_MB"); mb != "" {
		n, err := strconv.Atoi(mb)
		if err != nil || n < 2 {
			b.Fatalf("BFC_VERIFY_MB=%q: want a number of MiB >= 2", mb)
		}
		count = n / 2
	}
	if have, _ := filepath.Glob(filepath.Join(dir, "objects", "*", "*.arrow")); len(have) != count {
		os.RemoveAll(filepath.Join(dir, "objects"))
		os.MkdirAll(filepath.Join(dir, "objects"), 0o755)
		putRandom(b, s, count, size)
	}
	b.SetBytes(int64(count * size))
	for b.Loop() {
		rep, err := s.Verify()
		if err != nil {
			b.Fatal(err)
		}
		if rep.Objects != count || len(rep.Problems) > 0 {
			b.Fatalf("verified %d objects with problems %v, want %d and none", rep.Objects, rep.Problems, count)
		}
	}
}

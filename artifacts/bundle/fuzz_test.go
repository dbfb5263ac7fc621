package bundle

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/bfc-repro/bfc/artifacts/store"
)

// The seed corpora of these targets are committed under
// testdata/fuzz/FuzzReadBundle and testdata/fuzz/FuzzReadBundleTar:
// honest bundles (all and final outputs) and hostile ones (links, "..",
// devices, duplicates, over-limit sizes, damaged frames).

// fuzzLimits keep each fuzz input cheap.
var fuzzLimits = Limits{MaxMembers: 64, MaxMemberSize: 1 << 20, MaxTotalSize: 4 << 20, MaxIndexSize: 1 << 20}

// checkFuzzRead reads data as a bundle; it must never panic, and a bundle
// it accepts must have a valid index whose members are all present.
func checkFuzzRead(t *testing.T, data []byte) {
	sink := &memSink{}
	idx, problems, err := Read(bytes.NewReader(data), fuzzLimits, sink)
	if err != nil {
		if idx != nil {
			t.Fatal("an error with an index")
		}
		return
	}
	for _, m := range idx.Members {
		if err := ValidPath(m.Path); err != nil {
			t.Fatalf("accepted member %q: %v", m.Path, err)
		}
		if _, ok := sink.fs[m.Path]; !ok && !containsPath(problems, m.Path) {
			t.Fatalf("accepted bundle lacks member %s", m.Path)
		}
	}
	b := newBundle(idx, sink.fs, problems)
	b.Verify()
}

func containsPath(ps []store.Problem, p string) bool {
	for _, q := range ps {
		if q.Path == p {
			return true
		}
	}
	return false
}

func FuzzReadBundle(f *testing.F) {
	for _, outputs := range []string{OutputsAll, OutputsFinal} {
		data := newBundleFixture(f, outputs).write(f)
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return // the mutator grows inputs; big ones test nothing new, slowly
		}
		checkFuzzRead(t, data)
	})
}

// FuzzReadBundleTar fuzzes the tar and index layers: its input is the
// uncompressed tar stream, compressed the way bfc does before reading.
func FuzzReadBundleTar(f *testing.F) {
	data := newBundleFixture(f, OutputsFinal).write(f)
	zr, err := zstd.NewReader(bytes.NewReader(data))
	if err != nil {
		f.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	zr.Close()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(plain)
	f.Fuzz(func(t *testing.T, tarData []byte) {
		if len(tarData) > 256<<10 {
			return // compressing big inputs is slow and tests nothing new
		}
		var buf bytes.Buffer
		fw, err := newFrameWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(tarData)
		fw.close()
		checkFuzzRead(t, buf.Bytes())
	})
}

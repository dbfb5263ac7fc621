package fmnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// The fixture under testdata is a tiny synthetic stand-in for the
// Fashion-MNIST files: fixtureSide x fixtureSide images in which class c is
// a bright bar (classes 0-5 horizontal, 6-9 vertical, each at its own
// position) of random intensity on a noisy background, so that a
// classifier can learn it. Regenerate it with
//
//	go test ./stages/kinds/fmnist -run TestFixtureUpToDate -update
//
// TestFixtureUpToDate fails when the committed files differ from what the
// generator below produces.
var update = flag.Bool("update", false, "rewrite the IDX fixture under testdata")

// Fixture sizes.
const (
	fixtureSide  = 12
	fixtureTrain = 300
	fixtureTest  = 100
)

// idxBytes encodes an unsigned-byte IDX file with the given dimensions.
func idxBytes(dims []int, payload []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, idxUbyte, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(payload)
	return b.Bytes()
}

// gz compresses b with a zero header (no name, no time), so the output
// depends only on b and the compressor.
func gz(b []byte) []byte {
	var out bytes.Buffer
	w, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// fixtureSet returns the uncompressed image and label files of n
// synthetic images drawn from the stream seed.
func fixtureSet(n int, seed uint64) (img, lbl []byte) {
	r := rand.New(rand.NewPCG(seed, 0x6d6e697374))
	s := fixtureSide
	pix := make([]byte, n*s*s)
	labels := make([]byte, n)
	for i := range n {
		c := r.IntN(Classes)
		labels[i] = byte(c)
		im := pix[i*s*s : (i+1)*s*s]
		for j := range im {
			im[j] = byte(r.IntN(70))
		}
		level := 140 + r.IntN(116)
		for t := range s {
			for w := range 2 {
				var row, col int
				if c < 6 {
					row, col = 2*c+w, t
				} else {
					row, col = t, 3*(c-6)+1+w
				}
				im[row*s+col] = byte(level)
			}
		}
	}
	return idxBytes([]int{n, s, s}, pix), idxBytes([]int{n}, labels)
}

// fixtureFiles returns the four uncompressed fixture files by base name.
func fixtureFiles() map[string][]byte {
	trI, trL := fixtureSet(fixtureTrain, 1)
	teI, teL := fixtureSet(fixtureTest, 2)
	return map[string][]byte{TrainImages: trI, TrainLabels: trL, TestImages: teI, TestLabels: teL}
}

func TestFixtureUpToDate(t *testing.T) {
	for name, want := range fixtureFiles() {
		path := filepath.Join("testdata", name+".gz")
		if *update {
			if err := os.WriteFile(path, gz(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (regenerate with -update)", err)
		}
		got, err := gunzipIfNeeded(raw)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output; regenerate with -update", path)
		}
	}
}

// writeFiles writes files (base name -> contents) into a new temporary
// directory, gzipped when compress is set, and returns the directory.
func writeFiles(t *testing.T, files map[string][]byte, compress bool) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		if compress {
			name, b = name+".gz", gz(b)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

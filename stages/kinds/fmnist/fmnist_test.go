package fmnist

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// run runs the kind on dir with extra params and returns its env.
func run(t *testing.T, dir string, extra map[string]any) (*kittest.Env, error) {
	t.Helper()
	raw := map[string]any{"dir": dir}
	for k, v := range extra {
		raw[k] = v
	}
	env := kittest.NewEnv(t, Kind{}, raw, 1)
	return env, Kind{}.Run(env)
}

func mustRun(t *testing.T, dir string, extra map[string]any) (*kittest.Env, *Data) {
	t.Helper()
	env, err := run(t, dir, extra)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(env.AsInput(nil))
	if err != nil {
		t.Fatal(err)
	}
	return env, d
}

func TestFilesAreTheFourIDXFiles(t *testing.T) {
	p, err := kit.Resolve(Kind{}.Params(), map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	got := Kind{}.Files(p)
	want := []string{DefaultDir + "/train-images-idx3-ubyte.gz", DefaultDir + "/train-labels-idx1-ubyte.gz",
		DefaultDir + "/t10k-images-idx3-ubyte.gz", DefaultDir + "/t10k-labels-idx1-ubyte.gz"}
	if !slices.Equal(got, want) {
		t.Fatalf("Files = %v, want %v", got, want)
	}
	p["gzip"] = false
	if f := (Kind{}).Files(p)[0]; f != DefaultDir+"/train-images-idx3-ubyte" {
		t.Fatalf("without gzip: %s", f)
	}
}

// TestFixture checks shapes, labels, class counts and the normalisations
// on the committed fixture. Tolerances: means and variances are sums of
// at most 300*144 terms of size O(1), exact to ~1e-12; 1e-9 is generous.
func TestFixture(t *testing.T) {
	unitEnv, unit := mustRun(t, "testdata", map[string]any{"normalize": "unit"})
	if unit.Train.N != fixtureTrain || unit.Test.N != fixtureTest || unit.Rows != fixtureSide || unit.Cols != fixtureSide {
		t.Fatalf("shape: train %d test %d images %dx%d", unit.Train.N, unit.Test.N, unit.Rows, unit.Cols)
	}
	files := fixtureFiles()
	pix := files[TrainImages][16:]
	for _, j := range []int{0, 17, 143, 5*144 + 77} {
		if got, want := unit.Train.X[j], float64(pix[j])/255; got != want {
			t.Errorf("unit x[%d] = %v, want %v", j, got, want)
		}
	}
	for i, y := range unit.Train.Y {
		if y != int(files[TrainLabels][8+i]) {
			t.Fatalf("label %d: %d, want %d", i, y, files[TrainLabels][8+i])
		}
	}
	classes := unitEnv.Output("classes")
	nTrain, _ := kit.ReadInt64s(classes, "n_train")
	names, _ := kit.ReadStrings(classes, "name")
	var sum int64
	for _, c := range nTrain {
		sum += c
	}
	if sum != fixtureTrain || names[9] != "Ankle boot" {
		t.Fatalf("classes: counts %v sum %d, names %v", nTrain, sum, names)
	}

	_, g := mustRun(t, "testdata", nil)
	mean, sd := moments(g.Train.X)
	if math.Abs(mean) > 1e-9 || math.Abs(sd-1) > 1e-9 {
		t.Errorf("global: train mean %v sd %v, want 0 and 1", mean, sd)
	}
	if m, _ := moments(g.Test.X); math.Abs(m) > 0.2 {
		t.Errorf("global: test mean %v, want near 0 (same distribution)", m)
	}
	// the affine map is the same for every pixel and undoes to the unit values
	if g.Norm.Mean[0] != g.Norm.Mean[100] || math.Abs(g.Train.X[17]*g.Norm.Scale[17]+g.Norm.Mean[17]-unit.Train.X[17]) > 1e-12 {
		t.Errorf("global: norm %v/%v does not map back to unit pixels", g.Norm.Mean[17], g.Norm.Scale[17])
	}

	_, px := mustRun(t, "testdata", map[string]any{"normalize": "pixel"})
	col := make([]float64, px.Train.N)
	for j := range px.Train.D {
		for i := range col {
			col[i] = px.Train.X[i*px.Train.D+j]
		}
		m, s := moments(col)
		if math.Abs(m) > 1e-9 || s > 1+1e-9 || (px.Norm.Scale[j] > pixelSDFloor && math.Abs(s-1) > 1e-9) {
			t.Fatalf("pixel %d: mean %v sd %v (scale %v)", j, m, s, px.Norm.Scale[j])
		}
	}
}

func moments(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)))
}

func TestPoolingAndPrefixes(t *testing.T) {
	_, d := mustRun(t, "testdata", map[string]any{"normalize": "unit", "pool": int64(2), "n_train": int64(7), "n_test": int64(3)})
	if d.Rows != 6 || d.Cols != 6 || d.Train.N != 7 || d.Test.N != 3 || d.Train.D != 36 || d.FileTrain != fixtureTrain {
		t.Fatalf("pooled shape %dx%d, n %d/%d, d %d, file %d", d.Rows, d.Cols, d.Train.N, d.Test.N, d.Train.D, d.FileTrain)
	}
	pix := fixtureFiles()[TestImages][16:]
	// image 2, pooled cell (row 1, col 3) averages pixels (2..3, 6..7)
	s := fixtureSide
	img := pix[2*s*s:]
	want := (float64(img[2*s+6]) + float64(img[2*s+7]) + float64(img[3*s+6]) + float64(img[3*s+7])) / (4 * 255)
	if got := d.Test.X[2*36+1*6+3]; math.Abs(got-want) > 1e-15 {
		t.Fatalf("pooled value %v, want %v", got, want)
	}
	if _, err := run(t, "testdata", map[string]any{"pool": int64(5)}); err == nil || !strings.Contains(err.Error(), "pool 5 does not divide the 12x12 images") {
		t.Fatalf("pool 5: %v", err)
	}
}

func TestUncompressedFilesGiveTheSameData(t *testing.T) {
	dir := writeFiles(t, fixtureFiles(), false)
	a, _ := mustRun(t, "testdata", nil)
	b, _ := mustRun(t, dir, map[string]any{"gzip": false})
	for _, name := range []string{"train", "test", "norm", "summary"} {
		if !recordsEqual(a.Output(name), b.Output(name)) {
			t.Errorf("table %s differs between gzipped and plain files", name)
		}
	}
}

func recordsEqual(a, b arrow.Record) bool { return array.RecordEqual(a, b) }

// TestCorruptFiles feeds one broken file at a time and checks that the
// error names the file and the problem.
func TestCorruptFiles(t *testing.T) {
	good := fixtureFiles()
	cases := []struct {
		name   string
		file   string // the file to replace, and the one the error must name
		mutate func(b []byte) []byte
		param  map[string]any
		want   string
	}{
		{"wrong image magic", TrainImages, func(b []byte) []byte { b[3] = 1; return b }, nil, "wrong magic number 0x00000801, want 0x00000803"},
		{"labels in place of images", TestImages, func([]byte) []byte { return slices.Clone(good[TestLabels]) }, nil, "wrong magic number"},
		{"wrong label type", TrainLabels, func(b []byte) []byte { b[2] = 0x0d; return b }, nil, "wrong magic number 0x00000d01"},
		{"empty", TestLabels, func([]byte) []byte { return nil }, nil, "truncated: 0 bytes"},
		{"truncated header", TrainImages, func(b []byte) []byte { return b[:10] }, nil, "truncated header: 10 bytes, want 16"},
		{"truncated images", TrainImages, func(b []byte) []byte { return b[:len(b)-5] }, nil, "truncated: the header [300 12 12] promises 43200 values, the file holds 43195"},
		{"truncated labels", TestLabels, func(b []byte) []byte { return b[:len(b)-1] }, nil, "truncated: the header [100] promises 100 values"},
		{"trailing bytes", TestImages, func(b []byte) []byte { return append(b, 1, 2, 3) }, nil, "3 bytes after the 14400 values"},
		{"zero dimension", TrainImages, func(b []byte) []byte { copy(b[8:12], []byte{0, 0, 0, 0}); return b }, nil, "dimension 1 is 0"},
		{"label out of range", TrainLabels, func(b []byte) []byte { b[8+4] = 10; return b }, nil, "label 10 of item 4 is outside 0..9"},
		{"label count mismatch", TrainLabels, func([]byte) []byte { return idxBytes([]int{299}, good[TrainLabels][8:8+299]) }, nil,
			"label count mismatch: " + "%DIR%/" + TrainLabels + ".gz has 299 labels, %DIR%/" + TrainImages + ".gz has 300 images"},
		{"test images of another size", TestImages, func([]byte) []byte { return idxBytes([]int{100, 6, 24}, good[TestImages][16:]) }, nil, "holds 12x12 images, %DIR%/" + TestImages + ".gz holds 6x24"},
		{"too many requested", TestImages, func(b []byte) []byte { return b }, map[string]any{"n_test": int64(101)}, "n_test = 101 exceeds the 100 images of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string][]byte{}
			for k, v := range good {
				files[k] = slices.Clone(v)
			}
			files[c.file] = c.mutate(files[c.file])
			dir := writeFiles(t, files, true)
			_, err := run(t, dir, c.param)
			want := strings.ReplaceAll(c.want, "%DIR%", dir)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), filepath.Join(dir, c.file+".gz")) {
				t.Fatalf("error %v\nwant it to contain %q and name %s", err, want, c.file)
			}
		})
	}
	t.Run("not gzip after the gzip magic", func(t *testing.T) {
		dir := writeFiles(t, good, true)
		path := filepath.Join(dir, TrainLabels+".gz")
		if err := os.WriteFile(path, []byte{0x1f, 0x8b, 1, 2, 3, 4, 5}, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := run(t, dir, nil); err == nil || !strings.Contains(err.Error(), "label file "+path+": gzip:") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		dir := writeFiles(t, good, false) // plain names, but gzip=true looks for .gz
		if _, err := run(t, dir, nil); err == nil || !strings.Contains(err.Error(), "read "+filepath.Join(dir, TrainImages+".gz")) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestDeterministic(t *testing.T) {
	a, _ := mustRun(t, "testdata", map[string]any{"normalize": "pixel", "pool": int64(3)})
	b, _ := mustRun(t, "testdata", map[string]any{"normalize": "pixel", "pool": int64(3)})
	for _, name := range a.OutputNames() {
		if !recordsEqual(a.Output(name), b.Output(name)) {
			t.Errorf("table %s differs between two runs", name)
		}
	}
}

// TestDebianPackage reads the real files when dataset-fashion-mnist is
// installed (a prefix only, to stay fast).
func TestDebianPackage(t *testing.T) {
	if _, err := os.Stat(filepath.Join(DefaultDir, TrainImages+".gz")); err != nil {
		t.Skipf("dataset-fashion-mnist not installed: %v", err)
	}
	_, d := mustRun(t, DefaultDir, map[string]any{"n_train": int64(500), "n_test": int64(100), "pool": int64(2)})
	if d.FileTrain != 60000 || d.FileTest != 10000 || d.Rows != 14 || d.Cols != 14 || d.Train.N != 500 {
		t.Fatalf("files hold %d/%d images, pooled %dx%d, n %d", d.FileTrain, d.FileTest, d.Rows, d.Cols, d.Train.N)
	}
	seen := map[int]bool{}
	for _, y := range d.Train.Y {
		seen[y] = true
	}
	if len(seen) != Classes {
		t.Fatalf("the first 500 training images cover %d classes", len(seen))
	}
}

func TestLoadRejectsOtherKinds(t *testing.T) {
	env, _ := mustRun(t, "testdata", map[string]any{"n_train": int64(5)})
	in := env.AsInput(nil)
	if _, err := Load(kindOverride{in, "target"}); err == nil || !strings.Contains(err.Error(), `is a "target" stage`) {
		t.Fatalf("err %v", err)
	}
}

type kindOverride struct {
	kit.Input
	kind string
}

func (k kindOverride) Kind() string { return k.kind }

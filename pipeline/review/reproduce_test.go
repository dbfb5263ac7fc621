package review_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/bundle"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/internal/enginetest"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds/sum"
	"github.com/bfc-repro/bfc/pipeline/review"
	"github.com/bfc-repro/bfc/pipeline/view"
	"github.com/bfc-repro/bfc/stages/kit"
)

const (
	sumPkg       = enginetest.SumPackage
	basePipeline = enginetest.BasePipeline
)

var kinds = enginetest.Kinds

func newFixture(t *testing.T, src string) *enginetest.Fixture { return enginetest.New(t, src) }

// archive runs the fixture's pipeline and writes a bundle of it; it
// returns the bundle file.
func archive(f *enginetest.Fixture, outputs string) string {
	f.T.Helper()
	f.Run("")
	var buf bytes.Buffer
	e := f.Engine("")
	var warnings []string
	res, err := review.Archive(context.Background(), e, &buf, review.ArchiveOptions{Outputs: outputs, Created: "2026-01-02T03:04:05Z",
		Build: bundle.ReadBuildInfo("test"), Machine: bundle.ReadMachineInfo(), Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		f.T.Fatal(err)
	}
	if len(warnings) > 0 {
		f.T.Fatalf("archive warned: %v", warnings)
	}
	pins, _ := e.Store.Pins()
	if i := slices.IndexFunc(pins, func(p store.Pin) bool { return p.Name == res.Pin }); i < 0 || len(pins[i].Keys) != 4 {
		f.T.Fatalf("pins %+v, want %s with 4 keys", pins, res.Pin)
	}
	path := filepath.Join(f.T.TempDir(), "bundle.tar.zst")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		f.T.Fatal(err)
	}
	return path
}

func extract(t *testing.T, path string) *bundle.Bundle {
	t.Helper()
	b, problems, err := bundle.Extract(path, filepath.Join(t.TempDir(), "x"), bundle.DefaultLimits())
	if err != nil || len(problems) > 0 {
		t.Fatalf("extract: %v %v", err, problems)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func reproducer(f *enginetest.Fixture, b *bundle.Bundle, reg graph.Registry) *review.Reproducer {
	f.T.Helper()
	st, cleanup, err := review.ScratchStore(f.T.TempDir())
	if err != nil {
		f.T.Fatal(err)
	}
	f.T.Cleanup(cleanup)
	return &review.Reproducer{Bundle: b, Kinds: reg, Code: f.Code, Store: st, Threads: 2}
}

func ids(pts []bundle.Point) []string {
	var out []string
	for _, p := range pts {
		out = append(out, p.Point)
	}
	return out
}

func TestArchiveVerifiesAndReproducesBitForBit(t *testing.T) {
	f := newFixture(t, basePipeline)
	path := archive(f, bundle.OutputsAll)
	b := extract(t, path)
	if ps := b.Verify(); len(ps) > 0 {
		t.Fatalf("verify: %v", ps)
	}
	if ps, ws := review.CheckBundle(b, kinds, f.Code); len(ps)+len(ws) > 0 {
		t.Fatalf("check: problems %v warnings %v", ps, ws)
	}
	if got, _ := os.ReadFile(filepath.Join(b.Dir, "figures", "sum.txt")); len(got) == 0 {
		t.Fatal("the published figure is not in the bundle")
	}
	r := reproducer(f, b, kinds)
	pts, err := r.Select(nil)
	if err != nil || !slices.Equal(ids(pts), []string{"a[seed=1]", "a[seed=2]", "b", "total"}) {
		t.Fatalf("select: %v %v", ids(pts), err)
	}
	testkinds.Reset()
	for _, p := range pts {
		res := r.Run(context.Background(), p)
		if res.Err != nil || res.Status != review.ReproIdentical || !res.ByFile || !res.CodeSame || res.NewKey != p.Key {
			t.Fatalf("%s: %+v", p.Point, res)
		}
		if len(res.Outputs) == 0 {
			t.Fatalf("%s: no outputs compared", p.Point)
		}
	}
	if testkinds.Runs("src") != 3 || testkinds.Runs("sum") != 1 {
		t.Fatalf("reproduce executed src %d and sum %d times, want 3 and 1", testkinds.Runs("src"), testkinds.Runs("sum"))
	}
}

func TestFinalBundleReproducesWhatItsInputsAllow(t *testing.T) {
	f := newFixture(t, basePipeline)
	b := extract(t, archive(f, bundle.OutputsFinal))
	if ps := b.Verify(); len(ps) > 0 {
		t.Fatalf("verify: %v", ps)
	}
	total, _ := b.Point("total")
	m, _ := b.Manifest(total.Key)
	for _, o := range m.Outputs {
		if !b.HasObject(o.File) {
			t.Fatalf("final output %s not in the bundle", o.Name)
		}
	}
	r := reproducer(f, b, kinds)
	pts, _ := r.Select(nil)
	if !slices.Equal(ids(pts), []string{"a[seed=1]", "a[seed=2]", "b"}) {
		t.Fatalf("reproducible points %v: the sources only (total's inputs are hashes)", ids(pts))
	}
	res := r.Run(context.Background(), total)
	if res.Status != review.ReproFailed || res.Err == nil || !strings.Contains(res.Err.Error(), "is not in the bundle (archived with --outputs final?)") {
		t.Fatalf("reproduce total from a final bundle: %+v", res)
	}
}

func TestReproduceWithOtherCodeComparesData(t *testing.T) {
	f := newFixture(t, basePipeline)
	b := extract(t, archive(f, bundle.OutputsAll))
	f.Code.Bump(sumPkg)
	r := reproducer(f, b, kinds)
	total, _ := b.Point("total")
	res := r.Run(context.Background(), total)
	if res.Err != nil || res.CodeSame || res.ByFile || res.NewKey == total.Key || res.Status != review.ReproIdentical {
		t.Fatalf("%+v", res)
	}
	if len(res.CodeDiff) != 1 || !strings.Contains(res.CodeDiff[0], "code of package "+sumPkg+" changed") {
		t.Fatalf("code diff %v", res.CodeDiff)
	}
	// The declared params still match pipeline.toml, but under other
	// code a mismatch would be a warning only; the same code gives none.
	if ps, ws := review.CheckBundle(b, kinds, f.Code); len(ps)+len(ws) > 0 {
		t.Fatalf("check: %v %v", ps, ws)
	}
}

// shiftedSrc is "src" computing other numbers (another implementation of
// the kind, as after an edit).
type shiftedSrc struct{ testkinds.Src }

func (shiftedSrc) Run(env kit.Env) error {
	v := make([]float64, env.Params().Int("n"))
	for i := range v {
		v[i] = float64(i) + 0.25
	}
	v[0] = 1e-3
	rec, err := kit.NewTable().Float64("v", v).Record()
	if err != nil {
		return err
	}
	return env.Write("values", rec)
}

func TestReproduceReportsHowOutputsDiffer(t *testing.T) {
	f := newFixture(t, basePipeline)
	b := extract(t, archive(f, bundle.OutputsAll))
	r := reproducer(f, b, graph.NewRegistry(shiftedSrc{}, sum.Kind{}))
	p, _ := b.Point("b")
	res := r.Run(context.Background(), p)
	if res.Err != nil || res.Status != review.ReproDifferent || res.ByFile || len(res.Outputs) != 1 {
		t.Fatalf("%+v", res)
	}
	o := res.Outputs[0]
	if o.State != review.OutputChanged || o.Table == nil || o.Table.Equal() {
		t.Fatalf("output %+v", o)
	}
	// Original b: v[i] = i + u_i with u_i in [0, 1); shifted: 0.001, 1.25, 2.25.
	c := o.Table.Columns[0]
	if c.Column != "v" || c.Compared != 3 || c.Differ == 0 || c.MaxAbs <= 0 || c.MaxAbs >= 1 || c.MaxRel <= 0 || c.MaxRel > 1 {
		t.Fatalf("column diff %+v", c)
	}
}

// rewrite writes a new bundle from b's members after edit changes the
// index or member contents.
func rewrite(t *testing.T, b *bundle.Bundle, edit func(idx *bundle.Index, data map[string][]byte)) string {
	t.Helper()
	idx := *b.Index
	idx.Points = slices.Clone(idx.Points)
	data := map[string][]byte{}
	var files []bundle.File
	for _, m := range idx.Members {
		d, err := b.ReadMember(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		data[m.Path] = d
	}
	edit(&idx, data)
	for _, m := range b.Index.Members {
		files = append(files, bundle.File{Path: m.Path, Data: data[m.Path], Origin: m.Origin})
	}
	var buf bytes.Buffer
	if _, err := bundle.Write(&buf, &idx, files); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rewritten.tar.zst")
	os.WriteFile(path, buf.Bytes(), 0o644)
	return path
}

func TestCheckBundleFindsBrokenLineageAndDeclarations(t *testing.T) {
	f := newFixture(t, basePipeline)
	b := extract(t, archive(f, bundle.OutputsAll))
	total, _ := b.Point("total")
	tests := []struct {
		name     string
		edit     func(idx *bundle.Index, data map[string][]byte)
		bump     bool
		problem  string
		warning  string
		wantPath string
	}{
		{"inputs swapped in the index", func(idx *bundle.Index, _ map[string][]byte) {
			for i := range idx.Points {
				if idx.Points[i].Point == "total" {
					in := slices.Clone(idx.Points[i].Inputs)
					in[0], in[1] = in[1], in[0]
					idx.Points[i].Inputs = in
				}
			}
		}, false, "is not the data of its input", "", bundle.ManifestMember(total.Key)},
		{"param edited in pipeline.toml", func(_ *bundle.Index, data map[string][]byte) {
			data["pipeline.toml"] = bytes.Replace(data["pipeline.toml"], []byte("offset = 1.5"), []byte("offset = 2.5"), 1)
		}, false, "param offset 1.5 -> 2.5", "", bundle.ManifestMember(total.Key)},
		{"param edited, other code", func(_ *bundle.Index, data map[string][]byte) {
			data["pipeline.toml"] = bytes.Replace(data["pipeline.toml"], []byte("offset = 1.5"), []byte("offset = 2.5"), 1)
		}, true, "", "code of kind sum differs", bundle.ManifestMember(total.Key)},
		{"stage added to pipeline.toml", func(_ *bundle.Index, data map[string][]byte) {
			data["pipeline.toml"] = append(data["pipeline.toml"], []byte("\n[stage.c]\nkind = \"src\"\n")...)
		}, false, "declares point c, which the index does not list", "", bundle.IndexName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.Code = enginetest.NewFakeCode()
			if tc.bump {
				f.Code.Bump(sumPkg)
			}
			nb := extract(t, rewrite(t, b, tc.edit))
			if ps := nb.Verify(); len(ps) > 0 {
				t.Fatalf("the rewritten bundle does not verify: %v", ps)
			}
			ps, ws := review.CheckBundle(nb, kinds, f.Code)
			find := func(list []store.Problem, want string) bool {
				for _, p := range list {
					if p.Path == tc.wantPath && strings.Contains(p.What, want) {
						return true
					}
				}
				return want == "" && len(list) == 0
			}
			if !find(ps, tc.problem) || !find(ws, tc.warning) {
				t.Fatalf("problems %v\nwarnings %v\nwant problem %q, warning %q on %s", ps, ws, tc.problem, tc.warning, tc.wantPath)
			}
		})
	}
}

func TestDiffSaysWhatChangedAndWhy(t *testing.T) {
	f := newFixture(t, basePipeline)
	a := extract(t, archive(f, bundle.OutputsAll))
	f.Write(strings.Replace(basePipeline, "params = { n = 5, scale = 2.0 }", "params = { n = 5, scale = 2.5 }", 1))
	bb := extract(t, archive(f, bundle.OutputsAll))
	diffs := review.DiffSides(review.Side{Name: "A", Points: a.Index.Points, Src: a}, review.Side{Name: "B", Points: bb.Index.Points, Src: bb})
	got := map[string]review.PointDiff{}
	for _, d := range diffs {
		got[d.Point] = d
	}
	if len(got) != 4 || got["b"].State != review.OutputSame || got["b"].Differs() {
		t.Fatalf("diffs %+v", diffs)
	}
	a1 := got["a[seed=1]"]
	if a1.State != review.OutputChanged || !slices.Equal(a1.Reasons, []string{"param scale 2 -> 2.5"}) {
		t.Fatalf("a[seed=1]: %+v", a1)
	}
	// v[i] = scale*i + u_i: the change is 0.5*i, at most 2 for i = 4, and
	// relative |0.5 i| / (2.5 i + u_i), at most 0.2.
	c := a1.Outputs[0].Table.Columns[0]
	if c.Differ != 4 || c.Compared != 5 || c.MaxAbs < 2-1e-12 || c.MaxAbs > 2+1e-12 || c.MaxRel <= 0 || c.MaxRel > 0.2 {
		t.Fatalf("a[seed=1] values: %+v", c)
	}
	tot := got["total"]
	if tot.State != review.OutputChanged || len(tot.Reasons) != 2 || !strings.Contains(tot.Reasons[0], "upstream src[seed=1] output changed (values)") {
		t.Fatalf("total: %+v", tot)
	}
	var fig review.OutputDiff
	for _, o := range tot.Outputs {
		if o.Name == "publish.figures.sum.txt" {
			fig = o
		}
	}
	if fig.State != review.OutputChanged || !strings.Contains(fig.Note, "published file figures/sum.txt changed") {
		t.Fatalf("figure diff %+v", fig)
	}
	// A bundle against the store it came from, now run with the new file.
	e := f.Engine("")
	var pts []bundle.Point
	for _, s := range view.Status(e, e.Graph.Points) {
		pts = append(pts, bundle.Point{Point: s.Point.ID, Key: s.Key})
	}
	for _, d := range review.DiffSides(review.Side{Points: bb.Index.Points, Src: bb}, review.Side{Points: pts, Src: e.Store}) {
		if d.Differs() || d.KeyA != d.KeyB {
			t.Fatalf("bundle and its store differ at %+v", d)
		}
	}
}

func TestRebuildJobRejectsParamsOutOfRange(t *testing.T) {
	f := newFixture(t, basePipeline)
	b := extract(t, archive(f, bundle.OutputsAll))
	p, _ := b.Point("b")
	m, _ := b.Manifest(p.Key)
	st, cleanup, _ := review.ScratchStore(t.TempDir())
	defer cleanup()
	for _, tc := range []struct {
		value, want string
	}{
		{"3", ""},
		{"5000", "out of range"},
		{`"x"`, "n:"},
	} {
		hostile := *m
		hostile.Components = slices.Clone(m.Components)
		for i, c := range hostile.Components {
			if c.Name == "param:n" {
				hostile.Components[i] = store.NewComponent(c.Name, tc.value)
			}
		}
		hostile.Key, _ = store.KeyOf(hostile.Components)
		rj, err := review.RebuildJob(&hostile, kinds, f.Code, nil, nil, "test", st, 1)
		if tc.want == "" {
			if err != nil || rj.Job.Key != m.Key || !rj.CodeSame {
				t.Fatalf("n = %s: %v", tc.value, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("n = %s: error %v, want %q", tc.value, err, tc.want)
		}
	}
}

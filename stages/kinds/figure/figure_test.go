package figure

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/bfc-repro/bfc/stages/kinds/collect"
	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// fullSpec exercises every feature of the Spec: several panels on two
// rows (one slot empty), log and category axes, bands, markers, dashed and
// reference series, heat maps, and points that cannot be drawn.
func fullSpec() *Spec {
	nan := math.NaN()
	return &Spec{
		Title: "Everything",
		Cols:  2,
		Notes: []string{"A note long enough to be wrapped onto more than one line of the caption, because captions are wrapped to the figure width by the renderer rather than clipped at its edge."},
		Panels: []Panel{
			{Title: "log-log with band", X: Axis{Label: "epoch", Scale: Log}, Y: Axis{Label: "error", Scale: Log},
				Series: []Series{
					{Name: "joint", X: []float64{1, 2, 4, 8}, Y: []float64{1, 0.5, 0.2, 0.1},
						Lo: []float64{0.8, 0.4, 0.1, 0.05}, Hi: []float64{1.2, 0.6, 0.3, 0.2}},
					{Name: "layerwise", X: []float64{1, 2, 4, 8, 16}, Y: []float64{1, 0.7, 0.6, -1, nan}, Style: LinePoints},
					{Name: "slope -1", X: []float64{1, 8}, Y: []float64{1, 0.125}, Dashed: true, Reference: true},
				},
				Markers: []Marker{{X: 2, Label: "layer 3 on"}, {X: 4, Label: "layer 4 on"}}},
			{Title: "categories", X: Axis{Label: "schedule", Categories: []string{"joint", "layerwise", "bfc-1"}},
				Y: Axis{Label: "test error", Min: 0, Max: 1},
				Series: []Series{{Name: "joint", X: []float64{0, 0, 0}, Y: []float64{0.1, 0.12, 0.11}, Style: Points},
					{Name: "layerwise", X: []float64{1, 1}, Y: []float64{0.3, 0.35}, Style: Points}}},
			{Title: "weights", Image: &Image{Rows: 2, Cols: 3, Values: []float64{-1, 0, 1, 0.5, nan, -0.5}, Diverging: true}, HideLegend: true},
		},
	}
}

func TestRenderDeterministicAndWellFormed(t *testing.T) {
	s := fullSpec()
	svg, pngb, err := Render(s, 100)
	if err != nil {
		t.Fatal(err)
	}
	svg2, png2, err := Render(fullSpec(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(svg, svg2) || !bytes.Equal(pngb, png2) {
		t.Error("rendering the same Spec twice gave different bytes")
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		if _, err := dec.Token(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			break
		}
	}
	img, err := png.Decode(bytes.NewReader(pngb))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	l := newLayout(s)
	// Width: 2 panels of 4.8 in at 100 dpi; the canvas rounds up.
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 960 || h != int(math.Ceil(float64(l.h/vg.Inch)*100)) {
		t.Errorf("PNG is %dx%d, want 960x%d", w, h, int(math.Ceil(float64(l.h/vg.Inch)*100)))
	}
	text := string(svg)
	for _, want := range []string{"Everything", "layer 3 on", "layerwise", "bfc-1", "epoch", "test error",
		"2 point(s) not drawn"} {
		if !strings.Contains(text, want) {
			t.Errorf("SVG lacks the text %q", want)
		}
	}
	if strings.Contains(text, "slope -1") == false {
		t.Error("reference series missing from the legend")
	}
	if os.Getenv("FIGURE_DUMP") != "" {
		os.WriteFile(os.Getenv("FIGURE_DUMP")+"/everything.png", pngb, 0o644)
	}
}

func TestSpecCheck(t *testing.T) {
	ok := func() *Spec { return &Spec{Panels: []Panel{{Series: []Series{{X: []float64{1}, Y: []float64{2}}}}}} }
	tests := []struct {
		name   string
		modify func(*Spec)
		want   string
	}{
		{"valid", func(*Spec) {}, ""},
		{"no panels", func(s *Spec) { s.Panels = nil }, "no panels"},
		{"negative cols", func(s *Spec) { s.Cols = -1 }, "negative layout"},
		{"x/y lengths", func(s *Spec) { s.Panels[0].Series[0].Y = nil }, "1 x values, 0 y values"},
		{"half band", func(s *Spec) { s.Panels[0].Series[0].Lo = []float64{1} }, "band"},
		{"short band", func(s *Spec) { s.Panels[0].Series[0].Lo, s.Panels[0].Series[0].Hi = []float64{}, []float64{} }, "band"},
		{"log categories", func(s *Spec) { s.Panels[0].X = Axis{Scale: Log, Categories: []string{"a"}} }, "categories"},
		{"log fixed range at 0", func(s *Spec) { s.Panels[0].Y = Axis{Scale: Log, Min: 0, Max: 1} }, "log axis"},
		{"NaN bound", func(s *Spec) { s.Panels[0].Y.Max = math.NaN() }, "NaN bound"},
		{"image size", func(s *Spec) { s.Panels[0].Image = &Image{Rows: 2, Cols: 2, Values: []float64{1}} }, "image"},
	}
	for _, tc := range tests {
		s := ok()
		tc.modify(s)
		err := s.Check()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Check() = %v, want an error containing %q", tc.name, err, tc.want)
		}
		if tc.want != "" {
			if _, _, err := Render(s, 72); err == nil {
				t.Errorf("%s: Render accepted an invalid Spec", tc.name)
			}
		}
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		min, max float64
		want     []string // labelled ticks
	}{
		{1e-3, 10, []string{"0.001", "0.01", "0.1", "1", "10"}},
		{0.05, 0.9, []string{"0.05", "0.1", "0.2", "0.5"}},
		{2.2, 3.7, []string{"3"}}, // one labelled tick is not enough: ends are labelled instead
		{30, 1e6, []string{"100", "1000", "10000", "1e5", "1e6"}},
		{1.5, 1.6, []string{"1.5", "1.6"}},
	}
	for _, tc := range tests {
		var got []string
		for _, tk := range (logTicks{}).Ticks(tc.min, tc.max) {
			if tk.Value < tc.min*(1-1e-9) || tk.Value > tc.max*(1+1e-9) {
				t.Errorf("[%v, %v]: tick %v outside the range", tc.min, tc.max, tk.Value)
			}
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if tc.min == 2.2 { // 2.2..3.7 holds only 3 at the 1-9 multiples
			tc.want = []string{"2.2", "3.7"}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("[%v, %v]: labels %q, want %q", tc.min, tc.max, got, tc.want)
		}
	}
}

func TestFormatTick(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0.02, "0.02"}, {500, "500"}, {1e6, "1e6"}, {2e-5, "2e-5"}, {1e-3, "0.001"}, {3e12, "3e12"}} {
		if got := formatTick(tc.v); got != tc.want {
			t.Errorf("formatTick(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestDataTable(t *testing.T) {
	rec, err := DataTable(fullSpec())
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	el, _ := kit.ReadStrings(rec, "element")
	count := map[string]int{}
	for _, e := range el {
		count[e]++
	}
	// 4+5+2 series points in panel 0, 3+2 in panel 1; 2 markers; 6 cells.
	if count["series"] != 16 || count["marker"] != 2 || count["cell"] != 6 {
		t.Errorf("element counts %v, want 16 series, 2 marker, 6 cell", count)
	}
	xl, _ := kit.ReadStrings(rec, "x_label")
	panel, _ := kit.ReadInt64s(rec, "panel")
	lo, _ := kit.ReadFloat64s(rec, "lo")
	z, _ := kit.ReadFloat64s(rec, "z")
	for i := range el {
		if panel[i] == 1 && xl[i] == "" {
			t.Errorf("row %d: categorical point without its x_label", i)
		}
		if panel[i] == 0 && i < 4 && math.IsNaN(lo[i]) {
			t.Errorf("row %d: band value missing", i)
		}
		if el[i] == "cell" && i == len(el)-6 && z[i] != -1 {
			t.Errorf("first cell z = %v, want -1", z[i])
		}
	}
	txt, err := TextTable(fullSpec())
	if err != nil {
		t.Fatal(err)
	}
	defer txt.Release()
	if txt.NumRows() != 2+3*5 {
		t.Errorf("text table has %d rows, want %d (title, note, 5 per panel)", txt.NumRows(), 2+3*5)
	}
}

// targetGrid runs small target stages over L x gap x seed and returns them
// as inputs.
func targetGrid(t testing.TB, Ls []int64, gaps []float64, seeds int) []kit.Input {
	t.Helper()
	var ins []kit.Input
	for _, L := range Ls {
		for _, g := range gaps {
			for s := 1; s <= seeds; s++ {
				raw := map[string]any{"d": int64(8), "k": int64(3), "L": L, "gap": g, "n_train": int64(2000),
					"n_test": int64(10), "norm_samples": int64(10000)}
				env := kittest.NewEnv(t, target.Kind{}, raw, int64(s))
				if err := (target.Kind{}).Run(env); err != nil {
					t.Fatal(err)
				}
				ins = append(ins, env.AsInput(map[string]string{"L": fmt.Sprint(L), "gap": fmt.Sprint(g), "seed": fmt.Sprint(s)}))
			}
		}
	}
	return ins
}

// TestE0Plots runs target stages over a grid and both E0 plots on them:
// the files are published under the plot name (or the name param), the
// data table carries exactly the target's numbers, and two runs give the
// same bytes.
func TestE0Plots(t *testing.T) {
	gaps := []float64{0.2, 0.5}
	ins := targetGrid(t, []int64{2, 3}, gaps, 2)
	runFig := func(raw map[string]any) *kittest.Env {
		env := kittest.NewEnv(t, Kind{}, raw, 1, ins...)
		if err := (Kind{}).Run(env); err != nil {
			t.Fatal(err)
		}
		return env
	}
	for _, plot := range []string{"E0-information-gap", "E0-label-distribution"} {
		a := runFig(map[string]any{"plot": plot})
		b := runFig(map[string]any{"plot": plot})
		pa, pb := a.Published(), b.Published()
		for _, ext := range []string{".svg", ".png"} {
			f := "figures/" + plot + ext
			if len(pa[f]) == 0 {
				t.Fatalf("%s: nothing published as %s (have %v)", plot, f, keys(pa))
			}
			if !bytes.Equal(pa[f], pb[f]) {
				t.Errorf("%s: two runs published different %s", plot, f)
			}
		}
		if !bytes.Equal(kittest.Bytes(t, a.Output("data")), kittest.Bytes(t, b.Output("data"))) {
			t.Errorf("%s: two runs wrote different data tables", plot)
		}
		if dir := os.Getenv("FIGURE_DUMP"); dir != "" {
			for f, data := range pa {
				os.WriteFile(dir+"/"+strings.TrimPrefix(f, "figures/"), data, 0o644)
			}
		}
	}
	// The information-gap data are the medians of the targets' shares.
	env := runFig(map[string]any{"plot": "E0-information-gap", "name": "gap-check"})
	if _, ok := env.Published()["figures/gap-check.png"]; !ok {
		t.Errorf("name param ignored: published %v", keys(env.Published()))
	}
	want := map[string][]float64{} // "L/layer/gap" -> shares over seeds
	for _, in := range ins {
		layers, err := target.ReadLayers(in)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range layers {
			s := l.Share
			k := fmt.Sprintf("%d/%d/%g", in.Params().Int("L"), i+2, in.Params().Float("gap"))
			want[k] = append(want[k], s)
		}
	}
	data := env.Output("data")
	panel, _ := kit.ReadInt64s(data, "panel")
	series, _ := kit.ReadStrings(data, "series")
	x, _ := kit.ReadFloat64s(data, "x")
	y, _ := kit.ReadFloat64s(data, "y")
	lo, _ := kit.ReadFloat64s(data, "lo")
	hi, _ := kit.ReadFloat64s(data, "hi")
	if len(y) != 2*(1+2) { // 2 gaps x (1 layer at L=2, 2 layers at L=3)
		t.Fatalf("information-gap data has %d rows, want 6", len(y))
	}
	for i := range y {
		var layer int
		fmt.Sscanf(series[i], "layer %d", &layer)
		v := want[fmt.Sprintf("%d/%d/%g", panel[i]+2, layer, x[i])]
		if len(v) != 2 || y[i] != (v[0]+v[1])/2 || lo[i] != min(v[0], v[1]) || hi[i] != max(v[0], v[1]) {
			t.Errorf("row %d (%s, gap %g): y %v [%v, %v], targets' shares %v", i, series[i], x[i], y[i], lo[i], hi[i], v)
		}
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

func TestParamsAndRegistry(t *testing.T) {
	if !slices.Contains(Names(), "E0-information-gap") || !slices.IsSorted(Names()) {
		t.Errorf("Names() = %v", Names())
	}
	if _, err := kit.Resolve(Kind{}.Params(), map[string]any{"plot": "no-such-plot"}); err == nil {
		t.Error("an unregistered plot name was accepted")
	}
	if _, err := kit.Resolve(Kind{}.Params(), map[string]any{}); err == nil {
		t.Error("a missing plot name was accepted")
	}
	for _, tc := range []struct {
		raw   map[string]any
		field string // "" = valid
		msg   string // in the error
	}{
		{map[string]any{"plot": "E0-information-gap", "name": "../escape"}, "name", "plain file stem"},
		{map[string]any{"plot": "E0-information-gap", "options": []any{"novalue"}}, "options", "not key=value"},
		{map[string]any{"plot": "E0-information-gap", "options": []any{"a=1"}}, "options", "this plot takes none"},
		{map[string]any{"plot": "E5-sample-complexity", "options": []any{"sprad=iqr"}}, "options", `did you mean "spread"?`},
		{map[string]any{"plot": "E5-sample-complexity", "options": []any{"spread=iqr", "spread=minmax"}}, "options", "given twice"},
		{map[string]any{"plot": "E5-sample-complexity", "options": []any{"spread=range"}}, "options", `"range" is not one of "minmax", "iqr"`},
		{map[string]any{"plot": "E5-sample-complexity", "options": []any{"L=three"}}, "options", `option L="three"`},
		{map[string]any{"plot": "E5-sample-complexity", "options": []any{"L=99"}}, "options", "out of range"},
		{map[string]any{"plot": "E8c-first-layer", "options": []any{"raw=maybe"}}, "options", `option raw="maybe"`},
		{map[string]any{"plot": "E8c-first-layer", "options": []any{"units=0"}}, "options", "out of range"},
		{map[string]any{"plot": "E5-sample-complexity", "name": "E5-ok_name.v2", "options": []any{"spread=iqr", "L=3"}}, "", ""},
		{map[string]any{"plot": "E8c-first-layer", "options": []any{"raw=true", "seed=2", "units=4", "L=3"}}, "", ""},
	} {
		p, err := kit.Resolve(Kind{}.Params(), tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		err = Kind{}.Validate(p)
		var fe *kit.FieldError
		if tc.field == "" && err != nil || tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg)) {
			t.Errorf("Validate(%v) = %v, want a problem with %q saying %q", tc.raw, err, tc.field, tc.msg)
		}
	}
	// Resolved options are typed, with the declared defaults.
	p, err := kit.Resolve(Kind{}.Params(), map[string]any{"plot": "E8c-first-layer", "options": []any{"raw=true", "seed=2"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configOf(p)
	if err != nil || !cfg.options.Bool("raw") || cfg.options.Int("seed") != 2 || cfg.options.Int("units") != 12 || cfg.options.Int("L") != 0 {
		t.Errorf("options of E8c = %v, %v", cfg.options, err)
	}
	env := kittest.NewEnv(t, Kind{}, map[string]any{"plot": "E0-information-gap"}, 1)
	if err := (Kind{}).Run(env); err == nil || !strings.Contains(err.Error(), "target input") {
		t.Errorf("E0 plot without inputs: error %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a plot name twice did not panic")
		}
	}()
	Register("E0-information-gap", Plot{Build: informationGap})
}

// BenchmarkRender measures rendering a three-panel figure to SVG and PNG.
func BenchmarkRender(b *testing.B) {
	for b.Loop() {
		if _, _, err := Render(fullSpec(), 150); err != nil {
			b.Fatal(err)
		}
	}
}

// A figure wired to stages that do not write what its plot reads is a
// wiring error (kit.CheckWiring, which the engine runs before anything):
// here E5's plot on a collect stage instead of a scaling stage, and E7's
// on a collect of train summaries instead of sweep results.
func TestPlotsDeclareWhatTheyRead(t *testing.T) {
	consumes := func(plot string) []kit.TableNeed {
		p, err := kit.Resolve(Kind{}.Params(), map[string]any{"plot": plot})
		if err != nil {
			t.Fatal(err)
		}
		return Kind{}.Consumes(p)
	}
	sweeps := kit.Upstream{Stage: "E5_collect", Kind: "collect", Declared: true, Produces: []kit.TableDesc{collect.Desc(sweep.ResultDesc)}}
	trains := kit.Upstream{Stage: "E1_collect", Kind: "collect", Declared: true, Produces: []kit.TableDesc{collect.Desc(train.SummaryDesc(3))}}
	scal := kit.Upstream{Stage: "E6_scaling", Kind: "scaling", Declared: true, Produces: (scaling.Kind{}).Produces(nil)}
	for _, c := range []struct {
		plot string
		ups  []kit.Upstream
		want string // "" = wired right
	}{
		{"E5-sample-complexity", []kit.Upstream{scal}, ""},
		{"E5-sample-complexity", []kit.Upstream{sweeps}, "no input is of kind scaling"},
		{"E7-width", []kit.Upstream{sweeps}, ""},
		{"E7-width", []kit.Upstream{trains}, "carries train/summary@v1"},
	} {
		err := kit.CheckWiring("figure "+c.plot, consumes(c.plot), c.ups)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s on %s: %v, want %q", c.plot, c.ups[0].Stage, err, c.want)
		}
	}
}

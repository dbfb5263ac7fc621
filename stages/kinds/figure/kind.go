package figure

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
)

// Plot builds the Spec of one figure from a figure stage's environment:
// its inputs (env.Inputs) and its options (Options).
type Plot func(env kit.Env) (*Spec, error)

var plots = map[string]Plot{}

// Register makes p available as the value name of the figure kind's "plot"
// parameter; name is also the default file stem, so start it with the
// experiment id ("E1-feature-error"). Call Register from an init function;
// it panics on an empty or duplicate name, which is a programming error.
func Register(name string, p Plot) {
	if name == "" || p == nil {
		panic("figure: Register with an empty name or nil plot")
	}
	if _, dup := plots[name]; dup {
		panic("figure: plot " + name + " registered twice")
	}
	plots[name] = p
}

// Names returns the registered plot names, sorted.
func Names() []string {
	names := make([]string, 0, len(plots))
	for n := range plots {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Kind is the stage kind "figure".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "figure" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Renders one registered plot (param plot: " + strings.Join(Names(), ", ") + ") from its inputs " +
		"to figures/<name>.svg, .png and .pdf; outputs the drawn numbers (data) and texts (text) as tables."
}

// Params implements kit.Kind.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.StringParam("plot", "", "which registered plot to draw").Required().OneOf(Names()...),
		kit.StringParam("name", "", "file stem of the published figure (default: the plot name)"),
		kit.IntParam("dpi", 150, "resolution of the PNG, dots per inch").In(50, 600),
		kit.StringsParam("options", []string{}, `plot-specific settings as "key=value" strings`),
	}
}

var fileStem = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Validate implements kit.Validator: name must be a plain file stem, and
// options must be well-formed.
func (Kind) Validate(p kit.Params) error {
	if n := p.String("name"); n != "" && !fileStem.MatchString(n) {
		return kit.Errorf("name", "%q is not a plain file stem (letters, digits, '.', '_', '-')", n)
	}
	if _, err := parseOptions(p.Strings("options")); err != nil {
		return kit.Errorf("options", "%v", err)
	}
	return nil
}

// Options returns the figure stage's "options" as a map.
func Options(env kit.Env) (map[string]string, error) {
	return parseOptions(env.Params().Strings("options"))
}

func parseOptions(list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("option %q is not key=value", kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("option %q given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	p := env.Params()
	plotName := p.String("plot")
	build, ok := plots[plotName]
	if !ok {
		return fmt.Errorf("no plot %q (have %s)", plotName, strings.Join(Names(), ", "))
	}
	spec, err := build(env)
	if err != nil {
		return fmt.Errorf("plot %s: %w", plotName, err)
	}
	svg, png, err := Render(spec, p.Int("dpi"))
	if err != nil {
		return fmt.Errorf("plot %s: %w", plotName, err)
	}
	name := p.String("name")
	if name == "" {
		name = plotName
	}
	if err := env.Publish(kit.Figures, name+".svg", svg); err != nil {
		return err
	}
	if err := env.Publish(kit.Figures, name+".png", png); err != nil {
		return err
	}
	pdf, err := RenderPDF(spec)
	if err != nil {
		return fmt.Errorf("plot %s: %w", plotName, err)
	}
	if err := env.Publish(kit.Figures, name+".pdf", pdf); err != nil {
		return err
	}
	for _, t := range []struct {
		name  string
		build func(*Spec) (arrow.Record, error)
	}{{"data", DataTable}, {"text", TextTable}} {
		rec, err := t.build(spec)
		if err != nil {
			return fmt.Errorf("plot %s: %s table: %w", plotName, t.name, err)
		}
		if err := env.Write(t.name, rec); err != nil {
			return err
		}
	}
	return nil
}

// DataTable returns every number of s in long format, one row per series
// point, marker or image cell: panel (index), panel_title, element
// ("series", "marker" or "cell"), series (series name or marker label),
// grp (colour group), x, y, lo, hi (the band; NaN without one), z (image
// value; NaN otherwise) and x_label (the category name when the x axis is
// categorical). Series points have x, y; markers have x (y NaN); cells have
// x = column, y = row (row 0 drawn at the top) and z.
func DataTable(s *Spec) (arrow.Record, error) {
	var panel []int
	var title, element, series, grp, xLabel []string
	var x, y, lo, hi, z []float64
	nan := math.NaN()
	add := func(i int, el, name, g string, xv, yv, l, h, zv float64) {
		p := &s.Panels[i]
		cat := ""
		if c := p.X.Categories; len(c) > 0 && xv == math.Trunc(xv) && xv >= 0 && xv < float64(len(c)) {
			cat = c[int(xv)]
		}
		panel, title, element, series, grp = append(panel, i), append(title, p.Title), append(element, el), append(series, name), append(grp, g)
		x, y, lo, hi, z, xLabel = append(x, xv), append(y, yv), append(lo, l), append(hi, h), append(z, zv), append(xLabel, cat)
	}
	for i := range s.Panels {
		p := &s.Panels[i]
		for _, sr := range p.Series {
			for j := range sr.X {
				l, h := nan, nan
				if sr.Lo != nil {
					l, h = sr.Lo[j], sr.Hi[j]
				}
				add(i, "series", sr.Name, sr.group(), sr.X[j], sr.Y[j], l, h, nan)
			}
		}
		for _, m := range p.Markers {
			add(i, "marker", m.Label, "", m.X, nan, nan, nan, nan)
		}
		if im := p.Image; im != nil {
			for r := 0; r < im.Rows; r++ {
				for c := 0; c < im.Cols; c++ {
					add(i, "cell", "", "", float64(c), float64(r), nan, nan, im.Values[r*im.Cols+c])
				}
			}
		}
	}
	return kit.NewTable().Ints("panel", panel).String("panel_title", title).String("element", element).
		String("series", series).String("grp", grp).Float64("x", x).Float64("y", y).
		Float64("lo", lo).Float64("hi", hi).Float64("z", z).String("x_label", xLabel).Record()
}

// TextTable returns the texts of s: one row per (panel, field, value),
// panel -1 for the figure's title and notes; fields are title, note,
// x_label, y_label, x_scale, y_scale.
func TextTable(s *Spec) (arrow.Record, error) {
	var panel []int
	var field, value []string
	add := func(p int, f, v string) {
		panel, field, value = append(panel, p), append(field, f), append(value, v)
	}
	add(-1, "title", s.Title)
	for _, n := range s.Notes {
		add(-1, "note", n)
	}
	scale := map[Scale]string{Linear: "linear", Log: "log"}
	for i, p := range s.Panels {
		add(i, "title", p.Title)
		add(i, "x_label", p.X.Label)
		add(i, "y_label", p.Y.Label)
		add(i, "x_scale", scale[p.X.Scale])
		add(i, "y_scale", scale[p.Y.Scale])
	}
	return kit.NewTable().Ints("panel", panel).String("field", field).String("value", value).Record()
}

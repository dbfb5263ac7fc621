package figure

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
)

// Plot is one registered figure: what it reads from its inputs, the
// options it accepts, and the function that builds its Spec from the
// figure stage's inputs and its resolved options.
type Plot struct {
	// Reads are the tables the plot reads (kit.Consumer): a figure wired
	// to stages that do not write them is a configuration error.
	Reads []kit.TableNeed
	// Options declares the plot's options (the "options" parameter,
	// "key=value" strings), with their types, defaults and ranges.
	Options []kit.Param
	Build   func(env kit.Env, opts kit.Params) (*Spec, error)
}

var plots = map[string]Plot{}

// Register makes p available as the value name of the figure kind's "plot"
// parameter; name is also the default file stem, so start it with the
// experiment id ("E1-feature-error"). Call Register from an init function;
// it panics on an empty or duplicate name, which is a programming error.
func Register(name string, p Plot) {
	if name == "" || p.Build == nil {
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
		kit.StringsParam("options", []string{}, `plot-specific settings as "key=value" strings (see each plot's options)`),
	}
}

var fileStem = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// config is the typed form of a figure stage's parameters.
type config struct {
	plot     string
	name     string // file stem
	dpi      int
	options  kit.Params
	optsText []string
}

// configOf decodes and checks a figure stage's parameters: the plot must
// be registered, the name a plain file stem, and every option one the
// plot declares, of its type and in its range.
func configOf(p kit.Params) (config, error) {
	c := config{plot: p.String("plot"), name: FileStem(p), dpi: p.Int("dpi"), optsText: p.Strings("options")}
	pl, ok := plots[c.plot]
	if !ok {
		return c, kit.Errorf("plot", "no plot %q (have %s)", c.plot, strings.Join(Names(), ", "))
	}
	if !fileStem.MatchString(c.name) {
		return c, kit.Errorf("name", "%q is not a plain file stem (letters, digits, '.', '_', '-')", c.name)
	}
	var err error
	if c.options, err = parseOptions(pl.Options, c.optsText); err != nil {
		return c, kit.Errorf("options", "plot %s: %v", c.plot, err)
	}
	return c, nil
}

// parseOptions reads "key=value" strings against the declared options:
// an unknown key is an error (with the nearest declared one), a value is
// parsed as its option's type and checked against its range; options not
// given take their defaults.
func parseOptions(decl []kit.Param, list []string) (kit.Params, error) {
	raw := map[string]any{}
	var names []string
	for _, d := range decl {
		names = append(names, d.Name)
	}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("option %q is not key=value", kv)
		}
		if _, dup := raw[k]; dup {
			return nil, fmt.Errorf("option %q given twice", k)
		}
		i := slices.IndexFunc(decl, func(d kit.Param) bool { return d.Name == k })
		if i < 0 {
			if len(names) == 0 {
				return nil, fmt.Errorf("unknown option %q: this plot takes none", k)
			}
			return nil, fmt.Errorf("unknown option %q%s", k, kit.Suggest(k, names))
		}
		val, err := parseValue(decl[i].Type, v)
		if err != nil {
			return nil, fmt.Errorf("option %s=%q: %v", k, v, err)
		}
		raw[k] = val
	}
	p, err := kit.Resolve(decl, raw)
	if err != nil {
		return nil, fmt.Errorf("option %v", err)
	}
	return p, nil
}

// parseValue parses an option's text as a value of type t.
func parseValue(t kit.Type, v string) (any, error) {
	switch t {
	case kit.Int:
		return strconv.ParseInt(v, 10, 64)
	case kit.Float:
		return strconv.ParseFloat(v, 64)
	case kit.Bool:
		return strconv.ParseBool(v)
	case kit.String:
		return v, nil
	}
	return nil, fmt.Errorf("options of type %s are not supported", t)
}

// Validate implements kit.Validator.
func (Kind) Validate(p kit.Params) error {
	_, err := configOf(p)
	return err
}

// Consumes implements kit.Consumer: what the chosen plot reads.
func (Kind) Consumes(p kit.Params) []kit.TableNeed {
	return slices.Clone(plots[p.String("plot")].Reads)
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	cfg, err := configOf(env.Params())
	if err != nil {
		return err
	}
	plotName, name := cfg.plot, cfg.name
	spec, err := buildSpec(env)
	if err != nil {
		return fmt.Errorf("plot %s: %w", plotName, err)
	}
	svg, png, err := Render(spec, cfg.dpi)
	if err != nil {
		return fmt.Errorf("plot %s: %w", plotName, err)
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
	if err := kit.WriteAll(env, kit.Output{Name: TableData, Build: func() (arrow.Record, error) { return DataTable(spec) }},
		kit.Output{Name: TableText, Build: func() (arrow.Record, error) { return TextTable(spec) }}); err != nil {
		return fmt.Errorf("plot %s: %w", plotName, err)
	}
	return nil
}

// buildSpec builds the Spec of the plot of a figure stage from its inputs
// and resolved options.
func buildSpec(env kit.Env) (*Spec, error) {
	cfg, err := configOf(env.Params())
	if err != nil {
		return nil, err
	}
	return plots[cfg.plot].Build(env, cfg.options)
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
	return kit.NewTable().Ints(ColPanel, panel).String(ColPanelTitle, title).String(ColElement, element).
		String(ColSeries, series).String(ColGroup, grp).Float64(ColX, x).Float64(ColY, y).
		Float64(ColLo, lo).Float64(ColHi, hi).Float64(ColZ, z).String(ColXLabel, xLabel).Record()
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
	return kit.NewTable().Ints(ColPanel, panel).String(ColField, field).String(ColValue, value).Record()
}

// The output tables of a "figure" stage, declared once (see DataTable and
// TextTable).
const (
	Version = 1

	TableData = "data"
	TableText = "text"

	ColPanel      = "panel"
	ColPanelTitle = "panel_title"
	ColElement    = "element"
	ColSeries     = "series"
	ColGroup      = "grp"
	ColX          = "x"
	ColY          = "y"
	ColLo         = "lo"
	ColHi         = "hi"
	ColZ          = "z"
	ColXLabel     = "x_label"
	ColField      = "field"
	ColValue      = "value"
)

// DataDesc and TextDesc are the schemas of the tables.
var (
	DataDesc = kit.TableDesc{Kind: "figure", Version: Version, Name: TableData, Columns: []kit.ColumnDesc{
		kit.IntCol(ColPanel), kit.StringCol(ColPanelTitle), kit.StringCol(ColElement), kit.StringCol(ColSeries),
		kit.StringCol(ColGroup), kit.FloatCol(ColX), kit.FloatCol(ColY), kit.FloatCol(ColLo), kit.FloatCol(ColHi),
		kit.FloatCol(ColZ), kit.StringCol(ColXLabel)}}
	TextDesc = kit.TableDesc{Kind: "figure", Version: Version, Name: TableText, Columns: []kit.ColumnDesc{
		kit.IntCol(ColPanel), kit.StringCol(ColField), kit.StringCol(ColValue)}}
)

// Produces implements kit.Producer.
func (Kind) Produces(kit.Params) []kit.TableDesc { return []kit.TableDesc{DataDesc, TextDesc} }

// depthOption is the option L of the plots that draw one depth of their
// inputs (0: the inputs must have a single depth).
var depthOption = kit.IntParam("L", 0, "the depth L to draw (0: the inputs' only depth)").In(0, 16)

// FileStem returns the file stem under which a figure stage with
// resolved parameters p publishes its files (the name, else the plot).
func FileStem(p kit.Params) string {
	if n := p.String("name"); n != "" {
		return n
	}
	return p.String("plot")
}

// Package figure implements the stage kind "figure": it turns upstream
// artifacts into publication figures (SVG, PNG and PDF) and into an Arrow table
// of exactly the numbers drawn.
//
// # Design
//
// A figure is described by a Spec, a plain data structure: a title, panels
// laid out on a grid, and caption notes. Each panel has axes (label with
// units, linear or log scale, optional fixed range or category ticks),
// series (x, y, an optional lower/upper band, line or point style), vertical
// marker lines with labels, and optionally a heat-map image. A plot is a
// function
//
//	func(env kit.Env) (*Spec, error)
//
// registered under a name with Register (from an init function in the file
// that defines it); the figure kind's "plot" parameter selects it. Plots
// only read their inputs and build a Spec; ONE renderer (Render, and
// RenderPDF for the paper's LaTeX version) turns any Spec into SVG, PNG
// and PDF with gonum/plot, so every figure of the project has the same
// fonts, sizes, palette and legend conventions. The kind publishes the
// files as figures/<name>.svg, .png and .pdf and writes the
// Spec's data as the output table "data" (long format, one row per drawn
// point, see DataTable) and its text as "text", so a reviewer can check
// every figure against the artifacts without reading plotting code.
//
// Colours are assigned per series Group (default: the series name) in order
// of first appearance in the whole figure, so one schedule keeps its colour
// across panels. Points that cannot be drawn (NaN, Inf, or non-positive on
// a log axis) are dropped by the renderer, which says so in the caption.
// Rendering is deterministic: the same Spec gives the same bytes.
package figure

import (
	"fmt"
	"math"
)

// Spec describes one figure.
type Spec struct {
	Title  string
	Panels []Panel
	// Cols is the number of panels per row; 0 puts all panels in one row.
	Cols int
	// Notes are caption lines drawn under the panels (sources, sample
	// sizes, what the band means, which choices are ours).
	Notes []string
	// PanelWidth and PanelHeight are the size of one panel in inches;
	// zero means 4.8 x 3.6.
	PanelWidth, PanelHeight float64
}

// Panel is one set of axes.
type Panel struct {
	Title   string
	X, Y    Axis
	Series  []Series
	Markers []Marker
	// Image is an optional heat map drawn under the series.
	Image *Image
	// HideLegend leaves out the legend, which is otherwise drawn above
	// the axes (never over the data) with one entry per named series.
	HideLegend bool
}

// Scale is an axis scale.
type Scale int

const (
	Linear Scale = iota
	Log
)

// Axis describes one axis of a panel.
type Axis struct {
	// Label names the quantity and its unit, e.g. "epoch" or
	// "test MSE / Var(y)".
	Label string
	Scale Scale
	// Min and Max fix the range when Min < Max; otherwise the range is
	// taken from the data.
	Min, Max float64
	// Categories, if set, label the ticks at 0, 1, ..., len-1 (for
	// categorical x values such as schedules); the scale must be Linear.
	Categories []string
}

// Style is how a series is drawn.
type Style int

const (
	Line Style = iota
	Points
	LinePoints
)

// Series is one named curve or point set.
type Series struct {
	// Name is the legend entry; an empty name keeps the series out of the
	// legend.
	Name string
	// Group selects the colour: series with the same Group share one.
	// Empty means Name.
	Group string
	X, Y  []float64
	// Lo and Hi, if set (both, with the length of X), draw a shaded band
	// from Lo to Hi, e.g. the spread over seeds.
	Lo, Hi []float64
	Style  Style
	Dashed bool
	// Glyph selects the point shape of Points and LinePoints (0 circle,
	// 1 square, 2 triangle, 3 ring, 4 box, 5 cross; others wrap around):
	// series of one colour group told apart, e.g. one per seed.
	Glyph int
	// Reference draws the series in grey, outside the colour groups: a
	// reference curve such as N(0, 1) or a fitted or theoretical slope.
	Reference bool
}

// Marker is a labelled vertical line at X, e.g. where a layer switches on.
type Marker struct {
	X     float64
	Label string
}

// Image is a heat map of Rows x Cols values (row-major, row 0 drawn at the
// top), placed with cell (r, c) centred at x = c, y = Rows-1-r.
type Image struct {
	Rows, Cols int
	Values     []float64
	// Diverging uses a blue-white-red scale symmetric around 0;
	// otherwise a sequential scale from the minimum to the maximum.
	Diverging bool
}

// group returns the colour group of s.
func (s *Series) group() string {
	if s.Group != "" {
		return s.Group
	}
	return s.Name
}

// Check reports the first structural problem of s, naming the panel and
// series: no panels, mismatched lengths, a category axis that is not
// linear, an image whose values do not fill it.
func (s *Spec) Check() error {
	if len(s.Panels) == 0 {
		return fmt.Errorf("figure %q has no panels", s.Title)
	}
	if s.Cols < 0 || s.PanelWidth < 0 || s.PanelHeight < 0 {
		return fmt.Errorf("figure %q: negative layout (cols %d, panel %gx%g in)", s.Title, s.Cols, s.PanelWidth, s.PanelHeight)
	}
	for i := range s.Panels {
		p := &s.Panels[i]
		where := fmt.Sprintf("panel %d (%q)", i, p.Title)
		for _, a := range []*Axis{&p.X, &p.Y} {
			if len(a.Categories) > 0 && a.Scale != Linear {
				return fmt.Errorf("%s: axis %q has categories but a log scale", where, a.Label)
			}
			if math.IsNaN(a.Min) || math.IsNaN(a.Max) {
				return fmt.Errorf("%s: axis %q has a NaN bound", where, a.Label)
			}
			if a.Scale == Log && a.Min < a.Max && a.Min <= 0 {
				return fmt.Errorf("%s: log axis %q has the fixed range [%g, %g]", where, a.Label, a.Min, a.Max)
			}
		}
		for j := range p.Series {
			sr := &p.Series[j]
			if len(sr.X) != len(sr.Y) {
				return fmt.Errorf("%s series %q: %d x values, %d y values", where, sr.Name, len(sr.X), len(sr.Y))
			}
			if (sr.Lo == nil) != (sr.Hi == nil) || (sr.Lo != nil && (len(sr.Lo) != len(sr.X) || len(sr.Hi) != len(sr.X))) {
				return fmt.Errorf("%s series %q: band has %d lo and %d hi values for %d points", where, sr.Name, len(sr.Lo), len(sr.Hi), len(sr.X))
			}
		}
		if im := p.Image; im != nil && (im.Rows < 1 || im.Cols < 1 || len(im.Values) != im.Rows*im.Cols) {
			return fmt.Errorf("%s: image of %dx%d has %d values", where, im.Rows, im.Cols, len(im.Values))
		}
	}
	return nil
}

package figure

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Sizes of the house style, in points (panels in inches).
const (
	defaultPanelWidth  = 4.8
	defaultPanelHeight = 3.6
	titleSize          = 13
	panelTitleSize     = 11
	labelSize          = 10
	tickSize           = 9
	legendSize         = 8.5
	noteSize           = 8.5
	markerSize         = 8
	margin             = 6 // around the title and the notes
)

// axisLabelStrip is the room left of and below each panel for its axis
// labels.
var axisLabelStrip = vg.Points(labelSize * 1.5)

// sans is the font of every text: Liberation Sans ships with gonum/plot
// (so rendering needs no system fonts) and is metric-compatible with
// Arial/Helvetica, which SVG viewers substitute.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// colours is the Okabe-Ito palette (distinguishable with colour-blindness),
// without its yellow, which is unreadable on white.
var colours = []color.Color{
	color.RGBA{0x00, 0x72, 0xB2, 0xFF}, // blue
	color.RGBA{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	color.RGBA{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	color.RGBA{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	color.RGBA{0xE6, 0x9F, 0x00, 0xFF}, // orange
	color.RGBA{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	color.RGBA{0x00, 0x00, 0x00, 0xFF}, // black
	color.RGBA{0x88, 0x88, 0x88, 0xFF}, // grey
}

var (
	gridColour      = color.Gray{0xE4}
	markerColour    = color.Gray{0x60}
	referenceColour = color.Gray{0x70}
)

func textStyle(size float64, xa text.XAlignment, ya text.YAlignment) text.Style {
	return text.Style{Color: color.Black, Font: font.From(sans, font.Length(size)),
		XAlign: xa, YAlign: ya, Handler: plot.DefaultTextHandler}
}

// Render draws s and returns it encoded as SVG and as PNG at dpi dots per
// inch. Rendering is deterministic. A panic inside gonum/plot (it panics
// on some degenerate inputs) is returned as an error.
func Render(s *Spec, dpi int) (svg, png []byte, err error) {
	if err := s.Check(); err != nil {
		return nil, nil, err
	}
	if dpi < 1 {
		return nil, nil, fmt.Errorf("render %q: dpi %d < 1", s.Title, dpi)
	}
	defer func() {
		if r := recover(); r != nil {
			svg, png, err = nil, nil, fmt.Errorf("render %q: %v", s.Title, r)
		}
	}()
	l := newLayout(s)
	var sb bytes.Buffer
	sc := vgsvg.New(l.w, l.h)
	if err := l.draw(draw.New(sc)); err != nil {
		return nil, nil, err
	}
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, fmt.Errorf("render %q as SVG: %w", s.Title, err)
	}
	var pb bytes.Buffer
	ic := vgimg.NewWith(vgimg.UseWH(l.w, l.h), vgimg.UseDPI(dpi))
	if err := l.draw(draw.New(ic)); err != nil {
		return nil, nil, err
	}
	if _, err := (vgimg.PngCanvas{Canvas: ic}).WriteTo(&pb); err != nil {
		return nil, nil, fmt.Errorf("render %q as PNG: %w", s.Title, err)
	}
	return sb.Bytes(), pb.Bytes(), nil
}

// RenderPDF draws s as a one-page PDF (vector graphics, Liberation Sans
// embedded), for the LaTeX version of the paper. The PDF writer knows only
// the characters of code page 1252, so Greek letters and a few signs are
// spelled out (see pdfText). The bytes are deterministic: see pdfDefaults
// for the two sources of variation in the PDF writer that are switched off.
func RenderPDF(s *Spec) (out []byte, err error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("render %q as PDF: %v", s.Title, r)
		}
	}()
	l := newLayout(pdfSpec(s))
	pc := vgpdf.New(l.w, l.h)
	if err := l.draw(draw.New(cp1252Canvas{pc})); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := pc.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("render %q as PDF: %w", s.Title, err)
	}
	return b.Bytes(), nil
}

// layout is a Spec with its page geometry and colour assignment resolved.
type layout struct {
	s                    *Spec
	rows, cols           int
	panelW, panelH       vg.Length
	titleH, notesH, w, h vg.Length
	notes                []string // wrapped caption lines, including renderer notes
	colour               map[string]color.Color
	// header is the height above each panel's tile that holds its title
	// and legend (the same for all panels, so that data areas align).
	header vg.Length
	plots  []*plot.Plot
	items  [][]legendItem
}

func newLayout(s *Spec) *layout {
	l := &layout{s: s, cols: s.Cols, colour: map[string]color.Color{}}
	if l.cols == 0 || l.cols > len(s.Panels) {
		l.cols = len(s.Panels)
	}
	l.rows = (len(s.Panels) + l.cols - 1) / l.cols
	pw, ph := s.PanelWidth, s.PanelHeight
	if pw == 0 {
		pw = defaultPanelWidth
	}
	if ph == 0 {
		ph = defaultPanelHeight
	}
	l.panelW, l.panelH = vg.Length(pw)*vg.Inch, vg.Length(ph)*vg.Inch
	l.w = vg.Length(l.cols) * l.panelW
	if s.Title != "" {
		l.titleH = vg.Points(titleSize*1.5 + margin)
	}
	for i := range s.Panels {
		for j := range s.Panels[i].Series {
			if s.Panels[i].Series[j].Reference {
				continue
			}
			g := s.Panels[i].Series[j].group()
			if _, ok := l.colour[g]; !ok {
				l.colour[g] = colours[len(l.colour)%len(colours)]
			}
		}
	}
	notes := append([]string(nil), s.Notes...)
	for i := range s.Panels {
		if n := dropped(&s.Panels[i]); n > 0 {
			notes = append(notes, fmt.Sprintf("Panel %q: %d point(s) not drawn (NaN, Inf, or not positive on a log axis).", s.Panels[i].Title, n))
		}
	}
	st := textStyle(noteSize, draw.XLeft, draw.YTop)
	for _, n := range notes {
		l.notes = append(l.notes, wrap(st, n, l.w-2*vg.Points(margin))...)
	}
	if len(l.notes) > 0 {
		l.notesH = vg.Points(float64(len(l.notes))*noteSize*1.35 + 2*margin)
	}
	l.h = vg.Length(l.rows)*l.panelH + l.titleH + l.notesH
	return l
}

// build makes the gonum plots and legends of all panels and sizes the
// panel headers.
func (l *layout) build() error {
	l.plots, l.items = nil, nil
	rows := 0
	hasTitle := false
	for i := range l.s.Panels {
		p, items, err := l.panel(&l.s.Panels[i])
		if err != nil {
			return fmt.Errorf("render %q panel %d (%q): %w", l.s.Title, i, l.s.Panels[i].Title, err)
		}
		l.plots, l.items = append(l.plots, p), append(l.items, items)
		_, n := flowLegend(items, l.tileWidth())
		rows = max(rows, n)
		hasTitle = hasTitle || l.s.Panels[i].Title != ""
	}
	l.header = vg.Points(4) + vg.Length(rows)*legendLine
	if hasTitle {
		l.header += vg.Points(panelTitleSize * 1.4)
	}
	return nil
}

// tiles returns the tiling of the panel area; each tile's header lies in
// the padding above it.
func (l *layout) tiles() draw.Tiles {
	return draw.Tiles{Rows: l.rows, Cols: l.cols, PadX: vg.Points(18), PadY: l.header + vg.Points(24),
		PadTop: l.header, PadBottom: vg.Points(4), PadLeft: vg.Points(6), PadRight: vg.Points(12)}
}

// tileWidth is the width of one tile of tiles().
func (l *layout) tileWidth() vg.Length {
	return (l.w - vg.Points(6+12) - vg.Length(l.cols-1)*vg.Points(18)) / vg.Length(l.cols)
}

// seriesColour is the colour of s: grey for references, else its group's.
func (l *layout) seriesColour(s *Series) color.Color {
	if s.Reference {
		return referenceColour
	}
	return l.colour[s.group()]
}

// wrap splits s into lines no wider than w in style st.
func wrap(st text.Style, s string, w vg.Length) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		try := word
		if line != "" {
			try = line + " " + word
		}
		if line != "" && st.Width(try) > w {
			lines = append(lines, line)
			try = word
		}
		line = try
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// draw renders the whole figure on dc.
func (l *layout) draw(dc draw.Canvas) error {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	if l.s.Title != "" {
		dc.FillText(textStyle(titleSize, draw.XCenter, draw.YTop),
			vg.Point{X: l.w / 2, Y: l.h - vg.Points(margin)}, l.s.Title)
	}
	st := textStyle(noteSize, draw.XLeft, draw.YTop)
	for i, line := range l.notes {
		y := l.notesH - vg.Points(margin) - vg.Points(float64(i)*noteSize*1.35)
		dc.FillText(st, vg.Point{X: vg.Points(margin), Y: y}, line)
	}
	if err := l.build(); err != nil {
		return err
	}
	grid := make([][]*plot.Plot, l.rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, l.cols)
	}
	for i, p := range l.plots {
		grid[i/l.cols][i%l.cols] = p
	}
	area := draw.Crop(dc, 0, 0, l.notesH, -l.titleH)
	tiles := l.tiles()
	canvases := plot.Align(grid, tiles, area)
	for i, p := range l.plots {
		r, c := i/l.cols, i%l.cols
		// Axis labels are drawn here rather than by gonum/plot, which
		// places the label's glyph box at the arithmetic mid-range and so
		// mis-pads log axes.
		pc := draw.Crop(canvases[r][c], axisLabelStrip, 0, axisLabelStrip, 0)
		p.Draw(pc)
		data := p.DataCanvas(pc)
		yl := textStyle(labelSize, draw.XCenter, draw.YTop)
		yl.Rotation = math.Pi / 2 // reads upwards, to the right of the anchor
		dc.FillText(yl, vg.Point{X: pc.Min.X - axisLabelStrip, Y: (data.Min.Y + data.Max.Y) / 2}, l.s.Panels[i].Y.Label)
		dc.FillText(textStyle(labelSize, draw.XCenter, draw.YBottom),
			vg.Point{X: (data.Min.X + data.Max.X) / 2, Y: pc.Min.Y - axisLabelStrip}, l.s.Panels[i].X.Label)
		tile := tiles.At(area, c, r)
		top := tile.Max.Y + l.header
		if t := l.s.Panels[i].Title; t != "" {
			dc.FillText(textStyle(panelTitleSize, draw.XCenter, draw.YTop),
				vg.Point{X: (tile.Min.X + tile.Max.X) / 2, Y: top}, t)
			top -= vg.Points(panelTitleSize * 1.4)
		}
		drawLegend(dc, l.items[i], tile.Min.X, top, tile.Max.X-tile.Min.X)
	}
	return nil
}

// legendItem is one legend entry: a name and the thumbnails drawn
// (superimposed) before it.
type legendItem struct {
	name   string
	thumbs []plot.Thumbnailer
}

// Legend geometry, in points.
var (
	legendLine  = vg.Points(legendSize * 1.6)
	legendThumb = vg.Points(20)
	legendGap   = vg.Points(4)  // between thumbnail and text
	legendSep   = vg.Points(14) // between entries
)

// flowLegend lays entries out left to right, wrapping at width, and
// returns each entry's (x offset, row) and the number of rows.
func flowLegend(items []legendItem, width vg.Length) (pos [][2]vg.Length, rows int) {
	st := textStyle(legendSize, draw.XLeft, draw.YCenter)
	var x vg.Length
	row := 0
	for i, it := range items {
		w := legendThumb + legendGap + st.Width(it.name)
		if i > 0 && x+w > width {
			row++
			x = 0
		}
		pos = append(pos, [2]vg.Length{x, vg.Length(row)})
		x += w + legendSep
	}
	if len(items) == 0 {
		return nil, 0
	}
	return pos, row + 1
}

// drawLegend draws the entries in rows below top, starting at x0.
func drawLegend(dc draw.Canvas, items []legendItem, x0, top, width vg.Length) {
	pos, _ := flowLegend(items, width)
	st := textStyle(legendSize, draw.XLeft, draw.YCenter)
	for i, it := range items {
		x := x0 + pos[i][0]
		y := top - (pos[i][1]+0.5)*legendLine // centre of the row
		h := legendLine * 0.55
		icon := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: y - h/2}, Max: vg.Point{X: x + legendThumb, Y: y + h/2}}}
		for _, t := range it.thumbs {
			t.Thumbnail(&icon)
		}
		dc.FillText(st, vg.Point{X: x + legendThumb + legendGap, Y: y}, it.name)
	}
}

// drawable reports whether (x, y) can be drawn on the panel's axes.
func drawable(p *Panel, x, y float64) bool {
	ok := func(v float64, a *Axis) bool {
		return !math.IsNaN(v) && !math.IsInf(v, 0) && (a.Scale != Log || v > 0)
	}
	return ok(x, &p.X) && ok(y, &p.Y)
}

// dropped counts the points and band ends of p that cannot be drawn.
func dropped(p *Panel) int {
	n := 0
	for _, s := range p.Series {
		for i := range s.X {
			if !drawable(p, s.X[i], s.Y[i]) {
				n++
			}
			if s.Lo != nil && (!drawable(p, s.X[i], s.Lo[i]) || !drawable(p, s.X[i], s.Hi[i])) {
				n++
			}
		}
	}
	return n
}

// extent accumulates a data range.
type extent struct{ min, max float64 }

func newExtent() extent { return extent{math.Inf(1), math.Inf(-1)} }

func (e *extent) add(v float64) { e.min, e.max = math.Min(e.min, v), math.Max(e.max, v) }

// rangePad is the fraction of the data range added on each side of an
// axis whose range comes from the data, so that no point sits on a frame.
const rangePad = 0.04

// apply sets the axis range from the data extent (padded by rangePad), the
// category count, or the Axis's fixed range, making sure it is non-empty
// and valid for the scale.
func (e extent) apply(pa *plot.Axis, a *Axis) {
	switch {
	case a.Min < a.Max:
		pa.Min, pa.Max = a.Min, a.Max
		return
	case len(a.Categories) > 0:
		e.add(-0.5)
		e.add(float64(len(a.Categories)) - 0.5)
		pa.Min, pa.Max = e.min, e.max
		return
	}
	if e.min > e.max { // no data
		e = extent{0, 1}
		if a.Scale == Log {
			e = extent{1, 10}
		}
	}
	if a.Scale == Log {
		if e.min == e.max {
			e = extent{e.min / 2, e.max * 2}
		}
		f := math.Pow(e.max/e.min, rangePad)
		pa.Min, pa.Max = e.min/f, e.max*f
		return
	}
	if e.min == e.max {
		d := math.Max(math.Abs(e.min)*0.1, 0.5)
		e = extent{e.min - d, e.max + d}
	}
	d := (e.max - e.min) * rangePad
	pa.Min, pa.Max = e.min-d, e.max+d
}

// panel builds the gonum plot of one panel.
func (l *layout) panel(p *Panel) (*plot.Plot, []legendItem, error) {
	pl := plot.New()
	for _, ax := range []struct {
		pa  *plot.Axis
		a   *Axis
		rot bool
	}{{&pl.X, &p.X, false}, {&pl.Y, &p.Y, true}} {
		if ax.rot {
			ax.pa.Tick.Label = textStyle(tickSize, draw.XRight, draw.YCenter)
		} else {
			ax.pa.Tick.Label = textStyle(tickSize, draw.XCenter, draw.YTop)
		}
		switch {
		case len(ax.a.Categories) > 0:
			ticks := make(plot.ConstantTicks, len(ax.a.Categories))
			for i, c := range ax.a.Categories {
				ticks[i] = plot.Tick{Value: float64(i), Label: c}
			}
			ax.pa.Tick.Marker = ticks
		case ax.a.Scale == Log:
			ax.pa.Scale = plot.LogScale{}
			ax.pa.Tick.Marker = logTicks{}
		}
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = gridColour, gridColour
	pl.Add(grid)

	xe, ye := newExtent(), newExtent()
	if im := p.Image; im != nil {
		// Cell indices are not worth ticks.
		pl.X.Tick.Marker, pl.Y.Tick.Marker = plot.ConstantTicks{}, plot.ConstantTicks{}
		hm, err := heatMap(im)
		if err != nil {
			return nil, nil, err
		}
		pl.Add(hm)
		xe.add(-0.5)
		xe.add(float64(im.Cols) - 0.5)
		ye.add(-0.5)
		ye.add(float64(im.Rows) - 0.5)
	}
	// Bands first so that every line and point is drawn over them.
	var legend []legendItem
	bands := make([]*plotter.Polygon, len(p.Series))
	for i := range p.Series {
		s := &p.Series[i]
		if s.Lo == nil {
			continue
		}
		var lo, hi plotter.XYs
		for j := range s.X {
			if drawable(p, s.X[j], s.Lo[j]) && drawable(p, s.X[j], s.Hi[j]) {
				lo = append(lo, plotter.XY{X: s.X[j], Y: s.Lo[j]})
				hi = append(hi, plotter.XY{X: s.X[j], Y: s.Hi[j]})
				xe.add(s.X[j])
				ye.add(s.Lo[j])
				ye.add(s.Hi[j])
			}
		}
		if len(lo) < 2 {
			continue // a band needs two x positions; the points still show
		}
		ring := append(lo, reversed(hi)...)
		poly, err := plotter.NewPolygon(ring)
		if err != nil {
			return nil, nil, fmt.Errorf("series %q band: %w", s.Name, err)
		}
		c := l.seriesColour(s)
		poly.Color = withAlpha(c, 0x38)
		poly.LineStyle.Width = 0
		bands[i] = poly
		pl.Add(poly)
	}
	for i := range p.Series {
		s := &p.Series[i]
		var pts plotter.XYs
		for j := range s.X {
			if drawable(p, s.X[j], s.Y[j]) {
				pts = append(pts, plotter.XY{X: s.X[j], Y: s.Y[j]})
				xe.add(s.X[j])
				ye.add(s.Y[j])
			}
		}
		c := l.seriesColour(s)
		var thumbs []plot.Thumbnailer
		if bands[i] != nil {
			thumbs = append(thumbs, bands[i])
		}
		if len(pts) > 0 && (s.Style == Line || s.Style == LinePoints) {
			ln, err := plotter.NewLine(pts)
			if err != nil {
				return nil, nil, fmt.Errorf("series %q: %w", s.Name, err)
			}
			ln.LineStyle = draw.LineStyle{Color: c, Width: vg.Points(1.6)}
			if s.Dashed {
				ln.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			pl.Add(ln)
			thumbs = append(thumbs, ln)
		}
		if len(pts) > 0 && (s.Style == Points || s.Style == LinePoints) {
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, nil, fmt.Errorf("series %q: %w", s.Name, err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.6), Shape: glyphs[((s.Glyph%len(glyphs))+len(glyphs))%len(glyphs)]}
			pl.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if s.Name != "" && len(thumbs) > 0 {
			legend = append(legend, legendItem{s.Name, thumbs})
		}
	}
	for _, m := range p.Markers {
		if drawable(p, m.X, 1) {
			pl.Add(marker{m})
			xe.add(m.X)
		}
	}
	xe.apply(&pl.X, &p.X)
	ye.apply(&pl.Y, &p.Y)
	if p.HideLegend {
		legend = nil
	}
	return pl, legend, nil
}

func reversed(xys plotter.XYs) plotter.XYs {
	out := make(plotter.XYs, len(xys))
	for i, p := range xys {
		out[len(xys)-1-i] = p
	}
	return out
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	// Premultiplied alpha, as color.RGBA requires.
	f := func(v uint32) uint8 { return uint8(v >> 8 * uint32(a) / 0xFF) }
	return color.RGBA{f(r), f(g), f(b), a}
}

// marker draws a labelled vertical line across the data area.
type marker struct{ m Marker }

func (mk marker) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(mk.m.X)
	if x < c.Min.X || x > c.Max.X {
		return
	}
	c.StrokeLine2(draw.LineStyle{Color: markerColour, Width: vg.Points(1),
		Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}, x, c.Min.Y, x, c.Max.Y)
	if mk.m.Label != "" {
		// Rotated a quarter turn: the label reads upwards, just right of
		// the line, ending just below the top of the data area.
		st := textStyle(markerSize, draw.XRight, draw.YTop)
		st.Color = markerColour
		st.Rotation = math.Pi / 2
		c.FillText(st, vg.Point{X: x - vg.Points(1), Y: c.Max.Y - vg.Points(3)}, mk.m.Label)
	}
}

// grid adapts an Image to plotter.GridXYZ.
type grid struct{ im *Image }

func (g grid) Dims() (c, r int)   { return g.im.Cols, g.im.Rows }
func (g grid) Z(c, r int) float64 { return g.im.Values[(g.im.Rows-1-r)*g.im.Cols+c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// heatMap builds the plotter of an image: diverging images get a
// blue-white-red scale symmetric around 0, others a sequential scale over
// their range.
func heatMap(im *Image) (*plotter.HeatMap, error) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range im.Values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		lo, hi = 0, 1
	}
	var cm palette.ColorMap
	if im.Diverging {
		m := math.Max(math.Abs(lo), math.Abs(hi))
		if m == 0 {
			m = 1
		}
		lo, hi = -m, m
		cm = moreland.SmoothBlueRed()
	} else {
		if lo == hi {
			lo, hi = lo-0.5, hi+0.5
		}
		cm = moreland.Kindlmann()
	}
	cm.SetMin(lo)
	cm.SetMax(hi)
	hm := plotter.NewHeatMap(grid{im}, cm.Palette(255))
	hm.Min, hm.Max = lo, hi
	hm.NaN = color.Gray{0xC0}
	return hm, nil
}

// logTicks labels powers of ten, and 2x and 5x multiples as well when the
// range spans few decades, so that every log axis has at least two labels.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max >= min) {
		return nil
	}
	lo, hi := int(math.Floor(math.Log10(min))), int(math.Ceil(math.Log10(max)))
	in := func(v float64) bool { return v >= min*(1-1e-9) && v <= max*(1+1e-9) }
	build := func(labelled func(m int) bool) ([]plot.Tick, int) {
		var ticks []plot.Tick
		n := 0
		for e := lo; e <= hi; e++ {
			for m := 1; m <= 9; m++ {
				v := float64(m) * math.Pow(10, float64(e))
				if !in(v) {
					continue
				}
				t := plot.Tick{Value: v}
				if labelled(m) {
					t.Label = formatTick(v)
					n++
				}
				ticks = append(ticks, t)
			}
		}
		return ticks, n
	}
	for _, labelled := range []func(int) bool{
		func(m int) bool { return m == 1 },
		func(m int) bool { return m == 1 || m == 2 || m == 5 },
		func(int) bool { return true },
	} {
		if t, n := build(labelled); n >= 2 {
			return t
		}
	}
	// Less than one step of the finest ticks: label the ends, rounded to
	// three significant digits (the values themselves are arbitrary).
	round := func(v float64) float64 { r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64); return r }
	return []plot.Tick{{Value: min, Label: formatTick(round(min))}, {Value: max, Label: formatTick(round(max))}}
}

// formatTick prints a log-axis tick compactly: 0.02, 500, 1e6, 2e-05.
func formatTick(v float64) string {
	if v >= 1e-3 && v < 1e5 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "e" + exp
}

// glyphs are the point shapes of Series.Glyph, in order.
var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.RingGlyph{},
	draw.BoxGlyph{}, draw.CrossGlyph{}}

package figure

import (
	"slices"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// pdfEpoch is the creation and modification date written into every PDF
// figure: the Unix epoch, as with SOURCE_DATE_EPOCH=0. The PDF writer
// (fpdf, used by gonum/plot's vgpdf) otherwise stamps the wall-clock time,
// which would make the same figure differ from run to run.
var pdfEpoch = time.Unix(0, 0).UTC()

// pdfDefaults makes fpdf's output a function of the drawing alone: a fixed
// date (pdfEpoch), and fonts and images (kept in maps) written in sorted
// order rather than in Go's randomised map order, which matters as soon as
// a figure uses more than one font or image. vgpdf creates
// its fpdf document internally, so these are fpdf's package defaults,
// read when a document is created; nothing else in bfc writes PDFs.
func pdfDefaults() {
	fpdf.SetDefaultCreationDate(pdfEpoch)
	fpdf.SetDefaultModificationDate(pdfEpoch)
	fpdf.SetDefaultCatalogSort(true)
}

func init() { pdfDefaults() }

// The PDF writer encodes text in code page 1252 (Windows Western), the
// only encoding vgpdf embeds fonts with, and vgpdf passes strings through
// unconverted. So RenderPDF draws a copy of the Spec whose texts hold only
// characters that cp1252 has (Greek letters, sub- and superscript digits
// and a few signs are spelled out in ASCII, before layout so that every
// width is measured on the text actually drawn), through a canvas that
// converts each string to cp1252 bytes as it is drawn.

// pdfSpelling spells out the characters of figure texts that cp1252 lacks.
var pdfSpelling = map[rune]string{
	'α': "alpha", 'β': "beta", 'γ': "gamma", 'δ': "delta", 'ε': "eps", 'θ': "theta", 'λ': "lambda", 'μ': "mu",
	'ρ': "rho", 'σ': "sigma", 'τ': "tau", 'φ': "phi", 'ψ': "psi", 'ω': "omega", 'Γ': "Gamma", 'Θ': "Theta",
	'Σ': "Sigma", 'Ω': "Omega", '−': "-", '→': "->", '←': "<-", '≤': "<=", '≥': ">=", '≈': "~", '‖': "||",
	'∞': "inf", '√': "sqrt", '∝': "~",
}

// pdfSub and pdfSuper are the sub- and superscript digits cp1252 lacks
// (it has ¹, ² and ³), spelled "_12" and "^4".
var (
	pdfSub   = []rune("₀₁₂₃₄₅₆₇₈₉")
	pdfSuper = []rune("⁰⁴⁵⁶⁷⁸⁹⁻")
)

// cp1252High maps the runes cp1252 puts at bytes 0x80-0x9F; bytes
// 0xA0-0xFF are the runes U+00A0-U+00FF.
var cp1252High = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88, '‰': 0x89,
	'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95,
	'–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// inCP1252 reports whether cp1252 can encode r.
func inCP1252(r rune) bool {
	_, high := cp1252High[r]
	return r < 0x80 || r >= 0xA0 && r <= 0xFF || high
}

// pdfText spells out the characters of s that cp1252 lacks (a character
// with no spelling becomes "?").
func pdfText(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if j := slices.Index(pdfSub, r); j >= 0 {
			b.WriteByte('_')
			for ; i < len(rs) && slices.Contains(pdfSub, rs[i]); i++ {
				b.WriteByte('0' + byte(slices.Index(pdfSub, rs[i])))
			}
			i--
			continue
		}
		if slices.Contains(pdfSuper, r) {
			b.WriteByte('^')
			for ; i < len(rs) && (slices.Contains(pdfSuper, rs[i]) || strings.ContainsRune("¹²³", rs[i])); i++ {
				b.WriteString(strings.NewReplacer("⁰", "0", "¹", "1", "²", "2", "³", "3", "⁴", "4", "⁵", "5", "⁶", "6",
					"⁷", "7", "⁸", "8", "⁹", "9", "⁻", "-").Replace(string(rs[i])))
			}
			i--
			continue
		}
		switch sp, ok := pdfSpelling[r]; {
		case ok:
			b.WriteString(sp)
		case inCP1252(r):
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// toCP1252 encodes s, which holds only characters cp1252 has, as cp1252.
func toCP1252(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch c, high := cp1252High[r]; {
		case high:
			b = append(b, c)
		case r <= 0xFF && inCP1252(r):
			b = append(b, byte(r))
		default:
			b = append(b, '?')
		}
	}
	return string(b)
}

// pdfSpec returns a copy of s whose texts pdfText has spelled out.
func pdfSpec(s *Spec) *Spec {
	c := *s
	c.Title = pdfText(s.Title)
	c.Notes = make([]string, len(s.Notes))
	for i, n := range s.Notes {
		c.Notes[i] = pdfText(n)
	}
	c.Panels = make([]Panel, len(s.Panels))
	for i, p := range s.Panels {
		p.Title = pdfText(p.Title)
		for _, a := range []*Axis{&p.X, &p.Y} {
			a.Label = pdfText(a.Label)
			cats := make([]string, len(a.Categories))
			for j, cat := range a.Categories {
				cats[j] = pdfText(cat)
			}
			if a.Categories != nil {
				a.Categories = cats
			}
		}
		p.Series = slices.Clone(p.Series)
		for j := range p.Series {
			p.Series[j].Name, p.Series[j].Group = pdfText(p.Series[j].Name), pdfText(p.Series[j].Group)
		}
		p.Markers = slices.Clone(p.Markers)
		for j := range p.Markers {
			p.Markers[j].Label = pdfText(p.Markers[j].Label)
		}
		c.Panels[i] = p
	}
	return &c
}

// cp1252Canvas converts every string to cp1252 as it is drawn.
type cp1252Canvas struct{ vg.CanvasSizer }

func (c cp1252Canvas) FillString(f font.Face, pt vg.Point, s string) {
	c.CanvasSizer.FillString(f, pt, toCP1252(s))
}

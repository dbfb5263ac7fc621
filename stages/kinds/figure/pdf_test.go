package figure

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

var mediaBox = regexp.MustCompile(`/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]`)

// TestRenderPDF checks that the PDF of a Spec is a one-page PDF of the
// layout's size, carries the fixed date instead of the clock's, and is the
// same bytes however often, and on however many goroutines, it is drawn.
func TestRenderPDF(t *testing.T) {
	want, err := RenderPDF(fullSpec())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(want, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(want), []byte("%%EOF")) {
		t.Fatalf("not a PDF: starts %q, ends %q", want[:min(8, len(want))], want[max(0, len(want)-8):])
	}
	if n := bytes.Count(want, []byte("/Type /Page\n")) + bytes.Count(want, []byte("/Type /Page ")); n != 1 {
		t.Errorf("%d pages, want 1", n)
	}
	m := mediaBox.FindSubmatch(want)
	if m == nil {
		t.Fatal("no /MediaBox")
	}
	l := newLayout(fullSpec())
	for i, wantPt := range []vg.Length{l.w, l.h} {
		got, _ := strconv.ParseFloat(string(m[i+1]), 64)
		// fpdf prints sizes with two decimals.
		if d := got - wantPt.Points(); d < -0.006 || d > 0.006 {
			t.Errorf("MediaBox side %d = %s pt, layout says %.3f pt", i, m[i+1], wantPt.Points())
		}
	}
	for _, date := range []string{"/CreationDate (D:19700101000000)", "/ModDate (D:19700101000000)"} {
		if !bytes.Contains(want, []byte(date)) {
			t.Errorf("PDF lacks %s", date)
		}
	}

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 4} {
		runtime.GOMAXPROCS(procs)
		var wg sync.WaitGroup
		got := make([][]byte, 4)
		errs := make([]error, 4)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = RenderPDF(fullSpec())
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !bytes.Equal(got[i], want) {
				t.Errorf("GOMAXPROCS=%d, render %d: %d bytes differ from the first render (%d bytes)", procs, i, len(got[i]), len(want))
			}
		}
	}
}

// TestRenderPDFRejectsBadSpec: a Spec that fails Check is an error, as for
// Render.
func TestRenderPDFRejectsBadSpec(t *testing.T) {
	s := fullSpec()
	s.Panels[0].Series[0].Y = s.Panels[0].Series[0].Y[:2] // X and Y lengths differ
	if _, err := RenderPDF(s); err == nil {
		t.Error("RenderPDF accepted a series whose X and Y lengths differ")
	}
}

// TestKindPublishesPDF: the figure kind publishes <name>.pdf next to the
// SVG and PNG, and it is exactly RenderPDF of the plot's Spec.
func TestKindPublishesPDF(t *testing.T) {
	ins := targetGrid(t, []int64{3}, []float64{0.2, 0.5}, 1)
	env := kittest.NewEnv(t, Kind{}, map[string]any{"plot": "E0-information-gap"}, 1, ins...)
	if err := (Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	pub := env.Published()
	for _, ext := range []string{"svg", "png", "pdf"} {
		if len(pub["figures/E0-information-gap."+ext]) == 0 {
			t.Errorf("nothing published as figures/E0-information-gap.%s (have %v)", ext, keys(pub))
		}
	}
	spec, err := buildSpec(env)
	if err != nil {
		t.Fatal(err)
	}
	want, err := RenderPDF(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := pub["figures/E0-information-gap.pdf"]; !bytes.Equal(got, want) {
		t.Errorf("published PDF (%d bytes) differs from RenderPDF of the plot's spec (%d bytes)", len(got), len(want))
	}
}

func BenchmarkRenderPDF(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := RenderPDF(fullSpec()); err != nil {
			b.Fatal(fmt.Errorf("render: %w", err))
		}
	}
}

// TestPDFText: characters code page 1252 lacks are spelled out, the ones
// it has are kept and encoded as its bytes.
func TestPDFText(t *testing.T) {
	for _, c := range []struct{ in, spelled, cp string }{
		{"epoch", "epoch", "epoch"},
		{"feature error ε₂", "feature error eps_2", "feature error eps_2"},
		{"α_l = γ^(l−2)", "alpha_l = gamma^(l-2)", "alpha_l = gamma^(l-2)"},
		{"E0: gap — share", "E0: gap — share", "E0: gap \x97 share"},
		{"||S*_l||² × 10⁻⁵", "||S*_l||² × 10^-5", "||S*_l||\xb2 \xd7 10^-5"},
		{"ε₁₂ → ‖x‖", "eps_12 -> ||x||", "eps_12 -> ||x||"},
		{"§3 ±1 é", "§3 ±1 é", "\xa73 \xb11 \xe9"},
		{"苏", "?", "?"},
	} {
		if got := pdfText(c.in); got != c.spelled {
			t.Errorf("pdfText(%q) = %q, want %q", c.in, got, c.spelled)
		}
		if got := toCP1252(pdfText(c.in)); got != c.cp {
			t.Errorf("toCP1252(pdfText(%q)) = %q, want %q", c.in, got, c.cp)
		}
	}
}

// TestPDFSpecLeavesSpecAlone: RenderPDF spells out a copy; the Spec that
// the SVG, the PNG and the data table are made from keeps its texts.
func TestPDFSpecLeavesSpecAlone(t *testing.T) {
	s := fullSpec()
	s.Title = "ε₂ — γ"
	s.Panels[0].Series[0].Name = "λ"
	s.Panels[1].X.Categories[0] = "α"
	s.Panels[0].Markers[0].Label = "layer 3 → on"
	if _, err := RenderPDF(s); err != nil {
		t.Fatal(err)
	}
	if s.Title != "ε₂ — γ" || s.Panels[0].Series[0].Name != "λ" || s.Panels[1].X.Categories[0] != "α" ||
		s.Panels[0].Markers[0].Label != "layer 3 → on" {
		t.Errorf("RenderPDF changed the Spec: %q %q %q %q", s.Title, s.Panels[0].Series[0].Name,
			s.Panels[1].X.Categories[0], s.Panels[0].Markers[0].Label)
	}
	p := pdfSpec(s)
	if p.Title != "eps_2 — gamma" || p.Panels[0].Series[0].Name != "lambda" || p.Panels[1].X.Categories[0] != "alpha" ||
		p.Panels[0].Markers[0].Label != "layer 3 -> on" {
		t.Errorf("pdfSpec did not spell out every text: %q %q %q %q", p.Title, p.Panels[0].Series[0].Name,
			p.Panels[1].X.Categories[0], p.Panels[0].Markers[0].Label)
	}
}

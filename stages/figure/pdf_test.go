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
	spec, err := plots["E0-information-gap"](env)
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

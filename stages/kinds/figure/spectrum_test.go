package figure

import (
	"fmt"
	"testing"

	"github.com/bfc-repro/bfc/stages/kinds/spectrum"
	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// spectrumOf runs a tiny target and its spectrum stage.
func spectrumOf(t *testing.T, d, L int, seed int64) kit.Input {
	t.Helper()
	tg := kittest.NewEnv(t, target.Kind{}, map[string]any{"d": int64(d), "k": int64(2), "L": int64(L), "n_train": int64(50),
		"n_test": int64(10), "norm_samples": int64(2000)}, seed)
	if err := (target.Kind{}).Run(tg); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"d": fmt.Sprint(d), "seed": fmt.Sprint(seed)}
	env := kittest.NewEnv(t, spectrum.Kind{}, nil, 1, tg.AsInput(labels))
	if err := (spectrum.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(labels)
}

// TestE5Spectrum: one panel per L, one series per target with its shares
// at degrees 1..2^L, a colour per d, a glyph per seed, a log y axis.
func TestE5Spectrum(t *testing.T) {
	var ins []kit.Input
	for _, d := range []int{3, 4} {
		for _, s := range []int64{1, 2} {
			ins = append(ins, spectrumOf(t, d, 2, s))
		}
	}
	ins = append(ins, spectrumOf(t, 3, 3, 1))
	spec := plotEnv(t, "E5-spectrum", nil, ins)
	if len(spec.Panels) != 2 || spec.Panels[0].Y.Scale != Log {
		t.Fatalf("%d panels, y scale %v", len(spec.Panels), spec.Panels[0].Y.Scale)
	}
	p := spec.Panels[0]
	if len(p.Series) != 4 || len(spec.Panels[1].Series) != 1 {
		t.Fatalf("%d and %d series", len(p.Series), len(spec.Panels[1].Series))
	}
	for i, in := range ins[:4] {
		s, err := spectrum.Read(in)
		if err != nil {
			t.Fatal(err)
		}
		sr := seriesNamed(t, p, fmt.Sprintf("d = %d, seed %s", s.Summary.D, in.Labels()["seed"]))
		if sr.Group != fmt.Sprintf("d = %d", s.Summary.D) || sr.Glyph != i%2 || len(sr.X) != 4 {
			t.Errorf("series %q: group %q glyph %d, %d points", sr.Name, sr.Group, sr.Glyph, len(sr.X))
		}
		for j := range sr.X {
			if q := j + 1; sr.X[j] != float64(q) || sr.Y[j] != s.Degrees[q].Share {
				t.Errorf("series %q point %d: (%v, %v), want (%d, %v)", sr.Name, j, sr.X[j], sr.Y[j], q, s.Degrees[q].Share)
			}
		}
	}
	if m := p.Markers; len(m) != 1 || m[0].X != 2.5 {
		t.Errorf("markers %+v, want one at 2^(L-1) + 1/2 = 2.5", m)
	}
}

package hermite

import (
	"math"
	"testing"
)

// normalised returns a copy of tg whose weights are multiplied by the
// exact row scales of res: the weights a target stage would store.
func normalised(tg *Target, res *Result) *Target {
	out := *tg
	out.W = make([][][]float64, len(tg.W))
	for l := 2; l <= tg.L; l++ {
		out.W[l] = make([][]float64, len(tg.W[l]))
		for i, w := range tg.W[l] {
			n := len(w) / tg.K
			out.W[l][i] = make([]float64, len(w))
			for e, v := range w {
				out.W[l][i][e] = v * res.Scale[l][e/n]
			}
		}
	}
	return &out
}

// TestAsGivenAgainstQuadrature checks Options.AsGiven two ways: against tensor
// Gauss-Hermite quadrature of the target with its raw weights (no
// normalisation; exact for these degrees, see TestAgainstQuadrature),
// and on weights normalised beforehand, where it must reproduce the
// normalising analysis with Scale 1.
func TestAsGivenAgainstQuadrature(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d, k, L int
		mode    string
		center  bool
		gap     float64
		seed    uint64
	}{
		{"L2-skip0", 3, 2, 2, "skip0", true, 1, 11},
		{"L2-chain-uncentred", 2, 3, 2, "chain", false, 1, 12},
		{"L3-skip0", 2, 2, 3, "skip0", true, 0.3, 13},
		{"L3-dense", 2, 2, 3, "dense", true, 0.5, 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := randomTarget(tc.d, tc.k, tc.L, tc.mode, tc.center, tc.gap, tc.seed)
			got := mustAnalyze(t, tg, Options{AsGiven: true})
			want := quadrature(tg, 1<<tc.L+1, false)
			const tol = 1e-9
			for l := 2; l <= tc.L; l++ {
				for r := range tc.k {
					if got.Scale[l][r] != 1 || !closeTo(got.RowMean[l][r], want.rowMean[l][r], tol) {
						t.Errorf("layer %d row %d: scale %v mean %v, quadrature 1 %v", l, r, got.Scale[l][r], got.RowMean[l][r], want.rowMean[l][r])
					}
				}
				if !closeTo(got.TermMean[l], want.termMean[l], tol) {
					t.Errorf("E T_%d = %v, quadrature %v", l, got.TermMean[l], want.termMean[l])
				}
			}
			spec, v := got.Spectrum(), got.Var()
			for q := range spec {
				if math.Abs(spec[q]-want.spectrum[q]) > tol*v {
					t.Errorf("degree %d: %v, quadrature %v (Var %v)", q, spec[q], want.spectrum[q], v)
				}
			}

			norm := mustAnalyze(t, tg, Options{})
			pre := mustAnalyze(t, normalised(tg, norm), Options{AsGiven: true})
			if !closeTo(pre.Mean, norm.Mean, tol) || !closeTo(pre.Var(), norm.Var(), tol) {
				t.Errorf("pre-normalised: mean %v var %v, normalising analysis %v %v", pre.Mean, pre.Var(), norm.Mean, norm.Var())
			}
			for l := 2; l <= tc.L; l++ {
				for r := range tc.k {
					if !closeTo(pre.RawVar[l][r], 1, tol) {
						t.Errorf("pre-normalised layer %d row %d: variance %v, want 1", l, r, pre.RawVar[l][r])
					}
				}
			}
		})
	}
}

// TestLabels checks the label moments: the centring error is the exact
// mean minus the subtracted constant, the noise adds to Var(y) and to no
// degree, and the shares add up to VarG/VarY.
func TestLabels(t *testing.T) {
	tg := randomTarget(3, 2, 3, "skip0", true, 0.3, 21)
	res := mustAnalyze(t, tg, Options{})
	for _, tc := range []struct {
		name     string
		c, noise float64
	}{
		{"exact centring", res.Mean, 0},
		{"off by 0.1, noisy", res.Mean - 0.1, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lb, err := res.Labels(tc.c, tc.noise)
			if err != nil {
				t.Fatal(err)
			}
			wantMean := res.Mean - tc.c
			const tol = 1e-12
			if !closeTo(lb.Mean, wantMean, tol) || !closeTo(lb.Spectrum[0], wantMean*wantMean, tol) {
				t.Errorf("mean %v (degree 0: %v), want %v", lb.Mean, lb.Spectrum[0], wantMean)
			}
			if !closeTo(lb.VarY, res.Var()+tc.noise*tc.noise, tol) {
				t.Errorf("Var y %v, want %v + %v²", lb.VarY, res.Var(), tc.noise)
			}
			var sum float64
			for _, s := range lb.Shares() {
				sum += s
			}
			if !closeTo(sum, lb.VarG/lb.VarY, tol) || !closeTo(lb.ShareAbove(0), sum, tol) {
				t.Errorf("shares add to %v, ShareAbove(0) %v, want VarG/VarY = %v", sum, lb.ShareAbove(0), lb.VarG/lb.VarY)
			}
			if hi := lb.ShareAbove(4); !closeTo(hi*lb.VarY, res.ShareAbove(4)*res.Var(), tol) {
				t.Errorf("part above degree 4: %v, want %v", hi*lb.VarY, res.ShareAbove(4)*res.Var())
			}
		})
	}
	if _, err := res.Labels(math.NaN(), 0); err == nil {
		t.Error("a NaN constant gave no error")
	}
}

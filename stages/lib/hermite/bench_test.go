package hermite

import (
	"errors"
	"fmt"
	"testing"
)

// BenchmarkAnalyze is the cost table of the package doc: the exact
// spectrum of G* for the pipeline's targets (k = 3, skip0, centred) at
// the sizes listed, one thread. Run one size at a time, e.g.
//
//	go test -run '^$' -bench 'Analyze/L=3/d=12$' -benchtime 1x ./stages/lib/hermite
//
// under /usr/bin/time -v for the peak memory (maximum resident set size).
// It reports the number of Hermite terms of U_L (terms) and of the rows
// S*_L (rowterms).
func BenchmarkAnalyze(b *testing.B) {
	for _, c := range []struct{ L, d int }{
		{2, 8}, {2, 16}, {2, 32}, {2, 64},
		{3, 4}, {3, 6}, {3, 8}, {3, 10}, {3, 12}, {3, 16}, {3, 20},
		{4, 4}, {4, 6}, {4, 8},
		// Past the table: where exact stops being affordable.
		{3, 32}, {4, 10}, {4, 12},
	} {
		b.Run(fmt.Sprintf("L=%d/d=%d", c.L, c.d), func(b *testing.B) {
			tg := randomTarget(c.d, 3, c.L, "skip0", true, 0.3, 1)
			var res *Result
			for b.Loop() {
				var err error
				if res, err = Analyze(tg, Options{Threads: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Terms[c.L]), "terms")
		})
	}
}

// BenchmarkPartial times Analyze where U_L is refused (L = 4, d = 16): the
// normalisation, the means and the moments of T_2, T_3.
func BenchmarkPartial(b *testing.B) {
	tg := randomTarget(16, 3, 4, "skip0", true, 0.3, 1)
	var res *Result
	for b.Loop() {
		var err error
		var tl *TooLargeError
		if res, err = Analyze(tg, Options{Threads: 1}); !errors.As(err, &tl) {
			b.Fatalf("err = %v, want a *TooLargeError", err)
		}
	}
	b.ReportMetric(float64(res.Terms[3]), "terms")
}

// BenchmarkSquare times the squaring of U_3 of an L = 4, d = 6 target
// (1289 terms of degree 8 on up to 4 variables, the shape of a row of
// S*_4): the product that dominates L = 4.
func BenchmarkSquare(b *testing.B) {
	tg := randomTarget(6, 3, 4, "skip0", true, 0.3, 1)
	res, err := Analyze(tg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	p := res.U[3]
	for b.Loop() {
		if _, err := p.Square(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.Len()), "terms")
}

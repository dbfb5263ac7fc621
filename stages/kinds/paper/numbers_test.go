package paper

import (
	"math"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		f       string
		v       float64
		md, tex string
		shown   float64
	}{
		{"g3", 0.0064504, "0.00645", "0.00645", 0.00645},
		{"g2", 0.0064504, "0.0065", "0.0065", 0.0065},
		{"g2", 318.99, "320", "320", 320},
		{"g3", 12.0, "12", "12", 12},       // trailing zeros dropped
		{"g2", 0.05, "0.05", "0.05", 0.05}, // not 0.050
		{"g2", 2.6441e-05, "2.6×10⁻⁵", `\ensuremath{2.6\times10^{-5}}`, 2.6e-05},
		{"g3", 1.0e-5, "1×10⁻⁵", `\ensuremath{1\times10^{-5}}`, 1e-05},
		{"g2", 87702.3, "88000", "88000", 88000},
		{"g3", 123456, "1.23×10⁵", `\ensuremath{1.23\times10^{5}}`, 123000},
		{"g2", 99999, "1×10⁵", `\ensuremath{1\times10^{5}}`, 100000}, // rounds up out of the fixed range
		{"g2", 0.000999, "0.001", "0.001", 0.001},                    // rounds up into it
		{"g3", -0.5, "−0.5", `\ensuremath{-0.5}`, -0.5},
		{"g3", 0, "0", "0", 0},
		{"exact", 0.002, "0.002", "0.002", 0.002},
		{"exact", 1e-05, "1×10⁻⁵", `\ensuremath{1\times10^{-5}}`, 1e-05},
		{"exact", 20000, "20000", "20000", 20000},
		{"int", 5, "5", "5", 5},
		{"int", -3, "−3", `\ensuremath{-3}`, -3},
		{"pct0", 0.42979, "43%", `43\%`, 0.43},
		{"pct1", 0.8703, "87.0%", `87.0\%`, 0.87},
		{"pct1", 0.006, "0.6%", `0.6\%`, 0.006},
		{"pts2", 0.0132, "1.32", "1.32", 0.0132},
		{"pts2", -0.0020, "−0.20", `\ensuremath{-0.20}`, -0.002},
		{"pts2", -0.00001, "0.00", "0.00", 0}, // no negative zero
		{"f2", 1.005, "1.00", "1.00", 1},      // 1.005 is 1.00499999... in binary
		{"g3", nan, "n/a", "n/a", nan},
		{"pct0", math.Inf(1), "n/a", "n/a", nan},
	} {
		md, tex, shown, err := Format(c.f, c.v)
		if err != nil {
			t.Errorf("Format(%s, %v): %v", c.f, c.v, err)
			continue
		}
		if md != c.md || tex != c.tex || !sameFloat(shown, c.shown) && math.Abs(shown-c.shown) > 1e-15 {
			t.Errorf("Format(%s, %v) = %q, %q, %v; want %q, %q, %v", c.f, c.v, md, tex, shown, c.md, c.tex, c.shown)
		}
		back, err := ParseTeXNumber(tex, c.f)
		if err != nil || !sameFloat(back, shown) && math.Abs(back-shown) > 1e-12*math.Abs(shown) {
			t.Errorf("ParseTeXNumber(%q) = %v, %v; want the shown %v", tex, back, err, shown)
		}
		if err := roundedFrom(c.f, c.v, shown); err != nil {
			t.Errorf("roundedFrom: %v", err)
		}
	}
	for _, c := range []struct {
		f string
		v float64
	}{{"int", 2.5}, {"g4", 1}, {"", 1}} {
		if _, _, _, err := Format(c.f, c.v); err == nil {
			t.Errorf("Format(%q, %v) accepted", c.f, c.v)
		}
	}
}

// TestRoundedFromRejects: the check catches a shown value that is not the
// value rounded.
func TestRoundedFromRejects(t *testing.T) {
	for _, c := range []struct {
		f        string
		v, shown float64
	}{{"g2", 0.0064504, 0.0066}, {"pct0", 0.42979, 0.42}, {"int", 5, 6}, {"exact", 0.002, 0.0021}, {"g3", math.NaN(), 1}} {
		if err := roundedFrom(c.f, c.v, c.shown); err == nil {
			t.Errorf("roundedFrom(%s, %v, %v) accepted", c.f, c.v, c.shown)
		}
	}
}

func TestRecompute(t *testing.T) {
	for _, c := range []struct {
		op   string
		in   []float64
		want float64
	}{
		{OpValue, []float64{3}, 3},
		{OpMedian, []float64{5, 1, 3}, 3},
		{OpMedian, []float64{4, 1, 3, 2}, 2.5},
		{OpMin, []float64{5, 1, 3}, 1},
		{OpMax, []float64{5, 1, 3}, 5},
		{OpCount, []float64{9, 9, 9}, 3},
		{OpCount, nil, 0},
		{OpSum, []float64{9, 2, 3}, 14},
		{OpSum, nil, 0},
		{OpRatio, []float64{3, 4}, 0.75},
		{OpDiff, []float64{3, 4}, -1},
		// pairs (a, b): (1, 2), (3, 1), (10, 5)
		{OpMedianRatio, []float64{1, 2, 3, 1, 10, 5}, 2},
		{OpMedianDiff, []float64{1, 2, 3, 1, 10, 5}, 2},
		{OpMedianFall, []float64{1, 2, 3, 1, 10, 5}, 0.5}, // 1-2/1 = -1, 1-1/3, 1-5/10 = 0.5
		{OpMaxAbsDiff, []float64{1, 2, 3, 1, 10, 5}, 5},
		// groups a = {1, 2}, b = {3, 4}, c = {5, 6}: (3.5-1.5)/(5.5-1.5)
		{OpGapShare, []float64{1, 2, 3, 4, 5, 6}, 0.5},
	} {
		got, err := Recompute(c.op, c.in)
		if err != nil || math.Abs(got-c.want) > 1e-15 {
			t.Errorf("Recompute(%s, %v) = %v, %v; want %v", c.op, c.in, got, err, c.want)
		}
	}
	for _, c := range []struct {
		op string
		in []float64
	}{
		{OpValue, nil}, {OpValue, []float64{1, 2}}, {OpMedian, nil}, {OpMin, nil}, {OpMax, nil},
		{OpRatio, []float64{1}}, {OpDiff, []float64{1, 2, 3}}, {OpMedianRatio, []float64{1, 2, 3}},
		{OpMedianDiff, nil}, {OpMaxAbsDiff, []float64{1}}, {OpGapShare, []float64{1, 2}}, {"mean", []float64{1}},
	} {
		if _, err := Recompute(c.op, c.in); err == nil {
			t.Errorf("Recompute(%s, %v) accepted", c.op, c.in)
		}
	}
}

func TestBook(t *testing.T) {
	num := func(v float64) Cell { return Cell{Key: "k", Kind: "train", Table: "summary", Column: "x", Num: v} }
	text := Cell{Key: "k", Kind: "claims", Table: "claims", Column: "verdict", Str: "not reproduced", IsText: true, Num: math.NaN()}
	b := NewBook()
	b.Num("ClaimTwoValue", OpMedian, "g2", num(1), num(2), num(4))
	b.Text("ClaimTwoVerdict", text)
	b.List("Rows", "RowA", "RowB")
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	e, _ := b.Get("ClaimTwoValue")
	if e.Value != 2 || e.MD != "2" || len(e.Sources) != 3 {
		t.Errorf("entry %+v", e)
	}
	v, _ := b.Get("ClaimTwoVerdict")
	if v.TeX != "not reproduced" || !v.IsText() {
		t.Errorf("text entry %+v", v)
	}
	tex := string(NumbersTeX(b))
	for _, want := range []string{`\newcommand{\ClaimTwoValue}{2}`, `\newcommand{\ClaimTwoVerdict}{not reproduced}`} {
		if !strings.Contains(tex, want+"\n") {
			t.Errorf("numbers.tex lacks %s:\n%s", want, tex)
		}
	}
	for _, c := range []struct {
		name string
		add  func(b *Book)
	}{
		{"digit in name", func(b *Book) { b.Num("ClaimTwo2", OpValue, "g2", num(1)) }},
		{"lower-case start", func(b *Book) { b.Num("claim", OpValue, "g2", num(1)) }},
		{"duplicate", func(b *Book) { b.Num("A", OpValue, "g2", num(1)); b.Num("A", OpValue, "g2", num(1)) }},
		{"text as number", func(b *Book) { b.Num("A", OpValue, "g2", text) }},
		{"number as text", func(b *Book) { b.Text("A", num(1)) }},
		{"bad op arity", func(b *Book) { b.Num("A", OpRatio, "g2", num(1)) }},
		{"bad format", func(b *Book) { b.Num("A", OpValue, "g9", num(1)) }},
	} {
		b := NewBook()
		c.add(b)
		if b.Err() == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{letters(0), "A"}, {letters(25), "Z"}, {letters(26), "AA"}, {letters(27), "AB"}, {letters(701), "ZZ"}, {letters(702), "AAA"},
		{word(3), "Three"}, {word(20), "Twenty"}, {word(21), "NV"},
		{famDimAt.of("E", "B"), "EFiveDEAtEFiveLearnerB"}, {famFileCell.of("Time", "C", "Wall"), "TimeCWall"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

package paper

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// Cell is one value of an upstream artifact: a cell of an output table of
// an input point, or (Table "params", Row -1) one of its parameters.
type Cell struct {
	Key    string // stage key of the input point
	Kind   string // its kind
	Table  string // output table name, or "params"
	Row    int    // row index; -1 for a parameter
	Column string // column or parameter name
	Num    float64
	Str    string // string and boolean cells (Num is NaN); empty for numbers
	IsText bool
}

// paramTable is Cell.Table of a parameter.
const paramTable = "params"

func (c Cell) String() string {
	v := strconv.FormatFloat(c.Num, 'g', -1, 64)
	if c.IsText {
		v = strconv.Quote(c.Str)
	}
	return fmt.Sprintf("%s %s/%s[%d].%s = %s", c.Kind, shortKey(c.Key), c.Table, c.Row, c.Column, v)
}

func shortKey(k string) string { return k[:min(12, len(k))] }

// Entry is one number or text of the paper, with how it was computed.
// Value = Recompute(Op, values of Sources); the displayed forms MD and TeX
// show Shown, which is Value rounded as Format says.
type Entry struct {
	Name    string // LaTeX macro name (letters only)
	Op      string
	Format  string
	Value   float64 // NaN for text
	Shown   float64 // Value as displayed; NaN for text
	Text    string  // text entries: the artifact's string
	MD, TeX string  // the displayed forms
	Sources []Cell
}

// IsText reports whether e is a text entry (Op "text").
func (e *Entry) IsText() bool { return e.Op == OpText }

// Operations combining source cells into a number. Pairs are given as
// a0, b0, a1, b1, ...; groups as all a, then all b, then all c.
const (
	OpText        = "text"         // one string cell, shown as it is
	OpValue       = "value"        // the one source
	OpMedian      = "median"       // median of the sources
	OpMin         = "min"          // smallest source
	OpMax         = "max"          // largest source
	OpCount       = "count"        // number of sources (each identifies one item counted)
	OpSum         = "sum"          // sum of the sources (counts summed over rows)
	OpRatio       = "ratio"        // a / b
	OpDiff        = "diff"         // a - b
	OpMedianRatio = "median_ratio" // median over pairs of a_i / b_i
	OpMedianDiff  = "median_diff"  // median over pairs of a_i - b_i
	OpMedianFall  = "median_fall"  // median over pairs of 1 - b_i / a_i (relative decrease from a to b)
	OpGapShare    = "gap_share"    // three groups a, b, c: (median b - median a) / (median c - median a)
	OpMaxAbsDiff  = "max_abs_diff" // largest |a_i - b_i| over pairs
)

var ops = []string{OpText, OpValue, OpMedian, OpMin, OpMax, OpCount, OpSum, OpRatio, OpDiff, OpMedianRatio,
	OpMedianDiff, OpMedianFall, OpGapShare, OpMaxAbsDiff}

// Recompute evaluates op on the source values. It is what the paper stage
// uses to compute every number, and what tests use to check a number
// against the artifacts it names.
func Recompute(op string, v []float64) (float64, error) {
	pairs := func() (a, b []float64, err error) {
		if len(v) == 0 || len(v)%2 != 0 {
			return nil, nil, fmt.Errorf("%s needs a positive even number of sources, have %d", op, len(v))
		}
		for i := 0; i < len(v); i += 2 {
			a, b = append(a, v[i]), append(b, v[i+1])
		}
		return a, b, nil
	}
	perPair := func(f func(a, b float64) float64) ([]float64, error) {
		a, b, err := pairs()
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(a))
		for i := range a {
			out[i] = f(a[i], b[i])
		}
		return out, nil
	}
	need := func(n int) error {
		if len(v) != n {
			return fmt.Errorf("%s needs %d source(s), have %d", op, n, len(v))
		}
		return nil
	}
	nonEmpty := func() error {
		if len(v) == 0 {
			return fmt.Errorf("%s of no sources", op)
		}
		return nil
	}
	switch op {
	case OpValue:
		if err := need(1); err != nil {
			return math.NaN(), err
		}
		return v[0], nil
	case OpMedian:
		if err := nonEmpty(); err != nil {
			return math.NaN(), err
		}
		return metrics.Median(v), nil
	case OpMin:
		if err := nonEmpty(); err != nil {
			return math.NaN(), err
		}
		return slices.Min(v), nil
	case OpMax:
		if err := nonEmpty(); err != nil {
			return math.NaN(), err
		}
		return slices.Max(v), nil
	case OpCount:
		return float64(len(v)), nil
	case OpSum:
		var t float64
		for _, x := range v {
			t += x
		}
		return t, nil
	case OpRatio, OpDiff:
		if err := need(2); err != nil {
			return math.NaN(), err
		}
		if op == OpRatio {
			return v[0] / v[1], nil
		}
		return v[0] - v[1], nil
	case OpMedianRatio, OpMedianDiff, OpMedianFall:
		f := map[string]func(a, b float64) float64{
			OpMedianRatio: func(a, b float64) float64 { return a / b },
			OpMedianDiff:  func(a, b float64) float64 { return a - b },
			OpMedianFall:  func(a, b float64) float64 { return 1 - b/a },
		}[op]
		d, err := perPair(f)
		if err != nil {
			return math.NaN(), err
		}
		return metrics.Median(d), nil
	case OpMaxAbsDiff:
		d, err := perPair(func(a, b float64) float64 { return math.Abs(a - b) })
		if err != nil {
			return math.NaN(), err
		}
		return slices.Max(d), nil
	case OpGapShare:
		if len(v) == 0 || len(v)%3 != 0 {
			return math.NaN(), fmt.Errorf("%s needs three groups of equal size, have %d sources", op, len(v))
		}
		n := len(v) / 3
		a, b, c := metrics.Median(v[:n]), metrics.Median(v[n:2*n]), metrics.Median(v[2*n:])
		return (b - a) / (c - a), nil
	}
	return math.NaN(), fmt.Errorf("unknown operation %q", op)
}

// Book collects the entries of the paper. The first error (a bad name, a
// duplicate, an operation that fails) is kept and reported by Err; later
// calls are then no-ops, so building code need not check every call.
type Book struct {
	entries []*Entry
	byName  map[string]*Entry
	lists   map[string][]string
	facts   map[string]bool
	missing map[string]string // name prefix -> the input its section lacks
	err     error
}

// NewBook returns an empty book.
func NewBook() *Book {
	return &Book{byName: map[string]*Entry{}, lists: map[string][]string{}, facts: map[string]bool{}, missing: map[string]string{}}
}

// Fact records a yes/no the text chooses its words by (the template's
// fact NAME), decided in Go from entries of the book. Facts are not
// numbers of the paper: they make no macro and no row of the numbers
// table. Defining one twice is an error.
func (b *Book) Fact(name string, v bool) {
	if b.err != nil {
		return
	}
	if !macroName.MatchString(name) {
		b.fail(fmt.Errorf("fact name %q is not a macro-like name", name))
		return
	}
	if _, dup := b.facts[name]; dup {
		b.fail(fmt.Errorf("fact %s defined twice", name))
		return
	}
	b.facts[name] = v
}

var macroName = regexp.MustCompile(`^[A-Z][A-Za-z]*$`)

// Err returns the first error met while adding entries.
func (b *Book) Err() error { return b.err }

func (b *Book) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// add records e after checking its name.
func (b *Book) add(e *Entry) *Entry {
	if b.err != nil {
		return nil
	}
	if !macroName.MatchString(e.Name) {
		b.fail(fmt.Errorf("entry name %q is not a LaTeX macro name (a capital letter, then letters only)", e.Name))
		return nil
	}
	if _, dup := b.byName[e.Name]; dup {
		b.fail(fmt.Errorf("entry %s defined twice", e.Name))
		return nil
	}
	b.entries = append(b.entries, e)
	b.byName[e.Name] = e
	return e
}

// Num adds the number op(sources), displayed in format f.
func (b *Book) Num(name, op, f string, sources ...Cell) *Entry {
	if b.err != nil {
		return nil
	}
	vals := make([]float64, len(sources))
	for i, c := range sources {
		if c.IsText {
			b.fail(fmt.Errorf("entry %s: source %s is text, not a number", name, c))
			return nil
		}
		vals[i] = c.Num
	}
	v, err := Recompute(op, vals)
	if err != nil {
		b.fail(fmt.Errorf("entry %s: %w", name, err))
		return nil
	}
	md, tex, shown, err := Format(f, v)
	if err != nil {
		b.fail(fmt.Errorf("entry %s: %w", name, err))
		return nil
	}
	return b.add(&Entry{Name: name, Op: op, Format: f, Value: v, Shown: shown, MD: md, TeX: tex, Sources: sources})
}

// Text adds a string of an artifact, shown as it is (escaped for LaTeX).
func (b *Book) Text(name string, c Cell) *Entry {
	if b.err != nil {
		return nil
	}
	if !c.IsText {
		b.fail(fmt.Errorf("entry %s: source %s is a number, not text", name, c))
		return nil
	}
	return b.add(&Entry{Name: name, Op: OpText, Value: math.NaN(), Shown: math.NaN(), Text: c.Str,
		MD: escapeMarkdown(c.Str), TeX: EscapeTeX(c.Str), Sources: []Cell{c}})
}

// Missing records that the entries whose names start with prefix are not
// there because their section's input is not: what names the input the
// template is missing when it asks for one of them.
func (b *Book) Missing(prefix, what string) { b.missing[prefix] = what }

// whyMissing says which input the section of name lacks ("" if none).
func (b *Book) whyMissing(name string) string {
	best := ""
	for p := range b.missing {
		if strings.HasPrefix(name, p) && len(p) > len(best) {
			best = p
		}
	}
	return b.missing[best]
}

// Get returns the named entry.
func (b *Book) Get(name string) (*Entry, bool) { e, ok := b.byName[name]; return e, ok }

// Entries returns the entries in the order they were added.
func (b *Book) Entries() []*Entry { return slices.Clone(b.entries) }

// List records an ordered list of entry names under a list name (for
// the template to range over: the gaps of E4, the rows of a table).
func (b *Book) List(list string, names ...string) {
	b.lists[list] = append(b.lists[list], names...)
}

// Formats of numbers. Every format rounds; Shown is the rounded value.
//
//	g2, g3   2 or 3 significant digits, trailing zeros dropped; powers of
//	         ten outside [1e-3, 1e5)
//	exact    the shortest decimal that parses back to the value (parameters)
//	int      an integer (the value must be one)
//	f1..f4   1 to 4 decimals
//	pct0, pct1   a fraction as a percentage with 0 or 1 decimals ("43%")
//	pts1, pts2   a fraction as percentage points with 1 or 2 decimals, no sign ("1.3")
var formats = []string{"g2", "g3", "exact", "int", "f1", "f2", "f3", "f4", "pct0", "pct1", "pts1", "pts2"}

// Format displays v in format f, for Markdown and for LaTeX, and returns
// the value the display shows. NaN and infinities show as "n/a".
func Format(f string, v float64) (md, tex string, shown float64, err error) {
	if !slices.Contains(formats, f) {
		return "", "", 0, fmt.Errorf("unknown format %q (have %s)", f, strings.Join(formats, ", "))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a", "n/a", math.NaN(), nil
	}
	switch f {
	case "int":
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return "", "", 0, fmt.Errorf("format int: %v is not an integer", v)
		}
		s := strconv.FormatInt(int64(v), 10)
		return minusMD(s), texNumber(s), v, nil
	case "exact":
		s := strconv.FormatFloat(v, 'g', -1, 64)
		md, tex := sciForms(s)
		return md, tex, v, nil
	case "g2", "g3":
		p := int(f[1] - '0')
		s := strconv.FormatFloat(v, 'e', p-1, 64) // rounds to p significant digits
		shown, _ = strconv.ParseFloat(s, 64)
		if a := math.Abs(shown); a == 0 || (a >= 1e-3 && a < 1e5) {
			exp := 0
			if a != 0 {
				exp = int(math.Floor(math.Log10(a)))
			}
			s = trimZeros(strconv.FormatFloat(shown, 'f', max(0, p-1-exp), 64))
		} else {
			mant, e, _ := strings.Cut(s, "e")
			s = trimZeros(mant) + "e" + e
		}
		md, tex := sciForms(s)
		return md, tex, shown, nil
	}
	dec := int(f[len(f)-1] - '0')
	scale, suffixMD, suffixTeX := 1.0, "", ""
	switch f[:len(f)-1] {
	case "pct":
		scale, suffixMD, suffixTeX = 100, "%", `\%`
	case "pts":
		scale = 100
	}
	s := strconv.FormatFloat(v*scale, 'f', dec, 64)
	if s == "-0" || strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-")
	}
	x, _ := strconv.ParseFloat(s, 64)
	return minusMD(s) + suffixMD, texNumber(s) + suffixTeX, x / scale, nil
}

// trimZeros drops trailing zeros of a decimal fraction ("0.0500" -> "0.05").
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// sciForms turns a Go float string ("2.5e-05", "0.002", "-3") into its
// Markdown ("2.5×10⁻⁵") and LaTeX ("\ensuremath{2.5\times10^{-5}}") forms.
func sciForms(s string) (md, tex string) {
	mant, exp, ok := strings.Cut(s, "e")
	if !ok {
		return minusMD(s), texNumber(s)
	}
	e, _ := strconv.Atoi(exp)
	es := strconv.Itoa(e)
	return minusMD(mant) + "×10" + superscript(es), `\ensuremath{` + mant + `\times10^{` + es + `}}`
}

// minusMD writes a leading minus sign as the Unicode minus.
func minusMD(s string) string {
	if strings.HasPrefix(s, "-") {
		return "−" + s[1:]
	}
	return s
}

// texNumber wraps negative numbers in math mode so the minus is a minus.
func texNumber(s string) string {
	if strings.HasPrefix(s, "-") {
		return `\ensuremath{` + s + `}`
	}
	return s
}

func superscript(s string) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	sup := []rune(digits)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '-':
			b.WriteRune('⁻')
		case r >= '0' && r <= '9':
			b.WriteRune(sup[r-'0'])
		}
	}
	return b.String()
}

// escapeMarkdown protects the characters of an artifact string that
// Markdown would read as markup inside a sentence or a table cell.
func escapeMarkdown(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|#", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

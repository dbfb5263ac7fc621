package paper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
)

// Lookup returns the value an artifact holds for a source cell (Key,
// Kind, Table, Row and Column set): from the store, a bundle, or a test's
// inputs. It fills Num, Str and IsText.
type Lookup func(c Cell) (Cell, error)

var newcommandRE = regexp.MustCompile(`^\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}$`)

// ParseNumbersTeX returns the macros of a numbers.tex file, name -> body.
func ParseNumbersTeX(src []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "%") {
			continue
		}
		m := newcommandRE.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("numbers.tex line %d is not a \\newcommand: %q", n, line)
		}
		if _, dup := out[m[1]]; dup {
			return nil, fmt.Errorf("numbers.tex line %d defines \\%s again", n, m[1])
		}
		out[m[1]] = m[2]
	}
	return out, sc.Err()
}

var texNumberRE = regexp.MustCompile(`^(?:\\ensuremath\{)?(-?[0-9]+(?:\.[0-9]+)?)(?:\\times10\^\{(-?[0-9]+)\})?\}?(\\%)?$`)

// ParseTeXNumber reads back the number a LaTeX number text of format f
// shows ("0.0065", "\ensuremath{2.6\times10^{-5}}", "43\%",
// "\ensuremath{-0.20}"); percentages and percentage points (formats pct
// and pts) are returned as fractions. "n/a" is NaN.
func ParseTeXNumber(s, f string) (float64, error) {
	if s == "n/a" {
		return math.NaN(), nil
	}
	m := texNumberRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a number as the paper writes them", s)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	if m[2] != "" {
		e, _ := strconv.Atoi(m[2])
		v, err = strconv.ParseFloat(m[1]+"e"+strconv.Itoa(e), 64)
		if err != nil {
			return 0, err
		}
	}
	if (m[3] != "") != strings.HasPrefix(f, "pct") {
		return 0, fmt.Errorf("%q: a percent sign goes with the pct formats, not %s", s, f)
	}
	if strings.HasPrefix(f, "pct") || strings.HasPrefix(f, "pts") {
		v /= 100
	}
	return v, nil
}

// sameFloat compares values bit for bit, NaN equal to NaN.
func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// Check verifies the outputs of a paper stage against the artifacts they
// were computed from. numbersTeX is the published numbers.tex; numbers
// and sources are the stage's output tables. It checks that
//
//   - numbers.tex defines exactly the entries of the numbers table, each
//     with the table's LaTeX text;
//   - every source cell holds the value lookup returns for it now;
//   - every number is Recompute of its op over its sources, and its texts
//     and shown value are what Format makes of it; the LaTeX text, read
//     back, is the shown value, and the shown value is the value rounded
//     (within half a unit of its last digit);
//   - every text entry is its one source string, escaped.
//
// All problems are reported, joined, naming the entry.
func Check(numbersTeX []byte, numbers, sources arrow.Record, lookup Lookup) error {
	macros, err := ParseNumbersTeX(numbersTeX)
	if err != nil {
		return err
	}
	c := &checker{lookup: lookup}
	srcs := c.readSources(sources)
	seen := map[string]bool{}
	for r := 0; r < int(numbers.NumRows()); r++ {
		e, nsrc := c.readEntry(numbers, r)
		seen[e.Name] = true
		body, ok := macros[e.Name]
		switch {
		case !ok:
			c.fail("%s: in the numbers table but not defined in numbers.tex", e.Name)
		case body != e.TeX:
			c.fail("%s: numbers.tex says %q, the numbers table %q", e.Name, body, e.TeX)
		}
		cells := srcs[e.Name]
		if len(cells) != nsrc {
			c.fail("%s: %d sources listed, the numbers table says %d", e.Name, len(cells), nsrc)
		}
		c.checkEntry(e, cells)
	}
	for name := range macros {
		if !seen[name] {
			c.fail("%s: defined in numbers.tex but not in the numbers table", name)
		}
	}
	return errors.Join(c.errs...)
}

// checker collects every problem Check finds.
type checker struct {
	lookup Lookup
	errs   []error
}

func (c *checker) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// readSources reads the sources table, per entry in index order.
func (c *checker) readSources(sources arrow.Record) map[string][]Cell {
	srcs := map[string][]Cell{}
	for r := 0; r < int(sources.NumRows()); r++ {
		get := func(col string) (float64, string) {
			n, s, _, err := RecordCell(sources, r, col)
			if err != nil {
				c.fail("sources row %d: %v", r, err)
			}
			return n, s
		}
		_, name := get(ColName)
		idx, _ := get(ColIndex)
		_, kind := get(ColKind)
		_, key := get(ColKey)
		_, tab := get(ColTable)
		row, _ := get(ColRow)
		_, col := get(ColColumn)
		num, _ := get(ColNum)
		_, text := get(ColText)
		_, isText := get(ColIsText)
		if int(idx) != len(srcs[name]) {
			c.fail("sources row %d: entry %s source %d out of order", r, name, int(idx))
		}
		srcs[name] = append(srcs[name], Cell{Key: key, Kind: kind, Table: tab, Row: int(row), Column: col, Num: num, Str: text, IsText: isText == "true"})
	}
	return srcs
}

// readEntry reads row r of the numbers table and its count of sources.
func (c *checker) readEntry(numbers arrow.Record, r int) (Entry, int) {
	var e Entry
	var nsrc float64
	for _, f := range []struct {
		col string
		num *float64
		str *string
	}{{ColName, nil, &e.Name}, {ColOp, nil, &e.Op}, {ColFormat, nil, &e.Format}, {ColValue, &e.Value, nil},
		{ColShown, &e.Shown, nil}, {ColText, nil, &e.Text}, {ColMD, nil, &e.MD}, {ColTeX, nil, &e.TeX}, {ColSources, &nsrc, nil}} {
		n, s, _, err := RecordCell(numbers, r, f.col)
		if err != nil {
			c.fail("numbers row %d: %v", r, err)
		}
		if f.num != nil {
			*f.num = n
		} else {
			*f.str = s
		}
	}
	return e, int(nsrc)
}

// checkEntry checks e against its sources: each holds what the lookup
// says now, a text shows its one source, a number is its operation of
// them, formatted and rounded as its format says.
func (c *checker) checkEntry(e Entry, cells []Cell) {
	vals := make([]float64, len(cells))
	for i, cell := range cells {
		now, err := c.lookup(cell)
		switch {
		case err != nil:
			c.fail("%s: source %s: %v", e.Name, cell, err)
		case now.IsText != cell.IsText || now.Str != cell.Str || !sameFloat(now.Num, cell.Num):
			c.fail("%s: source %s now holds %s", e.Name, cell, now)
		}
		vals[i] = cell.Num
	}
	if e.Op == OpText {
		if len(cells) != 1 || !cells[0].IsText || cells[0].Str != e.Text || e.TeX != EscapeTeX(e.Text) || e.MD != escapeMarkdown(e.Text) {
			c.fail("%s: text entry %q does not show its source %v", e.Name, e.Text, cells)
		}
		return
	}
	v, err := Recompute(e.Op, vals)
	if err != nil {
		c.fail("%s: %v", e.Name, err)
		return
	}
	if !sameFloat(v, e.Value) {
		c.fail("%s: %s of the sources is %v, the numbers table says %v", e.Name, e.Op, v, e.Value)
	}
	md, tex, shown, err := Format(e.Format, v)
	if err != nil || md != e.MD || tex != e.TeX || !sameFloat(shown, e.Shown) {
		c.fail("%s: format %s of %v gives %q / %q / %v, the numbers table says %q / %q / %v (%v)", e.Name, e.Format, v,
			md, tex, shown, e.MD, e.TeX, e.Shown, err)
	}
	back, err := ParseTeXNumber(e.TeX, e.Format)
	if err != nil {
		c.fail("%s: %v", e.Name, err)
	} else if !sameFloat(back, e.Shown) && math.Abs(back-e.Shown) > 1e-12*math.Abs(e.Shown) {
		c.fail("%s: the LaTeX text %q reads back as %v, not the shown %v", e.Name, e.TeX, back, e.Shown)
	}
	if err := roundedFrom(e.Format, v, e.Shown); err != nil {
		c.fail("%s: %v", e.Name, err)
	}
}

// roundedFrom checks that shown is v rounded as format f rounds: within
// half a unit of the last digit shown.
func roundedFrom(f string, v, shown float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if !math.IsNaN(shown) {
			return fmt.Errorf("%v is shown as %v, not n/a", v, shown)
		}
		return nil
	}
	var unit float64
	switch {
	case f == "exact" || f == "int":
		unit = 0
	case f == "g2" || f == "g3":
		p := float64(f[1] - '0')
		if shown == 0 {
			unit = 0
		} else {
			unit = math.Pow(10, math.Floor(math.Log10(math.Abs(shown)))-p+1)
		}
	default: // f1..f4 (units), pct0/pct1 and pts1/pts2 (hundredths)
		dec := float64(f[len(f)-1] - '0')
		unit = math.Pow(10, -dec)
		if strings.HasPrefix(f, "pct") || strings.HasPrefix(f, "pts") {
			unit /= 100
		}
	}
	if d := math.Abs(shown - v); d > unit/2*(1+1e-9)+1e-15*math.Abs(v) {
		return fmt.Errorf("format %s shows %v for %v: off by %g, more than half a unit (%g)", f, shown, v, d, unit/2)
	}
	return nil
}

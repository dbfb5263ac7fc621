package paper

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
)

// testBook is a small book for template tests.
func testBook(t *testing.T) *Book {
	t.Helper()
	num := func(v float64) Cell { return Cell{Key: "k", Kind: "train", Table: "summary", Column: "x", Num: v} }
	text := func(s string) Cell {
		return Cell{Key: "k", Kind: "claims", Table: "claims", Column: "verdict", Str: s, IsText: true, Num: math.NaN()}
	}
	b := NewBook()
	b.Num("Ratio", OpValue, "g2", num(0.0064504))
	b.Num("Small", OpValue, "g2", num(2.6e-5))
	b.Num("Half", OpValue, "exact", num(0.5))
	b.Text("Verdict", text("not reproduced"))
	b.Text("Stat", text("eps2_joint/lower-only[L=3]"))
	b.Num("RowAX", OpValue, "int", num(1))
	b.Num("RowBX", OpValue, "int", num(2))
	b.List("Row", "RowA", "RowB")
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExecute(t *testing.T) {
	b := testBook(t)
	b.Fact("RatioBelowHalf", true)
	b.Fact("RatioAboveHalf", false)
	b.Fact("HalfIsHalf", true)
	figs := []string{"E1-feature-error"}
	src := `ratio {{n "Ratio"}}, {{n "Small"}}; {{if is "Verdict" "reproduced"}}yes{{else}}no: {{t "Verdict"}}{{end}};` +
		` {{if fact "RatioBelowHalf"}}below{{end}}{{if fact "RatioAboveHalf"}}above{{end}}{{if fact "HalfIsHalf"}}, same{{end}};` +
		` {{range $i, $r := list "Row"}}{{if $i}}, {{end}}{{n (print $r "X")}}{{end}} ({{first "Row"}}..{{last "Row"}});` +
		` {{c "Stat"}}; {{if has "Ratio" "Nope"}}has{{else}}has not{{end}}; {{if haslist "Row"}}list{{end}};` +
		` {{figref "E1-feature-error"}}` + "\n\n" + `{{figure "E1-feature-error" "The   caption."}}`
	md, err := execute(src, b, figs, markdownMode)
	if err != nil {
		t.Fatal(err)
	}
	wantMD := "ratio 0.0065, 2.6×10⁻⁵; no: not reproduced; below, same; 1, 2 (RowA..RowB); `eps2_joint/lower-only[L=3]`; " +
		"has not; list; Figure E1-feature-error\n\n![E1-feature-error](../figures/E1-feature-error.png)\n\n*Figure E1-feature-error.* The caption."
	if md != wantMD {
		t.Errorf("Markdown:\n got %q\nwant %q", md, wantMD)
	}
	texMD, err := execute(src, b, figs, latexMode)
	if err != nil {
		t.Fatal(err)
	}
	tex, err := ToLaTeX(texMD)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`ratio \Ratio{}, \Small{}; no: \Verdict{};`, `\RowAX{}, \RowBX{}`, `\texttt{\Stat{}}`,
		`Figure~\ref{fig:E1-feature-error}`, `\caption{The caption.}`} {
		if !strings.Contains(tex, want) {
			t.Errorf("LaTeX lacks %q:\n%s", want, tex)
		}
	}
	for _, bad := range []string{`{{n "Missing"}}`, `{{n "Verdict"}}`, `{{t "Ratio"}}`, `{{is "Ratio" "x"}}`, `{{fact "Missing"}}`,
		`{{list "Missing"}}`, `{{figure "E9-none" "x"}}`, `{{figref "E9-none"}}`, `{{first "Missing"}}`, `{{if}}`} {
		if _, err := execute(bad, b, figs, markdownMode); err == nil {
			t.Errorf("template %s executed without error", bad)
		}
	}
}

// allowedDigits are the identifiers in which the report's prose may hold
// digits: experiment ids (E0-E8, E8a), claim numbers (also as the items
// of the list of claims), layer, block and stage numbers, the schedule
// end2end, docs/science.md anchors, and the references. Every other digit
// would be a number typed by hand.
var allowedDigits = regexp.MustCompile(`\b[EC](10|[0-9][a-c]?)\b|[Cc]laims? [1-5]\b|^[1-5]\. |[Ll]ayers? [0-9]( and [0-9])?\b|` +
	`[Bb]locks? [0-9]\b|[Ss]tage[- ][0-9]\b|\bend2end\b|§[0-9]\b|arXiv:[0-9]{4}\.[0-9]{5}|COLT 2023`)

// TestTemplateTypesNoNumbers scans the report's template: outside template
// actions, $math$, raw LaTeX blocks and comments, no digit may appear
// except in the identifiers of allowedDigits.
func TestTemplateTypesNoNumbers(t *testing.T) {
	src, err := os.ReadFile("../../../paper/paper.md.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	if bad := typedNumbers(string(src)); len(bad) > 0 {
		t.Errorf("paper/paper.md.tmpl types numbers into its prose (use an entry):\n%s", strings.Join(bad, "\n"))
	}
	// The check itself catches a typed number.
	if bad := typedNumbers("The ratio is 0.43 at layer 2, see E1.\n"); len(bad) != 1 {
		t.Errorf("typedNumbers missed a typed number: %v", bad)
	}
}

var (
	actionRE   = regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	rawRE      = regexp.MustCompile("(?s)```\\{=latex\\}.*?```")
	mathRE     = regexp.MustCompile(`\$[^$\n]*\$`)
	commentRE2 = regexp.MustCompile(`(?s)<!--.*?-->`)
	digitRE    = regexp.MustCompile(`[0-9]+`)
)

// typedNumbers returns the lines of a template whose prose holds digits
// outside the allowed identifiers.
func typedNumbers(src string) []string {
	for _, re := range []*regexp.Regexp{actionRE, rawRE, commentRE2} {
		src = re.ReplaceAllString(src, " ")
	}
	var bad []string
	for i, line := range strings.Split(src, "\n") {
		rest := mathRE.ReplaceAllString(line, " ")
		rest = allowedDigits.ReplaceAllString(rest, " ")
		if digitRE.MatchString(rest) {
			bad = append(bad, fmt.Sprintf("%s   (line %d, actions removed)", strings.TrimSpace(line), i+1))
		}
	}
	return bad
}

// A reference to an entry, a list or has of a section whose input is
// missing fails with the missing input, not with silence.
func TestMissingSectionNamesItsInput(t *testing.T) {
	b := NewBook()
	b.Missing("EFive", "the paper stage gathers no scaling point")
	b.Num("EOneSeeds", OpValue, "int", Cell{Num: 3})
	for _, src := range []string{`{{n "EFiveL"}}`, `{{range list "EFiveD"}}{{end}}`, `{{if has "EFiveL"}}yes{{else}}no{{end}}`} {
		_, err := execute(src, b, nil, markdownMode)
		if err == nil || !strings.Contains(err.Error(), "gathers no scaling point") {
			t.Errorf("%s: err %v, want the missing scaling point named", src, err)
		}
	}
	out, err := execute(`{{if has "ESixNStar"}}yes{{else}}no{{end}} {{n "EOneSeeds"}}`, b, nil, markdownMode)
	if err != nil || out != "no 3" {
		t.Errorf("entries outside the missing section: %q, %v", out, err)
	}
}

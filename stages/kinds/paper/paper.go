// Package paper implements the stage kind "paper": it writes the report
// of the reproduction, filling every number of a hand-written text from
// the pipeline's artifacts.
//
// # Numbers with provenance
//
// Nothing the report states about results is typed into its text. The kind
// reads its gathered inputs (claims, targets, train and classify runs, the
// Fashion-MNIST data and published accuracies, the figure stages) and turns
// every value it needs into an Entry of a Book: a name (a LaTeX macro name
// such as ClaimTwoValue), an operation (value, median, min, ratio, median
// over seeds of a paired ratio, ...; see Recompute) and the source Cells it
// was computed from, each naming the input's stage key, the output table,
// the row and the column (or the parameter) it was read from. A display
// format (three significant digits, a percentage, an integer, ...) turns the
// value into the text shown. Texts of artifacts (verdicts, schedule names,
// the statistic of a claims row) are entries too. The stage writes two
// tables, "numbers" (one row per entry) and "sources" (one row per source
// cell), so that every number of the report can be recomputed from the
// artifacts it names: tests do exactly that.
//
// # One text, two formats
//
// The text is one Go template (param template, paper/paper.md.tmpl by
// default) that writes Markdown. It is executed twice. In Markdown mode an
// entry reference {{n "Name"}} writes the formatted number, and the result
// is published as paper/README.md, readable on a code-hosting site with the
// figures inline (../figures/*.png). In LaTeX mode the same reference writes
// the macro \Name{}, ToLaTeX converts the Markdown to LaTeX, and the result
// is published as paper/paper.tex, which includes ../figures/*.pdf; the
// macros are defined in paper/numbers.tex, one \newcommand per entry.
// The template computes nothing: its conditionals choose words by facts
// the builder decided from the entries (facts.go: fact NAME), by a text
// entry's word (is) or by whether an entry exists (has), and every entry
// name is a literal or comes from a family of names.go. A section whose
// input is not gathered makes the template fail naming that input. The
// template's tests reject digits in its prose outside a short list of
// identifiers (experiment ids, claim and layer numbers).
//
// # The HTML page
//
// The stage also publishes paper/index.html, one self-contained page
// rendered from the same Markdown as README.md (the template executed with
// every reference marked; see html.go), with the figures inlined as SVG,
// no external resource, and the provenance of every number and artifact
// text, its operation and the rows of the sources table, shown on hover,
// focus or click.
//
// # Inputs
//
// A paper stage gathers: exactly one "claims" point (the verdicts and the
// thresholds they were decided by); "target" points (E0: the points with
// both an "L" and a "gap" label; the targets of E1, E3 and E4 are found
// through the train runs' target_key); "train" points, placed as the claims
// kind places them (a "gap" label: E4; depth e1_depth: E1; depth e3_depth:
// E3; checkpoints, last_stage < L, are the shared stage-2 runs); "classify"
// points (E8), one "fmnist" and one "fmnist_published" point; at most one
// "scaling" point (E5 and E6: the median error curves of every learner of
// the sample-complexity sweep, N*(d) with its censoring, the fitted
// exponents; claim 4's rows come from the claims point) and at most one
// "collect" point (E7: two-layer networks against their width, with the
// deep learner on the same samples; see sample.go); and "figure" points,
// whose published file names the report includes. Two files besides
// the template are optional inputs: search, a hand record of the settings
// tried before the defaults were fixed (not reproducible from the
// artifacts, and said so in the text), and timings, a table of stage run
// times computed outside the pipeline from the run records, which a kind
// cannot read.
package paper

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
)

// Kind is the stage kind "paper".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "paper" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Writes the reproduction report from one template: paper/README.md (Markdown, figures inline), paper/paper.tex " +
		"and paper/numbers.tex (one LaTeX macro per number or artifact text), and paper/index.html (one self-contained page, " +
		"figures inlined, the provenance of every number on hover or click). Every number comes from the gathered " +
		"artifacts; outputs numbers and sources say where each came from."
}

// Params implements kit.Kind.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.StringParam("template", "paper/paper.md.tmpl", "the report's text: a Go template writing Markdown (relative to pipeline.toml)"),
		kit.StringParam("search", "paper/search.csv", `hand record of the settings tried before the defaults were fixed ("" for none)`),
		kit.StringParam("timings", "", `CSV of stage run times computed outside the pipeline from the run records ("" for none)`),
		kit.IntParam("level_window", 10, "epochs at the end of stage 2 over which its levelling off is measured").In(1, 1000),
	}
}

// config is the typed form of a paper stage's parameters.
type config struct {
	template, search, timings string
	levelWindow               int
}

func configOf(p kit.Params) config {
	return config{template: p.String("template"), search: p.String("search"), timings: p.String("timings"),
		levelWindow: p.Int("level_window")}
}

// Validate implements kit.Validator.
func (Kind) Validate(p kit.Params) error {
	if strings.TrimSpace(configOf(p).template) == "" {
		return kit.Errorf("template", "must name the report's template")
	}
	return nil
}

// Files implements kit.Filer: the template and the optional records.
func (Kind) Files(p kit.Params) []string {
	c := configOf(p)
	files := []string{c.template}
	for _, f := range []string{c.search, c.timings} {
		if f != "" {
			files = append(files, f)
		}
	}
	return files
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	cfg := configOf(env.Params())
	tmpl, err := env.ReadFile(cfg.template)
	if err != nil {
		return fmt.Errorf("paper: read template: %w", err)
	}
	bd := newBuilder(env, cfg)
	defer bd.release()
	if err := bd.build(); err != nil {
		return fmt.Errorf("paper: %w", err)
	}
	book := bd.b
	env.Logf("%d entries from %d inputs", len(book.Entries()), len(env.Inputs()))
	md, err := execute(string(tmpl), book, bd.figs, markdownMode)
	if err != nil {
		return fmt.Errorf("paper: %s (Markdown): %w", cfg.template, err)
	}
	texMD, err := execute(string(tmpl), book, bd.figs, latexMode)
	if err != nil {
		return fmt.Errorf("paper: %s (LaTeX): %w", cfg.template, err)
	}
	tex, err := ToLaTeX(texMD)
	if err != nil {
		return fmt.Errorf("paper: convert to LaTeX: %w", err)
	}
	page, err := htmlPage(env, string(tmpl), book, bd.figs, md)
	if err != nil {
		return fmt.Errorf("paper: %s (HTML): %w", cfg.template, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"README.md", []byte(md)}, {"paper.tex", []byte(tex)}, {"numbers.tex", NumbersTeX(book)}, {"index.html", page}} {
		if err := env.Publish(kit.Paper, f.name, f.data); err != nil {
			return fmt.Errorf("paper: publish %s: %w", f.name, err)
		}
	}
	nums, srcs, err := tables(book)
	if err != nil {
		return fmt.Errorf("paper: %w", err)
	}
	if err := env.Write(TableNumbers, nums); err != nil {
		return err
	}
	return env.Write(TableSources, srcs)
}

// NumbersTeX returns numbers.tex: one \newcommand per entry, in the order
// the entries were made.
func NumbersTeX(b *Book) []byte {
	var w bytes.Buffer
	w.WriteString("% Generated by the paper stage of bfc from the pipeline's artifacts; do not edit.\n")
	w.WriteString("% One macro per number or artifact text of paper.tex. The stage's output tables\n")
	w.WriteString("% \"numbers\" and \"sources\" (bfc export paper --output numbers) say where each came from.\n")
	for _, e := range b.Entries() {
		fmt.Fprintf(&w, "\\newcommand{\\%s}{%s}\n", e.Name, e.TeX)
	}
	return w.Bytes()
}

// tables returns the outputs "numbers" and "sources".
func tables(b *Book) (nums, srcs arrow.Record, err error) {
	var name, op, format, text, md, tex []string
	var value, shown []float64
	var nsrc []int
	var sName, sKind, sKey, sTable, sCol, sText []string
	var sIdx, sRow []int
	var sNum []float64
	var sIsText []bool
	for _, e := range b.Entries() {
		name, op, format, text, md, tex = append(name, e.Name), append(op, e.Op), append(format, e.Format),
			append(text, e.Text), append(md, e.MD), append(tex, e.TeX)
		value, shown, nsrc = append(value, e.Value), append(shown, e.Shown), append(nsrc, len(e.Sources))
		for i, c := range e.Sources {
			sName, sKind, sKey, sTable, sCol, sText = append(sName, e.Name), append(sKind, c.Kind), append(sKey, c.Key),
				append(sTable, c.Table), append(sCol, c.Column), append(sText, c.Str)
			sIdx, sRow, sNum, sIsText = append(sIdx, i), append(sRow, c.Row), append(sNum, c.Num), append(sIsText, c.IsText)
		}
	}
	nums, err = kit.NewTable().String(ColName, name).String(ColOp, op).String(ColFormat, format).Float64(ColValue, value).
		Float64(ColShown, shown).String(ColText, text).String(ColMD, md).String(ColTeX, tex).Ints(ColSources, nsrc).Record()
	if err != nil {
		return nil, nil, fmt.Errorf("numbers table: %w", err)
	}
	srcs, err = kit.NewTable().String(ColName, sName).Ints(ColIndex, sIdx).String(ColKind, sKind).String(ColKey, sKey).
		String(ColTable, sTable).Ints(ColRow, sRow).String(ColColumn, sCol).Float64(ColNum, sNum).String(ColText, sText).
		Bool(ColIsText, sIsText).Record()
	if err != nil {
		nums.Release()
		return nil, nil, fmt.Errorf("sources table: %w", err)
	}
	return nums, srcs, nil
}

package paper

import (
	"fmt"
	"slices"
	"strings"
	"text/template"
)

// mode is the output format a template execution writes for.
type mode int

const (
	markdownMode mode = iota
	latexMode
	htmlMode // the Markdown of markdownMode, with every reference marked (html.go)
)

// execute runs the report template against the book for one mode. The
// template functions are:
//
//	n NAME         a number: its Markdown text, or the macro \NAME{} (LaTeX)
//	t NAME         an artifact text, likewise
//	v NAME         a number or a text, whichever NAME is (rows of a file table)
//	c NAME         an artifact text as code (`text`, or \texttt{\NAME{}})
//	fact NAME      a yes/no the builder decided from the entries (Book.Fact):
//	               the template compares no numbers itself
//	has NAME...    whether every named entry exists
//	is NAME WORD   whether text entry NAME is WORD (choose words from verdicts)
//	list NAME      the entry names (or name prefixes) recorded under a list
//	haslist NAME   whether that list exists
//	first LIST, last LIST   the first and last element of a list
//	fig NAME       whether the figure NAME was published by a gathered stage
//	figs PREFIX    the gathered figures whose names start with PREFIX
//	figure NAME CAPTION   the figure, with a caption (an error if missing)
//	figref NAME    a reference to the figure
//	tex            whether this is the LaTeX execution
//
// A reference to a missing entry, fact, list or figure is an error, so a
// typo in the template fails the stage instead of printing nothing.
func execute(src string, b *Book, figs []string, m mode) (string, error) {
	return (&renderer{b: b, figs: figs, mode: m}).execute(src)
}

// execute runs the template src with r's functions.
func (r *renderer) execute(src string) (string, error) {
	t, err := template.New("paper").Funcs(r.funcs()).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	if err := t.Execute(&out, nil); err != nil {
		return "", err
	}
	return out.String(), nil
}

// renderer holds what the template functions of one execution see.
type renderer struct {
	b    *Book
	figs []string
	mode mode
	refs []htmlRef // htmlMode: the references made, in order (see mark)
}

func (r *renderer) funcs() template.FuncMap {
	return template.FuncMap{
		"n": r.show(false), "t": r.show(true), "v": r.either, "c": r.code,
		"fact": r.fact, "has": r.has, "is": r.is,
		"list": r.list, "haslist": func(name string) bool { _, ok := r.b.lists[name]; return ok },
		"first": func(name string) (string, error) { return endOf(r.b, name, false) },
		"last":  func(name string) (string, error) { return endOf(r.b, name, true) },
		"fig":   r.hasFig, "figs": r.figsWith, "figure": r.figure, "figref": r.figref,
		"tex": func() bool { return r.mode == latexMode },
	}
}

// entry returns the named entry, which must be a text entry or a number
// as text says.
func (r *renderer) entry(name string, text bool) (*Entry, error) {
	e, ok := r.b.Get(name)
	if !ok {
		return nil, r.noEntry(name)
	}
	if e.IsText() != text {
		if text {
			return nil, fmt.Errorf("entry %q is a number: use n, not t", name)
		}
		return nil, fmt.Errorf("entry %q is text: use t, not n", name)
	}
	return e, nil
}

// show writes an entry: its Markdown text, or its macro in LaTeX mode.
func (r *renderer) show(text bool) func(string) (string, error) {
	return func(name string) (string, error) {
		e, err := r.entry(name, text)
		if err != nil {
			return "", err
		}
		if r.mode == latexMode {
			return refOpen + e.Name + refClose, nil
		}
		return r.mark(htmlRef{entry: e, md: e.MD}), nil
	}
}

// noEntry is the error of a reference to an absent entry, naming the
// missing input of its section when that is why.
func (r *renderer) noEntry(name string) error {
	if why := r.b.whyMissing(name); why != "" {
		return fmt.Errorf("no entry %q: %s", name, why)
	}
	return fmt.Errorf("no entry %q", name)
}

func (r *renderer) either(name string) (string, error) {
	e, ok := r.b.Get(name)
	if !ok {
		return "", r.noEntry(name)
	}
	return r.show(e.IsText())(name)
}

func (r *renderer) code(name string) (string, error) {
	e, err := r.entry(name, true)
	if err != nil {
		return "", err
	}
	if r.mode == latexMode {
		return "`" + refOpen + e.Name + refClose + "`", nil
	}
	return "`" + r.mark(htmlRef{entry: e, md: strings.ReplaceAll(e.Text, "`", "'")}) + "`", nil
}

func (r *renderer) fact(name string) (bool, error) {
	v, ok := r.b.facts[name]
	if !ok {
		return false, fmt.Errorf("no fact %q", name)
	}
	return v, nil
}

// has reports whether every named entry exists; asking about an entry of
// a section whose input is missing is an error, not a no.
func (r *renderer) has(names ...string) (bool, error) {
	for _, n := range names {
		if _, ok := r.b.Get(n); !ok {
			if why := r.b.whyMissing(n); why != "" {
				return false, fmt.Errorf("has %q: %s", n, why)
			}
			return false, nil
		}
	}
	return true, nil
}

func (r *renderer) is(name, word string) (bool, error) {
	e, err := r.entry(name, true)
	if err != nil {
		return false, err
	}
	return e.Text == word, nil
}

func (r *renderer) list(name string) ([]string, error) {
	l, ok := r.b.lists[name]
	if !ok {
		if why := r.b.whyMissing(name); why != "" {
			return nil, fmt.Errorf("no list %q: %s", name, why)
		}
		return nil, fmt.Errorf("no list %q", name)
	}
	return l, nil
}

func (r *renderer) hasFig(name string) bool { return slices.Contains(r.figs, name) }

func (r *renderer) figsWith(prefix string) []string {
	var out []string
	for _, f := range r.figs {
		if strings.HasPrefix(f, prefix) {
			out = append(out, f)
		}
	}
	return out
}

func (r *renderer) figure(name, caption string) (string, error) {
	if !r.hasFig(name) {
		return "", fmt.Errorf("no figure %q among the gathered figure stages (%s)", name, strings.Join(r.figs, ", "))
	}
	caption = strings.Join(strings.Fields(caption), " ")
	if r.mode == latexMode {
		return "::: figure " + name + "\n" + caption + "\n:::", nil
	}
	return fmt.Sprintf("![%s](../figures/%s.png)\n\n*Figure %s.* %s", name, name, name, caption), nil
}

func (r *renderer) figref(name string) (string, error) {
	if !r.hasFig(name) {
		return "", fmt.Errorf("no figure %q among the gathered figure stages", name)
	}
	if r.mode == latexMode {
		return figOpen + name + figClose, nil
	}
	return r.mark(htmlRef{fig: name, md: "Figure " + name}), nil
}

// endOf returns the first or last element of a list.
func endOf(b *Book, name string, last bool) (string, error) {
	l, ok := b.lists[name]
	if !ok || len(l) == 0 {
		return "", fmt.Errorf("no list %q, or it is empty", name)
	}
	if last {
		return l[len(l)-1], nil
	}
	return l[0], nil
}

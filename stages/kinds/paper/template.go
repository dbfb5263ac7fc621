package paper

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"text/template"
)

// mode is the output format a template execution writes for.
type mode int

const (
	markdownMode mode = iota
	latexMode
)

// execute runs the report template against the book for one mode. The
// template functions are:
//
//	n NAME         a number: its Markdown text, or the macro \NAME{} (LaTeX)
//	t NAME         an artifact text, likewise
//	v NAME         a number or a text, whichever NAME is (rows of a file table)
//	c NAME         an artifact text as code (`text`, or \texttt{\NAME{}})
//	isnan NAME     whether a number is NaN (shown as n/a)
//	off NAME       whether a number is zero (for parameters where zero
//	               switches something off, as the kinds document)
//	has NAME...    whether every named entry exists
//	is NAME WORD   whether text entry NAME is WORD (choose words from verdicts)
//	lt A B, gt A B whether entry A's value is below (above) entry B's
//	same A B       whether entries A and B have the same value
//	list NAME      the entry names (or name prefixes) recorded under a list
//	haslist NAME   whether that list exists
//	first LIST, last LIST   the first and last element of a list
//	fig NAME       whether the figure NAME was published by a gathered stage
//	figs PREFIX    the gathered figures whose names start with PREFIX
//	figure NAME CAPTION   the figure, with a caption (an error if missing)
//	figref NAME    a reference to the figure
//	tex            whether this is the LaTeX execution
//
// A reference to a missing entry, list or figure is an error, so a typo in
// the template fails the stage instead of printing nothing.
func execute(src string, b *Book, figs []string, m mode) (string, error) {
	entry := func(name string, text bool) (*Entry, error) {
		e, ok := b.Get(name)
		if !ok {
			return nil, fmt.Errorf("no entry %q", name)
		}
		if e.IsText() != text {
			if text {
				return nil, fmt.Errorf("entry %q is a number: use n, not t", name)
			}
			return nil, fmt.Errorf("entry %q is text: use t, not n", name)
		}
		return e, nil
	}
	show := func(text bool) func(string) (string, error) {
		return func(name string) (string, error) {
			e, err := entry(name, text)
			if err != nil {
				return "", err
			}
			if m == latexMode {
				return refOpen + e.Name + refClose, nil
			}
			return e.MD, nil
		}
	}
	value := func(name string) (float64, error) {
		e, err := entry(name, false)
		if err != nil {
			return 0, err
		}
		return e.Value, nil
	}
	compare := func(f func(a, b float64) bool) func(a, b string) (bool, error) {
		return func(a, b string) (bool, error) {
			x, err := value(a)
			if err != nil {
				return false, err
			}
			y, err := value(b)
			if err != nil {
				return false, err
			}
			return f(x, y), nil
		}
	}
	hasFig := func(name string) bool { return slices.Contains(figs, name) }
	funcs := template.FuncMap{
		"n": show(false),
		"t": show(true),
		"v": func(name string) (string, error) {
			e, ok := b.Get(name)
			if !ok {
				return "", fmt.Errorf("no entry %q", name)
			}
			return show(e.IsText())(name)
		},
		"has": func(names ...string) bool {
			for _, n := range names {
				if _, ok := b.Get(n); !ok {
					return false
				}
			}
			return true
		},
		"is": func(name, word string) (bool, error) {
			e, err := entry(name, true)
			if err != nil {
				return false, err
			}
			return e.Text == word, nil
		},
		"lt":   compare(func(a, b float64) bool { return a < b }),
		"gt":   compare(func(a, b float64) bool { return a > b }),
		"same": compare(func(a, b float64) bool { return a == b }),
		"list": func(name string) ([]string, error) {
			l, ok := b.lists[name]
			if !ok {
				return nil, fmt.Errorf("no list %q", name)
			}
			return l, nil
		},
		"haslist": func(name string) bool { _, ok := b.lists[name]; return ok },
		"first":   func(name string) (string, error) { return endOf(b, name, false) },
		"last":    func(name string) (string, error) { return endOf(b, name, true) },
		"off": func(name string) (bool, error) {
			x, err := value(name)
			return x == 0, err
		},
		"isnan": func(name string) (bool, error) {
			x, err := value(name)
			return math.IsNaN(x), err
		},
		"c": func(name string) (string, error) {
			e, err := entry(name, true)
			if err != nil {
				return "", err
			}
			if m == latexMode {
				return "`" + refOpen + e.Name + refClose + "`", nil
			}
			return "`" + strings.ReplaceAll(e.Text, "`", "'") + "`", nil
		},
		"fig": hasFig,
		"figs": func(prefix string) []string {
			var out []string
			for _, f := range figs {
				if strings.HasPrefix(f, prefix) {
					out = append(out, f)
				}
			}
			return out
		},
		"figure": func(name, caption string) (string, error) {
			if !hasFig(name) {
				return "", fmt.Errorf("no figure %q among the gathered figure stages (%s)", name, strings.Join(figs, ", "))
			}
			caption = strings.Join(strings.Fields(caption), " ")
			if m == latexMode {
				return "::: figure " + name + "\n" + caption + "\n:::", nil
			}
			return fmt.Sprintf("![%s](../figures/%s.png)\n\n*Figure %s.* %s", name, name, name, caption), nil
		},
		"figref": func(name string) (string, error) {
			if !hasFig(name) {
				return "", fmt.Errorf("no figure %q among the gathered figure stages", name)
			}
			if m == latexMode {
				return figOpen + name + figClose, nil
			}
			return "Figure " + name, nil
		},
		"tex": func() bool { return m == latexMode },
	}
	t, err := template.New("paper").Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	if err := t.Execute(&out, nil); err != nil {
		return "", err
	}
	return out.String(), nil
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

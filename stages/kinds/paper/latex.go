package paper

import (
	"fmt"
	"regexp"
	"strings"
)

// The paper is written once, as a Go template producing Markdown. For the
// LaTeX version the same template runs in "tex" mode, where every number
// and artifact text is a macro reference, and ToLaTeX converts the
// resulting Markdown to a LaTeX body. It understands the subset the
// template uses:
//
//	## Section / ### Subsection / #### Paragraph heading
//	paragraphs, "- " bullet lists and "1. " numbered lists (one level;
//	continuation lines indented)
//	pipe tables (header, separator row with :--- / ---: alignment, rows)
//	*emphasis*, **bold**, `code`, [text](url), $inline math$ (verbatim)
//	```{=latex} ... ``` raw LaTeX blocks (verbatim)
//	<!-- colspec SPEC --> on the line before a table: its LaTeX column
//	specification (p{...} columns for long text); other HTML comments
//	(invisible in Markdown) are dropped
//	::: figure NAME / caption lines / ::: (a figure from ../figures/NAME.pdf)
//
// Macro references are written as refOpen + name + refClose by the
// template and become \name{} wherever they appear, math included;
// figure references figOpen + name + figClose become Figure~\ref{fig:name}.
const (
	refOpen  = "\x01"
	refClose = "\x02"
	figOpen  = "\x03"
	figClose = "\x04"
)

var (
	refRE    = regexp.MustCompile(refOpen + `([A-Za-z]+)` + refClose)
	figRefRE = regexp.MustCompile(figOpen + `([A-Za-z0-9][A-Za-z0-9._-]*)` + figClose)
)

// resolveRefs turns macro and figure references into LaTeX.
func resolveRefs(s string) string {
	s = refRE.ReplaceAllString(s, `\${1}{}`)
	return figRefRE.ReplaceAllString(s, `Figure~\ref{fig:${1}}`)
}

var (
	headingRE = regexp.MustCompile(`^(#{1,4}) +(.*)$`)
	bulletRE  = regexp.MustCompile(`^[-*] +(.*)$`)
	numberRE  = regexp.MustCompile(`^[0-9]+\. +(.*)$`)
	figureRE  = regexp.MustCompile(`^::: *figure +([A-Za-z0-9][A-Za-z0-9._-]*) *$`)
	tableSep  = regexp.MustCompile(`^\|? *:?-+:? *(\| *:?-+:? *)*\|? *$`)
	colspecRE = regexp.MustCompile(`^<!-- *colspec +(.*?) *-->$`)
	commentRE = regexp.MustCompile(`^<!--.*-->$`)
)

// ToLaTeX converts Markdown (the subset above) to a LaTeX body.
func ToLaTeX(md string) (string, error) {
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	var out strings.Builder
	var para []string
	colspec := "" // from a colspec comment, for the next table
	flush := func() {
		if len(para) > 0 {
			out.WriteString(inline(strings.Join(para, "\n")) + "\n\n")
			para = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trim := strings.TrimSpace(line)
		switch {
		case trim == "":
			flush()
		case colspecRE.MatchString(trim):
			flush()
			colspec = colspecRE.FindStringSubmatch(trim)[1]
		case commentRE.MatchString(trim):
			flush()
		case trim == "```{=latex}":
			flush()
			j := i + 1
			for j < len(lines) && strings.TrimSpace(lines[j]) != "```" {
				j++
			}
			if j == len(lines) {
				return "", fmt.Errorf("line %d: raw LaTeX block is not closed", i+1)
			}
			out.WriteString(resolveRefs(strings.Join(lines[i+1:j], "\n")) + "\n\n")
			i = j
		case figureRE.MatchString(trim):
			flush()
			name := figureRE.FindStringSubmatch(trim)[1]
			j := i + 1
			for j < len(lines) && strings.TrimSpace(lines[j]) != ":::" {
				j++
			}
			if j == len(lines) {
				return "", fmt.Errorf("line %d: figure %s is not closed", i+1, name)
			}
			caption := inline(strings.TrimSpace(strings.Join(lines[i+1:j], "\n")))
			fmt.Fprintf(&out, "\\begin{figure}[tbp]\n\\centering\n\\includegraphics[width=\\linewidth,height=0.42\\textheight,keepaspectratio]{../figures/%s.pdf}\n\\caption{%s}\n\\label{fig:%s}\n\\end{figure}\n\n", name, caption, name)
			i = j
		case headingRE.MatchString(trim):
			flush()
			m := headingRE.FindStringSubmatch(trim)
			cmd := map[int]string{1: `\section*`, 2: `\section`, 3: `\subsection`, 4: `\paragraph`}[len(m[1])]
			fmt.Fprintf(&out, "%s{%s}\n\n", cmd, inline(m[2]))
		case strings.HasPrefix(trim, "|") && i+1 < len(lines) && tableSep.MatchString(strings.TrimSpace(lines[i+1])):
			flush()
			j := i + 2
			for j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), "|") {
				j++
			}
			t, err := table2tex(lines[i], lines[i+1], lines[i+2:j], colspec)
			colspec = ""
			if err != nil {
				return "", fmt.Errorf("line %d: %w", i+1, err)
			}
			out.WriteString(t)
			i = j - 1
		case len(para) == 0 && (bulletRE.MatchString(trim) || numberRE.MatchString(trim)):
			env := "itemize"
			re := bulletRE
			if numberRE.MatchString(trim) {
				env, re = "enumerate", numberRE
			}
			fmt.Fprintf(&out, "\\begin{%s}\n", env)
			for i < len(lines) {
				m := re.FindStringSubmatch(strings.TrimSpace(lines[i]))
				if m == nil {
					break
				}
				item := []string{m[1]}
				// Continuation lines are indented and not items themselves.
				for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "  ") && strings.TrimSpace(lines[i+1]) != "" &&
					!re.MatchString(strings.TrimSpace(lines[i+1])) {
					i++
					item = append(item, strings.TrimSpace(lines[i]))
				}
				fmt.Fprintf(&out, "\\item %s\n", inline(strings.Join(item, "\n")))
				i++
			}
			i--
			fmt.Fprintf(&out, "\\end{%s}\n\n", env)
		default:
			para = append(para, line)
		}
	}
	flush()
	return strings.TrimRight(out.String(), "\n") + "\n", nil
}

// splitRow splits a pipe-table row into trimmed cells ("\|" is a literal
// bar inside a cell).
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	if strings.HasSuffix(line, "|") && !strings.HasSuffix(line, `\|`) {
		line = line[:len(line)-1]
	}
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteString(`\|`)
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// table2tex renders a pipe table as a longtable (it may cross pages),
// with the column specification spec if given, else one from the
// separator row's alignments.
func table2tex(header, sep string, rows []string, spec string) (string, error) {
	head := splitRow(header)
	aligns := splitRow(sep)
	if len(aligns) != len(head) {
		return "", fmt.Errorf("table header has %d columns, separator row %d", len(head), len(aligns))
	}
	auto := ""
	for _, a := range aligns {
		switch {
		case strings.HasPrefix(a, ":") && strings.HasSuffix(a, ":"):
			auto += "c"
		case strings.HasSuffix(a, ":"):
			auto += "r"
		default:
			auto += "l"
		}
	}
	if spec == "" {
		spec = auto
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\\begin{longtable}{%s}\n\\hline\n", spec)
	row := func(cells []string) {
		for k := range cells {
			cells[k] = inline(cells[k])
		}
		b.WriteString(strings.Join(cells, " & ") + ` \\` + "\n")
	}
	row(head)
	b.WriteString("\\hline\n\\endhead\n")
	for n, r := range rows {
		cells := splitRow(r)
		if len(cells) != len(head) {
			return "", fmt.Errorf("table row %d has %d cells, the header %d", n+1, len(cells), len(head))
		}
		row(cells)
	}
	b.WriteString("\\hline\n\\end{longtable}\n\n")
	return b.String(), nil
}

// inline converts the inline Markdown of one block to LaTeX.
func inline(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case strings.HasPrefix(s[i:], refOpen) || strings.HasPrefix(s[i:], figOpen):
			end := refClose
			if s[i:i+1] == figOpen {
				end = figClose
			}
			j := strings.Index(s[i:], end)
			if j < 0 {
				b.WriteString(EscapeTeX(s[i : i+1]))
				i++
				continue
			}
			b.WriteString(resolveRefs(s[i : i+j+1]))
			i += j + 1
		case c == '$':
			j := strings.IndexByte(s[i+1:], '$')
			if j < 0 {
				b.WriteString(`\$`)
				i++
				continue
			}
			b.WriteString("$" + resolveRefs(s[i+1:i+1+j]) + "$")
			i += j + 2
		case c == '`':
			j := strings.IndexByte(s[i+1:], '`')
			if j < 0 {
				b.WriteString(EscapeTeX("`"))
				i++
				continue
			}
			b.WriteString(`\texttt{` + resolveRefs(escapeText(s[i+1:i+1+j], true)) + `}`)
			i += j + 2
		case strings.HasPrefix(s[i:], "**"):
			j := strings.Index(s[i+2:], "**")
			if j < 0 {
				b.WriteString("**")
				i += 2
				continue
			}
			b.WriteString(`\textbf{` + inline(s[i+2:i+2+j]) + `}`)
			i += j + 4
		case c == '*':
			j := strings.IndexByte(s[i+1:], '*')
			if j < 0 || j == 0 {
				b.WriteString("*")
				i++
				continue
			}
			b.WriteString(`\emph{` + inline(s[i+1:i+1+j]) + `}`)
			i += j + 2
		case c == '[':
			close := strings.Index(s[i:], "](")
			end := -1
			if close > 0 {
				end = strings.IndexByte(s[i+close:], ')')
			}
			if close < 0 || end < 0 {
				b.WriteString("[")
				i++
				continue
			}
			text, url := s[i+1:i+close], s[i+close+2:i+close+end]
			b.WriteString(`\href{` + strings.NewReplacer(`%`, `\%`, `#`, `\#`).Replace(url) + `}{` + inline(text) + `}`)
			i += close + end + 1
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\\`*_[]<>|#-.!(){}", s[i+1]) >= 0:
			b.WriteString(EscapeTeX(s[i+1 : i+2]))
			i += 2
		case c == '"':
			if i == 0 || strings.IndexByte(" \n([{", s[i-1]) >= 0 {
				b.WriteString("``")
			} else {
				b.WriteString("''")
			}
			i++
		default:
			// A run of plain text up to the next character with a meaning
			// (escaped together, so super- and subscript runs stay whole).
			n := strings.IndexAny(s[i+1:], refOpen+figOpen+"$`*[\\\"")
			if n < 0 {
				n = len(s) - i - 1
			}
			b.WriteString(EscapeTeX(s[i : i+1+n]))
			i += 1 + n
		}
	}
	return b.String()
}

// texRunes maps the characters of the text and of artifact strings that
// have no direct LaTeX input to their LaTeX forms. Long identifiers
// (statistic names, experiment lists, file names in typewriter type) may
// break after a slash, a plus, an underscore or a hyphen.
var texRunes = map[rune]string{
	'\\': `\textbackslash{}`, '{': `\{`, '}': `\}`, '$': `\$`, '&': `\&`, '%': `\%`, '#': `\#`, '_': `\_\allowbreak{}`, '-': `-\allowbreak{}`,
	'`': "\\textasciigrave{}", '~': `\textasciitilde{}`, '^': `\textasciicircum{}`, '<': `\textless{}`, '>': `\textgreater{}`, '|': `\textbar{}`,
	'α': `\ensuremath{\alpha}`, 'γ': `\ensuremath{\gamma}`, 'ε': `\ensuremath{\varepsilon}`, 'λ': `\ensuremath{\lambda}`,
	'σ': `\ensuremath{\sigma}`, 'τ': `\ensuremath{\tau}`, 'φ': `\ensuremath{\phi}`, 'ψ': `\ensuremath{\psi}`,
	'ω': `\ensuremath{\omega}`, 'Θ': `\ensuremath{\Theta}`, 'Σ': `\ensuremath{\Sigma}`, 'μ': `\ensuremath{\mu}`,
	'−': `\ensuremath{-}`, '×': `\ensuremath{\times}`, '≤': `\ensuremath{\le}`, '≥': `\ensuremath{\ge}`,
	'≈': `\ensuremath{\approx}`, '→': `\ensuremath{\to}`, '‖': `\ensuremath{\|}`, '·': `\ensuremath{\cdot}`,
	'±': `\ensuremath{\pm}`, '∝': `\ensuremath{\propto}`, '√': `\ensuremath{\surd}`, '∞': `\ensuremath{\infty}`,
	'/': `/\allowbreak{}`, '+': `+\allowbreak{}`, '—': `---`, '–': `--`, '’': `'`, '‘': "`", '“': "``", '”': "''", '…': `\ldots{}`, '§': `\S{}`, '\u00a0': `~`,
}

// scriptRunes are superscript and subscript characters, turned into
// ^{...} and _{...} runs.
var (
	superRunes = map[rune]byte{'⁰': '0', '¹': '1', '²': '2', '³': '3', '⁴': '4', '⁵': '5', '⁶': '6', '⁷': '7', '⁸': '8', '⁹': '9', '⁻': '-'}
	subRunes   = map[rune]byte{'₀': '0', '₁': '1', '₂': '2', '₃': '3', '₄': '4', '₅': '5', '₆': '6', '₇': '7', '₈': '8', '₉': '9'}
)

// EscapeTeX makes s safe as LaTeX text: special characters are escaped,
// Greek letters, mathematical signs and super/subscript digits become math,
// Latin letters pass through (LaTeX reads UTF-8), and any other character
// (which the standard fonts cannot show) becomes "?".
func EscapeTeX(s string) string { return escapeText(s, false) }

// escapeText is EscapeTeX; with refs set, the control characters that
// delimit macro and figure references (refOpen...figClose) pass through,
// for the converter, which resolves them afterwards.
func escapeText(s string, refs bool) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		for _, sc := range []struct {
			m   map[rune]byte
			pre string
		}{{superRunes, "^"}, {subRunes, "_"}} {
			if _, ok := sc.m[r]; ok {
				var run []byte
				for i < len(rs) {
					c, ok := sc.m[rs[i]]
					if !ok {
						break
					}
					run = append(run, c)
					i++
				}
				fmt.Fprintf(&b, `\ensuremath{%s{%s}}`, sc.pre, run)
				if i < len(rs) {
					r = rs[i]
				} else {
					return b.String()
				}
			}
		}
		switch t, ok := texRunes[r]; {
		case ok:
			b.WriteString(t)
		case r < 0x250 && r >= ' ' || r == '\n' || r == '\t' || refs && r >= 1 && r <= 4:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

package paper

import (
	"strings"
	"testing"
)

func TestToLaTeX(t *testing.T) {
	ref := func(name string) string { return refOpen + name + refClose }
	for _, c := range []struct {
		name, md string
		want     []string // fragments of the output, in order
		not      []string // must not appear
	}{
		{"headings", "## Results\n\n### E1: at L = " + ref("EOneL") + "\n\n#### Note\n",
			[]string{`\section{Results}`, `\subsection{E1: at L = \EOneL{}}`, `\paragraph{Note}`}, nil},
		{"paragraphs keep their lines", "first line\nsecond line\n\nnext", []string{"first line\nsecond line\n\nnext\n"}, nil},
		{"inline markup", "*a* **b** `c_d` [e](https://x.org/a_b#c) \"q\"",
			[]string{`\emph{a} \textbf{b} \texttt{c\_\allowbreak{}d} \href{https://x.org/a_b\#c}{e} ` + "``q''"}, nil},
		{"math is verbatim", `$\varepsilon_2 = ` + ref("X") + `$ and 50% & #`, []string{`$\varepsilon_2 = \X{}$ and 50\% \& \#`}, nil},
		{"references in code", "`" + ref("LearnerOptimizer") + "`", []string{`\texttt{\LearnerOptimizer{}}`}, nil},
		{"figure references", "as " + figOpen + "E1-feature-error" + figClose + " shows", []string{`as Figure~\ref{fig:E1-feature-error} shows`}, nil},
		{"unicode", "ε₂ — γ ≥ 10⁻⁵ × 3 − 1", []string{`\ensuremath{\varepsilon}\ensuremath{_{2}} --- \ensuremath{\gamma} \ensuremath{\ge} 10\ensuremath{^{-5}} \ensuremath{\times} 3 \ensuremath{-} 1`}, nil},
		{"bullets with continuation", "- one\n  more\n- two\n\nafter",
			[]string{"\\begin{itemize}\n\\item one\nmore\n\\item two\n\\end{itemize}", "after"}, nil},
		{"numbered list", "1. first\n2. second\n", []string{"\\begin{enumerate}\n\\item first\n\\item second\n\\end{enumerate}"}, nil},
		{"table", "| a | b | c |\n|:---|---:|:---:|\n| x_1 | 2 | " + ref("Y") + " |\n", []string{
			"\\begin{longtable}{lrc}\n\\hline\na & b & c \\\\\n\\hline\n\\endhead\nx\\_\\allowbreak{}1 & 2 & \\Y{} \\\\\n\\hline\n\\end{longtable}"}, nil},
		{"table with colspec", "<!-- colspec p{2cm}r -->\n| a | b |\n|---|---|\n| x \\| y | 1 |\n",
			[]string{`\begin{longtable}{p{2cm}r}`, `x \textbar{} y & 1 \\`}, []string{"colspec"}},
		{"comments dropped", "<!-- a note -->\ntext", []string{"text"}, []string{"note"}},
		{"raw block", "```{=latex}\n\\begin{abstract}\n" + ref("A") + "\n```\ntext", []string{"\\begin{abstract}\n\\A{}\n\n", "text"}, []string{"```"}},
		{"figure", "::: figure E1-feature-error\nFeature *errors*, 50%.\n:::",
			[]string{`\includegraphics[width=\linewidth,height=0.42\textheight,keepaspectratio]{../figures/E1-feature-error.pdf}`,
				`\caption{Feature \emph{errors}, 50\%.}`, `\label{fig:E1-feature-error}`}, nil},
		{"escapes", `a\_b \* c ~ ^ {x} <y>`, []string{`a\_\allowbreak{}b * c \textasciitilde{} \textasciicircum{} \{x\} \textless{}y\textgreater{}`}, nil},
		{"lone specials", "a * b $ c ` d [e]", []string{`a * b \$ c \textasciigrave{}`}, nil},
	} {
		got, err := ToLaTeX(c.md)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		rest := got
		for _, w := range c.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: output lacks %q (in order):\n%s", c.name, w, got)
				break
			}
			rest = rest[i+len(w):]
		}
		for _, n := range c.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: output contains %q:\n%s", c.name, n, got)
			}
		}
	}
}

func TestToLaTeXErrors(t *testing.T) {
	for _, md := range []string{
		"```{=latex}\nnever closed",
		"::: figure E1\ncaption",
		"| a | b |\n|---|---|---|\n",
		"| a | b |\n|---|---|\n| 1 |\n",
	} {
		if _, err := ToLaTeX(md); err == nil {
			t.Errorf("ToLaTeX(%q) accepted", md)
		}
	}
}

func TestEscapeTeX(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"eps2_joint/lower-only[L=3]", `eps2\_\allowbreak{}joint/\allowbreak{}lower-\allowbreak{}only[L=3]`},
		{`100% & $5 #1 {a} \ ~ ^`, `100\% \& \$5 \#1 \{a\} \textbackslash{} \textasciitilde{} \textasciicircum{}`},
		{"α_l γ ε₂ ²", `\ensuremath{\alpha}\_\allowbreak{}l \ensuremath{\gamma} \ensuremath{\varepsilon}\ensuremath{_{2}} \ensuremath{^{2}}`},
		{"Café — “x”", "Café --- ``x''"},
		{"苏剑林", "???"},
		{"a\x01b", "a?b"}, // the converter's reference delimiters are not let through
	} {
		if got := EscapeTeX(c.in); got != c.want {
			t.Errorf("EscapeTeX(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

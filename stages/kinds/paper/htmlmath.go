package paper

import (
	"cmp"
	"html"
	"strings"
	"unicode"
)

// Inline math ($...$) in the HTML page, without a math library: TeX is
// turned into text with Unicode symbols, italic letters and <sup>/<sub>
// scripts, which is enough for the formulas of the report (symbols,
// scripts, \mathrm, \mathbb, \mathcal, \sqrt, \frac, norms and brackets).
// As in TeX, spaces in the source are ignored; relations and binary
// operators get spaces around them, commas one after. A command the table
// does not know is shown as its TeX source and reported (renderHTML
// returns the list; the test of the project's template wants it empty).

// texSymbols are the commands written as one character or word.
var texSymbols = map[string]string{
	"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε", "zeta": "ζ", "eta": "η",
	"theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π",
	"rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "ϕ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
	"Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
	"sum": "∑", "prod": "∏", "infty": "∞", "partial": "∂", "nabla": "∇", "ast": "∗", "star": "⋆", "top": "⊤",
	"dots": "…", "ldots": "…", "cdots": "⋯", "langle": "⟨", "rangle": "⟩", "lVert": "‖", "rVert": "‖", "|": "‖",
	"lvert": "|", "rvert": "|", "{": "{", "}": "}", "#": "#", "%": "%", "&": "&", "_": "_", "$": "$",
	" ": " ", ",": "\u2009", ";": "\u2005", ":": "\u2005", "!": "", "quad": "\u2003", "qquad": "\u2003\u2003",
	"left": "", "right": "", "big": "", "Big": "", "bigl": "", "bigr": "",
}

// texRelations are written with a space on each side, as are the binary
// operators.
var texRelations = map[string]string{
	"le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ll": "≪", "gg": "≫", "ne": "≠", "neq": "≠", "approx": "≈",
	"sim": "∼", "simeq": "≃", "equiv": "≡", "propto": "∝", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆",
	"to": "→", "mapsto": "↦", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒", "iff": "⇔",
	"times": "×", "cdot": "·", "pm": "±", "mp": "∓", "circ": "∘", "otimes": "⊗", "oplus": "⊕", "cup": "∪", "cap": "∩",
}

// texChars are the characters written otherwise: a minus sign, a prime,
// an asterisk, a comma with its space.
var texChars = map[byte]string{'-': "−", '\'': "′", '*': "∗", ',': ", "}

// texOperators are function names set upright.
var texOperators = map[string]bool{"log": true, "ln": true, "exp": true, "min": true, "max": true, "sup": true, "inf": true,
	"lim": true, "arg": true, "det": true, "dim": true, "sin": true, "cos": true, "tan": true, "Pr": true, "tr": true}

// math renders the TeX of one $...$ span.
func (w *htmlWriter) math(src string) string {
	p := &texParser{w: w, s: src}
	return strings.TrimSpace(p.list(false))
}

type texParser struct {
	w *htmlWriter
	s string
	i int
}

// list renders atoms up to the end, or up to the closing brace of a group.
func (p *texParser) list(group bool) string {
	var b strings.Builder
	for p.i < len(p.s) {
		if p.s[p.i] == '}' && group {
			p.i++
			break
		}
		b.WriteString(p.atom())
	}
	return b.String()
}

// arg renders one argument: a group or one atom, without the spaces an
// operator would take.
func (p *texParser) arg() string {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '{' {
		p.i++
		return strings.TrimSpace(p.list(true))
	}
	return strings.TrimSpace(p.atom())
}

func (p *texParser) skipSpace() {
	for p.i < len(p.s) && unicode.IsSpace(rune(p.s[p.i])) {
		p.i++
	}
}

// atom renders the next atom.
func (p *texParser) atom() string {
	c := p.s[p.i]
	switch {
	case unicode.IsSpace(rune(c)):
		p.i++
		return ""
	case c == refOpen[0]:
		var b strings.Builder
		p.i += p.w.markAt(&b, p.s[p.i:], false)
		return b.String()
	case c == '{':
		p.i++
		return p.list(true)
	case c == '}':
		p.i++
		return "}"
	case c == '^' || c == '_':
		p.i++
		tag := map[byte]string{'^': "sup", '_': "sub"}[c]
		return "<" + tag + ">" + p.arg() + "</" + tag + ">"
	case c == '\\':
		return p.command()
	case c < 0x80 && unicode.IsLetter(rune(c)):
		j := p.i
		for j < len(p.s) && p.s[j] < 0x80 && unicode.IsLetter(rune(p.s[j])) {
			j++
		}
		s := p.s[p.i:j]
		p.i = j
		return "<i>" + s + "</i>"
	case strings.IndexByte("=<>+", c) >= 0 || c == '-' && !p.afterOpen():
		p.i++
		return " " + html.EscapeString(cmp.Or(texChars[c], string(c))) + " "
	case texChars[c] != "":
		p.i++
		return texChars[c]
	}
	// Any other character (digits, brackets, '/', '.', UTF-8) as it is.
	j := p.i + 1
	for j < len(p.s) && p.s[j] >= 0x80 && p.s[j] < 0xC0 {
		j++
	}
	s := p.s[p.i:j]
	p.i = j
	return html.EscapeString(s)
}

// afterOpen reports whether a minus here is a sign, not an operator: at
// the start, or after a character opening a bracket, a group or a
// script, a relation or a comma.
func (p *texParser) afterOpen() bool {
	for j := p.i - 1; j >= 0; j-- {
		if c := p.s[j]; !unicode.IsSpace(rune(c)) {
			return strings.IndexByte("([{=,^_", c) >= 0
		}
	}
	return true
}

// command renders a control sequence and its arguments.
func (p *texParser) command() string {
	j := p.i + 1
	for j < len(p.s) && p.s[j] < 0x80 && unicode.IsLetter(rune(p.s[j])) {
		j++
	}
	if j == p.i+1 && j < len(p.s) { // a control symbol: \{ \, \|
		j++
	}
	name := p.s[p.i+1 : j]
	p.i = j
	if s, ok := texSymbols[name]; ok {
		return html.EscapeString(s)
	}
	if s, ok := texRelations[name]; ok {
		return " " + s + " "
	}
	if texOperators[name] {
		// A thin space before an operand (log d), none before a bracket (max(a, b)).
		op := `<span class="mop">` + name + `</span>`
		if p.skipSpace(); p.i < len(p.s) && (p.s[p.i] == '\\' || p.s[p.i] < 0x80 && unicode.IsLetter(rune(p.s[p.i]))) {
			op += "\u2009"
		}
		return op
	}
	switch name {
	case "mathrm", "text", "textrm", "operatorname", "mathit", "mathbf", "boldsymbol":
		tag := map[string]string{"mathit": "i", "mathbf": "b", "boldsymbol": "b"}[name]
		if tag == "" {
			return `<span class="mrm">` + p.textArg() + `</span>`
		}
		return "<" + tag + ">" + p.textArg() + "</" + tag + ">"
	case "mathbb", "mathcal":
		return mathAlphabet(name, p.textArg())
	case "sqrt":
		return `√<span class="msqrt">` + p.arg() + `</span>`
	case "frac":
		num := p.arg()
		return `<span class="mfrac">` + num + `</span>/<span class="mfrac">` + p.arg() + `</span>`
	}
	p.w.unknown["\\"+name] = true
	return `<span class="tex">` + html.EscapeString("\\"+name) + `</span>`
}

// textArg is an argument as text: letters upright, as they are.
func (p *texParser) textArg() string {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '{' {
		p.i++
		depth, j := 1, p.i
		for ; j < len(p.s) && depth > 0; j++ {
			switch p.s[j] {
			case '{':
				depth++
			case '}':
				depth--
			}
		}
		inner := p.s[p.i : j-1]
		if depth > 0 {
			inner = p.s[p.i:]
		}
		p.i = j
		return html.EscapeString(inner)
	}
	if p.i < len(p.s) {
		p.i++
		return html.EscapeString(p.s[p.i-1 : p.i])
	}
	return ""
}

// mathAlphabet writes letters in the double-struck (\mathbb) or script
// (\mathcal) alphabet.
func mathAlphabet(name, s string) string {
	bb := map[rune]rune{'C': 'ℂ', 'H': 'ℍ', 'N': 'ℕ', 'P': 'ℙ', 'Q': 'ℚ', 'R': 'ℝ', 'Z': 'ℤ'}
	cal := map[rune]rune{'B': 'ℬ', 'E': 'ℰ', 'F': 'ℱ', 'H': 'ℋ', 'I': 'ℐ', 'L': 'ℒ', 'M': 'ℳ', 'R': 'ℛ'}
	var b strings.Builder
	for _, r := range s {
		switch {
		case name == "mathbb" && bb[r] != 0:
			b.WriteRune(bb[r])
		case name == "mathbb" && r >= 'A' && r <= 'Z':
			b.WriteRune(0x1D538 + r - 'A')
		case name == "mathcal" && cal[r] != 0:
			b.WriteRune(cal[r])
		case name == "mathcal" && r >= 'A' && r <= 'Z':
			b.WriteRune(0x1D49C + r - 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

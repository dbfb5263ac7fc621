package paper

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/bfc-repro/bfc/stages/kit"
)

// The HTML version of the report, paper/index.html, is one self-contained
// page: the text, the figures inlined as SVG, and the provenance of every
// number, with inline CSS and a little inline JavaScript and nothing
// loaded from anywhere (its Content-Security-Policy forbids it).
//
// The template is executed a third time, in htmlMode, which writes exactly
// the Markdown of README.md except that every reference (n, t, v, c,
// figref) is a mark, refOpen + its index + refClose, recorded in order
// with what the Markdown execution writes in its place. htmlPage checks
// that replacing the marks gives README.md byte for byte, so the page is
// rendered from the same Markdown, then renders it (renderHTML) with each
// mark as an element naming its entry, and the entries' operations and
// source cells (the rows of the "sources" table, with the grid labels of
// the point each key names) as JSON in the page. Hovering, focusing or
// clicking a number shows them.
//
// The renderer understands the Markdown subset ToLaTeX does (headings,
// paragraphs, one level of lists, pipe tables, emphasis, code, links,
// $math$, HTML comments), plus what only the Markdown execution writes:
// a figure is a paragraph that is one image ../figures/NAME.png, followed
// by a paragraph starting "*Figure NAME.*", its caption. The image is
// replaced by the SVG the gathered figure stage NAME published (htmlsvg.go).
// Math is rendered by htmlmath.go.

// htmlRef is one reference the template made in htmlMode.
type htmlRef struct {
	entry *Entry // the entry (n, t, v, c); nil for a figure reference
	fig   string // the figure of a figure reference (figref)
	md    string // what the Markdown execution writes in its place
}

// mark returns what a reference writes: in htmlMode a mark recording
// ref, in Markdown mode ref.md.
func (r *renderer) mark(ref htmlRef) string {
	if r.mode != htmlMode {
		return ref.md
	}
	r.refs = append(r.refs, ref)
	return refOpen + strconv.Itoa(len(r.refs)-1) + refClose
}

// executeHTML runs the template in htmlMode: the Markdown with marks, and
// the references the marks index.
func executeHTML(src string, b *Book, figs []string) (string, []htmlRef, error) {
	r := &renderer{b: b, figs: figs, mode: htmlMode}
	out, err := r.execute(src)
	return out, r.refs, err
}

var markRE = regexp.MustCompile(refOpen + `([0-9]+)` + refClose)

// unmark replaces every mark of s by what the Markdown execution writes.
func unmark(s string, refs []htmlRef) string {
	return markRE.ReplaceAllStringFunc(s, func(m string) string {
		if i, ok := markIndex(m, refs); ok {
			return refs[i].md
		}
		return m
	})
}

// markIndex reads the index of a mark, if it indexes refs.
func markIndex(m string, refs []htmlRef) (int, bool) {
	i, err := strconv.Atoi(strings.Trim(m, refOpen+refClose))
	return i, err == nil && i >= 0 && i < len(refs)
}

// PublishedName is the name of the output under which the engine stores a
// file a stage published (store.PublishPrefix + dir + "." + name): how the
// paper stage reads the SVG of a gathered figure stage.
func PublishedName(dir kit.PublishDir, name string) string {
	return "publish." + string(dir) + "." + name
}

// htmlPage returns index.html for the report whose Markdown (README.md)
// is md, executing the template src once more in htmlMode. Math commands
// the renderer does not know are shown as TeX source, and logged.
func htmlPage(env kit.Env, src string, b *Book, figs []string, md string) ([]byte, error) {
	marked, refs, err := executeHTML(src, b, figs)
	if err != nil {
		return nil, err
	}
	if got := unmark(marked, refs); got != md {
		return nil, fmt.Errorf("the HTML execution's Markdown differs from README.md at byte %d", commonPrefix(got, md))
	}
	svgs, err := figureSVGs(env.Inputs(), figs)
	if err != nil {
		return nil, err
	}
	page, unknown, err := renderHTML(htmlReport{md: marked, refs: refs, svgs: svgs, points: pointLabels(env.Inputs())})
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		env.Logf("index.html: math commands shown as TeX source (unknown to htmlmath.go): %s", strings.Join(unknown, " "))
	}
	return page, nil
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// pointLabels maps the key of every input to its grid labels, "a=1,b=x"
// sorted by axis, which the provenance shows as the point of a source (of
// the first input with the key, when points of two stages share one).
// The stage's name is not shown: it is not part of the paper's key (a
// renamed stage does not rerun the report), the labels and the key are.
func pointLabels(ins []kit.Input) map[string]string {
	out := map[string]string{}
	for _, in := range ins {
		if _, seen := out[in.Key()]; seen {
			continue
		}
		l := in.Labels()
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(l)) {
			parts = append(parts, k+"="+l[k])
		}
		out[in.Key()] = strings.Join(parts, ",")
	}
	return out
}

// htmlReport is what the page is made of.
type htmlReport struct {
	md     string            // the Markdown of the htmlMode execution
	refs   []htmlRef         // the references its marks index
	svgs   map[string]string // figure stem -> the SVG to inline (checked by inlineSVG)
	points map[string]string // stage key -> grid labels of the point
}

// renderHTML renders the page. It returns the math commands it did not
// know (shown as TeX source), sorted.
func renderHTML(rep htmlReport) (page []byte, unknownTeX []string, err error) {
	blocks, err := parseBlocks(rep.md)
	if err != nil {
		return nil, nil, err
	}
	w := &htmlWriter{rep: rep, slugs: map[string]int{}, unknown: map[string]bool{}, used: map[string]bool{}}
	var body strings.Builder
	for _, bl := range blocks {
		s, err := w.block(bl)
		if err != nil {
			return nil, nil, fmt.Errorf("Markdown line %d: %w", bl.line, err)
		}
		body.WriteString(s)
	}
	data, err := w.provenance()
	if err != nil {
		return nil, nil, err
	}
	var out bytes.Buffer
	out.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n")
	out.WriteString(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:" />` + "\n")
	out.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n<link rel=\"icon\" href=\"data:,\" />\n")
	fmt.Fprintf(&out, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", html.EscapeString(w.title), htmlCSS)
	out.WriteString("<p class=\"bfc-note\">Generated by the paper stage of bfc, like README.md. Every number and artifact text " +
		"drawn from the pipeline is underlined: hover over it, focus it or click it to see the operation that made it and the " +
		"stage key, point, table, row and column of every value it was computed from (the rows of " +
		"<code>bfc export paper --output sources</code>).</p>\n")
	out.WriteString("<main>\n" + body.String() + "</main>\n")
	out.WriteString("<div id=\"bfc-prov\" role=\"dialog\" aria-label=\"provenance\" hidden=\"hidden\"></div>\n")
	out.WriteString("<script type=\"application/json\" id=\"bfc-data\">")
	out.Write(data)
	out.WriteString("</script>\n<script>//<![CDATA[\n" + htmlJS + "//]]></script>\n</body>\n</html>\n")
	return out.Bytes(), slices.Sorted(maps.Keys(w.unknown)), nil
}

// block is one block of the Markdown.
type block struct {
	kind    blockKind
	line    int      // its first line (1-based)
	level   int      // heading level
	ordered bool     // a numbered list
	text    string   // heading, paragraph, code, figure caption
	items   []string // list items
	head    []string // table header
	align   []string // table column alignments: "left", "right", "center" or ""
	rows    [][]string
	fig     string // figure name
}

type blockKind int

const (
	blockPara blockKind = iota
	blockHeading
	blockList
	blockTable
	blockCode
	blockFigure
)

var (
	imageRE   = regexp.MustCompile(`^!\[([^\]]*)\]\(\.\./figures/([A-Za-z0-9][A-Za-z0-9._-]*)\.png\)$`)
	fenceRE   = regexp.MustCompile("^```")
	captionRE = regexp.MustCompile(`^\*Figure ([A-Za-z0-9][A-Za-z0-9._-]*)\.\*\s*`)
)

// parseBlocks splits Markdown into blocks (the grammar of ToLaTeX: a
// heading, a comment, a fence or a table interrupts a paragraph; a list
// starts only after a blank line or another block).
func parseBlocks(md string) ([]block, error) {
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	isTable := func(i int) bool {
		return strings.HasPrefix(strings.TrimSpace(lines[i]), "|") && i+1 < len(lines) && tableSep.MatchString(strings.TrimSpace(lines[i+1]))
	}
	interrupts := func(i int) bool {
		t := strings.TrimSpace(lines[i])
		return t == "" || headingRE.MatchString(t) || commentRE.MatchString(t) || fenceRE.MatchString(t) || isTable(i)
	}
	var out []block
	for i := 0; i < len(lines); {
		t := strings.TrimSpace(lines[i])
		switch {
		case t == "" || commentRE.MatchString(t):
			i++
		case fenceRE.MatchString(t):
			j := i + 1
			for j < len(lines) && strings.TrimSpace(lines[j]) != "```" {
				j++
			}
			if j == len(lines) {
				return nil, fmt.Errorf("Markdown line %d: code block is not closed", i+1)
			}
			if t != "```{=latex}" { // raw LaTeX is for the LaTeX version only
				out = append(out, block{kind: blockCode, line: i + 1, text: strings.Join(lines[i+1:j], "\n")})
			}
			i = j + 1
		case headingRE.MatchString(t):
			m := headingRE.FindStringSubmatch(t)
			out = append(out, block{kind: blockHeading, line: i + 1, level: len(m[1]), text: m[2]})
			i++
		case isTable(i):
			bl := block{kind: blockTable, line: i + 1, head: splitRow(lines[i])}
			for _, a := range splitRow(lines[i+1]) {
				bl.align = append(bl.align, alignOf(a))
			}
			if len(bl.align) != len(bl.head) {
				return nil, fmt.Errorf("Markdown line %d: table header has %d columns, separator row %d", i+1, len(bl.head), len(bl.align))
			}
			j := i + 2
			for ; j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), "|"); j++ {
				cells := splitRow(lines[j])
				if len(cells) != len(bl.head) {
					return nil, fmt.Errorf("Markdown line %d: table row has %d cells, the header %d", j+1, len(cells), len(bl.head))
				}
				bl.rows = append(bl.rows, cells)
			}
			out = append(out, bl)
			i = j
		case bulletRE.MatchString(t) || numberRE.MatchString(t):
			re := bulletRE
			bl := block{kind: blockList, line: i + 1}
			if numberRE.MatchString(t) {
				re, bl.ordered = numberRE, true
			}
			for i < len(lines) && re.MatchString(strings.TrimSpace(lines[i])) {
				item := []string{re.FindStringSubmatch(strings.TrimSpace(lines[i]))[1]}
				// Continuation lines are indented and not items themselves.
				for i++; i < len(lines) && strings.HasPrefix(lines[i], "  ") && strings.TrimSpace(lines[i]) != "" &&
					!re.MatchString(strings.TrimSpace(lines[i])); i++ {
					item = append(item, strings.TrimSpace(lines[i]))
				}
				bl.items = append(bl.items, strings.Join(item, "\n"))
			}
			out = append(out, bl)
		default:
			j := i + 1
			for j < len(lines) && !interrupts(j) {
				j++
			}
			out = append(out, block{kind: blockPara, line: i + 1, text: strings.Join(lines[i:j], "\n")})
			i = j
		}
	}
	return figureBlocks(out), nil
}

// figureBlocks turns a paragraph that is one figure image, and the
// caption paragraph after it, into a figure block.
func figureBlocks(in []block) []block {
	var out []block
	for k := 0; k < len(in); k++ {
		bl := in[k]
		m := imageRE.FindStringSubmatch(strings.TrimSpace(bl.text))
		if bl.kind != blockPara || m == nil {
			out = append(out, bl)
			continue
		}
		fig := block{kind: blockFigure, line: bl.line, fig: m[2]}
		if k+1 < len(in) && in[k+1].kind == blockPara {
			if c := captionRE.FindStringSubmatch(in[k+1].text); c != nil && c[1] == m[2] {
				fig.text = in[k+1].text
				k++
			}
		}
		out = append(out, fig)
	}
	return out
}

func alignOf(sep string) string {
	switch l, r := strings.HasPrefix(sep, ":"), strings.HasSuffix(sep, ":"); {
	case l && r:
		return "center"
	case r:
		return "right"
	case l:
		return "left"
	}
	return ""
}

// htmlWriter renders blocks and remembers what the page needs besides.
type htmlWriter struct {
	rep     htmlReport
	title   string          // the text of the first level-1 heading
	slugs   map[string]int  // heading ids given so far
	unknown map[string]bool // math commands shown as TeX source
	used    map[string]bool // entries referenced
	order   []*Entry        // in order of first reference
	err     error           // the first inline error
}

func (w *htmlWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// block renders one block.
func (w *htmlWriter) block(bl block) (string, error) {
	w.err = nil
	var b strings.Builder
	switch bl.kind {
	case blockHeading:
		if bl.level == 1 && w.title == "" {
			w.title = w.plain(bl.text)
		}
		fmt.Fprintf(&b, "<h%d id=\"%s\">%s</h%d>\n", bl.level, w.slug(bl.text), w.inline(bl.text), bl.level)
	case blockPara:
		fmt.Fprintf(&b, "<p>%s</p>\n", w.inline(bl.text))
	case blockCode:
		fmt.Fprintf(&b, "<pre><code>%s</code></pre>\n", html.EscapeString(unmark(bl.text, w.rep.refs)))
	case blockList:
		tag := "ul"
		if bl.ordered {
			tag = "ol"
		}
		b.WriteString("<" + tag + ">\n")
		for _, it := range bl.items {
			fmt.Fprintf(&b, "<li>%s</li>\n", w.inline(it))
		}
		b.WriteString("</" + tag + ">\n")
	case blockTable:
		row := func(cells []string, tag string) {
			b.WriteString("<tr>")
			for k, c := range cells {
				style := ""
				if bl.align[k] != "" {
					style = ` style="text-align:` + bl.align[k] + `"`
				}
				fmt.Fprintf(&b, "<%s%s>%s</%s>", tag, style, w.inline(c), tag)
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("<div class=\"table\"><table>\n<thead>\n")
		row(bl.head, "th")
		b.WriteString("</thead>\n<tbody>\n")
		for _, r := range bl.rows {
			row(r, "td")
		}
		b.WriteString("</tbody>\n</table></div>\n")
	case blockFigure:
		svg, ok := w.rep.svgs[bl.fig]
		if !ok {
			return "", fmt.Errorf("figure %s: no gathered figure stage published %s.svg", bl.fig, bl.fig)
		}
		fmt.Fprintf(&b, "<figure id=\"%s\">\n%s\n", figureID(bl.fig), svg)
		if bl.text != "" {
			fmt.Fprintf(&b, "<figcaption>%s</figcaption>\n", w.inline(bl.text))
		}
		b.WriteString("</figure>\n")
	}
	return b.String(), w.err
}

func figureID(name string) string { return "fig-" + name }

// slug is a heading's id as code-hosting sites make it (lower case,
// letters, digits, '-' and '_' kept, spaces to '-'), so that the links of
// README.md (#reproducing-this-report) work; repeats get -1, -2, ...
func (w *htmlWriter) slug(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(w.plain(text)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	s := b.String()
	n := w.slugs[s]
	w.slugs[s] = n + 1
	if n > 0 {
		s += "-" + strconv.Itoa(n)
	}
	return s
}

// plain is the text of inline Markdown as rendered, without markup.
func (w *htmlWriter) plain(s string) string {
	return html.UnescapeString(tagRE.ReplaceAllString(w.inline(s), ""))
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// inline renders the inline Markdown of one block.
func (w *htmlWriter) inline(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := s[i:]
		switch c := s[i]; {
		case c == refOpen[0]:
			n := w.markAt(&b, rest, false)
			i += n
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			b.WriteString(html.EscapeString(s[i+1 : i+2]))
			i += 2
		case c == '`' || c == '$':
			j := strings.IndexByte(rest[1:], c)
			if j < 0 {
				b.WriteString(html.EscapeString(rest[:1]))
				i++
				continue
			}
			inner := rest[1 : 1+j]
			if c == '`' {
				b.WriteString("<code>" + w.codeText(inner) + "</code>")
			} else {
				b.WriteString(`<span class="math">` + w.math(inner) + `</span>`)
			}
			i += j + 2
		case strings.HasPrefix(rest, "**") || c == '*':
			delim, tag := "*", "em"
			if strings.HasPrefix(rest, "**") {
				delim, tag = "**", "strong"
			}
			j := strings.Index(rest[len(delim):], delim)
			if j <= 0 {
				b.WriteString(rest[:len(delim)])
				i += len(delim)
				continue
			}
			b.WriteString("<" + tag + ">" + w.inline(rest[len(delim):len(delim)+j]) + "</" + tag + ">")
			i += 2*len(delim) + j
		case c == '!' && strings.HasPrefix(rest, "!["):
			w.fail(fmt.Errorf("an image inside text (only a paragraph that is one ../figures/NAME.png image is a figure): %.40q", rest))
			b.WriteString("!")
			i++
		case c == '[':
			text, url, n, ok := linkAt(rest)
			if !ok {
				b.WriteString("[")
				i++
				continue
			}
			fmt.Fprintf(&b, `<a href="%s">%s</a>`, html.EscapeString(url), w.inline(text))
			i += n
		default:
			n := strings.IndexAny(rest[1:], refOpen+"\\`$*![")
			if n < 0 {
				n = len(rest) - 1
			}
			b.WriteString(html.EscapeString(rest[:1+n]))
			i += 1 + n
		}
	}
	return b.String()
}

func isASCIIPunct(c byte) bool {
	return c < 0x80 && unicode.IsPunct(rune(c)) || strings.IndexByte("$+<=>^`|~", c) >= 0
}

// linkAt reads a link [text](url) at the start of s: its text, its URL
// and its length. The text holds no brackets.
func linkAt(s string) (text, url string, n int, ok bool) {
	close := strings.IndexByte(s, ']')
	if close < 0 || strings.IndexByte(s[1:close], '[') >= 0 || !strings.HasPrefix(s[close:], "](") {
		return "", "", 0, false
	}
	end := strings.IndexByte(s[close:], ')')
	if end < 0 {
		return "", "", 0, false
	}
	return s[1:close], s[close+2 : close+end], close + end + 1, true
}

// codeText renders the inside of a code span: literal text, with marks.
func (w *htmlWriter) codeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == refOpen[0] {
			i += w.markAt(&b, s[i:], true)
			continue
		}
		n := strings.IndexByte(s[i+1:], refOpen[0])
		if n < 0 {
			n = len(s) - i - 1
		}
		b.WriteString(html.EscapeString(s[i : i+1+n]))
		i += 1 + n
	}
	return b.String()
}

// markAt renders the mark at the start of s (inside a code span if code)
// and returns its length. A control character that starts no mark is
// dropped.
func (w *htmlWriter) markAt(b *strings.Builder, s string, code bool) int {
	loc := markRE.FindStringIndex(s)
	if loc == nil || loc[0] != 0 {
		w.fail(fmt.Errorf("a stray control character in %.40q", s))
		return 1
	}
	i, ok := markIndex(s[:loc[1]], w.rep.refs)
	if !ok {
		w.fail(fmt.Errorf("mark %q indexes no reference", s[:loc[1]]))
		return loc[1]
	}
	b.WriteString(w.ref(w.rep.refs[i], code))
	return loc[1]
}

// ref renders a reference (inside a code span if code): a figure
// reference as a link to the figure, an entry as an element naming it,
// showing what README.md shows.
func (w *htmlWriter) ref(r htmlRef, code bool) string {
	if r.entry == nil {
		return fmt.Sprintf(`<a class="bfc-figref" href="#%s">%s</a>`, figureID(r.fig), html.EscapeString(r.md))
	}
	e := r.entry
	if !w.used[e.Name] {
		w.used[e.Name] = true
		w.order = append(w.order, e)
	}
	// Inside a code span Markdown shows what it holds verbatim; outside
	// it, a text's escapes are markup (numbers have none).
	shown, class := r.md, "bfc-ref bfc-num"
	if e.IsText() {
		class = "bfc-ref bfc-txt"
		if !code {
			shown = e.Text
		}
	}
	return fmt.Sprintf(`<span class="%s" data-entry="%s" tabindex="0">%s</span>`, class, e.Name, html.EscapeString(shown))
}

// provJSON is the provenance the page carries: the points sources come
// from, and per entry referenced its operation and sources.
type provJSON struct {
	Points  []provPoint          `json:"points"`
	Entries map[string]provEntry `json:"entries"`
}

type provPoint struct {
	Kind   string `json:"kind"`
	Key    string `json:"key"`
	Labels string `json:"labels"` // grid labels, "a=1,b=x"; empty for an ungridded stage or a file
}

type provEntry struct {
	Op      string       `json:"op"`
	Format  string       `json:"format"`
	Value   string       `json:"value"` // as bfc export prints a float; empty for text
	Shown   string       `json:"shown"`
	Text    string       `json:"text"`
	Sources []provSource `json:"sources"`
}

type provSource struct {
	Point  int    `json:"p"` // index into points
	Table  string `json:"t"`
	Row    int    `json:"r"`
	Column string `json:"c"`
	Value  string `json:"v"` // the cell's number as bfc export prints it, or its text
	IsText bool   `json:"x,omitempty"`
}

// csvFloat prints a float as `bfc export` does.
func csvFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// provenance returns the page's provenance data as JSON.
func (w *htmlWriter) provenance() ([]byte, error) {
	data := provJSON{Entries: map[string]provEntry{}}
	pointIdx := map[[2]string]int{}
	for _, e := range w.order {
		pe := provEntry{Op: e.Op, Format: e.Format, Text: e.Text, Sources: []provSource{}}
		if !e.IsText() {
			pe.Value, pe.Shown = csvFloat(e.Value), csvFloat(e.Shown)
		}
		for _, c := range e.Sources {
			id := [2]string{c.Kind, c.Key}
			p, ok := pointIdx[id]
			if !ok {
				p = len(data.Points)
				pointIdx[id] = p
				data.Points = append(data.Points, provPoint{Kind: c.Kind, Key: c.Key, Labels: w.rep.points[c.Key]})
			}
			s := provSource{Point: p, Table: c.Table, Row: c.Row, Column: c.Column, Value: csvFloat(c.Num), IsText: c.IsText}
			if c.IsText {
				s.Value = c.Str
			}
			pe.Sources = append(pe.Sources, s)
		}
		data.Entries[e.Name] = pe
	}
	b, err := json.Marshal(data) // escapes <, > and &: safe inside <script>
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return b, nil
}

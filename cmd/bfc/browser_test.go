package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/stages/kinds/paper"
	"github.com/bfc-repro/bfc/stages/kit"
)

// browserPage is what testdata/browser/check.mjs reports of the page.
type browserPage struct {
	URL        string
	Console    []string
	PageErrors []string
	Requests   []string
	Failed     []string
	Figures    []struct {
		Figure        string
		Width, Height float64
	}
	Refs    []browserRef
	Samples []struct {
		Index int
		browserRef
		Panel struct {
			Entry                          string
			Visible                        bool
			Op, Value, Shown, Format, Text *string
			Header                         []string
			Rows                           [][]string
		}
	}
	Pin *struct {
		Entry, PinnedEntry                string
		PinnedVisible, VisibleAfterEscape bool
	}
}

type browserRef struct {
	Entry, Text    string
	Number, InCode bool
}

// browserTool returns node and the directory of the npm test package, or
// skips (fails, with BFC_REQUIRE_BROWSER=1) when chromium, node or the
// package's node_modules are missing.
func browserTool(t *testing.T) (node, dir string) {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		if os.Getenv("BFC_REQUIRE_BROWSER") == "1" {
			t.Fatalf("BFC_REQUIRE_BROWSER=1 but %s", why)
		}
		t.Skip(why)
	}
	dir, err := filepath.Abs("testdata/browser")
	if err != nil {
		t.Fatal(err)
	}
	chromium := os.Getenv("BFC_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("chromium is not installed (apt-get install chromium)")
	}
	if node, err = exec.LookPath("node"); err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core")); err != nil {
		missing("puppeteer-core is not installed: cd cmd/bfc/testdata/browser && npm ci")
	}
	return node, dir
}

// smokePaper runs the project's pipeline up to its paper stage under the
// smoke profile into a fresh store (skipping when the pipeline file has no
// paper stage) and returns the project, the file, the store, its
// directory and the paper point's manifest.
func smokePaper(t *testing.T) (root, file string, st *store.Store, dir string, m *store.Manifest) {
	t.Helper()
	root, file = projectPipeline(t)
	src, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("[stage.paper]")) {
		t.Skipf("%s has no paper stage", file)
	}
	st, dir = smokeRun(t, "paper")
	return root, file, st, dir, smokeManifest(t, st, "paper")
}

// publishedFile returns the content of the file name that point m
// published into the paper directory.
func publishedFile(t *testing.T, st *store.Store, m *store.Manifest, name string) []byte {
	t.Helper()
	o, ok := m.Output(store.PublishPrefix + "paper." + name)
	if !ok {
		t.Fatalf("%s published no %s", m.Stage, name)
	}
	b, err := st.ReadObject(o.File)
	if err != nil {
		t.Fatal(err)
	}
	_, got, data, err := store.PublishedFile(b)
	if err != nil || got != name {
		t.Fatalf("published %s: %q, %v", name, got, err)
	}
	return data
}

// TestHTMLReportInBrowser builds the smoke report and loads its
// index.html in headless Chromium: no console errors, no request but the
// page itself, every figure drawn with a non-zero size, every number
// showing what the numbers table says, and for a deterministic sample of
// numbers and texts the provenance panel shown on hover is exactly the
// entry's rows of `bfc export paper --output sources`, with the grid
// labels of the point each key names in the store.
func TestHTMLReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	node, browserDir := browserTool(t)
	root, file, st, dir, m := smokePaper(t)
	if out, want := paper.PublishedName(kit.Paper, "index.html"), store.PublishPrefix+"paper.index.html"; out != want {
		t.Fatalf("paper.PublishedName says %q, the engine stores %q", out, want)
	}
	page, readme := publishedFile(t, st, m, "index.html"), publishedFile(t, st, m, "README.md")
	if tex := regexp.MustCompile(`<span class="tex">([^<]*)</span>`).FindAllSubmatch(page, -1); len(tex) > 0 {
		t.Errorf("the page shows %d math commands as TeX source (unknown to stages/kinds/paper/htmlmath.go), the first %s", len(tex), tex[0][1])
	}

	// What the command line says the page should show.
	export := func(output string) (map[string]int, [][]string) {
		r := runBFC(t, root, nil, "-f", file, "--profile", "smoke", "--store", dir, "export", "paper", "--output", output)
		if r.code != 0 {
			t.Fatalf("export paper --output %s: exit %d: %s", output, r.code, r.stderr)
		}
		rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("export paper --output %s: %d rows, %v", output, len(rows), err)
		}
		col := map[string]int{}
		for i, h := range rows[0][1:] { // column 0 is the paper point's own key
			col[h] = i + 1
		}
		return col, rows[1:]
	}
	ncol, nrows := export("numbers")
	scol, srows := export("sources")
	numbers := map[string][]string{}
	for _, r := range nrows {
		numbers[r[ncol["name"]]] = r
	}
	sources := map[string][][]string{}
	for _, r := range srows {
		sources[r[scol["name"]]] = append(sources[r[scol["name"]]], r)
	}

	path := filepath.Join(t.TempDir(), "index.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "check.mjs", path, "20", "5")
	cmd.Dir = browserDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check.mjs: %v\n%s", err, lastLines(stderr.String(), 30))
	}
	var got browserPage
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("check.mjs printed no report: %v\n%.500s", err, out)
	}

	if len(got.Console)+len(got.PageErrors) > 0 {
		t.Errorf("console errors: %q; page errors: %q", got.Console, got.PageErrors)
	}
	if len(got.Requests) != 1 || got.Requests[0] != got.URL || len(got.Failed) > 0 {
		t.Errorf("requests: %q (want only the page, %s); failed: %q", got.Requests, got.URL, got.Failed)
	}

	// Every figure README.md shows is drawn, inline.
	var want []string
	for _, m := range regexp.MustCompile(`(?m)^!\[[^\]]*\]\(\.\./figures/([^)]+)\.png\)$`).FindAllSubmatch(readme, -1) {
		want = append(want, "fig-"+string(m[1]))
	}
	var drawn []string
	for _, f := range got.Figures {
		if f.Width <= 0 || f.Height <= 0 {
			t.Errorf("figure %q is drawn %gx%g", f.Figure, f.Width, f.Height)
		}
		drawn = append(drawn, f.Figure)
	}
	if len(want) == 0 || !slices.Equal(drawn, want) {
		t.Errorf("inline SVGs in %v, README.md shows figures %v", drawn, want)
	}

	// Every number and text shows what the numbers table says.
	for i, r := range got.Refs {
		n, ok := numbers[r.Entry]
		if !ok {
			t.Errorf("ref %d names %q, not an entry of the numbers table", i, r.Entry)
			continue
		}
		isText := n[ncol["op"]] == "text"
		wants := []string{n[ncol["md"]]} // a number; a text inside a code span, as Markdown shows it
		switch {
		case isText && r.InCode:
			wants = append(wants, strings.ReplaceAll(n[ncol["text"]], "`", "'")) // c NAME
		case isText:
			wants = []string{n[ncol["text"]]}
		}
		if r.Number == isText || !slices.Contains(wants, r.Text) {
			t.Errorf("ref %d (%s) shows %q (number %v), the numbers table %q (op %s)", i, r.Entry, r.Text, r.Number, wants, n[ncol["op"]])
		}
	}

	// The sample's provenance is the export's, row for row. A point is
	// shown by its grid labels, those of a point of the smoke run with
	// the source's key.
	refs, _, err := st.AllRefs()
	if err != nil {
		t.Fatal(err)
	}
	labelsOf := map[string][]string{}
	for _, r := range refs {
		if r.Profile == "smoke" {
			_, l, _ := strings.Cut(strings.TrimSuffix(r.Point, "]"), "[")
			labelsOf[r.Key.String()] = append(labelsOf[r.Key.String()], l)
		}
	}
	var nums, texts int
	for _, s := range got.Samples {
		p, n := s.Panel, numbers[s.Entry]
		if n == nil {
			continue // reported above
		}
		if p.Entry != s.Entry || !p.Visible {
			t.Errorf("hovering %s showed the panel of %q (visible %v)", s.Entry, p.Entry, p.Visible)
			continue
		}
		str := func(p *string) string {
			if p == nil {
				return "<absent>"
			}
			return *p
		}
		if s.Number {
			nums++
			if str(p.Op) != n[ncol["op"]] || str(p.Value) != n[ncol["value"]] || str(p.Shown) != n[ncol["shown"]] || str(p.Format) != n[ncol["format"]] {
				t.Errorf("%s: the panel says op %s, value %s, shown %s, format %s; the export %s, %s, %s, %s", s.Entry, str(p.Op), str(p.Value),
					str(p.Shown), str(p.Format), n[ncol["op"]], n[ncol["value"]], n[ncol["shown"]], n[ncol["format"]])
			}
		} else {
			texts++
			if str(p.Op) != "text" || str(p.Text) != n[ncol["text"]] {
				t.Errorf("%s: the panel says op %s, text %q; the export text %q", s.Entry, str(p.Op), str(p.Text), n[ncol["text"]])
			}
		}
		if wantHead := []string{"#", "kind", "point", "stage key", "table", "row", "column", "value"}; !slices.Equal(p.Header, wantHead) {
			t.Errorf("%s: panel columns %q, want %q", s.Entry, p.Header, wantHead)
		}
		var wantRows [][]string
		for _, r := range sources[s.Entry] {
			v := r[scol["num"]]
			if r[scol["is_text"]] == "true" {
				v = r[scol["text"]]
			}
			wantRows = append(wantRows, []string{r[scol["index"]], r[scol["kind"]], "", r[scol["key"]], r[scol["table"]], r[scol["row"]], r[scol["column"]], v})
		}
		// The point column: a file has none; a stage point's labels are
		// those of a point with its key.
		for k, row := range p.Rows {
			if k >= len(wantRows) || len(row) != len(wantRows[k]) {
				break
			}
			if wantRows[k][1] != "file" && slices.Contains(labelsOf[wantRows[k][3]], row[2]) {
				wantRows[k][2] = row[2]
			} else if wantRows[k][1] != "file" {
				wantRows[k][2] = "one of " + strings.Join(labelsOf[wantRows[k][3]], " | ")
			}
		}
		if strconv.Itoa(len(wantRows)) != n[ncol["sources"]] {
			t.Fatalf("%s: the export lists %d sources, its numbers table %s", s.Entry, len(wantRows), n[ncol["sources"]])
		}
		if !slices.EqualFunc(p.Rows, wantRows, slices.Equal[[]string]) {
			t.Errorf("%s: the panel shows sources\n%q\nthe export\n%q", s.Entry, p.Rows, wantRows)
		}
	}
	if nums < 20 || texts < 5 {
		t.Errorf("the sample has %d numbers and %d texts, want 20 and 5 (the page has %d references)", nums, texts, len(got.Refs))
	}
	if p := got.Pin; p == nil || p.PinnedEntry != p.Entry || !p.PinnedVisible || p.VisibleAfterEscape {
		t.Errorf("a click should pin the panel until Escape: %+v", got.Pin)
	}
	t.Logf("%d references on the page; %d numbers and %d texts checked against bfc export paper --output sources; %d figures drawn",
		len(got.Refs), nums, texts, len(got.Figures))
}

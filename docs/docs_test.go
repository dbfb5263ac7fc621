package docs

import (
	"bufio"
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// root is the module root, relative to this package's directory.
const root = ".."

// scienceDoc is the science document, relative to the module root.
const scienceDoc = "docs/science.md"

// outsideRefs are the documents outside the repository that nothing may
// cite. They are spelt in two pieces so that this file does not match
// itself.
var outsideRefs = []string{"SCIENCE" + ".md", ".." + "/shared"}

// requiredAnchors are the anchors the rest of the repository cites; the
// science document must define every one of them.
var requiredAnchors = []string{
	"claims", "claim-1", "claim-2", "claim-3", "claim-4", "claim-5",
	"target", "learner", "schedules", "baselines", "experiments",
	"e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8",
	"verdicts", "ours",
}

// repoFiles lists the repository's files (slash-separated, relative to the
// module root): tracked and untracked-but-not-ignored files from git, or,
// when git is unavailable (an exported tree), every regular file of the
// module outside .git, node_modules, the store and build outputs.
func repoFiles(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err == nil {
		var files []string
		for _, f := range bytes.Split(out, []byte{0}) {
			if len(f) == 0 {
				continue
			}
			name := string(f)
			// Deleted in the work tree but still in the index: nothing to read.
			if fi, err := os.Lstat(filepath.Join(root, name)); err == nil && fi.Mode().IsRegular() {
				files = append(files, name)
			}
		}
		slices.Sort(files)
		files = slices.Compact(files)
		if len(files) == 0 {
			t.Fatal("git ls-files listed no files")
		}
		return files
	}
	t.Logf("git ls-files failed (%v): walking the module instead", err)
	skip := map[string]bool{".git": true, "node_modules": true, ".bfc": true, "bin": true}
	var files []string
	werr := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skip[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if werr != nil {
		t.Fatalf("walk %s: %v", root, werr)
	}
	return files
}

// offence is one problem at a file and line.
type offence struct {
	file string
	line int
	msg  string
}

func (o offence) String() string { return fmt.Sprintf("%s:%d: %s", o.file, o.line, o.msg) }

// report fails t with every offence, one per line, sorted by file and line.
func report(t *testing.T, what string, offs []offence) {
	t.Helper()
	if len(offs) == 0 {
		return
	}
	slices.SortFunc(offs, func(a, b offence) int {
		if c := strings.Compare(a.file, b.file); c != 0 {
			return c
		}
		return a.line - b.line
	})
	var b strings.Builder
	files := map[string]bool{}
	for _, o := range offs {
		b.WriteString("\n\t" + o.String())
		files[o.file] = true
	}
	t.Errorf("%s: %d in %d files:%s", what, len(offs), len(files), b.String())
}

// lines calls fn for every line of data with its 1-based number.
func lines(data []byte, fn func(n int, line string)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		fn(n, sc.Text())
	}
}

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return b
}

// TestNoReferencesOutsideTheRepository fails on every line of every
// repository file that cites a document outside the repository.
func TestNoReferencesOutsideTheRepository(t *testing.T) {
	var offs []offence
	for _, f := range repoFiles(t) {
		data := readRepoFile(t, f)
		if !slices.ContainsFunc(outsideRefs, func(s string) bool { return bytes.Contains(data, []byte(s)) }) {
			continue
		}
		lines(data, func(n int, line string) {
			for _, s := range outsideRefs {
				if strings.Contains(line, s) {
					offs = append(offs, offence{f, n, fmt.Sprintf("cites %q, which is outside the repository (use %s#<anchor>, or bench/ for the peer programs)", s, scienceDoc)})
				}
			}
		})
	}
	report(t, "references to documents outside the repository", offs)
}

// Anchors cited from anywhere (docs/science.md#<anchor>) and, inside
// docs/, relative to the document (science.md#<anchor>). Go's regexp has
// no look-behind, so the second pattern requires that the name is not
// preceded by a path character: it does not match inside the first.
var (
	citeAbs = regexp.MustCompile(`docs/science\.md#([A-Za-z0-9_-]*)`)
	citeRel = regexp.MustCompile(`(^|[^A-Za-z0-9_/.-])science\.md#([A-Za-z0-9_-]*)`)
	// Markdown links and explicit anchors inside the science document.
	mdLink   = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	idAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	heading  = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
)

// slug is GitHub's anchor for a Markdown heading: lower case, everything
// but letters, digits, spaces, hyphens and underscores removed, spaces
// turned into hyphens.
func slug(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// anchors returns the anchors defined in a Markdown document: explicit
// <a id="..."> / <a name="..."> anchors and the GitHub slugs of its
// headings (a repeated slug gets -1, -2, ... as on GitHub), with the line
// defining each. Headings inside fenced code blocks do not count.
func anchors(data []byte) map[string]int {
	out := map[string]int{}
	seen := map[string]int{}
	fenced := false
	lines(data, func(n int, line string) {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") || strings.HasPrefix(trim, "~~~") {
			fenced = !fenced
			return
		}
		if fenced {
			return
		}
		for _, m := range idAnchor.FindAllStringSubmatch(line, -1) {
			if _, dup := out[m[1]]; !dup {
				out[m[1]] = n
			}
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			s := slug(m[2])
			if k := seen[s]; k > 0 {
				seen[s]++
				s = fmt.Sprintf("%s-%d", s, k)
			} else {
				seen[s] = 1
			}
			if _, dup := out[s]; !dup {
				out[s] = n
			}
		}
	})
	return out
}

// TestSlug checks the heading slugs against GitHub's rendering.
func TestSlug(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"The five claims", "the-five-claims"},
		{"E5 and E6: sample complexity (claim 4)", "e5-and-e6-sample-complexity-claim-4"},
		{"`bfc-x` and `lower-only`", "bfc-x-and-lower-only"},
		{"Choices that are ours", "choices-that-are-ours"},
		{"Feature error ε_l", "feature-error-ε_l"},
		{"A/B — C", "ab--c"},
	} {
		if got := slug(c.in); got != c.want {
			t.Errorf("slug(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	doc := []byte("# Title\n<a id=\"x\"></a>\n## Same\n## Same\n```\n# not a heading\n```\n")
	got := anchors(doc)
	for a, line := range map[string]int{"title": 1, "x": 2, "same": 3, "same-1": 4} {
		if got[a] != line {
			t.Errorf("anchors: %q at line %d, want %d (all: %v)", a, got[a], line, got)
		}
	}
	if _, ok := got["not-a-heading"]; ok {
		t.Errorf("anchors: a heading inside a code block counted: %v", got)
	}
}

// TestScienceAnchorsResolve fails on every citation of docs/science.md
// whose anchor it does not define, anywhere in the repository, and checks
// that it defines every anchor the project cites.
func TestScienceAnchorsResolve(t *testing.T) {
	defined := anchors(readRepoFile(t, scienceDoc))
	var missing []string
	for _, a := range requiredAnchors {
		if _, ok := defined[a]; !ok {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s does not define the anchors %v (write <a id=\"...\"></a> before the heading)", scienceDoc, missing)
	}
	var offs []offence
	check := func(file string, n int, anchor string) {
		// An empty anchor is the pattern itself ("science.md#" in code
		// that looks for citations), not a citation.
		if anchor != "" && defined[anchor] == 0 {
			offs = append(offs, offence{file, n, fmt.Sprintf("cites %s#%s, which %s does not define", scienceDoc, anchor, scienceDoc)})
		}
	}
	for _, f := range repoFiles(t) {
		data := readRepoFile(t, f)
		if !bytes.Contains(data, []byte("science.md#")) && f != scienceDoc {
			continue
		}
		inDocs := strings.HasPrefix(f, "docs/")
		lines(data, func(n int, line string) {
			for _, m := range citeAbs.FindAllStringSubmatch(line, -1) {
				check(f, n, m[1])
			}
			if inDocs {
				for _, m := range citeRel.FindAllStringSubmatch(line, -1) {
					check(f, n, m[2])
				}
			}
			if f == scienceDoc {
				for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
					if strings.HasPrefix(m[1], "#") {
						check(f, n, m[1][1:])
					}
				}
			}
		})
	}
	report(t, "citations of "+scienceDoc+" with an undefined anchor", offs)
}

// TestScienceLinksExist fails on every link of docs/science.md to a
// repository path (file or directory) that does not exist. Links to other
// sites (a scheme such as https:) and to anchors of the document itself are
// left to the other tests.
func TestScienceLinksExist(t *testing.T) {
	data := readRepoFile(t, scienceDoc)
	dir := filepath.Dir(filepath.Join(root, filepath.FromSlash(scienceDoc)))
	scheme := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	var offs []offence
	links := 0
	lines(data, func(n int, line string) {
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.HasPrefix(target, "#") || scheme.MatchString(target) {
				continue
			}
			links++
			path, _, _ := strings.Cut(target, "#")
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(path))); err != nil {
				offs = append(offs, offence{scienceDoc, n, fmt.Sprintf("links to %s, which does not exist in the repository", path)})
			}
		}
	})
	if links == 0 {
		t.Errorf("%s links to no repository file: the check found nothing to check", scienceDoc)
	}
	report(t, "links of "+scienceDoc+" to missing paths", offs)
}

// TestEveryPackageHasADoc fails for every Go package of the module (test
// files aside) none of whose files attaches a doc comment to its package
// clause, so that `go doc` prints nothing about the package's model. A
// comment separated from the clause by a blank line does not count: Go
// drops it.
func TestEveryPackageHasADoc(t *testing.T) {
	dirs := map[string]bool{} // package directory -> has a doc
	for _, f := range repoFiles(t) {
		if !strings.HasSuffix(f, ".go") || strings.HasSuffix(f, "_test.go") ||
			strings.Contains(f, "/testdata/") || strings.HasPrefix(f, "testdata/") {
			continue
		}
		src := readRepoFile(t, f)
		file, err := parser.ParseFile(token.NewFileSet(), f, src, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		dir := path.Dir(f)
		dirs[dir] = dirs[dir] || (file.Doc != nil && strings.TrimSpace(file.Doc.Text()) != "")
	}
	if len(dirs) < 10 {
		t.Fatalf("found only %d Go packages; the file listing is wrong", len(dirs))
	}
	var offs []offence
	for dir, ok := range dirs {
		if !ok {
			offs = append(offs, offence{dir, 0, "package has no doc comment attached to its package clause"})
		}
	}
	report(t, "packages without a doc", offs)
}

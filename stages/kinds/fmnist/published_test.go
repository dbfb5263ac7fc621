package fmnist

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

const readmeSnippet = `# Fashion-MNIST
Some text | with a pipe.

| Classifier | Preprocessing | Fashion test accuracy | MNIST test accuracy | Submitter| Code |
| --- | --- | --- | --- | --- |--- |
|2 Conv+pooling | None | 0.876 | - | [Kashif Rasul](https://x.org/k) | [:link:](https://x.org/g) |
|MLP 256-128-100| None | 0.8833| 0.97 | [@h](https://x.org/h)| [:link:](https://x.org/m)| 

### Other Explorations
| Classifier | not this table |
`

func TestParsePublished(t *testing.T) {
	rows, err := ParsePublished(gz([]byte(readmeSnippet)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	r0, r1 := rows[0], rows[1]
	if r0.Classifier != "2 Conv+pooling" || r0.Preprocessing != "None" || r0.Accuracy != 0.876 || !math.IsNaN(r0.MNIST) || r0.Submitter != "Kashif Rasul" {
		t.Errorf("row 0: %+v", r0)
	}
	if r1.Classifier != "MLP 256-128-100" || r1.Accuracy != 0.8833 || r1.MNIST != 0.97 || r1.Submitter != "@h" {
		t.Errorf("row 1: %+v", r1)
	}
	for _, c := range []struct{ name, text, want string }{
		{"accuracy not a number", strings.Replace(readmeSnippet, "0.876", "n/a", 1), `line 6: Fashion test accuracy "n/a"`},
		{"accuracy in percent", strings.Replace(readmeSnippet, "0.876", "87.6", 1), `"87.6" is not a number in [0, 1]`},
		{"no table", "# nothing here\n", "no table"},
	} {
		if _, err := ParsePublished([]byte(c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

// TestReadmeFixture parses the committed README excerpt that the smoke
// profile reads instead of the Debian file.
func TestReadmeFixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParsePublished(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[2].Classifier != "Human Performance" || rows[2].Accuracy != 0.835 {
		t.Fatalf("%+v", rows)
	}
}

func TestPublishedKind(t *testing.T) {
	path := DefaultReadme
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(t.TempDir(), "README.md")
		if err := os.WriteFile(path, []byte(readmeSnippet), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := kittest.NewEnv(t, PublishedKind{}, map[string]any{"readme": path}, 1)
	if err := (PublishedKind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	rec := env.Output("published")
	cls, _ := kit.ReadStrings(rec, "classifier")
	acc, _ := kit.ReadFloat64s(rec, "accuracy")
	if len(cls) < 2 || len(acc) != len(cls) {
		t.Fatalf("%d classifiers, %d accuracies", len(cls), len(acc))
	}
	if path == DefaultReadme {
		// the Debian README of 2020-05-23 lists 37 submissions, from
		// human performance (0.835) to WRN40-4 (0.967)
		lo, hi := acc[0], acc[0]
		for _, a := range acc {
			lo, hi = min(lo, a), max(hi, a)
		}
		if len(cls) < 30 || lo != 0.835 || hi != 0.967 {
			t.Errorf("Debian README: %d rows, accuracies %v..%v", len(cls), lo, hi)
		}
	}
}

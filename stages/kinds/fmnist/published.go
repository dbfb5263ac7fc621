package fmnist

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/stages/kit"
)

// DefaultReadme is the README that Debian's dataset-fashion-mnist installs.
// Its table of submitted benchmarks holds the published test accuracies;
// benchmark/baselines.json beside it holds no accuracies, only the
// scikit-learn hyper-parameter grid that benchmark/runner.py searches.
const DefaultReadme = "/usr/share/doc/dataset-fashion-mnist/README.md.gz"

// Published is one row of the README's table of submitted benchmarks.
type Published struct {
	Classifier    string
	Preprocessing string
	Accuracy      float64 // Fashion-MNIST test accuracy in [0, 1]
	MNIST         float64 // MNIST test accuracy, NaN when not given
	Submitter     string  // link text only
}

var mdLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// plainCell strips markdown links (keeping their text) and spaces.
func plainCell(s string) string {
	return strings.TrimSpace(mdLink.ReplaceAllString(s, "$1"))
}

// ParsePublished extracts the table of submitted benchmarks from the
// README (gzipped or not): the markdown table whose header starts with
// "| Classifier | Preprocessing | Fashion test accuracy". Rows whose
// accuracy is not a number in [0, 1] are errors, naming the line.
func ParsePublished(raw []byte) ([]Published, error) {
	data, err := gunzipIfNeeded(raw)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	var out []Published
	inTable, line := false, 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		cells := strings.Split(strings.Trim(text, "|"), "|")
		if !inTable {
			if len(cells) >= 3 && strings.TrimSpace(cells[0]) == "Classifier" && strings.TrimSpace(cells[2]) == "Fashion test accuracy" {
				inTable = true
			}
			continue
		}
		if !strings.HasPrefix(text, "|") {
			break // the table ends at the first line that is not a row
		}
		if strings.HasPrefix(strings.TrimSpace(cells[0]), "---") {
			continue
		}
		if len(cells) < 5 {
			return nil, fmt.Errorf("line %d: %d cells, want at least 5", line, len(cells))
		}
		acc, err := strconv.ParseFloat(strings.TrimSpace(cells[2]), 64)
		if err != nil || acc < 0 || acc > 1 {
			return nil, fmt.Errorf("line %d: Fashion test accuracy %q is not a number in [0, 1]", line, strings.TrimSpace(cells[2]))
		}
		mn := math.NaN()
		if v, err := strconv.ParseFloat(strings.TrimSpace(cells[3]), 64); err == nil {
			mn = v
		}
		out = append(out, Published{Classifier: plainCell(cells[0]), Preprocessing: plainCell(cells[1]),
			Accuracy: acc, MNIST: mn, Submitter: plainCell(cells[4])})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no table with the header \"| Classifier | Preprocessing | Fashion test accuracy |\" and at least one row")
	}
	return out, nil
}

// PublishedKind is the stage kind "fmnist_published": the published test
// accuracies of other classifiers, as an outside reference for E8.
type PublishedKind struct{}

// Name implements kit.Kind.
func (PublishedKind) Name() string { return "fmnist_published" }

// Doc implements kit.Kind.
func (PublishedKind) Doc() string {
	return "Reads the table of submitted benchmarks (published Fashion-MNIST test accuracies, unverified by the " +
		"data set's authors) from the README of Debian's dataset-fashion-mnist. Output: published (classifier, " +
		"preprocessing, accuracy, mnist_accuracy, submitter)."
}

// Params implements kit.Kind.
func (PublishedKind) Params() []kit.Param {
	return []kit.Param{kit.StringParam("readme", DefaultReadme, "the README (markdown, gzipped or not)")}
}

// Files implements kit.Filer.
func (PublishedKind) Files(p kit.Params) []string { return []string{readmeOf(p)} }

// readmeOf decodes the one parameter of an fmnist_published stage.
func readmeOf(p kit.Params) string { return p.String("readme") }

// Run implements kit.Kind.
func (PublishedKind) Run(env kit.Env) error {
	path := readmeOf(env.Params())
	raw, err := env.ReadFile(path)
	if err != nil {
		return fmt.Errorf("fmnist_published: read %s: %w", path, err)
	}
	rows, err := ParsePublished(raw)
	if err != nil {
		return fmt.Errorf("fmnist_published: %s: %w", path, err)
	}
	var cls, pre, sub []string
	var acc, mn []float64
	for _, r := range rows {
		cls, pre, sub = append(cls, r.Classifier), append(pre, r.Preprocessing), append(sub, r.Submitter)
		acc, mn = append(acc, r.Accuracy), append(mn, r.MNIST)
	}
	rec, err := kit.NewTable().String(ColClassifier, cls).String(ColPreprocessing, pre).Float64(ColAccuracy, acc).
		Float64(ColMNISTAccuracy, mn).String(ColSubmitter, sub).Record()
	if err != nil {
		return fmt.Errorf("fmnist_published: %w", err)
	}
	env.Logf("%d published accuracies from %s", len(rows), path)
	return env.Write(TablePublished, rec)
}

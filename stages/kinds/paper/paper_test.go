package paper

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/claims"
	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// A miniature E0 + E1 built from the real kinds: d = 4, k = 2, 200
// samples, 3 epochs of layer 2 alone and 2 for layer 3, three seeds (the
// claims stage's minimum), and the claims stage over them.

func tinyTarget(t testing.TB, L int, gap float64, seed int64, labels map[string]string) kit.Input {
	t.Helper()
	env := kittest.NewEnv(t, target.Kind{}, map[string]any{"d": int64(4), "k": int64(2), "L": int64(L), "gap": gap,
		"n_train": int64(200), "n_test": int64(100), "norm_samples": int64(2000)}, seed)
	if err := (target.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(labels)
}

func tinyTrain(t testing.TB, params map[string]any, seed int64, labels map[string]string, ins ...kit.Input) kit.Input {
	t.Helper()
	p := map[string]any{"epochs_first": int64(3), "epochs_per_stage": int64(2), "batch": int64(50), "m": int64(8)}
	for k, v := range params {
		p[k] = v
	}
	env := kittest.NewEnv(t, train.Kind{}, p, seed, ins...)
	if err := (train.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(labels)
}

// keyed gives an input a key of its own: kittest keys inputs by kind and
// seed only, and the report (like the engine) tells points apart by key.
type keyed struct {
	kit.Input
	key string
}

func (k keyed) Key() string { return k.key }

// miniInputs returns the inputs of a paper stage over the miniature
// pipeline. (Built per test: kittest releases a run's tables when the
// test that made it ends.)
func miniInputs(t testing.TB) []kit.Input {
	t.Helper()
	n := 0
	key := func(in kit.Input) kit.Input {
		n++
		return keyed{in, fmt.Sprintf("%s-%03d", in.Kind(), n)}
	}
	var ins []kit.Input
	for _, L := range []int{3, 4} {
		for _, g := range []float64{0.2, 0.4} {
			ins = append(ins, key(tinyTarget(t, L, g, 1, map[string]string{"L": strconv.Itoa(L), "gap": fmt.Sprint(g), "seed": "1"})))
		}
	}
	var trains []kit.Input
	for s := int64(1); s <= 3; s++ {
		lab := func(kv ...string) map[string]string {
			m := map[string]string{"seed": strconv.FormatInt(s, 10)}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return m
		}
		tin := key(tinyTarget(t, 3, 0.3, s, lab()))
		ins = append(ins, tin)
		ck := key(tinyTrain(t, map[string]any{"last_stage": int64(2)}, s, lab(), tin))
		trains = append(trains, ck)
		for _, sch := range []string{"joint", "layerwise", "lower-only"} {
			trains = append(trains, key(tinyTrain(t, map[string]any{"schedule": sch}, s, lab("schedule", sch), tin, ck)))
		}
		trains = append(trains, key(tinyTrain(t, map[string]any{"schedule": "end2end"}, s, lab(), tin)))
	}
	cenv := kittest.NewEnv(t, claims.Kind{}, claimsRules(t, map[string]any{"boot": int64(200)}), 7, trains...)
	if err := (claims.Kind{}).Run(cenv); err != nil {
		t.Fatal(err)
	}
	return append(append(ins, trains...), key(cenv.AsInput(nil)))
}

// runPaper runs the paper kind with the test template.
func runPaper(t testing.TB, raw map[string]any, ins []kit.Input) (*kittest.Env, error) {
	t.Helper()
	p := map[string]any{"template": "testdata/mini.md.tmpl", "search": "testdata/search.csv"}
	for k, v := range raw {
		p[k] = v
	}
	env := kittest.NewEnv(t, Kind{}, p, 1, ins...)
	return env, (Kind{}).Run(env)
}

// inputLookup finds source cells in the test's inputs (and files).
func inputLookup(ins []kit.Input) Lookup {
	byKey := map[string]kit.Input{}
	for _, in := range ins {
		byKey[in.Key()] = in
	}
	return func(c Cell) (Cell, error) {
		if c.Kind == "file" {
			return fileCell(c)
		}
		in, ok := byKey[c.Key]
		if !ok {
			return c, fmt.Errorf("no input with key %s", c.Key)
		}
		var err error
		if c.Table == paramTable {
			v, ok := in.Params()[c.Column]
			if !ok {
				return c, fmt.Errorf("no parameter %s", c.Column)
			}
			c.Num, c.Str, c.IsText, err = ParamValue(v)
			return c, err
		}
		rec, err := in.Read(c.Table)
		if err != nil {
			return c, err
		}
		defer rec.Release()
		c.Num, c.Str, c.IsText, err = RecordCell(rec, c.Row, c.Column)
		return c, err
	}
}

// fileCell reads a cell of a record file.
func fileCell(c Cell) (Cell, error) {
	raw, err := os.ReadFile(c.Key)
	if err != nil {
		return c, err
	}
	return FileCell(raw, c)
}

// TestPaperNumbersMatchArtifacts: every macro of the published numbers.tex
// is recomputed from the input tables and parameters its sources name.
func TestPaperNumbersMatchArtifacts(t *testing.T) {
	ins := miniInputs(t)
	env, err := runPaper(t, nil, ins)
	if err != nil {
		t.Fatal(err)
	}
	pub := env.Published()
	for _, f := range []string{"paper/README.md", "paper/paper.tex", "paper/numbers.tex"} {
		if len(pub[f]) == 0 {
			t.Fatalf("nothing published as %s (have %d files)", f, len(pub))
		}
	}
	nums, srcs := env.Output("numbers"), env.Output("sources")
	if err := Check(pub["paper/numbers.tex"], nums, srcs, inputLookup(ins)); err != nil {
		t.Fatalf("numbers.tex does not match the artifacts:\n%v", err)
	}
	if nums.NumRows() < 100 {
		t.Errorf("only %d entries", nums.NumRows())
	}
	md := string(pub["paper/README.md"])
	tex := string(pub["paper/paper.tex"])
	macros, _ := ParseNumbersTeX(pub["paper/numbers.tex"])
	// Spot checks: the Markdown shows the entry's text, the LaTeX its macro.
	for _, name := range []string{"TargetD", "EOneJointEps", "BfcEOneValue", "ClaimTwoVerdict"} {
		e := entryOf(t, nums, name)
		if !strings.Contains(md, e) {
			t.Errorf("README.md lacks %s = %q", name, e)
		}
		if !strings.Contains(tex, `\`+name+`{}`) {
			t.Errorf("paper.tex lacks \\%s{}", name)
		}
		if _, ok := macros[name]; !ok {
			t.Errorf("numbers.tex lacks \\%s", name)
		}
	}
	// The numbers the text states are the right ones: d of the targets, the
	// claims row of claim 2, three seeds.
	if got := macros["TargetD"]; got != "4" {
		t.Errorf("TargetD = %q, want 4", got)
	}
	if got := macros["EOneTargets"]; got != "3" {
		t.Errorf("EOneTargets = %q, want 3", got)
	}
	if got := macros["SearchBValue"]; got != "sgd" {
		t.Errorf("SearchBValue = %q, want sgd (from the search file)", got)
	}
	if strings.Contains(tex, "\x01") || strings.Contains(tex, "\x02") {
		t.Error("paper.tex holds unresolved macro references")
	}
}

// entryOf returns the Markdown text of an entry of the numbers table.
func entryOf(t *testing.T, nums arrow.Record, name string) string {
	t.Helper()
	for r := 0; r < int(nums.NumRows()); r++ {
		if _, n, _, _ := RecordCell(nums, r, "name"); n == name {
			_, md, _, _ := RecordCell(nums, r, "md")
			return md
		}
	}
	t.Fatalf("no entry %s", name)
	return ""
}

// TestCheckCatchesTampering: Check names the entry when an artifact no
// longer holds a source's value, or numbers.tex was edited.
func TestCheckCatchesTampering(t *testing.T) {
	ins := miniInputs(t)
	env, err := runPaper(t, nil, ins)
	if err != nil {
		t.Fatal(err)
	}
	pub := env.Published()["paper/numbers.tex"]
	nums, srcs := env.Output("numbers"), env.Output("sources")
	look := inputLookup(ins)
	changed := func(c Cell) (Cell, error) {
		now, err := look(c)
		if c.Table == "summary" && c.Column == "eps_2" {
			now.Num *= 1.01
		}
		return now, err
	}
	if err := Check(pub, nums, srcs, changed); err == nil || !strings.Contains(err.Error(), "EOneJointEps:") {
		t.Errorf("a changed eps_2 was not reported for EOneJointEps: %v", err)
	}
	edited := bytes.Replace(pub, []byte(`\newcommand{\TargetD}{4}`), []byte(`\newcommand{\TargetD}{5}`), 1)
	if bytes.Equal(edited, pub) {
		t.Fatal("test setup: TargetD not found in numbers.tex")
	}
	if err := Check(edited, nums, srcs, look); err == nil || !strings.Contains(err.Error(), "TargetD") {
		t.Errorf("an edited numbers.tex was not reported: %v", err)
	}
	extra := append(bytes.Clone(pub), []byte("\\newcommand{\\Typed}{0.5}\n")...)
	if err := Check(extra, nums, srcs, look); err == nil || !strings.Contains(err.Error(), "Typed") {
		t.Errorf("a macro without an entry was not reported: %v", err)
	}
}

// TestPaperDeterministic: the same inputs give the same bytes.
func TestPaperDeterministic(t *testing.T) {
	ins := miniInputs(t)
	a, err := runPaper(t, nil, ins)
	if err != nil {
		t.Fatal(err)
	}
	b, err := runPaper(t, nil, ins)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range a.Published() {
		if !bytes.Equal(data, b.Published()[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	for _, out := range []string{"numbers", "sources"} {
		if fmt.Sprint(a.Output(out)) != fmt.Sprint(b.Output(out)) {
			t.Errorf("output %s differs between two runs", out)
		}
	}
}

// TestPaperStrict: the report fails loudly, naming the problem, when the
// template asks for what the inputs do not have, or the inputs describe
// two settings where the text states one.
func TestPaperStrict(t *testing.T) {
	ins := miniInputs(t)
	// The project's template needs E3, E4 and E8, which the miniature lacks.
	if _, err := runPaper(t, map[string]any{"template": "../../../paper/paper.md.tmpl"}, ins); err == nil ||
		!strings.Contains(err.Error(), "no entry") {
		t.Errorf("the full template ran on E1 alone: %v", err)
	}
	// No claims input.
	var noClaims []kit.Input
	for _, in := range ins {
		if in.Kind() != "claims" {
			noClaims = append(noClaims, in)
		}
	}
	if _, err := runPaper(t, nil, noClaims); err == nil || !strings.Contains(err.Error(), "claims") {
		t.Errorf("ran without a claims input: %v", err)
	}
	// One E1 run with another learning rate.
	tin := keyed{tinyTarget(t, 3, 0.3, 1, map[string]string{"seed": "1"}), "target-odd"}
	odd := keyed{tinyTrain(t, map[string]any{"schedule": "end2end", "lr": 1e-3}, 9, map[string]string{"seed": "9"}, tin), "train-odd"}
	if _, err := runPaper(t, nil, append(append([]kit.Input(nil), ins...), tin, odd)); err == nil || !strings.Contains(err.Error(), "parameter lr differs") {
		t.Errorf("two learning rates in E1 were not reported: %v", err)
	}
}

func TestParams(t *testing.T) {
	k := Kind{}
	p, err := kit.Resolve(k.Params(), map[string]any{"timings": "paper/timings.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Files(p); strings.Join(got, ",") != "paper/paper.md.tmpl,paper/search.csv,paper/timings.csv" {
		t.Errorf("Files = %v", got)
	}
	p2, _ := kit.Resolve(k.Params(), map[string]any{"search": ""})
	if got := k.Files(p2); strings.Join(got, ",") != "paper/paper.md.tmpl" {
		t.Errorf("Files without records = %v", got)
	}
	p3, _ := kit.Resolve(k.Params(), map[string]any{"template": " "})
	if err := k.Validate(p3); err == nil {
		t.Error("an empty template was accepted")
	}
}

// claimsRules returns the decision rules declared in the project's pipeline
// file ([stage.claims.params], the one place they are declared), over
// replacing some of them.
func claimsRules(t testing.TB, over map[string]any) map[string]any {
	t.Helper()
	return kittest.StageParams(t, "../../../pipeline.toml", "claims", over)
}

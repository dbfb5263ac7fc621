package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/bfc-repro/bfc/artifacts/store"
)

// e2eGoal is issue 14's goal for the whole pipeline: at least this many
// times less wall time than the baseline.
const e2eGoal = 2.0

// runE2E is `make bench-e2e`: the whole pipeline (cfg.profile; auto is the
// default profile) from an empty store, built from the baseline commit in
// a temporary git worktree and from this checkout, run one after the other
// on the same machine, and the outputs of the points of both compared.
func runE2E(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	h, err := newHarness(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bfcbench:", err)
		return 1
	}
	defer h.close()
	rep, err := h.e2e(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "bfcbench -e2e:", err)
		return 1
	}
	fmt.Fprint(stdout, rep)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(rep), 0o644); err != nil {
			fmt.Fprintln(stderr, "bfcbench:", err)
			return 1
		}
	}
	return 0
}

// e2eProfile is the profile of the -e2e runs ("" is the default profile).
func (h *harness) e2eProfile() string {
	if h.cfg.profile == "auto" || h.cfg.profile == "default" {
		return ""
	}
	return h.cfg.profile
}

func (h *harness) e2e(ctx context.Context) (string, error) {
	prof := h.e2eProfile()
	h.env = h.describe(ctx)
	base := filepath.Join(h.work, "base")
	h.logf("git worktree add --detach %s %s", base, h.cfg.e2eBase)
	if res := h.exec(ctx, command{args: []string{"git", "worktree", "add", "--detach", base, h.cfg.e2eBase}, timeout: 5 * time.Minute}); res.err != nil {
		return "", fmt.Errorf("git worktree add %s: %v: %s", h.cfg.e2eBase, res.err, tail(res.out, 300))
	}
	defer func() {
		if res := h.exec(context.Background(), command{args: []string{"git", "worktree", "remove", "--force", base}, timeout: time.Minute}); res.err != nil {
			h.logf("git worktree remove %s: %v: %s", base, res.err, tail(res.out, 200))
		}
	}()
	rev := strings.TrimSpace(h.exec(ctx, command{args: []string{"git", "rev-parse", "--short", "HEAD"}, timeout: time.Minute}).out)
	builds := []struct{ name, src, bin string }{
		{"base " + h.cfg.e2eBase, base, filepath.Join(h.work, "bfc.base")},
		{"this checkout (" + rev + ")", h.cfg.root, filepath.Join(h.work, "bfc.this")},
	}
	for _, b := range builds {
		h.logf("building %s", b.name)
		if res := h.exec(ctx, command{args: []string{"go", "build", "-o", b.bin, "./cmd/bfc"}, dir: b.src, timeout: 10 * time.Minute}); res.err != nil {
			return "", fmt.Errorf("go build ./cmd/bfc in %s: %v: %s", b.src, res.err, tail(res.out, 300))
		}
	}
	var runs []metrics
	var dirs []string
	for i, b := range builds {
		dir := filepath.Join(h.work, fmt.Sprintf("run-%d", i))
		if err := copyProjectFiles(b.src, dir); err != nil {
			return "", err
		}
		h.logf("running %s: bfc %s-j %d run from an empty store in %s", b.name, map[bool]string{true: "--profile " + prof + " ", false: ""}[prof != ""], h.cfg.jobs, dir)
		m, err := h.timedRun(ctx, b.bin, dir, prof, h.cfg.jobs)
		if err != nil {
			return "", fmt.Errorf("%s: %w", b.name, err)
		}
		h.logf("%s: %s", b.name, m)
		runs = append(runs, m)
		dirs = append(dirs, dir)
	}
	cmp, err := compareStores(filepath.Join(dirs[0], ".bfc"), filepath.Join(dirs[1], ".bfc"), prof)
	if err != nil {
		return "", err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "## bfc bench-e2e, %s\n\n", h.started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %s, %d CPUs, %s/%s, %s, GOEXPERIMENT=%s. Load average at the start: %s, at the end: %s.\n",
		h.env.cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), os.Getenv("GOEXPERIMENT"), h.loads[0], loadAvg())
	fmt.Fprintf(&b, "- Whole pipeline (%s) from an empty store, `bfc -j %d run`, pure-Go builds of the baseline %s (a git worktree) and of this checkout, one after the other, timed as processes.\n\n",
		profileName(prof), h.cfg.jobs, h.cfg.e2eBase)
	rows := [][]string{}
	for i, bl := range builds {
		m := runs[i]
		rows = append(rows, []string{bl.name, seconds(m["wall_s"]), fmt.Sprint(int(m["ran"])), seconds(m["points_s"]), pct(m["efficiency"])})
	}
	mdTable(&b, []string{"build", "wall", "points run", "summed point wall", "parallel efficiency"}, rows)
	ratio := runs[0]["wall_s"] / runs[1]["wall_s"]
	fmt.Fprintf(&b, "Wall time: base / this = **%.2fx** (goal >= %.0fx less: %s).\n\n", ratio, e2eGoal, metWord(ratio >= e2eGoal))
	b.WriteString(cmp.markdown())
	return b.String(), nil
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// stageCompare counts, for one stage, how its points' outputs compare
// between two stores.
type stageCompare struct {
	Stage                 string
	Points                int
	SameKey               int // equal keys (the same computation)
	CodeOnly              int // keys differ only in code components
	Identical             int // every output's data hash equal
	Differ                int
	MaxRel                float64 // largest relative difference of float64 values among differing outputs (NaN: not comparable)
	Worst                 string  // where MaxRel is
	Incomparable, Missing int     // outputs whose tables could not be compared; points in one store only
}

type storeCompare struct {
	stages []*stageCompare
}

// compareStores compares, point by point (equal names under profile), the
// manifests of two stores: whether keys are equal, whether they differ
// only in code, whether every output's data hash is equal and, where not,
// the largest relative difference of the float64 columns they share.
func compareStores(dirA, dirB, profile string) (*storeCompare, error) {
	a, err := pointManifests(dirA, profile)
	if err != nil {
		return nil, err
	}
	b, err := pointManifests(dirB, profile)
	if err != nil {
		return nil, err
	}
	stA, _ := store.Open(dirA, false)
	stB, _ := store.Open(dirB, false)
	by := map[string]*stageCompare{}
	get := func(point string) *stageCompare {
		name, _, _ := strings.Cut(point, "[")
		s := by[name]
		if s == nil {
			s = &stageCompare{Stage: name}
			by[name] = s
		}
		return s
	}
	for point, ma := range a {
		s := get(point)
		mb, ok := b[point]
		if !ok {
			s.Missing++
			continue
		}
		s.Points++
		if ma.Key == mb.Key {
			s.SameKey++
		} else if onlyCodeDiffers(ma.Components, mb.Components) {
			s.CodeOnly++
		}
		same := len(ma.Outputs) == len(mb.Outputs)
		for _, oa := range ma.Outputs {
			ob, ok := mb.Output(oa.Name)
			if !ok || oa.Data != ob.Data {
				same = false
			}
			if !ok || oa.Data == ob.Data {
				continue
			}
			rel, err := maxRelDiff(stA, stB, oa, ob)
			if err != nil || math.IsNaN(rel) {
				s.Incomparable++
				continue
			}
			if rel > s.MaxRel || s.Worst == "" {
				s.MaxRel, s.Worst = rel, point+" "+oa.Name
			}
		}
		if same {
			s.Identical++
		} else {
			s.Differ++
		}
	}
	for point := range b {
		if _, ok := a[point]; !ok {
			get(point).Missing++
		}
	}
	out := &storeCompare{}
	for _, s := range by {
		out.stages = append(out.stages, s)
	}
	sort.Slice(out.stages, func(i, j int) bool { return out.stages[i].Stage < out.stages[j].Stage })
	return out, nil
}

// pointManifests maps every point of profile in a store to the manifest
// of its ref.
func pointManifests(dir, profile string) (map[string]*store.Manifest, error) {
	st, err := store.Open(dir, false)
	if err != nil {
		return nil, err
	}
	refs, _, err := st.AllRefs()
	if err != nil {
		return nil, fmt.Errorf("refs of %s: %w", dir, err)
	}
	out := map[string]*store.Manifest{}
	for _, r := range refs {
		if r.Profile != profile {
			continue
		}
		m, err := st.Manifest(r.Key)
		if err != nil {
			return nil, fmt.Errorf("point %s in %s: %w", r.Point, dir, err)
		}
		out[r.Point] = m
	}
	return out, nil
}

// onlyCodeDiffers reports whether two component lists differ only in code
// components ("code.*": the identity of the code and toolchain).
func onlyCodeDiffers(a, b []store.Component) bool {
	strip := func(cs []store.Component) map[string]string {
		m := map[string]string{}
		for _, c := range cs {
			if !strings.HasPrefix(c.Name, "code.") {
				m[c.Name] = c.Hash
			}
		}
		return m
	}
	ma, mb := strip(a), strip(b)
	if len(ma) != len(mb) {
		return false
	}
	for k, v := range ma {
		if mb[k] != v {
			return false
		}
	}
	return true
}

// maxRelDiff decodes two versions of an output and returns the largest
// relative difference |x−y| / max(|x|, |y|) over the float64 columns of
// the same name and length (NaN if they share none, or differ in shape).
func maxRelDiff(stA, stB *store.Store, oa, ob store.Output) (float64, error) {
	read := func(st *store.Store, o store.Output) (map[string][]float64, error) {
		data, err := st.ReadObject(o.File)
		if err != nil {
			return nil, err
		}
		rec, _, err := store.DecodeTable(data)
		if err != nil {
			return nil, err
		}
		defer rec.Release()
		cols := map[string][]float64{}
		for i, f := range rec.Schema().Fields() {
			if c, ok := rec.Column(i).(*array.Float64); ok {
				cols[f.Name] = append([]float64(nil), c.Float64Values()...)
			}
		}
		return cols, nil
	}
	ca, err := read(stA, oa)
	if err != nil {
		return math.NaN(), err
	}
	cb, err := read(stB, ob)
	if err != nil {
		return math.NaN(), err
	}
	return colsRelDiff(ca, cb), nil
}

// colsRelDiff is the largest relative difference between the equally named,
// equally long columns of a and b (NaN if there are none; values both NaN
// or equal count as equal).
func colsRelDiff(a, b map[string][]float64) float64 {
	worst, compared := 0.0, false
	for name, xs := range a {
		ys, ok := b[name]
		if !ok || len(xs) != len(ys) {
			continue
		}
		compared = true
		for i := range xs {
			x, y := xs[i], ys[i]
			if x == y || (math.IsNaN(x) && math.IsNaN(y)) {
				continue
			}
			d := math.Abs(x-y) / math.Max(math.Abs(x), math.Abs(y))
			if math.IsNaN(d) {
				d = math.Inf(1)
			}
			worst = math.Max(worst, d)
		}
	}
	if !compared {
		return math.NaN()
	}
	return worst
}

func (c *storeCompare) markdown() string {
	var b strings.Builder
	b.WriteString("### Outputs, point by point (equal point names)\n\n")
	b.WriteString("Same key: the same computation (every key component equal). Code only: keys differ only in code components. " +
		"Identical: every output's data hash equal. Max rel. diff: the largest |x−y|/max(|x|,|y|) over the float64 columns of the outputs that differ.\n\n")
	var rows [][]string
	var changed, sameKeyDiffer []string
	for _, s := range c.stages {
		rel := ""
		if s.Differ > 0 {
			if s.Worst != "" {
				rel = fmt.Sprintf("%.3g (`%s`)", s.MaxRel, s.Worst)
			}
			if s.Incomparable > 0 {
				rel += fmt.Sprintf(" %d output(s) without shared float64 columns", s.Incomparable)
			}
			changed = append(changed, s.Stage)
		}
		if s.Differ > 0 && s.SameKey == s.Points {
			sameKeyDiffer = append(sameKeyDiffer, s.Stage)
		}
		miss := ""
		if s.Missing > 0 {
			miss = fmt.Sprint(s.Missing)
		}
		rows = append(rows, []string{s.Stage, fmt.Sprint(s.Points), fmt.Sprint(s.SameKey), fmt.Sprint(s.CodeOnly), fmt.Sprint(s.Identical), fmt.Sprint(s.Differ), strings.TrimSpace(rel), miss})
	}
	mdTable(&b, []string{"stage", "points", "same key", "code only", "identical", "differ", "max rel. diff", "in one store only"}, rows)
	if len(changed) == 0 {
		b.WriteString("Every output is byte-identical (data hashes) between the two builds.\n\n")
	} else {
		fmt.Fprintf(&b, "Stages whose numbers changed: %s.\n\n", strings.Join(changed, ", "))
	}
	if len(sameKeyDiffer) > 0 {
		fmt.Fprintf(&b, "**Not deterministic:** stages whose keys are equal but whose outputs differ: %s.\n\n", strings.Join(sameKeyDiffer, ", "))
	}
	return b.String()
}

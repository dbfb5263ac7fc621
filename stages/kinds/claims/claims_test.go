package claims

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/classify"
	"github.com/bfc-repro/bfc/stages/kinds/nstarfit"
	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
)

// fakeKind is a stage kind that writes fixed tables, to build inputs of
// known content.
type fakeKind struct {
	name   string
	tables map[string]func() (arrow.Record, error)
}

func (k fakeKind) Name() string        { return k.name }
func (k fakeKind) Doc() string         { return "test fixture" }
func (k fakeKind) Params() []kit.Param { return nil }
func (k fakeKind) Run(env kit.Env) error {
	for _, name := range []string{"summary", "curves", "fits", "nstar"} {
		if mk, ok := k.tables[name]; ok {
			rec, err := mk()
			if err != nil {
				return err
			}
			if err := env.Write(name, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func fakeInput(t *testing.T, kind string, labels map[string]string, tables map[string]func() (arrow.Record, error)) kit.Input {
	t.Helper()
	k := fakeKind{name: kind, tables: tables}
	env := kittest.NewEnv(t, k, nil, 1)
	if err := k.Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(labels)
}

// run describes one fake finished train run.
type run struct {
	schedule     string
	x, L, last   int
	seed         int
	gap          float64 // 0: no gap label
	series       bool    // a point of the depth series (an "L" label)
	epochs       int     // total epochs (0: 120, with 80 of layer 2 alone)
	err, errSw   float64
	eps2, eps2Sw float64
}

// trainInput builds a train input whose summary has the columns the
// claims read, with the target key determined by (L, gap, seed).
func trainInput(t *testing.T, r run) kit.Input {
	t.Helper()
	if r.last == 0 {
		r.last = r.L
	}
	labels := map[string]string{"seed": strconv.Itoa(r.seed)}
	if r.gap != 0 {
		labels["gap"] = strconv.FormatFloat(r.gap, 'g', -1, 64)
	}
	if r.schedule != "bfc-x" && r.schedule != "end2end" {
		labels["schedule"] = r.schedule
	}
	if r.series {
		labels["L"] = strconv.Itoa(r.L)
	}
	if r.epochs == 0 {
		r.epochs = 120
	}
	target := fmt.Sprintf("target-L%d-gap%g-series%v-seed%d", r.L, r.gap, r.series, r.seed)
	return fakeInput(t, "train", labels, map[string]func() (arrow.Record, error){"summary": func() (arrow.Record, error) {
		cols := map[string]any{train.ColSchedule: []string{r.schedule}, train.ColX: []int{r.x}, train.ColL: []int{r.L},
			train.ColLastStage: []int{r.last}, train.ColEpochs: []int{r.epochs}, train.ColEpochsFirst: []int{80},
			train.ColNTrainUsed: []int{20000}, train.ColTargetKey: []string{target},
			train.ColTestRelErr: []float64{r.err}, train.ColTestRelErrSwitch: []float64{r.errSw}}
		for l := 2; l <= r.L; l++ {
			e, es := 0.5, 0.9
			if l == 2 {
				e, es = r.eps2, r.eps2Sw
			}
			cols[train.ColEps(l)], cols[train.ColEpsSwitch(l)] = []float64{e}, []float64{es}
		}
		return kittest.Fake(t, train.SummaryDesc(r.L), cols), nil
	}})
}

// scenario sets the per-seed numbers of a constructed E1/E3/E4 data set:
// jitter(i) multiplies seed i's values.
type scenario struct {
	seeds int
	first int // seed labels are first+1 .. first+seeds
	// E1 (L = 3): final test errors and eps_2 per schedule.
	jointErr, lwErr, lowerErr     float64
	jointEps, lowerEps, switchEps float64
	// E3 (L = 4): final test error at x = 0, 1, 2; seed i's error at
	// x = 1 is multiplied by jitter(i)^x1pow, at x = 2 by jitter(i).
	e3    [3]float64
	x1pow float64
	// E4: layerwise error at gamma 0.1 and 0.4 (joint fixed at jointErr).
	e4lw [2]float64
	// spread is the factor between the extreme seeds (1 = identical).
	spread float64
	// E10 (L = 3, 4, 5 with an "L" label; none if growth is 0): joint as
	// in E1 at every depth, layerwise/joint of seed i at L is E1's ratio
	// times (growth jitter(i))^(L-3), so seed i's growth per layer is
	// growth jitter(i); perStage: epochs per later stage at L = 3, 4, 5
	// (0: 80).
	growth   float64
	perStage [3]int
}

// depths are the depths of the constructed E10.
var depths = []int{3, 4, 5}

func (s scenario) jitter(i int) float64 {
	if s.seeds == 1 {
		return 1
	}
	return math.Pow(s.spread, float64(i)/float64(s.seeds-1)-0.5)
}

// inputs builds the train inputs of s, plus a stage-2 checkpoint per
// seed that must be ignored. Seed i's jitter is applied to the joint
// side only for ratios, so that the spread shows in every ratio.
func (s scenario) inputs(t *testing.T) []kit.Input {
	var ins []kit.Input
	for i := range s.seeds {
		seed, j := s.first+i+1, s.jitter(i)
		ins = append(ins,
			trainInput(t, run{schedule: "joint", last: 2, L: 3, seed: seed, err: 0.03, errSw: 0.03, eps2: s.switchEps, eps2Sw: s.switchEps}),
			trainInput(t, run{schedule: "joint", L: 3, seed: seed, err: s.jointErr * j, errSw: 0.03, eps2: s.jointEps * j, eps2Sw: s.switchEps}),
			trainInput(t, run{schedule: "layerwise", L: 3, seed: seed, err: s.lwErr / j, errSw: 0.03, eps2: s.switchEps, eps2Sw: s.switchEps}),
			trainInput(t, run{schedule: "lower-only", L: 3, seed: seed, err: s.lowerErr, errSw: 0.03, eps2: s.lowerEps / j, eps2Sw: s.switchEps}),
			trainInput(t, run{schedule: "end2end", L: 3, seed: seed, err: s.jointErr, errSw: 0.01, eps2: s.jointEps, eps2Sw: 0.01}),
		)
		for x := range 3 {
			ins = append(ins, trainInput(t, run{schedule: "bfc-x", x: x, L: 4, seed: seed, err: s.e3[x] * math.Pow(j, []float64{0, s.x1pow, 1}[x]), errSw: 0.05,
				eps2: 0.01, eps2Sw: 0.02}))
		}
		for g, gap := range []float64{0.1, 0.4} {
			ins = append(ins,
				trainInput(t, run{schedule: "joint", L: 3, gap: gap, seed: seed, err: s.jointErr * j, errSw: 0.03, eps2: 1e-4, eps2Sw: 0.02}),
				trainInput(t, run{schedule: "layerwise", L: 3, gap: gap, seed: seed, err: s.e4lw[g], errSw: 0.03, eps2: 0.02, eps2Sw: 0.02}))
		}
		if s.growth == 0 {
			continue
		}
		for d, L := range depths {
			per := cmp.Or(s.perStage[d], 80)
			ep := 80 + per*(L-2)
			lw := s.lwErr / j * math.Pow(s.growth*j, float64(L-3))
			ins = append(ins,
				trainInput(t, run{schedule: "joint", last: 2, L: L, series: true, seed: seed, epochs: 80, err: 0.03, errSw: 0.03, eps2: s.switchEps, eps2Sw: s.switchEps}),
				trainInput(t, run{schedule: "joint", L: L, series: true, seed: seed, epochs: ep, err: s.jointErr * j, errSw: 0.03, eps2: s.jointEps * j, eps2Sw: s.switchEps}),
				trainInput(t, run{schedule: "layerwise", L: L, series: true, seed: seed, epochs: ep, err: lw, errSw: 0.03, eps2: s.switchEps, eps2Sw: s.switchEps}),
				trainInput(t, run{schedule: "lower-only", L: L, series: true, seed: seed, epochs: ep, err: s.lowerErr, errSw: 0.03, eps2: s.lowerEps / j, eps2Sw: s.switchEps}))
		}
	}
	return ins
}

// rules returns the decision rules declared in the project's pipeline
// file ([stage.claims.params], the one place they are declared), over
// replacing some of them.
func rules(t testing.TB, over map[string]any) map[string]any {
	t.Helper()
	return kittest.StageParams(t, "../../../pipeline.toml", "claims", over)
}

// runClaims runs the kind on ins with the pipeline's rules, raw replacing
// some, and returns the rows.
func runClaims(t *testing.T, raw map[string]any, ins ...kit.Input) (map[string]Row, arrow.Record) {
	t.Helper()
	env := kittest.NewEnv(t, Kind{}, rules(t, raw), 7, ins...)
	if err := (Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	rec := env.Output("claims")
	return rowsOf(t, rec), rec
}

// rowsOf reads the claims table back, keyed "claim/experiment/statistic".
func rowsOf(t *testing.T, rec arrow.Record) map[string]Row {
	t.Helper()
	str := func(c string) []string {
		v, err := kit.ReadStrings(rec, c)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	flt := func(c string) []float64 {
		v, err := kit.ReadFloat64s(rec, c)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	claim, sample, exp, stat, verdict, rule, detail := str("claim"), str("sample"), str("experiment"), str("statistic"), str("verdict"), str("rule"), str("detail")
	val, lo, hi, lvl, thr := flt("value"), flt("ci_low"), flt("ci_high"), flt("level"), flt("threshold")
	n, err := kit.ReadInt64s(rec, "n")
	if err != nil {
		t.Fatal(err)
	}
	prim, err := kit.ReadBools(rec, "primary")
	if err != nil {
		t.Fatal(err)
	}
	need, err := kit.ReadInt64s(rec, "seeds_needed")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Row{}
	for i := range claim {
		k := claim[i] + "/" + exp[i] + "/" + stat[i]
		if sample[i] == Confirmatory {
			k = "C:" + k
		}
		if _, dup := out[k]; dup {
			t.Fatalf("row %s twice", k)
		}
		out[k] = Row{Claim: claim[i], Experiment: exp[i], Statistic: stat[i], Verdict: verdict[i], Value: val[i], Lo: lo[i], Hi: hi[i],
			Level: lvl[i], Threshold: thr[i], N: int(n[i]), Primary: prim[i], Rule: rule[i], Detail: detail[i], Sample: sample[i],
			SeedsNeeded: int(need[i])}
	}
	return out
}

// The primary statistics of claims 1, 2, 3 and 5 and their overall rows.
var synthKeys = []string{
	"1/E1/joint_test_err[L=3]", "1/E3/joint_test_err[L=4]", "1/E10/joint_test_err[L=5]", "1/E1+E3+E10/overall",
	"2/E1/eps2_joint/lower-only[L=3]", "2/E10/eps2_joint/lower-only[L=5]", "2/E1+E10/overall",
	"3/E1/test_err_layerwise/joint[L=3]", "3/E3/test_err_layerwise/joint[L=4]", "3/E1+E3/ratio_growth_L4/L3",
	"3/E4/ratio_growth_gamma0.4/gamma0.1",
	"3/E10/test_err_layerwise/joint[L=3]", "3/E10/test_err_layerwise/joint[L=5]", "3/E10/ratio_growth_per_layer[L=3-5]", "3/E4+E10/overall",
	"5/E3/log_err_share_recovered[x=1,L=4]", "5/E3/overall",
}

// clearScenario has large effects of the claimed sign, seeds within a
// factor 1.5 of each other.
var clearScenario = scenario{seeds: 5, jointErr: 1e-4, lwErr: 1e-2, lowerErr: 0.03, jointEps: 1e-4, lowerEps: 0.02, switchEps: 0.02,
	e3: [3]float64{1e-1, 3e-4, 1e-4}, x1pow: 0.5, e4lw: [2]float64{1e-3, 1e-1}, spread: 1.5, growth: 3}

func TestVerdictsOnConstructedData(t *testing.T) {
	clear := clearScenario
	// none: joint no better than the control, layerwise 1.5x joint, the
	// ratio shrinking with depth and gamma, bfc-1 no better than layerwise
	none := scenario{seeds: 5, jointErr: 0.05, lwErr: 0.075, lowerErr: 0.05, jointEps: 0.02, lowerEps: 0.02, switchEps: 0.02,
		e3: [3]float64{0.05, 0.05, 0.04}, x1pow: 0.5, e4lw: [2]float64{0.075, 0.05}, spread: 1.05, growth: 1 / 1.5}
	// noisy: effects whose seeds straddle every threshold (a 30-fold
	// spread; at x = 1 the jitter makes the share straddle 1/2)
	noisy := scenario{seeds: 5, jointErr: 0.01, lwErr: 0.02, lowerErr: 0.03, jointEps: 0.01, lowerEps: 0.02, switchEps: 0.02,
		e3: [3]float64{0.1, 0.1 / math.Sqrt(10), 0.01}, x1pow: 1.5, e4lw: [2]float64{0.02, 0.04}, spread: 30, growth: 1}
	few := clear
	few.seeds = 2
	R, N, I := Reproduced, NotReproduced, Inconclusive
	for _, tc := range []struct {
		name string
		s    scenario
		want []string // verdicts of synthKeys, in order
	}{
		{"clear effect", clear, slices.Repeat([]string{R}, len(synthKeys))},
		{"no effect", none, slices.Repeat([]string{N}, len(synthKeys))},
		{"noisy", noisy, slices.Repeat([]string{I}, len(synthKeys))},
		{"two seeds", few, slices.Repeat([]string{I}, len(synthKeys))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, _ := runClaims(t, nil, tc.s.inputs(t)...)
			for i, k := range synthKeys {
				r, ok := rows[k]
				if !ok {
					t.Fatalf("no row %s (have %v)", k, keysOf(rows))
				}
				if r.Verdict != tc.want[i] {
					t.Errorf("%s: verdict %q, want %q (value %.4g [%.4g, %.4g], n %d)\n  rule: %s\n  detail: %s",
						k, r.Verdict, tc.want[i], r.Value, r.Lo, r.Hi, r.N, r.Rule, r.Detail)
				}
			}
		})
	}
}

func keysOf(m map[string]Row) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	return k
}

// The numbers of the rows are what their rules say, on a case computed by
// hand: 5 seeds with jitter factors j_i = 1.5^(i/4 - 1/2) (j_2 = 1).
func TestRowValues(t *testing.T) {
	s := clearScenario
	rows, _ := runClaims(t, nil, s.inputs(t)...)
	j := make([]float64, 5)
	for i := range j {
		j[i] = s.jitter(i)
	}
	perSeed := func(f func(j float64) float64) []float64 {
		v := make([]float64, 5)
		for i := range v {
			v[i] = f(j[i])
		}
		slices.Sort(v)
		return v
	}
	const tol = 1e-12 // relative: a few roundings of products and logs
	for _, tc := range []struct {
		key     string
		seeds   []float64 // the per-seed values, sorted
		thr     float64
		primary bool
	}{
		{"1/E1/joint_test_err[L=3]", perSeed(func(j float64) float64 { return 1e-4 * j }), 0.01, true},
		// joint / lower-only: (1e-4 j) / (0.02 / j)
		{"2/E1/eps2_joint/lower-only[L=3]", perSeed(func(j float64) float64 { return 5e-3 * j * j }), 0.5, true},
		{"2/E1/eps2_final/switch_layerwise[L=3]", perSeed(func(float64) float64 { return 1 }), 1.05, false},
		// layerwise / joint: (1e-2 / j) / (1e-4 j); secondary since E10
		// measures it at one budget rule
		{"3/E1/test_err_layerwise/joint[L=3]", perSeed(func(j float64) float64 { return 100 / (j * j) }), 2, false},
		// E3: x = 0 error 0.1, x = 2 error 1e-4 j
		{"3/E3/test_err_layerwise/joint[L=4]", perSeed(func(j float64) float64 { return 1000 / j }), 2, false},
		// E10 at L = 5: joint as E1's, layerwise/joint 100/j^2 (3j)^2
		{"1/E10/joint_test_err[L=5]", perSeed(func(j float64) float64 { return 1e-4 * j }), 0.01, true},
		{"1/E10/joint_test_err[L=4]", perSeed(func(j float64) float64 { return 1e-4 * j }), 0.01, false},
		{"2/E10/eps2_joint/lower-only[L=5]", perSeed(func(j float64) float64 { return 5e-3 * j * j }), 0.5, true},
		{"3/E10/test_err_layerwise/joint[L=4]", perSeed(func(j float64) float64 { return 300 / j }), 2, true},
		// the slope of log(100/j^2 (3j)^(L-3)) against L is log(3j)
		{"3/E10/ratio_growth_per_layer[L=3-5]", perSeed(func(j float64) float64 { return 3 * j }), 1, true},
	} {
		r := rows[tc.key]
		// The value is the median seed's; the 90% percentile interval of
		// a median of 5 lies between the two smallest and the two
		// largest values.
		v := tc.seeds
		if math.Abs(r.Value-v[2]) > tol*v[2] || r.Lo < v[0]*(1-tol) || r.Lo > v[1]*(1+tol) || r.Hi < v[3]*(1-tol) || r.Hi > v[4]*(1+tol) {
			t.Errorf("%s = %.15g [%.15g, %.15g], want %.15g with the interval ends in [%.6g, %.6g] and [%.6g, %.6g]",
				tc.key, r.Value, r.Lo, r.Hi, v[2], v[0], v[1], v[3], v[4])
		}
		if r.N != 5 || r.Primary != tc.primary || r.Level != 0.9 || r.Threshold != tc.thr {
			t.Errorf("%s: n %d primary %v level %v threshold %v, want 5 %v 0.9 %v", tc.key, r.N, r.Primary, r.Level, r.Threshold, tc.primary, tc.thr)
		}
	}
	// growth with depth: value and interval from the two ratio rows
	g, r3, r4 := rows["3/E1+E3/ratio_growth_L4/L3"], rows["3/E1/test_err_layerwise/joint[L=3]"], rows["3/E3/test_err_layerwise/joint[L=4]"]
	if g.Value != r4.Value/r3.Value || g.Lo != r4.Lo/r3.Hi || g.Hi != r4.Hi/r3.Lo || g.N != 5 {
		t.Errorf("growth %v [%v, %v], want %v [%v, %v]", g.Value, g.Lo, g.Hi, r4.Value/r3.Value, r4.Lo/r3.Hi, r4.Hi/r3.Lo)
	}
	// claim 5: median(log e0 - log e1) / median(log e0 - log e2) with
	// e0 = 0.1, e1 = 3e-4 j^(1/2), e2 = 1e-4 j; both differences fall
	// with j, so their medians are those of the median seed (j = 1).
	want := (math.Log(0.1) - math.Log(3e-4)) / (math.Log(0.1) - math.Log(1e-4))
	if r := rows["5/E3/log_err_share_recovered[x=1,L=4]"]; math.Abs(r.Value-want) > tol || !(r.Lo <= r.Value && r.Value <= r.Hi) {
		t.Errorf("log share %v [%v, %v], want %v inside its interval", r.Value, r.Lo, r.Hi, want)
	}
	if r := rows["5/E3/err_share_recovered[x=1,L=4]"]; r.Primary || math.Abs(r.Value-(0.1-3e-4)/(0.1-1e-4)) > tol {
		t.Errorf("linear share %v (primary %v), want %v, supporting", r.Value, r.Primary, (0.1-3e-4)/(0.1-1e-4))
	}
	// Every rule names its threshold; every row has a verdict.
	for k, r := range rows {
		if r.Statistic != "overall" && !strings.Contains(r.Rule, fmtG(r.Threshold)) {
			t.Errorf("%s: rule %q does not state the threshold %v", k, r.Rule, r.Threshold)
		}
		if r.Verdict != Reproduced && r.Verdict != NotReproduced && r.Verdict != Inconclusive {
			t.Errorf("%s: verdict %q", k, r.Verdict)
		}
	}
}

// The thresholds are parameters: moving one across the data flips the
// verdict.
func TestThresholdsAreParams(t *testing.T) {
	s := clearScenario
	rows, _ := runClaims(t, map[string]any{"small_error": 1e-5, "worse_ratio": 1e4, "min_seeds": int64(6)}, s.inputs(t)...)
	if v := rows["1/E1/joint_test_err[L=3]"].Verdict; v != Inconclusive { // 5 seeds < min_seeds
		t.Errorf("min_seeds 6: verdict %q", v)
	}
	rows, _ = runClaims(t, map[string]any{"small_error": 1e-5, "worse_ratio": 1e4}, s.inputs(t)...)
	if v := rows["1/E1/joint_test_err[L=3]"].Verdict; v != NotReproduced {
		t.Errorf("small_error 1e-5: verdict %q", v)
	}
	if v := rows["3/E1/test_err_layerwise/joint[L=3]"].Verdict; v != NotReproduced {
		t.Errorf("worse_ratio 1e4: verdict %q", v)
	}
}

func TestDeterministic(t *testing.T) {
	ins := clearScenario.inputs(t)
	_, a := runClaims(t, nil, ins...)
	_, b := runClaims(t, nil, ins...)
	if !bytes.Equal(kittest.Bytes(t, a), kittest.Bytes(t, b)) {
		t.Fatal("two runs on the same inputs differ")
	}
	// The order of the inputs does not matter.
	rev := make([]kit.Input, len(ins))
	for i, in := range ins {
		rev[len(ins)-1-i] = in
	}
	_, c := runClaims(t, nil, rev...)
	if !bytes.Equal(kittest.Bytes(t, a), kittest.Bytes(t, c)) {
		t.Fatal("reversing the inputs changes the table")
	}
}

// Experiments that are absent give no rows; no usable input is an error.
func TestMissingExperiments(t *testing.T) {
	var ins []kit.Input
	for seed := 1; seed <= 3; seed++ {
		ins = append(ins, trainInput(t, run{schedule: "joint", L: 3, seed: seed, err: 1e-4, errSw: 0.03, eps2: 1e-4, eps2Sw: 0.02}),
			trainInput(t, run{schedule: "layerwise", L: 3, seed: seed, err: 1e-2, errSw: 0.03, eps2: 0.02, eps2Sw: 0.02}))
	}
	rows, _ := runClaims(t, nil, ins...)
	for k := range rows {
		if !strings.HasPrefix(k, "1/E1/") && !strings.HasPrefix(k, "1/E1/") && !strings.HasPrefix(k, "3/E1/") && !strings.HasPrefix(k, "2/E1/eps2_final/switch") &&
			!strings.HasSuffix(k, "overall") {
			t.Errorf("unexpected row %s without E3, E4, a lower-only control, scaling or classify inputs", k)
		}
	}
	if _, ok := rows["3/E1/test_err_layerwise/joint[L=3]"]; !ok {
		t.Errorf("no E1 ratio row: %v", keysOf(rows))
	}
	env := kittest.NewEnv(t, Kind{}, rules(t, nil), 1, trainInput(t, run{schedule: "joint", last: 2, L: 3, seed: 1, err: 1, errSw: 1, eps2: 1, eps2Sw: 1}))
	if err := (Kind{}).Run(env); err == nil || !strings.Contains(err.Error(), "no finished") {
		t.Fatalf("only a checkpoint: err = %v", err)
	}
}

func scalingInput(t *testing.T, fits [][]any) kit.Input {
	t.Helper()
	var method, dims []string
	var L []int
	var tau, slope, lo, hi, th, mono, nan []float64
	var nm []string
	var nL, seeds []int
	var ntau []float64
	for _, f := range fits {
		method, L, tau = append(method, f[0].(string)), append(L, f[1].(int)), append(tau, 0.1)
		slope, lo, hi = append(slope, f[2].(float64)), append(lo, f[3].(float64)), append(hi, f[4].(float64))
		th, mono, dims, nan = append(th, f[5].(float64)), append(mono, 5), append(dims, "8,12,16"), append(nan, math.NaN())
		for range 3 { // three dimensions with 4 or 5 seeds
			nm, nL, ntau, seeds = append(nm, f[0].(string)), append(nL, f[1].(int)), append(ntau, 0.1), append(seeds, 4+len(seeds)%2)
		}
	}
	return fakeInput(t, "scaling", nil, map[string]func() (arrow.Record, error){
		"curves": func() (arrow.Record, error) { return kittest.Fake(t, scaling.CurvesDesc, nil), nil },
		"fits": func() (arrow.Record, error) {
			return kittest.Fake(t, scaling.FitsDesc, map[string]any{scaling.ColMethod: method, scaling.ColL: L, scaling.ColThreshold: tau,
				scaling.ColDims: dims, scaling.ColSlope: slope, scaling.ColSlopeLoBoot: lo, scaling.ColSlopeHiBoot: hi,
				scaling.ColSlopeLoT: nan, scaling.ColSlopeHiT: nan, scaling.ColTheoryExponent: th, scaling.ColMonomialSlope: mono}), nil
		},
		"nstar": func() (arrow.Record, error) {
			return kittest.Fake(t, scaling.NStarDesc, map[string]any{scaling.ColMethod: nm, scaling.ColL: nL, scaling.ColThreshold: ntau,
				scaling.ColSeeds: seeds}), nil
		},
	})
}

// fakeKind's inputs carry no params; the scaling rows read "level".
type paramInput struct {
	kit.Input
	p kit.Params
}

func (p paramInput) Params() kit.Params { return p.p }

func TestScalingRows(t *testing.T) {
	nan := math.NaN()
	in := scalingInput(t, [][]any{
		{"deep", 3, 1.0, 0.8, 1.2, nan},
		{"krr_poly", 3, 4.0, 3.5, 4.5, 8.0},      // gap [2.3, 3.7] > 1
		{"monomial", 3, 1.1, 0.9, 1.3, 8.0},      // gap [-0.3, 0.5] < 1
		{"twolayer_relu", 3, 2.5, 1.0, 4.0, nan}, // gap [-0.2, 3.2] straddles 1
		{"krr_poly", 4, 6.0, 5.0, 7.0, 16.0},     // no deep fit at L = 4
	})
	in = paramInput{in, kit.Params{"level": 0.8}}
	rows, _ := runClaims(t, map[string]any{"primary": []any{"E6:exponent_gap[krr_poly-deep,*", "E6:exponent_gap[monomial-deep,*",
		"E6:exponent[krr_poly,*"}}, in)
	for _, tc := range []struct {
		key, verdict string
		value, lo    float64
		primary      bool
	}{
		{"4/E6/exponent_gap[krr_poly-deep,L=3,tau=0.1]", Reproduced, 3, 2.3, true},
		{"4/E6/exponent_gap[monomial-deep,L=3,tau=0.1]", NotReproduced, 0.1, -0.3, true},
		{"4/E6/exponent_gap[twolayer_relu-deep,L=3,tau=0.1]", Inconclusive, 1.5, -0.2, false},
		{"4/E6/exponent[krr_poly,L=4,tau=0.1]", Inconclusive, 6, 5, true},
		{"4/E6/overall", NotReproduced, nan, nan, false},
	} {
		r, ok := rows[tc.key]
		if !ok {
			t.Fatalf("no row %s: %v", tc.key, keysOf(rows))
		}
		if r.Verdict != tc.verdict || r.Primary != tc.primary || (!math.IsNaN(tc.value) && (math.Abs(r.Value-tc.value) > 1e-12 || math.Abs(r.Lo-tc.lo) > 1e-12)) {
			t.Errorf("%s: %q %v [%v, %v] primary %v; want %q %v [%v, ...] primary %v", tc.key, r.Verdict, r.Value, r.Lo, r.Hi, r.Primary,
				tc.verdict, tc.value, tc.lo, tc.primary)
		}
		if r.Statistic != "overall" && (r.N != 4 || r.Level != 0.8) {
			t.Errorf("%s: n %d level %v, want 4 (fewest seeds of any d) and the scaling stage's 0.8", tc.key, r.N, r.Level)
		}
	}
}

// nstarfitInput is an nstarfit stage's fits table with the given
// (method, L, threshold, slope, lo, hi) rows, 5 seeds at every d.
func nstarfitInput(t *testing.T, level float64, fits [][]any) kit.Input {
	t.Helper()
	return nstarfitInputSeeds(t, level, "1,2,3,4,5", fits)
}

// nstarfitInputSeeds is nstarfitInput with the seed list of every fit.
func nstarfitInputSeeds(t *testing.T, level float64, seedList string, fits [][]any) kit.Input {
	t.Helper()
	var method, thr, dims, seeds []string
	var L, ms []int
	var slope, lo, hi []float64
	for _, f := range fits {
		method, L, thr = append(method, f[0].(string)), append(L, f[1].(int)), append(thr, f[2].(string))
		slope, lo, hi = append(slope, f[3].(float64)), append(lo, f[4].(float64)), append(hi, f[5].(float64))
		ms, dims, seeds = append(ms, 5), append(dims, "8,12,16"), append(seeds, seedList)
	}
	typed := map[string]any{nstarfit.ColMethod: method, nstarfit.ColL: L, nstarfit.ColThreshold: thr,
		nstarfit.ColSlope: slope, nstarfit.ColSlopeLo: lo, nstarfit.ColSlopeHi: hi,
		nstarfit.ColMinSeeds: ms, nstarfit.ColDimList: dims, nstarfit.ColSeedList: seeds}
	in := fakeInput(t, "nstarfit", nil, map[string]func() (arrow.Record, error){
		nstarfit.TableFits:   func() (arrow.Record, error) { return kittest.Fake(t, nstarfit.FitsDesc, typed), nil },
		nstarfit.TablePoints: func() (arrow.Record, error) { return kittest.Fake(t, nstarfit.PointsDesc, nil), nil },
	})
	return paramInput{in, kit.Params{"level": level}}
}

// TestNStarRows: claim 4 from an nstarfit stage (E9) by the pipeline's
// frozen rules: the kernel's gap to the deep learner at the primary
// threshold decides; two-layer networks and fixed thresholds support.
func TestNStarRows(t *testing.T) {
	const pr = "primary(f=0.5)"
	for _, tc := range []struct {
		name    string
		kernelL []float64 // slope, lo, hi of krr_poly at L = 2
		overall string
	}{
		{"gap above the margin", []float64{3.2, 2.9, 3.5}, Reproduced},      // gap [1.7, 2.7] > 1
		{"gap below the margin", []float64{1.2, 1.05, 1.35}, NotReproduced}, // gap [-0.15, 0.55] < 1
		{"gap straddles", []float64{2.2, 1.2, 3.2}, Inconclusive},           // gap [-0.0, 2.4]
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := nstarfitInput(t, 0.9, [][]any{
				{"deep", 2, pr, 1.0, 0.8, 1.2},
				{"krr_poly", 2, pr, tc.kernelL[0], tc.kernelL[1], tc.kernelL[2]},
				{"twolayer_relu", 2, pr, 1.1, 0.9, 1.3},
				{"deep", 2, "tau=0.2", 0.5, 0.3, 0.7},
				{"krr_poly", 2, "tau=0.2", 2.0, 1.8, 2.2},
				{"krr_poly", 3, pr, 5.0, 4.0, 6.0}, // no deep fit at L = 3: inconclusive, not primary
			})
			rows, _ := runClaims(t, map[string]any{"primary": []any{"E9:exponent_gap[krr_poly-deep,*,primary*"}}, in)
			k := "4/E9/exponent_gap[krr_poly-deep,L=2," + pr + "]"
			r, ok := rows[k]
			if !ok {
				t.Fatalf("no row %s: %v", k, keysOf(rows))
			}
			if want := tc.kernelL[0] - 1; math.Abs(r.Value-want) > 1e-12 || math.Abs(r.Lo-(tc.kernelL[1]-1.2)) > 1e-12 ||
				math.Abs(r.Hi-(tc.kernelL[2]-0.8)) > 1e-12 || !r.Primary || r.N != 5 || r.Level != 0.9 {
				t.Errorf("%s: %v [%v, %v] primary %v n %d level %v", k, r.Value, r.Lo, r.Hi, r.Primary, r.N, r.Level)
			}
			if o := rows["4/E9/overall"]; o.Verdict != tc.overall || r.Verdict != tc.overall {
				t.Errorf("overall %q, row %q; want %q", o.Verdict, r.Verdict, tc.overall)
			}
			for _, sup := range []string{"4/E9/exponent_gap[twolayer_relu-deep,L=2," + pr + "]", "4/E9/exponent_gap[krr_poly-deep,L=2,tau=0.2]"} {
				if s, ok := rows[sup]; !ok || s.Primary {
					t.Errorf("%s: present %v, primary %v; want a supporting row", sup, ok, s.Primary)
				}
			}
			if s := rows["4/E9/exponent[krr_poly,L=3,"+pr+"]"]; s.Verdict != Inconclusive || s.Primary {
				t.Errorf("L = 3 without a deep fit: %q primary %v", s.Verdict, s.Primary)
			}
		})
	}
}

// TestNStarSamples: an nstarfit stage whose searches ran on the
// confirmatory seeds gives claim 4's confirmatory rows; one that mixes
// the samples is an error.
func TestNStarSamples(t *testing.T) {
	const pr = "primary(f=0.5)"
	fits := [][]any{{"deep", 2, pr, 1.0, 0.8, 1.2}, {"krr_poly", 2, pr, 3.2, 2.9, 3.5}}
	over := map[string]any{"primary": []any{"E9:exponent_gap[krr_poly-deep,*,primary*"}, "confirm_seeds": []any{"77", "88", "99"}}
	expl := nstarfitInputSeeds(t, 0.9, "1,2,3", fits)
	conf := nstarfitInputSeeds(t, 0.9, "77,88,99", fits)
	env := kittest.NewEnv(t, Kind{}, rules(t, over), 7, expl, conf)
	if err := (Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	rows := rowsOf(t, env.Output("claims"))
	for _, sample := range []string{"", "C:"} {
		for _, stat := range []string{"overall", "exponent_gap[krr_poly-deep,L=2," + pr + "]"} {
			if r, ok := rows[sample+"4/E9/"+stat]; !ok || r.Verdict != Reproduced {
				t.Errorf("%s4/E9/%s: %q (present %v), want reproduced (rows %v)", sample, stat, r.Verdict, ok, keysOf(rows))
			}
		}
	}
	mixed := nstarfitInputSeeds(t, 0.9, "1,77", fits)
	env = kittest.NewEnv(t, Kind{}, rules(t, over), 7, mixed)
	if err := (Kind{}).Run(env); err == nil || !strings.Contains(err.Error(), "mix confirmatory seeds") {
		t.Fatalf("mixed samples: err = %v", err)
	}
}

func classifyInput(t *testing.T, schedule string, x, L, last, seed int, acc float64) kit.Input {
	t.Helper()
	return fakeInput(t, "classify", map[string]string{"seed": strconv.Itoa(seed)}, map[string]func() (arrow.Record, error){
		"summary": func() (arrow.Record, error) {
			return kittest.Fake(t, classify.SummaryDesc, map[string]any{classify.ColSchedule: []string{schedule}, classify.ColX: []int{x},
				classify.ColL: []int{L}, classify.ColLastStage: []int{last}, classify.ColTestAcc: []float64{acc}}), nil
		}})
}

func TestClassifyRows(t *testing.T) {
	var ins []kit.Input
	for seed := 1; seed <= 4; seed++ {
		d := 0.002 * float64(seed)
		ins = append(ins,
			classifyInput(t, "joint", 1, 3, 1, seed, 0.5), // a stage-1 checkpoint: ignored
			classifyInput(t, "layerwise", 1, 3, 3, seed, 0.80+d),
			classifyInput(t, "bfc-x", 1, 3, 3, seed, 0.845+d),
			classifyInput(t, "joint", 1, 3, 3, seed, 0.85+d),
			classifyInput(t, "layerwise", 1, 2, 2, seed, 0.84+d),
			classifyInput(t, "joint", 1, 2, 2, seed, 0.841+d))
	}
	rows, _ := runClaims(t, nil, ins...)
	e0, e1, e2 := 0.2-0.005, 0.155-0.005, 0.15-0.005 // medians: seeds 2 and 3 average to d = 0.005
	_ = e0
	for _, tc := range []struct {
		key, verdict string
		value        float64
		tol          float64
	}{
		{"3/E8/acc_joint-layerwise[L=3]", Reproduced, 0.05, 1e-12},
		{"3/E8/acc_joint-layerwise[L=2]", NotReproduced, 0.001, 1e-12},
		// per-seed shares are nearly equal, so the value is close to the
		// share at the median seed
		{"5/E8/log_err_share_recovered[x=1,L=3]", Reproduced, (math.Log(0.195) - math.Log(e1)) / (math.Log(0.195) - math.Log(e2)), 5e-3},
		{"5/E8/overall", Reproduced, math.NaN(), 0},
	} {
		r, ok := rows[tc.key]
		if !ok {
			t.Fatalf("no row %s: %v", tc.key, keysOf(rows))
		}
		if r.Verdict != tc.verdict || (!math.IsNaN(tc.value) && math.Abs(r.Value-tc.value) > tc.tol) || (r.Statistic != "overall" && r.N != 4) {
			t.Errorf("%s: %q %v (n %d), want %q %v", tc.key, r.Verdict, r.Value, r.N, tc.verdict, tc.value)
		}
	}
	if r := rows["3/E8/acc_joint-layerwise[L=3]"]; r.Primary {
		t.Error("E8 rows of claim 3 should be supporting")
	}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		lo, hi, t float64
		dir       Direction
		n         int
		want      string
	}{
		{2, 3, 1, Above, 5, Reproduced},
		{0.2, 0.5, 1, Above, 5, NotReproduced},
		{0.5, 2, 1, Above, 5, Inconclusive},
		{1, 2, 1, Above, 5, Inconclusive}, // touching the threshold is not beyond it
		{0.1, 0.2, 0.5, Below, 5, Reproduced},
		{0.6, 0.7, 0.5, Below, 5, NotReproduced},
		{0.97, 1.02, 1.05, Within, 5, Reproduced},
		{1.1, 1.2, 1.05, Within, 5, NotReproduced},
		{0.5, 0.9, 1.05, Within, 5, NotReproduced},
		{0.9, 1.0, 1.05, Within, 5, Inconclusive},
		{2, 3, 1, Above, 2, Inconclusive}, // too few seeds
		{math.NaN(), 3, 1, Above, 5, Inconclusive},
	} {
		if got := Decide(tc.lo, tc.hi, tc.t, tc.dir, tc.n, 3); got != tc.want {
			t.Errorf("Decide(%v, %v, %v, %v, n=%d) = %q, want %q", tc.lo, tc.hi, tc.t, tc.dir, tc.n, got, tc.want)
		}
	}
}

// The kind reads the summaries that the train kind really writes: tiny
// joint, layerwise and lower-only runs of one seed give inconclusive rows
// (one seed is fewer than min_seeds), as on the smoke profile.
func TestRealTrainSummaries(t *testing.T) {
	te := kittest.NewEnv(t, target.Kind{}, map[string]any{"d": int64(4), "k": int64(2), "L": int64(3), "n_train": int64(200),
		"n_test": int64(100), "norm_samples": int64(2000)}, 1)
	if err := (target.Kind{}).Run(te); err != nil {
		t.Fatal(err)
	}
	tin := te.AsInput(map[string]string{"seed": "1"})
	common := map[string]any{"epochs_first": int64(2), "epochs_per_stage": int64(1), "batch": int64(50), "m": int64(8)}
	with := func(extra map[string]any) map[string]any {
		p := map[string]any{}
		for k, v := range common {
			p[k] = v
		}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	ck := kittest.NewEnv(t, train.Kind{}, with(map[string]any{"last_stage": int64(2)}), 1, tin)
	if err := (train.Kind{}).Run(ck); err != nil {
		t.Fatal(err)
	}
	ins := []kit.Input{ck.AsInput(map[string]string{"seed": "1"})}
	for _, s := range []string{"joint", "layerwise", "lower-only"} {
		env := kittest.NewEnv(t, train.Kind{}, with(map[string]any{"schedule": s}), 1, tin, ins[0])
		if err := (train.Kind{}).Run(env); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, env.AsInput(map[string]string{"seed": "1", "schedule": s}))
	}
	rows, _ := runClaims(t, nil, ins...)
	for _, k := range []string{"1/E1/joint_test_err[L=3]", "2/E1/eps2_joint/lower-only[L=3]", "3/E1/test_err_layerwise/joint[L=3]"} {
		r, ok := rows[k]
		if !ok {
			t.Fatalf("no row %s: %v", k, keysOf(rows))
		}
		if r.Verdict != Inconclusive || r.N != 1 || !(r.Value > 0) {
			t.Errorf("%s: %q n %d value %v; want inconclusive with one seed and a positive value", k, r.Verdict, r.N, r.Value)
		}
	}
	if r := rows["2/E1/eps2_final/switch_layerwise[L=3]"]; r.Value != 1 {
		t.Errorf("layerwise eps_2 final/switch = %v, want exactly 1 (layer 2 frozen)", r.Value)
	}
}

// Runs whose seed is among the engine's confirm_seeds form the
// confirmatory sample: every row and overall verdict is given for each
// sample on its own seeds, claim 5 on the declared scale in both.
func TestConfirmatorySample(t *testing.T) {
	expl := clearScenario
	none := scenario{seeds: 4, first: 1000, jointErr: 0.05, lwErr: 0.075, lowerErr: 0.05, jointEps: 0.02, lowerEps: 0.02, switchEps: 0.02,
		e3: [3]float64{0.05, 0.05, 0.04}, x1pow: 0.5, e4lw: [2]float64{0.075, 0.05}, spread: 1.05, growth: 1 / 1.5}
	confirm := []string{"1001", "1002", "1003", "1004"}
	rows, _ := runClaims(t, map[string]any{"confirm_seeds": confirm}, append(expl.inputs(t), none.inputs(t)...)...)
	for _, k := range synthKeys {
		e, c := rows[k], rows["C:"+k]
		if e.Sample != Exploratory || e.N != expl.seeds || e.Verdict != Reproduced {
			t.Errorf("%s: sample %q n %d verdict %q, want exploratory, %d seeds, reproduced", k, e.Sample, e.N, e.Verdict, expl.seeds)
		}
		if c.Sample != Confirmatory || c.N != none.seeds || c.Verdict != NotReproduced {
			t.Errorf("C:%s: sample %q n %d verdict %q, want confirmatory, %d seeds, not reproduced", k, c.Sample, c.N, c.Verdict, none.seeds)
		}
	}
	// Without confirm_seeds every run is exploratory.
	rows, _ = runClaims(t, nil, append(expl.inputs(t), none.inputs(t)...)...)
	for k, r := range rows {
		if r.Sample != Exploratory {
			t.Errorf("%s: sample %q without confirm_seeds", k, r.Sample)
		}
	}
	if r := rows["1/E1/joint_test_err[L=3]"]; r.N != expl.seeds+none.seeds {
		t.Errorf("n %d, want every seed (%d)", r.N, expl.seeds+none.seeds)
	}
}

// recover_scale chooses claim 5's primary row; the other scale is shown
// as secondary and says so.
func TestRecoverScale(t *testing.T) {
	for _, tc := range []struct{ scale, primary, secondary string }{
		{ScaleLog, "log_err_share_recovered", "err_share_recovered"},
		{ScaleLinear, "err_share_recovered", "log_err_share_recovered"},
	} {
		rows, _ := runClaims(t, map[string]any{"recover_scale": tc.scale}, clearScenario.inputs(t)...)
		p, s := rows["5/E3/"+tc.primary+"[x=1,L=4]"], rows["5/E3/"+tc.secondary+"[x=1,L=4]"]
		if !p.Primary || s.Primary {
			t.Errorf("%s: primary flags %v (%s), %v (%s)", tc.scale, p.Primary, tc.primary, s.Primary, tc.secondary)
		}
		if !strings.Contains(s.Rule, "secondary") || strings.Contains(p.Rule, "secondary") {
			t.Errorf("%s: rules %q / %q should call only the other scale secondary", tc.scale, p.Rule, s.Rule)
		}
		if o := rows["5/E3/overall"]; o.Detail != tc.primary+"[x=1,L=4] (E3): reproduced" {
			t.Errorf("%s: overall rests on %q", tc.scale, o.Detail)
		}
	}
}

// The primary patterns of the rules decide which rows of claims 1-4 are
// primary.
func TestPrimaryPatterns(t *testing.T) {
	rows, _ := runClaims(t, map[string]any{"primary": []string{"E3:joint_test_err[*"}}, clearScenario.inputs(t)...)
	if rows["1/E1/joint_test_err[L=3]"].Primary || !rows["1/E3/joint_test_err[L=4]"].Primary {
		t.Error("primary does not follow the pattern E3:joint_test_err[*")
	}
	if _, ok := rows["3/E1+E3+E4/overall"]; ok {
		t.Error("claim 3 has an overall row without primary rows")
	}
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"joint_test_err[*", "joint_test_err[L=3]", true},
		{"joint_test_err[L=3]", "joint_test_err[L=3]", true},
		{"joint_test_err[L=3]", "joint_test_err[L=4]", false},
		{"ratio_growth_*", "ratio_growth_gamma0.4/gamma0.1", true},
		{"exponent_gap[krr_poly-deep,*", "exponent_gap[krr_ntk-deep,L=3,tau=0.2]", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
		{"*", "", true},
	} {
		if got := Glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
	p, err := kit.Resolve(Kind{}.Params(), rules(t, map[string]any{"primary": []string{"joint_test_err[*"}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := (Kind{}).Validate(p); err == nil || !strings.Contains(err.Error(), "EXPERIMENT:STATISTIC") {
		t.Errorf("a pattern without EXPERIMENT: gives %v", err)
	}
}

func TestSeedsNeeded(t *testing.T) {
	for _, tc := range []struct {
		name          string
		v, lo, hi, th float64
		dir           Direction
		n             int
		log           bool
		want          int
	}{
		// half-width 1 on the threshold's side, distance 0.5: 4 times the seeds
		{"above, linear", 2, 1, 5, 1.5, Above, 5, false, 20},
		{"below, linear", 1, 0, 2, 1.5, Below, 5, false, 20},
		// already decided: the rule's minimum
		{"decided", 2, 1.9, 2.1, 1, Above, 5, false, 3},
		// log scale: half-width log 4, distance log 2
		{"ratio", 8, 2, 9, 4, Above, 3, true, 12},
		{"within", 1.1, 1.0, 1.5, 1.2, Within, 4, true, int(math.Ceil(4 * math.Pow(math.Log(1.5/1.1)/math.Log(1.2/1.1), 2)))},
		{"on the threshold", 1.5, 1, 2, 1.5, Above, 5, false, -1},
		{"NaN", math.NaN(), 1, 2, 1.5, Above, 5, false, -1},
		{"no seeds", 2, 1, 5, 1.5, Above, 0, false, -1},
	} {
		if got := SeedsNeeded(tc.v, tc.lo, tc.hi, tc.th, tc.dir, tc.n, 3, tc.log); got != tc.want {
			t.Errorf("%s: SeedsNeeded = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// The exploratory overall row needs what its neediest primary row needs
// and says where the confirmatory budget falls short of it.
func TestBudgetShortfall(t *testing.T) {
	// seeds straddling the threshold of claim 5 (as "noisy" above)
	noisy := scenario{seeds: 5, jointErr: 0.01, lwErr: 0.02, lowerErr: 0.03, jointEps: 0.01, lowerEps: 0.02, switchEps: 0.02,
		e3: [3]float64{0.1, 0.1 / math.Sqrt(10), 0.01}, x1pow: 1.5, e4lw: [2]float64{0.02, 0.04}, spread: 30}
	rows, _ := runClaims(t, map[string]any{"confirm_E3": int64(3)}, noisy.inputs(t)...)
	o := rows["5/E3/overall"]
	r := rows["5/E3/log_err_share_recovered[x=1,L=4]"]
	// the share's median lies on 1/2 exactly: no number of seeds decides it
	if o.SeedsNeeded != r.SeedsNeeded || r.SeedsNeeded != -1 {
		t.Fatalf("overall needs %d, its primary row %d (want -1)", o.SeedsNeeded, r.SeedsNeeded)
	}
	if !strings.Contains(o.Detail, "confirmatory budget short") || !strings.Contains(o.Detail, "the budget is 3") {
		t.Errorf("detail %q does not name the shortfall", o.Detail)
	}
}

// Claim 3's growth over the depth series (E10): per seed the slope of
// log(layerwise/joint) against L = 3, 4, 5, whose exp is seed i's
// constructed growth per layer, growth jitter(i); the row is exp(median
// slope) with its bootstrap interval, decided against depth_growth = 1.
func TestDepthSeries(t *testing.T) {
	base := clearScenario
	at := func(growth, spread float64, seeds int, perStage [3]int) scenario {
		s := base
		s.growth, s.spread, s.seeds, s.perStage = growth, spread, seeds, perStage
		return s
	}
	const key = "3/E10/ratio_growth_per_layer[L=3-5]"
	for _, tc := range []struct {
		name    string
		s       scenario
		verdict string
		// the overall row's detail names the confirmatory budget as short
		short bool
		// a phrase of the row's detail
		detail string
	}{
		{"growing", at(3, 1.5, 5, [3]int{}), Reproduced, false, "growth per layer"},
		{"shrinking", at(1/3.0, 1.5, 5, [3]int{}), NotReproduced, false, "growth per layer"},
		// per-seed growth from 1/2 to 2: the interval straddles 1, the
		// median lies on it
		{"flat and noisy", at(1, 4, 5, [3]int{}), Inconclusive, true, "growth per layer"},
		// E1/E3's confound: 40 epochs per stage at L = 3, 80 above
		{"budgets differ", at(3, 1.5, 5, [3]int{40, 80, 80}), Inconclusive, false, "different budget rules"},
		{"two seeds", at(3, 1.5, 2, [3]int{}), Inconclusive, false, "growth per layer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, _ := runClaims(t, nil, tc.s.inputs(t)...)
			r, ok := rows[key]
			if !ok {
				t.Fatalf("no row %s: %v", key, keysOf(rows))
			}
			if r.Verdict != tc.verdict || !r.Primary || r.N != tc.s.seeds || r.Threshold != 1 {
				t.Errorf("%q primary %v n %d threshold %v (%.4g [%.4g, %.4g]); want %q, primary, %d seeds, threshold 1\n  detail: %s",
					r.Verdict, r.Primary, r.N, r.Threshold, r.Value, r.Lo, r.Hi, tc.verdict, tc.s.seeds, r.Detail)
			}
			if !strings.Contains(r.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", r.Detail, tc.detail)
			}
			// The value is the median seed's growth (jitter 1 for an odd
			// number of seeds), inside its interval.
			want := tc.s.growth
			if tc.s.seeds%2 == 0 {
				want = tc.s.growth * math.Sqrt(tc.s.jitter(0)*tc.s.jitter(1))
			}
			if math.Abs(r.Value-want) > 1e-12*want || r.Lo > r.Value || r.Hi < r.Value {
				t.Errorf("value %.15g [%v, %v], want %.15g inside its interval", r.Value, r.Lo, r.Hi, want)
			}
			// seeds_needed follows the rule on the log scale, and the
			// overall row of claim 3 carries the largest need and names
			// the confirmatory budget of E10 where it is short.
			if need := SeedsNeeded(r.Value, r.Lo, r.Hi, 1, Above, r.N, 3, true); r.SeedsNeeded != need {
				t.Errorf("seeds_needed %d, want %d", r.SeedsNeeded, need)
			}
			o := rows["3/E4+E10/overall"]
			if got := strings.Contains(o.Detail, "ratio_growth_per_layer[L=3-5] (E10) needs"); got != tc.short {
				t.Errorf("overall detail %q: names the E10 shortfall %v, want %v", o.Detail, got, tc.short)
			}
		})
	}
}

func TestSlope(t *testing.T) {
	for _, tc := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"line", []float64{3, 4, 5}, []float64{1, 3, 5}, 2},
		{"two points", []float64{3, 5}, []float64{0, -1}, -0.5},
		{"least squares", []float64{0, 1, 2}, []float64{0, 2, 1}, 0.5},
		{"flat", []float64{3, 4, 5}, []float64{7, 7, 7}, 0},
	} {
		if got := Slope(tc.x, tc.y); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: Slope = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := Slope([]float64{4, 4}, []float64{1, 2}); !math.IsNaN(got) {
		t.Errorf("one distinct x: Slope = %v, want NaN", got)
	}
}

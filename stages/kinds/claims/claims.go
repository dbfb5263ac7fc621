// Package claims implements the stage kind "claims": it gathers the
// experiments of the reproduction and decides, by rules fixed in advance,
// whether each claim of docs/science.md#claims is reproduced, not reproduced, or
// whether the data cannot tell (inconclusive). It writes one Arrow table,
// "claims", with one row per (claim, sample, statistic): the value, its
// interval, the verdict, the seeds it would need, the decision rule in
// words and the per-seed numbers behind the value, so that each verdict
// can be recomputed by hand.
//
// # Frozen rules and two samples
//
// Every decision rule is a required parameter (no defaults here): the
// statistic, level, resamples, min_seeds, the thresholds, claim 5's scale
// (recover_scale) and x (recover_x), the primary patterns of claims 1-4
// and the confirmatory seed counts confirm_E1/E3/E4/E8/E10. They are declared
// once, in the pipeline file, whose engine hashes them, records the hash
// with bfc freeze and derives the confirmatory seeds from it
// (docs/science.md#rules); it passes those seeds' labels (confirm_seeds),
// the hash (rules_hash) and the lock's hash (rules_lock). Runs whose seed
// label is among confirm_seeds form the confirmatory sample, the others
// the exploratory one; every row below is computed on each sample alone
// (the exponent rows of claim 4 per fitted stage: an nstarfit stage whose
// searches all ran on confirmatory seeds is confirmatory, one with none
// exploratory, a mix an error; E6's scaling fits are exploratory).
//
// seeds_needed (SeedsNeeded) is the number of seeds for which a row's
// interval would clear its threshold, if its half-width shrank like
// 1/sqrt(n); an overall row needs what its neediest primary row needs, and
// the exploratory overall row's detail names the primary rows whose need
// exceeds their experiment's confirmatory budget.
//
// # Inputs and experiments
//
// A claims stage gathers "train" points (E1-E4), and optionally "scaling"
// (E6), "nstarfit" (E9) and "classify" (E8) points; an absent input kind
// gives no rows.
// Train points are grouped by what they are, not by which stage made them
// (a kind cannot see stage ids): checkpoints (last_stage < L) are skipped;
// points with a "gap" label form the information-gap sweep E4; points with
// an "L" label (a grid over depth) form the depth series E10, one group per
// depth; the others form E1 if their depth is e1_depth (3) and E3 if it is
// e3_depth (4).
// Runs of one experiment are paired by the target they were trained on
// (the summary's target_key): same seed, same data, same stage-2
// checkpoint. A schedule is placed by the depth of its correction x (how
// many layers below the newest keep training): layerwise is x = 0, joint
// is x = L-2, bfc-x is min(x, L-2); lower-only and end2end are separate.
//
// # Statistics and intervals
//
// Every statistic is a median over seeds (paired seeds where it compares
// schedules), with a percentile bootstrap interval (metrics.BootstrapCI)
// that resamples whole seeds, B = boot times, at confidence level. Ratios
// of errors are taken per seed on the log scale and reported as
// exp(median log ratio). With few seeds the interval is wide: with 5
// seeds, the 90% interval of a median is the range of the 5 values. The
// three-way rule (Decide) compares the interval with a threshold: wholly
// on the claim's side is "reproduced", wholly on the other side "not
// reproduced", straddling it (or fewer than min_seeds seeds, or a NaN)
// "inconclusive". The thresholds were set after the exploratory summaries
// were seen, before the confirmatory seeds existed; the "rule" column
// states each one in words.
//
// The rows, per claim (docs/science.md#claims):
//
//	1  joint_test_err[L]          median final test MSE/Var(y) of joint training (x = L-2) at
//	                              L = 3 (E1) and L = 4 (E3); reproduced if below small_error
//	2  eps2_joint/lower-only      final eps_2 of joint over that of the lower-only control,
//	                              paired (E1); reproduced if below bfc_ratio. Supporting:
//	                              eps2_final/switch_joint (below bfc_ratio) and
//	                              eps2_final/switch_layerwise (within [1/(1+flat_tol), 1+flat_tol];
//	                              layer 2 is frozen, so this checks the pipeline)
//	3  test_err_layerwise/joint   final test error ratio, paired, at L = 3 (E1) and L = 4 (E3 x = 0
//	                              vs x = 2); reproduced if above worse_ratio. ratio_growth_L4/L3:
//	                              the two ratios' intervals compared; reproduced if L = 4's lies
//	                              wholly above L = 3's, not reproduced if wholly below,
//	                              inconclusive if they overlap. E4: the ratio per gamma
//	                              (supporting) and ratio_growth over gamma (largest vs smallest
//	                              gamma, same overlap rule; a larger gamma is a weaker gap).
//	                              E8 (supporting): acc_joint-layerwise per depth, above acc_margin.
//	1-3 E10 (depth series)        the rows of claims 1, 2 and 3 above at every depth of the series,
//	                              and ratio_growth_per_layer[L=a-b]: per seed, the least-squares
//	                              slope of log(layerwise/joint) against L over the depths; the
//	                              value is exp(median slope), the ratio's growth per added layer,
//	                              with the bootstrap interval over seeds; reproduced if above
//	                              depth_growth. Inconclusive by rule if the depths' staged runs do
//	                              not share one budget (epochs of layer 2 alone, epochs per stage).
//	4  exponent_gap[M-deep]       from each exponent fit of N* ∝ d^b, of an nstarfit stage (E9:
//	                              N* by adaptive search, the threshold at the primary share of
//	                              the high Hermite degrees or fixed) or of a scaling stage (E6:
//	                              the fixed n grid): learner M's b minus the deep learner's at
//	                              the same L and threshold, interval from the two fits'
//	                              intervals; reproduced if above exponent_margin (one code path,
//	                              exponentRows, for both experiments; which rows are primary is
//	                              the rules' patterns: E9's kernel rows at the primary threshold)
//	5  log_err_share_recovered    share of the layerwise-to-joint improvement in log test error
//	                              that bfc-x recovers, median(log e_0 - log e_x) /
//	                              median(log e_0 - log e_joint) (E3 and E8, the latter on the
//	                              classification error 1 - accuracy); err_share_recovered: the
//	                              same on the linear error. The row of recover_scale at x =
//	                              recover_x is primary, the other scale secondary; reproduced if
//	                              above recover_frac.
//
// Which rows of claims 1-4 are primary is the rules' primary patterns.
// Each claim also gets a row "overall" per sample: reproduced if all its
// primary rows are, not reproduced if any is not, inconclusive otherwise.
package claims

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/classify"
	"github.com/bfc-repro/bfc/stages/kinds/nstarfit"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Kind is the stage kind "claims".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "claims" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Decides each claim of docs/science.md#claims (reproduced, not reproduced, inconclusive) from the gathered train " +
		"(E1-E4), scaling (E6), nstarfit (E9) and classify (E8) points, by the frozen rules declared as its required parameters " +
		"(docs/science.md#rules), on medians over seeds with bootstrap intervals, separately on the exploratory seeds and " +
		"on the confirmatory seeds derived from the rules' hash. Output: claims (one row per claim, sample and statistic: " +
		"value, interval, verdict, seeds needed, rule, per-seed numbers)."
}

// Params implements kit.Kind. The decision rules are required: they are
// declared once, in the pipeline file (docs/science.md#rules), whose
// engine hashes them, freezes the hash (bfc freeze) and derives the
// confirmatory seeds from it; the last three parameters are set by the
// engine from that hash, not written in the file.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.StringParam("statistic", "", "the centre of every statistic over seeds (median: the only one implemented)").OneOf(StatMedian).Required(),
		kit.FloatParam("level", 0, "confidence level of the bootstrap intervals").In(0.5, 0.999).Required(),
		kit.IntParam("boot", 0, "bootstrap resamples").In(100, 1000000).Required(),
		kit.IntParam("min_seeds", 0, "fewer paired seeds than this make a statistic inconclusive").In(1, 1000).Required(),
		kit.IntParam("e1_depth", 0, "depth L of the E1 runs (train points without a gap label)").In(2, 16).Required(),
		kit.IntParam("e3_depth", 0, "depth L of the E3 runs (train points without a gap label)").In(2, 16).Required(),
		kit.FloatParam("small_error", 0, "claim 1: joint's final test MSE/Var(y) counts as small below this").In(1e-12, 1).Required(),
		kit.FloatParam("bfc_ratio", 0, "claim 2: final eps_2 of joint must be below this fraction of the lower-only control's").In(1e-6, 1).Required(),
		kit.FloatParam("flat_tol", 0, "claim 2: layerwise eps_2 is flat if final/switch lies within [1/(1+tol), 1+tol]").In(1e-9, 10).Required(),
		kit.FloatParam("worse_ratio", 0, "claim 3: layerwise's final test error must exceed joint's by this factor").In(1, 1e6).Required(),
		kit.FloatParam("depth_growth", 0, "claim 3 (depth series E10): the layerwise/joint ratio must grow by more than this factor per added layer "+
			"(exp of the median per-seed slope of its log against L)").In(1, 1e6).Required(),
		kit.FloatParam("recover_frac", 0, "claim 5: bfc-x must recover more than this share of the layerwise-to-joint improvement").In(0, 1).Required(),
		kit.StringParam("recover_scale", "", "claim 5: the scale of the test error on which the share is decided (the other is shown as secondary)").
			OneOf(ScaleLog, ScaleLinear).Required(),
		kit.IntParam("recover_x", 0, "claim 5: the depth of correction x of bfc-x whose share decides the claim").In(1, 16).Required(),
		kit.FloatParam("exponent_margin", 0, "claim 4: a kernel's exponent of d must exceed the deep learner's by more than this").In(0, 100).Required(),
		kit.FloatParam("acc_margin", 0, "E8: joint's test accuracy must exceed layerwise's by more than this (0.005 = half a point)").In(0, 1).Required(),
		kit.StringsParam("primary", nil, "the rows of claims 1-4 that decide their claim: EXPERIMENT:STATISTIC patterns, * matching any text "+
			"(claim 5's follow recover_scale and recover_x)").NonEmpty(1).Required(),
		kit.IntParam("confirm_E1", 0, "confirmatory seeds of E1 (the count a derived seed axis names; the budget of its rows)").In(0, 1000).Required(),
		kit.IntParam("confirm_E3", 0, "confirmatory seeds of E3").In(0, 1000).Required(),
		kit.IntParam("confirm_E4", 0, "confirmatory seeds per gamma of E4").In(0, 1000).Required(),
		kit.IntParam("confirm_E8", 0, "confirmatory seeds of E8").In(0, 1000).Required(),
		kit.IntParam("confirm_E9", 0, "confirmatory seeds per dimension of E9").In(0, 1000).Required(),
		kit.IntParam("confirm_E10", 0, "confirmatory seeds of E10 (the depth series; one seed is a target at every depth)").In(0, 1000).Required(),
		kit.StringsParam("confirm_seeds", []string{}, "set by the engine: the seed labels derived from the rules' hash; runs with these seeds are confirmatory"),
		kit.StringParam("rules_hash", "", "set by the engine: the sha256 of the rules in force"),
		kit.StringParam("rules_lock", "", "set by the engine: the hash recorded by bfc freeze in the lock file (empty: none)"),
	}
}

// StatMedian is the one statistic (centre over seeds) implemented.
const StatMedian = "median"

// The scales of claim 5's share.
const (
	ScaleLog    = "log"
	ScaleLinear = "linear"
)

// Samples: the seeds the rules were tuned on, and the seeds derived from
// the frozen rules' hash.
const (
	Exploratory  = "exploratory"
	Confirmatory = "confirmatory"
)

// Validate implements kit.Validator.
func (Kind) Validate(p kit.Params) error {
	c := newConfig(p, 0)
	if c.e1Depth == c.e3Depth {
		return kit.Errorf("e3_depth", "must differ from e1_depth (%d): the claims compare two depths", c.e1Depth)
	}
	for _, pat := range c.primary {
		if e, s, ok := strings.Cut(pat, ":"); !ok || e == "" || s == "" {
			return kit.Errorf("primary", "%q: want EXPERIMENT:STATISTIC, e.g. \"E1:joint_test_err[*\"", pat)
		}
	}
	return nil
}

// config holds the resolved parameters.
type config struct {
	level                                     float64
	boot, minSeeds                            int
	seed                                      uint64
	e1Depth, e3Depth                          int
	smallError, bfcRatio, flatTol, worseRatio float64
	depthGrowth                               float64
	recoverFrac, exponentMargin, accMargin    float64
	recoverScale                              string
	recoverX                                  int
	primary                                   []string
	budget                                    map[string]int // confirmatory seeds per experiment
	confirm                                   []string       // confirmatory seed labels
	sample                                    string         // the sample the rows being added are of
	rows                                      []Row
}

func newConfig(p kit.Params, seed uint64) *config {
	return &config{level: p.Float("level"), boot: p.Int("boot"), minSeeds: p.Int("min_seeds"), seed: seed,
		e1Depth: p.Int("e1_depth"), e3Depth: p.Int("e3_depth"), smallError: p.Float("small_error"),
		bfcRatio: p.Float("bfc_ratio"), flatTol: p.Float("flat_tol"), worseRatio: p.Float("worse_ratio"), depthGrowth: p.Float("depth_growth"),
		recoverFrac: p.Float("recover_frac"), exponentMargin: p.Float("exponent_margin"), accMargin: p.Float("acc_margin"),
		recoverScale: p.String("recover_scale"), recoverX: p.Int("recover_x"), primary: p.Strings("primary"),
		budget: map[string]int{"E1": p.Int("confirm_E1"), "E3": p.Int("confirm_E3"), "E4": p.Int("confirm_E4"), "E8": p.Int("confirm_E8"),
			"E9": p.Int("confirm_E9"), "E10": p.Int("confirm_E10")},
		confirm: p.Strings("confirm_seeds"), sample: Exploratory}
}

// Row is one row of the claims table.
type Row struct {
	Claim      string // number of the claim in docs/science.md#claims
	Sample     string // Exploratory or Confirmatory: which seeds
	Experiment string // E1, E3, E4, E1+E3, E6, E9, E8
	Statistic  string
	Primary    bool // decides the claim's overall verdict
	N          int  // seeds (paired seeds for comparisons)
	Value      float64
	Lo, Hi     float64 // confidence interval
	Level      float64
	Threshold  float64
	Verdict    string
	// SeedsNeeded is the number of seeds at which the interval's
	// half-width on the threshold's side would fall below the distance
	// to the threshold (SeedsNeeded); -1 when no number of seeds would.
	SeedsNeeded int
	Rule        string // the decision rule in words
	Detail      string // the numbers behind the value, per seed
	// Log: the statistic is a ratio, its interval and distance to the
	// threshold are measured on the log scale.
	Log bool
	dir Direction
}

// add appends a row with its verdict decided by Decide, its sample, its
// primary flag (claim 5's is set by its caller; the others' by the
// primary patterns of the rules), the seeds it would need and the level.
func (c *config) add(r Row, dir Direction) {
	if r.Verdict == "" {
		r.Verdict = Decide(r.Lo, r.Hi, r.Threshold, dir, r.N, c.minSeeds)
	}
	if r.Level == 0 {
		r.Level = c.level
	}
	if r.Claim != "5" {
		r.Primary = c.isPrimary(r.Experiment, r.Statistic)
	}
	r.Sample, r.dir = c.sample, dir
	r.SeedsNeeded = SeedsNeeded(r.Value, r.Lo, r.Hi, r.Threshold, dir, r.N, c.minSeeds, r.Log)
	c.rows = append(c.rows, r)
}

// isPrimary reports whether a row matches a primary pattern of the rules.
func (c *config) isPrimary(exp, stat string) bool {
	for _, p := range c.primary {
		e, s, _ := strings.Cut(p, ":")
		if e == exp && Glob(s, stat) {
			return true
		}
	}
	return false
}

// Glob reports whether s matches pattern, in which * matches any text
// (brackets and the other characters of statistic names are literal).
func Glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	c := newConfig(env.Params(), env.Seed())
	runs, err := train.FinalRuns(env.Inputs())
	if err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	scaling := kit.InputsOfKind(env, "scaling")
	nstarfits := kit.InputsOfKind(env, nstarfit.Kind{}.Name())
	classifyIns := kit.InputsOfKind(env, "classify")
	if len(runs) == 0 && len(scaling) == 0 && len(nstarfits) == 0 && len(classifyIns) == 0 {
		return fmt.Errorf("claims: no finished train, scaling, nstarfit or classify input among %d inputs", len(env.Inputs()))
	}
	var cruns []train.Run
	runs, cruns = c.split(runs)
	var cls []classify.Run
	if len(classifyIns) > 0 {
		if cls, err = finalClassifyRuns(classifyIns); err != nil {
			return fmt.Errorf("claims: %w", err)
		}
	}
	ccls := slices.DeleteFunc(slices.Clone(cls), func(r classify.Run) bool { return !slices.Contains(c.confirm, r.Seed) })
	cls = slices.DeleteFunc(cls, func(r classify.Run) bool { return slices.Contains(c.confirm, r.Seed) })
	c.synthetic(runs)
	for _, in := range scaling {
		if err := c.scalingRows(in); err != nil {
			return fmt.Errorf("claims: scaling %s: %w", in.Key(), err)
		}
	}
	for _, in := range nstarfits {
		if err := c.nstarRows(in); err != nil {
			return fmt.Errorf("claims: nstarfit %s: %w", in.Key(), err)
		}
	}
	c.classifyRows(cls)
	if len(cruns) > 0 || len(ccls) > 0 {
		c.sample = Confirmatory
		c.synthetic(cruns)
		c.classifyRows(ccls)
	}
	c.overall()
	for _, r := range c.rows {
		env.Logf("claim %s %-12s %-5s %-45s %-14s %.4g [%.4g, %.4g] n=%d needs %d", r.Claim, r.Sample, r.Experiment, r.Statistic,
			r.Verdict, r.Value, r.Lo, r.Hi, r.N, r.SeedsNeeded)
	}
	tab, err := claimsTable(c.rows)
	if err != nil {
		return fmt.Errorf("claims: claims table: %w", err)
	}
	return env.Write(TableClaims, tab)
}

// split separates the confirmatory runs (seed label among the derived
// seeds) from the exploratory ones.
func (c *config) split(runs []train.Run) (expl, conf []train.Run) {
	for _, r := range runs {
		if slices.Contains(c.confirm, r.Seed) {
			conf = append(conf, r)
		} else {
			expl = append(expl, r)
		}
	}
	return expl, conf
}

// overall inserts, before each claim's first row of a sample, a row
// combining the verdicts of its primary rows, and orders the rows by
// claim, then sample (exploratory first), stably. The overall row needs
// the largest number of seeds any primary row needs (-1 if one has no
// finite number); its detail says where the confirmatory budget
// (confirm_EXPERIMENT) falls short of the exploratory rows' need.
func (c *config) overall() {
	var claims []string
	for _, r := range c.rows {
		if !slices.Contains(claims, r.Claim) {
			claims = append(claims, r.Claim)
		}
	}
	slices.Sort(claims)
	var out []Row
	for _, cl := range claims {
		for _, sample := range []string{Exploratory, Confirmatory} {
			var prim, rest []Row
			for _, r := range c.rows {
				if r.Claim != cl || r.Sample != sample {
					continue
				}
				rest = append(rest, r)
				if r.Primary {
					prim = append(prim, r)
				}
			}
			if len(prim) > 0 {
				out = append(out, c.overallRow(cl, sample, prim))
			}
			out = append(out, rest...)
		}
	}
	c.rows = out
}

// overallRow combines the primary rows of one claim and sample.
func (c *config) overallRow(claim, sample string, prim []Row) Row {
	v, n, need := Reproduced, prim[0].N, 0
	var exps, names, short []string
	for _, r := range prim {
		n = min(n, r.N)
		switch {
		case r.Verdict == NotReproduced:
			v = NotReproduced
		case r.Verdict == Inconclusive && v == Reproduced:
			v = Inconclusive
		}
		if need >= 0 {
			need = max(need, r.SeedsNeeded)
			if r.SeedsNeeded < 0 {
				need = -1
			}
		}
		for _, e := range strings.Split(r.Experiment, "+") {
			if !slices.Contains(exps, e) {
				exps = append(exps, e)
			}
		}
		names = append(names, r.Statistic+" ("+r.Experiment+"): "+r.Verdict)
		if sample == Exploratory {
			if b, ok := c.budgetOf(r.Experiment); ok && (r.SeedsNeeded < 0 || r.SeedsNeeded > b) {
				short = append(short, fmt.Sprintf("%s (%s) needs %s, the budget is %d", r.Statistic, r.Experiment, needText(r.SeedsNeeded), b))
			}
		}
	}
	detail := strings.Join(names, "; ")
	if len(short) > 0 {
		detail += "; confirmatory budget short: " + strings.Join(short, "; ")
	}
	return Row{Claim: claim, Sample: sample, Experiment: strings.Join(exps, "+"), Statistic: "overall", Primary: false, N: n,
		Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Level: c.level, Threshold: math.NaN(), Verdict: v, SeedsNeeded: need,
		Rule:   "reproduced if every primary row of the claim is reproduced, not reproduced if any is not reproduced, otherwise inconclusive",
		Detail: detail}
}

// budgetOf is the confirmatory seeds of an experiment ("E1+E3": the
// smaller); false for an experiment without confirmatory runs (E6) or
// when the rules give it none.
func (c *config) budgetOf(exp string) (int, bool) {
	b, ok := -1, false
	for _, e := range strings.Split(exp, "+") {
		n, has := c.budget[e]
		if !has || n == 0 {
			return 0, false
		}
		if !ok || n < b {
			b, ok = n, true
		}
	}
	return b, ok
}

// needText writes a number of seeds needed.
func needText(n int) string {
	if n < 0 {
		return "more seeds than any (the value lies on the threshold)"
	}
	return fmt.Sprintf("%d seeds", n)
}

// DepthsOf returns the depths of E1 and E3 of resolved "claims"
// parameters (this kind's or an upstream claims stage's).
func DepthsOf(p kit.Params) (e1, e3 int) {
	c := newConfig(p, 0)
	return c.e1Depth, c.e3Depth
}

// Package claims implements the stage kind "claims": it gathers the
// experiments of the reproduction and decides, by rules fixed in advance,
// whether each claim of docs/science.md#claims is reproduced, not reproduced, or
// whether the data cannot tell (inconclusive). It writes one Arrow table,
// "claims", with one row per (claim, statistic): the value, its interval,
// the verdict, the decision rule in words and the per-seed numbers behind
// the value, so that each verdict can be recomputed by hand.
//
// # Inputs and experiments
//
// A claims stage gathers "train" points (E1-E4), and optionally "scaling"
// (E6) and "classify" (E8) points; an absent input kind gives no rows.
// Train points are grouped by what they are, not by which stage made them
// (a kind cannot see stage ids): checkpoints (last_stage < L) are skipped;
// points with a "gap" label form the information-gap sweep E4; the others
// form E1 if their depth is e1_depth (3) and E3 if it is e3_depth (4).
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
// "inconclusive". Thresholds are parameters of the kind, set in
// pipeline.toml before the data are seen, and the "rule" column states
// each one in words.
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
//	4  exponent_gap[M-deep]       from each scaling fit (E6): fitted exponent b of N* ∝ d^b of
//	                              learner M minus the deep learner's, interval from the two
//	                              fits' intervals; reproduced if above exponent_margin (primary
//	                              for kernel and fixed-feature learners, supporting for two-layer
//	                              networks)
//	5  log_err_share_recovered    share of the layerwise-to-joint improvement in log test error
//	                              that bfc-x recovers, median(log e_0 - log e_x) /
//	                              median(log e_0 - log e_joint) (E3, x = 1 primary); reproduced if
//	                              above recover_frac. Supporting: the same on the linear error.
//	                              E8: the same on the log classification error 1 - accuracy.
//
// Each claim also gets a row "overall": reproduced if all its primary
// rows are, not reproduced if any is not, inconclusive otherwise.
package claims

import (
	"fmt"
	"math"
	"slices"
	"strings"

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
		"(E1-E4), scaling (E6) and classify (E8) points, by thresholds declared as its parameters (set after the E1-E4 summaries " +
		"were seen, so not pre-registered in the strict sense; the report says so) on medians over seeds with " +
		"bootstrap intervals. Output: claims (one row per claim and statistic: value, interval, verdict, rule, per-seed numbers)."
}

// Params implements kit.Kind.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.FloatParam("level", 0.9, "confidence level of the bootstrap intervals").In(0.5, 0.999),
		kit.IntParam("boot", 2000, "bootstrap resamples").In(100, 1000000),
		kit.IntParam("min_seeds", 3, "fewer paired seeds than this make a statistic inconclusive").In(1, 1000),
		kit.IntParam("e1_depth", 3, "depth L of the E1 runs (train points without a gap label)").In(2, 16),
		kit.IntParam("e3_depth", 4, "depth L of the E3 runs (train points without a gap label)").In(2, 16),
		kit.FloatParam("small_error", 0.01, "claim 1: joint's final test MSE/Var(y) counts as small below this").In(1e-12, 1),
		kit.FloatParam("bfc_ratio", 0.5, "claim 2: final eps_2 of joint must be below this fraction of the lower-only control's").In(1e-6, 1),
		kit.FloatParam("flat_tol", 0.05, "claim 2: layerwise eps_2 is flat if final/switch lies within [1/(1+tol), 1+tol]").In(1e-9, 10),
		kit.FloatParam("worse_ratio", 2, "claim 3: layerwise's final test error must exceed joint's by this factor").In(1, 1e6),
		kit.FloatParam("recover_frac", 0.5, "claim 5: bfc-1 must recover more than this share of the layerwise-to-joint log-error improvement").In(0, 1),
		kit.FloatParam("exponent_margin", 1, "claim 4: a kernel's exponent of d must exceed the deep learner's by more than this").In(0, 100),
		kit.FloatParam("acc_margin", 0.005, "E8: joint's test accuracy must exceed layerwise's by more than this (0.005 = half a point)").In(0, 1),
	}
}

// Validate implements kit.Validator.
func (Kind) Validate(p kit.Params) error {
	if c := newConfig(p, 0); c.e1Depth == c.e3Depth {
		return kit.Errorf("e3_depth", "must differ from e1_depth (%d): the claims compare two depths", c.e1Depth)
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
	recoverFrac, exponentMargin, accMargin    float64
	rows                                      []Row
}

func newConfig(p kit.Params, seed uint64) *config {
	return &config{level: p.Float("level"), boot: p.Int("boot"), minSeeds: p.Int("min_seeds"), seed: seed,
		e1Depth: p.Int("e1_depth"), e3Depth: p.Int("e3_depth"), smallError: p.Float("small_error"),
		bfcRatio: p.Float("bfc_ratio"), flatTol: p.Float("flat_tol"), worseRatio: p.Float("worse_ratio"),
		recoverFrac: p.Float("recover_frac"), exponentMargin: p.Float("exponent_margin"), accMargin: p.Float("acc_margin")}
}

// Row is one row of the claims table.
type Row struct {
	Claim      string // number of the claim in docs/science.md#claims
	Experiment string // E1, E3, E4, E1+E3, E6, E8
	Statistic  string
	Primary    bool // decides the claim's overall verdict
	N          int  // seeds (paired seeds for comparisons)
	Value      float64
	Lo, Hi     float64 // confidence interval
	Level      float64
	Threshold  float64
	Verdict    string
	Rule       string // the decision rule in words
	Detail     string // the numbers behind the value, per seed
}

// add appends a row with its verdict decided by Decide and the level set.
func (c *config) add(r Row, dir Direction) {
	if r.Verdict == "" {
		r.Verdict = Decide(r.Lo, r.Hi, r.Threshold, dir, r.N, c.minSeeds)
	}
	if r.Level == 0 {
		r.Level = c.level
	}
	c.rows = append(c.rows, r)
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	c := newConfig(env.Params(), env.Seed())
	runs, err := train.FinalRuns(env.Inputs())
	if err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	scaling := kit.InputsOfKind(env, "scaling")
	classify := kit.InputsOfKind(env, "classify")
	if len(runs) == 0 && len(scaling) == 0 && len(classify) == 0 {
		return fmt.Errorf("claims: no finished train, scaling or classify input among %d inputs", len(env.Inputs()))
	}
	c.synthetic(runs)
	for _, in := range scaling {
		if err := c.scalingRows(in); err != nil {
			return fmt.Errorf("claims: scaling %s: %w", in.Key(), err)
		}
	}
	if len(classify) > 0 {
		if err := c.classifyRows(classify); err != nil {
			return fmt.Errorf("claims: %w", err)
		}
	}
	c.overall()
	for _, r := range c.rows {
		env.Logf("claim %s %-5s %-45s %-14s %.4g [%.4g, %.4g] n=%d", r.Claim, r.Experiment, r.Statistic, r.Verdict, r.Value, r.Lo, r.Hi, r.N)
	}
	tab, err := claimsTable(c.rows)
	if err != nil {
		return fmt.Errorf("claims: claims table: %w", err)
	}
	return env.Write(TableClaims, tab)
}

// overall inserts, before each claim's first row, a row combining the
// verdicts of its primary rows, and orders the rows by claim (stable).
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
		var prim []Row
		var rest []Row
		for _, r := range c.rows {
			if r.Claim != cl {
				continue
			}
			rest = append(rest, r)
			if r.Primary {
				prim = append(prim, r)
			}
		}
		if len(prim) > 0 {
			v, n := Reproduced, prim[0].N
			var exps, names []string
			for _, r := range prim {
				n = min(n, r.N)
				switch {
				case r.Verdict == NotReproduced:
					v = NotReproduced
				case r.Verdict == Inconclusive && v == Reproduced:
					v = Inconclusive
				}
				for _, e := range strings.Split(r.Experiment, "+") {
					if !slices.Contains(exps, e) {
						exps = append(exps, e)
					}
				}
				names = append(names, r.Statistic+" ("+r.Experiment+"): "+r.Verdict)
			}
			out = append(out, Row{Claim: cl, Experiment: strings.Join(exps, "+"), Statistic: "overall", Primary: false, N: n,
				Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Level: c.level, Threshold: math.NaN(), Verdict: v,
				Rule:   "reproduced if every primary row of the claim is reproduced, not reproduced if any is not reproduced, otherwise inconclusive",
				Detail: strings.Join(names, "; ")})
		}
		out = append(out, rest...)
	}
	c.rows = out
}

// DepthsOf returns the depths of E1 and E3 of resolved "claims"
// parameters (this kind's or an upstream claims stage's).
func DepthsOf(p kit.Params) (e1, e3 int) {
	c := newConfig(p, 0)
	return c.e1Depth, c.e3Depth
}

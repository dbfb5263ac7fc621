package paper

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/claims"
	"github.com/bfc-repro/bfc/stages/kit"
)

// builder reads the gathered inputs and fills the book.
type builder struct {
	env     kit.Env
	cfg     config
	b       *Book
	rd      reader
	open_   []*table
	claims  kit.Input
	ctable  *table
	targets []*targetPt
	runs    []*trainRun
	class   []*classRun
	figs    []string // file stems of the gathered figures

	scalings  []kit.Input // gathered "scaling" points (E6)
	collects  []kit.Input // gathered "collect" points (E7)
	scaling   *scalingSet // the scaling point's tables, once read
	smallRows []string    // rows of the small-d table of E5
	spectra   []*table    // summary tables of the gathered "spectrum" points
	nstar     *nstarSet   // the gathered "nstarfit" point (E9)

	e1Depth, e3Depth int
}

func newBuilder(env kit.Env, cfg config) *builder { return &builder{env: env, cfg: cfg, b: NewBook()} }

func (bd *builder) release() {
	for _, t := range bd.open_ {
		t.release()
	}
	bd.open_ = nil
}

// build fills the book from the inputs. Sections whose inputs are absent
// add no entries; the template says what it needs.
func (bd *builder) build() error {
	cl, err := kit.OneInput(bd.env, "claims")
	if err != nil {
		return err
	}
	bd.claims = cl
	if bd.ctable, err = bd.open(cl, claims.Desc); err != nil {
		return err
	}
	bd.e1Depth, bd.e3Depth = claims.DepthsOf(cl.Params())
	if err := bd.readInputs(); err != nil {
		return err
	}
	steps := []func(){bd.claimsParams, bd.claimsTable, bd.targetSetup, bd.labelTails, bd.informationGap,
		bd.learnerSetup, bd.clipping, bd.eOne, bd.stageTwo, bd.eThree, bd.eFour, bd.eFive, bd.spectrum, bd.eSix, bd.eNine, bd.eSeven,
		bd.eEight, bd.published, bd.facts}
	for _, step := range steps {
		step()
		if err := errorsJoin(bd.rd.err, bd.b.Err()); err != nil {
			return err
		}
	}
	if f := bd.cfg.search; f != "" {
		if err := bd.fileTable(f, "Search", map[string]string{"param": "Param", "value": "Value", "seeds": "Seeds", "outcome": "Outcome"}); err != nil {
			return err
		}
	}
	if f := bd.cfg.timings; f != "" {
		if err := bd.fileTable(f, "Time", map[string]string{"experiment": "Experiment", "stages": "Stages", "points": "Points",
			"wall_s": "Wall", "cpu_s": "CPU", "host": "Host"}); err != nil {
			return err
		}
	}
	return bd.b.Err()
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// words names small integers inside macro names, which cannot hold digits.
var words = []string{"Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
	"Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen", "Twenty"}

// word returns the English word for n (0..20), or letters beyond.
func word(n int) string {
	if n >= 0 && n < len(words) {
		return words[n]
	}
	return "N" + letters(n)
}

// letters numbers the rows of a list: 0 -> A, 25 -> Z, 26 -> AA, ...
func letters(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// claimsParams: the decision rules' settings.
func (bd *builder) claimsParams() {
	for _, p := range []struct{ param, name, format string }{
		{"level", "ClaimsLevel", "pct0"}, {"boot", "ClaimsBoot", "int"}, {"min_seeds", "ClaimsMinSeeds", "int"},
		{"small_error", "ClaimsSmallError", "exact"}, {"bfc_ratio", "ClaimsBfcRatio", "exact"}, {"flat_tol", "ClaimsFlatTol", "exact"},
		{"worse_ratio", "ClaimsWorseRatio", "exact"}, {"recover_frac", "ClaimsRecoverFrac", "pct0"},
		{"exponent_margin", "ClaimsExponentMargin", "exact"}, {"acc_margin", "ClaimsAccMargin", "pts1"},
		{"e1_depth", "ClaimsEOneDepth", "int"}, {"e3_depth", "ClaimsEThreeDepth", "int"},
		{"recover_x", "ClaimsRecoverX", "int"},
		{"confirm_E1", "ClaimsConfirmEOne", "int"}, {"confirm_E3", "ClaimsConfirmEThree", "int"},
		{"confirm_E4", "ClaimsConfirmEFour", "int"}, {"confirm_E8", "ClaimsConfirmEEight", "int"}, {"confirm_E9", "ClaimsConfirmENine", "int"},
	} {
		bd.b.Num(p.name, OpValue, p.format, bd.rd.param(bd.claims, p.param))
	}
	bd.b.Text("ClaimsRecoverScale", bd.rd.param(bd.claims, "recover_scale"))
	hash, lock := bd.rd.param(bd.claims, "rules_hash"), bd.rd.param(bd.claims, "rules_lock")
	bd.b.Text("RulesHash", hash)
	bd.b.Text("RulesLock", lock)
	bd.b.Fact("RulesFrozen", hash.Str != "" && hash.Str == lock.Str)
	bd.b.Fact("RulesLocked", lock.Str != "")
}

// claimRowIndex finds the row of the claims table with the given claim,
// experiment and statistic (or statistic prefix, when prefix is set).
func (bd *builder) claimRowIndex(claim, exp, stat string, prefix bool) int {
	t := bd.ctable
	for r := 0; r < t.rows(); r++ {
		c, _ := t.cell(r, claims.ColClaim)
		e, _ := t.cell(r, claims.ColExperiment)
		s, _ := t.cell(r, claims.ColStatistic)
		sm, _ := t.cell(r, claims.ColSample)
		if sm.Str == claims.Exploratory && c.Str == claim && e.Str == exp && (s.Str == stat || prefix && strings.HasPrefix(s.Str, stat)) {
			return r
		}
	}
	return -1
}

// claimRow adds the entries of one claims row under prefix: Value, Lo,
// Hi (the interval), Thr (threshold), N (seeds), Level, Verdict and Stat.
func (bd *builder) claimRow(prefix string, r int, format string) {
	t, rd := bd.ctable, &bd.rd
	thr := format // a threshold is shown in its value's units
	if strings.HasPrefix(format, "g") {
		thr = "exact"
	}
	for _, f := range []struct {
		col    string
		name   family
		format string
	}{
		{claims.ColValue, famRowValue, format}, {claims.ColCILow, famRowLo, format}, {claims.ColCIHigh, famRowHi, format},
		{claims.ColThreshold, famRowThr, thr}, {claims.ColN, famRowN, "int"},
	} {
		bd.b.Num(f.name.of(prefix), OpValue, f.format, rd.cell(t, r, f.col))
	}
	bd.b.Text(famRowVerdict.of(prefix), rd.cell(t, r, claims.ColVerdict))
	bd.b.Text(famRowStat.of(prefix), rd.cell(t, r, claims.ColStatistic))
	bd.b.Text(famRowExp.of(prefix), rd.cell(t, r, claims.ColExperiment))
	bd.b.Text(famRowClaim.of(prefix), rd.cell(t, r, claims.ColClaim))
	bd.b.Text(famRowSample.of(prefix), rd.cell(t, r, claims.ColSample))
	need := rd.cell(t, r, claims.ColNeeded)
	bd.b.Num(famRowNeeded.of(prefix), OpValue, "int", need)
	bd.b.Fact(famRowDecidable.of(prefix), need.Num >= 0)
}

// namedClaim adds a claims row under a name if the row exists.
func (bd *builder) namedClaim(name, claim, exp, stat, format string, prefix bool) {
	if r := bd.claimRowIndex(claim, exp, stat, prefix); r >= 0 {
		bd.claimRow(name, r, format)
	}
}

// claimsTable adds every row of the claims table (list ClaimRow, entries
// ClaimRowA..., the primary flag as text) and the rows the text names.
func (bd *builder) claimsTable() {
	t, rd := bd.ctable, &bd.rd
	needs := map[string]float64{}    // the exploratory overall rows' seeds needed, by claim
	confirmN := map[string]float64{} // the confirmatory overall rows' seeds, by claim
	for r := 0; r < t.rows(); r++ {
		name := famClaimRow.of(letters(r))
		bd.claimRow(name, r, "g3")
		bd.b.Text(famClaimRowPrimary.of(letters(r)), rd.cell(t, r, claims.ColPrimary))
		bd.b.List("ClaimRow", name)
		claim := rd.cell(t, r, claims.ColClaim).Str
		if rd.cell(t, r, claims.ColStatistic).Str == "overall" {
			if n, err := strconv.Atoi(claim); err == nil {
				w := word(n)
				if rd.cell(t, r, claims.ColSample).Str == claims.Confirmatory {
					bd.b.Text(famClaimConfirmVerdict.of(w), rd.cell(t, r, claims.ColVerdict))
					cn := rd.cell(t, r, claims.ColN)
					bd.b.Num(famClaimConfirmN.of(w), OpValue, "int", cn)
					confirmN[claim] = cn.Num
					continue
				}
				bd.b.Text(famClaimVerdict.of(w), rd.cell(t, r, claims.ColVerdict))
				bd.b.Text(famClaimExps.of(w), rd.cell(t, r, claims.ColExperiment))
				need := rd.cell(t, r, claims.ColNeeded)
				bd.b.Num(famClaimNeeded.of(w), OpValue, "int", need)
				bd.b.Fact(famClaimDecidable.of(w), need.Num >= 0)
				needs[claim] = need.Num
			}
		}
	}
	for _, claim := range slices.Sorted(maps.Keys(needs)) {
		need := needs[claim]
		if n, err := strconv.Atoi(claim); err == nil {
			cn, ok := confirmN[claim]
			bd.b.Fact(famClaimShort.of(word(n)), ok && (need < 0 || need > cn))
		}
	}
	L1, L3 := bd.e1Depth, bd.e3Depth
	bd.namedClaim("JointErrEOne", "1", "E1", fmt.Sprintf("joint_test_err[L=%d]", L1), "g2", false)
	bd.namedClaim("JointErrEThree", "1", "E3", fmt.Sprintf("joint_test_err[L=%d]", L3), "g2", false)
	bd.namedClaim("BfcEOne", "2", "E1", fmt.Sprintf("eps2_joint/lower-only[L=%d]", L1), "g2", false)
	bd.namedClaim("BfcSwitchEOne", "2", "E1", fmt.Sprintf("eps2_final/switch_joint[L=%d]", L1), "g2", false)
	bd.namedClaim("FlatEOne", "2", "E1", fmt.Sprintf("eps2_final/switch_layerwise[L=%d]", L1), "g3", false)
	bd.namedClaim("WorseEOne", "3", "E1", fmt.Sprintf("test_err_layerwise/joint[L=%d]", L1), "g2", false)
	bd.namedClaim("WorseEThree", "3", "E3", fmt.Sprintf("test_err_layerwise/joint[L=%d]", L3), "g2", false)
	bd.namedClaim("GrowthDepth", "3", "E1+E3", fmt.Sprintf("ratio_growth_L%d/L%d", L3, L1), "g2", false)
	bd.namedClaim("GrowthGap", "3", "E4", "ratio_growth_gamma", "g2", true)
	bd.namedClaim("ShareEThree", "5", "E3", fmt.Sprintf("log_err_share_recovered[x=1,L=%d]", L3), "pct0", false)
	bd.namedClaim("ShareLinEThree", "5", "E3", fmt.Sprintf("err_share_recovered[x=1,L=%d]", L3), "pct0", false)
	// claim 5's primary rows: the scale and x the rules declare
	share := "err_share_recovered"
	if rd.param(bd.claims, "recover_scale").Str == claims.ScaleLog {
		share = "log_" + share
	}
	x := int(rd.param(bd.claims, "recover_x").Num)
	bd.namedClaim("ShareDecidingEThree", "5", "E3", fmt.Sprintf("%s[x=%d,L=%d]", share, x, L3), "pct0", false)
	bd.namedClaim("ShareDecidingEEight", "5", "E8", fmt.Sprintf("%s[x=%d,", share, x), "pct0", true)
}

// valueOf is an entry's value (NaN if absent).
func (bd *builder) valueOf(name string) float64 {
	if e, ok := bd.b.Get(name); ok {
		return e.Value
	}
	return math.NaN()
}

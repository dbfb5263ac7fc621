package claims

import (
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/classify"
	"github.com/bfc-repro/bfc/stages/kinds/nstarfit"
	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
)

// The output table of a "claims" stage, declared once: one row per
// (claim, sample, statistic), see Row. Version 2 added the sample
// (exploratory or confirmatory seeds) and the seeds a row needs.
const (
	Version = 2

	TableClaims = "claims"

	ColClaim      = "claim"
	ColSample     = "sample"
	ColExperiment = "experiment"
	ColStatistic  = "statistic"
	ColVerdict    = "verdict"
	ColValue      = "value"
	ColCILow      = "ci_low"
	ColCIHigh     = "ci_high"
	ColLevel      = "level"
	ColThreshold  = "threshold"
	ColN          = "n"
	ColPrimary    = "primary"
	ColNeeded     = "seeds_needed"
	ColRule       = "rule"
	ColDetail     = "detail"
)

// Desc is the schema of the claims table.
var Desc = kit.TableDesc{Kind: "claims", Version: Version, Name: TableClaims, Columns: []kit.ColumnDesc{
	kit.StringCol(ColClaim), kit.StringCol(ColSample), kit.StringCol(ColExperiment), kit.StringCol(ColStatistic), kit.StringCol(ColVerdict),
	kit.FloatCol(ColValue), kit.FloatCol(ColCILow), kit.FloatCol(ColCIHigh), kit.FloatCol(ColLevel), kit.FloatCol(ColThreshold),
	kit.IntCol(ColN), kit.BoolCol(ColPrimary), kit.IntCol(ColNeeded), kit.StringCol(ColRule), kit.StringCol(ColDetail)}}

// Produces implements kit.Producer.
func (Kind) Produces(kit.Params) []kit.TableDesc { return []kit.TableDesc{Desc} }

// Consumes implements kit.Consumer: the summaries of train and classify
// runs and the tables of scaling and nstarfit stages, each optional (an absent kind
// gives no rows).
func (Kind) Consumes(kit.Params) []kit.TableNeed {
	needs := append([]kit.TableNeed{train.SummaryDesc(2).Of(train.ColSchedule, train.ColL, train.ColTestRelErr),
		classify.SummaryDesc.Of(classify.ColSchedule, classify.ColL, classify.ColTestAcc)}, scaling.Needs()...)
	needs = append(needs, nstarfit.FitsDesc.Need())
	for i := range needs {
		needs[i].Optional = true
	}
	return needs
}

// claimsTable is the output "claims".
func claimsTable(rows []Row) (arrow.Record, error) {
	var claim, sample, exp, stat, verdict, rule, detail []string
	var n, need []int
	var prim []bool
	var val, lo, hi, lvl, thr []float64
	for _, r := range rows {
		claim, exp, stat, verdict, rule, detail = append(claim, r.Claim), append(exp, r.Experiment), append(stat, r.Statistic),
			append(verdict, r.Verdict), append(rule, r.Rule), append(detail, r.Detail)
		n, prim, need, sample = append(n, r.N), append(prim, r.Primary), append(need, r.SeedsNeeded), append(sample, r.Sample)
		val, lo, hi, lvl, thr = append(val, r.Value), append(lo, r.Lo), append(hi, r.Hi), append(lvl, r.Level), append(thr, r.Threshold)
	}
	return kit.NewTable().String(ColClaim, claim).String(ColSample, sample).String(ColExperiment, exp).String(ColStatistic, stat).
		String(ColVerdict, verdict).Float64(ColValue, val).Float64(ColCILow, lo).Float64(ColCIHigh, hi).
		Float64(ColLevel, lvl).Float64(ColThreshold, thr).Ints(ColN, n).Bool(ColPrimary, prim).Ints(ColNeeded, need).
		String(ColRule, rule).String(ColDetail, detail).Record()
}

package sweep

import (
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
)

// The output tables of a "sweep" stage, declared once:
//
//	result  one row: the point (method, the target's d, L, k, gap, n and the
//	        samples used), what was fitted, the errors, the chosen ridge or
//	        early-stopping step, and the target's stage key
//	trials  one row per ridge tried (none for networks)
const (
	Version = 1 // of every table below

	TableResult = "result"
	TableTrials = "trials"

	ColMethod         = "method"
	ColD              = "d"
	ColL              = "L"
	ColK              = "k"
	ColGap            = "gap"
	ColN              = "n"
	ColNTrain         = "n_train"
	ColNVal           = "n_val"
	ColNFit           = "n_fit"
	ColNTest          = "n_test"
	ColDegree         = "degree"
	ColNCoef          = "n_coef"
	ColWidth          = "width"
	ColSteps          = "steps"
	ColTestRelErr     = "test_rel_err"
	ColTrainRelErr    = "train_rel_err"
	ColValRelErr      = "val_rel_err"
	ColRidge          = "ridge"
	ColRidgeEffective = "ridge_effective"
	ColRidgeRetries   = "ridge_retries"
	ColRidgeAtEdge    = "ridge_at_edge"
	ColBestStep       = "best_step"
	ColTargetKey      = "target_key"

	ColEffective = "effective"
	ColRetries   = "retries"
	ColValMSE    = "val_mse"
)

// ErrorColumns are the error columns of the result table, the values a
// downstream kind may choose to threshold (scaling's "error").
func ErrorColumns() []string { return []string{ColTestRelErr, ColTrainRelErr, ColValRelErr} }

// ResultDesc and TrialsDesc are the schemas of the tables.
var (
	ResultDesc = kit.TableDesc{Kind: "sweep", Version: Version, Name: TableResult, Columns: []kit.ColumnDesc{
		kit.StringCol(ColMethod), kit.IntCol(ColD), kit.IntCol(ColL), kit.IntCol(ColK), kit.FloatCol(ColGap),
		kit.IntCol(ColN), kit.IntCol(ColNTrain), kit.IntCol(ColNVal), kit.IntCol(ColNFit), kit.IntCol(ColNTest),
		kit.IntCol(ColDegree), kit.IntCol(ColNCoef), kit.IntCol(ColWidth), kit.IntCol(ColSteps),
		kit.FloatCol(ColTestRelErr), kit.FloatCol(ColTrainRelErr), kit.FloatCol(ColValRelErr),
		kit.FloatCol(ColRidge), kit.FloatCol(ColRidgeEffective), kit.IntCol(ColRidgeRetries), kit.BoolCol(ColRidgeAtEdge),
		kit.IntCol(ColBestStep), kit.StringCol(ColTargetKey)}}
	TrialsDesc = kit.TableDesc{Kind: "sweep", Version: Version, Name: TableTrials, Columns: []kit.ColumnDesc{
		kit.FloatCol(ColRidge), kit.FloatCol(ColEffective), kit.IntCol(ColRetries), kit.FloatCol(ColValMSE)}}
)

// Produces implements kit.Producer.
func (Kind) Produces(kit.Params) []kit.TableDesc { return []kit.TableDesc{ResultDesc, TrialsDesc} }

// Consumes implements kit.Consumer: the target, through target.Load.
func (Kind) Consumes(kit.Params) []kit.TableNeed { return target.LoadNeeds() }

// resultTable is the one-row result table.
func (pt *Point) resultTable() (arrow.Record, error) {
	return kit.NewTable().
		String(ColMethod, []string{pt.Method}).
		Ints(ColD, []int{pt.D}).Ints(ColL, []int{pt.L}).Ints(ColK, []int{pt.K}).Float64(ColGap, []float64{pt.Gap}).
		Ints(ColN, []int{pt.N}).Ints(ColNTrain, []int{pt.NTrain}).Ints(ColNVal, []int{pt.NVal}).Ints(ColNFit, []int{pt.NFit}).
		Ints(ColNTest, []int{pt.NTest}).
		Ints(ColDegree, []int{pt.Degree}).Ints(ColNCoef, []int{pt.NCoef}).Ints(ColWidth, []int{pt.Width}).Ints(ColSteps, []int{pt.Steps}).
		Float64(ColTestRelErr, []float64{pt.TestRelErr}).Float64(ColTrainRelErr, []float64{pt.TrainRelErr}).
		Float64(ColValRelErr, []float64{pt.ValRelErr}).
		Float64(ColRidge, []float64{pt.Ridge}).Float64(ColRidgeEffective, []float64{pt.RidgeEffective}).
		Ints(ColRidgeRetries, []int{pt.RidgeRetries}).Bool(ColRidgeAtEdge, []bool{pt.RidgeAtEdge}).
		Ints(ColBestStep, []int{pt.BestStep}).
		String(ColTargetKey, []string{pt.TargetKey}).
		Record()
}

// trialsTable has one row per ridge tried (none for networks).
func (pt *Point) trialsTable() (arrow.Record, error) {
	var r, e, v []float64
	var retries []int
	for _, t := range pt.Trials {
		r, e, v, retries = append(r, t.Ridge), append(e, t.Effective), append(v, t.ValErr), append(retries, t.Retries)
	}
	return kit.NewTable().Float64(ColRidge, r).Float64(ColEffective, e).Ints(ColRetries, retries).Float64(ColValMSE, v).Record()
}

// Points reads the sweep points of result rows: a sweep's result table,
// or a collect table of them (collect.Read with ResultDesc). Trials are
// not part of a result row and stay empty.
func Points(r *kit.Rows) []Point {
	f, i := r.Float64s, r.Ints
	method, key := r.Strings(ColMethod), r.Strings(ColTargetKey)
	d, L, k, gap, n := i(ColD), i(ColL), i(ColK), f(ColGap), i(ColN)
	ntr, nval, nfit, nte := i(ColNTrain), i(ColNVal), i(ColNFit), i(ColNTest)
	deg, coef, width, steps := i(ColDegree), i(ColNCoef), i(ColWidth), i(ColSteps)
	test, trn, val := f(ColTestRelErr), f(ColTrainRelErr), f(ColValRelErr)
	ridge, eff, retries, edge, best := f(ColRidge), f(ColRidgeEffective), i(ColRidgeRetries), r.Bools(ColRidgeAtEdge), i(ColBestStep)
	out := make([]Point, len(method))
	for j := range out {
		out[j] = Point{Method: method[j], D: d[j], L: L[j], K: k[j], Gap: gap[j], N: n[j], NTrain: ntr[j], NVal: nval[j],
			NFit: nfit[j], NTest: nte[j], Degree: deg[j], NCoef: coef[j], Width: width[j], Steps: steps[j],
			TestRelErr: test[j], TrainRelErr: trn[j], ValRelErr: val[j], Ridge: ridge[j], RidgeEffective: eff[j],
			RidgeRetries: retries[j], RidgeAtEdge: edge[j], BestStep: best[j], TargetKey: key[j]}
	}
	return out
}

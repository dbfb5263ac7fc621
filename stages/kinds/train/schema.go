package train

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/learner"
	"github.com/bfc-repro/bfc/stages/lib/optim"
	"github.com/bfc-repro/bfc/stages/lib/staged"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
	"github.com/bfc-repro/bfc/stages/lib/trainer"
)

// The output tables of a "train" stage, declared once (the columns of
// layer l are named by the functions below):
//
// history: one row per epoch (including the epochs inherited from a
// checkpoint): epoch, stage, active, trainable (layer lists such as
// "2,3"), lr (rate of the epoch's last step), train_loss, train_mse,
// test_mse, test_rel_err, grad_norm, clipped_steps, clipped_features,
// clipped_residuals, and eps_<l>, qerr_<l> for l = 2..L.
//
// weights: one row per scalar parameter: block ("K2", "W2", ..., "R2", ...,
// "b"), row, col, value, and the optimiser state of the block: opt_steps,
// opt_m (Adam first moment or SGD velocity), opt_v (Adam second moment).
//
// summary: one row: schedule, x, L, last_stage, epochs, epochs_first,
// n_train_used, m, p, batch, lambda_kw, feature_clip, residual_clip,
// root_seed (hex), target_key, test_rel_err, train_mse, test_rel_err_switch,
// clipped_frac, eps2_ratio, and eps_<l>, qerr_<l>, eps_<l>_switch for l = 2..L.
const (
	Version = 1 // of every table below

	TableHistory = "history"
	TableWeights = "weights"
	TableSummary = "summary"

	ColLR               = "lr"
	ColTrainLoss        = "train_loss"
	ColTrainMSE         = "train_mse"
	ColTestMSE          = "test_mse"
	ColTestRelErr       = "test_rel_err"
	ColGradNorm         = "grad_norm"
	ColClippedSteps     = "clipped_steps"
	ColClippedFeatures  = "clipped_features"
	ColClippedResiduals = "clipped_residuals"

	ColBlock    = "block"
	ColRow      = "row"
	ColCol      = "col"
	ColValue    = "value"
	ColOptSteps = "opt_steps"
	ColOptM     = "opt_m"
	ColOptV     = "opt_v"

	ColSchedule         = "schedule"
	ColX                = "x"
	ColL                = "L"
	ColLastStage        = "last_stage"
	ColEpochs           = "epochs"
	ColEpochsFirst      = "epochs_first"
	ColNTrainUsed       = "n_train_used"
	ColM                = "m"
	ColP                = "p"
	ColBatch            = "batch"
	ColLambdaKW         = "lambda_kw"
	ColFeatureClip      = "feature_clip"
	ColResidualClip     = "residual_clip"
	ColRootSeed         = "root_seed"
	ColTargetKey        = "target_key"
	ColTestRelErrSwitch = "test_rel_err_switch"
	ColClippedFrac      = "clipped_frac"
	ColEps2Ratio        = "eps2_ratio"
)

// ColEps, ColQErr and ColEpsSwitch name the columns of layer l: its
// feature error, its quadratic-form error, and its feature error at the
// switch (summary only).
func ColEps(l int) string       { return fmt.Sprintf("eps_%d", l) }
func ColQErr(l int) string      { return fmt.Sprintf("qerr_%d", l) }
func ColEpsSwitch(l int) string { return fmt.Sprintf("eps_%d_switch", l) }

func desc(name string, cols ...kit.ColumnDesc) kit.TableDesc {
	return kit.TableDesc{Kind: "train", Version: Version, Name: name, Columns: cols}
}

func layerCols(L int, col func(int) string) []kit.ColumnDesc {
	var out []kit.ColumnDesc
	for l := 2; l <= L; l++ {
		out = append(out, kit.FloatCol(col(l)))
	}
	return out
}

// HistoryDesc is the schema of the history of a depth-L run.
func HistoryDesc(L int) kit.TableDesc {
	cols := append(staged.PhaseColumns(), kit.FloatCol(ColLR), kit.FloatCol(ColTrainLoss), kit.FloatCol(ColTrainMSE),
		kit.FloatCol(ColTestMSE), kit.FloatCol(ColTestRelErr), kit.FloatCol(ColGradNorm),
		kit.IntCol(ColClippedSteps), kit.IntCol(ColClippedFeatures), kit.IntCol(ColClippedResiduals))
	cols = append(cols, layerCols(L, ColEps)...)
	return desc(TableHistory, append(cols, layerCols(L, ColQErr)...)...)
}

// WeightsDesc is the schema of the weights table.
var WeightsDesc = desc(TableWeights, kit.StringCol(ColBlock), kit.IntCol(ColRow), kit.IntCol(ColCol), kit.FloatCol(ColValue),
	kit.IntCol(ColOptSteps), kit.FloatCol(ColOptM), kit.FloatCol(ColOptV))

// SummaryDesc is the schema of the summary of a depth-L run.
func SummaryDesc(L int) kit.TableDesc {
	cols := []kit.ColumnDesc{kit.StringCol(ColSchedule), kit.IntCol(ColX), kit.IntCol(ColL), kit.IntCol(ColLastStage),
		kit.IntCol(ColEpochs), kit.IntCol(ColEpochsFirst), kit.IntCol(ColNTrainUsed), kit.IntCol(ColM), kit.IntCol(ColP),
		kit.IntCol(ColBatch), kit.FloatCol(ColLambdaKW), kit.FloatCol(ColFeatureClip), kit.FloatCol(ColResidualClip),
		kit.StringCol(ColRootSeed), kit.StringCol(ColTargetKey), kit.FloatCol(ColTestRelErr), kit.FloatCol(ColTrainMSE),
		kit.FloatCol(ColTestRelErrSwitch), kit.FloatCol(ColClippedFrac), kit.FloatCol(ColEps2Ratio)}
	cols = append(cols, layerCols(L, ColEps)...)
	cols = append(cols, layerCols(L, ColQErr)...)
	return desc(TableSummary, append(cols, layerCols(L, ColEpsSwitch)...)...)
}

// layersIn returns the depth L of a train table: its last eps_<l> column.
func layersIn(rec arrow.Record) int {
	L := 1
	for len(rec.Schema().FieldIndices(ColEps(L+1))) == 1 {
		L++
	}
	return L
}

// ProducesFrom implements kit.InputProducer: the layer columns follow the
// depth of the target input.
func (Kind) ProducesFrom(p kit.Params, ups []kit.Upstream) ([]kit.TableDesc, error) {
	L, err := target.UpstreamDepth(ups)
	if err != nil {
		return nil, err
	}
	return []kit.TableDesc{HistoryDesc(L), WeightsDesc, SummaryDesc(L)}, nil
}

// Consumes implements kit.Consumer: the target's tables (through
// target.Load) and, optionally, a checkpoint's.
func (Kind) Consumes(p kit.Params) []kit.TableNeed {
	needs := target.LoadNeeds()
	for _, n := range []kit.TableNeed{HistoryDesc(2).Of(staged.ColEpoch), WeightsDesc.Need(), SummaryDesc(2).Of(ColRootSeed, ColTargetKey)} {
		n.Optional = true
		needs = append(needs, n)
	}
	return needs
}

func historyTable(h []trainer.Epoch, L int) (arrow.Record, error) {
	phases := make([]staged.Phase, len(h))
	floats := map[string][]float64{}
	ints := map[string][]int{}
	for i, e := range h {
		phases[i] = e.Phase
		for c, v := range map[string]float64{ColLR: e.LR, ColTrainLoss: e.TrainLoss, ColTrainMSE: e.TrainMSE, ColTestMSE: e.TestMSE,
			ColTestRelErr: e.TestRelErr, ColGradNorm: e.GradNorm} {
			floats[c] = append(floats[c], v)
		}
		for c, v := range map[string]int{ColClippedSteps: e.ClippedSteps, ColClippedFeatures: e.ClippedFeatures, ColClippedResiduals: e.ClippedResiduals} {
			ints[c] = append(ints[c], v)
		}
		for l := 2; l <= L; l++ {
			floats[ColEps(l)] = append(floats[ColEps(l)], e.Eps[l])
			floats[ColQErr(l)] = append(floats[ColQErr(l)], e.QErr[l])
		}
	}
	t := staged.WritePhases(phases)
	for _, c := range HistoryDesc(L).Columns[len(staged.PhaseColumns()):] {
		if c.Type == kit.ColInt64 {
			t.Ints(c.Name, ints[c.Name])
		} else {
			t.Float64(c.Name, floats[c.Name])
		}
	}
	return t.Record()
}

// readHistory reads a history table of a depth-L run.
func readHistory(r *kit.Rows, L int) ([]trainer.Epoch, error) {
	phases, err := staged.ReadPhases(r)
	if err != nil {
		return nil, err
	}
	f := func(c string) []float64 { return r.Float64s(c) }
	lr, loss, mse, tmse, rel, gn := f(ColLR), f(ColTrainLoss), f(ColTrainMSE), f(ColTestMSE), f(ColTestRelErr), f(ColGradNorm)
	cs, cf, cr := r.Ints(ColClippedSteps), r.Ints(ColClippedFeatures), r.Ints(ColClippedResiduals)
	eps, qerr := make([][]float64, L+1), make([][]float64, L+1)
	for l := 2; l <= L; l++ {
		eps[l], qerr[l] = f(ColEps(l)), f(ColQErr(l))
	}
	out := make([]trainer.Epoch, len(phases))
	for i, ph := range phases {
		e := trainer.Epoch{Phase: ph, LR: lr[i], TrainLoss: loss[i], TrainMSE: mse[i], TestMSE: tmse[i], TestRelErr: rel[i], GradNorm: gn[i],
			ClippedSteps: cs[i], ClippedFeatures: cf[i], ClippedResiduals: cr[i], Eps: make([]float64, L+1), QErr: make([]float64, L+1)}
		for l := 2; l <= L; l++ {
			e.Eps[l], e.QErr[l] = eps[l][i], qerr[l][i]
		}
		out[i] = e
	}
	return out, nil
}

// ReadHistory reads the history of a train input.
func ReadHistory(in kit.Input) ([]trainer.Epoch, error) {
	var out []trainer.Epoch
	err := readRows(in, HistoryDesc, func(r *kit.Rows, L int) (err error) {
		out, err = readHistory(r, L)
		return err
	})
	return out, err
}

// readRows reads the table of a train input whose schema desc gives for
// its depth (found from the table's columns) and hands it to fn.
func readRows(in kit.Input, desc func(L int) kit.TableDesc, fn func(r *kit.Rows, L int) error) error {
	name := desc(2).Name
	if in.Kind() != "train" {
		return fmt.Errorf("input %s is a %q stage, not a train stage", in.Key(), in.Kind())
	}
	rec, err := in.Read(name)
	if err != nil {
		return fmt.Errorf("train %s: %w", in.Key(), err)
	}
	defer rec.Release()
	L := layersIn(rec)
	r, err := desc(L).Open(rec)
	if err != nil {
		return fmt.Errorf("train %s: %w", in.Key(), err)
	}
	if err := fn(r, L); err != nil {
		return fmt.Errorf("train %s: %s: %w", in.Key(), name, err)
	}
	return nil
}

// weightBlocks lists the parameter arrays of net with their names and shapes.
func weightBlocks(net *learner.Net) (names []string, rows, cols []int, vals [][]float64) {
	c := net.Cfg
	for l := 2; l <= c.L; l++ {
		P := net.InDim(l)
		names = append(names, fmt.Sprintf("K%d", l), fmt.Sprintf("W%d", l))
		rows = append(rows, c.K, c.M)
		cols = append(cols, P, P)
		vals = append(vals, net.K[l], net.W[l])
	}
	for j := 2; j < c.L; j++ {
		names = append(names, fmt.Sprintf("R%d", j))
		rows, cols = append(rows, c.P), append(cols, c.K)
		vals = append(vals, net.R[j])
	}
	names, rows, cols, vals = append(names, "b"), append(rows, 1), append(cols, 1), append(vals, net.B)
	return
}

func weightsTable(net *learner.Net, opt []optim.State) (arrow.Record, error) {
	state := map[string]optim.State{}
	for _, s := range opt {
		state[s.Name] = s
	}
	var block []string
	var row, col, steps []int
	var value, om, ov []float64
	names, _, cols, vals := weightBlocks(net)
	for b, name := range names {
		s := state[name]
		for i, v := range vals[b] {
			block = append(block, name)
			row, col = append(row, i/cols[b]), append(col, i%cols[b])
			value = append(value, v)
			steps = append(steps, s.Steps)
			m, vv := 0.0, 0.0
			if i < len(s.M) {
				m = s.M[i]
			}
			if i < len(s.V) {
				vv = s.V[i]
			}
			om, ov = append(om, m), append(ov, vv)
		}
	}
	return kit.NewTable().String(ColBlock, block).Ints(ColRow, row).Ints(ColCol, col).Float64(ColValue, value).
		Ints(ColOptSteps, steps).Float64(ColOptM, om).Float64(ColOptV, ov).Record()
}

// readWeights fills net (already shaped) and returns the optimiser state of
// the blocks that have one (opt_steps > 0).
func readWeights(r *kit.Rows, net *learner.Net, method optim.Method) ([]optim.State, error) {
	block, row, col, steps := r.Strings(ColBlock), r.Ints(ColRow), r.Ints(ColCol), r.Ints(ColOptSteps)
	value, om, ov := r.Float64s(ColValue), r.Float64s(ColOptM), r.Float64s(ColOptV)
	names, rows, cols, vals := weightBlocks(net)
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	seen := make([]int, len(names))
	states := make([]optim.State, len(names))
	for i, name := range block {
		b, ok := idx[name]
		if !ok {
			return nil, fmt.Errorf("unknown block %q", name)
		}
		r, c := row[i], col[i]
		if r < 0 || r >= rows[b] || c < 0 || c >= cols[b] {
			return nil, fmt.Errorf("%s[%d,%d] outside %dx%d", name, r, c, rows[b], cols[b])
		}
		vals[b][r*cols[b]+c] = value[i]
		seen[b]++
		if steps[i] > 0 {
			s := &states[b]
			if s.M == nil {
				s.Name, s.Steps, s.M = name, steps[i], make([]float64, len(vals[b]))
				if method == optim.Adam {
					s.V = make([]float64, len(vals[b]))
				}
			}
			s.M[r*cols[b]+c] = om[i]
			if s.V != nil {
				s.V[r*cols[b]+c] = ov[i]
			}
		}
	}
	var out []optim.State
	for b, name := range names {
		if seen[b] != len(vals[b]) {
			return nil, fmt.Errorf("block %s has %d of %d entries", name, seen[b], len(vals[b]))
		}
		if states[b].M != nil {
			out = append(out, states[b])
		}
	}
	return out, nil
}

func summaryTable(r *trainer.Result, targetKey string) (arrow.Record, error) {
	s, c := r.Summary, r.Config
	L := r.Data.Net.L
	nUsed := r.Data.Train.N
	if c.NTrainUsed > 0 {
		nUsed = c.NTrainUsed
	}
	t := kit.NewTable().String(ColSchedule, []string{s.Schedule}).Ints(ColX, []int{s.X}).Ints(ColL, []int{L}).
		Ints(ColLastStage, []int{c.LastStage}).Ints(ColEpochs, []int{s.Epochs}).Ints(ColEpochsFirst, []int{c.EpochsFirst}).
		Ints(ColNTrainUsed, []int{nUsed}).Ints(ColM, []int{c.M}).Ints(ColP, []int{c.P}).Ints(ColBatch, []int{c.Batch}).
		Float64(ColLambdaKW, []float64{c.LambdaKW}).Float64(ColFeatureClip, []float64{c.FeatureClip}).
		Float64(ColResidualClip, []float64{c.ResidualClip}).
		String(ColRootSeed, []string{strconv.FormatUint(r.RootSeed, 16)}).String(ColTargetKey, []string{targetKey}).
		Float64(ColTestRelErr, []float64{s.FinalTestRelErr}).Float64(ColTrainMSE, []float64{s.FinalTrainMSE}).
		Float64(ColTestRelErrSwitch, []float64{s.SwitchTestRel}).Float64(ColClippedFrac, []float64{s.ClippedFrac}).
		Float64(ColEps2Ratio, []float64{s.Eps2Ratio})
	for l := 2; l <= L; l++ {
		t.Float64(ColEps(l), []float64{s.Eps[l]})
	}
	for l := 2; l <= L; l++ {
		t.Float64(ColQErr(l), []float64{s.QErr[l]})
	}
	for l := 2; l <= L; l++ {
		t.Float64(ColEpsSwitch(l), []float64{s.EpsSwitch[l]})
	}
	return t.Record()
}

func writeOutputs(env kit.Env, r *trainer.Result, targetKey string) error {
	L := r.Data.Net.L
	err := kit.WriteAll(env,
		kit.Output{Name: TableHistory, Build: func() (arrow.Record, error) { return historyTable(r.History, L) }},
		kit.Output{Name: TableWeights, Build: func() (arrow.Record, error) { return weightsTable(r.Net, r.Opt) }},
		kit.Output{Name: TableSummary, Build: func() (arrow.Record, error) { return summaryTable(r, targetKey) }})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// LoadCheckpoint reads the outputs of an upstream "train" stage trained on
// data (from the target stage with key targetKey; pass "" to skip that
// check) and returns its final state.
func LoadCheckpoint(in kit.Input, data *targetnet.Data, targetKey string) (*trainer.Checkpoint, error) {
	cfg := ConfigOf(in.Params()).Resolve(data.Net)
	ck := &trainer.Checkpoint{Config: cfg}
	err := readRows(in, SummaryDesc, func(r *kit.Rows, _ int) error {
		if err := r.One(); err != nil {
			return err
		}
		if key := r.Strings(ColTargetKey)[0]; targetKey != "" && key != targetKey {
			return fmt.Errorf("trained on target %s, this stage's target is %s", key, targetKey)
		}
		var err error
		ck.RootSeed, err = strconv.ParseUint(r.Strings(ColRootSeed)[0], 16, 64)
		return err
	})
	if err != nil {
		return nil, err
	}
	if ck.Net, err = learner.Zero(cfg.LearnerConfig(data.Net)); err != nil {
		return nil, err
	}
	w, err := WeightsDesc.Read(in)
	if err != nil {
		return nil, err
	}
	defer w.Release()
	if ck.Opt, err = readWeights(w, ck.Net, optim.Method(cfg.Optimizer)); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if ck.History, err = ReadHistory(in); err != nil {
		return nil, err
	}
	if len(ck.History) > 0 && len(ck.History[0].Eps)-1 != data.Net.L {
		return nil, fmt.Errorf("history of depth %d, the target has L = %d", len(ck.History[0].Eps)-1, data.Net.L)
	}
	return ck, nil
}

// OpenSummary reads the summary of a train input against its schema, for
// readers that take cells with their provenance (the report). The caller
// must Release it.
func OpenSummary(in kit.Input) (*kit.Rows, error) { return openRows(in, SummaryDesc) }

// OpenHistory reads the history of a train input likewise.
func OpenHistory(in kit.Input) (*kit.Rows, error) { return openRows(in, HistoryDesc) }

func openRows(in kit.Input, desc func(L int) kit.TableDesc) (*kit.Rows, error) {
	var out *kit.Rows
	err := readRows(in, desc, func(r *kit.Rows, _ int) error {
		r.Rec.Retain()
		out = r
		return nil
	})
	return out, err
}

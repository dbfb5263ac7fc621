package classify

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/fmnist"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/optim"
	"github.com/bfc-repro/bfc/stages/lib/schedule"
	"github.com/bfc-repro/bfc/stages/lib/staged"
)

// The output tables of a "classify" stage, declared once (see the package
// doc for what each column holds).
const (
	Version = 1 // of every table below

	TableHistory    = "history"
	TableSummary    = "summary"
	TableFirstLayer = "first_layer"
	TableWeights    = "weights"

	ColLR           = "lr"
	ColTrainLoss    = "train_loss"
	ColTrainAcc     = "train_acc"
	ColTestLoss     = "test_loss"
	ColTestAcc      = "test_acc"
	ColGradNorm     = "grad_norm"
	ColK1Drift      = "k1_drift"
	ColClippedSteps = "clipped_steps"

	ColSchedule       = "schedule"
	ColX              = "x"
	ColL              = "L"
	ColLastStage      = "last_stage"
	ColWidth          = "width"
	ColActivation     = "activation"
	ColEpochs         = "epochs"
	ColEpochsFirst    = "epochs_first"
	ColEpochsPerStage = "epochs_per_stage"
	ColNTrain         = "n_train"
	ColNTest          = "n_test"
	ColParams         = "params"
	ColTestAccStage1  = "test_acc_stage1"
	ColRootSeed       = "root_seed"
	ColDataKey        = "data_key"

	ColUnit  = "unit"
	ColW     = "w"
	ColWInit = "w_init"
	ColBias  = "bias"
	ColRows  = "rows"
	ColCols  = "cols"

	ColBlock    = "block"
	ColLayer    = "layer"
	ColOptSteps = "opt_steps"
	ColOptM     = "opt_m"
	ColOptV     = "opt_v"
)

func desc(name string, cols ...kit.ColumnDesc) kit.TableDesc {
	return kit.TableDesc{Kind: "classify", Version: Version, Name: name, Columns: cols}
}

// The schemas of the tables.
var (
	HistoryDesc = desc(TableHistory, append(staged.PhaseColumns(), kit.FloatCol(ColLR), kit.FloatCol(ColTrainLoss),
		kit.FloatCol(ColTrainAcc), kit.FloatCol(ColTestLoss), kit.FloatCol(ColTestAcc), kit.FloatCol(ColGradNorm),
		kit.FloatCol(ColK1Drift), kit.IntCol(ColClippedSteps))...)
	SummaryDesc = desc(TableSummary, kit.StringCol(ColSchedule), kit.IntCol(ColX), kit.IntCol(ColL), kit.IntCol(ColLastStage),
		kit.IntCol(ColWidth), kit.StringCol(ColActivation), kit.IntCol(ColEpochs), kit.IntCol(ColEpochsFirst),
		kit.IntCol(ColEpochsPerStage), kit.IntCol(ColNTrain), kit.IntCol(ColNTest), kit.IntCol(ColParams),
		kit.FloatCol(ColTestAcc), kit.FloatCol(ColTestLoss), kit.FloatCol(ColTrainAcc), kit.FloatCol(ColTrainLoss),
		kit.FloatCol(ColTestAccStage1), kit.FloatCol(ColK1Drift), kit.StringCol(ColRootSeed), kit.StringCol(ColDataKey))
	FirstLayerDesc = desc(TableFirstLayer, kit.IntCol(ColUnit), kit.MatrixCol(ColW), kit.MatrixCol(ColWInit),
		kit.FloatCol(ColBias), kit.IntCol(ColRows), kit.IntCol(ColCols))
	WeightsDesc = desc(TableWeights, kit.StringCol(ColBlock), kit.IntCol(ColLayer), kit.IntCol(ColRows), kit.IntCol(ColCols),
		kit.BinaryCol(ColW), kit.IntCol(ColOptSteps), kit.BinaryCol(ColOptM), kit.BinaryCol(ColOptV))
)

// Produces implements kit.Producer.
func (Kind) Produces(kit.Params) []kit.TableDesc {
	return []kit.TableDesc{HistoryDesc, SummaryDesc, FirstLayerDesc, WeightsDesc}
}

// Consumes implements kit.Consumer: the images of an fmnist stage and,
// optionally, a checkpoint.
func (Kind) Consumes(kit.Params) []kit.TableNeed {
	needs := fmnist.LoadNeeds()
	for _, n := range []kit.TableNeed{HistoryDesc.Need(), WeightsDesc.Need(), SummaryDesc.Of(ColRootSeed, ColDataKey)} {
		n.Optional = true
		needs = append(needs, n)
	}
	return needs
}

// k1Stage1Block names the weights row holding K_1 after stage 1.
const k1Stage1Block = "K1@stage1"

// floatBytes encodes v as little-endian float64s (numpy dtype '<f8').
func floatBytes(v []float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

func bytesFloats(b []byte) ([]float64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%d bytes are not a whole number of float64s", len(b))
	}
	v := make([]float64, len(b)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v, nil
}

func historyTable(h []Epoch) (arrow.Record, error) {
	n := len(h)
	phases, clipped := make([]staged.Phase, n), make([]int, n)
	f := map[string][]float64{}
	for i, e := range h {
		phases[i], clipped[i] = e.Phase, e.ClippedSteps
		for c, v := range map[string]float64{ColLR: e.LR, ColTrainLoss: e.TrainLoss, ColTrainAcc: e.TrainAcc,
			ColTestLoss: e.TestLoss, ColTestAcc: e.TestAcc, ColGradNorm: e.GradNorm, ColK1Drift: e.K1Drift} {
			f[c] = append(f[c], v)
		}
	}
	t := staged.WritePhases(phases)
	for _, c := range HistoryDesc.Columns[len(staged.PhaseColumns()):] {
		if c.Type == kit.ColFloat64 {
			t.Float64(c.Name, f[c.Name])
		}
	}
	return t.Ints(ColClippedSteps, clipped).Record()
}

func readHistory(r *kit.Rows) ([]Epoch, error) {
	phases, err := staged.ReadPhases(r)
	if err != nil {
		return nil, err
	}
	f := r.Float64s
	lr, tl, ta, vl, va, gn, k1 := f(ColLR), f(ColTrainLoss), f(ColTrainAcc), f(ColTestLoss), f(ColTestAcc), f(ColGradNorm), f(ColK1Drift)
	clipped := r.Ints(ColClippedSteps)
	out := make([]Epoch, len(phases))
	for i, ph := range phases {
		out[i] = Epoch{Phase: ph, ClippedSteps: clipped[i], LR: lr[i], TrainLoss: tl[i], TrainAcc: ta[i],
			TestLoss: vl[i], TestAcc: va[i], GradNorm: gn[i], K1Drift: k1[i]}
	}
	return out, nil
}

// weightsTable stores every parameter block with its optimiser state:
// block, layer, rows, cols, w, opt_steps, opt_m, opt_v (the float arrays
// as little-endian float64 bytes, row-major), plus K_1 after stage 1 once
// it exists (block "K1@stage1", layer 1, no optimiser state).
func weightsTable(n *Net, opt []optim.State, k1 []float64) (arrow.Record, error) {
	state := map[string]optim.State{}
	for _, s := range opt {
		state[s.Name] = s
	}
	var names []string
	var layer, rows, cols, steps []int
	var w, m, v [][]byte
	for _, p := range n.Params() {
		s := state[p.Name]
		names, layer, rows, cols = append(names, p.Name), append(layer, p.Layer), append(rows, p.Rows), append(cols, p.Cols)
		w, steps, m, v = append(w, floatBytes(p.W)), append(steps, s.Steps), append(m, floatBytes(s.M)), append(v, floatBytes(s.V))
	}
	if k1 != nil {
		names, layer, rows, cols = append(names, k1Stage1Block), append(layer, 1), append(rows, n.M), append(cols, n.D)
		w, steps, m, v = append(w, floatBytes(k1)), append(steps, 0), append(m, []byte{}), append(v, []byte{})
	}
	return kit.NewTable().String(ColBlock, names).Ints(ColLayer, layer).Ints(ColRows, rows).Ints(ColCols, cols).
		Binary(ColW, w).Ints(ColOptSteps, steps).Binary(ColOptM, m).Binary(ColOptV, v).Record()
}

// readWeights restores a network of shape s, its optimiser state and the
// stage-1 snapshot of K_1 from a weights table.
func readWeights(r *kit.Rows, s Shape) (*Net, []optim.State, []float64, error) {
	names, steps := r.Strings(ColBlock), r.Int64s(ColOptSteps)
	cols := map[string][][]byte{}
	for _, c := range []string{ColW, ColOptM, ColOptV} {
		cols[c] = must(kit.ReadBinaries(r.Rec, c))
	}
	net := &Net{Shape: s}
	net.K, net.B, net.A, net.A0 = make([][]float64, s.L+1), make([][]float64, s.L+1), make([][]float64, s.L+1), make([][]float64, s.L+1)
	for l := 1; l <= s.L; l++ {
		net.K[l], net.B[l], net.A[l], net.A0[l] = make([]float64, s.M*s.In(l)), make([]float64, s.M), make([]float64, s.C*s.M), make([]float64, s.C)
	}
	want := map[string][]float64{}
	for _, p := range net.Params() {
		want[p.Name] = p.W
	}
	var opt []optim.State
	var k1 []float64
	for i, name := range names {
		w, err := bytesFloats(cols[ColW][i])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("block %s: %w", name, err)
		}
		if name == k1Stage1Block {
			if len(w) != s.M*s.D {
				return nil, nil, nil, fmt.Errorf("block %s has %d values, want %d", name, len(w), s.M*s.D)
			}
			k1 = w
			continue
		}
		dst, ok := want[name]
		if !ok || len(dst) != len(w) {
			return nil, nil, nil, fmt.Errorf("block %s with %d values does not fit the network (%d blocks of width %d on %d inputs)", name, len(w), s.L, s.M, s.D)
		}
		copy(dst, w)
		delete(want, name)
		if steps[i] > 0 {
			st := optim.State{Name: name, Steps: int(steps[i])}
			if st.M, err = bytesFloats(cols[ColOptM][i]); err != nil {
				return nil, nil, nil, fmt.Errorf("block %s: optimiser state: %w", name, err)
			}
			if st.V, err = bytesFloats(cols[ColOptV][i]); err != nil {
				return nil, nil, nil, fmt.Errorf("block %s: optimiser state: %w", name, err)
			}
			if len(st.V) == 0 {
				st.V = nil
			}
			opt = append(opt, st)
		}
	}
	if len(want) > 0 {
		return nil, nil, nil, fmt.Errorf("%d parameter blocks missing", len(want))
	}
	return net, opt, k1, nil
}

// firstLayerTable holds the first block's weights, one row per unit: unit,
// w (a matrix row of D values, the unit's weights on the pixels, which
// reshape to rows x cols images), w_init (the same at initialisation, so
// that w - w_init shows what training added), bias, rows, cols.
func firstLayerTable(n *Net, init []float64, imgRows, imgCols int) (arrow.Record, error) {
	unit, r, c := make([]int, n.M), make([]int, n.M), make([]int, n.M)
	for i := range unit {
		unit[i], r[i], c[i] = i, imgRows, imgCols
	}
	return kit.NewTable().Ints(ColUnit, unit).Matrix(ColW, n.M, n.D, n.K[1]).Matrix(ColWInit, n.M, n.D, init).
		Float64(ColBias, n.B[1]).Ints(ColRows, r).Ints(ColCols, c).Record()
}

// summaryTable is one row of headline numbers (see the package doc).
func summaryTable(res *Result, nTrain, nTest int) (arrow.Record, error) {
	cfg := res.Config
	h := res.History
	last := h[len(h)-1]
	stage1 := math.NaN()
	if len(h) >= cfg.EpochsFirst {
		stage1 = h[cfg.EpochsFirst-1].TestAcc
	}
	params := 0
	for _, p := range res.Net.Params() {
		params += len(p.W)
	}
	one := func(v int) []int { return []int{v} }
	fl := func(v float64) []float64 { return []float64{v} }
	str := func(v string) []string { return []string{v} }
	return kit.NewTable().String(ColSchedule, str(cfg.Schedule)).Ints(ColX, one(cfg.X)).Ints(ColL, one(cfg.L)).
		Ints(ColLastStage, one(cfg.LastStage)).Ints(ColWidth, one(cfg.Width)).String(ColActivation, str(cfg.Activation)).
		Ints(ColEpochs, one(len(h))).Ints(ColEpochsFirst, one(cfg.EpochsFirst)).Ints(ColEpochsPerStage, one(cfg.EpochsPerStage)).
		Ints(ColNTrain, one(nTrain)).Ints(ColNTest, one(nTest)).Ints(ColParams, one(params)).
		Float64(ColTestAcc, fl(last.TestAcc)).Float64(ColTestLoss, fl(last.TestLoss)).
		Float64(ColTrainAcc, fl(last.TrainAcc)).Float64(ColTrainLoss, fl(last.TrainLoss)).
		Float64(ColTestAccStage1, fl(stage1)).Float64(ColK1Drift, fl(last.K1Drift)).
		String(ColRootSeed, str(strconv.FormatUint(res.RootSeed, 16))).String(ColDataKey, str(res.DataKey)).Record()
}

// must turns an error reading a column the schema declares (a null, which
// no stage writes) into a panic.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("classify: %v", err))
	}
	return v
}

func writeOutputs(env kit.Env, res *Result, data *fmnist.Data) error {
	err := kit.WriteAll(env,
		kit.Output{Name: TableHistory, Build: func() (arrow.Record, error) { return historyTable(res.History) }},
		kit.Output{Name: TableSummary, Build: func() (arrow.Record, error) { return summaryTable(res, data.Train.N, data.Test.N) }},
		kit.Output{Name: TableFirstLayer, Build: func() (arrow.Record, error) {
			init, err := K1Init(res.Net.Shape, res.RootSeed)
			if err != nil {
				return nil, err
			}
			return firstLayerTable(res.Net, init, data.Rows, data.Cols)
		}},
		kit.Output{Name: TableWeights, Build: func() (arrow.Record, error) { return weightsTable(res.Net, res.Opt, res.K1Stage1) }})
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	return nil
}

// LoadCheckpoint reads the outputs of an upstream "classify" stage as a
// checkpoint for data with d features.
func LoadCheckpoint(in kit.Input, d int) (*Checkpoint, error) {
	cfg := ConfigOf(in.Params()).resolved()
	ck := &Checkpoint{Config: cfg}
	err := SummaryDesc.Use(in, func(r *kit.Rows) error {
		if err := r.One(); err != nil {
			return err
		}
		var err error
		if ck.RootSeed, err = strconv.ParseUint(r.Strings(ColRootSeed)[0], 16, 64); err != nil {
			return fmt.Errorf("root_seed: %w", err)
		}
		ck.DataKey = r.Strings(ColDataKey)[0]
		return nil
	})
	if err == nil {
		err = HistoryDesc.Use(in, func(r *kit.Rows) (err error) {
			ck.History, err = readHistory(r)
			return err
		})
	}
	if err == nil {
		shape := Shape{D: d, M: cfg.Width, C: fmnist.Classes, L: cfg.L, Act: cfg.Activation, ActClip: cfg.ActClip}
		err = WeightsDesc.Use(in, func(r *kit.Rows) (err error) {
			ck.Net, ck.Opt, ck.K1Stage1, err = readWeights(r, shape)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return ck, nil
}

// Run is what the claims table, the figures and the report need of one
// "classify" stage point.
type Run struct {
	Input    kit.Input
	Schedule string
	L        int
	// X is the depth of the correction: blocks below the newest that
	// keep training (layerwise 0, joint L-1, bfc-x min(x, L-1); -1 for
	// lower-only and end2end).
	X     int
	Final bool   // false for a checkpoint (last_stage < L)
	Seed  string // the "seed" label, else the stage seed
	// TestAcc, TestAccStage1 and K1Drift are the summary's final test
	// accuracy, that after stage 1, and the first layer's final drift.
	TestAcc, TestAccStage1, K1Drift float64
	NTrain, Epochs                  int
}

// Config is the run's configuration as its parameters give it.
func (r Run) Config() Config { return ConfigOf(r.Input.Params()) }

// Runs reads the summary of every "classify" input among ins, in input
// order.
func Runs(ins []kit.Input) ([]Run, error) {
	var out []Run
	for _, in := range ins {
		if in.Kind() != "classify" {
			continue
		}
		r := Run{Input: in, Seed: in.Labels()["seed"]}
		if r.Seed == "" {
			r.Seed = strconv.FormatInt(in.Seed(), 10)
		}
		err := SummaryDesc.Use(in, func(t *kit.Rows) error {
			if err := t.One(); err != nil {
				return err
			}
			r.Schedule, r.L = t.Strings(ColSchedule)[0], t.Ints(ColL)[0]
			r.X = schedule.Correction(r.Schedule, t.Ints(ColX)[0], 1, r.L)
			last := t.Ints(ColLastStage)[0]
			r.Final = last == 0 || last >= r.L
			r.TestAcc, r.TestAccStage1, r.K1Drift = t.Float64s(ColTestAcc)[0], t.Float64s(ColTestAccStage1)[0], t.Float64s(ColK1Drift)[0]
			r.NTrain, r.Epochs = t.Ints(ColNTrain)[0], t.Ints(ColEpochs)[0]
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// FirstLayer is the first_layer table of a classify stage: the first
// block's weights, one row of Rows x Cols pixel weights per unit.
type FirstLayer struct {
	W, WInit   []float64 // units x (Rows*Cols), row-major
	Rows, Cols int
}

// ReadFirstLayer reads the first_layer table of a classify input.
func ReadFirstLayer(in kit.Input) (*FirstLayer, error) {
	var fl *FirstLayer
	err := FirstLayerDesc.Use(in, func(r *kit.Rows) error {
		w, d := r.Matrix(ColW)
		w0, _ := r.Matrix(ColWInit)
		rows, cols := r.Ints(ColRows), r.Ints(ColCols)
		if len(rows) == 0 || rows[0]*cols[0] != d {
			return fmt.Errorf("image shape missing or not %d pixels", d)
		}
		fl = &FirstLayer{W: w, WInit: w0, Rows: rows[0], Cols: cols[0]}
		return nil
	})
	return fl, err
}

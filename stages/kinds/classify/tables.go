package classify

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/bfc-repro/bfc/stages/lib/schedule"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/optim"
)

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
	epoch, stage, clipped := make([]int, n), make([]int, n), make([]int, n)
	active, trainable := make([]string, n), make([]string, n)
	f := map[string][]float64{}
	cols := []string{"lr", "train_loss", "train_acc", "test_loss", "test_acc", "grad_norm", "k1_drift"}
	for _, c := range cols {
		f[c] = make([]float64, n)
	}
	for i, e := range h {
		epoch[i], stage[i], clipped[i] = e.Epoch, e.Stage, e.ClippedSteps
		active[i], trainable[i] = schedule.FormatLayers(e.Active), schedule.FormatLayers(e.Trainable)
		for c, v := range map[string]float64{"lr": e.LR, "train_loss": e.TrainLoss, "train_acc": e.TrainAcc,
			"test_loss": e.TestLoss, "test_acc": e.TestAcc, "grad_norm": e.GradNorm, "k1_drift": e.K1Drift} {
			f[c][i] = v
		}
	}
	t := kit.NewTable().Ints("epoch", epoch).Ints("stage", stage).String("active", active).String("trainable", trainable)
	for _, c := range cols {
		t.Float64(c, f[c])
	}
	return t.Ints("clipped_steps", clipped).Record()
}

func readHistory(rec arrow.Record) ([]Epoch, error) {
	ints := map[string][]int64{}
	floats := map[string][]float64{}
	var err error
	for _, c := range []string{"epoch", "stage", "clipped_steps"} {
		if ints[c], err = kit.ReadInt64s(rec, c); err != nil {
			return nil, err
		}
	}
	for _, c := range []string{"lr", "train_loss", "train_acc", "test_loss", "test_acc", "grad_norm", "k1_drift"} {
		if floats[c], err = kit.ReadFloat64s(rec, c); err != nil {
			return nil, err
		}
	}
	active, err := kit.ReadStrings(rec, "active")
	if err != nil {
		return nil, err
	}
	trainable, err := kit.ReadStrings(rec, "trainable")
	if err != nil {
		return nil, err
	}
	out := make([]Epoch, rec.NumRows())
	for i := range out {
		e := Epoch{Epoch: int(ints["epoch"][i]), Stage: int(ints["stage"][i]), ClippedSteps: int(ints["clipped_steps"][i]),
			LR: floats["lr"][i], TrainLoss: floats["train_loss"][i], TrainAcc: floats["train_acc"][i],
			TestLoss: floats["test_loss"][i], TestAcc: floats["test_acc"][i], GradNorm: floats["grad_norm"][i], K1Drift: floats["k1_drift"][i]}
		if e.Active, err = schedule.ParseLayers(active[i]); err != nil {
			return nil, err
		}
		if trainable[i] != "" {
			if e.Trainable, err = schedule.ParseLayers(trainable[i]); err != nil {
				return nil, err
			}
		}
		out[i] = e
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
	return kit.NewTable().String("block", names).Ints("layer", layer).Ints("rows", rows).Ints("cols", cols).
		Binary("w", w).Ints("opt_steps", steps).Binary("opt_m", m).Binary("opt_v", v).Record()
}

// readWeights restores a network of shape s, its optimiser state and the
// stage-1 snapshot of K_1 from a weights table.
func readWeights(rec arrow.Record, s Shape) (*Net, []optim.State, []float64, error) {
	names, err := kit.ReadStrings(rec, "block")
	if err != nil {
		return nil, nil, nil, err
	}
	steps, err := kit.ReadInt64s(rec, "opt_steps")
	if err != nil {
		return nil, nil, nil, err
	}
	cols := map[string][][]byte{}
	for _, c := range []string{"w", "opt_m", "opt_v"} {
		if cols[c], err = kit.ReadBinaries(rec, c); err != nil {
			return nil, nil, nil, err
		}
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
		w, err := bytesFloats(cols["w"][i])
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
			if st.M, err = bytesFloats(cols["opt_m"][i]); err != nil {
				return nil, nil, nil, fmt.Errorf("block %s: optimiser state: %w", name, err)
			}
			if st.V, err = bytesFloats(cols["opt_v"][i]); err != nil {
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
	return kit.NewTable().Ints("unit", unit).Matrix("w", n.M, n.D, n.K[1]).Matrix("w_init", n.M, n.D, init).
		Float64("bias", n.B[1]).Ints("rows", r).Ints("cols", c).Record()
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
	return kit.NewTable().String("schedule", str(cfg.Schedule)).Ints("x", one(cfg.X)).Ints("L", one(cfg.L)).
		Ints("last_stage", one(cfg.LastStage)).Ints("width", one(cfg.Width)).String("activation", str(cfg.Activation)).
		Ints("epochs", one(len(h))).Ints("epochs_first", one(cfg.EpochsFirst)).Ints("epochs_per_stage", one(cfg.EpochsPerStage)).
		Ints("n_train", one(nTrain)).Ints("n_test", one(nTest)).Ints("params", one(params)).
		Float64("test_acc", fl(last.TestAcc)).Float64("test_loss", fl(last.TestLoss)).
		Float64("train_acc", fl(last.TrainAcc)).Float64("train_loss", fl(last.TrainLoss)).
		Float64("test_acc_stage1", fl(stage1)).Float64("k1_drift", fl(last.K1Drift)).
		String("root_seed", str(strconv.FormatUint(res.RootSeed, 16))).String("data_key", str(res.DataKey)).Record()
}

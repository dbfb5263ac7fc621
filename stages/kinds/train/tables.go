package train

import (
	"fmt"
	"strconv"

	"github.com/bfc-repro/bfc/stages/lib/schedule"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
	"github.com/bfc-repro/bfc/stages/lib/trainer"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/learner"
	"github.com/bfc-repro/bfc/stages/lib/optim"
)

// The output tables of a "train" stage.
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

func historyTable(h []trainer.Epoch, L int) (arrow.Record, error) {
	ints := map[string][]int{}
	floats := map[string][]float64{}
	var active, trainable []string
	for _, e := range h {
		ints["epoch"] = append(ints["epoch"], e.Epoch)
		ints["stage"] = append(ints["stage"], e.Stage)
		active = append(active, schedule.FormatLayers(e.Active))
		trainable = append(trainable, schedule.FormatLayers(e.Trainable))
		floats["lr"] = append(floats["lr"], e.LR)
		floats["train_loss"] = append(floats["train_loss"], e.TrainLoss)
		floats["train_mse"] = append(floats["train_mse"], e.TrainMSE)
		floats["test_mse"] = append(floats["test_mse"], e.TestMSE)
		floats["test_rel_err"] = append(floats["test_rel_err"], e.TestRelErr)
		floats["grad_norm"] = append(floats["grad_norm"], e.GradNorm)
		ints["clipped_steps"] = append(ints["clipped_steps"], e.ClippedSteps)
		ints["clipped_features"] = append(ints["clipped_features"], e.ClippedFeatures)
		ints["clipped_residuals"] = append(ints["clipped_residuals"], e.ClippedResiduals)
		for l := 2; l <= L; l++ {
			floats[fmt.Sprintf("eps_%d", l)] = append(floats[fmt.Sprintf("eps_%d", l)], e.Eps[l])
			floats[fmt.Sprintf("qerr_%d", l)] = append(floats[fmt.Sprintf("qerr_%d", l)], e.QErr[l])
		}
	}
	t := kit.NewTable().Ints("epoch", ints["epoch"]).Ints("stage", ints["stage"]).
		String("active", active).String("trainable", trainable)
	for _, c := range []string{"lr", "train_loss", "train_mse", "test_mse", "test_rel_err", "grad_norm"} {
		t.Float64(c, floats[c])
	}
	for _, c := range []string{"clipped_steps", "clipped_features", "clipped_residuals"} {
		t.Ints(c, ints[c])
	}
	for l := 2; l <= L; l++ {
		t.Float64(fmt.Sprintf("eps_%d", l), floats[fmt.Sprintf("eps_%d", l)])
	}
	for l := 2; l <= L; l++ {
		t.Float64(fmt.Sprintf("qerr_%d", l), floats[fmt.Sprintf("qerr_%d", l)])
	}
	return t.Record()
}

func readHistory(rec arrow.Record, L int) ([]trainer.Epoch, error) {
	ints := map[string][]int64{}
	floats := map[string][]float64{}
	var err error
	for _, c := range []string{"epoch", "stage", "clipped_steps", "clipped_features", "clipped_residuals"} {
		if ints[c], err = kit.ReadInt64s(rec, c); err != nil {
			return nil, err
		}
	}
	cols := []string{"lr", "train_loss", "train_mse", "test_mse", "test_rel_err", "grad_norm"}
	for l := 2; l <= L; l++ {
		cols = append(cols, fmt.Sprintf("eps_%d", l), fmt.Sprintf("qerr_%d", l))
	}
	for _, c := range cols {
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
	out := make([]trainer.Epoch, rec.NumRows())
	for i := range out {
		e := &out[i]
		e.Epoch, e.Stage = int(ints["epoch"][i]), int(ints["stage"][i])
		e.ClippedSteps, e.ClippedFeatures, e.ClippedResiduals = int(ints["clipped_steps"][i]), int(ints["clipped_features"][i]), int(ints["clipped_residuals"][i])
		e.LR, e.TrainLoss, e.TrainMSE = floats["lr"][i], floats["train_loss"][i], floats["train_mse"][i]
		e.TestMSE, e.TestRelErr, e.GradNorm = floats["test_mse"][i], floats["test_rel_err"][i], floats["grad_norm"][i]
		if e.Active, err = schedule.ParseLayers(active[i]); err != nil {
			return nil, err
		}
		if e.Trainable, err = schedule.ParseLayers(trainable[i]); err != nil {
			return nil, err
		}
		e.Eps, e.QErr = make([]float64, L+1), make([]float64, L+1)
		for l := 2; l <= L; l++ {
			e.Eps[l], e.QErr[l] = floats[fmt.Sprintf("eps_%d", l)][i], floats[fmt.Sprintf("qerr_%d", l)][i]
		}
		if e.Epoch != i+1 {
			return nil, fmt.Errorf("history row %d is epoch %d", i, e.Epoch)
		}
	}
	return out, nil
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
	return kit.NewTable().String("block", block).Ints("row", row).Ints("col", col).Float64("value", value).
		Ints("opt_steps", steps).Float64("opt_m", om).Float64("opt_v", ov).Record()
}

// readWeights fills net (already shaped) and returns the optimiser state of
// the blocks that have one (opt_steps > 0).
func readWeights(rec arrow.Record, net *learner.Net, method optim.Method) ([]optim.State, error) {
	block, err := kit.ReadStrings(rec, "block")
	if err != nil {
		return nil, err
	}
	row, err := kit.ReadInt64s(rec, "row")
	if err != nil {
		return nil, err
	}
	col, err := kit.ReadInt64s(rec, "col")
	if err != nil {
		return nil, err
	}
	steps, err := kit.ReadInt64s(rec, "opt_steps")
	if err != nil {
		return nil, err
	}
	value, err := kit.ReadFloat64s(rec, "value")
	if err != nil {
		return nil, err
	}
	om, err := kit.ReadFloat64s(rec, "opt_m")
	if err != nil {
		return nil, err
	}
	ov, err := kit.ReadFloat64s(rec, "opt_v")
	if err != nil {
		return nil, err
	}
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
			return nil, fmt.Errorf("weights: unknown block %q", name)
		}
		r, c := int(row[i]), int(col[i])
		if r < 0 || r >= rows[b] || c < 0 || c >= cols[b] {
			return nil, fmt.Errorf("weights: %s[%d,%d] outside %dx%d", name, r, c, rows[b], cols[b])
		}
		vals[b][r*cols[b]+c] = value[i]
		seen[b]++
		if steps[i] > 0 {
			s := &states[b]
			if s.M == nil {
				s.Name, s.Steps, s.M = name, int(steps[i]), make([]float64, len(vals[b]))
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
			return nil, fmt.Errorf("weights: block %s has %d of %d entries", name, seen[b], len(vals[b]))
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
	t := kit.NewTable().String("schedule", []string{s.Schedule}).Ints("x", []int{s.X}).Ints("L", []int{L}).
		Ints("last_stage", []int{c.LastStage}).Ints("epochs", []int{s.Epochs}).Ints("epochs_first", []int{c.EpochsFirst}).
		Ints("n_train_used", []int{nUsed}).Ints("m", []int{c.M}).Ints("p", []int{c.P}).Ints("batch", []int{c.Batch}).
		Float64("lambda_kw", []float64{c.LambdaKW}).Float64("feature_clip", []float64{c.FeatureClip}).
		Float64("residual_clip", []float64{c.ResidualClip}).
		String("root_seed", []string{strconv.FormatUint(r.RootSeed, 16)}).String("target_key", []string{targetKey}).
		Float64("test_rel_err", []float64{s.FinalTestRelErr}).Float64("train_mse", []float64{s.FinalTrainMSE}).
		Float64("test_rel_err_switch", []float64{s.SwitchTestRel}).Float64("clipped_frac", []float64{s.ClippedFrac}).
		Float64("eps2_ratio", []float64{s.Eps2Ratio})
	for l := 2; l <= L; l++ {
		t.Float64(fmt.Sprintf("eps_%d", l), []float64{s.Eps[l]})
	}
	for l := 2; l <= L; l++ {
		t.Float64(fmt.Sprintf("qerr_%d", l), []float64{s.QErr[l]})
	}
	for l := 2; l <= L; l++ {
		t.Float64(fmt.Sprintf("eps_%d_switch", l), []float64{s.EpsSwitch[l]})
	}
	return t.Record()
}

func writeOutputs(env kit.Env, r *trainer.Result, targetKey string) error {
	L := r.Data.Net.L
	// Build every table before writing any, so that a failure writes nothing.
	hist, err := historyTable(r.History, L)
	if err != nil {
		return fmt.Errorf("train: history table: %w", err)
	}
	wts, err := weightsTable(r.Net, r.Opt)
	if err != nil {
		hist.Release()
		return fmt.Errorf("train: weights table: %w", err)
	}
	sum, err := summaryTable(r, targetKey)
	if err != nil {
		hist.Release()
		wts.Release()
		return fmt.Errorf("train: summary table: %w", err)
	}
	for _, o := range []struct {
		name string
		rec  arrow.Record
	}{{"history", hist}, {"weights", wts}, {"summary", sum}} {
		if err := env.Write(o.name, o.rec); err != nil {
			return fmt.Errorf("train: write %s: %w", o.name, err)
		}
	}
	return nil
}

// LoadCheckpoint reads the outputs of an upstream "train" stage trained on
// data (from the target stage with key targetKey; pass "" to skip that
// check) and returns its final state.
func LoadCheckpoint(in kit.Input, data *targetnet.Data, targetKey string) (*trainer.Checkpoint, error) {
	if in.Kind() != "train" {
		return nil, fmt.Errorf("input is a %q stage, not a train stage", in.Kind())
	}
	cfg := ConfigFromParams(in.Params()).Resolve(data.Net)
	ck := &trainer.Checkpoint{Config: cfg}
	read := func(name string, fn func(arrow.Record) error) error {
		rec, err := in.Read(name)
		if err != nil {
			return err
		}
		defer rec.Release()
		if err := fn(rec); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	err := read("summary", func(rec arrow.Record) error {
		seeds, err := kit.ReadStrings(rec, "root_seed")
		if err != nil {
			return err
		}
		keys, err := kit.ReadStrings(rec, "target_key")
		if err != nil {
			return err
		}
		if len(seeds) != 1 || len(keys) != 1 {
			return fmt.Errorf("%d rows, want 1", len(seeds))
		}
		if targetKey != "" && keys[0] != targetKey {
			return fmt.Errorf("trained on target %s, this stage's target is %s", keys[0], targetKey)
		}
		ck.RootSeed, err = strconv.ParseUint(seeds[0], 16, 64)
		return err
	})
	if err != nil {
		return nil, err
	}
	net, err := learner.Zero(cfg.LearnerConfig(data.Net))
	if err != nil {
		return nil, err
	}
	ck.Net = net
	if err := read("weights", func(rec arrow.Record) error {
		ck.Opt, err = readWeights(rec, net, optim.Method(cfg.Optimizer))
		return err
	}); err != nil {
		return nil, err
	}
	if err := read("history", func(rec arrow.Record) error {
		ck.History, err = readHistory(rec, data.Net.L)
		return err
	}); err != nil {
		return nil, err
	}
	return ck, nil
}

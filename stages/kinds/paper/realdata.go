package paper

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/stages/kinds/claims"
	"github.com/bfc-repro/bfc/stages/kinds/classify"
	"github.com/bfc-repro/bfc/stages/kinds/fmnist"
	"github.com/bfc-repro/bfc/stages/lib/metrics"

	"github.com/bfc-repro/bfc/stages/kit"
)

// classifyParams are the classify parameters the report states once:
// the same in every E8 run.
var classifyParams = []struct{ param, name, format string }{
	{"width", "EEightWidth", "int"}, {"epochs_first", "EEightEpochsFirst", "int"}, {"epochs_per_stage", "EEightEpochsPerStage", "int"},
	{"batch", "EEightBatch", "int"}, {"lr", "EEightLR", "exact"}, {"clip", "EEightClip", "exact"}, {"weight_decay", "EEightWeightDecay", "exact"},
}

// eEight: Fashion-MNIST (E8): the data, the classifier, accuracies per
// depth and schedule, the lower-only control, and bfc-x.
func (bd *builder) eEight() {
	rd, b := &bd.rd, bd.b
	data := kit.InputsOfKind(bd.env, "fmnist")
	if len(data) == 0 {
		for _, n := range []string{"EEightNTrain", "EEightNTest", "EEightSide", "EEightD", "EEightPool", "EEightClasses",
			"EEightFileTrain", "EEightNormalize"} {
			b.Missing(n, "the paper stage gathers no fmnist point (E8's data)")
		}
	} else {
		t, err := bd.open(data[0], fmnist.SummaryDesc)
		if err != nil {
			rd.fail(err)
			return
		}
		for _, c := range []struct{ col, name string }{{fmnist.ColNTrain, "EEightNTrain"}, {fmnist.ColNTest, "EEightNTest"}, {fmnist.ColRows, "EEightSide"},
			{fmnist.ColD, "EEightD"}, {fmnist.ColPool, "EEightPool"}, {fmnist.ColClasses, "EEightClasses"}, {fmnist.ColFileTrain, "EEightFileTrain"}} {
			b.Num(c.name, OpValue, "int", rd.cell(t, 0, c.col))
		}
		b.Text("EEightNormalize", rd.cell(t, 0, fmnist.ColNormalize))
	}
	if len(bd.class) == 0 {
		bd.b.Missing("EEight", "the paper stage gathers no finished classify point (E8 reads them)")
		return
	}
	ins := inputsOf(bd.class, classInput)
	for _, p := range classifyParams {
		b.Num(p.name, OpValue, p.format, rd.uniformParam("E8 classify runs", ins, p.param))
	}
	for _, p := range []struct{ param, name string }{{"activation", "EEightActivation"}, {"optimizer", "EEightOptimizer"}, {"lr_schedule", "EEightSchedule"}} {
		b.Text(p.name, rd.uniformParam("E8 classify runs", ins, p.param))
	}
	var depths []int
	for _, r := range bd.class {
		if r.schedule == "joint" && !slices.Contains(depths, r.L) {
			depths = append(depths, r.L)
		}
	}
	slices.Sort(depths)
	var pairsLJ []Cell // (lower-only, joint) accuracy per depth and seed
	var gains []Cell   // the claims rows' joint - layerwise, per depth
	for i, L := range depths {
		dl, pre := letters(i), famEEightL.of(letters(i))
		joint := bd.classAt(L, L-1, "")
		b.Num(famEEightLL.of(dl), OpValue, "int", rd.cell(joint[metrics.CommonSeeds(joint)[0]].sum, 0, classify.ColL))
		for _, s := range []struct {
			m    map[string]*classRun
			name string
		}{{bd.classAt(L, 0, "lower-only"), "LowerOnly"}, {bd.classAt(L, 0, ""), "Layerwise"}, {joint, "Joint"},
			{bd.classAt(L, 0, "end2end"), "EndToEnd"}} {
			if len(s.m) == 0 {
				continue
			}
			c := rd.accCells(s.m, metrics.CommonSeeds(s.m), classify.ColTestAcc)
			b.Num(famEEightLAcc.of(dl, s.name), OpMedian, "pct1", c...)
			b.Num(famEEightLSeeds.of(dl, s.name), OpCount, "int", c...)
		}
		if lo := bd.classAt(L, 0, "lower-only"); len(lo) > 0 {
			seeds := metrics.CommonSeeds(lo, joint)
			p := interleave(rd.accCells(lo, seeds, classify.ColTestAcc), rd.accCells(joint, seeds, classify.ColTestAcc))
			b.Num(famEEightLLowerMinusJoint.of(dl), OpMedianDiff, "pts2", p...)
			pairsLJ = append(pairsLJ, p...)
		}
		if r := bd.claimRowIndex("3", "E8", fmt.Sprintf("acc_joint-layerwise[L=%d]", L), false); r >= 0 {
			bd.claimRow(famEEightLGain.of(dl), r, "pts2")
			gains = append(gains, rd.cell(bd.ctable, r, claims.ColValue))
		}
		b.List("EEightL", pre)
	}
	if len(pairsLJ) > 0 {
		b.Num("EEightLowerJointMaxAbs", OpMaxAbsDiff, "pts2", pairsLJ...)
	}
	if len(gains) > 0 {
		b.Num("EEightGainMin", OpMin, "pts2", gains...)
		b.Num("EEightGainMax", OpMax, "pts2", gains...)
	}
	b.Num("EEightBestAcc", OpMax, "pct1", rd.accCells(byKey(bd.class), keys(bd.class), classify.ColTestAcc)...)
	bd.eEightBfcX()
}

// eEightBfcX: bfc-x at the deepest depth that has bfc-x runs strictly
// between layerwise and joint.
func (bd *builder) eEightBfcX() {
	rd, b := &bd.rd, bd.b
	L := 0
	for _, r := range bd.class {
		if r.schedule == "bfc-x" && r.x > 0 && r.x < r.L-1 {
			L = max(L, r.L)
		}
	}
	if L == 0 {
		return
	}
	lw, joint := bd.classAt(L, 0, ""), bd.classAt(L, L-1, "")
	for x := 1; x < L-1; x++ {
		mid := bd.classAt(L, x, "")
		seeds := metrics.CommonSeeds(lw, mid, joint)
		if len(seeds) == 0 {
			continue
		}
		xl, pre := letters(x-1), famEEightX.of(letters(x-1))
		i := slices.IndexFunc(seeds, func(s string) bool { return mid[s].schedule == "bfc-x" })
		if i < 0 {
			continue
		}
		b.Num(famEEightXX.of(xl), OpValue, "int", rd.cell(mid[seeds[i]].sum, 0, classify.ColX))
		b.Num(famEEightXAcc.of(xl), OpMedian, "pct1", rd.accCells(mid, seeds, classify.ColTestAcc)...)
		groups := append(append(rd.accCells(lw, seeds, classify.ColTestAcc), rd.accCells(mid, seeds, classify.ColTestAcc)...), rd.accCells(joint, seeds, classify.ColTestAcc)...)
		b.Num(famEEightXLinShare.of(xl), OpGapShare, "pct0", groups...)
		b.Num(famEEightXDrift.of(xl), OpMedian, "g2", rd.accCells(mid, seeds, classify.ColK1Drift)...)
		bd.namedClaim(famEEightXLogShare.of(xl), "5", "E8", fmt.Sprintf("log_err_share_recovered[x=%d,L=%d]", x, L), "pct0", false)
		b.List("EEightX", pre)
	}
	if len(b.lists["EEightX"]) > 0 {
		b.Num("EEightXL", OpValue, "int", rd.cell(joint[metrics.CommonSeeds(joint)[0]].sum, 0, classify.ColL))
		b.Num("EEightXSeeds", OpCount, "int", rd.accCells(joint, metrics.CommonSeeds(lw, joint), classify.ColTestAcc)...)
	}
}

// byKey and keys index classify runs by their stage key (for operations
// over every run).
func byKey(rs []*classRun) map[string]*classRun {
	m := map[string]*classRun{}
	for _, r := range rs {
		m[r.in.Key()] = r
	}
	return m
}

func keys(rs []*classRun) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.in.Key()
	}
	return out
}

// published: the published Fashion-MNIST accuracies (list Pub).
func (bd *builder) published() {
	rd, b := &bd.rd, bd.b
	ins := kit.InputsOfKind(bd.env, "fmnist_published")
	if len(ins) == 0 {
		b.Missing("Pub", "the paper stage gathers no fmnist_published point (the published accuracies)")
		return
	}
	t, err := bd.open(ins[0], fmnist.PublishedDesc)
	if err != nil {
		rd.fail(err)
		return
	}
	var acc []Cell
	for r := 0; r < t.rows(); r++ {
		pl := letters(r)
		b.Text(famPubClassifier.of(pl), rd.cell(t, r, fmnist.ColClassifier))
		b.Text(famPubPreprocessing.of(pl), rd.cell(t, r, fmnist.ColPreprocessing))
		c := rd.cell(t, r, fmnist.ColAccuracy)
		b.Num(famPubAcc.of(pl), OpValue, "pct1", c)
		acc = append(acc, c)
		b.List("Pub", famPub.of(pl))
	}
	if len(acc) > 0 {
		b.Num("PubCount", OpCount, "int", acc...)
		b.Num("PubMin", OpMin, "pct1", acc...)
		b.Num("PubMedian", OpMedian, "pct1", acc...)
		b.Num("PubMax", OpMax, "pct1", acc...)
	}
}

// fileTable reads a CSV file declared by the kind (the search record, the
// timings) into entries: row i, column c becomes famFileCell of the
// prefix, letters(i) and cols[c]
// (columns not in cols are ignored); a cell that parses as a number is a
// number (an integer, or three significant digits), any other cell text.
// The cells name the file as their key, "file" as their kind.
func (bd *builder) fileTable(path, prefix string, cols map[string]string) error {
	raw, err := bd.env.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	head, rows, err := parseRecordFile(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	bd.b.List(prefix) // the list exists even when the file has no rows
	for i, rec := range rows {
		rl, pre := letters(i), famFileRow.of(prefix, letters(i))
		for c, v := range rec {
			suffix, ok := cols[head[c]]
			if !ok {
				continue
			}
			cell := Cell{Key: path, Kind: "file", Table: path, Row: i, Column: head[c]}
			cell.Num, cell.Str, cell.IsText = fileValue(v)
			switch {
			case cell.IsText:
				bd.b.Text(famFileCell.of(prefix, rl, suffix), cell)
			case cell.Num == math.Trunc(cell.Num) && math.Abs(cell.Num) < 1e15:
				bd.b.Num(famFileCell.of(prefix, rl, suffix), OpValue, "int", cell)
			default:
				bd.b.Num(famFileCell.of(prefix, rl, suffix), OpValue, "g3", cell)
			}
		}
		bd.b.List(prefix, pre)
	}
	return bd.b.Err()
}

// parseRecordFile reads a CSV record file: lines starting with # are
// comments, the first row names the columns, every row has one cell per
// column; names and cells are trimmed.
func parseRecordFile(raw []byte) (head []string, rows [][]string, err error) {
	r := csv.NewReader(bytes.NewReader(raw))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		return nil, nil, err
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("no header row")
	}
	for _, rec := range recs {
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
	}
	return recs[0], recs[1:], nil
}

// fileValue is a record file's cell as a Cell holds it.
func fileValue(v string) (num float64, str string, isText bool) {
	if x, err := strconv.ParseFloat(v, 64); err == nil {
		return x, "", false
	}
	return math.NaN(), v, true
}

// FileCell returns the value that a record file (its bytes raw) holds for
// a source cell of kind "file" (Row and Column set).
func FileCell(raw []byte, c Cell) (Cell, error) {
	head, rows, err := parseRecordFile(raw)
	if err != nil {
		return c, fmt.Errorf("%s: %w", c.Key, err)
	}
	col := slices.Index(head, c.Column)
	if col < 0 || c.Row < 0 || c.Row >= len(rows) {
		return c, fmt.Errorf("%s has no row %d column %q", c.Key, c.Row, c.Column)
	}
	c.Num, c.Str, c.IsText = fileValue(rows[c.Row][col])
	return c, nil
}

package target

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// Load reads the outputs of an upstream "target" stage (net, layers,
// summary, train, test) and rebuilds the network and the splits.
func Load(in kit.Input) (*targetnet.Data, error) {
	if in.Kind() != "target" {
		return nil, fmt.Errorf("load target: input %s is a %q stage, not a target stage", in.Key(), in.Kind())
	}
	cfg := ConfigOf(in.Params())
	n := &targetnet.Net{D: cfg.D, K: cfg.K, L: cfg.L, Connections: cfg.Connections,
		Center1: cfg.Center1, Alpha: make([]float64, cfg.L+1), W: make([][]*mat.Dense, cfg.L+1)}
	if err := readNet(in, n); err != nil {
		return nil, fmt.Errorf("load target %s: %w", in.Key(), err)
	}
	d := &targetnet.Data{Net: n}
	for _, s := range []struct {
		name string
		dst  *targetnet.Split
	}{{TableTrain, &d.Train}, {TableTest, &d.Test}} {
		if err := readSplit(in, s.name, n, s.dst); err != nil {
			return nil, fmt.Errorf("load target %s: %s: %w", in.Key(), s.name, err)
		}
	}
	return d, nil
}

// readNet fills n.W from "net", n.Alpha from "layers" and n.Mean from
// "summary", checking every index against the shapes the params imply.
func readNet(in kit.Input, n *targetnet.Net) error {
	for l := 2; l <= n.L; l++ {
		for _, j := range targetnet.Sources(n.Connections, l) {
			n.W[l] = append(n.W[l], mat.NewDense(n.K, n.PhiDim(j), nil))
		}
	}
	err := NetDesc.Use(in, func(r *kit.Rows) error {
		layer, source, row, col := r.Ints(ColLayer), r.Ints(ColSource), r.Ints(ColRow), r.Ints(ColCol)
		val := r.Float64s(ColValue)
		want := 0
		for l := 2; l <= n.L; l++ {
			for _, w := range n.W[l] {
				r, c := w.Dims()
				want += r * c
			}
		}
		if len(val) != want {
			return fmt.Errorf("%d weights, want %d for d=%d k=%d L=%d %s", len(val), want, n.D, n.K, n.L, n.Connections)
		}
		for i, v := range val {
			w := n.Block(layer[i], source[i])
			if w == nil {
				return fmt.Errorf("row %d: layer %d has no source %d", i, layer[i], source[i])
			}
			rows, cs := w.Dims()
			if row[i] < 0 || row[i] >= rows || col[i] < 0 || col[i] >= cs {
				return fmt.Errorf("row %d: index (%d, %d) outside the %dx%d block W[%d][%d]", i, row[i], col[i], rows, cs, layer[i], source[i])
			}
			w.Set(row[i], col[i], v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	alphas, err := ReadLayers(in)
	if err != nil {
		return err
	}
	for _, a := range alphas {
		n.Alpha[a.Layer] = a.Alpha
	}
	sum, err := ReadSummary(in)
	if err != nil {
		return err
	}
	n.Mean = sum.Mean
	return n.Check()
}

// readSplit reads a train or test table into dst.
func readSplit(in kit.Input, name string, n *targetnet.Net, dst *targetnet.Split) error {
	return SplitDesc(name, n.L).Use(in, func(r *kit.Rows) error {
		N := r.Len()
		if N == 0 {
			return fmt.Errorf("no rows")
		}
		matrix := func(col string, width int) (*mat.Dense, error) {
			v, w := r.Matrix(col)
			if w != width {
				return nil, fmt.Errorf("column %q has width %d, want %d", col, w, width)
			}
			return mat.NewDense(N, width, v), nil
		}
		var err error
		dst.N = N
		if dst.X, err = matrix(ColX, n.D); err != nil {
			return err
		}
		dst.Y, dst.G = r.Float64s(ColY), r.Float64s(ColG)
		dst.S = make([]*mat.Dense, n.L+1)
		for l := 2; l <= n.L; l++ {
			if dst.S[l], err = matrix(ColS(l), n.K); err != nil {
				return err
			}
		}
		return nil
	})
}

// Layer is one row of the layers table: layer l's term alpha_l ||S*_l||^2
// and its share of Var(y).
type Layer struct {
	Layer, Degree            int
	Alpha, MeanTerm, VarTerm float64
	Share, CumShare          float64
}

// ReadLayers reads the layers table of a target input, one entry per
// layer 2..L in order.
func ReadLayers(in kit.Input) ([]Layer, error) {
	L := ConfigOf(in.Params()).L
	var out []Layer
	err := LayersDesc.Use(in, func(r *kit.Rows) error {
		layer, degree := r.Ints(ColLayer), r.Ints(ColDegree)
		alpha, mean, vr := r.Float64s(ColAlpha), r.Float64s(ColMeanTerm), r.Float64s(ColVarTerm)
		share, cum := r.Float64s(ColShare), r.Float64s(ColCumShare)
		if len(layer) != L-1 {
			return fmt.Errorf("%d rows, want %d", len(layer), L-1)
		}
		for i, l := range layer {
			if l != i+2 {
				return fmt.Errorf("row %d is layer %d, want %d", i, l, i+2)
			}
			out = append(out, Layer{Layer: l, Degree: degree[i], Alpha: alpha[i], MeanTerm: mean[i], VarTerm: vr[i],
				Share: share[i], CumShare: cum[i]})
		}
		return nil
	})
	return out, err
}

// Summary is the summary table of a target stage: the moments of its
// labels (see the package doc of targetnet).
type Summary struct {
	Mean, VarG, VarY, KurtosisY float64
	VarYTrain, KurtosisYTrain   float64
	ClipValue                   float64
	NClipped                    int
}

// ReadSummary reads the summary table of a target input.
func ReadSummary(in kit.Input) (*Summary, error) {
	var s *Summary
	err := SummaryDesc.Use(in, func(r *kit.Rows) error {
		if err := r.One(); err != nil {
			return err
		}
		f := func(c string) float64 { return r.Float64s(c)[0] }
		s = &Summary{Mean: f(ColMean), VarG: f(ColVarG), VarY: f(ColVarY), KurtosisY: f(ColKurtosisY),
			VarYTrain: f(ColVarYTrain), KurtosisYTrain: f(ColKurtosisYTrain), ClipValue: f(ColClipValue),
			NClipped: r.Ints(ColNClipped)[0]}
		return nil
	})
	return s, err
}

// ReadTrainLabels reads the labels y of a target input's training split.
func ReadTrainLabels(in kit.Input) ([]float64, error) {
	var y []float64
	err := SplitDesc(TableTrain, ConfigOf(in.Params()).L).Use(in, func(r *kit.Rows) error {
		y = r.Float64s(ColY)
		return nil
	})
	return y, err
}

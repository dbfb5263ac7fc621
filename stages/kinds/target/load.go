package target

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// Load reads the outputs of an upstream "target" stage (net, layers,
// summary, train, test) and rebuilds the network and the splits.
func Load(in kit.Input) (*targetnet.Data, error) {
	if in.Kind() != "target" {
		return nil, fmt.Errorf("load target: input is a %q stage, not a target stage", in.Kind())
	}
	p := in.Params()
	n := &targetnet.Net{D: p.Int("d"), K: p.Int("k"), L: p.Int("L"), Connections: p.String("connections"),
		Center1: p.Bool("center1"), Alpha: make([]float64, p.Int("L")+1), W: make([][]*mat.Dense, p.Int("L")+1)}
	if err := readNet(in, n); err != nil {
		return nil, fmt.Errorf("load target %s: %w", in.Key(), err)
	}
	d := &targetnet.Data{Net: n, Params: p}
	for _, s := range []struct {
		name string
		dst  *targetnet.Split
	}{{"train", &d.Train}, {"test", &d.Test}} {
		if err := readSplit(in, s.name, n, s.dst); err != nil {
			return nil, fmt.Errorf("load target %s: %s: %w", in.Key(), s.name, err)
		}
	}
	return d, nil
}

// readTable reads one output and hands it to fn, releasing it afterwards.
func readTable(in kit.Input, name string, fn func(rec arrow.Record) error) error {
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

// readNet fills n.W from "net", n.Alpha from "layers" and n.Mean from
// "summary", checking every index against the shapes the params imply.
func readNet(in kit.Input, n *targetnet.Net) error {
	for l := 2; l <= n.L; l++ {
		for _, j := range targetnet.Sources(n.Connections, l) {
			n.W[l] = append(n.W[l], mat.NewDense(n.K, n.PhiDim(j), nil))
		}
	}
	err := readTable(in, "net", func(rec arrow.Record) error {
		cols := map[string][]int64{}
		for _, c := range []string{"layer", "source", "row", "col"} {
			v, err := kit.ReadInt64s(rec, c)
			if err != nil {
				return err
			}
			cols[c] = v
		}
		val, err := kit.ReadFloat64s(rec, "value")
		if err != nil {
			return err
		}
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
			l, j, r, c := int(cols["layer"][i]), int(cols["source"][i]), int(cols["row"][i]), int(cols["col"][i])
			w := n.Block(l, j)
			if w == nil {
				return fmt.Errorf("row %d: layer %d has no source %d", i, l, j)
			}
			rows, cs := w.Dims()
			if r < 0 || r >= rows || c < 0 || c >= cs {
				return fmt.Errorf("row %d: index (%d, %d) outside the %dx%d block W[%d][%d]", i, r, c, rows, cs, l, j)
			}
			w.Set(r, c, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = readTable(in, "layers", func(rec arrow.Record) error {
		layer, err := kit.ReadInt64s(rec, "layer")
		if err != nil {
			return err
		}
		alpha, err := kit.ReadFloat64s(rec, "alpha")
		if err != nil {
			return err
		}
		if len(layer) != n.L-1 {
			return fmt.Errorf("%d rows, want %d", len(layer), n.L-1)
		}
		for i, l := range layer {
			if l < 2 || int(l) > n.L {
				return fmt.Errorf("row %d: layer %d outside 2..%d", i, l, n.L)
			}
			n.Alpha[l] = alpha[i]
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = readTable(in, "summary", func(rec arrow.Record) error {
		mean, err := kit.ReadFloat64s(rec, "mean")
		if err != nil {
			return err
		}
		if len(mean) != 1 {
			return fmt.Errorf("%d rows, want 1", len(mean))
		}
		n.Mean = mean[0]
		return nil
	})
	if err != nil {
		return err
	}
	return n.Check()
}

// readSplit reads a train or test table into dst.
func readSplit(in kit.Input, name string, n *targetnet.Net, dst *targetnet.Split) error {
	return readTable(in, name, func(rec arrow.Record) error {
		N := int(rec.NumRows())
		matrix := func(col string, width int) (*mat.Dense, error) {
			v, w, err := kit.ReadMatrix(rec, col)
			if err != nil {
				return nil, err
			}
			if w != width {
				return nil, fmt.Errorf("column %q has width %d, want %d", col, w, width)
			}
			if N == 0 {
				return nil, fmt.Errorf("no rows")
			}
			return mat.NewDense(N, width, v), nil
		}
		var err error
		dst.N = N
		if dst.X, err = matrix("x", n.D); err != nil {
			return err
		}
		if dst.Y, err = kit.ReadFloat64s(rec, "y"); err != nil {
			return err
		}
		if dst.G, err = kit.ReadFloat64s(rec, "g"); err != nil {
			return err
		}
		dst.S = make([]*mat.Dense, n.L+1)
		for l := 2; l <= n.L; l++ {
			if dst.S[l], err = matrix(fmt.Sprintf("s%d", l), n.K); err != nil {
				return err
			}
		}
		return nil
	})
}

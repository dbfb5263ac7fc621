package fmnist

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
)

// splitTable builds the train or test table of s.
func splitTable(s Split) (arrow.Record, error) {
	return kit.NewTable().Matrix("x", s.N, s.D, s.X).Ints("y", s.Y).Ints("index", s.Index).Record()
}

// write stores every output of d.
func write(env kit.Env, d *Data, p kit.Params, paths []string) error {
	counts := [2][Classes]int{}
	for k, s := range []Split{d.Train, d.Test} {
		for _, y := range s.Y {
			counts[k][y]++
		}
	}
	var class, nTrain, nTest []int
	var names []string
	for c := range Classes {
		class, names = append(class, c), append(names, ClassNames[c])
		nTrain, nTest = append(nTrain, counts[0][c]), append(nTest, counts[1][c])
	}
	feature := make([]int, d.Rows*d.Cols)
	for j := range feature {
		feature[j] = j
	}
	tables := []struct {
		name  string
		build func() (arrow.Record, error)
	}{
		{"train", func() (arrow.Record, error) { return splitTable(d.Train) }},
		{"test", func() (arrow.Record, error) { return splitTable(d.Test) }},
		{"classes", func() (arrow.Record, error) {
			return kit.NewTable().Ints("class", class).String("name", names).Ints("n_train", nTrain).Ints("n_test", nTest).Record()
		}},
		{"norm", func() (arrow.Record, error) {
			return kit.NewTable().Ints("feature", feature).Float64("mean", d.Norm.Mean).Float64("scale", d.Norm.Scale).Record()
		}},
		{"summary", func() (arrow.Record, error) {
			one := func(v int) []int { return []int{v} }
			return kit.NewTable().Ints("n_train", one(d.Train.N)).Ints("n_test", one(d.Test.N)).
				Ints("rows", one(d.Rows)).Ints("cols", one(d.Cols)).Ints("d", one(d.Rows*d.Cols)).
				Ints("pool", one(p.Int("pool"))).String("normalize", []string{p.String("normalize")}).
				Ints("classes", one(Classes)).Ints("file_train", one(d.FileTrain)).Ints("file_test", one(d.FileTest)).
				Record()
		}},
	}
	for _, t := range tables {
		rec, err := t.build()
		if err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		if err := env.Write(t.name, rec); err != nil {
			return fmt.Errorf("write %s: %w", t.name, err)
		}
	}
	return nil
}

// readSplit reads the train or test table of an fmnist stage.
func readSplit(in kit.Input, name string) (Split, error) {
	rec, err := in.Read(name)
	if err != nil {
		return Split{}, err
	}
	defer rec.Release()
	x, d, err := kit.ReadMatrix(rec, "x")
	if err != nil {
		return Split{}, fmt.Errorf("%s: %w", name, err)
	}
	y64, err := kit.ReadInt64s(rec, "y")
	if err != nil {
		return Split{}, fmt.Errorf("%s: %w", name, err)
	}
	i64, err := kit.ReadInt64s(rec, "index")
	if err != nil {
		return Split{}, fmt.Errorf("%s: %w", name, err)
	}
	s := Split{N: len(y64), D: d, X: x, Y: make([]int, len(y64)), Index: make([]int, len(i64))}
	for i, v := range y64 {
		if v < 0 || v >= Classes {
			return Split{}, fmt.Errorf("%s: row %d has class %d, outside 0..%d", name, i, v, Classes-1)
		}
		s.Y[i], s.Index[i] = int(v), int(i64[i])
	}
	return s, nil
}

// Load reads the outputs of an "fmnist" stage back into a Data.
func Load(in kit.Input) (*Data, error) {
	if in.Kind() != "fmnist" {
		return nil, fmt.Errorf("fmnist: load: input %s is of kind %q, not fmnist", in.Key(), in.Kind())
	}
	d := &Data{}
	var err error
	if d.Train, err = readSplit(in, "train"); err != nil {
		return nil, fmt.Errorf("fmnist: load %s: %w", in.Key(), err)
	}
	if d.Test, err = readSplit(in, "test"); err != nil {
		return nil, fmt.Errorf("fmnist: load %s: %w", in.Key(), err)
	}
	rec, err := in.Read("summary")
	if err != nil {
		return nil, fmt.Errorf("fmnist: load %s: %w", in.Key(), err)
	}
	defer rec.Release()
	get := func(col string) int {
		v, e := kit.ReadInt64s(rec, col)
		if e != nil || len(v) != 1 {
			if err == nil {
				err = fmt.Errorf("summary.%s: want one int64, have %d values (%v)", col, len(v), e)
			}
			return 0
		}
		return int(v[0])
	}
	d.Rows, d.Cols = get("rows"), get("cols")
	d.FileTrain, d.FileTest = get("file_train"), get("file_test")
	if err != nil {
		return nil, fmt.Errorf("fmnist: load %s: %w", in.Key(), err)
	}
	if D := d.Rows * d.Cols; d.Train.D != D || d.Test.D != D {
		return nil, fmt.Errorf("fmnist: load %s: images are %dx%d but train has %d and test %d features", in.Key(), d.Rows, d.Cols, d.Train.D, d.Test.D)
	}
	norm, err := in.Read("norm")
	if err != nil {
		return nil, fmt.Errorf("fmnist: load %s: %w", in.Key(), err)
	}
	defer norm.Release()
	if d.Norm.Mean, err = kit.ReadFloat64s(norm, "mean"); err == nil {
		d.Norm.Scale, err = kit.ReadFloat64s(norm, "scale")
	}
	if err != nil || len(d.Norm.Mean) != d.Train.D {
		return nil, fmt.Errorf("fmnist: load %s: norm: %d rows for %d features (%v)", in.Key(), len(d.Norm.Mean), d.Train.D, err)
	}
	return d, nil
}

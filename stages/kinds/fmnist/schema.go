package fmnist

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
)

// The output tables of an "fmnist" stage and of an "fmnist_published"
// stage, declared once.
//
//	train, test  one row per image: x (the normalised pixels), y (the class), index (in the file)
//	classes      one row per class: class, name, n_train, n_test
//	norm         one row per pixel: feature, mean, scale of the normalisation
//	summary      one row: sizes, pool, normalize, classes, the number of images in each file
//	published    one row per published classifier (fmnist_published)
const (
	Version = 1 // of every table below

	TableTrain     = "train"
	TableTest      = "test"
	TableClasses   = "classes"
	TableNorm      = "norm"
	TableSummary   = "summary"
	TablePublished = "published"

	ColX     = "x"
	ColY     = "y"
	ColIndex = "index"

	ColClass  = "class"
	ColName   = "name"
	ColNTrain = "n_train"
	ColNTest  = "n_test"

	ColFeature = "feature"
	ColMean    = "mean"
	ColScale   = "scale"

	ColRows      = "rows"
	ColCols      = "cols"
	ColD         = "d"
	ColPool      = "pool"
	ColNormalize = "normalize"
	ColClasses   = "classes"
	ColFileTrain = "file_train"
	ColFileTest  = "file_test"

	ColClassifier    = "classifier"
	ColPreprocessing = "preprocessing"
	ColAccuracy      = "accuracy"
	ColMNISTAccuracy = "mnist_accuracy"
	ColSubmitter     = "submitter"
)

func desc(kind, name string, cols ...kit.ColumnDesc) kit.TableDesc {
	return kit.TableDesc{Kind: kind, Version: Version, Name: name, Columns: cols}
}

// The schemas of the tables.
var (
	TrainDesc   = splitDesc(TableTrain)
	TestDesc    = splitDesc(TableTest)
	ClassesDesc = desc("fmnist", TableClasses, kit.IntCol(ColClass), kit.StringCol(ColName), kit.IntCol(ColNTrain), kit.IntCol(ColNTest))
	NormDesc    = desc("fmnist", TableNorm, kit.IntCol(ColFeature), kit.FloatCol(ColMean), kit.FloatCol(ColScale))
	SummaryDesc = desc("fmnist", TableSummary, kit.IntCol(ColNTrain), kit.IntCol(ColNTest), kit.IntCol(ColRows), kit.IntCol(ColCols),
		kit.IntCol(ColD), kit.IntCol(ColPool), kit.StringCol(ColNormalize), kit.IntCol(ColClasses), kit.IntCol(ColFileTrain),
		kit.IntCol(ColFileTest))
	PublishedDesc = desc("fmnist_published", TablePublished, kit.StringCol(ColClassifier), kit.StringCol(ColPreprocessing),
		kit.FloatCol(ColAccuracy), kit.FloatCol(ColMNISTAccuracy), kit.StringCol(ColSubmitter))
)

func splitDesc(name string) kit.TableDesc {
	return desc("fmnist", name, kit.MatrixCol(ColX), kit.IntCol(ColY), kit.IntCol(ColIndex))
}

// Produces implements kit.Producer.
func (Kind) Produces(kit.Params) []kit.TableDesc {
	return []kit.TableDesc{TrainDesc, TestDesc, ClassesDesc, NormDesc, SummaryDesc}
}

// Produces implements kit.Producer.
func (PublishedKind) Produces(kit.Params) []kit.TableDesc { return []kit.TableDesc{PublishedDesc} }

// LoadNeeds are the tables Load reads, for the kit.Consumer declarations
// of the kinds that train on the images.
func LoadNeeds() []kit.TableNeed {
	return []kit.TableNeed{TrainDesc.Need(), TestDesc.Need(), NormDesc.Of(ColMean, ColScale),
		SummaryDesc.Of(ColRows, ColCols, ColFileTrain, ColFileTest)}
}

// splitTable builds the train or test table of s.
func splitTable(s Split) (arrow.Record, error) {
	return kit.NewTable().Matrix(ColX, s.N, s.D, s.X).Ints(ColY, s.Y).Ints(ColIndex, s.Index).Record()
}

// write stores every output of d.
func write(env kit.Env, d *Data, cfg Config) error {
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
	return kit.WriteAll(env,
		kit.Output{Name: TableTrain, Build: func() (arrow.Record, error) { return splitTable(d.Train) }},
		kit.Output{Name: TableTest, Build: func() (arrow.Record, error) { return splitTable(d.Test) }},
		kit.Output{Name: TableClasses, Build: func() (arrow.Record, error) {
			return kit.NewTable().Ints(ColClass, class).String(ColName, names).Ints(ColNTrain, nTrain).Ints(ColNTest, nTest).Record()
		}},
		kit.Output{Name: TableNorm, Build: func() (arrow.Record, error) {
			return kit.NewTable().Ints(ColFeature, feature).Float64(ColMean, d.Norm.Mean).Float64(ColScale, d.Norm.Scale).Record()
		}},
		kit.Output{Name: TableSummary, Build: func() (arrow.Record, error) {
			one := func(v int) []int { return []int{v} }
			return kit.NewTable().Ints(ColNTrain, one(d.Train.N)).Ints(ColNTest, one(d.Test.N)).
				Ints(ColRows, one(d.Rows)).Ints(ColCols, one(d.Cols)).Ints(ColD, one(d.Rows*d.Cols)).
				Ints(ColPool, one(cfg.Pool)).String(ColNormalize, []string{cfg.Normalize}).
				Ints(ColClasses, one(Classes)).Ints(ColFileTrain, one(d.FileTrain)).Ints(ColFileTest, one(d.FileTest)).
				Record()
		}})
}

// readSplit reads the train or test table of an fmnist stage.
func readSplit(in kit.Input, d kit.TableDesc) (Split, error) {
	var s Split
	err := d.Use(in, func(r *kit.Rows) error {
		x, w := r.Matrix(ColX)
		y, idx := r.Ints(ColY), r.Ints(ColIndex)
		for i, v := range y {
			if v < 0 || v >= Classes {
				return fmt.Errorf("row %d has class %d, outside 0..%d", i, v, Classes-1)
			}
		}
		s = Split{N: len(y), D: w, X: x, Y: y, Index: idx}
		return nil
	})
	return s, err
}

// Load reads the outputs of an "fmnist" stage back into a Data.
func Load(in kit.Input) (*Data, error) {
	d := &Data{}
	var err error
	if d.Train, err = readSplit(in, TrainDesc); err != nil {
		return nil, fmt.Errorf("fmnist: load %s: %w", in.Key(), err)
	}
	if d.Test, err = readSplit(in, TestDesc); err != nil {
		return nil, fmt.Errorf("fmnist: load %s: %w", in.Key(), err)
	}
	err = SummaryDesc.Use(in, func(r *kit.Rows) error {
		if err := r.One(); err != nil {
			return err
		}
		d.Rows, d.Cols = r.Ints(ColRows)[0], r.Ints(ColCols)[0]
		d.FileTrain, d.FileTest = r.Ints(ColFileTrain)[0], r.Ints(ColFileTest)[0]
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fmnist: load %s: %w", in.Key(), err)
	}
	if D := d.Rows * d.Cols; d.Train.D != D || d.Test.D != D {
		return nil, fmt.Errorf("fmnist: load %s: images are %dx%d but train has %d and test %d features", in.Key(), d.Rows, d.Cols, d.Train.D, d.Test.D)
	}
	err = NormDesc.Use(in, func(r *kit.Rows) error {
		d.Norm.Mean, d.Norm.Scale = r.Float64s(ColMean), r.Float64s(ColScale)
		if len(d.Norm.Mean) != d.Train.D {
			return fmt.Errorf("%d rows for %d features", len(d.Norm.Mean), d.Train.D)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fmnist: load %s: %w", in.Key(), err)
	}
	return d, nil
}

package target

import (
	"fmt"

	"github.com/bfc-repro/bfc/stages/kit"
)

// The tables of a "target" stage, declared once: the writers below and the
// typed readers (Load, ReadSummaries, ReadLayers, ReadLabels) use these
// names, and other kinds read a target's tables only through the readers
// or these exported names.
//
//	net      one row per weight of W*_{l,j}: layer, source j, row, col, value
//	layers   one row per layer l = 2..L: the Monte Carlo decomposition of Var(y)
//	train    one row per sample: x (d values), y, g = G*(x), s2..sL (k values each)
//	test     as train
//	summary  one row: the parameters and the moments of the labels
const (
	Version = 1 // of every table below; bump on an incompatible change

	TableNet     = "net"
	TableLayers  = "layers"
	TableTrain   = "train"
	TableTest    = "test"
	TableSummary = "summary"

	ColLayer  = "layer"
	ColSource = "source"
	ColRow    = "row"
	ColCol    = "col"
	ColValue  = "value"

	ColAlpha    = "alpha"
	ColDegree   = "degree"
	ColMeanTerm = "mean_term"
	ColVarTerm  = "var_term"
	ColShare    = "share"
	ColCumShare = "cum_share"

	ColX = "x"
	ColY = "y"
	ColG = "g"

	ColD              = "d"
	ColK              = "k"
	ColL              = "L"
	ColGap            = "gap"
	ColConnections    = "connections"
	ColInput          = "input"
	ColCenter1        = "center1"
	ColNoise          = "noise"
	ColNTrain         = "n_train"
	ColNTest          = "n_test"
	ColNormSamples    = "norm_samples"
	ColMean           = "mean"
	ColVarG           = "var_g"
	ColVarY           = "var_y"
	ColKurtosisY      = "kurtosis_y"
	ColVarYTrain      = "var_y_train"
	ColKurtosisYTrain = "kurtosis_y_train"
	ColLabelClip      = "label_clip"
	ColClipValue      = "clip_value"
	ColNClippedTrain  = "n_clipped_train"
	ColNClippedTest   = "n_clipped_test"
	ColNClipped       = "n_clipped"
)

// ColS names the column of the true features S*_l of a split.
func ColS(l int) string { return fmt.Sprintf("s%d", l) }

func desc(name string, cols ...kit.ColumnDesc) kit.TableDesc {
	return kit.TableDesc{Kind: "target", Version: Version, Name: name, Columns: cols}
}

// NetDesc, LayersDesc and SummaryDesc are the schemas of the net, layers
// and summary tables.
var (
	NetDesc = desc(TableNet, kit.IntCol(ColLayer), kit.IntCol(ColSource), kit.IntCol(ColRow), kit.IntCol(ColCol),
		kit.FloatCol(ColValue))
	LayersDesc = desc(TableLayers, kit.IntCol(ColLayer), kit.FloatCol(ColAlpha), kit.IntCol(ColDegree),
		kit.FloatCol(ColMeanTerm), kit.FloatCol(ColVarTerm), kit.FloatCol(ColShare), kit.FloatCol(ColCumShare))
	SummaryDesc = desc(TableSummary,
		kit.IntCol(ColD), kit.IntCol(ColK), kit.IntCol(ColL), kit.FloatCol(ColGap), kit.StringCol(ColConnections),
		kit.StringCol(ColInput), kit.BoolCol(ColCenter1), kit.FloatCol(ColNoise), kit.IntCol(ColNTrain), kit.IntCol(ColNTest),
		kit.IntCol(ColNormSamples), kit.FloatCol(ColMean), kit.FloatCol(ColVarG), kit.FloatCol(ColVarY), kit.FloatCol(ColKurtosisY),
		kit.FloatCol(ColVarYTrain), kit.FloatCol(ColKurtosisYTrain), kit.FloatCol(ColLabelClip), kit.FloatCol(ColClipValue),
		kit.IntCol(ColNClippedTrain), kit.IntCol(ColNClippedTest), kit.IntCol(ColNClipped))
)

// SplitDesc is the schema of the train or test table of a depth-L target.
func SplitDesc(name string, L int) kit.TableDesc {
	cols := []kit.ColumnDesc{kit.MatrixCol(ColX), kit.FloatCol(ColY), kit.FloatCol(ColG)}
	for l := 2; l <= L; l++ {
		cols = append(cols, kit.MatrixCol(ColS(l)))
	}
	return desc(name, cols...)
}

// Produces implements kit.Producer.
func (Kind) Produces(p kit.Params) []kit.TableDesc {
	L := p.Int("L")
	return []kit.TableDesc{NetDesc, LayersDesc, SplitDesc(TableTrain, L), SplitDesc(TableTest, L), SummaryDesc}
}

// DepthOf returns the depth L of a target from the declaration of its
// train or test table (one feature column s2..sL per layer): what a kind
// whose tables have a column per layer of its target declares them by.
func DepthOf(d kit.TableDesc) (int, bool) {
	if d.Kind != "target" || (d.Name != TableTrain && d.Name != TableTest) {
		return 0, false
	}
	L := 1
	for _, c := range d.Columns {
		if c.Name == ColS(L+1) {
			L++
		}
	}
	return L, L >= 2
}

// UpstreamDepth returns the depth of the target among ups (see DepthOf);
// kit.ErrUndeclared if a target input declares nothing.
func UpstreamDepth(ups []kit.Upstream) (int, error) {
	for _, u := range ups {
		if u.Kind == "target" && !u.Declared {
			return 0, fmt.Errorf("target input %s: %w", u.Stage, kit.ErrUndeclared)
		}
		for _, d := range u.Produces {
			if L, ok := DepthOf(d); ok {
				return L, nil
			}
		}
	}
	return 0, fmt.Errorf("no input declares a target's %s table (inputs: %d)", TableTrain, len(ups))
}

// LoadNeeds are the tables Load reads, for the kit.Consumer declarations
// of the kinds that train on a target.
func LoadNeeds() []kit.TableNeed {
	return []kit.TableNeed{NetDesc.Need(), LayersDesc.Of(ColLayer, ColAlpha), SummaryDesc.Of(ColMean),
		SplitDesc(TableTrain, 2).Of(ColX, ColY, ColG), SplitDesc(TableTest, 2).Of(ColX, ColY, ColG)}
}

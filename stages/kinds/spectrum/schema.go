package spectrum

import (
	"fmt"

	"github.com/bfc-repro/bfc/stages/kit"
)

// The output tables of a "spectrum" stage, declared once: the writers in
// kind.go and the typed reader Read use these names, and other kinds read
// a spectrum's tables only through Read or these exported names.
//
//	degrees  one row per Hermite degree q = 0..2^L: ‖P_q G*‖², its share of Var(G*),
//	         and the share of the degrees above q
//	layers   one row per layer l = 2..L: the exact moments of T_l = α_l ‖S*_l‖²
//	         next to the target's Monte Carlo ones (its layers table)
//	summary  one row: exact mean and variance, the shares above 2^(L−1) and of
//	         degree 2^L, the size of the expansion, and the target's Monte Carlo moments
const (
	Version = 1 // of every table below; bump on an incompatible change

	TableDegrees = "degrees"
	TableLayers  = "layers"
	TableSummary = "summary"

	ColDegree     = "degree"
	ColNorm2      = "norm2"
	ColShare      = "share"
	ColShareAbove = "share_above"

	ColLayer          = "layer"
	ColAlpha          = "alpha"
	ColMeanTerm       = "mean_term"
	ColMCMeanTerm     = "mc_mean_term"
	ColVarTerm        = "var_term"
	ColMCVarTerm      = "mc_var_term"
	ColLayerShare     = "var_share"
	ColMCLayerShare   = "mc_var_share"
	ColCumShare       = "cum_share"
	ColMCCumShare     = "mc_cum_share"
	ColRowVarMin      = "row_var_min"
	ColRowVarMax      = "row_var_max"
	ColD              = "d"
	ColK              = "k"
	ColL              = "L"
	ColGap            = "gap"
	ColNoise          = "noise"
	ColMean           = "mean"
	ColStoredMean     = "stored_mean"
	ColVarG           = "var_g"
	ColVarY           = "var_y"
	ColMCVarY         = "mc_var_y"
	ColTrainMean      = "train_mean"
	ColHalfDegree     = "half_degree"
	ColShareAboveHalf = "share_above_half"
	ColShareTop       = "share_top"
	ColTerms          = "terms"
	ColMaxTerms       = "max_terms"
	ColExact          = "exact_spectrum"
)

func desc(name string, cols ...kit.ColumnDesc) kit.TableDesc {
	return kit.TableDesc{Kind: "spectrum", Version: Version, Name: name, Columns: cols}
}

// DegreesDesc, LayersDesc and SummaryDesc are the schemas of the tables.
var (
	DegreesDesc = desc(TableDegrees, kit.IntCol(ColDegree), kit.FloatCol(ColNorm2), kit.FloatCol(ColShare),
		kit.FloatCol(ColShareAbove))
	LayersDesc = desc(TableLayers, kit.IntCol(ColLayer), kit.IntCol(ColDegree), kit.FloatCol(ColAlpha),
		kit.FloatCol(ColMeanTerm), kit.FloatCol(ColMCMeanTerm), kit.FloatCol(ColVarTerm), kit.FloatCol(ColMCVarTerm),
		kit.FloatCol(ColLayerShare), kit.FloatCol(ColMCLayerShare), kit.FloatCol(ColCumShare), kit.FloatCol(ColMCCumShare),
		kit.FloatCol(ColRowVarMin), kit.FloatCol(ColRowVarMax))
	SummaryDesc = desc(TableSummary, kit.IntCol(ColD), kit.IntCol(ColK), kit.IntCol(ColL), kit.FloatCol(ColGap),
		kit.FloatCol(ColNoise), kit.FloatCol(ColMean), kit.FloatCol(ColStoredMean), kit.FloatCol(ColVarG),
		kit.FloatCol(ColVarY), kit.FloatCol(ColMCVarY), kit.FloatCol(ColTrainMean), kit.IntCol(ColHalfDegree),
		kit.FloatCol(ColShareAboveHalf), kit.FloatCol(ColShareTop), kit.IntCol(ColTerms), kit.FloatCol(ColMaxTerms),
		kit.BoolCol(ColExact))
)

// Produces implements kit.Producer.
func (Kind) Produces(kit.Params) []kit.TableDesc {
	return []kit.TableDesc{DegreesDesc, LayersDesc, SummaryDesc}
}

// Needs are the tables Read reads, for the kit.Consumer declarations of
// the kinds that use it (figures, the report).
func Needs() []kit.TableNeed {
	return []kit.TableNeed{DegreesDesc.Need(), SummaryDesc.Need()}
}

// Degree is one row of the degrees table.
type Degree struct {
	Degree                   int
	Norm2, Share, ShareAbove float64
}

// Summary is the summary table of a spectrum stage.
type Summary struct {
	D, K, L                              int
	Gap, Noise                           float64
	Mean, StoredMean, VarG, VarY, MCVarY float64
	TrainMean                            float64
	HalfDegree                           int
	ShareAboveHalf, ShareTop             float64
	Terms                                int
	MaxTerms                             float64
	Exact                                bool
}

// Spectrum is what Read returns: the degrees 0..2^L in order and the summary.
type Spectrum struct {
	Degrees []Degree
	Summary Summary
}

// Read reads the degrees and summary tables of a spectrum input, checking
// that the degrees are 0..2^L in order.
func Read(in kit.Input) (*Spectrum, error) {
	if in.Kind() != "spectrum" {
		return nil, fmt.Errorf("read spectrum: input %s is a %q stage, not a spectrum stage", in.Key(), in.Kind())
	}
	s := &Spectrum{}
	err := SummaryDesc.Use(in, func(r *kit.Rows) error {
		if err := r.One(); err != nil {
			return err
		}
		f := func(c string) float64 { return r.Float64s(c)[0] }
		i := func(c string) int { return r.Ints(c)[0] }
		s.Summary = Summary{D: i(ColD), K: i(ColK), L: i(ColL), Gap: f(ColGap), Noise: f(ColNoise), Mean: f(ColMean),
			StoredMean: f(ColStoredMean), VarG: f(ColVarG), VarY: f(ColVarY), MCVarY: f(ColMCVarY), TrainMean: f(ColTrainMean),
			HalfDegree: i(ColHalfDegree), ShareAboveHalf: f(ColShareAboveHalf), ShareTop: f(ColShareTop), Terms: i(ColTerms),
			MaxTerms: f(ColMaxTerms), Exact: r.Bools(ColExact)[0]}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read spectrum: %w", err)
	}
	err = DegreesDesc.Use(in, func(r *kit.Rows) error {
		q, n2, sh, ab := r.Ints(ColDegree), r.Float64s(ColNorm2), r.Float64s(ColShare), r.Float64s(ColShareAbove)
		if want := 1<<s.Summary.L + 1; len(q) != want {
			return fmt.Errorf("%d rows, want %d (degrees 0..2^L for L = %d)", len(q), want, s.Summary.L)
		}
		for i := range q {
			if q[i] != i {
				return fmt.Errorf("row %d is degree %d, want %d", i, q[i], i)
			}
			s.Degrees = append(s.Degrees, Degree{Degree: q[i], Norm2: n2[i], Share: sh[i], ShareAbove: ab[i]})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read spectrum: %w", err)
	}
	return s, nil
}

package paper

import (
	"github.com/bfc-repro/bfc/stages/kinds/claims"
	"github.com/bfc-repro/bfc/stages/kinds/classify"
	"github.com/bfc-repro/bfc/stages/kinds/collect"
	"github.com/bfc-repro/bfc/stages/kinds/fmnist"
	"github.com/bfc-repro/bfc/stages/kinds/nstarfit"
	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/spectrum"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
)

// The output tables of a "paper" stage, declared once:
//
//	numbers  one row per entry: name, op, format, value, shown, text, md, tex, sources (count)
//	sources  one row per source cell of an entry: name, index, kind, key, table, row, column, num, text, is_text
const (
	Version = 1

	TableNumbers = "numbers"
	TableSources = "sources"

	ColName    = "name"
	ColOp      = "op"
	ColFormat  = "format"
	ColValue   = "value"
	ColShown   = "shown"
	ColText    = "text"
	ColMD      = "md"
	ColTeX     = "tex"
	ColSources = "sources"

	ColIndex  = "index"
	ColKind   = "kind"
	ColKey    = "key"
	ColTable  = "table"
	ColRow    = "row"
	ColColumn = "column"
	ColNum    = "num"
	ColIsText = "is_text"
)

// NumbersDesc and SourcesDesc are the schemas of the tables.
var (
	NumbersDesc = kit.TableDesc{Kind: "paper", Version: Version, Name: TableNumbers, Columns: []kit.ColumnDesc{
		kit.StringCol(ColName), kit.StringCol(ColOp), kit.StringCol(ColFormat), kit.FloatCol(ColValue), kit.FloatCol(ColShown),
		kit.StringCol(ColText), kit.StringCol(ColMD), kit.StringCol(ColTeX), kit.IntCol(ColSources)}}
	SourcesDesc = kit.TableDesc{Kind: "paper", Version: Version, Name: TableSources, Columns: []kit.ColumnDesc{
		kit.StringCol(ColName), kit.IntCol(ColIndex), kit.StringCol(ColKind), kit.StringCol(ColKey), kit.StringCol(ColTable),
		kit.IntCol(ColRow), kit.StringCol(ColColumn), kit.FloatCol(ColNum), kit.StringCol(ColText), kit.BoolCol(ColIsText)}}
)

// Produces implements kit.Producer.
func (Kind) Produces(kit.Params) []kit.TableDesc { return []kit.TableDesc{NumbersDesc, SourcesDesc} }

// Consumes implements kit.Consumer: the claims table (required) and every
// table the report reads numbers from (optional: an absent experiment's
// section needs its numbers, which the template names).
func (Kind) Consumes(kit.Params) []kit.TableNeed {
	needs := []kit.TableNeed{target.SummaryDesc.Need(), target.LayersDesc.Need(), train.SummaryDesc(2).Need(),
		train.HistoryDesc(2).Of(train.ColTestRelErr), classify.SummaryDesc.Need(), fmnist.SummaryDesc.Need(),
		fmnist.PublishedDesc.Need(), collect.Need(sweep.ResultDesc), spectrum.SummaryDesc.Need()}
	needs = append(needs, scaling.Needs()...)
	needs = append(needs, nstarfit.FitsDesc.Need(), nstarfit.PointsDesc.Need())
	for i := range needs {
		needs[i].Optional = true
	}
	return append([]kit.TableNeed{claims.Desc.Need()}, needs...)
}

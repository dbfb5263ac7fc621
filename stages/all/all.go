// Package all lists every stage kind compiled into bfc. It is imported by
// the command, never by a kind, so it is in no kind's code identity.
package all

import (
	"github.com/bfc-repro/bfc/stages/kinds/claims"
	"github.com/bfc-repro/bfc/stages/kinds/classify"
	"github.com/bfc-repro/bfc/stages/kinds/collect"
	"github.com/bfc-repro/bfc/stages/kinds/figure"
	"github.com/bfc-repro/bfc/stages/kinds/fmnist"
	"github.com/bfc-repro/bfc/stages/kinds/nstar"
	"github.com/bfc-repro/bfc/stages/kinds/nstarfit"
	"github.com/bfc-repro/bfc/stages/kinds/paper"
	"github.com/bfc-repro/bfc/stages/kinds/scaling"
	"github.com/bfc-repro/bfc/stages/kinds/spectrum"
	"github.com/bfc-repro/bfc/stages/kinds/sweep"
	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Kinds returns every stage kind, in the order `bfc kinds` lists them.
func Kinds() []kit.Kind {
	return []kit.Kind{
		target.Kind{},
		spectrum.Kind{},
		train.Kind{},
		sweep.Kind{},
		scaling.Kind{},
		nstar.Kind{},
		nstarfit.Kind{},
		fmnist.Kind{},
		fmnist.PublishedKind{},
		classify.Kind{},
		collect.Kind{},
		claims.Kind{},
		figure.Kind{},
		paper.Kind{},
	}
}

// Package all lists every stage kind compiled into bfc. It is imported by
// the command, never by a kind, so it is in no kind's code identity.
package all

import (
	"github.com/bfc-repro/bfc/stages/claims"
	"github.com/bfc-repro/bfc/stages/classify"
	"github.com/bfc-repro/bfc/stages/collect"
	"github.com/bfc-repro/bfc/stages/figure"
	"github.com/bfc-repro/bfc/stages/fmnist"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/paper"
	"github.com/bfc-repro/bfc/stages/scaling"
	"github.com/bfc-repro/bfc/stages/sweep"
	"github.com/bfc-repro/bfc/stages/target"
	"github.com/bfc-repro/bfc/stages/train"
)

// Kinds returns every stage kind, in the order `bfc kinds` lists them.
func Kinds() []kit.Kind {
	return []kit.Kind{
		target.Kind{},
		train.Kind{},
		sweep.Kind{},
		scaling.Kind{},
		fmnist.Kind{},
		fmnist.PublishedKind{},
		classify.Kind{},
		collect.Kind{},
		claims.Kind{},
		figure.Kind{},
		paper.Kind{},
	}
}

package exec

import (
	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// Display shows a run as it happens (package view has the ones bfc uses).
type Display interface {
	Begin(points int)
	Started(p *graph.Point, key id.Key)
	Event(ev Event)
	Finished(res *PointResult)
	Printf(format string, args ...any)
	End(sum *Summary)
}

// NopDisplay shows nothing.
type NopDisplay struct{}

func (NopDisplay) Begin(int)                    {}
func (NopDisplay) Started(*graph.Point, id.Key) {}
func (NopDisplay) Event(Event)                  {}
func (NopDisplay) Finished(*PointResult)        {}
func (NopDisplay) Printf(string, ...any)        {}
func (NopDisplay) End(*Summary)                 {}

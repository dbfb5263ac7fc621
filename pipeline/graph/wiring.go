package graph

import (
	"fmt"
	"slices"

	"github.com/bfc-repro/bfc/stages/kit"
)

// Wiring. A kind that reads tables of its inputs (kit.Consumer) declares
// what it reads; a kind that writes tables (kit.Producer) declares their
// schemas. Build checks every point of a consumer against the declarations
// of the points it reads (kit.CheckWiring), each under its own parameters,
// so that a consumer wired to the wrong stage, or to a producer whose
// schema changed, is a config error at the stage's inputs or gather line
// before anything runs. At run time package exec checks every table a
// producer writes against its declaration.

// checkWiring checks the points of s if its kind is a consumer.
func (g *Graph) checkWiring(s *Stage) error {
	cons, ok := s.Kind.(kit.Consumer)
	if !ok {
		return nil
	}
	for _, p := range s.Points {
		needs := cons.Consumes(p.Params)
		if len(needs) == 0 {
			continue
		}
		joined, err := g.upstreams(p.Inputs[:len(s.Inputs)])
		if err != nil {
			return err
		}
		gathered, err := g.upstreams(p.Inputs[len(s.Inputs):])
		if err != nil {
			return err
		}
		err = kit.CheckWiring(p.ID, needs, slices.Concat(joined, gathered))
		if err == nil {
			continue
		}
		// Name the field whose upstream is at fault: a mismatch is found
		// by checking each field's upstreams alone with every need
		// optional; a need no input meets is the fault of gather when the
		// stage gathers and has no inputs, else of inputs.
		optional := slices.Clone(needs)
		for i := range optional {
			optional[i].Optional = true
		}
		field := "inputs"
		if len(s.Inputs) == 0 && len(s.Gather) > 0 {
			field = "gather"
		}
		if ferr := kit.CheckWiring(p.ID, optional, joined); ferr != nil {
			field, err = "inputs", ferr
		} else if ferr := kit.CheckWiring(p.ID, optional, gathered); ferr != nil {
			field, err = "gather", ferr
		}
		return g.Config.ErrAt("stage."+s.ID+"."+field, "%v", err)
	}
	return nil
}

// upstreams describes input points as kit.Upstreams: the stage, its kind
// and the tables it declares under the point's parameters (kit.Declares:
// a kind whose tables depend on its own inputs is given them, recursively).
// Points of one stage that declare the same tables are listed once.
func (g *Graph) upstreams(pts []*Point) ([]kit.Upstream, error) {
	var out []kit.Upstream
	seen := map[string]bool{}
	for _, p := range pts {
		u, err := g.upstream(p)
		if err != nil {
			return nil, err
		}
		if len(pts) == 1 {
			return []kit.Upstream{u}, nil
		}
		sig, ok := g.declaredSig[p]
		if !ok {
			sig = fmt.Sprint(u)
			g.declaredSig[p] = sig
		}
		if !seen[sig] {
			seen[sig] = true
			out = append(out, u)
		}
	}
	return out, nil
}

// upstream describes one point, memoised: a point feeds many consumers.
func (g *Graph) upstream(p *Point) (kit.Upstream, error) {
	if u, ok := g.declared[p]; ok {
		return u, nil
	}
	u := kit.Upstream{Stage: p.Stage.ID, Kind: p.Stage.Kind.Name()}
	var ups []kit.Upstream
	if _, ok := p.Stage.Kind.(kit.InputProducer); ok {
		var err error
		if ups, err = g.upstreams(p.Inputs); err != nil {
			return u, err
		}
	}
	var err error
	u.Produces, u.Declared, err = kit.Declares(p.Stage.Kind, p.Params, ups)
	if err != nil {
		return u, g.Config.ErrAt("stage."+p.Stage.ID+".inputs", "%s: %v", p.ID, err)
	}
	if g.declared == nil {
		g.declared, g.declaredSig = map[*Point]kit.Upstream{}, map[*Point]string{}
	}
	g.declared[p] = u
	return u, nil
}

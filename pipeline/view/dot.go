package view

import (
	"fmt"
	"strings"

	"github.com/bfc-repro/bfc/pipeline/graph"
)

// DOT renders the graph in Graphviz's language: one node per stage (with
// its kind and number of points), or one per point.
func DOT(g *graph.Graph, points bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n", g.Config.Name)
	if points {
		for _, p := range g.Points {
			fmt.Fprintf(&b, "  %q [label=%q];\n", p.ID, p.ID+"\n"+p.Stage.Kind.Name())
		}
		for _, p := range g.Points {
			for _, in := range p.Inputs {
				fmt.Fprintf(&b, "  %q -> %q;\n", in.ID, p.ID)
			}
		}
	} else {
		for _, s := range g.Stages {
			label := s.ID + "\n" + s.Kind.Name()
			if n := len(s.Points); n > 1 {
				label += fmt.Sprintf(" x%d", n)
			}
			fmt.Fprintf(&b, "  %q [label=%q];\n", s.ID, label)
		}
		for _, s := range g.Stages {
			for _, in := range s.Inputs {
				fmt.Fprintf(&b, "  %q -> %q;\n", in.ID, s.ID)
			}
			for _, in := range s.Gather {
				fmt.Fprintf(&b, "  %q -> %q [style=dashed, label=\"gather\"];\n", in.ID, s.ID)
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}

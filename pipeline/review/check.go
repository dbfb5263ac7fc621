package review

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/artifacts/bundle"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/view"
)

// noCode is a code identity without components, for computing the
// declared part of a key (kind, params, seed).
type noCode struct{}

func (noCode) Components(string) ([]store.Component, error) { return nil, nil }

// CheckBundle checks what hashes alone cannot: that a bundle's manifests
// follow from the pipeline it declares. It finds
//
//   - lineage problems: an "input:NNN" component that is not the data of
//     the point the index names as that input (kind, labels and the data
//     hash of every output of its manifest in the bundle), or a count of
//     input components that differs from the index's inputs;
//   - declaration problems: the graph of the bundle's pipeline.toml under
//     its profile, built with this binary's kinds, must have the index's
//     points with the same kinds and inputs, and each manifest's kind,
//     "param:" and "seed" components must be what the file declares.
//
// A declaration mismatch of a point whose kind has another code identity
// in this binary than in the bundle (a different bfc version, whose kinds
// may declare other parameters or defaults) is a warning, not a problem;
// so is a pipeline.toml this binary cannot build. b must be extracted
// (b.Dir set) for the declaration check.
func CheckBundle(b *bundle.Bundle, kinds graph.Registry, code graph.CodeIdentity) (problems, warnings []store.Problem) {
	c := &bundleCheck{b: b, code: code, manifests: map[string]*store.Manifest{}, points: map[string]bundle.Point{}}
	for _, p := range b.Index.Points {
		c.points[p.Point] = p
		if m, err := b.Manifest(p.Key); err == nil {
			c.manifests[p.Point] = m
		}
	}
	for _, p := range b.Index.Points {
		c.lineage(p)
	}
	if b.Dir != "" {
		c.declarations(kinds)
	}
	return c.problems, c.warnings
}

// bundleCheck collects what CheckBundle finds.
type bundleCheck struct {
	b                  *bundle.Bundle
	code               graph.CodeIdentity
	manifests          map[string]*store.Manifest // by point; readable ones only (Verify reports the others)
	points             map[string]bundle.Point
	problems, warnings []store.Problem
}

func (c *bundleCheck) problem(path, format string, args ...any) {
	c.problems = append(c.problems, store.Problem{Path: path, What: fmt.Sprintf(format, args...)})
}

func (c *bundleCheck) warning(path, format string, args ...any) {
	c.warnings = append(c.warnings, store.Problem{Path: path, What: fmt.Sprintf(format, args...)})
}

// lineage checks that the input components of p's manifest are the data
// of the points the index names as its inputs.
func (c *bundleCheck) lineage(p bundle.Point) {
	m := c.manifests[p.Point]
	if m == nil {
		return
	}
	var inputs []store.Component
	for _, comp := range m.Components {
		if strings.HasPrefix(comp.Name, "input:") {
			inputs = append(inputs, comp)
		}
	}
	slices.SortFunc(inputs, func(a, b store.Component) int { return strings.Compare(a.Name, b.Name) })
	path := bundle.ManifestMember(p.Key)
	if len(inputs) != len(p.Inputs) {
		c.problem(path, "point %s: %d input components, the index lists %d inputs", p.Point, len(inputs), len(p.Inputs))
		return
	}
	for i, in := range p.Inputs {
		q, qm := c.points[in], c.manifests[in]
		if qm == nil {
			continue
		}
		want := InputValue(InputCandidate{Point: q.Point, Kind: q.Kind, Labels: q.Labels, Manifest: qm})
		if inputs[i].Value != want {
			c.problem(path, "point %s: input %d is not the data of its input %s in the bundle (%s)", p.Point, i, in, view.InputChange(want, inputs[i].Value))
		}
	}
}

// declarations checks the index and the manifests against the graph of
// the bundle's pipeline.toml under its profile.
func (c *bundleCheck) declarations(kinds graph.Registry) {
	idx := c.b.Index
	cfg, err := config.ParseFile(filepath.Join(c.b.Dir, "pipeline.toml"))
	var g *graph.Graph
	if err == nil {
		g, err = graph.Build(cfg, kinds, idx.Profile)
	}
	if err != nil {
		c.warning("pipeline.toml", "this bfc cannot build its graph (%v); manifests not checked against it", err)
		return
	}
	e := graph.NewEngine(g, nil, noCode{})
	for _, gp := range g.Points {
		p, ok := c.points[gp.ID]
		switch {
		case !ok && slices.Contains(idx.Missing, gp.ID):
			c.warning(bundle.IndexName, "point %s was not computed when the bundle was written", gp.ID)
		case !ok:
			c.problem(bundle.IndexName, "pipeline.toml (profile %q) declares point %s, which the index does not list", idx.Profile, gp.ID)
		default:
			c.declared(e, gp, p)
		}
	}
	for _, p := range idx.Points {
		if _, ok := g.Point(p.Point); !ok {
			c.problem(bundle.IndexName, "the index lists point %s, which pipeline.toml (profile %q) does not declare", p.Point, idx.Profile)
		}
	}
}

// declared checks one point of the index against its point gp of the
// graph: kind, inputs, and the kind, param and seed components of its
// manifest. A mismatch under other code of the kind is a warning.
func (c *bundleCheck) declared(e *graph.Engine, gp *graph.Point, p bundle.Point) {
	var ins []string
	for _, in := range gp.Inputs {
		ins = append(ins, in.ID)
	}
	if p.Kind != gp.Stage.Kind.Name() || !slices.Equal(ins, p.Inputs) {
		c.problem(bundle.IndexName, "point %s: the index gives kind %s and inputs %v, pipeline.toml %s and %v", p.Point, p.Kind, p.Inputs, gp.Stage.Kind.Name(), ins)
		return
	}
	m := c.manifests[p.Point]
	if m == nil {
		return
	}
	bare := *gp
	bare.Files = nil
	path := bundle.ManifestMember(p.Key)
	want, err := e.Components(&bare, nil)
	if err != nil {
		c.problem(path, "%v", err)
		return
	}
	got := slices.DeleteFunc(slices.Clone(m.Components), func(comp store.Component) bool {
		return comp.Name != "kind" && comp.Name != "seed" && !strings.HasPrefix(comp.Name, "param:")
	})
	diff := view.DiffComponents(got, want, false)
	if len(diff) == 0 {
		return
	}
	what := fmt.Sprintf("point %s: the manifest disagrees with pipeline.toml: %s", p.Point, strings.Join(diff, "; "))
	mine, err := c.code.Components(graph.KindPackage(gp.Stage.Kind))
	if cd := CodeDiff(m.Components, mine); err != nil || len(cd) > 0 {
		c.warning(path, "%s (this bfc's code of kind %s differs from the bundle's: %s)", what, p.Kind, strings.Join(view.FirstN(cd, 2), "; "))
		return
	}
	c.problem(path, "%s", what)
}

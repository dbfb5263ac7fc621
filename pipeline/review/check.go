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
	idx := b.Index
	manifests := map[string]*store.Manifest{}
	for _, p := range idx.Points {
		if m, err := b.Manifest(p.Key); err == nil {
			manifests[p.Point] = m
		}
	}
	points := map[string]bundle.Point{}
	for _, p := range idx.Points {
		points[p.Point] = p
	}
	for _, p := range idx.Points {
		m := manifests[p.Point]
		if m == nil {
			continue // Verify reports it
		}
		var inputs []store.Component
		for _, c := range m.Components {
			if strings.HasPrefix(c.Name, "input:") {
				inputs = append(inputs, c)
			}
		}
		slices.SortFunc(inputs, func(a, b store.Component) int { return strings.Compare(a.Name, b.Name) })
		path := bundle.ManifestMember(p.Key)
		if len(inputs) != len(p.Inputs) {
			problems = append(problems, store.Problem{Path: path, What: fmt.Sprintf("point %s: %d input components, the index lists %d inputs", p.Point, len(inputs), len(p.Inputs))})
			continue
		}
		for i, in := range p.Inputs {
			q, qm := points[in], manifests[in]
			if qm == nil {
				continue
			}
			want := InputValue(InputCandidate{Point: q.Point, Kind: q.Kind, Labels: q.Labels, Manifest: qm})
			if inputs[i].Value != want {
				problems = append(problems, store.Problem{Path: path, What: fmt.Sprintf("point %s: input %d is not the data of its input %s in the bundle (%s)", p.Point, i, in, view.InputChange(want, inputs[i].Value))})
			}
		}
	}
	if b.Dir == "" {
		return problems, warnings
	}
	cfg, err := config.ParseFile(filepath.Join(b.Dir, "pipeline.toml"))
	var g *graph.Graph
	if err == nil {
		g, err = graph.Build(cfg, kinds, idx.Profile)
	}
	if err != nil {
		warnings = append(warnings, store.Problem{Path: "pipeline.toml", What: fmt.Sprintf("this bfc cannot build its graph (%v); manifests not checked against it", err)})
		return problems, warnings
	}
	e := graph.NewEngine(g, nil, noCode{})
	for _, gp := range g.Points {
		p, ok := points[gp.ID]
		if !ok && slices.Contains(idx.Missing, gp.ID) {
			warnings = append(warnings, store.Problem{Path: bundle.IndexName, What: fmt.Sprintf("point %s was not computed when the bundle was written", gp.ID)})
			continue
		}
		if !ok {
			problems = append(problems, store.Problem{Path: bundle.IndexName, What: fmt.Sprintf("pipeline.toml (profile %q) declares point %s, which the index does not list", idx.Profile, gp.ID)})
			continue
		}
		var ins []string
		for _, in := range gp.Inputs {
			ins = append(ins, in.ID)
		}
		if p.Kind != gp.Stage.Kind.Name() || !slices.Equal(ins, p.Inputs) {
			problems = append(problems, store.Problem{Path: bundle.IndexName, What: fmt.Sprintf("point %s: the index gives kind %s and inputs %v, pipeline.toml %s and %v", p.Point, p.Kind, p.Inputs, gp.Stage.Kind.Name(), ins)})
			continue
		}
		m := manifests[p.Point]
		if m == nil {
			continue
		}
		bare := *gp
		bare.Files = nil
		declared, err := e.Components(&bare, nil)
		if err != nil {
			problems = append(problems, store.Problem{Path: bundle.ManifestMember(p.Key), What: err.Error()})
			continue
		}
		got := slices.DeleteFunc(slices.Clone(m.Components), func(c store.Component) bool {
			return c.Name != "kind" && c.Name != "seed" && !strings.HasPrefix(c.Name, "param:")
		})
		diff := view.DiffComponents(got, declared, false)
		if len(diff) == 0 {
			continue
		}
		what := fmt.Sprintf("point %s: the manifest disagrees with pipeline.toml: %s", p.Point, strings.Join(diff, "; "))
		mine, err := code.Components(graph.KindPackage(gp.Stage.Kind))
		if cd := CodeDiff(m.Components, mine); err != nil || len(cd) > 0 {
			warnings = append(warnings, store.Problem{Path: bundle.ManifestMember(p.Key), What: what + fmt.Sprintf(" (this bfc's code of kind %s differs from the bundle's: %s)", p.Kind, strings.Join(view.FirstN(cd, 2), "; "))})
			continue
		}
		problems = append(problems, store.Problem{Path: bundle.ManifestMember(p.Key), What: what})
	}
	for _, p := range idx.Points {
		if _, ok := g.Point(p.Point); !ok {
			problems = append(problems, store.Problem{Path: bundle.IndexName, What: fmt.Sprintf("the index lists point %s, which pipeline.toml (profile %q) does not declare", p.Point, idx.Profile)})
		}
	}
	return problems, warnings
}

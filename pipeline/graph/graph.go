// Package graph is the second layer of the bfc engine: what a pipeline
// means in terms of stage kinds, and the keys of its points.
//
// Build checks a parsed file (package config) under a profile against
// the stage kinds of a Registry: every parameter is declared by its kind
// and has the declared type and range, grid axes are parameters or the
// seed, inputs exist and form no cycle, and each consumer's inputs write
// the tables it reads (kit.CheckWiring, see wiring.go). It expands stages
// into points: a stage with a grid becomes one point per grid coordinate
// and a stage inherits the axes of its inputs (see Stage). Every error is
// a *config.ConfigError at the line of the offending field.
//
// An Engine ties a graph to a store and a CodeIdentity and derives the key
// of each point from its key components (key.go): the kind, each declared
// parameter in canonical JSON, the seed, the data hashes of its inputs'
// outputs (not their keys, so a rerun that reproduces the same data
// changes nothing downstream), the hashes of the external files it reads
// and its code identity. CodeBase is the code identity of the real kinds
// (codeid.go): the comment-free token streams of the Go packages a kind
// depends on in this module, the versions of the modules they import (from
// go.mod with its replace directives), the Go version, the architecture and
// the BLAS backend.
//
// Live (live.go) is the reachability rule of `bfc gc`: what every
// profile's graph, the refs and the pins keep alive.
package graph

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Registry maps kind names to stage kinds.
type Registry map[string]kit.Kind

// NewRegistry indexes kinds by name.
func NewRegistry(kinds ...kit.Kind) Registry {
	r := Registry{}
	for _, k := range kinds {
		r[k.Name()] = k
	}
	return r
}

// Names returns the kind names in order.
func (r Registry) Names() []string { return slices.Sorted(maps.Keys(r)) }

// Graph is a validated pipeline under one profile, expanded into points:
// a stage with a grid becomes one point per grid coordinate, and a stage
// whose inputs have grids inherits their axes (see Stage).
type Graph struct {
	Config  *config.Config // the file under Profile (config.Config.Apply)
	Profile string
	Stages  []*Stage // topological order
	Points  []*Point // topological order
	byID    map[string]*Stage
	byPoint map[string]*Point
	// declared memoises the tables each point declares (wiring.go).
	declared map[*Point]kit.Upstream
	// declaredSig is fmt.Sprint of declared[p], which upstreams compares
	// (made when first needed).
	declaredSig map[*Point]string
}

// Stage is a [stage.ID] table after profile overrides.
//
// Grid semantics: a stage's points are the join of the points of its
// `inputs` on shared axis names (as in a database natural join), crossed
// with its own `grid`. Axes of inputs are inherited, so a training stage
// whose target has a grid over seed has one point per seed. A `gather`
// input is not joined: each point receives every point of the gathered
// stage that agrees with it on the axes they share (a figure gathering
// all seeds and schedules). The `seed` axis sets the point's seed.
type Stage struct {
	ID     string
	Kind   kit.Kind
	Decl   *config.StageDecl
	Inputs []*Stage
	Gather []*Stage
	Points []*Point

	params []kit.Param // Kind.Params(), once (expand)
}

// FileRef is an external file a kind reads: Path as the kind declared it
// (relative to the project, or absolute under a data root), which names
// it in the stage key so that moving the project changes no key, and Abs,
// where it is on this machine.
type FileRef struct {
	Path string `json:"path"`
	Abs  string `json:"abs"`
}

// Point is one unit of work: a stage at one grid coordinate.
type Point struct {
	ID     string // "stage" or "stage[axis=value,...]"
	Stage  *Stage
	Labels map[string]string
	Params kit.Params
	Seed   int64
	Inputs []*Point
	Files  []FileRef // external files the kind reads
}

// Stage returns the stage with id.
func (g *Graph) Stage(id string) (*Stage, bool) { s, ok := g.byID[id]; return s, ok }

// Point returns the point with id.
func (g *Graph) Point(id string) (*Point, bool) { p, ok := g.byPoint[id]; return p, ok }

// Select resolves command-line names (stage ids or point ids) to points.
func (g *Graph) Select(names []string) ([]*Point, error) {
	if len(names) == 0 {
		return g.Points, nil
	}
	var out []*Point
	seen := map[*Point]bool{}
	for _, n := range names {
		var pts []*Point
		if s, ok := g.byID[n]; ok {
			pts = s.Points
		} else if p, ok := g.byPoint[n]; ok {
			pts = []*Point{p}
		} else {
			return nil, fmt.Errorf("no stage or point %q in %s%s", n, g.Config.File, config.Suggest(n, slices.Sorted(maps.Keys(g.byID))))
		}
		for _, p := range pts {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// Closure returns the given points and everything they depend on, in
// topological order.
func (g *Graph) Closure(pts []*Point) []*Point {
	need := map[*Point]bool{}
	var visit func(p *Point)
	visit = func(p *Point) {
		if need[p] {
			return
		}
		need[p] = true
		for _, in := range p.Inputs {
			visit(in)
		}
	}
	for _, p := range pts {
		visit(p)
	}
	var out []*Point
	for _, p := range g.Points {
		if need[p] {
			out = append(out, p)
		}
	}
	return out
}

// PointID formats "stage[a=1,b=x]" with axes in name order.
func PointID(stage string, labels map[string]string) string {
	if len(labels) == 0 {
		return stage
	}
	var buf [8]string // grids have few axes: no allocation for the names
	names := buf[:0]
	size := len(stage) + 2
	for k, v := range labels {
		names = append(names, k)
		size += len(k) + len(v) + 2
	}
	slices.Sort(names)
	var b strings.Builder
	b.Grow(size)
	b.WriteString(stage)
	b.WriteByte('[')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(labels[n])
	}
	b.WriteByte(']')
	return b.String()
}

// Build checks cfg under profile ("" = the file's default profile)
// against the kinds and expands it into points. cfg is not modified: the
// graph holds the profile's own Config.
//
// Every problem is reported in one pass (a config.Errors, by line). A
// stage with a problem is left out of the graph with every stage that
// depends on it, whose problems would only be echoes; a cycle stops the
// check. The graph returned with an error holds the stages without one.
func Build(cfg *config.Config, kinds Registry, profile string) (*Graph, error) {
	if profile == "" {
		profile = cfg.Profile
	}
	applied, err := cfg.Apply(profile, kinds.Names())
	if applied == nil {
		return nil, err
	}
	errs := []error{err}
	cfg = applied
	decls := cfg.Stages
	g := &Graph{Config: cfg, Profile: profile, byID: map[string]*Stage{}, byPoint: map[string]*Point{}}
	stages := map[string]*Stage{}
	broken := map[string]bool{} // stages with problems, and their dependents
	var ids []string
	for _, d := range decls {
		ids = append(ids, d.ID)
		k, ok := kinds[d.Kind]
		if !ok {
			errs = append(errs, cfg.ErrAt("stage."+d.ID+".kind", "unknown stage kind %q%s", d.Kind, config.Suggest(d.Kind, kinds.Names())))
			broken[d.ID] = true
			continue
		}
		stages[d.ID] = &Stage{ID: d.ID, Kind: k, Decl: d}
	}
	for _, id := range ids {
		s := stages[id]
		if s == nil {
			continue
		}
		seen := map[string]bool{}
		link := func(field string, list []string) ([]*Stage, error) {
			var out []*Stage
			for _, in := range list {
				path := "stage." + id + "." + field
				if in == id {
					return nil, cfg.ErrAt(path, "stage %s lists itself as an input", id)
				}
				if seen[in] {
					return nil, cfg.ErrAt(path, "input %q is listed twice (in inputs or gather)", in)
				}
				seen[in] = true
				if broken[in] || cfg.Broken(in) {
					broken[id] = true // its input's problems are reported
					continue
				}
				u, ok := stages[in]
				if !ok {
					return nil, cfg.ErrAt(path, "no stage %q%s", in, config.Suggest(in, ids))
				}
				out = append(out, u)
			}
			return out, nil
		}
		var errIn, errGather error
		s.Inputs, errIn = link("inputs", s.Decl.Inputs)
		s.Gather, errGather = link("gather", s.Decl.Gather)
		if errIn != nil || errGather != nil {
			errs = append(errs, errIn, errGather)
			broken[id] = true
		}
	}
	var live []string
	for _, id := range ids {
		if stages[id] != nil {
			live = append(live, id)
		}
	}
	order, err := topoSort(cfg, live, stages)
	if err != nil {
		return nil, config.Collect(cfg.File, append(errs, err)...)
	}
	for _, id := range order {
		s := stages[id]
		if broken[id] || slices.ContainsFunc(slices.Concat(s.Inputs, s.Gather), func(u *Stage) bool { return broken[u.ID] }) {
			broken[id] = true
			continue
		}
		errs = append(errs, g.unknownParams(s))
		err := g.expand(s)
		if err == nil {
			err = g.checkWiring(s)
		}
		if err != nil {
			errs = append(errs, err)
			broken[id] = true
			continue
		}
		g.Stages = append(g.Stages, s)
		g.byID[id] = s
		for _, p := range s.Points {
			g.Points = append(g.Points, p)
			g.byPoint[p.ID] = p
		}
	}
	return g, config.Collect(cfg.File, errs...)
}

// topoSort orders stages so inputs come first, keeping file order among
// independent stages, and names a cycle if there is one.
func topoSort(cfg *config.Config, ids []string, stages map[string]*Stage) ([]string, error) {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var order []string
	var stack []string
	var visit func(id string) error
	visit = func(id string) error {
		switch color[id] {
		case black:
			return nil
		case grey:
			i := slices.Index(stack, id)
			cycle := append(slices.Clone(stack[i:]), id)
			return cfg.ErrAt("stage."+cycle[0]+".inputs", "cycle: %s", strings.Join(reverse(cycle), " -> "))
		}
		color[id] = grey
		stack = append(stack, id)
		s := stages[id]
		for _, u := range slices.Concat(s.Inputs, s.Gather) {
			if err := visit(u.ID); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		order = append(order, id)
		return nil
	}
	for _, id := range ids {
		if err := visit(id); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// reverse turns an input-chain (a needs b needs a) into data-flow order.
func reverse(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func consistent(a, b map[string]string) bool {
	for k, v := range b {
		if w, ok := a[k]; ok && w != v {
			return false
		}
	}
	return true
}

type partial struct {
	labels map[string]string
	inputs []*Point
}

// gridValues maps each axis of d's grid and each of its labels to the
// value (config.Label) that gives it; a later value with the same label
// wins, as in the grid's own order.
func gridValues(d *config.StageDecl) map[string]map[string]any {
	out := make(map[string]map[string]any, len(d.Grid))
	for _, a := range d.Grid {
		m := make(map[string]any, len(a.Values))
		for _, v := range a.Values {
			m[config.Label(v)] = v
		}
		out[a.Name] = m
	}
	return out
}

// labelIndex finds the points of a stage consistent with a partial's
// labels (agreeing on every axis both have) without scanning them all,
// which made expansion quadratic in the points: when every point has the
// same axes and so does every partial, the points are grouped by their
// labels on the shared axes; otherwise match scans.
type labelIndex struct {
	pts    []*Point
	shared []string // nil: scan
	groups map[string][]*Point
}

// newLabelIndex indexes pts for matching the labels of parts.
func newLabelIndex(pts []*Point, parts []partial) *labelIndex {
	ix := &labelIndex{pts: pts}
	if len(pts) == 0 || len(parts) == 0 || !sameAxes(pts[0].Labels, pts, func(p *Point) map[string]string { return p.Labels }) ||
		!sameAxes(parts[0].labels, parts, func(pa partial) map[string]string { return pa.labels }) {
		return ix
	}
	shared := []string{}
	for _, k := range slices.Sorted(maps.Keys(pts[0].Labels)) {
		if _, ok := parts[0].labels[k]; ok {
			shared = append(shared, k)
		}
	}
	ix.shared, ix.groups = shared, map[string][]*Point{}
	for _, p := range pts {
		k := labelKey(shared, p.Labels)
		ix.groups[k] = append(ix.groups[k], p)
	}
	return ix
}

// match returns the points consistent with labels, in their order.
func (ix *labelIndex) match(labels map[string]string) []*Point {
	if ix.shared != nil {
		return ix.groups[labelKey(ix.shared, labels)]
	}
	var out []*Point
	for _, p := range ix.pts {
		if consistent(labels, p.Labels) {
			out = append(out, p)
		}
	}
	return out
}

// sameAxes reports whether every element's labels have exactly the axes
// of first.
func sameAxes[T any](first map[string]string, xs []T, labels func(T) map[string]string) bool {
	for _, x := range xs {
		l := labels(x)
		if len(l) != len(first) {
			return false
		}
		for k := range l {
			if _, ok := first[k]; !ok {
				return false
			}
		}
	}
	return true
}

// labelKey is the values of labels on axes, each with its length so that
// no two lists of values share a key.
func labelKey(axes []string, labels map[string]string) string {
	var b strings.Builder
	for _, a := range axes {
		v := labels[a]
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}

// expand computes s's points from its inputs' points and its own grid:
// the join of the inputs' points (joinInputs), crossed with the grid
// (crossGrid), each with its params, seed, gathered inputs and files
// (newPoint).
func (g *Graph) expand(s *Stage) error {
	s.params = s.Kind.Params() // some kinds build their list on every call
	names := make([]string, 0, len(s.params))
	for _, p := range s.params {
		names = append(names, p.Name)
	}
	var errs []error
	parts, err := g.joinInputs(s)
	if err != nil {
		return err
	}
	if parts, err = g.crossGrid(s, names, parts); err != nil {
		return err
	}
	values := gridValues(s.Decl)
	gathered := make([]*labelIndex, len(s.Gather))
	for i, gs := range s.Gather {
		gathered[i] = newLabelIndex(gs.Points, parts)
	}
	for _, pa := range parts {
		p, err := g.newPoint(s, pa, values, gathered)
		if err != nil {
			errs = append(errs, err) // points of a grid share problems: Collect drops repeats
			continue
		}
		s.Points = append(s.Points, p)
	}
	return config.Collect(g.Config.File, errs...)
}

// unknownParams reports every parameter of s that its kind does not
// declare. The kind ignores them, so the stage's points can still be
// checked (and its dependents).
func (g *Graph) unknownParams(s *Stage) error {
	d := s.Decl
	var names []string
	for _, p := range s.Kind.Params() {
		names = append(names, p.Name)
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(d.Params)) {
		if !slices.Contains(names, k) {
			errs = append(errs, g.Config.ErrAt(srcOf(d, k, "stage."+s.ID+".params."+k), "unknown parameter of kind %q%s", d.Kind, config.Suggest(k, names)))
		}
	}
	return config.Collect(g.Config.File, errs...)
}

// srcOf is the TOML path that set key of d, else fallback.
func srcOf(d *config.StageDecl, key, fallback string) string {
	if p, ok := d.Source(key); ok {
		return p
	}
	return fallback
}

// joinInputs joins the points of s's inputs on their shared axes.
func (g *Graph) joinInputs(s *Stage) ([]partial, error) {
	parts := []partial{{labels: map[string]string{}}}
	for _, u := range s.Inputs {
		var next []partial
		ix := newLabelIndex(u.Points, parts)
		for _, pa := range parts {
			for _, up := range ix.match(pa.labels) {
				l := maps.Clone(pa.labels)
				maps.Copy(l, up.Labels)
				next = append(next, partial{labels: l, inputs: append(slices.Clone(pa.inputs), up)})
			}
		}
		if len(next) == 0 {
			return nil, g.Config.ErrAt("stage."+s.ID+".inputs", "input %s shares no grid point with the inputs before it (their axes disagree on every point)", u.ID)
		}
		parts = next
	}
	return parts, nil
}

// crossGrid crosses parts with every axis of s's grid, whose names must be
// the seed or parameters of the kind (names) not set in params nor
// inherited from an input.
func (g *Graph) crossGrid(s *Stage, names []string, parts []partial) ([]partial, error) {
	d := s.Decl
	for _, a := range d.Grid {
		path := srcOf(d, "grid:"+a.Name, "stage."+s.ID+".grid."+a.Name)
		if a.Name != "seed" {
			if !slices.Contains(names, a.Name) {
				return nil, g.Config.ErrAt(path, "grid axis must be \"seed\" or a parameter of kind %q%s", d.Kind, config.Suggest(a.Name, append(names, "seed")))
			}
			if _, ok := d.Params[a.Name]; ok {
				return nil, g.Config.ErrAt(path, "parameter %s is set both in params and in grid; keep one", a.Name)
			}
		}
		if _, ok := parts[0].labels[a.Name]; ok {
			return nil, g.Config.ErrAt(path, "axis %s already comes from an input; a stage cannot redefine an inherited axis", a.Name)
		}
		var next []partial
		for _, pa := range parts {
			for _, v := range a.Values {
				l := maps.Clone(pa.labels)
				l[a.Name] = config.Label(v)
				next = append(next, partial{labels: l, inputs: pa.inputs})
			}
		}
		parts = next
	}
	return parts, nil
}

// newPoint makes the point of s at one grid coordinate: its params
// (resolved and validated by the kind), seed, gathered inputs and the
// external files its kind reads.
//
// values are the grid's values by axis and label (gridValues), gathered
// the points of each gathered stage indexed for pa's labels.
func (g *Graph) newPoint(s *Stage, pa partial, values map[string]map[string]any, gathered []*labelIndex) (*Point, error) {
	cfg, d := g.Config, s.Decl
	raw := maps.Clone(d.Params)
	gridSet := map[string]bool{}
	for _, a := range d.Grid {
		if a.Name == "seed" {
			continue
		}
		if v, ok := values[a.Name][pa.labels[a.Name]]; ok {
			raw[a.Name] = v
		}
		gridSet[a.Name] = true
	}
	params, err := kit.Resolve(s.params, raw)
	if err != nil {
		return nil, g.paramErrors(s, err, gridSet, pa.labels)
	}
	if v, ok := s.Kind.(kit.Validator); ok {
		if err := v.Validate(params); err != nil {
			return nil, g.paramError(s, err, gridSet, pa.labels)
		}
	}
	if ic, ok := s.Kind.(kit.InputChecker); ok {
		ins := make([]kit.InputParams, len(pa.inputs))
		for i, in := range pa.inputs {
			ins[i] = kit.InputParams{Point: in.ID, Kind: in.Stage.Kind.Name(), Params: in.Params}
		}
		if err := ic.CheckInputs(params, ins); err != nil {
			return nil, g.paramError(s, err, gridSet, pa.labels)
		}
	}
	seed, err := g.pointSeed(s, pa.labels)
	if err != nil {
		return nil, err
	}
	p := &Point{Stage: s, Labels: pa.labels, Params: params, Seed: seed, Inputs: pa.inputs}
	p.ID = PointID(s.ID, pa.labels)
	for i, gs := range s.Gather {
		got := gathered[i].match(pa.labels)
		if len(got) == 0 {
			return nil, cfg.ErrAt("stage."+s.ID+".gather", "no point of %s matches %s", gs.ID, p.ID)
		}
		p.Inputs = append(p.Inputs, got...)
	}
	if filer, ok := s.Kind.(kit.Filer); ok {
		for _, f := range filer.Files(params) {
			abs, err := cfg.ExternalFile(f)
			if err != nil {
				return nil, cfg.ErrAt("stage."+s.ID+".params", "%v", err)
			}
			p.Files = append(p.Files, FileRef{Path: f, Abs: abs})
		}
	}
	return p, nil
}

// paramErrors locates every problem of a kit.FieldErrors (one error of
// any other kind is located at the stage's params).
func (g *Graph) paramErrors(s *Stage, err error, gridSet map[string]bool, labels map[string]string) error {
	var list kit.FieldErrors
	if !errors.As(err, &list) {
		return g.paramError(s, err, gridSet, labels)
	}
	errs := make([]error, len(list))
	for i, fe := range list {
		errs[i] = g.paramError(s, fe, gridSet, labels)
	}
	return config.Collect(g.Config.File, errs...)
}

func (g *Graph) paramError(s *Stage, err error, gridSet map[string]bool, labels map[string]string) error {
	sp := "stage." + s.ID
	var fe *kit.FieldError
	if !errors.As(err, &fe) {
		return g.Config.ErrAt(sp+".params", "%v", err)
	}
	path := sp + ".params." + fe.Field
	if gridSet[fe.Field] {
		path = sp + ".grid." + fe.Field
		if src, ok := s.Decl.Source("grid:" + fe.Field); ok {
			path = src
		}
		return g.Config.ErrAt(path, "value %s: %s", labels[fe.Field], fe.Msg)
	}
	if src, ok := s.Decl.Source(fe.Field); ok {
		path = src
	}
	return g.Config.ErrAt(path, "%s", fe.Msg)
}

func (g *Graph) pointSeed(s *Stage, labels map[string]string) (int64, error) {
	sp := "stage." + s.ID
	v, ok := labels["seed"]
	if !ok {
		if s.Decl.Seed != nil {
			return *s.Decl.Seed, nil
		}
		return 0, nil
	}
	inherited := true
	for _, a := range s.Decl.Grid {
		if a.Name == "seed" {
			inherited = false
		}
	}
	if inherited && s.Decl.Seed != nil {
		return 0, g.Config.ErrAt(sp+".seed", "the stage sets seed, but its inputs give it a seed axis; remove one")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, g.Config.ErrAt(sp+".grid.seed", "seed %q is not a non-negative integer", v)
	}
	return n, nil
}

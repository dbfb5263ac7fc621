package config

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
)

// Apply returns the configuration under profile name ("" = the file as
// written): a new Config whose stage declarations have the profile's
// overrides merged in (base params < profile kind params < profile stage
// params; kind params skip a stage's grid axes) and whose store, figures
// and paper directories are the profile's. kinds are the names of the
// known stage kinds, which a profile's kind tables must name. c is not
// modified. Every problem is reported (an Errors); the Config returned
// with them has every override that has none, so the caller can go on
// checking it.
func (c *Config) Apply(name string, kinds []string) (*Config, error) {
	out := c.clone()
	out.Applied = name
	if name == "" {
		return out, out.deriveAxes(c.Lock)
	}
	p, ok := c.Profiles[name]
	if !ok {
		return nil, &ConfigError{File: c.File, Field: "--profile", Msg: fmt.Sprintf("no [profile.%s] in the file%s", name, Suggest(name, keys(c.Profiles)))}
	}
	base := "profile." + name
	var errs []error
	if len(p.Pipeline) > 0 {
		dir := func(k, cur string) string {
			if v, ok := p.Pipeline[k].(string); ok {
				return v
			}
			if rel, err := filepath.Rel(c.Dir, cur); err == nil {
				return rel
			}
			return cur
		}
		errs = append(errs, out.setDirs(dir("store", c.Store), dir("figures", c.Figures), dir("paper", c.Paper), base+".pipeline"))
	}
	// Stage overrides first fix the grid, so that kind-wide params skip
	// the parameters a stage sweeps over (`kind.target = { d = 6 }` must
	// not collide with a stage whose grid is over d); then kind-wide
	// params; then the stage's own params, which win.
	for _, id := range keys(p.Stages) {
		d := out.stage(id)
		if d == nil {
			if !c.broken[id] { // a stage with errors of its own was reported
				errs = append(errs, c.ErrAt(base+".stage."+id, "no stage %q to override%s", id, Suggest(id, out.stageIDs())))
			}
			continue
		}
		o := p.Stages[id]
		for _, a := range o.Grid {
			if j := slices.IndexFunc(d.Grid, func(b Axis) bool { return b.Name == a.Name }); j >= 0 {
				d.Grid[j] = a
			} else {
				d.Grid = append(d.Grid, a)
			}
			d.src["grid:"+a.Name] = base + ".stage." + id + ".grid." + a.Name
		}
		if o.Seed != nil {
			d.Seed = o.Seed
			d.src["seed"] = base + ".stage." + id + ".seed"
		}
	}
	for _, kind := range keys(p.Kinds) {
		if !slices.Contains(kinds, kind) {
			errs = append(errs, c.ErrAt(base+".kind."+kind, "unknown stage kind %q%s", kind, Suggest(kind, kinds)))
			continue
		}
		for _, d := range out.Stages {
			if d.Kind != kind {
				continue
			}
			for k, v := range p.Kinds[kind] {
				if slices.ContainsFunc(d.Grid, func(a Axis) bool { return a.Name == k }) {
					continue
				}
				d.Params[k] = v
				d.src[k] = base + ".kind." + kind + "." + k
			}
		}
	}
	for _, id := range keys(p.Stages) {
		d := out.stage(id)
		if d == nil {
			continue
		}
		for k, v := range p.Stages[id].Params {
			d.Params[k] = v
			d.src[k] = base + ".stage." + id + ".params." + k
		}
	}
	errs = append(errs, out.deriveAxes(c.Lock))
	return out, Collect(c.File, errs...)
}

// clone copies c deeply enough that Apply can change the copy: stage
// declarations (with their params, grids and sources), directories and
// the maps and slices a caller might change. Parsed values inside params
// and grids are shared; nothing changes them.
func (c *Config) clone() *Config {
	out := *c
	out.DataRoot = slices.Clone(c.DataRoot)
	out.Executor.PerKind = maps.Clone(c.Executor.PerKind)
	out.Executor.Extra = slices.Clone(c.Executor.Extra)
	out.Profiles = maps.Clone(c.Profiles)
	out.Lock = maps.Clone(c.Lock)
	out.Stages = make([]*StageDecl, len(c.Stages))
	for i, d := range c.Stages {
		cp := *d
		cp.Inputs = slices.Clone(d.Inputs)
		cp.Gather = slices.Clone(d.Gather)
		cp.Params = maps.Clone(d.Params)
		cp.Grid = slices.Clone(d.Grid)
		cp.src = maps.Clone(d.src)
		out.Stages[i] = &cp
	}
	return &out
}

func (c *Config) stage(id string) *StageDecl {
	for _, d := range c.Stages {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func (c *Config) stageIDs() []string {
	out := make([]string, len(c.Stages))
	for i, d := range c.Stages {
		out[i] = d.ID
	}
	return out
}

// Label is the canonical text of a grid value, as it appears in point ids
// ("train[seed=1]").
func Label(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// ExternalFile resolves a file a kind reads: relative paths are inside the
// project; absolute paths must lie under one of the data roots. Symbolic
// links are resolved before the check, so a link cannot lead outside.
func (c *Config) ExternalFile(f string) (string, error) {
	var p string
	if filepath.IsAbs(f) {
		p = filepath.Clean(f)
	} else {
		p = filepath.Join(c.Dir, f)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		// A file that does not exist yet is checked lexically here; the
		// stage fails with a clear message when it needs the file.
		real = p
	}
	for _, r := range append([]string{c.Dir}, c.DataRoot...) {
		rr, err := filepath.EvalSymlinks(r)
		if err != nil {
			rr = r
		}
		if inside(rr, real) {
			return p, nil
		}
	}
	return "", fmt.Errorf("file %s is outside the project and the data roots %v", p, c.DataRoot)
}

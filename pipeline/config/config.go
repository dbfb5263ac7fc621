// Package config reads pipeline.toml: the first layer of the bfc engine.
//
// A pipeline file declares the run (name, master seed, store, figures and
// paper directories, data roots), the executor, the stages and the
// profiles. Parse checks what can be checked without the stage kinds:
// TOML syntax, known tables and fields, field types, stage ids, paths that
// must stay inside the project. Every error is a *ConfigError naming the
// file, the line and the field, found by a small scanner of key positions
// (locate.go) because the TOML library does not report them.
//
// A profile ([profile.NAME]) is a set of overrides: other directories,
// parameters for every stage of a kind, parameters, grid axes or seed of
// one stage. Apply is a pure function from a Config and a profile name to
// a new Config with the overrides merged (base < profile kind params <
// profile stage params; kind params skip a stage's grid axes); the Config
// it is given is never modified, so one parsed file can be looked at under
// every profile (bfc gc does).
//
// What the file means in terms of stage kinds (parameter names, types and
// ranges, grids expanded into points, inputs wired to outputs) is the next
// layer's business: package graph.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is a parsed pipeline file, before it is checked against the
// stage kinds and expanded into points.
//
// The file has four kinds of tables:
//
//	[pipeline]        name, seed (master seed), store, figures, paper, profile, data_roots
//	[executor]        kind = "local" | "slurm" and its settings
//	[stage.ID]        kind, inputs, gather, seed, params, grid, doc
//	[profile.NAME]    pipeline = {...}, kind.KIND = {params}, stage.ID = {params, grid, seed}
type Config struct {
	File     string // the path as given
	Dir      string // absolute directory of the file: the project root
	Name     string
	Seed     int64
	Store    string // absolute
	Figures  string // absolute, inside Dir
	Paper    string // absolute, inside Dir
	Profile  string // default profile ("" = none)
	DataRoot []string
	Executor ExecutorConfig
	Stages   []*StageDecl // in file order
	Profiles map[string]*Profile
	// Applied is the profile Apply merged in ("" for the file as written).
	Applied string

	pos map[string]int // key path -> line
}

// ExecutorConfig selects and configures the executor.
type ExecutorConfig struct {
	Kind string // "local" (default) or "slurm"
	// Slurm settings.
	Partition string
	Time      string              // default time limit, e.g. "01:00:00"
	Mem       string              // default memory per job, e.g. "2G"
	CPUs      int                 // default CPUs per job
	PerKind   map[string]SlurmRes // overrides per stage kind
	Extra     []string            // extra sbatch flags
	Poll      float64             // seconds between squeue/sacct polls
}

// SlurmRes are per-kind resource overrides for the slurm executor.
type SlurmRes struct {
	Partition string
	Time      string
	Mem       string
	CPUs      int
}

// StageDecl is one [stage.ID] table (after Apply, with its profile's
// overrides merged in).
type StageDecl struct {
	ID     string
	Kind   string
	Inputs []string
	Gather []string
	Seed   *int64
	Params map[string]any
	Grid   []Axis
	Doc    string
	Line   int
	// src maps a param or axis name to the TOML path that set it, so
	// errors point at a profile override when that is where a value came from.
	src map[string]string
}

// Axis is one dimension of a stage's grid.
type Axis struct {
	Name   string
	Values []any
}

// Profile is one [profile.NAME] table.
type Profile struct {
	Name     string
	Doc      string
	Pipeline map[string]any
	Kinds    map[string]map[string]any
	Stages   map[string]*StageOverride
}

// StageOverride is a profile's change to one stage.
type StageOverride struct {
	Params map[string]any
	Grid   []Axis
	Seed   *int64
}

var idRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// Source returns the TOML path that set a parameter (or, as "grid:NAME", a
// grid axis, or "seed") of the stage, so that errors point at a profile
// override when that is where a value came from.
func (d *StageDecl) Source(key string) (string, bool) {
	p, ok := d.src[key]
	return p, ok
}

// ErrAt returns a *ConfigError at the line of the TOML path.
func (c *Config) ErrAt(path, format string, args ...any) error {
	return &ConfigError{File: c.File, Line: c.line(path), Field: path, Msg: fmt.Sprintf(format, args...)}
}

// line returns the line of path or of its nearest located ancestor.
func (c *Config) line(path string) int {
	for p := path; p != ""; {
		if l, ok := c.pos[p]; ok {
			return l
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// ParseFile reads a pipeline file and checks its structure (see Parse).
func ParseFile(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	return Parse(path, src)
}

// Parse checks the structure of the pipeline file src, read from path:
// TOML syntax, known tables and fields, field types, stage ids. It does
// not know the stage kinds; graph.Build checks params against them.
func Parse(path string, src []byte) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	c := &Config{File: path, Dir: filepath.Dir(abs), Profiles: map[string]*Profile{}}
	var raw map[string]any
	if _, err := toml.Decode(string(src), &raw); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			msg := perr.Message
			if msg == "" {
				msg = perr.Error()
			}
			return nil, &ConfigError{File: path, Line: perr.Position.Line, Msg: "TOML syntax error: " + msg}
		}
		return nil, &ConfigError{File: path, Msg: "TOML: " + err.Error()}
	}
	c.pos = locateKeys(src)
	if err := c.checkKeys("", raw, []string{"pipeline", "executor", "stage", "profile"}); err != nil {
		return nil, err
	}
	if err := c.parsePipeline(raw); err != nil {
		return nil, err
	}
	if err := c.parseExecutor(raw); err != nil {
		return nil, err
	}
	stages, err := c.table("stage", raw["stage"])
	if err != nil {
		return nil, err
	}
	ids := sortedByLine(c, "stage", stages)
	for _, id := range ids {
		d, err := c.parseStage(id, stages[id])
		if err != nil {
			return nil, err
		}
		c.Stages = append(c.Stages, d)
	}
	if len(c.Stages) == 0 {
		return nil, &ConfigError{File: path, Msg: "no [stage.ID] tables: the pipeline is empty"}
	}
	profiles, err := c.table("profile", raw["profile"])
	if err != nil {
		return nil, err
	}
	for _, name := range sortedByLine(c, "profile", profiles) {
		p, err := c.parseProfile(name, profiles[name])
		if err != nil {
			return nil, err
		}
		c.Profiles[name] = p
	}
	if c.Profile != "" {
		if _, ok := c.Profiles[c.Profile]; !ok {
			return nil, c.ErrAt("pipeline.profile", "no [profile.%s] table%s", c.Profile, Suggest(c.Profile, keys(c.Profiles)))
		}
	}
	return c, nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sortedByLine orders the sub-tables of prefix by where they appear.
func sortedByLine[V any](c *Config, prefix string, m map[string]V) []string {
	ks := keys(m)
	sort.SliceStable(ks, func(i, j int) bool { return c.line(prefix+"."+ks[i]) < c.line(prefix+"."+ks[j]) })
	return ks
}

// checkKeys reports the first key of t not in allowed.
func (c *Config) checkKeys(prefix string, t map[string]any, allowed []string) error {
	var bad []string
	for k := range t {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
			}
		}
		if !ok {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Slice(bad, func(i, j int) bool { return c.line(join(prefix, bad[i])) < c.line(join(prefix, bad[j])) })
	where := "the top level"
	if prefix != "" {
		where = "[" + prefix + "]"
	}
	return c.ErrAt(join(prefix, bad[0]), "unknown field in %s%s", where, Suggest(bad[0], allowed))
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func (c *Config) table(path string, v any) (map[string]any, error) {
	if v == nil {
		return map[string]any{}, nil
	}
	t, ok := v.(map[string]any)
	if !ok {
		return nil, c.ErrAt(path, "want a table, have %s", describe(v))
	}
	return t, nil
}

func describe(v any) string {
	switch v.(type) {
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

func (c *Config) str(path string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", c.ErrAt(path, "want a string, have %s", describe(v))
	}
	return s, nil
}

func (c *Config) integer(path string, v any) (int64, error) {
	i, ok := v.(int64)
	if !ok {
		return 0, c.ErrAt(path, "want an integer, have %s", describe(v))
	}
	return i, nil
}

func (c *Config) strList(path string, v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, c.ErrAt(path, "want an array of strings, have %s", describe(v))
	}
	out := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, c.ErrAt(path, "element %d: want a string, have %s", i, describe(e))
		}
		out[i] = s
	}
	return out, nil
}

// projectPath resolves a directory of the project given relative to the
// pipeline file; it must stay inside the project.
func (c *Config) projectPath(path, rel string) (string, error) {
	if rel == "" {
		return "", c.ErrAt(path, "empty path")
	}
	if filepath.IsAbs(rel) {
		return "", c.ErrAt(path, "%q: give a path relative to the project, not an absolute one", rel)
	}
	p := filepath.Join(c.Dir, rel)
	if !inside(c.Dir, p) {
		return "", c.ErrAt(path, "%q leads outside the project directory %s", rel, c.Dir)
	}
	return p, nil
}

// inside reports whether p is dir or below it (both cleaned, absolute).
func inside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func (c *Config) parsePipeline(raw map[string]any) error {
	c.Name, c.Seed, c.DataRoot = "bfc", 0, []string{"/usr/share/datasets", "/usr/share/doc"}
	store, figures, paper := ".bfc", "figures", "paper"
	t, err := c.table("pipeline", raw["pipeline"])
	if err != nil {
		return err
	}
	if err := c.checkKeys("pipeline", t, []string{"name", "seed", "store", "figures", "paper", "profile", "data_roots", "doc"}); err != nil {
		return err
	}
	for _, k := range keys(t) {
		v, path := t[k], "pipeline."+k
		switch k {
		case "name":
			c.Name, err = c.str(path, v)
		case "doc":
			_, err = c.str(path, v)
		case "seed":
			c.Seed, err = c.integer(path, v)
			if err == nil && c.Seed < 0 {
				err = c.ErrAt(path, "must be >= 0, have %d", c.Seed)
			}
		case "store":
			store, err = c.str(path, v)
		case "figures":
			figures, err = c.str(path, v)
		case "paper":
			paper, err = c.str(path, v)
		case "profile":
			c.Profile, err = c.str(path, v)
		case "data_roots":
			c.DataRoot, err = c.strList(path, v)
			for _, r := range c.DataRoot {
				if err == nil && !filepath.IsAbs(r) {
					err = c.ErrAt(path, "%q: data roots must be absolute paths", r)
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return c.setDirs(store, figures, paper, "pipeline")
}

func (c *Config) setDirs(store, figures, paper, table string) error {
	var err error
	if store == "" {
		return c.ErrAt(table+".store", "empty path")
	}
	if filepath.IsAbs(store) {
		c.Store = filepath.Clean(store)
	} else {
		c.Store = filepath.Join(c.Dir, store)
	}
	if c.Figures, err = c.projectPath(table+".figures", figures); err != nil {
		return err
	}
	c.Paper, err = c.projectPath(table+".paper", paper)
	return err
}

func (c *Config) parseExecutor(raw map[string]any) error {
	c.Executor = ExecutorConfig{Kind: "local", CPUs: 1, Time: "02:00:00", Mem: "4G", Poll: 2, PerKind: map[string]SlurmRes{}}
	t, err := c.table("executor", raw["executor"])
	if err != nil {
		return err
	}
	if err := c.checkKeys("executor", t, []string{"kind", "partition", "time", "mem", "cpus", "kinds", "sbatch_flags", "poll_seconds"}); err != nil {
		return err
	}
	e := &c.Executor
	for _, k := range keys(t) {
		v, path := t[k], "executor."+k
		switch k {
		case "kind":
			e.Kind, err = c.str(path, v)
			if err == nil && e.Kind != "local" && e.Kind != "slurm" {
				err = c.ErrAt(path, "%q is not an executor; use \"local\" or \"slurm\"", e.Kind)
			}
		case "partition":
			e.Partition, err = c.str(path, v)
		case "time":
			e.Time, err = c.str(path, v)
		case "mem":
			e.Mem, err = c.str(path, v)
		case "cpus":
			var n int64
			n, err = c.integer(path, v)
			if err == nil && (n < 1 || n > 1024) {
				err = c.ErrAt(path, "%d is out of range [1, 1024]", n)
			}
			e.CPUs = int(n)
		case "sbatch_flags":
			e.Extra, err = c.strList(path, v)
		case "poll_seconds":
			switch x := v.(type) {
			case int64:
				e.Poll = float64(x)
			case float64:
				e.Poll = x
			default:
				err = c.ErrAt(path, "want a number, have %s", describe(v))
			}
			if err == nil && (e.Poll < 0.1 || e.Poll > 600) {
				err = c.ErrAt(path, "%v is out of range [0.1, 600]", e.Poll)
			}
		case "kinds":
			var kt map[string]any
			if kt, err = c.table(path, v); err != nil {
				return err
			}
			for _, kind := range keys(kt) {
				kp := path + "." + kind
				rt, err := c.table(kp, kt[kind])
				if err != nil {
					return err
				}
				if err := c.checkKeys(kp, rt, []string{"partition", "time", "mem", "cpus"}); err != nil {
					return err
				}
				var r SlurmRes
				for _, f := range keys(rt) {
					fp := kp + "." + f
					switch f {
					case "cpus":
						n, err := c.integer(fp, rt[f])
						if err != nil {
							return err
						}
						r.CPUs = int(n)
					default:
						s, err := c.str(fp, rt[f])
						if err != nil {
							return err
						}
						switch f {
						case "partition":
							r.Partition = s
						case "time":
							r.Time = s
						case "mem":
							r.Mem = s
						}
					}
				}
				e.PerKind[kind] = r
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var stageFields = []string{"kind", "inputs", "gather", "seed", "params", "grid", "doc"}

func (c *Config) parseStage(id string, v any) (*StageDecl, error) {
	path := "stage." + id
	if !idRE.MatchString(id) {
		return nil, c.ErrAt(path, "stage id %q: use 1-64 letters, digits, '_' or '-', starting with a letter", id)
	}
	t, err := c.table(path, v)
	if err != nil {
		return nil, err
	}
	if err := c.checkKeys(path, t, stageFields); err != nil {
		return nil, err
	}
	d := &StageDecl{ID: id, Line: c.line(path), Params: map[string]any{}, src: map[string]string{}}
	kv, ok := t["kind"]
	if !ok {
		return nil, c.ErrAt(path+".kind", "missing: every stage needs a kind")
	}
	if d.Kind, err = c.str(path+".kind", kv); err != nil {
		return nil, err
	}
	if v, ok := t["inputs"]; ok {
		if d.Inputs, err = c.strList(path+".inputs", v); err != nil {
			return nil, err
		}
	}
	if v, ok := t["gather"]; ok {
		if d.Gather, err = c.strList(path+".gather", v); err != nil {
			return nil, err
		}
	}
	if v, ok := t["seed"]; ok {
		s, err := c.integer(path+".seed", v)
		if err != nil {
			return nil, err
		}
		if s < 0 {
			return nil, c.ErrAt(path+".seed", "must be >= 0, have %d", s)
		}
		d.Seed = &s
	}
	if v, ok := t["doc"]; ok {
		if d.Doc, err = c.str(path+".doc", v); err != nil {
			return nil, err
		}
	}
	if v, ok := t["params"]; ok {
		p, err := c.table(path+".params", v)
		if err != nil {
			return nil, err
		}
		for k, x := range p {
			d.Params[k] = x
			d.src[k] = path + ".params." + k
		}
	}
	if v, ok := t["grid"]; ok {
		if d.Grid, err = c.parseGrid(path+".grid", v); err != nil {
			return nil, err
		}
		for _, a := range d.Grid {
			d.src["grid:"+a.Name] = path + ".grid." + a.Name
		}
	}
	return d, nil
}

func (c *Config) parseGrid(path string, v any) ([]Axis, error) {
	t, err := c.table(path, v)
	if err != nil {
		return nil, err
	}
	var axes []Axis
	for _, name := range keys(t) {
		list, ok := t[name].([]any)
		if !ok {
			return nil, c.ErrAt(path+"."+name, "a grid axis is an array of values, have %s", describe(t[name]))
		}
		if len(list) == 0 {
			return nil, c.ErrAt(path+"."+name, "grid axis is empty: a stage with an empty grid has no points")
		}
		seen := map[string]bool{}
		for _, x := range list {
			s := Label(x)
			if seen[s] {
				return nil, c.ErrAt(path+"."+name, "value %s appears twice", s)
			}
			seen[s] = true
		}
		axes = append(axes, Axis{Name: name, Values: list})
	}
	if len(axes) == 0 {
		return nil, c.ErrAt(path, "grid has no axes: remove it, or give at least one axis with values")
	}
	return axes, nil
}

func (c *Config) parseProfile(name string, v any) (*Profile, error) {
	path := "profile." + name
	if !idRE.MatchString(name) {
		return nil, c.ErrAt(path, "profile name %q: use letters, digits, '_' or '-', starting with a letter", name)
	}
	t, err := c.table(path, v)
	if err != nil {
		return nil, err
	}
	if err := c.checkKeys(path, t, []string{"doc", "pipeline", "kind", "stage"}); err != nil {
		return nil, err
	}
	p := &Profile{Name: name, Kinds: map[string]map[string]any{}, Stages: map[string]*StageOverride{}}
	if v, ok := t["doc"]; ok {
		if p.Doc, err = c.str(path+".doc", v); err != nil {
			return nil, err
		}
	}
	if v, ok := t["pipeline"]; ok {
		if p.Pipeline, err = c.table(path+".pipeline", v); err != nil {
			return nil, err
		}
		if err := c.checkKeys(path+".pipeline", p.Pipeline, []string{"store", "figures", "paper"}); err != nil {
			return nil, err
		}
		for _, k := range keys(p.Pipeline) {
			if _, err := c.str(path+".pipeline."+k, p.Pipeline[k]); err != nil {
				return nil, err
			}
		}
	}
	kinds, err := c.table(path+".kind", t["kind"])
	if err != nil {
		return nil, err
	}
	for _, k := range keys(kinds) {
		if p.Kinds[k], err = c.table(path+".kind."+k, kinds[k]); err != nil {
			return nil, err
		}
	}
	stages, err := c.table(path+".stage", t["stage"])
	if err != nil {
		return nil, err
	}
	for _, id := range keys(stages) {
		sp := path + ".stage." + id
		st, err := c.table(sp, stages[id])
		if err != nil {
			return nil, err
		}
		if err := c.checkKeys(sp, st, []string{"params", "grid", "seed"}); err != nil {
			return nil, err
		}
		o := &StageOverride{Params: map[string]any{}}
		if v, ok := st["params"]; ok {
			if o.Params, err = c.table(sp+".params", v); err != nil {
				return nil, err
			}
		}
		if v, ok := st["grid"]; ok {
			if o.Grid, err = c.parseGrid(sp+".grid", v); err != nil {
				return nil, err
			}
		}
		if v, ok := st["seed"]; ok {
			s, err := c.integer(sp+".seed", v)
			if err != nil {
				return nil, err
			}
			o.Seed = &s
		}
		p.Stages[id] = o
	}
	return p, nil
}

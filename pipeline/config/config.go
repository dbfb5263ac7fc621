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
// [pipeline] rules names the stage whose params are the frozen decision
// rules; a seed axis { confirm = "PARAM" } is derived from their hash
// (rules.go, docs/science.md#rules), and ParseFile reads the lock file
// rules.lock that `bfc freeze` writes.
//
// What the file means in terms of stage kinds (parameter names, types and
// ranges, grids expanded into points, inputs wired to outputs) is the next
// layer's business: package graph.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is a parsed pipeline file, before it is checked against the
// stage kinds and expanded into points.
//
// The file has four kinds of tables:
//
//	[pipeline]        name, seed (master seed), store, figures, paper, profile, data_roots, rules
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
	// RulesStage is the stage whose params are the frozen decision rules
	// ([pipeline] rules; "" = none), see RulesHash.
	RulesStage string
	// Lock is the lock file's rules hash per profile name (LockName), read
	// by ParseFile (empty for Parse, or without a lock file).
	Lock map[string]string

	pos map[string]int // key path -> line
	// broken names the stages left out of Stages because their tables have
	// errors: graph.Build does not report their dependents' links to them.
	broken map[string]bool
}

// Broken reports whether stage id is declared in the file but left out
// of Stages because its table has errors (which Parse reported).
func (c *Config) Broken(id string) bool { return c.broken[id] }

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
	// Derive names the rules' parameter that counts the seeds of a
	// derived axis ({ confirm = "PARAM" }); Apply fills Values.
	Derive string
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
// A file that cannot be read is a *ConfigError too.
func ParseFile(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		msg := "cannot read the pipeline file: " + err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = "no such pipeline file (give another with -f FILE, or run bfc in the project directory)"
		}
		return nil, &ConfigError{File: path, Msg: msg}
	}
	c, err := Parse(path, src)
	if c == nil {
		return nil, err
	}
	lock, lerr := ReadLock(c.LockPath())
	if lerr != nil {
		return c, Collect(path, err, lerr)
	}
	c.Lock = lock
	return c, err
}

// Parse checks the structure of the pipeline file src, read from path:
// TOML syntax, known tables and fields, field types, stage ids. It does
// not know the stage kinds; graph.Build checks params against them.
//
// Every problem is reported, not only the first: the error is an Errors.
// After a syntax error nothing else can be checked and the Config is nil;
// otherwise the Config is returned with the error, without the stages
// whose tables have errors (Broken), so that graph.Build can report the
// problems of the rest in the same pass.
func Parse(path string, src []byte) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	c := &Config{File: path, Dir: filepath.Dir(abs), Profiles: map[string]*Profile{}, broken: map[string]bool{}}
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
	var errs []error
	errs = append(errs, c.checkKeys("", raw, []string{"pipeline", "executor", "stage", "profile"}))
	errs = append(errs, c.parsePipeline(raw), c.parseExecutor(raw))
	stages, err := c.table("stage", raw["stage"])
	errs = append(errs, err)
	for _, id := range sortedByLine(c, "stage", stages) {
		d, err := c.parseStage(id, stages[id])
		if err != nil {
			errs = append(errs, err)
			c.broken[id] = true
			continue
		}
		c.Stages = append(c.Stages, d)
	}
	if len(stages) == 0 && err == nil {
		errs = append(errs, &ConfigError{File: path, Msg: "no [stage.ID] tables: the pipeline is empty"})
	}
	profiles, err := c.table("profile", raw["profile"])
	errs = append(errs, err)
	for _, name := range sortedByLine(c, "profile", profiles) {
		p, err := c.parseProfile(name, profiles[name])
		errs = append(errs, err)
		if p != nil {
			c.Profiles[name] = p
		}
	}
	if c.Profile != "" {
		if _, ok := c.Profiles[c.Profile]; !ok {
			errs = append(errs, c.ErrAt("pipeline.profile", "no [profile.%s] table%s", c.Profile, Suggest(c.Profile, keys(c.Profiles))))
		}
	}
	if err := Collect(path, errs...); err != nil {
		return c, err
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

// checkKeys reports every key of t not in allowed.
func (c *Config) checkKeys(prefix string, t map[string]any, allowed []string) error {
	var bad []string
	for k := range t {
		if !slices.Contains(allowed, k) {
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
	var errs []error
	for _, k := range bad {
		errs = append(errs, c.ErrAt(join(prefix, k), "unknown field in %s%s", where, Suggest(k, allowed)))
	}
	return Collect(c.File, errs...)
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
	errs := []error{c.checkKeys("pipeline", t, []string{"name", "seed", "store", "figures", "paper", "profile", "data_roots", "doc", "rules"})}
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
		case "rules":
			c.RulesStage, err = c.str(path, v)
		case "data_roots":
			c.DataRoot, err = c.strList(path, v)
			for _, r := range c.DataRoot {
				if err == nil && !filepath.IsAbs(r) {
					err = c.ErrAt(path, "%q: data roots must be absolute paths", r)
				}
			}
		}
		errs = append(errs, err)
		err = nil
	}
	errs = append(errs, c.setDirs(store, figures, paper, "pipeline"))
	return Collect(c.File, errs...)
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
	var errFig error
	c.Figures, errFig = c.projectPath(table+".figures", figures)
	c.Paper, err = c.projectPath(table+".paper", paper)
	return Collect(c.File, errFig, err)
}

func (c *Config) parseExecutor(raw map[string]any) error {
	c.Executor = ExecutorConfig{Kind: "local", CPUs: 1, Time: "02:00:00", Mem: "4G", Poll: 2, PerKind: map[string]SlurmRes{}}
	t, err := c.table("executor", raw["executor"])
	if err != nil {
		return err
	}
	errs := []error{c.checkKeys("executor", t, []string{"kind", "partition", "time", "mem", "cpus", "kinds", "sbatch_flags", "poll_seconds"})}
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
			err = c.parseKindResources(path, v)
		}
		errs = append(errs, err)
		err = nil
	}
	return Collect(c.File, errs...)
}

// parseKindResources reads [executor.kinds.KIND] tables.
func (c *Config) parseKindResources(path string, v any) error {
	kt, err := c.table(path, v)
	if err != nil {
		return err
	}
	var errs []error
	for _, kind := range keys(kt) {
		kp := path + "." + kind
		rt, err := c.table(kp, kt[kind])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, c.checkKeys(kp, rt, []string{"partition", "time", "mem", "cpus"}))
		var r SlurmRes
		for _, f := range keys(rt) {
			fp := kp + "." + f
			switch f {
			case "cpus":
				n, err := c.integer(fp, rt[f])
				errs = append(errs, err)
				r.CPUs = int(n)
			default:
				s, err := c.str(fp, rt[f])
				errs = append(errs, err)
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
		c.Executor.PerKind[kind] = r
	}
	return Collect(c.File, errs...)
}

var stageFields = []string{"kind", "inputs", "gather", "seed", "params", "grid", "doc"}

// parseStage reads one [stage.ID] table, reporting every problem of it.
func (c *Config) parseStage(id string, v any) (*StageDecl, error) {
	path := "stage." + id
	if !idRE.MatchString(id) {
		return nil, c.ErrAt(path, "stage id %q: use 1-64 letters, digits, '_' or '-', starting with a letter", id)
	}
	t, err := c.table(path, v)
	if err != nil {
		return nil, err
	}
	errs := []error{c.checkKeys(path, t, stageFields)}
	d := &StageDecl{ID: id, Line: c.line(path), Params: map[string]any{}, src: map[string]string{}}
	if kv, ok := t["kind"]; !ok {
		errs = append(errs, c.ErrAt(path+".kind", "missing: every stage needs a kind"))
	} else {
		d.Kind, err = c.str(path+".kind", kv)
		errs = append(errs, err)
	}
	if v, ok := t["inputs"]; ok {
		d.Inputs, err = c.strList(path+".inputs", v)
		errs = append(errs, err)
	}
	if v, ok := t["gather"]; ok {
		d.Gather, err = c.strList(path+".gather", v)
		errs = append(errs, err)
	}
	if v, ok := t["seed"]; ok {
		s, err := c.integer(path+".seed", v)
		if err == nil && s < 0 {
			err = c.ErrAt(path+".seed", "must be >= 0, have %d", s)
		}
		errs = append(errs, err)
		d.Seed = &s
	}
	if v, ok := t["doc"]; ok {
		d.Doc, err = c.str(path+".doc", v)
		errs = append(errs, err)
	}
	if v, ok := t["params"]; ok {
		p, err := c.table(path+".params", v)
		errs = append(errs, err)
		for k, x := range p {
			d.Params[k] = x
			d.src[k] = path + ".params." + k
		}
	}
	if v, ok := t["grid"]; ok {
		d.Grid, err = c.parseGrid(path+".grid", v)
		errs = append(errs, err)
		for _, a := range d.Grid {
			d.src["grid:"+a.Name] = path + ".grid." + a.Name
		}
	}
	if err := Collect(c.File, errs...); err != nil {
		return nil, err
	}
	return d, nil
}

func (c *Config) parseGrid(path string, v any) ([]Axis, error) {
	t, err := c.table(path, v)
	if err != nil {
		return nil, err
	}
	var axes []Axis
	var errs []error
	for _, name := range keys(t) {
		if dt, ok := t[name].(map[string]any); ok {
			p, err := c.parseDerived(path+"."+name, dt)
			errs = append(errs, err)
			if err == nil {
				axes = append(axes, Axis{Name: name, Derive: p})
			}
			continue
		}
		list, ok := t[name].([]any)
		if !ok {
			errs = append(errs, c.ErrAt(path+"."+name, "a grid axis is an array of values (or, for the seed, { confirm = \"PARAM\" }), have %s", describe(t[name])))
			continue
		}
		if len(list) == 0 {
			errs = append(errs, c.ErrAt(path+"."+name, "grid axis is empty: a stage with an empty grid has no points"))
			continue
		}
		seen := map[string]bool{}
		for _, x := range list {
			s := Label(x)
			if seen[s] {
				errs = append(errs, c.ErrAt(path+"."+name, "value %s appears twice", s))
			}
			seen[s] = true
		}
		axes = append(axes, Axis{Name: name, Values: list})
	}
	if len(t) == 0 {
		errs = append(errs, c.ErrAt(path, "grid has no axes: remove it, or give at least one axis with values"))
	}
	return axes, Collect(c.File, errs...)
}

// parseProfile reads one [profile.NAME] table, reporting every problem
// of it; the profile it returns holds the parts that have none.
func (c *Config) parseProfile(name string, v any) (*Profile, error) {
	path := "profile." + name
	if !idRE.MatchString(name) {
		return nil, c.ErrAt(path, "profile name %q: use letters, digits, '_' or '-', starting with a letter", name)
	}
	t, err := c.table(path, v)
	if err != nil {
		return nil, err
	}
	errs := []error{c.checkKeys(path, t, []string{"doc", "pipeline", "kind", "stage"})}
	p := &Profile{Name: name, Kinds: map[string]map[string]any{}, Stages: map[string]*StageOverride{}}
	if v, ok := t["doc"]; ok {
		p.Doc, err = c.str(path+".doc", v)
		errs = append(errs, err)
	}
	if v, ok := t["pipeline"]; ok {
		pt, err := c.table(path+".pipeline", v)
		errs = append(errs, err, c.checkKeys(path+".pipeline", pt, []string{"store", "figures", "paper"}))
		for _, k := range keys(pt) {
			if _, err := c.str(path+".pipeline."+k, pt[k]); err != nil {
				errs = append(errs, err)
				continue
			}
			if p.Pipeline == nil {
				p.Pipeline = map[string]any{}
			}
			p.Pipeline[k] = pt[k]
		}
	}
	kinds, err := c.table(path+".kind", t["kind"])
	errs = append(errs, err)
	for _, k := range keys(kinds) {
		kt, err := c.table(path+".kind."+k, kinds[k])
		errs = append(errs, err)
		if err == nil {
			p.Kinds[k] = kt
		}
	}
	stages, err := c.table(path+".stage", t["stage"])
	errs = append(errs, err)
	for _, id := range keys(stages) {
		o, err := c.parseOverride(path+".stage."+id, stages[id])
		errs = append(errs, err)
		if o != nil {
			p.Stages[id] = o
		}
	}
	return p, Collect(c.File, errs...)
}

// parseOverride reads a profile's override of one stage.
func (c *Config) parseOverride(sp string, v any) (*StageOverride, error) {
	st, err := c.table(sp, v)
	if err != nil {
		return nil, err
	}
	errs := []error{c.checkKeys(sp, st, []string{"params", "grid", "seed"})}
	o := &StageOverride{Params: map[string]any{}}
	if v, ok := st["params"]; ok {
		params, err := c.table(sp+".params", v)
		errs = append(errs, err)
		if err == nil {
			o.Params = params
		}
	}
	if v, ok := st["grid"]; ok {
		o.Grid, err = c.parseGrid(sp+".grid", v)
		errs = append(errs, err)
	}
	if v, ok := st["seed"]; ok {
		s, err := c.integer(sp+".seed", v)
		errs = append(errs, err)
		if err == nil {
			o.Seed = &s
		}
	}
	return o, Collect(c.File, errs...)
}

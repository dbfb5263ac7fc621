package config

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The frozen decision rules (docs/science.md#rules).
//
// [pipeline] rules = "ID" names the stage whose params are the rules of
// the verdicts. Their canonical hash (RulesHash) is what `bfc freeze`
// records, per profile, in the lock file LockFile next to the pipeline
// file. A grid axis may be derived from it instead of listed:
//
//	grid = { seed = { confirm = "confirm_E1" } }
//
// gives the first N confirmatory seeds, N the rules' integer parameter
// confirm_E1, seed_i = the first 31 bits of sha256(hash || ":" || i). So
// no one can have seen a confirmatory result before the rules it is
// judged by were fixed, and changing any rule changes every confirmatory
// seed, and so every confirmatory key. Apply sets three parameters of
// the rules stage, which the file must not set (EngineRuleParams): the
// labels of the derived seeds, the hash and the hash in the lock.

// LockFile is the name of the lock file, in the project directory.
const LockFile = "rules.lock"

// EngineRuleParams are the parameters of the rules stage that Apply sets:
// the confirmatory seed labels (the longest derived axis), the rules'
// hash and the hash the lock file records for the profile ("" if none).
var EngineRuleParams = []string{"confirm_seeds", "rules_hash", "rules_lock"}

// DefaultProfile is the lock file's name for the file without a profile.
const DefaultProfile = "default"

// RulesHash is the sha256, in hex, of params without EngineRuleParams,
// encoded as JSON with sorted keys (integers and floats of equal value
// encode alike, so 2 and 2.0 are the same rule).
func RulesHash(params map[string]any) string {
	p := maps.Clone(params)
	for _, k := range EngineRuleParams {
		delete(p, k)
	}
	b, err := json.Marshal(p)
	if err != nil { // parsed TOML values always encode
		panic(fmt.Sprintf("config: rules do not encode as JSON: %v", err))
	}
	h := sha256.Sum256(append([]byte("bfc-rules-v1\n"), b...))
	return hex.EncodeToString(h[:])
}

// DeriveSeeds returns the first n seeds derived from a rules hash:
// seed_i = the first 31 bits of sha256(hash || ":" || i), i = 1..n.
func DeriveSeeds(hash string, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		h := sha256.Sum256([]byte(hash + ":" + strconv.Itoa(i+1)))
		out[i] = int64(binary.BigEndian.Uint32(h[:4]) >> 1)
	}
	return out
}

// Rules returns the rules stage under the applied profile and its hash;
// ok is false when the file names no rules stage.
func (c *Config) Rules() (stage *StageDecl, hash string, ok bool) {
	if c.RulesStage == "" {
		return nil, "", false
	}
	d := c.stage(c.RulesStage)
	if d == nil {
		return nil, "", false
	}
	return d, RulesHash(d.Params), true
}

// LockName is the lock file's name of profile ("" is DefaultProfile).
func LockName(profile string) string {
	if profile == "" {
		return DefaultProfile
	}
	return profile
}

// ReadLock reads a lock file: one "PROFILE HASH" line per frozen
// profile, # comments and blank lines ignored. A missing file is an
// empty lock; a malformed line is a *ConfigError naming it.
func ReadLock(path string) (map[string]string, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, &ConfigError{File: path, Msg: "cannot read the rules lock: " + err.Error()}
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		f := strings.Fields(t)
		if len(f) != 2 || len(f[1]) != 64 || strings.Trim(f[1], "0123456789abcdef") != "" {
			return nil, &ConfigError{File: path, Line: line, Msg: fmt.Sprintf("want \"PROFILE HASH\" (a profile name and 64 hex digits), have %q; rewrite it with bfc freeze", t)}
		}
		if _, dup := out[f[0]]; dup {
			return nil, &ConfigError{File: path, Line: line, Field: f[0], Msg: "profile listed twice"}
		}
		out[f[0]] = f[1]
	}
	return out, nil
}

// WriteLock writes the lock file with one line per profile, sorted.
func WriteLock(path string, hashes map[string]string) error {
	var b strings.Builder
	b.WriteString("# The frozen decision rules: the sha256 of the rules stage's params (pipeline.toml [pipeline] rules),\n" +
		"# one line per profile, written by `bfc freeze`. The confirmatory seeds derive from the hash of the rules\n" +
		"# in force; bfc status and the report say whether it is the one recorded here (docs/science.md#rules).\n")
	for _, p := range slices.Sorted(maps.Keys(hashes)) {
		fmt.Fprintf(&b, "%s %s\n", p, hashes[p])
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// LockPath is the lock file of the project.
func (c *Config) LockPath() string { return filepath.Join(c.Dir, LockFile) }

// parseDerived reads a derived grid axis, { confirm = "PARAM" }.
func (c *Config) parseDerived(path string, t map[string]any) (string, error) {
	if err := c.checkKeys(path, t, []string{"confirm"}); err != nil {
		return "", err
	}
	v, ok := t["confirm"]
	if !ok {
		return "", c.ErrAt(path, "a derived axis is { confirm = \"PARAM\" }: the seeds derived from the rules' hash, as many as the rules' integer PARAM")
	}
	return c.str(path+".confirm", v)
}

// deriveAxes fills every derived axis with the seeds derived from the
// rules' hash and sets EngineRuleParams of the rules stage; lock holds
// the lock file's hashes by profile name.
func (c *Config) deriveAxes(lock map[string]string) error {
	var errs []error
	d, hash, ok := c.Rules()
	if c.RulesStage != "" && d == nil {
		if !c.broken[c.RulesStage] {
			errs = append(errs, c.ErrAt("pipeline.rules", "no stage %q%s", c.RulesStage, Suggest(c.RulesStage, c.stageIDs())))
		}
		return Collect(c.File, errs...)
	}
	if ok {
		for _, k := range EngineRuleParams {
			if _, set := d.Params[k]; set {
				errs = append(errs, c.ErrAt(srcOf(d, k), "set by bfc from the rules' hash (docs/science.md#rules); remove it"))
			}
		}
	}
	listed := map[string]bool{} // seeds listed by hand: a derived seed must not be one
	for _, s := range c.Stages {
		for _, a := range s.Grid {
			if a.Name == "seed" && a.Derive == "" {
				for _, v := range a.Values {
					listed[Label(v)] = true
				}
			}
		}
	}
	longest := 0
	for _, s := range c.Stages {
		for i, a := range s.Grid {
			if a.Derive == "" {
				continue
			}
			path := srcOf(s, "grid:"+a.Name)
			if !ok {
				errs = append(errs, c.ErrAt(path, "a derived axis needs the rules: name their stage in [pipeline] rules"))
				continue
			}
			if a.Name != "seed" {
				errs = append(errs, c.ErrAt(path, "only the seed axis can be derived from the rules' hash"))
				continue
			}
			n, isInt := d.Params[a.Derive].(int64)
			if !isInt || n < 1 || n > 1000 {
				errs = append(errs, c.ErrAt(path+".confirm", "%q must name an integer parameter in [1, 1000] of the rules stage %s, have %s",
					a.Derive, c.RulesStage, describeParam(d.Params[a.Derive])))
				continue
			}
			vals := make([]any, n)
			for j, v := range DeriveSeeds(hash, int(n)) {
				vals[j] = v
				if listed[Label(v)] {
					errs = append(errs, c.ErrAt(path, "derived seed %d is also listed by hand, so its runs would count as confirmatory and exploratory; change a rule (or that seed)", v))
				}
			}
			s.Grid[i].Values = vals
			longest = max(longest, int(n))
		}
	}
	if ok {
		labels := []any{}
		for _, v := range DeriveSeeds(hash, longest) {
			labels = append(labels, strconv.FormatInt(v, 10))
		}
		d.Params["confirm_seeds"], d.Params["rules_hash"], d.Params["rules_lock"] = labels, hash, lock[LockName(c.Applied)]
		for _, k := range EngineRuleParams {
			d.src[k] = "pipeline.rules"
		}
	}
	return Collect(c.File, errs...)
}

func describeParam(v any) string {
	if v == nil {
		return "none"
	}
	if n, ok := v.(int64); ok {
		return strconv.FormatInt(n, 10)
	}
	return describe(v)
}

func srcOf(d *StageDecl, key string) string {
	if p, ok := d.src[key]; ok {
		return p
	}
	return "stage." + d.ID
}

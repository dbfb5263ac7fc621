package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/artifacts/id"
)

// Component is one ingredient of a stage key. Its hash is the SHA-256 of
// Value; the key is the hash over all (name, hash) pairs in name order, so
// that `explain` can compare two keys component by component.
type Component struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Hash  string `json:"hash"`
}

// NewComponent returns a component with its hash filled in.
func NewComponent(name, value string) Component {
	return Component{Name: name, Value: value, Hash: id.HexSum([]byte(value))}
}

// KeyOf computes the stage key of a component list. Components must have
// distinct names; their order does not matter.
func KeyOf(cs []Component) (id.Key, error) { return keyOf(cs, true) }

// KeyOfNew is KeyOf for components made by NewComponent in this process,
// whose hashes are right by construction: it does not hash every value
// again to check them (the engine computes a key per point per command).
// Components read from a file or a bundle go through KeyOf.
func KeyOfNew(cs []Component) (id.Key, error) { return keyOf(cs, false) }

func keyOf(cs []Component, checkHashes bool) (id.Key, error) {
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b Component) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	h.Write([]byte("bfc-key-v1\n"))
	var buf []byte
	for i, c := range sorted {
		if i > 0 && sorted[i-1].Name == c.Name {
			return id.Key{}, fmt.Errorf("key component %q appears twice", c.Name)
		}
		if strings.ContainsAny(c.Name, "\n\x00") {
			return id.Key{}, fmt.Errorf("key component name %q has a control character", c.Name)
		}
		if checkHashes {
			sum := sha256.Sum256([]byte(c.Value))
			var hexSum [2 * sha256.Size]byte
			hex.Encode(hexSum[:], sum[:])
			if string(hexSum[:]) != c.Hash {
				return id.Key{}, fmt.Errorf("key component %q: hash does not match its value", c.Name)
			}
		}
		// name NUL hash newline (what fmt's "%s\x00%s\n" wrote, without fmt).
		buf = append(append(append(append(buf[:0], c.Name...), 0), c.Hash...), '\n')
		h.Write(buf)
	}
	return id.Key(h.Sum(nil)), nil
}

// Output describes one output object of a stage.
type Output struct {
	Name string    `json:"name"`
	File id.Object `json:"file"` // SHA-256 of the stored bytes (the object's name)
	Data id.Data   `json:"data"` // SHA-256 of the table without metadata (what downstream keys use)
	Size int64     `json:"size"`
	Rows int64     `json:"rows"`
}

// RunRecord describes the run that computed a manifest's outputs.
type RunRecord struct {
	Start       string            `json:"start"` // RFC 3339
	WallSeconds float64           `json:"wall_s"`
	UserSeconds float64           `json:"user_s"`
	SysSeconds  float64           `json:"sys_s"`
	MaxRSSBytes int64             `json:"max_rss_bytes"`
	Threads     int               `json:"threads"`
	Host        string            `json:"host"`
	CPU         string            `json:"cpu,omitempty"` // the CPU model (/proc/cpuinfo "model name"), so times name their machine
	GoVersion   string            `json:"go"`
	Program     string            `json:"program"` // bfc module version
	VCSRevision string            `json:"vcs_revision,omitempty"`
	VCSDirty    bool              `json:"vcs_dirty"`
	BuildTags   string            `json:"build_tags,omitempty"`
	Executor    string            `json:"executor"` // "local", "inprocess", "slurm:JOBID"
	Log         string            `json:"log,omitempty"`
	Notes       map[string]string `json:"notes,omitempty"`
}

// Manifest binds a stage key to its outputs. Writing it commits a run.
type Manifest struct {
	Format     int         `json:"format"`
	Key        id.Key      `json:"key"`
	Kind       string      `json:"kind"`
	Stage      string      `json:"stage"` // the stage point that first computed this key
	Components []Component `json:"components"`
	Outputs    []Output    `json:"outputs"`
	// Probes are the dynamic probes the run used (kit.Env.Probe), sorted
	// by name and key. They are not key components: a point's key is
	// known before it runs, its probes only after. gc keeps the probes of
	// every manifest it keeps.
	Probes []ProbeRef `json:"probes,omitempty"`
	Run    RunRecord  `json:"run"`
}

// ProbeRef names one probe a run used: its name ("sweep[n=2048]") and key.
type ProbeRef struct {
	Name string `json:"name"`
	Key  id.Key `json:"key"`
}

// SortProbes sorts probe refs by name, then key, and drops repeats of a key
// (a key probed under two names keeps the first in that order).
func SortProbes(ps []ProbeRef) []ProbeRef {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b ProbeRef) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return bytes.Compare(a.Key[:], b.Key[:])
	})
	seen := map[id.Key]bool{}
	return slices.DeleteFunc(ps, func(p ProbeRef) bool {
		dup := seen[p.Key]
		seen[p.Key] = true
		return dup
	})
}

// Output returns the named output.
func (m *Manifest) Output(name string) (Output, bool) {
	for _, o := range m.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return Output{}, false
}

// Component returns the named key component.
func (m *Manifest) Component(name string) (Component, bool) {
	for _, c := range m.Components {
		if c.Name == name {
			return c, true
		}
	}
	return Component{}, false
}

// Validate checks a manifest's internal consistency: the key recomputes
// from the components and output names are unique. (Its hashes are well
// formed by type: they were parsed when the manifest was read.)
func (m *Manifest) Validate() error {
	if m.Format != FormatVersion {
		return fmt.Errorf("manifest format %d, want %d", m.Format, FormatVersion)
	}
	key, err := KeyOf(m.Components)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", m.Key.Short(), err)
	}
	if key != m.Key {
		return fmt.Errorf("manifest %s: components hash to %s, not to its key", m.Key.Short(), key.Short())
	}
	seen := map[string]bool{}
	for _, o := range m.Outputs {
		if o.Name == "" || seen[o.Name] {
			return fmt.Errorf("manifest %s: output name %q empty or repeated", m.Key.Short(), o.Name)
		}
		seen[o.Name] = true
		if o.Size < 0 || o.Rows < 0 {
			return fmt.Errorf("manifest %s: output %q has a negative size", m.Key.Short(), o.Name)
		}
	}
	for i, p := range m.Probes {
		if p.Name == "" || p.Key.IsZero() || p.Key == m.Key {
			return fmt.Errorf("manifest %s: probe %d (%q) has no name, no key or the manifest's own key", m.Key.Short(), i, p.Name)
		}
	}
	if !slices.Equal(SortProbes(m.Probes), m.Probes) {
		return fmt.Errorf("manifest %s: probes are not sorted by name and key without repeats", m.Key.Short())
	}
	return nil
}

// ParseManifest decodes and validates a manifest. Unknown fields are
// errors: a manifest from another layout version must not be half-read.
func ParseManifest(b []byte) (*Manifest, error) {
	if m, ok := fastManifest(b); ok {
		if err := m.Validate(); err != nil {
			return nil, err
		}
		return m, nil
	}
	return parseManifestJSON(b)
}

// parseManifestJSON is ParseManifest with encoding/json, for every input
// outside fastManifest's subset.
func parseManifestJSON(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse manifest: trailing data")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// PutManifest validates m and writes it atomically. Call it only after
// every output object is stored: the manifest is the commit marker.
func (s *Store) PutManifest(m *Manifest) error {
	if err := m.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return s.writeAtomic(s.ManifestPath(m.Key), append(b, '\n'), 0o444)
}

// Manifest returns the manifest of key, validated, from the index while
// its file is unchanged (index.go), else read from the file. It returns
// an error wrapping ErrNotFound if there is none. The caller may change
// the manifest it gets.
func (s *Store) Manifest(key id.Key) (*Manifest, error) { return s.indexedManifest(key) }

// readManifest reads and validates the manifest file of key.
func (s *Store) readManifest(key id.Key) (*Manifest, error) {
	p := s.ManifestPath(key)
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("manifest %s: %w", key.Short(), ErrNotFound)
		}
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if m.Key != key {
		return nil, fmt.Errorf("%s: holds the manifest of key %s", p, m.Key.Short())
	}
	return m, nil
}

// RemoveManifest deletes the manifest of key (used when its outputs are
// found damaged, so that the key is recomputed).
func (s *Store) RemoveManifest(key id.Key) error {
	err := os.Remove(s.ManifestPath(key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// CheckOutputs checks every output object of m: it rehashes each, unless
// the object's file is unchanged since it last rehashed correctly (see
// CheckObjectFast).
func (s *Store) CheckOutputs(m *Manifest) error {
	for _, o := range m.Outputs {
		if err := s.CheckObjectFast(o.File); err != nil {
			return fmt.Errorf("output %q of %s: %w", o.Name, m.Stage, err)
		}
	}
	return nil
}

// ListManifests returns the keys of every manifest in the store, in order.
// Files in keys/ not named by a key are skipped (Verify reports none of
// them: they cannot be read as manifests).
func (s *Store) ListManifests() ([]id.Key, error) {
	var keys []id.Key
	root := filepath.Join(s.Dir, "keys")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if k, ok := strings.CutSuffix(d.Name(), ".json"); ok {
			if key, err := id.ParseKey(k); err == nil {
				keys = append(keys, key)
			}
		}
		return nil
	})
	slices.SortFunc(keys, func(a, b id.Key) int { return bytes.Compare(a[:], b[:]) })
	return keys, err
}

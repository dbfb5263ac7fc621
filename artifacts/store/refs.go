package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bfc-repro/bfc/artifacts/id"
)

// A Ref records the key a stage point resolved to in its last run under
// a profile. `status` and `explain` compare the current key with it.
type Ref struct {
	Profile string `json:"profile"`
	Point   string `json:"point"`
	Key     id.Key `json:"key"`
	Time    string `json:"time"`
}

// refFile maps a point id (which may contain [ ] = , and other
// characters) to a safe file name.
func refFile(point string) string {
	var b strings.Builder
	b.Grow(len(point) + 16)
	for _, r := range point {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.' && b.Len() > 0:
			b.WriteRune(r)
		default:
			// "%%%02x" of the rune, without fmt (a ref is looked up per
			// point per command).
			h := strconv.FormatInt(int64(r), 16)
			b.WriteByte('%')
			if len(h) < 2 {
				b.WriteByte('0')
			}
			b.WriteString(h)
		}
	}
	name := b.String()
	if len(name) > 200 {
		name = name[:120] + "~" + id.HexSum([]byte(point))[:16]
	}
	return name + ".json"
}

func profileDir(profile string) string {
	if profile == "" {
		return "default"
	}
	return "p-" + strings.TrimSuffix(refFile(profile), ".json")
}

// SetRef records that point resolved to key under profile.
func (s *Store) SetRef(profile, point string, key id.Key) error {
	r := Ref{Profile: profile, Point: point, Key: key, Time: time.Now().UTC().Format(time.RFC3339)}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.writeAtomic(filepath.Join(s.Dir, "refs", profileDir(profile), refFile(point)), append(b, '\n'), 0o644); err != nil {
		return err
	}
	s.noteRef(r)
	return nil
}

// jsonUnmarshalRef decodes a ref file.
func jsonUnmarshalRef(b []byte, r *Ref) error { return json.Unmarshal(b, r) }

// SetRefIfChanged records the ref unless it already names key (a no-op
// run then writes nothing).
func (s *Store) SetRefIfChanged(profile, point string, key id.Key) error {
	if r, err := s.GetRef(profile, point); err == nil && r.Key == key {
		return nil
	}
	return s.SetRef(profile, point, key)
}

// GetRef returns the key point last resolved to under profile, from the
// index while the profile's refs directory is unchanged (index.go).
func (s *Store) GetRef(profile, point string) (Ref, error) { return s.indexedRef(profile, point) }

// readRef reads the ref file of point under profile.
func (s *Store) readRef(profile, point string) (Ref, error) {
	p := filepath.Join(s.Dir, "refs", profileDir(profile), refFile(point))
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Ref{}, ErrNotFound
		}
		return Ref{}, err
	}
	var r Ref
	if err := json.Unmarshal(b, &r); err != nil || r.Point != point {
		return Ref{}, fmt.Errorf("%s: damaged ref", p)
	}
	return r, nil
}

// PointsUsing returns the points whose ref under profile names key, in
// name order: the points that describe the computation the key stands
// for. (The key's files do not name them, so that they are a function of
// the key alone, whichever point ran first.)
func (s *Store) PointsUsing(profile string, key id.Key) ([]string, error) {
	dir := filepath.Join(s.Dir, "refs", profileDir(profile))
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, de := range ents {
		if !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			return nil, err
		}
		var r Ref
		if json.Unmarshal(b, &r) == nil && r.Key == key && r.Profile == profile {
			out = append(out, r.Point)
		}
	}
	slices.Sort(out)
	return out, nil
}

// AllRefs returns every ref of every profile, with the paths that hold them.
func (s *Store) AllRefs() (refs []Ref, paths []string, err error) {
	root := filepath.Join(s.Dir, "refs")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, rerr := os.ReadFile(p)
		if rerr != nil {
			return rerr
		}
		var r Ref
		if json.Unmarshal(b, &r) != nil {
			return nil // a damaged ref (malformed key included) keeps nothing alive
		}
		refs = append(refs, r)
		paths = append(paths, p)
		return nil
	})
	return refs, paths, err
}

// Pin keeps keys alive against gc under a name (an archive's).
type Pin struct {
	Name string   `json:"name"`
	Keys []id.Key `json:"keys"`
	Time string   `json:"time"`
}

// PutPin records a pin.
func (s *Store) PutPin(name string, keys []id.Key) error {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b id.Key) int { return bytes.Compare(a[:], b[:]) })
	b, err := json.MarshalIndent(Pin{Name: name, Keys: slices.Compact(keys), Time: time.Now().UTC().Format(time.RFC3339)}, "", " ")
	if err != nil {
		return err
	}
	return s.writeAtomic(filepath.Join(s.Dir, "pins", refFile(name)), append(b, '\n'), 0o644)
}

// Pins returns every pin.
func (s *Store) Pins() ([]Pin, error) {
	ents, err := os.ReadDir(filepath.Join(s.Dir, "pins"))
	if err != nil {
		return nil, err
	}
	var pins []Pin
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(s.Dir, "pins", e.Name()))
		if err != nil {
			return nil, err
		}
		var p Pin
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("pin %s: %w", e.Name(), err)
		}
		pins = append(pins, p)
	}
	return pins, nil
}

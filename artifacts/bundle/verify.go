package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
)

// Verify re-checks an extracted bundle offline and lists every problem,
// each naming the member it concerns, sorted by member:
//
//   - the Merkle root over the index's members, and the presence of
//     pipeline.toml, build.json and machine.json (checkFixed);
//   - every manifest: its key recomputed from its components, and named by
//     it; every point's manifest, of the point's kind, and the manifest of
//     every probe a manifest names; no manifest that is neither a point's
//     nor such a probe's (checkManifests);
//   - every object: named by its content hash, named by a manifest whose
//     size, row count and data hash it matches, and carrying that
//     manifest's key in its metadata (checkObjects);
//   - every object the output selection requires (checkRequired);
//   - every published figure or report file, which must equal the
//     published-file output it came from, with the data table of a figure
//     point present (checkPublishedMembers).
//
// Member hashes were checked when the bundle was read; what this adds is
// that the members agree with one another.
func (b *Bundle) Verify() []store.Problem {
	v := &verifier{b: b, idx: b.Index}
	v.checkFixed()
	v.checkManifests()
	v.checkObjects()
	v.checkRequired()
	v.checkPublishedMembers()
	slices.SortStableFunc(v.ps, func(a, b store.Problem) int { return strings.Compare(a.Path, b.Path) })
	return v.ps
}

// verifier collects the problems of one Verify.
type verifier struct {
	b   *Bundle
	idx *Index
	ps  []store.Problem
	// manifests are the readable manifests among the members, by key.
	manifests map[id.Key]*store.Manifest
	// probes are the keys that the manifests name as probes.
	probes map[id.Key]bool
}

// keys returns the keys of the manifests in order, so that problems are
// found in the same order on every run.
func (v *verifier) keys() []id.Key {
	keys := slices.Collect(maps.Keys(v.manifests))
	slices.SortFunc(keys, func(a, b id.Key) int { return bytes.Compare(a[:], b[:]) })
	return keys
}

func (v *verifier) add(path, format string, args ...any) {
	v.ps = append(v.ps, store.Problem{Path: path, What: fmt.Sprintf(format, args...)})
}

// checkFixed checks the Merkle root and the members every bundle has.
func (v *verifier) checkFixed() {
	if root, err := MerkleRoot(v.idx.Members); err != nil {
		v.add(IndexName, "%v", err)
	} else if root != v.idx.Root {
		v.add(IndexName, "merkle root %s does not match its members, which give %s", v.idx.Root, root)
	}
	for _, p := range []string{"pipeline.toml", "build.json", "machine.json"} {
		if _, ok := v.b.members[p]; !ok {
			v.add(p, "missing")
			continue
		}
		data, err := v.b.ReadMember(p)
		if err != nil {
			continue // reported when read
		}
		if p != "pipeline.toml" && !json.Valid(data) {
			v.add(p, "not valid JSON")
		}
	}
}

// checkManifests reads every manifest member and checks that each point
// of the index has its manifest, and each manifest a point.
func (v *verifier) checkManifests() {
	v.manifests = map[id.Key]*store.Manifest{}
	for _, m := range v.idx.Members {
		key, isManifest, ok := memberID(m.Path, "manifests/", ".json", id.ParseKey)
		if !isManifest || v.b.bad[m.Path] {
			continue
		}
		if !ok {
			v.add(m.Path, "not named manifests/KEY.json")
			continue
		}
		man, err := v.b.Manifest(key)
		if err != nil {
			v.add(m.Path, "%v", strings.TrimPrefix(err.Error(), "bundle member "+m.Path+": "))
			continue
		}
		v.manifests[key] = man
	}
	pointKeys := map[id.Key]bool{}
	for _, p := range v.idx.Points {
		pointKeys[p.Key] = true
		man := v.manifests[p.Key]
		switch {
		case man == nil && !v.b.bad[ManifestMember(p.Key)]:
			v.add(ManifestMember(p.Key), "the manifest of point %s is not in the bundle", p.Point)
		case man != nil && man.Kind != p.Kind:
			v.add(ManifestMember(p.Key), "point %s has kind %s, its manifest %s", p.Point, p.Kind, man.Kind)
		}
	}
	v.probes = map[id.Key]bool{}
	for _, key := range v.keys() {
		for _, pr := range v.manifests[key].Probes {
			v.probes[pr.Key] = true
			if v.manifests[pr.Key] == nil && !v.b.bad[ManifestMember(pr.Key)] {
				v.add(ManifestMember(key), "its probe %s (key %s) has no manifest in the bundle", pr.Name, pr.Key.Short())
			}
		}
	}
	for _, key := range v.keys() {
		if !pointKeys[key] && !v.probes[key] {
			v.add(ManifestMember(key), "not the manifest of any point in the index, nor of a probe")
		}
	}
}

// outputRef is one manifest's output naming an object.
type outputRef struct {
	m *store.Manifest
	o store.Output
}

// checkObjects checks every object member against the outputs that name it.
func (v *verifier) checkObjects() {
	refs := map[id.Object][]outputRef{}
	for _, key := range v.keys() {
		man := v.manifests[key]
		for _, o := range man.Outputs {
			refs[o.File] = append(refs[o.File], outputRef{man, o})
		}
	}
	for _, m := range v.idx.Members {
		obj, isObject, ok := memberID(m.Path, "objects/", ".arrow", id.ParseObject)
		if !isObject || v.b.bad[m.Path] {
			continue
		}
		switch {
		case !ok:
			v.add(m.Path, "not named objects/HASH.arrow")
		case m.SHA256 != obj.String():
			v.add(m.Path, "content hashes to %s, not to its name", m.SHA256[:id.ShortLen])
		case len(refs[obj]) == 0:
			v.add(m.Path, "no manifest in the bundle names this object")
		default:
			v.checkObject(m.Path, obj, refs[obj])
		}
	}
}

// checkObject checks one object against each output that names it: size,
// rows, data hash and the key and output name in its metadata.
func (v *verifier) checkObject(path string, obj id.Object, refs []outputRef) {
	data, err := v.b.ReadObject(obj)
	if err != nil {
		v.add(path, "%v", err)
		return
	}
	rec, meta, err := store.DecodeTable(data)
	if err != nil {
		v.add(path, "output %q of %s: %v", refs[0].o.Name, refs[0].m.Stage, err)
		return
	}
	plain, err := store.EncodeTable(rec, nil)
	rows := rec.NumRows()
	rec.Release()
	if err != nil {
		v.add(path, "re-encode: %v", err)
		return
	}
	dataHash := id.DataOf(plain)
	for _, r := range refs {
		what := fmt.Sprintf("output %q of %s", r.o.Name, r.m.Stage)
		switch {
		case r.o.Size != int64(len(data)):
			v.add(path, "%s: %d bytes, the manifest says %d", what, len(data), r.o.Size)
		case r.o.Rows != rows:
			v.add(path, "%s: %d rows, the manifest says %d", what, rows, r.o.Rows)
		case r.o.Data != dataHash:
			v.add(path, "%s: its table hashes to data %s, the manifest says %s", what, dataHash.Short(), r.o.Data.Short())
		case meta["bfc.key"] != r.m.Key.String() || meta["bfc.output"] != r.o.Name:
			v.add(path, "%s: its metadata names key %.12s output %q", what, meta["bfc.key"], meta["bfc.output"])
		}
	}
}

// checkRequired checks that every object the output selection requires
// is a member (with every output, the probes' outputs too).
func (v *verifier) checkRequired() {
	if v.idx.Outputs == OutputsAll {
		for _, key := range v.keys() {
			if !v.probes[key] {
				continue
			}
			for _, o := range v.manifests[key].Outputs {
				if _, ok := v.b.members[ObjectMember(o.File)]; !ok {
					v.add(ObjectMember(o.File), "output %q of probe %s is not in the bundle (selection %q requires it)", o.Name, key.Short(), v.idx.Outputs)
				}
			}
		}
	}
	for _, p := range v.idx.Points {
		man := v.manifests[p.Key]
		if man == nil {
			continue
		}
		for _, o := range man.Outputs {
			path := ObjectMember(o.File)
			if _, ok := v.b.members[path]; !ok && v.idx.Required(p, man, o) {
				v.add(path, "output %q of %s is not in the bundle (selection %q requires it)", o.Name, p.Point, v.idx.Outputs)
			}
		}
	}
}

// checkPublishedMembers checks every figures/ and paper/ member.
func (v *verifier) checkPublishedMembers() {
	for _, m := range v.idx.Members {
		top, name, _ := strings.Cut(m.Path, "/")
		if (top != "figures" && top != "paper") || v.b.bad[m.Path] {
			continue
		}
		if m.Origin == nil {
			if top == "figures" {
				v.add(m.Path, "not published by any point in the bundle")
			}
			continue
		}
		if err := v.checkPublished(m, top, name); err != nil {
			v.add(m.Path, "%v", err)
		}
	}
}

// checkPublished checks a figures/ or paper/ member against the output it
// came from, and a figure point's data table.
func (v *verifier) checkPublished(m Member, dir, name string) error {
	o := m.Origin
	p, ok := v.b.points[o.Point]
	if !ok || p.Key != o.Key {
		return fmt.Errorf("published by point %s with key %s, which the index does not list", o.Point, o.Key.Short())
	}
	man := v.manifests[o.Key]
	if man == nil {
		return fmt.Errorf("the manifest of %s (its origin) is not in the bundle", o.Point)
	}
	out, ok := man.Output(o.Output)
	if !ok {
		return fmt.Errorf("%s has no output %q", o.Point, o.Output)
	}
	data, err := v.b.ReadObject(out.File)
	if err != nil {
		return fmt.Errorf("output %q of %s: %v", o.Output, o.Point, err)
	}
	pdir, pname, content, err := store.PublishedFile(data)
	if err != nil {
		return fmt.Errorf("output %q of %s: %v", o.Output, o.Point, err)
	}
	if pdir != dir || pname != name {
		return fmt.Errorf("output %q of %s publishes %s/%s, not this file", o.Output, o.Point, pdir, pname)
	}
	file, err := v.b.ReadMember(m.Path)
	if err != nil {
		return err
	}
	if string(file) != string(content) {
		return fmt.Errorf("differs from what %s published (output %q, %d bytes, this file %d bytes)", o.Point, o.Output, len(content), len(file))
	}
	if dir == "figures" && man.Kind == "figure" {
		d, ok := man.Output("data")
		if !ok {
			return fmt.Errorf("figure point %s has no data table", o.Point)
		}
		if !v.b.HasObject(d.File) {
			return fmt.Errorf("the data table of figure point %s (object %s) is not in the bundle", o.Point, d.File.Short())
		}
	}
	return nil
}

// memberID parses a member path "PREFIX ID SUFFIX": in says whether the
// path is under prefix, ok whether the rest is an identity with the suffix.
func memberID[T any](path, prefix, suffix string, parse func(string) (T, error)) (v T, in, ok bool) {
	rest, in := strings.CutPrefix(path, prefix)
	if !in {
		return v, false, false
	}
	h, ok := strings.CutSuffix(rest, suffix)
	if !ok {
		return v, true, false
	}
	v, err := parse(h)
	return v, true, err == nil
}

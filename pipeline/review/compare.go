package review

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bfc-repro/bfc/artifacts/bundle"
	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/view"
)

// Comparing results: `bfc reproduce` compares a rerun with a bundle and
// `bfc diff` two bundles or a bundle and the store. Both say, per output,
// whether it changed and, for tables, by how much (bundle.CompareTables),
// and per point why its key changed (DiffComponents).

// States of an output or point in a comparison.
const (
	OutputSame    = "same"
	OutputChanged = "changed"
	OnlyInA       = "only in A"
	OnlyInB       = "only in B"
	// PointSameData is a point whose key changed but whose outputs hold
	// the same data (for example after a code change that did not
	// change its numbers).
	PointSameData = "same data"
)

// OutputDiff compares one output of a point in two places.
type OutputDiff struct {
	Name  string
	State string // OutputSame, OutputChanged, OnlyInA or OnlyInB
	A, B  string // the hashes compared (file or data hashes), in hex
	// Table compares the two tables value by value when the output is a
	// changed table and both objects are at hand.
	Table *bundle.TableDiff
	// Note says why there is no table comparison, or how a published
	// file changed.
	Note string
}

// CompareOutputs compares the outputs a (objects in srcA) with b (objects
// in srcB), matched by name: by file hash when byFile is set, else by data
// hash (the table without the metadata that names the key).
func CompareOutputs(a, b []store.Output, srcA, srcB ManifestSource, byFile bool) []OutputDiff {
	hash := func(o store.Output) string {
		if byFile {
			return o.File.String()
		}
		return o.Data.String()
	}
	inB := map[string]store.Output{}
	for _, o := range b {
		inB[o.Name] = o
	}
	var out []OutputDiff
	seen := map[string]bool{}
	for _, oa := range a {
		seen[oa.Name] = true
		ob, ok := inB[oa.Name]
		if !ok {
			out = append(out, OutputDiff{Name: oa.Name, State: OnlyInA, A: hash(oa)})
			continue
		}
		d := OutputDiff{Name: oa.Name, State: OutputSame, A: hash(oa), B: hash(ob)}
		if d.A != d.B {
			d.State = OutputChanged
			d.Table, d.Note = compareObjects(oa, ob, srcA, srcB)
		}
		out = append(out, d)
	}
	for _, ob := range b {
		if !seen[ob.Name] {
			out = append(out, OutputDiff{Name: ob.Name, State: OnlyInB, B: hash(ob)})
		}
	}
	return out
}

// compareObjects compares the contents of two versions of an output.
func compareObjects(oa, ob store.Output, srcA, srcB ManifestSource) (*bundle.TableDiff, string) {
	da, errA := srcA.ReadObject(oa.File)
	db, errB := srcB.ReadObject(ob.File)
	switch {
	case errA != nil && errors.Is(errA, store.ErrNotFound):
		return nil, "A holds its hash only, no values to compare"
	case errB != nil && errors.Is(errB, store.ErrNotFound):
		return nil, "B holds its hash only, no values to compare"
	case errA != nil:
		return nil, "A: " + errA.Error()
	case errB != nil:
		return nil, "B: " + errB.Error()
	}
	if strings.HasPrefix(oa.Name, store.PublishPrefix) {
		dir, name, ca, err1 := store.PublishedFile(da)
		_, _, cb, err2 := store.PublishedFile(db)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err.Error()
		}
		if string(ca) == string(cb) {
			return nil, fmt.Sprintf("published file %s/%s has the same bytes", dir, name)
		}
		return nil, fmt.Sprintf("published file %s/%s changed: %d -> %d bytes", dir, name, len(ca), len(cb))
	}
	ra, _, err1 := store.DecodeTable(da)
	if err1 != nil {
		return nil, "A: " + err1.Error()
	}
	defer ra.Release()
	rb, _, err2 := store.DecodeTable(db)
	if err2 != nil {
		return nil, "B: " + err2.Error()
	}
	defer rb.Release()
	return bundle.CompareTables(ra, rb), ""
}

// A Side is one of the two things `bfc diff` compares: the points of a
// bundle, or of the current graph with the keys the store holds for them.
type Side struct {
	Name   string
	Points []bundle.Point
	Src    ManifestSource
}

// PointDiff compares one point on two sides.
type PointDiff struct {
	Point   string
	State   string // OutputSame, PointSameData, OutputChanged, OnlyInA or OnlyInB
	KeyA    id.Key
	KeyB    id.Key
	Reasons []string // how the key components differ, from A to B
	Outputs []OutputDiff
	Err     error // a manifest that could not be read
}

// Differs reports whether the point differs in anything but its key.
func (d PointDiff) Differs() bool {
	return d.State != OutputSame && d.State != PointSameData
}

// DiffSides compares the points of a and b, matched by point id: which
// differ, why (the key components, old value and new), and for every
// output whose data changed, how (CompareOutputs by data hash).
func DiffSides(a, b Side) []PointDiff {
	inB := map[string]bundle.Point{}
	for _, p := range b.Points {
		inB[p.Point] = p
	}
	var out []PointDiff
	seen := map[string]bool{}
	for _, pa := range a.Points {
		seen[pa.Point] = true
		pb, ok := inB[pa.Point]
		if !ok {
			out = append(out, PointDiff{Point: pa.Point, State: OnlyInA, KeyA: pa.Key})
			continue
		}
		d := PointDiff{Point: pa.Point, State: OutputSame, KeyA: pa.Key, KeyB: pb.Key}
		if pa.Key != pb.Key {
			d = diffPoint(d, a, b)
		}
		out = append(out, d)
	}
	for _, pb := range b.Points {
		if !seen[pb.Point] {
			out = append(out, PointDiff{Point: pb.Point, State: OnlyInB, KeyB: pb.Key})
		}
	}
	return out
}

func diffPoint(d PointDiff, a, b Side) PointDiff {
	d.State = OutputChanged
	ma, errA := a.Src.Manifest(d.KeyA)
	mb, errB := b.Src.Manifest(d.KeyB)
	if err := errors.Join(errA, errB); err != nil {
		d.Err = err
		return d
	}
	d.Reasons = view.DiffComponents(ma.Components, mb.Components, false)
	d.Outputs = CompareOutputs(ma.Outputs, mb.Outputs, a.Src, b.Src, false)
	d.State = PointSameData
	for _, o := range d.Outputs {
		if o.State != OutputSame {
			d.State = OutputChanged
		}
	}
	return d
}

package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bfc-repro/bfc/artifacts"
)

// States reported by Status.
const (
	StateFresh   = "fresh"   // committed for the current key, outputs intact
	StateStale   = "stale"   // computed before, but the current key differs or is not known yet
	StateMissing = "missing" // never computed under this profile
)

// PointStatus says whether a point is up to date, and why not.
type PointStatus struct {
	Point    *Point
	State    string
	Key      string // "" when it cannot be known before upstream points run
	Reasons  []string
	Manifest *artifacts.Manifest // when fresh
}

// Status computes the state of pts (and, internally, of what they need)
// without running anything.
func (e *Engine) Status(pts []*Point) []*PointStatus {
	defer e.Store.SaveChecked()
	memo := map[*Point]*PointStatus{}
	var out []*PointStatus
	for _, p := range e.Graph.Closure(pts) {
		memo[p] = e.status(p, memo)
	}
	for _, p := range pts {
		out = append(out, memo[p])
	}
	return out
}

func (e *Engine) status(p *Point, memo map[*Point]*PointStatus) *PointStatus {
	ps := &PointStatus{Point: p}
	ref, rerr := e.Store.GetRef(e.Graph.Profile, p.ID)
	var old *artifacts.Manifest
	if rerr == nil {
		old, _ = e.Store.Manifest(ref.Key)
	}
	inputs := make([]*artifacts.Manifest, len(p.Inputs))
	var waiting []string
	for i, in := range p.Inputs {
		st := memo[in]
		if st.State != StateFresh {
			waiting = append(waiting, fmt.Sprintf("upstream %s is %s", in.ID, st.State))
			continue
		}
		inputs[i] = st.Manifest
	}
	if len(waiting) > 0 {
		ps.State = StateMissing
		if rerr == nil {
			ps.State = StateStale
		}
		ps.Reasons = waiting
		if old != nil {
			if cs, err := e.Components(p, nil); err == nil {
				ps.Reasons = append(ps.Reasons, DiffComponents(old.Components, cs, true)...)
			}
		}
		return ps
	}
	cs, err := e.Components(p, inputs)
	if err != nil {
		ps.State, ps.Reasons = StateStale, []string{err.Error()}
		return ps
	}
	key, _ := artifacts.KeyOf(cs)
	ps.Key = key
	m, ferr := e.Fresh(key)
	switch {
	case ferr == nil:
		ps.State, ps.Manifest = StateFresh, m
		if rerr == nil && ref.Key != key {
			ps.Reasons = []string{"computed for this key elsewhere (another stage or profile)"}
		}
	case !errors.Is(ferr, artifacts.ErrNotFound):
		ps.State, ps.Reasons = StateStale, []string{"stored result damaged: " + ferr.Error()}
	case rerr != nil:
		ps.State, ps.Reasons = StateMissing, []string{"never computed"}
	case old == nil:
		ps.State, ps.Reasons = StateStale, []string{"the result of its last run is no longer in the store (gc?)"}
	default:
		ps.State = StateStale
		ps.Reasons = DiffComponents(old.Components, cs, false)
		if len(ps.Reasons) == 0 {
			ps.Reasons = []string{"key changed"}
		}
	}
	return ps
}

// DiffComponents explains how the key components new differ from old, in
// words. With partial set, new lacks input components and inputs are not compared.
func DiffComponents(old, new []artifacts.Component, partial bool) []string {
	om := map[string]artifacts.Component{}
	for _, c := range old {
		om[c.Name] = c
	}
	nm := map[string]artifacts.Component{}
	for _, c := range new {
		nm[c.Name] = c
	}
	var out []string
	for _, c := range new {
		o, ok := om[c.Name]
		if !ok {
			out = append(out, describeAdded(c))
			continue
		}
		if o.Hash != c.Hash {
			out = append(out, describeChange(o, c))
		}
	}
	for _, c := range old {
		if _, ok := nm[c.Name]; ok {
			continue
		}
		if partial && strings.HasPrefix(c.Name, "input:") {
			continue
		}
		out = append(out, "removed "+label(c.Name)+" (was "+clip(c.Value)+")")
	}
	return out
}

func label(name string) string {
	kind, rest, _ := strings.Cut(name, ":")
	switch kind {
	case "param":
		return "param " + rest
	case "input":
		return "input " + strings.TrimLeft(rest, "0")
	case "file":
		return "file " + rest
	case "code.pkg":
		return "code of package " + rest
	case "code.mod":
		return "module " + rest
	}
	return name
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func describeAdded(c artifacts.Component) string {
	return "new " + label(c.Name) + " = " + clip(c.Value)
}

func describeChange(o, c artifacts.Component) string {
	kind, rest, _ := strings.Cut(c.Name, ":")
	switch kind {
	case "param":
		return fmt.Sprintf("param %s %s -> %s", rest, clip(o.Value), clip(c.Value))
	case "input":
		return "upstream " + inputChange(o.Value, c.Value)
	case "file":
		return "file " + rest + " changed"
	case "code.pkg":
		return "code of package " + rest + " changed"
	case "code.mod":
		return fmt.Sprintf("module %s %s -> %s", rest, strings.Fields(o.Value + " ?")[0], strings.Fields(c.Value + " ?")[0])
	case "code.go":
		return fmt.Sprintf("Go version %s -> %s", o.Value, c.Value)
	case "code.arch":
		return fmt.Sprintf("architecture %s -> %s", o.Value, c.Value)
	case "code.blas":
		return fmt.Sprintf("BLAS backend %s -> %s", o.Value, c.Value)
	case "seed":
		return fmt.Sprintf("seed %s -> %s", o.Value, c.Value)
	case "kind":
		return fmt.Sprintf("kind %s -> %s", o.Value, c.Value)
	}
	return fmt.Sprintf("%s %s -> %s", c.Name, clip(o.Value), clip(c.Value))
}

// inputChange words the change of an input component: "kind[labels]
// name=hash ...".
func inputChange(old, new string) string {
	of, nf := strings.Fields(old), strings.Fields(new)
	if len(of) == 0 || len(nf) == 0 {
		return "input changed"
	}
	if of[0] != nf[0] {
		return fmt.Sprintf("input %s replaced by %s", of[0], nf[0])
	}
	oo := map[string]string{}
	for _, f := range of[1:] {
		n, h, _ := strings.Cut(f, "=")
		oo[n] = h
	}
	var changed []string
	for _, f := range nf[1:] {
		n, h, _ := strings.Cut(f, "=")
		if oo[n] != h {
			changed = append(changed, n)
		}
	}
	return fmt.Sprintf("%s output changed (%s)", nf[0], strings.Join(changed, ", "))
}

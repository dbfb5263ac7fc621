package graph

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/stages/kit"
)

// Engine computes stage keys and freshness for a graph over a store. It is
// safe for concurrent use.
type Engine struct {
	Graph *Graph
	Store *store.Store
	Code  CodeIdentity

	mu        sync.Mutex
	codeComps map[string][]store.Component // by kind package
	fileHash  map[string]string
	// memo guards what keys remember across points: components of
	// declarations, canonical scalars and each kind's parameters.
	memo  sync.RWMutex
	comps map[compKey]store.Component
	canon map[scalarKey]string
	decls map[string][]kit.Param
}

// CodeIdentity gives the code-identity key components of the kind
// implemented in a Go package. CodeBase is the real one; tests substitute
// their own to simulate code changes.
type CodeIdentity interface {
	Components(pkgPath string) ([]store.Component, error)
}

// NewEngine ties a graph, a store and the code identity together.
func NewEngine(g *Graph, s *store.Store, cb CodeIdentity) *Engine {
	return &Engine{Graph: g, Store: s, Code: cb, codeComps: map[string][]store.Component{}, fileHash: map[string]string{},
		comps: map[compKey]store.Component{}, canon: map[scalarKey]string{}, decls: map[string][]kit.Param{}}
}

// KindPackage is the import path of the package that implements k.
func KindPackage(k kit.Kind) string {
	t := reflect.TypeOf(k)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

// CodeComponents returns (and caches) the code identity of a kind.
func (e *Engine) CodeComponents(k kit.Kind) ([]store.Component, error) {
	pkg := KindPackage(k)
	e.mu.Lock()
	defer e.mu.Unlock()
	if cs, ok := e.codeComps[pkg]; ok {
		return cs, nil
	}
	cs, err := e.Code.Components(pkg)
	if err != nil {
		return nil, fmt.Errorf("kind %s: %w", k.Name(), err)
	}
	e.codeComps[pkg] = cs
	return cs, nil
}

func (e *Engine) hashFile(path string) (string, error) {
	e.mu.Lock()
	h, ok := e.fileHash[path]
	e.mu.Unlock()
	if ok {
		return h, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("file %s does not exist", path)
		}
		return "", err
	}
	h = id.HexSum(b)
	e.mu.Lock()
	e.fileHash[path] = h
	e.mu.Unlock()
	return h, nil
}

// CanonicalJSON encodes a parameter value so that equal values give equal
// text (maps have sorted keys; floats use the shortest exact form).
func CanonicalJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// InputValue is the value of the key component ("input:NNN") that an input
// point of kind with labels, whose result is m, gives a point reading it:
// the kind, the labels and the data hash of every output, as in
// "src[seed=1] values=ab12…".
func InputValue(kind string, labels map[string]string, m *store.Manifest) string {
	var b strings.Builder
	b.WriteString(kind)
	if len(labels) > 0 {
		b.WriteString(PointID("", labels))
	}
	outs := m.Outputs
	byName := func(a, b store.Output) int { return strings.Compare(a.Name, b.Name) }
	if !slices.IsSortedFunc(outs, byName) {
		outs = slices.Clone(outs)
		slices.SortFunc(outs, byName) // names are distinct (Manifest.Validate)
	}
	for _, o := range outs {
		b.WriteByte(' ')
		b.WriteString(o.Name)
		b.WriteByte('=')
		b.WriteString(o.Data.String())
	}
	return b.String()
}

// DeclaredComponents are the key components that a point's declaration
// gives: its kind, each declared parameter in canonical JSON (params must
// be resolved) and the seed under the master seed. A static point and a
// dynamic probe (kit.Env.Probe) derive them alike.
func DeclaredComponents(k kit.Kind, params kit.Params, master, seed int64) []store.Component {
	return declaredComponents(k, params, master, seed, store.NewComponent)
}

func declaredComponents(k kit.Kind, params kit.Params, master, seed int64, newComp func(name, value string) store.Component) []store.Component {
	return declaredFrom(k.Name(), k.Params(), params, master, seed, CanonicalJSON, newComp)
}

// declaredFrom is DeclaredComponents of a kind named kind declaring decls,
// with the canonical encoding and the component constructor given.
func declaredFrom(kind string, decls []kit.Param, params kit.Params, master, seed int64,
	canonical func(any) string, newComp func(name, value string) store.Component) []store.Component {
	cs := make([]store.Component, 0, len(decls)+2)
	cs = append(cs, newComp("kind", kind))
	for _, d := range decls {
		cs = append(cs, newComp("param:"+d.Name, canonical(params[d.Name])))
	}
	return append(cs, newComp("seed", "master="+strconv.FormatInt(master, 10)+" seed="+strconv.FormatInt(seed, 10)))
}

// compKey names a component by name and value (Engine.component).
type compKey struct{ name, value string }

// component is store.NewComponent, remembering the components of
// declarations: the points of a stage share most of their parameters, so
// their values are hashed once.
func (e *Engine) component(name, value string) store.Component {
	k := compKey{name, value}
	e.memo.RLock()
	c, ok := e.comps[k]
	e.memo.RUnlock()
	if ok {
		return c
	}
	c = store.NewComponent(name, value)
	e.memo.Lock()
	e.comps[k] = c
	e.memo.Unlock()
	return c
}

// scalarKey identifies a scalar parameter value exactly (a float by its
// bits: -0 and 0 encode differently).
type scalarKey struct {
	kind byte
	bits uint64
	s    string
}

// canonical is CanonicalJSON, remembered for scalar values, which the
// points of a grid repeat.
func (e *Engine) canonical(v any) string {
	var k scalarKey
	switch x := v.(type) {
	case int64:
		k = scalarKey{kind: 1, bits: uint64(x)}
	case float64:
		k = scalarKey{kind: 2, bits: math.Float64bits(x)}
	case string:
		k = scalarKey{kind: 3, s: x}
	case bool:
		k = scalarKey{kind: 4}
		if x {
			k.bits = 1
		}
	case int:
		k = scalarKey{kind: 5, bits: uint64(x)}
	default:
		return CanonicalJSON(v)
	}
	e.memo.RLock()
	s, ok := e.canon[k]
	e.memo.RUnlock()
	if ok {
		return s
	}
	s = CanonicalJSON(v)
	e.memo.Lock()
	e.canon[k] = s
	e.memo.Unlock()
	return s
}

// params returns (and caches) the declared parameters of a kind, which
// some kinds build anew on every call.
func (e *Engine) params(k kit.Kind) []kit.Param {
	name := k.Name()
	e.memo.RLock()
	ds, ok := e.decls[name]
	e.memo.RUnlock()
	if ok {
		return ds
	}
	ds = k.Params()
	e.memo.Lock()
	e.decls[name] = ds
	e.memo.Unlock()
	return ds
}

// InputComponent is the key component ("input:NNN") of input i, a point of
// kind with labels whose result is m: what its outputs contain
// (InputValue). The upstream key is deliberately absent, so a rerun that
// yields identical data does not change the reader's key (early cutoff).
func InputComponent(i int, kind string, labels map[string]string, m *store.Manifest) store.Component {
	return store.NewComponent(inputName(i), InputValue(kind, labels, m))
}

// inputName is "input:NNN", i with at least three digits.
func inputName(i int) string {
	n := strconv.Itoa(i)
	if len(n) < 3 && i >= 0 {
		n = "000"[len(n):] + n
	}
	return "input:" + n
}

// Components computes the key components of p, given the manifests of
// its inputs (in p.Inputs order). With inputs nil it returns every
// component except the inputs' (for explaining a point whose inputs are
// not computed yet).
func (e *Engine) Components(p *Point, inputs []*store.Manifest) ([]store.Component, error) {
	k := p.Stage.Kind
	cs := declaredFrom(k.Name(), e.params(k), p.Params, e.Graph.Config.Seed, p.Seed, e.canonical, e.component)
	for i, in := range p.Inputs {
		if inputs == nil {
			break
		}
		cs = append(cs, InputComponent(i, in.Stage.Kind.Name(), in.Labels, inputs[i]))
	}
	for _, f := range p.Files {
		h, err := e.hashFile(f.Abs)
		if err != nil {
			return nil, err
		}
		cs = append(cs, store.NewComponent("file:"+f.Path, h))
	}
	code, err := e.CodeComponents(k)
	if err != nil {
		return nil, err
	}
	return append(cs, code...), nil
}

// Fresh returns the manifest of key if it is committed and every output
// object rehashes to its name. A manifest with damaged outputs is reported
// as an error that does not wrap store.ErrNotFound.
func (e *Engine) Fresh(key id.Key) (*store.Manifest, error) {
	m, err := e.Store.Manifest(key)
	if err != nil {
		return nil, err
	}
	if err := e.Store.CheckOutputs(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Key computes the key components of p (see Components) and the key they
// hash to.
func (e *Engine) Key(p *Point, inputs []*store.Manifest) ([]store.Component, id.Key, error) {
	cs, err := e.Components(p, inputs)
	if err != nil {
		return nil, id.Key{}, err
	}
	key, err := store.KeyOfNew(cs)
	return cs, key, err
}

// EffectiveSeed mixes the pipeline's master seed with a point's seed.
func EffectiveSeed(master, seed int64) uint64 {
	h := sha256.New()
	fmt.Fprintf(h, "bfc-seed %d %d", master, seed)
	return binary.LittleEndian.Uint64(h.Sum(nil)[:8])
}

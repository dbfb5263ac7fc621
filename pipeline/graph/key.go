package graph

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
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
	declared  sync.Map // name NUL value -> store.Component (Engine.component)
}

// CodeIdentity gives the code-identity key components of the kind
// implemented in a Go package. CodeBase is the real one; tests substitute
// their own to simulate code changes.
type CodeIdentity interface {
	Components(pkgPath string) ([]store.Component, error)
}

// NewEngine ties a graph, a store and the code identity together.
func NewEngine(g *Graph, s *store.Store, cb CodeIdentity) *Engine {
	return &Engine{Graph: g, Store: s, Code: cb, codeComps: map[string][]store.Component{}, fileHash: map[string]string{}}
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
	outs := slices.Clone(m.Outputs)
	sort.Slice(outs, func(i, j int) bool { return outs[i].Name < outs[j].Name })
	for _, o := range outs {
		fmt.Fprintf(&b, " %s=%s", o.Name, o.Data.String())
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
	decls := k.Params()
	cs := make([]store.Component, 0, len(decls)+2)
	cs = append(cs, newComp("kind", k.Name()))
	for _, d := range decls {
		cs = append(cs, newComp("param:"+d.Name, CanonicalJSON(params[d.Name])))
	}
	return append(cs, newComp("seed", "master="+strconv.FormatInt(master, 10)+" seed="+strconv.FormatInt(seed, 10)))
}

// component is store.NewComponent, remembering the components of
// declarations: the points of a stage share most of their parameters, so
// their values are hashed once.
func (e *Engine) component(name, value string) store.Component {
	k := name + "\x00" + value
	if c, ok := e.declared.Load(k); ok {
		return c.(store.Component)
	}
	c := store.NewComponent(name, value)
	e.declared.Store(k, c)
	return c
}

// InputComponent is the key component ("input:NNN") of input i, a point of
// kind with labels whose result is m: what its outputs contain
// (InputValue). The upstream key is deliberately absent, so a rerun that
// yields identical data does not change the reader's key (early cutoff).
func InputComponent(i int, kind string, labels map[string]string, m *store.Manifest) store.Component {
	return store.NewComponent(fmt.Sprintf("input:%03d", i), InputValue(kind, labels, m))
}

// Components computes the key components of p, given the manifests of
// its inputs (in p.Inputs order). With inputs nil it returns every
// component except the inputs' (for explaining a point whose inputs are
// not computed yet).
func (e *Engine) Components(p *Point, inputs []*store.Manifest) ([]store.Component, error) {
	k := p.Stage.Kind
	cs := declaredComponents(k, p.Params, e.Graph.Config.Seed, p.Seed, e.component)
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

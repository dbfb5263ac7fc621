package review

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bfc-repro/bfc/artifacts/bundle"
	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/view"
)

// ArchiveOptions configure Archive.
type ArchiveOptions struct {
	Outputs string // bundle.OutputsAll or bundle.OutputsFinal
	Build   bundle.BuildInfo
	Machine bundle.MachineInfo
	// AllowMissing archives the fresh points and lists the others in the
	// index as missing, instead of failing.
	AllowMissing bool
	Created      string       // RFC 3339 creation time ("" = now)
	Warn         func(string) // told about files left out; may be nil
}

// ArchiveResult describes a written bundle.
type ArchiveResult struct {
	Index *bundle.Index
	Pin   string // the name under which the bundle's keys are pinned in the store
	Bytes int64  // uncompressed bytes of the members
}

// Archive writes a review bundle of the points of e's graph to w: the
// pipeline file, build and machine descriptions, the manifest of every
// point, the output objects opt.Outputs selects (see bundle.Index.Outputs),
// the published figures and the report directory. Every point must be
// fresh (or opt.AllowMissing set). A figure that no point publishes is
// left out, and a published file whose copy in the project differs from
// what its point published is an error: the bundle shows what the
// pipeline produced. The bundle's keys are pinned in the store so that gc
// keeps what the bundle refers to.
func Archive(ctx context.Context, e *graph.Engine, w io.Writer, opt ArchiveOptions) (*ArchiveResult, error) {
	if opt.Outputs != bundle.OutputsAll && opt.Outputs != bundle.OutputsFinal {
		return nil, fmt.Errorf("outputs %q: use %q or %q", opt.Outputs, bundle.OutputsAll, bundle.OutputsFinal)
	}
	if opt.Warn == nil {
		opt.Warn = func(string) {}
	}
	lock, err := e.Store.LockShared(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	a := &archiver{e: e, opt: opt, files: map[string]bundle.File{}, published: map[string]publishedFile{}}
	for _, step := range []func() error{a.index, a.points, a.publishedFiles, a.projectFiles, a.fixedFiles} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	root, err := bundle.Write(w, a.idx, slices.Collect(maps.Values(a.files)))
	if err != nil {
		return nil, err
	}
	res := &ArchiveResult{Index: a.idx, Pin: "archive-" + root[:16]}
	for _, m := range a.idx.Members {
		res.Bytes += m.Size
	}
	keys := slices.Clone(a.probeKeys)
	for _, p := range a.idx.Points {
		keys = append(keys, p.Key)
	}
	if err := e.Store.PutPin(res.Pin, keys); err != nil {
		return nil, fmt.Errorf("pin the bundle's keys: %w", err)
	}
	return res, nil
}

// archiver collects the members of one bundle.
type archiver struct {
	e     *graph.Engine
	opt   ArchiveOptions
	idx   *bundle.Index
	files map[string]bundle.File // by member path
	// published are the files the points publish, by member path.
	published map[string]publishedFile
	// probeKeys are the keys of the probes the points used, transitively.
	probeKeys []id.Key
	probed    map[id.Key]bool
}

type publishedFile struct {
	origin  *bundle.Origin
	content []byte
}

func (a *archiver) add(f bundle.File) { a.files[f.Path] = f }

// index starts the bundle index.
func (a *archiver) index() error {
	g := a.e.Graph
	a.idx = &bundle.Index{Created: a.opt.Created, Pipeline: g.Config.Name, Profile: g.Profile, MasterSeed: g.Config.Seed,
		Outputs: a.opt.Outputs, Program: a.opt.Build.Module.Path + "@" + a.opt.Build.Module.Version}
	var err error
	if a.idx.FiguresDir, err = filepath.Rel(g.Config.Dir, g.Config.Figures); err != nil {
		return err
	}
	a.idx.PaperDir, err = filepath.Rel(g.Config.Dir, g.Config.Paper)
	return err
}

// points adds every fresh point to the index with its manifest, the
// objects the output selection requires and the files it publishes, and
// lists (or refuses) the points that are not fresh.
func (a *archiver) points() error {
	g, st := a.e.Graph, a.e.Store
	used := map[*graph.Point]bool{}
	for _, p := range g.Points {
		for _, in := range p.Inputs {
			used[in] = true
		}
	}
	var missing []string
	for _, s := range view.Status(a.e, g.Points) {
		p := s.Point
		if s.State != view.StateFresh {
			missing = append(missing, fmt.Sprintf("%s (%s)", p.ID, s.State))
			a.idx.Missing = append(a.idx.Missing, p.ID)
			continue
		}
		m := s.Manifest
		bp := bundle.Point{Point: p.ID, Stage: p.Stage.ID, Kind: p.Stage.Kind.Name(), Key: m.Key, Labels: p.Labels, Final: !used[p]}
		for _, in := range p.Inputs {
			bp.Inputs = append(bp.Inputs, in.ID)
		}
		a.idx.Points = append(a.idx.Points, bp)
		a.add(bundle.File{Path: bundle.ManifestMember(m.Key), File: st.ManifestPath(m.Key)})
		if err := a.probes(p.ID, m); err != nil {
			return err
		}
		for _, o := range m.Outputs {
			if a.idx.Required(bp, m, o) {
				a.add(bundle.File{Path: bundle.ObjectMember(o.File), File: st.ObjectPath(o.File)})
			}
			if strings.HasPrefix(o.Name, store.PublishPrefix) {
				if err := a.publishedOutput(p.ID, m, o); err != nil {
					return err
				}
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	what := fmt.Sprintf("%d stage point(s) are not computed", len(missing))
	list := strings.Join(view.FirstN(missing, 4), ", ")
	if !a.opt.AllowMissing {
		return fmt.Errorf("%s: %s; run `bfc run` first (or archive with --allow-missing)", what, list)
	}
	a.opt.Warn(fmt.Sprintf("%s and are left out: %s", what, list))
	return nil
}

// probes adds the manifests of the probes m used, and theirs, with their
// objects when the bundle has every output (probes are intermediates: a
// final bundle has their hashes only, and reproduce recomputes them).
func (a *archiver) probes(point string, m *store.Manifest) error {
	st := a.e.Store
	for _, pr := range m.Probes {
		if a.probed[pr.Key] {
			continue
		}
		pm, err := st.Manifest(pr.Key)
		if err != nil {
			return fmt.Errorf("probe %s of %s: %w", pr.Name, point, err)
		}
		if err := st.CheckOutputs(pm); err != nil {
			return fmt.Errorf("probe %s of %s: %w", pr.Name, point, err)
		}
		if a.probed == nil {
			a.probed = map[id.Key]bool{}
		}
		a.probed[pr.Key] = true
		a.probeKeys = append(a.probeKeys, pr.Key)
		a.add(bundle.File{Path: bundle.ManifestMember(pr.Key), File: st.ManifestPath(pr.Key)})
		if a.opt.Outputs == bundle.OutputsAll {
			for _, o := range pm.Outputs {
				a.add(bundle.File{Path: bundle.ObjectMember(o.File), File: st.ObjectPath(o.File)})
			}
		}
		if err := a.probes(pr.Name, pm); err != nil {
			return err
		}
	}
	return nil
}

// publishedOutput records the file that output o of point publishes.
func (a *archiver) publishedOutput(point string, m *store.Manifest, o store.Output) error {
	data, err := a.e.Store.ReadObject(o.File)
	if err != nil {
		return fmt.Errorf("%s: %w", point, err)
	}
	dir, name, content, err := store.PublishedFile(data)
	if err != nil {
		return fmt.Errorf("%s output %s: %w", point, o.Name, err)
	}
	path := dir + "/" + name
	if prev, dup := a.published[path]; dup && !bytes.Equal(prev.content, content) {
		return fmt.Errorf("%s and %s both publish %s, with different contents", prev.origin.Point, point, path)
	}
	a.published[path] = publishedFile{origin: &bundle.Origin{Point: point, Key: m.Key, Output: o.Name}, content: content}
	return nil
}

// publishedFiles adds the published files from the store; the project's
// copies must agree with them.
func (a *archiver) publishedFiles() error {
	cfg := a.e.Graph.Config
	for _, path := range slices.Sorted(maps.Keys(a.published)) {
		pf := a.published[path]
		dir, name, _ := strings.Cut(path, "/")
		local := filepath.Join(cfg.Figures, name)
		if dir == "paper" {
			local = filepath.Join(cfg.Paper, name)
		}
		b, err := os.ReadFile(local)
		switch {
		case err != nil:
			a.opt.Warn(fmt.Sprintf("%s is not in the project (run without --no-publish?); archived from the store", local))
		case !bytes.Equal(b, pf.content):
			return fmt.Errorf("%s differs from what %s published; run `bfc run` to republish it", local, pf.origin.Point)
		}
		a.add(bundle.File{Path: path, Data: pf.content, Origin: pf.origin})
	}
	return nil
}

// projectFiles adds the rest of the paper directory (the report's text,
// its build inputs) and warns about figures no point publishes.
func (a *archiver) projectFiles() error {
	cfg := a.e.Graph.Config
	for _, d := range []struct{ top, dir string }{{"figures", cfg.Figures}, {"paper", cfg.Paper}} {
		err := walkProjectDir(d.dir, func(rel, abs string) {
			path := d.top + "/" + rel
			if _, ok := a.files[path]; ok {
				return
			}
			if d.top == "figures" {
				a.opt.Warn(fmt.Sprintf("%s is not published by any point of the pipeline; left out", abs))
				return
			}
			if strings.HasPrefix(rel, "build/") {
				return // LaTeX's scratch files of `make paper`
			}
			if err := bundle.ValidPath(path); err != nil {
				a.opt.Warn(fmt.Sprintf("%s: %v; left out", abs, err))
				return
			}
			a.add(bundle.File{Path: path, File: abs})
		}, a.opt.Warn)
		if err != nil {
			return err
		}
	}
	return nil
}

// fixedFiles adds pipeline.toml and the build and machine descriptions.
func (a *archiver) fixedFiles() error {
	src, err := os.ReadFile(a.e.Graph.Config.File)
	if err != nil {
		return err
	}
	a.add(bundle.File{Path: "pipeline.toml", Data: src})
	for name, v := range map[string]any{"build.json": a.opt.Build, "machine.json": a.opt.Machine} {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			return err
		}
		a.add(bundle.File{Path: name, Data: append(b, '\n')})
	}
	return nil
}

// walkProjectDir calls fn for every regular file below dir (rel is the
// slash path below dir), skipping hidden names and, with a warning,
// symbolic links and other special files. A missing dir is empty.
func walkProjectDir(dir string, fn func(rel, abs string), warn func(string)) error {
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			paths = append(paths, p)
		default:
			warn(fmt.Sprintf("%s is not a regular file; left out", p))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("archive %s: %w", dir, err)
	}
	slices.Sort(paths)
	for _, p := range paths {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fn(filepath.ToSlash(rel), p)
	}
	return nil
}

package pipeline

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

	"github.com/bfc-repro/bfc/artifacts"
)

// ArchiveOptions configure Engine.Archive.
type ArchiveOptions struct {
	Outputs string // artifacts.OutputsAll or artifacts.OutputsFinal
	Build   artifacts.BuildInfo
	Machine artifacts.MachineInfo
	// AllowMissing archives the fresh points and lists the others in the
	// index as missing, instead of failing.
	AllowMissing bool
	Created      string       // RFC 3339 creation time ("" = now)
	Warn         func(string) // told about files left out; may be nil
}

// ArchiveResult describes a written bundle.
type ArchiveResult struct {
	Index *artifacts.BundleIndex
	Pin   string // the name under which the bundle's keys are pinned in the store
	Bytes int64  // uncompressed bytes of the members
}

// Archive writes a review bundle of the graph's points to w: the pipeline
// file, build and machine descriptions, the manifest of every point, the
// output objects opt.Outputs selects (see artifacts.BundleIndex.Outputs),
// the published figures and the report directory. Every point must be
// fresh (or opt.AllowMissing set). A figure that no point publishes is
// left out, and a published file whose copy in the project differs from
// what its point published is an error: the bundle shows what the
// pipeline produced. The bundle's keys are pinned in the store so that gc
// keeps what the bundle refers to.
func (e *Engine) Archive(ctx context.Context, w io.Writer, opt ArchiveOptions) (*ArchiveResult, error) {
	g, st := e.Graph, e.Store
	warn := opt.Warn
	if warn == nil {
		warn = func(string) {}
	}
	if opt.Outputs != artifacts.OutputsAll && opt.Outputs != artifacts.OutputsFinal {
		return nil, fmt.Errorf("outputs %q: use %q or %q", opt.Outputs, artifacts.OutputsAll, artifacts.OutputsFinal)
	}
	lock, err := st.LockShared(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()

	used := map[*Point]bool{}
	for _, p := range g.Points {
		for _, in := range p.Inputs {
			used[in] = true
		}
	}
	idx := &artifacts.BundleIndex{Created: opt.Created, Pipeline: g.Config.Name, Profile: g.Profile, MasterSeed: g.Config.Seed,
		Outputs: opt.Outputs, Program: opt.Build.Module.Path + "@" + opt.Build.Module.Version}
	if idx.FiguresDir, err = filepath.Rel(g.Config.Dir, g.Config.Figures); err != nil {
		return nil, err
	}
	if idx.PaperDir, err = filepath.Rel(g.Config.Dir, g.Config.Paper); err != nil {
		return nil, err
	}
	var missing []string
	files := map[string]artifacts.BundleFile{}
	add := func(f artifacts.BundleFile) { files[f.Path] = f }
	published := map[string]*artifacts.Origin{}
	publishedBytes := map[string][]byte{}
	for _, s := range e.Status(g.Points) {
		p := s.Point
		if s.State != StateFresh {
			missing = append(missing, fmt.Sprintf("%s (%s)", p.ID, s.State))
			idx.Missing = append(idx.Missing, p.ID)
			continue
		}
		m := s.Manifest
		bp := artifacts.BundlePoint{Point: p.ID, Stage: p.Stage.ID, Kind: p.Stage.Kind.Name(), Key: m.Key, Labels: p.Labels, Final: !used[p]}
		for _, in := range p.Inputs {
			bp.Inputs = append(bp.Inputs, in.ID)
		}
		idx.Points = append(idx.Points, bp)
		add(artifacts.BundleFile{Path: artifacts.ManifestMember(m.Key), File: st.ManifestPath(m.Key)})
		for _, o := range m.Outputs {
			if idx.Required(bp, m, o) {
				add(artifacts.BundleFile{Path: artifacts.ObjectMember(o.File), File: st.ObjectPath(o.File)})
			}
			if !strings.HasPrefix(o.Name, PublishPrefix) {
				continue
			}
			data, err := st.ReadObject(o.File)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.ID, err)
			}
			dir, name, content, err := artifacts.PublishedFile(data)
			if err != nil {
				return nil, fmt.Errorf("%s output %s: %w", p.ID, o.Name, err)
			}
			path := dir + "/" + name
			if prev, dup := published[path]; dup && !bytes.Equal(publishedBytes[path], content) {
				return nil, fmt.Errorf("%s and %s both publish %s, with different contents", prev.Point, p.ID, path)
			}
			published[path] = &artifacts.Origin{Point: p.ID, Key: m.Key, Output: o.Name}
			publishedBytes[path] = content
		}
	}
	if len(missing) > 0 {
		if !opt.AllowMissing {
			return nil, fmt.Errorf("%d stage point(s) are not computed: %s; run `bfc run` first (or archive with --allow-missing)", len(missing), strings.Join(firstReasons(missing, 4), ", "))
		}
		warn(fmt.Sprintf("%d stage point(s) are not computed and are left out: %s", len(missing), strings.Join(firstReasons(missing, 4), ", ")))
	}

	// Published files come from the store; the project's copies must agree.
	for _, path := range slices.Sorted(maps.Keys(published)) {
		origin := published[path]
		dir, name, _ := strings.Cut(path, "/")
		local := filepath.Join(g.Config.Figures, name)
		if dir == "paper" {
			local = filepath.Join(g.Config.Paper, name)
		}
		b, err := os.ReadFile(local)
		switch {
		case err != nil:
			warn(fmt.Sprintf("%s is not in the project (run without --no-publish?); archived from the store", local))
		case !bytes.Equal(b, publishedBytes[path]):
			return nil, fmt.Errorf("%s differs from what %s published; run `bfc run` to republish it", local, origin.Point)
		}
		add(artifacts.BundleFile{Path: path, Data: publishedBytes[path], Origin: origin})
	}
	for _, d := range []struct{ top, dir string }{{"figures", g.Config.Figures}, {"paper", g.Config.Paper}} {
		err := walkProjectDir(d.dir, func(rel, abs string) {
			path := d.top + "/" + rel
			if _, ok := files[path]; ok {
				return
			}
			if d.top == "figures" {
				warn(fmt.Sprintf("%s is not published by any point of the pipeline; left out", abs))
				return
			}
			if strings.HasPrefix(rel, "build/") {
				return // LaTeX's scratch files of `make paper`
			}
			if err := artifacts.ValidBundlePath(path); err != nil {
				warn(fmt.Sprintf("%s: %v; left out", abs, err))
				return
			}
			add(artifacts.BundleFile{Path: path, File: abs})
		}, warn)
		if err != nil {
			return nil, err
		}
	}
	src, err := os.ReadFile(g.Config.File)
	if err != nil {
		return nil, err
	}
	add(artifacts.BundleFile{Path: "pipeline.toml", Data: src})
	for name, v := range map[string]any{"build.json": opt.Build, "machine.json": opt.Machine} {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			return nil, err
		}
		add(artifacts.BundleFile{Path: name, Data: append(b, '\n')})
	}

	list := make([]artifacts.BundleFile, 0, len(files))
	for _, f := range files {
		list = append(list, f)
	}
	root, err := artifacts.WriteBundle(w, idx, list)
	if err != nil {
		return nil, err
	}
	res := &ArchiveResult{Index: idx, Pin: "archive-" + root[:16]}
	for _, m := range idx.Members {
		res.Bytes += m.Size
	}
	var keys []string
	for _, p := range idx.Points {
		keys = append(keys, p.Key)
	}
	if err := st.PutPin(res.Pin, keys); err != nil {
		return nil, fmt.Errorf("pin the bundle's keys: %w", err)
	}
	return res, nil
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

package review_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/bundle"
	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/pipeline/internal/enginetest"
	"github.com/bfc-repro/bfc/pipeline/internal/testkinds"
	"github.com/bfc-repro/bfc/pipeline/review"
)

// searchPipeline is the engine fixture's search without its static twin.
var searchPipeline = strings.Replace(strings.Replace(enginetest.SearchPipeline, "RATIO", "1.25", 1),
	"[stage.st]\nkind = \"src\"\nparams = { n = 16 }\nseed = 7\n", "", 1)

// TestBundlesCarryProbes archives a search with every output and with the
// final ones: the bundle holds the manifests of its 9 probes (and with
// every output their objects), pins their keys, verifies, and a bundle
// whose probe manifest is removed does not; reproducing the search
// recomputes each probe and finds it identical.
func TestBundlesCarryProbes(t *testing.T) {
	for _, outputs := range []string{bundle.OutputsAll, bundle.OutputsFinal} {
		t.Run(outputs, func(t *testing.T) {
			f := newFixture(t, searchPipeline)
			f.Run("")
			e := f.Engine("")
			var buf bytes.Buffer
			res, err := review.Archive(context.Background(), e, &buf, review.ArchiveOptions{Outputs: outputs, Created: "2026-01-02T03:04:05Z",
				Build: bundle.ReadBuildInfo("test"), Machine: bundle.ReadMachineInfo()})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "b.tar.zst")
			os.WriteFile(path, buf.Bytes(), 0o644)
			b := extract(t, path)
			if ps := b.Verify(); len(ps) > 0 {
				t.Fatalf("verify: %v", ps)
			}
			if ps, ws := review.CheckBundle(b, kinds, f.Code); len(ps)+len(ws) > 0 {
				t.Fatalf("check: %v %v", ps, ws)
			}
			s, _ := b.Point("s")
			m, err := b.Manifest(s.Key)
			if err != nil || len(m.Probes) != 9 {
				t.Fatalf("search manifest: %v, %d probes", err, len(m.Probes))
			}
			pins, _ := e.Store.Pins()
			if len(pins) != 1 || len(pins[0].Keys) != 10 || pins[0].Name != res.Pin {
				t.Fatalf("pins %+v, want one with the search and its 9 probes", pins)
			}
			for _, p := range m.Probes {
				pm, err := b.Manifest(p.Key)
				if err != nil {
					t.Fatalf("probe %s: %v", p.Name, err)
				}
				if has := b.HasObject(pm.Outputs[0].File); has != (outputs == bundle.OutputsAll) {
					t.Fatalf("probe %s: object in the bundle %v with outputs %s", p.Name, has, outputs)
				}
			}
			testkinds.Reset()
			r := reproducer(f, b, kinds)
			rr := r.Run(context.Background(), s)
			if rr.Err != nil || rr.Status != review.ReproIdentical || !rr.ByFile {
				t.Fatalf("reproduce: %+v", rr)
			}
			probed := 0
			for _, o := range rr.Outputs {
				if strings.HasPrefix(o.Name, "probe src[") && o.State == review.OutputSame {
					probed++
				}
			}
			if probed != 9 || testkinds.Runs("src") != 9 {
				t.Fatalf("reproduce compared %d probe outputs as the same and ran src %d times, want 9 and 9: %+v", probed, testkinds.Runs("src"), rr.Outputs)
			}
		})
	}
}

// TestBundleWithoutAProbeDoesNotVerify removes one probe's manifest from
// an extracted bundle's index and members, which must be reported, and adds
// a manifest no point or probe names, which must be too.
func TestBundleWithoutAProbeDoesNotVerify(t *testing.T) {
	f := newFixture(t, searchPipeline)
	f.Run("")
	e := f.Engine("")
	var buf bytes.Buffer
	if _, err := review.Archive(context.Background(), e, &buf, review.ArchiveOptions{Outputs: bundle.OutputsFinal, Created: "2026-01-02T03:04:05Z",
		Build: bundle.ReadBuildInfo("test"), Machine: bundle.ReadMachineInfo()}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "b.tar.zst")
	os.WriteFile(path, buf.Bytes(), 0o644)
	b := extract(t, path)
	s, _ := b.Point("s")
	m, _ := b.Manifest(s.Key)
	gone := bundle.ManifestMember(m.Probes[0].Key)
	var files []bundle.File
	for _, mem := range b.Index.Members {
		if mem.Path == gone {
			continue
		}
		files = append(files, bundle.File{Path: mem.Path, File: filepath.Join(b.Dir, mem.Path), Origin: mem.Origin})
	}
	stray := id.Key{1}
	files = append(files, bundle.File{Path: bundle.ManifestMember(stray), File: filepath.Join(b.Dir, gone)})
	idx := *b.Index
	var out bytes.Buffer
	if _, err := bundle.Write(&out, &idx, files); err != nil {
		t.Fatal(err)
	}
	path2 := filepath.Join(t.TempDir(), "c.tar.zst")
	os.WriteFile(path2, out.Bytes(), 0o644)
	b2, problems, err := bundle.Extract(path2, filepath.Join(t.TempDir(), "x"), bundle.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	problems = append(problems, b2.Verify()...)
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	wantProbe := bundle.ManifestMember(s.Key) + ": its probe " + m.Probes[0].Name + " (key " + m.Probes[0].Key.Short() + ") has no manifest in the bundle"
	if !slices.Contains(got, wantProbe) || !slices.ContainsFunc(got, func(s string) bool {
		return strings.HasPrefix(s, bundle.ManifestMember(stray)+": ")
	}) {
		t.Fatalf("problems %q, want %q and one naming %s", got, wantProbe, bundle.ManifestMember(stray))
	}
}

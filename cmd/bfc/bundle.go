package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bfc-repro/bfc/artifacts/atomicfile"
	"github.com/bfc-repro/bfc/artifacts/bundle"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/exec"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/review"
	"github.com/bfc-repro/bfc/pipeline/view"
)

// Review bundles: bfc archive, bfc verify BUNDLE, bfc reproduce, bfc diff.
// The format is defined in package artifacts/bundle; collecting a graph's
// results, rebuilding jobs and comparing results in package pipeline/review.

// bundleLimitFlags adds --max-size and returns the limits it sets.
func bundleLimitFlags(c *cobra.Command) func() (bundle.Limits, error) {
	var size string
	c.Flags().StringVar(&size, "max-size", "16G", "refuse bundles whose members add up to more than this (bytes, or with K, M, G suffix)")
	return func() (bundle.Limits, error) {
		lim := bundle.DefaultLimits()
		n, err := parseSize(size)
		if err != nil {
			return lim, usageError{fmt.Errorf("--max-size %q: %v", size, err)}
		}
		lim.MaxTotalSize = n
		lim.MaxMemberSize = min(lim.MaxMemberSize, n)
		return lim, nil
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult = 1 << 10
	case strings.HasSuffix(s, "M"):
		mult = 1 << 20
	case strings.HasSuffix(s, "G"):
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, errors.New("not a positive size")
	}
	return n * mult, nil
}

func archiveCmd(g *globals) *cobra.Command {
	var out, outputs string
	var allowMissing bool
	c := &cobra.Command{
		Use:   "archive [-o FILE] [--outputs all|final]",
		Short: "Write a review bundle: pipeline, manifests, outputs, figures, report, build and machine",
		Long: `Archive writes one file (a tar archive compressed with zstd) that lets a reviewer
check offline that every figure and number follows from the pipeline:
pipeline.toml, the manifest (key components and run record) of every stage
point of the graph under the profile, the Arrow outputs (--outputs all, or
final: the outputs of points nothing depends on, published files and the data
of figures, with only the hashes of intermediates), the published figures, the
report directory, the build of this program (Go version, modules with their
sums, VCS revision, dirty flag, build tags, BLAS backend) and the machine. The
Merkle root over all members is printed and recorded; the bundle's keys are
pinned in the store so that gc keeps them. Every point must be computed (bfc
run) unless --allow-missing is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if outputs != bundle.OutputsAll && outputs != bundle.OutputsFinal {
				return usageError{fmt.Errorf("--outputs %q: use all or final", outputs)}
			}
			p, err := g.load(false)
			if err != nil {
				return err
			}
			if out == "" {
				out = p.graph.Config.Name
				if p.graph.Profile != "" {
					out += "-" + p.graph.Profile
				}
				out += ".tar.zst"
			}
			var res *review.ArchiveResult
			size, err := atomicfile.Write(out, "", 0o644, func(w io.Writer) error {
				var aerr error
				build := bundle.ReadBuildInfo(graph.BLASBackend)
				build.Tree = gitTree(cmd.Context(), p.graph.Config.Dir)
				res, aerr = review.Archive(cmd.Context(), p.engine, w, review.ArchiveOptions{Outputs: outputs, AllowMissing: allowMissing,
					Build: build, Machine: bundle.ReadMachineInfo(),
					Warn: func(s string) { fmt.Fprintln(os.Stderr, "bfc archive: "+s) }})
				return aerr
			})
			if err != nil {
				return err
			}
			idx := res.Index
			fmt.Printf("wrote %s: %d stage points, %d members, %.1f MB (%.1f MB uncompressed), outputs %s\n",
				out, len(idx.Points), len(idx.Members)+1, float64(size)/1e6, float64(res.Bytes)/1e6, idx.Outputs)
			fmt.Printf("pinned its keys in the store as %s (bfc gc keeps them)\n", res.Pin)
			fmt.Printf("merkle root %s\n", idx.Root)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "bundle file to write (default NAME[-PROFILE].tar.zst)")
	c.Flags().StringVar(&outputs, "outputs", bundle.OutputsAll, "which output tables to include: all, or final (with the hashes of intermediates)")
	c.Flags().BoolVar(&allowMissing, "allow-missing", false, "archive the computed points and list the others as missing")
	return c
}

// gitTree describes the git working tree of dir, or nil outside one (or
// without git).
func gitTree(ctx context.Context, dir string) *bundle.TreeInfo {
	rev, err := osexec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return nil
	}
	t := &bundle.TreeInfo{Revision: strings.TrimSpace(string(rev))}
	st, err := osexec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain").Output()
	if err != nil {
		return t
	}
	for _, l := range strings.Split(strings.TrimRight(string(st), "\n"), "\n") {
		if l == "" {
			continue
		}
		t.Dirty = true
		if len(t.Changes) < 100 {
			t.Changes = append(t.Changes, l)
		}
	}
	return t
}

// withBundleVerify extends `bfc verify` (which rehashes the store) with
// `bfc verify BUNDLE`.
func withBundleVerify(g *globals, c *cobra.Command) *cobra.Command {
	storeVerify := c.RunE
	var into string
	limits := bundleLimitFlags(c)
	c.Use = "verify [BUNDLE]"
	c.Short = "Rehash the whole store, or re-check a bundle offline"
	c.Long += `

With a BUNDLE argument, verify re-checks a bundle written by bfc archive,
offline and trusting nothing in it. It is unpacked into --into DIR (which must
not exist or be empty; default a temporary directory, removed afterwards) and
never writes outside it: absolute paths, "..", links, devices, duplicate or
unlisted members and sizes over --max-size are refused. It checks every
member's SHA-256 against the index, every compressed frame against the frame
index, the Merkle root, every manifest's key recomputed from its components,
every output object (its hash, size, rows and data hash, and the key in its
metadata), every published figure and report file against the output it came
from, the data table of every figure, each point's inputs against the data of
the points it names, and each manifest's kind, params and seed against the
bundle's pipeline.toml (a warning only where this bfc's code of the kind
differs from the bundle's). Every problem names the member concerned; the exit
status is 1 if there is any.`
	c.Args = cobra.MaximumNArgs(1)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			if into != "" {
				return usageError{errors.New("--into needs a BUNDLE argument")}
			}
			return storeVerify(cmd, args)
		}
		lim, err := limits()
		if err != nil {
			return err
		}
		return verifyBundle(args[0], into, lim)
	}
	c.Flags().StringVar(&into, "into", "", "unpack the bundle into this directory and keep it")
	return c
}

// openBundle unpacks a bundle into dir, or into a temporary directory
// that the returned cleanup removes.
func openBundle(path, dir string, lim bundle.Limits) (*bundle.Bundle, []store.Problem, func(), error) {
	cleanup := func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "bfc-bundle-")
		if err != nil {
			return nil, nil, nil, err
		}
		dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
	}
	b, problems, err := bundle.Extract(path, dir, lim)
	if err != nil {
		cleanup()
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, problems, func() { b.Close(); cleanup() }, nil
}

func verifyBundle(path, into string, lim bundle.Limits) error {
	b, problems, cleanup, err := openBundle(path, into, lim)
	if err != nil {
		return err
	}
	defer cleanup()
	problems = append(problems, b.Verify()...)
	cb, err := codeBase()
	if err != nil {
		return err
	}
	more, warnings := review.CheckBundle(b, registry(), cb)
	problems = append(problems, more...)
	for _, p := range problems {
		fmt.Println("BAD  " + p.String())
	}
	for _, w := range warnings {
		fmt.Println("WARN " + w.String())
	}
	idx := b.Index
	var size int64
	for _, m := range idx.Members {
		size += m.Size
	}
	fmt.Printf("bundle %s (pipeline %s, profile %q, outputs %s, %d points, %d members, %.1f MB)\n",
		path, idx.Pipeline, idx.Profile, idx.Outputs, len(idx.Points), len(idx.Members)+1, float64(size)/1e6)
	fmt.Printf("merkle root %s\n", idx.Root)
	if into != "" {
		fmt.Printf("unpacked into %s\n", b.Dir)
	}
	fmt.Printf("%d problem(s), %d warning(s)\n", len(problems), len(warnings))
	if len(problems) > 0 {
		return fmt.Errorf("bundle %s failed verification", path)
	}
	return nil
}

func reproduceCmd(g *globals) *cobra.Command {
	var into string
	c := &cobra.Command{
		Use:   "reproduce BUNDLE [STAGE|POINT...]",
		Short: "Rerun stages of a bundle from its inputs and compare the outputs bit for bit",
		Long: `Reproduce reruns the named stage points of a bundle (default: every point whose
inputs' outputs are in the bundle) with this binary, in a scratch store, each
from the bundle's copies of its inputs: the job is rebuilt from the point's
manifest (params, seed, inputs found by the data hashes its key names). When
this binary's code identity of the kind equals the bundle's, the rerun has the
same key and every output file must be byte-identical (compared by file hash);
otherwise the code difference is shown and outputs are compared by data hash
(the table without the metadata that names the key). Differing tables are
compared value by value. Exit status 1 if any point differs or fails.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lim := bundle.DefaultLimits()
			b, problems, cleanup, err := openBundle(args[0], "", lim)
			if err != nil {
				return err
			}
			defer cleanup()
			problems = append(problems, b.Verify()...)
			if len(problems) > 0 {
				for _, p := range problems {
					fmt.Println("BAD  " + p.String())
				}
				return fmt.Errorf("bundle %s does not verify; not reproducing from it", args[0])
			}
			cb, err := codeBase()
			if err != nil {
				return err
			}
			st, done, err := review.ScratchStore(into)
			if err != nil {
				return err
			}
			defer done()
			r := &review.Reproducer{Bundle: b, Kinds: registry(), Code: cb, Store: st, Threads: g.jobs, Events: progressLines(os.Stderr, 5*time.Second)}
			pts, err := r.Select(args[1:])
			if err != nil {
				return usageError{err}
			}
			if len(pts) == 0 {
				return fmt.Errorf("no point of %s can be rerun from it (archived with --outputs final? name points explicitly to see why)", args[0])
			}
			bad := 0
			for _, p := range pts {
				fmt.Fprintf(os.Stderr, "reproducing %s\n", p.Point)
				res := r.Run(cmd.Context(), p)
				printReproduce(res)
				if res.Status != review.ReproIdentical {
					bad++
				}
				if cmd.Context().Err() != nil {
					return cmd.Context().Err()
				}
			}
			fmt.Printf("%d of %d point(s) reproduced identically\n", len(pts)-bad, len(pts))
			if bad > 0 {
				return fmt.Errorf("%d point(s) did not reproduce", bad)
			}
			return nil
		},
	}
	c.Flags().StringVar(&into, "scratch", "", "directory for the scratch store (default the system's temporary directory)")
	return c
}

// progressLines prints a running stage's progress as a line at most
// every interval.
func progressLines(w io.Writer, interval time.Duration) func(exec.Event) {
	var mu sync.Mutex
	var last time.Time
	return func(e exec.Event) {
		if e.Type != "progress" || e.Total <= 0 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < interval && e.Done < e.Total {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "  %s: %d/%d %s\n", e.Point, e.Done, e.Total, e.Msg)
	}
}

func printReproduce(res *review.ReproduceResult) {
	how := "same key, output files compared by file hash"
	if !res.ByFile {
		how = "code identity differs (" + strings.Join(view.FirstN(res.CodeDiff, 3), "; ") + "), so the key differs; outputs compared by data hash"
	}
	if res.Status == review.ReproFailed {
		fmt.Printf("failed     %s: %v\n", res.Point, res.Err)
		return
	}
	fmt.Printf("%-10s %s (%s)\n", res.Status, res.Point, how)
	for _, n := range res.Notes {
		fmt.Printf("  note: %s\n", n)
	}
	printOutputs(res.Outputs, "bundle", "rerun")
}

// printOutputs lists the outputs of a comparison that are not the same.
func printOutputs(outs []review.OutputDiff, a, b string) {
	for _, o := range outs {
		switch o.State {
		case review.OutputSame:
			continue
		case review.OnlyInA:
			fmt.Printf("  output %s: only in %s\n", o.Name, a)
			continue
		case review.OnlyInB:
			fmt.Printf("  output %s: only in %s\n", o.Name, b)
			continue
		}
		fmt.Printf("  output %s: changed (%s -> %s)\n", o.Name, shortHash(o.A), shortHash(o.B))
		if o.Note != "" {
			fmt.Printf("    %s\n", o.Note)
		}
		if t := o.Table; t != nil {
			if t.RowsA != t.RowsB {
				fmt.Printf("    rows %d -> %d (the first %d compared)\n", t.RowsA, t.RowsB, min(t.RowsA, t.RowsB))
			}
			for _, c := range t.OnlyA {
				fmt.Printf("    column %s: only in %s\n", c, a)
			}
			for _, c := range t.OnlyB {
				fmt.Printf("    column %s: only in %s\n", c, b)
			}
			for i := range t.Columns {
				if cd := &t.Columns[i]; !cd.Equal() {
					fmt.Printf("    %s\n", cd)
				}
			}
			for i := range t.Series {
				fmt.Printf("    series %s\n", &t.Series[i])
			}
		}
	}
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func diffCmd(g *globals) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two bundles (or a bundle and the store): which points differ, why, and by how much",
		Long: `Diff compares the stage points of bundle A with those of bundle B, or with the
current store when B is "store" (the points of pipeline.toml under --profile,
with the keys the store holds for them). For each point whose key differs it
says why (the key components that changed: params with old and new value,
seed, upstream data, code) and, for every output whose data changed, how: per
column of each table (metrics, histories, figure data) the number of values
that differ and the largest absolute and relative difference, per series for
figure data, and the size of changed figures. Exit status 1 if any point's
data differs or a point is on one side only.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			lim := bundle.DefaultLimits()
			sideA, doneA, err := bundleSide(args[0], lim)
			if err != nil {
				return err
			}
			defer doneA()
			var sideB review.Side
			if args[1] == "store" {
				p, err := g.load(false)
				if err != nil {
					return err
				}
				sideB = storeSide(p)
				if a := sideA.Profile; a != p.graph.Profile {
					fmt.Printf("note: A is profile %q, the store is read under profile %q (use --profile)\n", a, p.graph.Profile)
				}
			} else {
				sb, doneB, err := bundleSide(args[1], lim)
				if err != nil {
					return err
				}
				defer doneB()
				sideB = sb.Side
			}
			diffs := review.DiffSides(sideA.Side, sideB)
			counts := map[string]int{}
			for _, d := range diffs {
				counts[d.State]++
				printPointDiff(d, all)
			}
			differ := counts[review.OutputChanged] + counts[review.OnlyInA] + counts[review.OnlyInB]
			fmt.Printf("%d points: %d same, %d same data (other key), %d changed, %d only in A, %d only in B\n", len(diffs),
				counts[review.OutputSame], counts[review.PointSameData], counts[review.OutputChanged], counts[review.OnlyInA], counts[review.OnlyInB])
			if differ > 0 {
				return fmt.Errorf("%s and %s differ in %d point(s)", args[0], args[1], differ)
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "list points that are the same too")
	return c
}

// namedSide is a diff side with the profile it was taken under.
type namedSide struct {
	review.Side
	Profile string
}

func bundleSide(path string, lim bundle.Limits) (namedSide, func(), error) {
	b, problems, cleanup, err := openBundle(path, "", lim)
	if err != nil {
		return namedSide{}, nil, err
	}
	if len(problems) > 0 {
		cleanup()
		return namedSide{}, nil, fmt.Errorf("%s: member %s", path, problems[0])
	}
	return namedSide{Side: review.Side{Name: path, Points: b.Index.Points, Src: b}, Profile: b.Index.Profile}, cleanup, nil
}

// storeSide takes the points of the graph with the key each has in the
// store: the current key when fresh, else the key of its last run.
func storeSide(p *project) review.Side {
	s := review.Side{Name: "store", Src: p.store}
	for _, st := range view.Status(p.engine, p.graph.Points) {
		key := st.Key
		if st.State != view.StateFresh {
			ref, err := p.store.GetRef(p.graph.Profile, st.Point.ID)
			if err != nil {
				continue
			}
			if _, err := p.store.Manifest(ref.Key); err != nil {
				continue
			}
			key = ref.Key
			fmt.Printf("note: %s is %s in the store; comparing its last run\n", st.Point.ID, st.State)
		}
		s.Points = append(s.Points, bundle.Point{Point: st.Point.ID, Stage: st.Point.Stage.ID, Kind: st.Point.Stage.Kind.Name(), Key: key})
	}
	return s
}

func printPointDiff(d review.PointDiff, all bool) {
	switch d.State {
	case review.OutputSame:
		if all {
			fmt.Printf("same       %s\n", d.Point)
		}
		return
	case review.OnlyInA, review.OnlyInB:
		fmt.Printf("%-10s %s\n", d.State, d.Point)
		return
	}
	fmt.Printf("%-10s %s (key %s -> %s)\n", d.State, d.Point, d.KeyA.Short(), d.KeyB.Short())
	if d.Err != nil {
		fmt.Printf("  error: %v\n", d.Err)
	}
	for _, r := range d.Reasons {
		fmt.Printf("  why: %s\n", r)
	}
	printOutputs(d.Outputs, "A", "B")
}

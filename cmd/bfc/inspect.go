package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/spf13/cobra"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/view"
)

func statusCmd(g *globals) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "status [STAGE|POINT...]",
		Short: "Show whether each stage point is fresh, stale or missing, and why",
		Long: `Status computes every stage point's key without running anything and compares
it with the store: fresh (committed, outputs intact), stale (computed before,
but something changed; the reasons are listed), missing (never computed).
Only points that are not fresh are listed unless --all is given; with -v, a
listed point's dynamic probes are listed under it.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.load(false)
			if err != nil {
				return err
			}
			pts, err := p.graph.Select(args)
			if err != nil {
				return usageError{err}
			}
			sts := view.Status(p.engine, pts)
			counts := map[string]int{}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			for _, s := range sts {
				counts[s.State]++
				if s.State == view.StateFresh && !all {
					continue
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", s.State, s.Point.ID, strings.Join(view.FirstN(s.Reasons, 3), "; "))
				if g.verbose && s.Manifest != nil {
					for _, pr := range s.Manifest.Probes {
						fmt.Fprintf(w, "\t  probe %s\tkey %s\n", pr.Name, pr.Key.Short())
					}
				}
			}
			w.Flush()
			fmt.Printf("%d fresh, %d stale, %d missing (profile %q)\n", counts[view.StateFresh], counts[view.StateStale], counts[view.StateMissing], p.graph.Profile)
			return nil
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "list fresh points too")
	return c
}

func explainCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "explain STAGE|POINT...",
		Short: "Say exactly why a stage would rerun: which key components changed",
		Long: `Explain compares the key each point would have now with the key of its last
run under the same profile, component by component: parameters (old and new
value), seed, upstream outputs, external files, and the code of each Go
package and module the stage kind depends on. A point waiting on stale
upstream points names them. With -v, the dynamic probes a fresh point used
are listed with their keys.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.load(false)
			if err != nil {
				return err
			}
			pts, err := p.graph.Select(args)
			if err != nil {
				return usageError{err}
			}
			for _, s := range view.Status(p.engine, pts) {
				key := "unknown until upstream runs"
				if !s.Key.IsZero() {
					key = s.Key.Short()
				}
				fmt.Printf("%s: %s (key %s)\n", s.Point.ID, s.State, key)
				for _, r := range s.Reasons {
					fmt.Printf("  - %s\n", r)
				}
				if g.verbose && s.Manifest != nil {
					for _, pr := range s.Manifest.Probes {
						fmt.Printf("  probe %s (key %s)\n", pr.Name, pr.Key.Short())
					}
				}
			}
			return nil
		},
	}
}

func dagCmd(g *globals) *cobra.Command {
	var points bool
	var svg string
	c := &cobra.Command{
		Use:   "dag",
		Short: "Print the DAG as Graphviz DOT (or render SVG with --svg FILE)",
		RunE: func(cmd *cobra.Command, args []string) error {
			_, gr, _, err := g.build()
			if err != nil {
				return err
			}
			dot := view.DOT(gr, points)
			if svg == "" {
				_, err := io.WriteString(os.Stdout, dot)
				return err
			}
			dotBin, err := exec.LookPath("dot")
			if err != nil {
				return fmt.Errorf("--svg needs Graphviz's dot (apt-get install graphviz); print DOT without --svg instead")
			}
			c := exec.CommandContext(cmd.Context(), dotBin, "-Tsvg", "-o", svg)
			c.Stdin = strings.NewReader(dot)
			if b, err := c.CombinedOutput(); err != nil {
				return fmt.Errorf("dot: %v: %s", err, b)
			}
			fmt.Fprintln(os.Stderr, "wrote", svg)
			return nil
		},
	}
	c.Flags().BoolVar(&points, "points", false, "one node per grid point instead of per stage")
	c.Flags().StringVar(&svg, "svg", "", "render to this SVG file with Graphviz")
	return c
}

// freshManifests returns the manifests of the fresh points of a stage (or
// one point), failing if any is not fresh.
func freshManifests(p *project, name string) ([]*view.PointStatus, error) {
	pts, err := p.graph.Select([]string{name})
	if err != nil {
		return nil, usageError{err}
	}
	sts := view.Status(p.engine, pts)
	for _, s := range sts {
		if s.State != view.StateFresh {
			return nil, fmt.Errorf("%s is %s (%s); run `bfc run %s` first", s.Point.ID, s.State, strings.Join(view.FirstN(s.Reasons, 2), "; "), name)
		}
	}
	return sts, nil
}

func readOutput(st *store.Store, m *store.Manifest, name string) (arrow.Record, map[string]string, error) {
	o, ok := m.Output(name)
	if !ok {
		var names []string
		for _, o := range m.Outputs {
			names = append(names, o.Name)
		}
		return nil, nil, fmt.Errorf("%s has no output %q (outputs: %s)", m.Stage, name, strings.Join(names, ", "))
	}
	b, err := st.ReadObject(o.File)
	if err != nil {
		return nil, nil, err
	}
	return store.DecodeTable(b)
}

func showCmd(g *globals) *cobra.Command {
	var rows int
	c := &cobra.Command{
		Use:   "show STAGE|POINT",
		Short: "Show the schema, metadata and first rows of a stage's outputs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.load(false)
			if err != nil {
				return err
			}
			sts, err := freshManifests(p, args[0])
			if err != nil {
				return err
			}
			s := sts[0]
			if len(sts) > 1 {
				fmt.Printf("%s has %d points; showing %s (name a point to see another)\n\n", args[0], len(sts), s.Point.ID)
			}
			m := s.Manifest
			fmt.Printf("point %s\nkey   %s\nrun   %.2fs wall, %.2fs cpu, %.0f MiB peak, on %s (%s)\n", m.Stage, m.Key, m.Run.WallSeconds, m.Run.UserSeconds+m.Run.SysSeconds, float64(m.Run.MaxRSSBytes)/(1<<20), m.Run.Host, m.Run.Executor)
			for _, o := range m.Outputs {
				rec, meta, err := readOutput(p.store, m, o.Name)
				if err != nil {
					return err
				}
				fmt.Printf("\n== %s  (%d rows, %d bytes, %s)\n", o.Name, o.Rows, o.Size, p.store.ObjectPath(o.File))
				fmt.Printf("metadata: bfc.key=%.12s… bfc.params=%s\n", meta["bfc.key"], meta["bfc.params"])
				for _, f := range rec.Schema().Fields() {
					fmt.Printf("  %-16s %s\n", f.Name, f.Type)
				}
				if !strings.HasPrefix(o.Name, store.PublishPrefix) {
					writeRows(os.Stdout, rec, rows)
				}
				rec.Release()
			}
			return nil
		},
	}
	c.Flags().IntVarP(&rows, "rows", "n", 5, "rows to show per output")
	return c
}

func exportCmd(g *globals) *cobra.Command {
	var format, output string
	c := &cobra.Command{
		Use:   "export STAGE|POINT --format csv",
		Short: "Write an output table of a stage as CSV (all points, with their labels)",
		Long: `Export writes one output table (--output, default the stage's only table, or
"summary") of every point of a stage as CSV on standard output. Points of a
grid are concatenated, with their grid labels as leading columns and the
point's stage key in the column "key".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "csv" {
				return usageError{fmt.Errorf("--format %q: only csv is supported", format)}
			}
			p, err := g.load(false)
			if err != nil {
				return err
			}
			sts, err := freshManifests(p, args[0])
			if err != nil {
				return err
			}
			labels := map[string]bool{}
			for _, s := range sts {
				for k := range s.Point.Labels {
					labels[k] = true
				}
			}
			var lab []string
			for k := range labels {
				lab = append(lab, k)
			}
			sort.Strings(lab)
			w := csv.NewWriter(os.Stdout)
			var header []string
			for i, s := range sts {
				name := output
				if name == "" {
					if name, err = defaultOutput(s.Manifest); err != nil {
						return err
					}
				}
				rec, _, err := readOutput(p.store, s.Manifest, name)
				if err != nil {
					return err
				}
				cols := map[string]bool{}
				for _, f := range rec.Schema().Fields() {
					cols[f.Name] = true
				}
				var shown []string // labels that are not also columns
				for _, l := range lab {
					if !cols[l] {
						shown = append(shown, l)
					}
				}
				h := append(append([]string(nil), shown...), "key")
				for _, f := range rec.Schema().Fields() {
					h = append(h, f.Name)
				}
				if i == 0 {
					header = h
					w.Write(header)
				} else if strings.Join(h, ",") != strings.Join(header, ",") {
					rec.Release()
					return fmt.Errorf("%s: its %s table has other columns than the first point's", s.Point.ID, name)
				}
				pre := make([]string, 0, len(shown)+1)
				for _, l := range shown {
					pre = append(pre, s.Point.Labels[l])
				}
				pre = append(pre, s.Key.String())
				for r := 0; r < int(rec.NumRows()); r++ {
					row := append([]string(nil), pre...)
					for c := 0; c < int(rec.NumCols()); c++ {
						row = append(row, cell(rec.Column(c), r))
					}
					w.Write(row)
				}
				rec.Release()
			}
			w.Flush()
			return w.Error()
		},
	}
	c.Flags().StringVar(&format, "format", "csv", "output format (csv)")
	c.Flags().StringVar(&output, "output", "", "which output table (default: the only one, or summary)")
	return c
}

func defaultOutput(m *store.Manifest) (string, error) {
	var tables []string
	for _, o := range m.Outputs {
		if !strings.HasPrefix(o.Name, store.PublishPrefix) {
			tables = append(tables, o.Name)
		}
	}
	if len(tables) == 1 {
		return tables[0], nil
	}
	for _, t := range tables {
		if t == "summary" {
			return t, nil
		}
	}
	return "", fmt.Errorf("%s has outputs %s: choose one with --output", m.Stage, strings.Join(tables, ", "))
}

// cell formats one value for CSV and for show.
func cell(col arrow.Array, i int) string {
	switch a := col.(type) {
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.String:
		return a.Value(i)
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Binary:
		return fmt.Sprintf("<%d bytes>", len(a.Value(i)))
	case *array.FixedSizeList:
		n := int(a.DataType().(*arrow.FixedSizeListType).Len())
		vals, ok := a.ListValues().(*array.Float64)
		if !ok {
			return a.ValueStr(i)
		}
		parts := make([]string, n)
		off := (a.Offset() + i) * n
		for j := 0; j < n; j++ {
			parts[j] = strconv.FormatFloat(vals.Value(off+j), 'g', 6, 64)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return col.ValueStr(i)
}

// writeRows prints the column names and the first n rows of rec.
func writeRows(w io.Writer, rec arrow.Record, n int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var h []string
	for _, f := range rec.Schema().Fields() {
		h = append(h, f.Name)
	}
	fmt.Fprintln(tw, "  "+strings.Join(h, "\t"))
	for r := 0; r < int(rec.NumRows()) && r < n; r++ {
		var row []string
		for c := 0; c < int(rec.NumCols()); c++ {
			s := cell(rec.Column(c), r)
			if len(s) > 40 {
				s = s[:37] + "..."
			}
			row = append(row, s)
		}
		fmt.Fprintln(tw, "  "+strings.Join(row, "\t"))
	}
	if int(rec.NumRows()) > n {
		fmt.Fprintf(tw, "  … %d more rows\n", int(rec.NumRows())-n)
	}
	tw.Flush()
}

func verifyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Rehash every object in the store and check every manifest",
		Long: `Verify trusts nothing in the store: every object is rehashed and compared with
its name, every manifest is parsed and its key recomputed from its components,
and every output it names must exist with its recorded size. Problems are
listed with the file they concern; the exit status is 1 if there are any.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := g.store
			if dir == "" {
				_, _, d, err := g.build()
				if err != nil {
					return err
				}
				dir = d
			}
			st, err := store.Open(dir, false)
			if err != nil {
				return err
			}
			rep, err := st.Verify()
			if err != nil {
				return err
			}
			for _, p := range rep.Problems {
				fmt.Println("BAD  " + p.String())
			}
			rate := float64(rep.Bytes) / max(rep.Elapsed.Seconds(), 1e-9) / 1e9
			fmt.Printf("verified %d objects (%.1f MB) and %d manifests in %s (%.2f GB/s): %d problem(s)\n",
				rep.Objects, float64(rep.Bytes)/1e6, rep.Manifests, rep.Elapsed.Round(1e6), rate, len(rep.Problems))
			if len(rep.Problems) > 0 {
				return fmt.Errorf("store %s failed verification", st.Dir)
			}
			return nil
		},
	}
}

func gcCmd(g *globals) *cobra.Command {
	var dry bool
	c := &cobra.Command{
		Use:   "gc [--dry-run]",
		Short: "Remove results that no current stage point or pinned archive references",
		Long: `Gc keeps, for every profile of the pipeline file, the result each current stage
point last resolved to, plus everything an archive pinned; it removes other
manifests, unreferenced objects, refs of stage points that no longer exist,
and leftovers of killed runs. It waits for running bfc processes to finish
(they hold the store lock shared), so it never removes what a run uses.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, dir, err := g.build()
			if err != nil {
				return err
			}
			st, err := store.Open(dir, false)
			if err != nil {
				return err
			}
			lock, err := st.LockExclusive(cmd.Context(), func() { fmt.Fprintln(os.Stderr, "bfc gc: waiting for running bfc processes to release the store") })
			if err != nil {
				return err
			}
			defer lock.Unlock()
			live, err := graph.Live(cfg, registry(), st)
			if err != nil {
				return err
			}
			rep, err := st.GC(live.Keys, live.KeepRef, dry)
			if err != nil {
				return err
			}
			verb := "removed"
			if dry {
				verb = "would remove"
				for _, l := range [][]string{rep.Refs, rep.Manifests, rep.Objects, rep.Other} {
					for _, p := range l {
						fmt.Println("  " + p)
					}
				}
			}
			fmt.Printf("gc %s %d manifests, %d objects, %d refs, %d other files (%.1f MB); kept %d keys\n", verb,
				len(rep.Manifests), len(rep.Objects), len(rep.Refs), len(rep.Other), float64(rep.Bytes)/1e6, len(live.Keys))
			return nil
		},
	}
	c.Flags().BoolVarP(&dry, "dry-run", "n", false, "list what would be removed, remove nothing")
	return c
}

func kindsCmd(g *globals) *cobra.Command {
	var asJSON bool
	return &cobra.Command{
		Use:   "kinds [KIND...]",
		Short: "List the stage kinds and their parameters (defaults, ranges)",
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := registry()
			names := args
			if len(names) == 0 {
				names = reg.Names()
			}
			for _, n := range names {
				k, ok := reg[n]
				if !ok {
					return usageError{fmt.Errorf("no stage kind %q", n)}
				}
				if asJSON {
					b, _ := json.MarshalIndent(k.Params(), "", " ")
					fmt.Printf("%s %s\n", n, b)
					continue
				}
				fmt.Printf("%s  (package %s)\n  %s\n", n, graph.KindPackage(k), k.Doc())
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				for _, p := range k.Params() {
					def := "required"
					if p.Default != nil {
						def = graph.CanonicalJSON(p.Default)
					}
					fmt.Fprintf(w, "    %s\t%s\t%s\t%s\n", p.Name, p.Type, def, p.Doc)
				}
				w.Flush()
				fmt.Println()
			}
			return nil
		},
	}
}

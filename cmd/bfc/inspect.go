package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/spf13/cobra"

	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/view"
	"github.com/bfc-repro/bfc/stages/kit"
)

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

// freshPoints loads the project and returns the statuses, with their
// manifests, of the points a selector selects, failing if any is not
// fresh.
func (g *globals) freshPoints(name string) (*project, []*view.PointStatus, error) {
	p, err := g.load(false)
	if err != nil {
		return nil, nil, err
	}
	pts, err := view.Select(p.graph, []string{name})
	if err != nil {
		return nil, nil, usageError{err}
	}
	sts := view.Status(p.engine, pts)
	for _, s := range sts {
		if s.State != view.StateFresh {
			return nil, nil, fmt.Errorf("%s is %s (%s); run `bfc run %s` first", s.Point.ID, s.State, strings.Join(view.FirstN(s.Reasons, 2), "; "), name)
		}
	}
	return p, sts, nil
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

// showJSON is one point in the JSON of `bfc show --json`.
type showJSON struct {
	Point string `json:"point"`
	Key   string `json:"key"`
	// Points are every point whose last run under the profile resolved to
	// the key (the point itself included), in name order.
	Points  []string        `json:"points"`
	Run     store.RunRecord `json:"run"`
	Outputs []outputJSON    `json:"outputs"`
}

// outputJSON is one output table of a point.
type outputJSON struct {
	Name     string            `json:"name"`
	Rows     int64             `json:"rows"`
	Bytes    int64             `json:"bytes"`
	Path     string            `json:"path"`
	Metadata map[string]string `json:"metadata"`
	Columns  []columnJSON      `json:"columns"`
}

type columnJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func showCmd(g *globals) *cobra.Command {
	var rows int
	var asJSON bool
	c := &cobra.Command{
		Use:   "show SELECTOR",
		Short: "Show the schema, metadata and first rows of a stage's outputs",
		Long: `Show prints a fresh point's key, the other points that share the key (the
same computation declared twice: the store holds it once), its run record (wall
and CPU time, peak memory, host) and, for each output table, its size, file, metadata, schema and first
rows. A selector matching several points shows the first; --json prints every
selected point as a JSON array (see ` + "`bfc help json`" + `).

` + selectorHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, sts, err := g.freshPoints(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				var list []showJSON
				for _, s := range sts {
					sj, err := showPoint(p, s)
					if err != nil {
						return err
					}
					list = append(list, sj)
				}
				return writeJSON(os.Stdout, list)
			}
			s := sts[0]
			if len(sts) > 1 {
				fmt.Printf("%s has %d points; showing %s (name a point to see another)\n\n", args[0], len(sts), s.Point.ID)
			}
			m := s.Manifest
			fmt.Printf("point %s\nkey   %s\n", s.Point.ID, m.Key)
			users, err := pointsUsing(p, s)
			if err != nil {
				return err
			}
			if others := slices.DeleteFunc(users, func(id string) bool { return id == s.Point.ID }); len(others) > 0 {
				fmt.Printf("also  %s (same key)\n", strings.Join(others, ", "))
			}
			fmt.Printf("run   %.2fs wall, %.2fs cpu, %.0f MiB peak, on %s (%s)\n", m.Run.WallSeconds, m.Run.UserSeconds+m.Run.SysSeconds, float64(m.Run.MaxRSSBytes)/(1<<20), m.Run.Host, m.Run.Executor)
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
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array (see `bfc help json`)")
	return c
}

// pointsUsing lists the points of the profile whose refs name s's key,
// s included (its ref may not be written yet).
func pointsUsing(p *project, s *view.PointStatus) ([]string, error) {
	users, err := p.store.PointsUsing(p.graph.Profile, s.Manifest.Key)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(users, s.Point.ID) {
		users = append(users, s.Point.ID)
		slices.Sort(users)
	}
	return users, nil
}

// showPoint describes a fresh point's manifest and output schemas.
func showPoint(p *project, s *view.PointStatus) (showJSON, error) {
	m := s.Manifest
	users, err := pointsUsing(p, s)
	if err != nil {
		return showJSON{}, err
	}
	sj := showJSON{Point: s.Point.ID, Key: m.Key.String(), Points: users, Run: m.Run, Outputs: []outputJSON{}}
	for _, o := range m.Outputs {
		rec, meta, err := readOutput(p.store, m, o.Name)
		if err != nil {
			return sj, err
		}
		oj := outputJSON{Name: o.Name, Rows: o.Rows, Bytes: o.Size, Path: p.store.ObjectPath(o.File), Metadata: meta, Columns: []columnJSON{}}
		for _, f := range rec.Schema().Fields() {
			oj.Columns = append(oj.Columns, columnJSON{f.Name, f.Type.String()})
		}
		rec.Release()
		sj.Outputs = append(sj.Outputs, oj)
	}
	return sj, nil
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

// cell formats one value for CSV and for show: every float (vector
// elements too) in the shortest form that parses back to the same bits.
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
			parts[j] = strconv.FormatFloat(vals.Value(off+j), 'g', -1, 64)
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

// kindJSON is one kind in the JSON of `bfc kinds --json`.
type kindJSON struct {
	Name    string      `json:"name"`
	Package string      `json:"package"`
	Doc     string      `json:"doc"`
	Params  []paramJSON `json:"params"`
}

// paramJSON is one parameter of a kind; Min and Max are absent when
// unbounded, Default when required.
type paramJSON struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Default  any      `json:"default,omitempty"`
	Required bool     `json:"required"`
	Doc      string   `json:"doc"`
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	MinLen   int      `json:"min_len,omitempty"`
}

func kindToJSON(k kit.Kind) kindJSON {
	kj := kindJSON{Name: k.Name(), Package: graph.KindPackage(k), Doc: k.Doc(), Params: []paramJSON{}}
	finite := func(x float64) *float64 {
		if math.IsInf(x, 0) {
			return nil
		}
		return &x
	}
	for _, p := range k.Params() {
		kj.Params = append(kj.Params, paramJSON{Name: p.Name, Type: p.Type.String(), Default: p.Default, Required: p.Default == nil,
			Doc: p.Doc, Min: finite(p.Min), Max: finite(p.Max), Enum: p.Enum, MinLen: p.MinLen})
	}
	return kj
}

func kindsCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "kinds [KIND...]",
		Short: "List the stage kinds and their parameters (defaults, ranges)",
		Long: `Kinds lists every stage kind (or the named ones): its Go package, what it
computes, and each parameter with its type, default (or "required"), range
and documentation. --json prints an array of kinds (see ` + "`bfc help json`" + `).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := registry()
			names := args
			if len(names) == 0 {
				names = reg.Names()
			}
			var list []kindJSON
			for _, n := range names {
				k, ok := reg[n]
				if !ok {
					return usageError{fmt.Errorf("no stage kind %q%s", n, config.Suggest(n, reg.Names()))}
				}
				list = append(list, kindToJSON(k))
			}
			if asJSON {
				return writeJSON(os.Stdout, list)
			}
			for _, kj := range list {
				fmt.Printf("%s  (package %s)\n  %s\n", kj.Name, kj.Package, kj.Doc)
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				for _, p := range kj.Params {
					def := "required"
					if !p.Required {
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
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array (see `bfc help json`)")
	return c
}

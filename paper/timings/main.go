// Command timings writes how long the pipeline's experiments took to
// compute, from the run records of the store, as the CSV that the paper
// stage reads (its param timings).
//
// A stage kind cannot read run records (they are not artifacts: the same
// result may take different times), so the report cannot compute its run
// times itself; `make paper-timings` runs this program after the pipeline
// and reruns the paper stage (`make paper` runs it into a scratch file only
// to say whether the tracked copy is out of date). Every fresh stage point of the pipeline except
// the report itself counts once per stage key (points that share a key,
// such as a target gathered by two experiments, were computed once). A
// point belongs to the experiment its stage id starts with ("E1_train" and
// "E8a_accuracy" are E1 and E8; "claims" is claims). The columns are experiment, stages, points,
// wall_s and cpu_s (sums over the points' run records, in seconds, to
// 0.1 s) and the machines (host name and CPU model, as the run records give them); a last row "all" covers the whole pipeline. The wall
// times are sums: stages that ran in parallel count in full.
//
//	go run ./paper/timings -o paper/timings.csv
package main

import (
	"cmp"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	bfc "github.com/bfc-repro/bfc"
	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/graph"
	"github.com/bfc-repro/bfc/pipeline/view"
	"github.com/bfc-repro/bfc/stages/all"
	"github.com/bfc-repro/bfc/stages/kinds/paper"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/linalg"
)

// expID is the experiment id at the start of a stage id (E8 of E8a).
var expID = regexp.MustCompile(`^E[0-9]+`)

func main() {
	file := flag.String("f", "pipeline.toml", "pipeline file")
	profile := flag.String("profile", "", "profile of the pipeline file")
	store := flag.String("store", "", "store directory (default: the pipeline's)")
	out := flag.String("o", "", "output file (default: standard output)")
	flag.Parse()
	if err := run(*file, *profile, *store, *out); err != nil {
		fmt.Fprintln(os.Stderr, "timings:", err)
		os.Exit(1)
	}
}

// group is the run time of one experiment.
type group struct {
	name        string
	stages      []string
	points      int
	wall, cpu   float64
	hosts       []string
	order, rank int
}

func run(file, profile, storeDir, out string) error {
	graph.BLASBackend = linalg.Backend()
	cfg, err := config.ParseFile(file)
	if err != nil {
		return err
	}
	kinds := all.Kinds()
	if !slices.ContainsFunc(kinds, func(k kit.Kind) bool { return k.Name() == "paper" }) {
		kinds = append(kinds, paper.Kind{})
	}
	g, err := graph.Build(cfg, graph.NewRegistry(kinds...), profile)
	if err != nil {
		return err
	}
	if storeDir == "" {
		storeDir = g.Config.Store
	}
	st, err := store.Open(storeDir, false)
	if err != nil {
		return err
	}
	cb, err := graph.NewCodeBase(bfc.Source, bfc.ModulePath)
	if err != nil {
		return err
	}
	var pts []*graph.Point
	for _, p := range g.Points {
		if p.Stage.Kind.Name() != "paper" {
			pts = append(pts, p)
		}
	}
	groups := map[string]*group{}
	total := &group{name: "all", rank: 1}
	seen := map[id.Key]bool{}
	for i, s := range view.Status(graph.NewEngine(g, st, cb), pts) {
		if s.State != view.StateFresh {
			return fmt.Errorf("%s is %s: run the pipeline first (bfc run)", s.Point.ID, s.State)
		}
		if seen[s.Key] {
			continue
		}
		seen[s.Key] = true
		exp, _, _ := strings.Cut(s.Point.Stage.ID, "_")
		if m := expID.FindString(exp); m != "" {
			exp = m
		}
		gr, ok := groups[exp]
		if !ok {
			gr = &group{name: exp, order: i}
			groups[exp] = gr
		}
		r := s.Manifest.Run
		machine := r.Host
		if r.CPU != "" {
			machine += " (" + r.CPU + ")"
		}
		for _, x := range []*group{gr, total} {
			if !slices.Contains(x.stages, s.Point.Stage.ID) {
				x.stages = append(x.stages, s.Point.Stage.ID)
			}
			x.points++
			x.wall += r.WallSeconds
			x.cpu += r.UserSeconds + r.SysSeconds
			if !slices.Contains(x.hosts, machine) {
				x.hosts = append(x.hosts, machine)
			}
		}
	}
	list := make([]*group, 0, len(groups)+1)
	for _, gr := range groups {
		list = append(list, gr)
	}
	slices.SortFunc(list, func(a, b *group) int { return cmp.Compare(a.order, b.order) })
	list = append(list, total)
	w := io.Writer(os.Stdout)
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return write(w, list)
}

// write prints the groups as CSV.
func write(w io.Writer, list []*group) error {
	fmt.Fprintln(w, "# Run times of the pipeline's stages from the store's run records (go run ./paper/timings);")
	fmt.Fprintln(w, "# read by the paper stage. Wall and CPU seconds are sums over stage points.")
	cw := csv.NewWriter(w)
	cw.Write([]string{"experiment", "stages", "points", "wall_s", "cpu_s", "host"})
	tenth := func(x float64) string { return strconv.FormatFloat(math.Round(x*10)/10, 'f', 1, 64) }
	for _, gr := range list {
		host := strings.Join(gr.hosts, " ")
		cw.Write([]string{gr.name, strconv.Itoa(len(gr.stages)), strconv.Itoa(gr.points), tenth(gr.wall), tenth(gr.cpu), host})
	}
	cw.Flush()
	return cw.Error()
}

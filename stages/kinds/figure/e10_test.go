package figure

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bfc-repro/bfc/stages/kinds/train"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// e10Inputs is E10 in miniature: per depth and seed a stage-2
// checkpoint and joint, layerwise and lower-only continuing it, labelled
// with L and seed as the depth series' grid points.
func e10Inputs(t *testing.T, depths []int, seeds int) []kit.Input {
	t.Helper()
	var ins []kit.Input
	for _, L := range depths {
		for s := 1; s <= seeds; s++ {
			seed := int64(s)
			lab := func(extra ...string) map[string]string {
				m := map[string]string{"seed": strconv.Itoa(s), "L": strconv.Itoa(L)}
				for i := 0; i+1 < len(extra); i += 2 {
					m[extra[i]] = extra[i+1]
				}
				return m
			}
			tin := tinyTarget(t, L, 0.3, seed)
			ck := tinyTrain(t, map[string]any{"last_stage": int64(2)}, seed, lab(), tin, nil)
			ins = append(ins, ck)
			for _, sch := range []string{"joint", "layerwise", "lower-only"} {
				ins = append(ins, tinyTrain(t, map[string]any{"schedule": sch}, seed, lab("schedule", sch), tin, ck))
			}
		}
	}
	return ins
}

func TestE10Depth(t *testing.T) {
	depths := []int{3, 4, 5}
	ins := e10Inputs(t, depths, 2)
	spec := plotEnv(t, "E10-depth", nil, ins)
	if len(spec.Panels) != 3 || !slices.Equal(spec.Panels[0].X.Categories, []string{"L = 3", "L = 4", "L = 5"}) {
		t.Fatalf("%d panels, categories %q; want test error, eps_2 and the ratio over L = 3, 4, 5", len(spec.Panels), spec.Panels[0].X.Categories)
	}
	groups := runsByName(t, ins)
	for _, tc := range []struct {
		panel int
		name  string
		val   func(train.Run) float64
	}{
		{0, "joint", func(r train.Run) float64 { return r.TestRelErr }},
		{0, "lower-only", func(r train.Run) float64 { return r.TestRelErr }},
		{1, "layerwise", func(r train.Run) float64 { return r.Eps[2] }},
	} {
		med := seriesNamed(t, spec.Panels[tc.panel], tc.name+" (median)")
		for i, L := range depths {
			if want := finalOf(atDepth(groups[tc.name], L), tc.val); med.X[i] != float64(i) || med.Y[i] != want {
				t.Errorf("%s median in panel %d at L = %d: (%v, %v), want (%d, %v)", tc.name, tc.panel, L, med.X[i], med.Y[i], i, want)
			}
		}
	}
	// The ratio panel: one line per seed across the depths, and the median.
	ratio := spec.Panels[2]
	med := seriesNamed(t, ratio, "median over seeds")
	for i, L := range depths {
		var q []float64
		for _, r := range atDepth(groups["layerwise"], L) {
			j, _ := findReplicate(groups["joint"], r.Replicate)
			q = append(q, r.TestRelErr/j.TestRelErr)
		}
		if med.Y[i] != metrics.Median(q) {
			t.Errorf("median ratio at L = %d: %v, want %v", L, med.Y[i], metrics.Median(q))
		}
	}
	if perSeed := len(ratio.Series) - 1; perSeed != 2 || len(ratio.Series[0].X) != len(depths) {
		t.Errorf("%d seed lines with %d points, want 2 with %d", perSeed, len(ratio.Series[0].X), len(depths))
	}
	if n := strings.Join(spec.Notes, " "); !strings.Contains(n, "claim 3 of the claims table") {
		t.Errorf("notes do not point to the verdict: %q", n)
	}
}

func TestE10DepthErrors(t *testing.T) {
	one := e10Inputs(t, []int{3}, 1)
	for _, tc := range []struct {
		name string
		ins  []kit.Input
		want string
	}{
		{"no inputs", nil, "needs finished train inputs"},
		{"only a checkpoint", one[:1], "needs finished train inputs"},
		{"one depth", one, "at least two"},
	} {
		env := kittest.NewEnv(t, Kind{}, map[string]any{"plot": "E10-depth"}, 1, tc.ins...)
		if _, err := buildSpec(env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

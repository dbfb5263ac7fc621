package schedule

import (
	"fmt"
	"slices"
	"testing"
)

func ph(stage, start, epochs int, active, trainable []int) Phase {
	return Phase{Stage: stage, Start: start, Epochs: epochs, Active: active, Trainable: trainable}
}

func TestPlanTable(t *testing.T) {
	base := Spec{First: 2, Last: 4, EpochsFirst: 10, EpochsPerStage: 5}
	with := func(name string, x int) Spec { s := base; s.Name, s.X = name, x; return s }
	cases := []struct {
		spec Spec
		want []Phase
	}{
		{with(Joint, 0), []Phase{ph(2, 0, 10, []int{2}, []int{2}), ph(3, 10, 5, []int{2, 3}, []int{2, 3}), ph(4, 15, 5, []int{2, 3, 4}, []int{2, 3, 4})}},
		{with(Layerwise, 0), []Phase{ph(2, 0, 10, []int{2}, []int{2}), ph(3, 10, 5, []int{2, 3}, []int{3}), ph(4, 15, 5, []int{2, 3, 4}, []int{4})}},
		{with(BFCX, 1), []Phase{ph(2, 0, 10, []int{2}, []int{2}), ph(3, 10, 5, []int{2, 3}, []int{2, 3}), ph(4, 15, 5, []int{2, 3, 4}, []int{3, 4})}},
		{with(LowerOnly, 0), []Phase{ph(2, 0, 10, []int{2}, []int{2}), ph(3, 10, 5, []int{2}, []int{2}), ph(4, 15, 5, []int{2}, []int{2})}},
		{with(End2End, 0), []Phase{ph(4, 0, 20, []int{2, 3, 4}, []int{2, 3, 4})}},
		{Spec{Name: Joint, First: 1, Last: 1, EpochsFirst: 3, EpochsPerStage: 7}, []Phase{ph(1, 0, 3, []int{1}, []int{1})}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-x%d", c.spec.Name, c.spec.X), func(t *testing.T) {
			got, err := Plan(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, c.want, Phase.Equal) {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}

// Properties that hold for every schedule, depth and x.
func TestPlanProperties(t *testing.T) {
	for _, name := range Names() {
		for last := 2; last <= 6; last++ {
			for x := 0; x <= 5; x++ {
				s := Spec{Name: name, X: x, First: 2, Last: last, EpochsFirst: 7, EpochsPerStage: 3}
				phases, err := Plan(s)
				if err != nil {
					t.Fatal(err)
				}
				want := 7 + 3*(last-2)
				if got := Total(phases); got != want {
					t.Errorf("%+v: %d epochs, want %d", s, got, want)
				}
				start := 0
				for _, p := range phases {
					if p.Start != start {
						t.Errorf("%+v: phase %v starts at %d, want %d", s, p, p.Start, start)
					}
					start = p.End()
					for _, l := range p.Trainable {
						if !slices.Contains(p.Active, l) {
							t.Errorf("%+v: phase %v trains inactive layer %d", s, p, l)
						}
					}
					if !slices.IsSorted(p.Active) || !slices.IsSorted(p.Trainable) {
						t.Errorf("%+v: phase %v layers not ascending", s, p)
					}
					if name != LowerOnly && !slices.Contains(p.Trainable, p.Stage) {
						t.Errorf("%+v: phase %v does not train its newest layer", s, p)
					}
					if name == LowerOnly && !slices.Equal(p.Active, []int{2}) {
						t.Errorf("lower-only switched a layer on: %v", p)
					}
				}
			}
		}
	}
}

// bfc-x interpolates between layerwise (x = 0) and joint (x >= L-2).
func TestBFCXLimits(t *testing.T) {
	for last := 2; last <= 6; last++ {
		spec := func(name string, x int) []Phase {
			p, err := Plan(Spec{Name: name, X: x, First: 2, Last: last, EpochsFirst: 4, EpochsPerStage: 2})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		if !slices.EqualFunc(spec(BFCX, 0), spec(Layerwise, 0), Phase.Equal) {
			t.Errorf("L=%d: bfc-0 differs from layerwise", last)
		}
		for _, x := range []int{last - 2, last, last + 3} {
			if !slices.EqualFunc(spec(BFCX, x), spec(Joint, 0), Phase.Equal) {
				t.Errorf("L=%d: bfc-%d differs from joint", last, x)
			}
		}
	}
}

// A first-stage checkpoint (Last = First) is a prefix of every staged
// schedule, and not of end2end once there is more than one layer.
func TestIsPrefix(t *testing.T) {
	ckpt, _ := Plan(Spec{Name: Joint, First: 2, Last: 2, EpochsFirst: 10, EpochsPerStage: 5})
	for _, name := range Names() {
		full, _ := Plan(Spec{Name: name, X: 1, First: 2, Last: 3, EpochsFirst: 10, EpochsPerStage: 5})
		err := IsPrefix(ckpt, full)
		if (err == nil) != (name != End2End) {
			t.Errorf("%s: IsPrefix = %v", name, err)
		}
	}
	other, _ := Plan(Spec{Name: Joint, First: 2, Last: 3, EpochsFirst: 12, EpochsPerStage: 5})
	if IsPrefix(ckpt, other) == nil {
		t.Error("checkpoint with 10 first-stage epochs accepted for a schedule with 12")
	}
	if IsPrefix(other, ckpt) == nil {
		t.Error("longer plan accepted as a prefix")
	}
}

func TestAt(t *testing.T) {
	p, _ := Plan(Spec{Name: Joint, First: 2, Last: 3, EpochsFirst: 3, EpochsPerStage: 2})
	want := []int{0, 0, 0, 1, 1, -1}
	for e, w := range want {
		if got := At(p, e); got != w {
			t.Errorf("At(%d) = %d, want %d", e, got, w)
		}
	}
	if At(p, -1) != -1 {
		t.Error("At(-1) found a phase")
	}
}

func TestValidate(t *testing.T) {
	bad := []Spec{
		{Name: "greedy", First: 2, Last: 3, EpochsFirst: 1, EpochsPerStage: 1},
		{Name: Joint, First: 3, Last: 2, EpochsFirst: 1, EpochsPerStage: 1},
		{Name: BFCX, X: -1, First: 2, Last: 3, EpochsFirst: 1, EpochsPerStage: 1},
		{Name: Joint, First: 2, Last: 3, EpochsFirst: 0, EpochsPerStage: 1},
		{Name: Joint, First: 2, Last: 3, EpochsFirst: 1, EpochsPerStage: 0},
	}
	for _, s := range bad {
		if _, err := Plan(s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func TestLayerListsRoundTrip(t *testing.T) {
	for _, ls := range [][]int{{2}, {2, 3, 4}, {1, 10}} {
		got, err := ParseLayers(FormatLayers(ls))
		if err != nil || !slices.Equal(got, ls) {
			t.Errorf("%v -> %q -> %v, %v", ls, FormatLayers(ls), got, err)
		}
	}
	if _, err := ParseLayers("2,x"); err == nil {
		t.Error("a malformed list parsed")
	}
	if !(Rank(Joint) < Rank(Layerwise) && Rank(Layerwise) < Rank("unknown")) {
		t.Error("Rank does not order joint before layerwise before unknown names")
	}
}

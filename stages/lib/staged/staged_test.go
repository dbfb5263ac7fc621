package staged

import (
	"slices"
	"testing"

	"github.com/bfc-repro/bfc/stages/kit"
)

var defaults = Defaults{Unit: "block", First: 1, MaxDepth: 8, EpochsFirst: 4, EpochsFirstDoc: "block 1 alone",
	EpochsPerStage: 3, Batch: 128, LR: 1e-3, Clip: 5, WeightDecay: 0.25, WeightDecayDoc: "decay"}

// The declared defaults decode into the Config they describe, and a
// resolved value reaches its field.
func TestParamsDecode(t *testing.T) {
	p, err := kit.Resolve(Params(defaults), map[string]any{"lr": 0.5, "schedule": "bfc-x", "x": int64(2)})
	if err != nil {
		t.Fatal(err)
	}
	got := ConfigOf(p)
	want := Config{Schedule: "bfc-x", X: 2, EpochsFirst: 4, EpochsPerStage: 3, Batch: 128, Optimizer: "adam", LR: 0.5,
		Momentum: 0.9, LRSchedule: "cosine", Clip: 5, WeightDecay: 0.25}
	if got != want {
		t.Fatalf("ConfigOf = %+v, want %+v", got, want)
	}
	if err := got.Validate(1, 3); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if _, err := kit.Resolve(Params(defaults), map[string]any{"x": int64(9)}); err == nil {
		t.Error("x beyond MaxDepth accepted")
	}
	bad := got
	bad.Batch = 0
	if err := bad.Validate(1, 3); err == nil {
		t.Error("batch 0 accepted")
	}
}

func TestPhasesRoundTrip(t *testing.T) {
	in := []Phase{{Epoch: 1, Stage: 1, Active: []int{1}, Trainable: []int{1}}, {Epoch: 2, Stage: 2, Active: []int{1, 2}}}
	rec, err := WritePhases(in).Record()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	d := kit.TableDesc{Kind: "test", Version: 1, Name: "history", Columns: PhaseColumns()}
	r, err := d.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ReadPhases(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[1].Stage != 2 || !slices.Equal(out[1].Active, []int{1, 2}) || out[1].Trainable != nil {
		t.Fatalf("read back %+v", out)
	}
	skip, err := WritePhases([]Phase{{Epoch: 2, Stage: 1, Active: []int{1}}}).Record()
	if err != nil {
		t.Fatal(err)
	}
	defer skip.Release()
	r2, _ := d.Open(skip)
	if _, err := ReadPhases(r2); err == nil {
		t.Error("a history starting at epoch 2 was accepted")
	}
}

package trainer_test

import (
	"context"
	"fmt"

	"github.com/bfc-repro/bfc/stages/lib/staged"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
	"github.com/bfc-repro/bfc/stages/lib/trainer"
)

// Train the deep learner on the first 400 samples of a small target, the
// way a sample-complexity sweep does, and compare a stage-2 checkpoint
// continued under joint and layerwise training.
func ExampleFit() {
	gen, err := targetnet.Generate(context.Background(), &targetnet.Spec{D: 6, K: 2, L: 3, Gap: 0.3,
		Connections: targetnet.Skip0, Center1: true, Input: targetnet.Gaussian, NormSamples: 4000,
		NTrain: 1000, NTest: 500, Seed: 1, Threads: 1})
	if err != nil {
		panic(err)
	}
	data := &targetnet.Data{Net: gen.Net, Train: *gen.Train, Test: *gen.Test}
	cfg := trainer.Config{Config: staged.Config{Schedule: "joint", EpochsFirst: 30, EpochsPerStage: 30, LastStage: 2, Batch: 32,
		Optimizer: "adam", LR: 5e-3, LRSchedule: "cosine", Clip: 10, WeightDecay: 1e-5},
		M: 16, LambdaKW: 0.1, InitK: 0.1, InitW: 0.1, NTrainUsed: 400, Diverge: 1e3}
	ck, err := trainer.Fit(context.Background(), data, cfg, 42, nil, trainer.Hooks{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("stage 2: %d epochs, test error below 0.5: %v\n", len(ck.History), ck.Summary.FinalTestRelErr < 0.5)
	cfg.LastStage = 3
	for _, s := range []string{"joint", "layerwise"} {
		cfg.Schedule = s
		res, err := trainer.Fit(context.Background(), data, cfg, 0, &ck.Checkpoint, trainer.Hooks{})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d epochs, eps_2 unchanged since the switch: %v\n", s, len(res.History),
			res.Summary.Eps[2] == res.Summary.EpsSwitch[2])
	}
	// Output:
	// stage 2: 30 epochs, test error below 0.5: true
	// joint: 60 epochs, eps_2 unchanged since the switch: false
	// layerwise: 60 epochs, eps_2 unchanged since the switch: true
}

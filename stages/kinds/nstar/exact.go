package nstar

import (
	"fmt"

	"github.com/bfc-repro/bfc/stages/kinds/spectrum"
	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/hermite"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// ExactLabels returns the exact moments and degree spectrum of the labels
// a target stage stored (the weights as stored, the Monte Carlo centring
// constant of its summary, its noise), and the loaded data. Gaussian
// inputs and unclipped labels only: the expansion is in the Hermite basis
// of N(0, I_d), and clipping changes the labels.
func ExactLabels(in kit.Input, threads int) (*hermite.Labels, *targetnet.Data, error) {
	cfg := target.ConfigOf(in.Params())
	if cfg.Input != targetnet.Gaussian {
		return nil, nil, fmt.Errorf("exact labels of target %s: input %q; the Hermite expansion is exact for gaussian inputs only", in.Key(), cfg.Input)
	}
	if cfg.LabelClip != 0 {
		return nil, nil, fmt.Errorf("exact labels of target %s: label_clip = %v changes the labels; the exact moments need unclipped labels", in.Key(), cfg.LabelClip)
	}
	data, err := target.Load(in)
	if err != nil {
		return nil, nil, err
	}
	res, err := hermite.Analyze(spectrum.HermiteTarget(data.Net), hermite.Options{Threads: threads, AsGiven: true})
	if err != nil {
		return nil, nil, fmt.Errorf("exact labels of target %s: %w", in.Key(), err)
	}
	lb, err := res.Labels(data.Net.Mean, cfg.Noise)
	if err != nil {
		return nil, nil, fmt.Errorf("exact labels of target %s: %w", in.Key(), err)
	}
	return lb, data, nil
}

// SampleVar is the variance of y about its own mean, Σ(y − ȳ)²/len(y):
// the denominator of the sweep kind's test_rel_err (metrics.RelErr), so
// that test_rel_err × SampleVar(first n_test test labels) is the test MSE.
func SampleVar(y []float64) float64 {
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var sst float64
	for _, v := range y {
		sst += (v - mean) * (v - mean)
	}
	return sst / float64(len(y))
}

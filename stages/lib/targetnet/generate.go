package targetnet

import (
	"context"
	"fmt"
	"math"
)

// Result is a sampled target network with its data and Monte Carlo moments.
type Result struct {
	Net         *Net
	Stats       *Stats
	Train, Test *Split
	// VarY and KurtY are Var(y) and the (non-excess) kurtosis
	// E[(y-Ey)^4]/Var(y)^2 of the noisy, unclipped label, from the Monte
	// Carlo moments of G* and the exact Gaussian noise moments.
	VarY, KurtY float64
	// ClipValue is the clipping threshold applied to |y| (0: none), and
	// ClippedTrain/ClippedTest the number of labels it changed.
	ClipValue                 float64
	ClippedTrain, ClippedTest int
}

// Generate samples the network and both splits described by sp.
func Generate(ctx context.Context, sp *Spec) (*Result, error) {
	if Sources(sp.Connections, 2) == nil {
		return nil, fmt.Errorf("target: unknown connections %q", sp.Connections)
	}
	if sp.Input != Gaussian && sp.Input != Sphere {
		return nil, fmt.Errorf("target: unknown input distribution %q", sp.Input)
	}
	total := sp.L + 2 // L-1 normalisation passes, moments, two splits
	progress := func(done int, msg string) {
		if sp.ProgressFunc != nil {
			sp.ProgressFunc(done, total, msg)
		}
	}
	net, err := NewNet(ctx, sp)
	if err != nil {
		return nil, err
	}
	progress(sp.L-1, "moments of G*")
	st, err := net.MCStats(ctx, sp)
	if err != nil {
		return nil, fmt.Errorf("moments of G*: %w", err)
	}
	net.Mean = st.Mean
	tau2 := sp.Noise * sp.Noise
	res := &Result{Net: net, Stats: st, VarY: st.VarG + tau2}
	res.KurtY = (st.M4G + 6*st.VarG*tau2 + 3*tau2*tau2) / (res.VarY * res.VarY)
	if sp.LabelClip > 0 {
		res.ClipValue = sp.LabelClip * math.Sqrt(res.VarY)
	}
	progress(sp.L, "train split")
	if res.Train, res.ClippedTrain, err = net.SampleSplit(ctx, sp, "train", sp.NTrain, res.ClipValue); err != nil {
		return nil, err
	}
	progress(sp.L+1, "test split")
	if res.Test, res.ClippedTest, err = net.SampleSplit(ctx, sp, "test", sp.NTest, res.ClipValue); err != nil {
		return nil, err
	}
	progress(total, "done")
	return res, nil
}

// Data is a target network with its train and test splits.
type Data struct {
	Net         *Net
	Train, Test Split
}

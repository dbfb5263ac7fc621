// Package target implements the stage kind "target": it samples a target
// network of the concept class and its train/test splits (the model is
// package targetnet) and writes them as the tables net, layers, train,
// test and summary; Load reads them back for the kinds that train on them.
package target

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// Kind is the stage kind "target".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "target" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Samples the target network of the concept class (degree-2^L polynomial built from L quadratic layers, " +
		"SCIENCE.md §2): weights W*_{l,j} normalised to unit-variance features, alpha_l = gap^(l-2), and train/test " +
		"sets with inputs x, labels y and the true features S*_l. Outputs: net, layers, train, test, summary."
}

// Params implements kit.Kind.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.IntParam("d", 16, "input dimension").In(2, 4096),
		kit.IntParam("k", 3, "width of every hidden feature layer S*_l, l >= 2").In(1, 64),
		kit.IntParam("L", 3, "number of layers; G* has degree 2^L").In(2, 6),
		kit.FloatParam("gap", 0.3, "information gap gamma: alpha_l = gap^(l-2), in (0, 1]").In(0, 1),
		kit.StringParam("connections", targetnet.Skip0, `source sets J_l: "chain" {l-1}, "skip0" {l-1, 0}, "dense" {0..l-1}`).
			OneOf(targetnet.Chain, targetnet.Skip0, targetnet.Dense),
		kit.IntParam("n_train", 20000, "number of training samples").In(1, 10_000_000),
		kit.IntParam("n_test", 5000, "number of test samples").In(1, 10_000_000),
		kit.FloatParam("noise", 0, "standard deviation tau of the Gaussian label noise, in units of y").In(0, 1e12),
		kit.StringParam("input", targetnet.Gaussian, `input distribution: "gaussian" N(0, I_d) or "sphere" (radius sqrt(d))`).
			OneOf(targetnet.Gaussian, targetnet.Sphere),
		kit.BoolParam("center1", true, "layer-1 activation (x^2-1)/sqrt(2) instead of x^2"),
		kit.IntParam("norm_samples", 100000, "Monte Carlo samples for the row normalisation, the mean of G* and the moments of y").
			In(1000, 10_000_000),
		kit.FloatParam("label_clip", 0, "clip |y| at label_clip * std(y) (0: no clipping)").In(0, 1e6),
	}
}

// Validate implements kit.Validator: gap must be strictly positive.
func (Kind) Validate(p kit.Params) error {
	if !(p.Float("gap") > 0) {
		return kit.Errorf("gap", "must be > 0 (alpha_l = gap^(l-2)), have %v", p.Float("gap"))
	}
	return nil
}

// Threads implements kit.Threader: sampling uses every granted CPU.
func (Kind) Threads(kit.Params) int { return 0 }

// SpecFromParams turns resolved "target" parameters and a seed into a Spec
// (with one thread and no progress reporting).
func SpecFromParams(p kit.Params, seed uint64) *targetnet.Spec {
	return &targetnet.Spec{D: p.Int("d"), K: p.Int("k"), L: p.Int("L"), Gap: p.Float("gap"),
		Connections: p.String("connections"), Center1: p.Bool("center1"), Input: p.String("input"),
		NormSamples: p.Int("norm_samples"), Noise: p.Float("noise"), LabelClip: p.Float("label_clip"),
		NTrain: p.Int("n_train"), NTest: p.Int("n_test"), Seed: seed, Threads: 1}
}

// Run implements kit.Kind.
func (k Kind) Run(env kit.Env) error {
	sp := SpecFromParams(env.Params(), env.Seed())
	sp.Threads = env.Threads()
	sp.ProgressFunc = env.Progress
	res, err := targetnet.Generate(env.Context(), sp)
	if err != nil {
		return err
	}
	env.Logf("var(y)=%.4g kurtosis(y)=%.4g mean=%.4g clipped %d+%d labels",
		res.VarY, res.KurtY, res.Net.Mean, res.ClippedTrain, res.ClippedTest)
	tables := []struct {
		name  string
		build func() (arrow.Record, error)
	}{
		{"net", func() (arrow.Record, error) { return netTable(res.Net) }},
		{"layers", func() (arrow.Record, error) { return layersTable(res) }},
		{"train", func() (arrow.Record, error) { return splitTable(res.Net, res.Train) }},
		{"test", func() (arrow.Record, error) { return splitTable(res.Net, res.Test) }},
		{"summary", func() (arrow.Record, error) { return summaryTable(sp, res) }},
	}
	for _, t := range tables {
		rec, err := t.build()
		if err != nil {
			return fmt.Errorf("build %s table: %w", t.name, err)
		}
		if err := env.Write(t.name, rec); err != nil {
			return fmt.Errorf("write %s: %w", t.name, err)
		}
	}
	return nil
}

// netTable lists every weight in long format: layer l, source j, row, col, value.
func netTable(n *targetnet.Net) (arrow.Record, error) {
	var layer, source, row, col []int
	var value []float64
	for l := 2; l <= n.L; l++ {
		for i, j := range targetnet.Sources(n.Connections, l) {
			w := n.W[l][i]
			r, c := w.Dims()
			for a := 0; a < r; a++ {
				for b := 0; b < c; b++ {
					layer, source, row, col = append(layer, l), append(source, j), append(row, a), append(col, b)
					value = append(value, w.At(a, b))
				}
			}
		}
	}
	return kit.NewTable().Ints("layer", layer).Ints("source", source).Ints("row", row).Ints("col", col).
		Float64("value", value).Record()
}

// layersTable has one row per layer l = 2..L with the Monte Carlo
// decomposition of Var(y) into the terms T_l = alpha_l ||S*_l||^2:
// degree (of T_l in x, 2^l), mean_term = E[T_l], var_term = Var(T_l),
// share = Var(T_l)/Var(y) and cum_share = Var(T_2+...+T_l)/Var(y). The
// shares need not add up to 1 because the terms are correlated.
func layersTable(res *targetnet.Result) (arrow.Record, error) {
	n, st := res.Net, res.Stats
	var layer, degree []int
	var alpha, meanTerm, varTerm, share, cumShare []float64
	for l := 2; l <= n.L; l++ {
		layer = append(layer, l)
		degree = append(degree, 1<<l)
		alpha = append(alpha, n.Alpha[l])
		meanTerm = append(meanTerm, st.TermMean[l])
		varTerm = append(varTerm, st.Cov[l][l])
		share = append(share, st.Cov[l][l]/res.VarY)
		cumShare = append(cumShare, st.VarPartial(l)/res.VarY)
	}
	return kit.NewTable().Ints("layer", layer).Float64("alpha", alpha).Ints("degree", degree).
		Float64("mean_term", meanTerm).Float64("var_term", varTerm).Float64("share", share).
		Float64("cum_share", cumShare).Record()
}

// splitTable stores a split: x (n x d), y, g, and s2..sL (n x k).
func splitTable(n *targetnet.Net, s *targetnet.Split) (arrow.Record, error) {
	t := kit.NewTable().Matrix("x", s.N, n.D, s.X.RawMatrix().Data).Float64("y", s.Y).Float64("g", s.G)
	for l := 2; l <= n.L; l++ {
		t.Matrix(fmt.Sprintf("s%d", l), s.N, n.K, s.S[l].RawMatrix().Data)
	}
	return t.Record()
}

// moments returns the mean, variance and (non-excess) kurtosis of v.
func moments(v []float64) (mean, variance, kurt float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	var m2, m4 float64
	for _, x := range v {
		d2 := (x - mean) * (x - mean)
		m2 += d2
		m4 += d2 * d2
	}
	m2 /= float64(len(v))
	m4 /= float64(len(v))
	return mean, m2, m4 / (m2 * m2)
}

func summaryTable(sp *targetnet.Spec, res *targetnet.Result) (arrow.Record, error) {
	_, varTrain, kurtTrain := moments(res.Train.Y)
	one := func(v int) []int { return []int{v} }
	f := func(v float64) []float64 { return []float64{v} }
	center := []bool{sp.Center1}
	return kit.NewTable().
		Ints("d", one(sp.D)).Ints("k", one(sp.K)).Ints("L", one(sp.L)).Float64("gap", f(sp.Gap)).
		String("connections", []string{sp.Connections}).String("input", []string{sp.Input}).
		Bool("center1", center).Float64("noise", f(sp.Noise)).
		Ints("n_train", one(sp.NTrain)).Ints("n_test", one(sp.NTest)).Ints("norm_samples", one(sp.NormSamples)).
		Float64("mean", f(res.Net.Mean)).Float64("var_g", f(res.Stats.VarG)).
		Float64("var_y", f(res.VarY)).Float64("kurtosis_y", f(res.KurtY)).
		Float64("var_y_train", f(varTrain)).Float64("kurtosis_y_train", f(kurtTrain)).
		Float64("label_clip", f(sp.LabelClip)).Float64("clip_value", f(res.ClipValue)).
		Ints("n_clipped_train", one(res.ClippedTrain)).Ints("n_clipped_test", one(res.ClippedTest)).
		Ints("n_clipped", one(res.ClippedTrain+res.ClippedTest)).
		Record()
}

// Package target implements the stage kind "target": it samples a target
// network of the concept class and its train/test splits (the model is
// package targetnet) and writes them as the tables net, layers, train,
// test and summary; Load reads them back for the kinds that train on them.
package target

import (
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
		"docs/science.md#target): weights W*_{l,j} normalised to unit-variance features, alpha_l = gap^(l-2), and train/test " +
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

// Config is the typed form of a target stage's parameters.
type Config struct {
	D, K, L     int
	Gap         float64
	Connections string
	NTrain      int
	NTest       int
	Noise       float64
	Input       string
	Center1     bool
	NormSamples int
	LabelClip   float64
}

// ConfigOf decodes resolved "target" parameters: this kind's, or those of
// an upstream target stage (kit.Input.Params).
func ConfigOf(p kit.Params) Config {
	return Config{D: p.Int("d"), K: p.Int("k"), L: p.Int("L"), Gap: p.Float("gap"), Connections: p.String("connections"),
		NTrain: p.Int("n_train"), NTest: p.Int("n_test"), Noise: p.Float("noise"), Input: p.String("input"),
		Center1: p.Bool("center1"), NormSamples: p.Int("norm_samples"), LabelClip: p.Float("label_clip")}
}

// Spec is the sampling specification of the configuration with seed
// (one thread, no progress reporting).
func (c Config) Spec(seed uint64) *targetnet.Spec {
	return &targetnet.Spec{D: c.D, K: c.K, L: c.L, Gap: c.Gap, Connections: c.Connections, Center1: c.Center1,
		Input: c.Input, NormSamples: c.NormSamples, Noise: c.Noise, LabelClip: c.LabelClip,
		NTrain: c.NTrain, NTest: c.NTest, Seed: seed, Threads: 1}
}

// Validate implements kit.Validator: gap must be strictly positive.
func (Kind) Validate(p kit.Params) error {
	if c := ConfigOf(p); !(c.Gap > 0) {
		return kit.Errorf("gap", "must be > 0 (alpha_l = gap^(l-2)), have %v", c.Gap)
	}
	return nil
}

// Threads implements kit.Threader: sampling uses every granted CPU.
func (Kind) Threads(kit.Params) int { return 0 }

// Run implements kit.Kind.
func (k Kind) Run(env kit.Env) error {
	sp := ConfigOf(env.Params()).Spec(env.Seed())
	sp.Threads = env.Threads()
	sp.ProgressFunc = env.Progress
	res, err := targetnet.Generate(env.Context(), sp)
	if err != nil {
		return err
	}
	env.Logf("var(y)=%.4g kurtosis(y)=%.4g mean=%.4g clipped %d+%d labels",
		res.VarY, res.KurtY, res.Net.Mean, res.ClippedTrain, res.ClippedTest)
	return kit.WriteAll(env,
		kit.Output{Name: TableNet, Build: func() (arrow.Record, error) { return netTable(res.Net) }},
		kit.Output{Name: TableLayers, Build: func() (arrow.Record, error) { return layersTable(res) }},
		kit.Output{Name: TableTrain, Build: func() (arrow.Record, error) { return splitTable(res.Net, res.Train) }},
		kit.Output{Name: TableTest, Build: func() (arrow.Record, error) { return splitTable(res.Net, res.Test) }},
		kit.Output{Name: TableSummary, Build: func() (arrow.Record, error) { return summaryTable(sp, res) }})
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
	return kit.NewTable().Ints(ColLayer, layer).Ints(ColSource, source).Ints(ColRow, row).Ints(ColCol, col).
		Float64(ColValue, value).Record()
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
	return kit.NewTable().Ints(ColLayer, layer).Float64(ColAlpha, alpha).Ints(ColDegree, degree).
		Float64(ColMeanTerm, meanTerm).Float64(ColVarTerm, varTerm).Float64(ColShare, share).
		Float64(ColCumShare, cumShare).Record()
}

// splitTable stores a split: x (n x d), y, g, and s2..sL (n x k).
func splitTable(n *targetnet.Net, s *targetnet.Split) (arrow.Record, error) {
	t := kit.NewTable().Matrix(ColX, s.N, n.D, s.X.RawMatrix().Data).Float64(ColY, s.Y).Float64(ColG, s.G)
	for l := 2; l <= n.L; l++ {
		t.Matrix(ColS(l), s.N, n.K, s.S[l].RawMatrix().Data)
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
		Ints(ColD, one(sp.D)).Ints(ColK, one(sp.K)).Ints(ColL, one(sp.L)).Float64(ColGap, f(sp.Gap)).
		String(ColConnections, []string{sp.Connections}).String(ColInput, []string{sp.Input}).
		Bool(ColCenter1, center).Float64(ColNoise, f(sp.Noise)).
		Ints(ColNTrain, one(sp.NTrain)).Ints(ColNTest, one(sp.NTest)).Ints(ColNormSamples, one(sp.NormSamples)).
		Float64(ColMean, f(res.Net.Mean)).Float64(ColVarG, f(res.Stats.VarG)).
		Float64(ColVarY, f(res.VarY)).Float64(ColKurtosisY, f(res.KurtY)).
		Float64(ColVarYTrain, f(varTrain)).Float64(ColKurtosisYTrain, f(kurtTrain)).
		Float64(ColLabelClip, f(sp.LabelClip)).Float64(ColClipValue, f(res.ClipValue)).
		Ints(ColNClippedTrain, one(res.ClippedTrain)).Ints(ColNClippedTest, one(res.ClippedTest)).
		Ints(ColNClipped, one(res.ClippedTrain+res.ClippedTest)).
		Record()
}

// CheckPrefix is the check of a kind that reads the first n samples of a
// split ("n_train" or "n_test", the target parameter that sizes it) of
// its target inputs, for kit.InputChecker: n may not exceed the split of
// any target among inputs. field names the reader's parameter; n = 0
// (all samples) always passes.
func CheckPrefix(field string, n int, split string, inputs []kit.InputParams) error {
	words := map[string]string{"n_train": "training", "n_test": "test"}[split]
	for _, in := range inputs {
		if in.Kind != (Kind{}).Name() {
			continue
		}
		if have := in.Params.Int(split); n > have {
			return kit.Errorf(field, "%d is more than the %d %s samples of its input %s (its %s)", n, have, words, in.Point, split)
		}
	}
	return nil
}

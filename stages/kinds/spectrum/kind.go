// Package spectrum implements the stage kind "spectrum": the exact degree
// spectrum of a target network (docs/science.md#spectrum). It reads the
// target's stored weights through the target kind's reader (target.Load),
// expands G* exactly in the multivariate Hermite basis (package hermite,
// with the weights as stored, so the expansion is that of the function the
// labels were computed from) and writes, for every Hermite degree q =
// 0..2^L, ‖P_q G*‖² = E[(P_q G*)²], its share of Var(G*) and the share of
// the degrees above q; the exact moments of each layer's term next to the
// target's Monte Carlo ones; and a summary.
//
// The label is y = G*(x) + noise with G* = Σ_l α_l ‖S*_l‖² − Mean, where
// Mean is the Monte Carlo constant the target stored: so E[y] = mean (the
// summary's column), not exactly 0, and the q = 0 row holds mean². Shares
// are of Var(G*), the noise-free label (var_y adds the noise variance).
// The spectrum is that of Gaussian inputs: a target with input "sphere"
// is refused before anything runs.
//
// Exact is all or nothing: where a product of the expansion would exceed
// max_terms Hermite terms (hermite.TooLargeError: L = 4 from d ≈ 14 at the
// default) the point fails with an error naming its target and the limit,
// instead of writing an approximation. The run time is in the point's run
// record (bfc show, paper/timings.csv), not in its tables, which are the
// same bytes on every run and for every GOMAXPROCS.
package spectrum

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/lib/hermite"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// Kind is the stage kind "spectrum".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "spectrum" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Exact Hermite degree spectrum of a target (docs/science.md#spectrum): per degree q = 0..2^L the part " +
		"||P_q G*||^2 of Var(G*), its share and the share above q, the exact layer moments next to the target's Monte " +
		"Carlo ones, and the shares above 2^(L-1) and of degree 2^L. Refuses (fails) where the exact expansion exceeds " +
		"max_terms. Outputs: degrees, layers, summary."
}

// Params implements kit.Kind.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.FloatParam("max_terms", hermite.DefaultMaxTerms,
			"largest Hermite expansion (bound on the terms of one product) attempted; above it the point fails "+
				"(about 80 bytes a term of peak memory)").In(1e3, 1e10),
	}
}

// Consumes implements kit.Consumer: the target's weights, splits (for
// Load and the training labels' mean), layers and summary.
func (Kind) Consumes(kit.Params) []kit.TableNeed {
	return append(target.LoadNeeds(), target.LayersDesc.Need(), target.SummaryDesc.Need())
}

// CheckInputs implements kit.InputChecker: one target with Gaussian
// input (the Hermite spectrum is that of N(0, I_d)).
func (Kind) CheckInputs(_ kit.Params, inputs []kit.InputParams) error {
	n := 0
	for _, in := range inputs {
		if in.Kind != (target.Kind{}).Name() {
			continue
		}
		n++
		if c := target.ConfigOf(in.Params); c.Input != targetnet.Gaussian {
			return fmt.Errorf("input %s: input %q: the Hermite spectrum is that of Gaussian inputs (%q)", in.Point, c.Input, targetnet.Gaussian)
		}
	}
	if n != 1 {
		return fmt.Errorf("needs exactly one target input, have %d", n)
	}
	return nil
}

// Threads implements kit.Threader: the rows of a layer are expanded in
// parallel on every granted CPU (the result does not depend on it).
func (Kind) Threads(kit.Params) int { return 0 }

// Result is the spectrum of one target, before it is written.
type Result struct {
	Cfg     target.Config
	Exact   *hermite.Result
	MC      []target.Layer
	MCSum   *target.Summary
	Train   float64 // mean of the training labels
	Stored  float64 // the Monte Carlo constant subtracted in G*
	Mean    float64 // E[y] = E[Σ α_l ||S*_l||²] − Stored
	Spec    []float64
	Var     float64
	MaxTerm float64
}

// HermiteTarget converts a stored network to hermite's plain data.
func HermiteTarget(n *targetnet.Net) *hermite.Target {
	t := &hermite.Target{D: n.D, K: n.K, L: n.L, Center1: n.Center1, Alpha: slices.Clone(n.Alpha),
		Sources: make([][]int, n.L+1), W: make([][][]float64, n.L+1)}
	for l := 2; l <= n.L; l++ {
		t.Sources[l] = targetnet.Sources(n.Connections, l)
		for _, w := range n.W[l] {
			r, c := w.Dims()
			flat := make([]float64, 0, r*c)
			for i := range r {
				for j := range c {
					flat = append(flat, w.At(i, j))
				}
			}
			t.W[l] = append(t.W[l], flat)
		}
	}
	return t
}

// Compute expands the target of in exactly. point names the target in
// errors; threads is the number of rows expanded at once.
func Compute(in kit.Input, maxTerms float64, threads int) (*Result, error) {
	point := fmt.Sprintf("target %s", describe(in))
	cfg := target.ConfigOf(in.Params())
	if cfg.Input != targetnet.Gaussian {
		return nil, fmt.Errorf("%s: input %q: the Hermite spectrum is that of Gaussian inputs", point, cfg.Input)
	}
	data, err := target.Load(in)
	if err != nil {
		return nil, err
	}
	mc, err := target.ReadLayers(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", point, err)
	}
	sum, err := target.ReadSummary(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", point, err)
	}
	ex, err := analyze(data.Net, maxTerms, threads, point)
	if err != nil {
		return nil, err
	}
	var train float64
	for _, y := range data.Train.Y {
		train += y
	}
	train /= float64(len(data.Train.Y))
	r := &Result{Cfg: cfg, Exact: ex, MC: mc, MCSum: sum, Train: train, Stored: data.Net.Mean,
		Mean: ex.Mean - data.Net.Mean, Spec: ex.Spectrum(), Var: ex.Var(), MaxTerm: maxTerms}
	return r, nil
}

// analyze expands n exactly with its weights as given; point names the
// target in errors.
func analyze(n *targetnet.Net, maxTerms float64, threads int, point string) (*hermite.Result, error) {
	ex, err := hermite.Analyze(HermiteTarget(n), hermite.Options{Threads: threads, MaxTerms: maxTerms, AsGiven: true})
	if tl := (*hermite.TooLargeError)(nil); errors.As(err, &tl) {
		return nil, fmt.Errorf("%s (d = %d, L = %d): the exact spectrum is not affordable: a product of degree %d would "+
			"have up to %.3g Hermite terms (about %.2g GB), above max_terms = %.3g; exact expansion stops at L = 4 near "+
			"d = 12-14 (docs/science.md#spectrum)", point, n.D, n.L, tl.Degree, tl.Terms, tl.Bytes/1e9, tl.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", point, err)
	}
	return ex, nil
}

// Degrees are the rows of the degrees table of a spectrum spec (element
// q: the part of the variance carried by degree q >= 1) of a function
// with mean mean: row 0 holds mean² and share 0 (the constant carries no
// variance), row q the share spec[q]/Var and the share of the degrees
// above q.
func Degrees(spec []float64, mean float64) []Degree {
	var v float64
	for _, s := range spec[1:] {
		v += s
	}
	out := make([]Degree, len(spec))
	for q := range spec {
		out[q] = Degree{Degree: q, Norm2: spec[q], Share: spec[q] / v, ShareAbove: hermite.ShareAbove(spec, q)}
	}
	out[0].Norm2, out[0].Share = mean*mean, 0
	return out
}

// describe names an input by its grid labels (or its key).
func describe(in kit.Input) string {
	lab := in.Labels()
	if len(lab) == 0 {
		return in.Key()
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range lab {
			if !yield(k) {
				return
			}
		}
	})
	s := "["
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		s += k + "=" + lab[k]
	}
	return s + "]"
}

// Run implements kit.Kind.
func (Kind) Run(env kit.Env) error {
	in, err := kit.OneInput(env, "target")
	if err != nil {
		return fmt.Errorf("spectrum: %w", err)
	}
	start := time.Now()
	res, err := Compute(in, env.Params().Float("max_terms"), env.Threads())
	if err != nil {
		return err
	}
	half := 1 << (res.Cfg.L - 1)
	env.Logf("d=%d L=%d: %d terms, Var(G*)=%.6g (Monte Carlo %.6g), E[y]=%.4g, share above degree %d %.4g, of degree %d %.4g, %.2fs",
		res.Cfg.D, res.Cfg.L, res.Exact.Terms[res.Cfg.L], res.Var, res.MCSum.VarG, res.Mean, half, hermite.ShareAbove(res.Spec, half),
		1<<res.Cfg.L, res.Spec[1<<res.Cfg.L]/res.Var, time.Since(start).Seconds())
	return kit.WriteAll(env,
		kit.Output{Name: TableDegrees, Build: res.degreesTable},
		kit.Output{Name: TableLayers, Build: res.layersTable},
		kit.Output{Name: TableSummary, Build: res.summaryTable})
}

func (r *Result) degreesTable() (arrow.Record, error) {
	var q []int
	var norm2, share, above []float64
	for _, d := range Degrees(r.Spec, r.Mean) {
		q, norm2, share, above = append(q, d.Degree), append(norm2, d.Norm2), append(share, d.Share), append(above, d.ShareAbove)
	}
	return kit.NewTable().Ints(ColDegree, q).Float64(ColNorm2, norm2).Float64(ColShare, share).
		Float64(ColShareAbove, above).Record()
}

func (r *Result) layersTable() (arrow.Record, error) {
	L := r.Cfg.L
	var layer, degree []int
	var alpha, mean, mcMean, vr, mcVar, sh, mcSh, cum, mcCum, vmin, vmax []float64
	for l := 2; l <= L; l++ {
		m := r.MC[l-2]
		var partial float64 // Var(T_2 + ... + T_l)
		for a := 2; a <= l; a++ {
			for b := 2; b <= l; b++ {
				partial += r.Exact.Cov(a, b)
			}
		}
		v := r.Exact.Cov(l, l)
		layer, degree, alpha = append(layer, l), append(degree, 1<<l), append(alpha, r.Exact.Alpha[l])
		mean, mcMean = append(mean, r.Exact.TermMean[l]), append(mcMean, m.MeanTerm)
		vr, mcVar = append(vr, v), append(mcVar, m.VarTerm)
		sh, mcSh = append(sh, v/r.Var), append(mcSh, m.Share)
		cum, mcCum = append(cum, partial/r.Var), append(mcCum, m.CumShare)
		vmin, vmax = append(vmin, slices.Min(r.Exact.RawVar[l])), append(vmax, slices.Max(r.Exact.RawVar[l]))
	}
	return kit.NewTable().Ints(ColLayer, layer).Ints(ColDegree, degree).Float64(ColAlpha, alpha).
		Float64(ColMeanTerm, mean).Float64(ColMCMeanTerm, mcMean).Float64(ColVarTerm, vr).Float64(ColMCVarTerm, mcVar).
		Float64(ColLayerShare, sh).Float64(ColMCLayerShare, mcSh).Float64(ColCumShare, cum).Float64(ColMCCumShare, mcCum).
		Float64(ColRowVarMin, vmin).Float64(ColRowVarMax, vmax).Record()
}

func (r *Result) summaryTable() (arrow.Record, error) {
	c, L := r.Cfg, r.Cfg.L
	half := 1 << (L - 1)
	one := func(v int) []int { return []int{v} }
	f := func(v float64) []float64 { return []float64{v} }
	return kit.NewTable().Ints(ColD, one(c.D)).Ints(ColK, one(c.K)).Ints(ColL, one(L)).Float64(ColGap, f(c.Gap)).
		Float64(ColNoise, f(c.Noise)).Float64(ColMean, f(r.Mean)).Float64(ColStoredMean, f(r.Stored)).
		Float64(ColVarG, f(r.Var)).Float64(ColVarY, f(r.Var+c.Noise*c.Noise)).Float64(ColMCVarY, f(r.MCSum.VarY)).
		Float64(ColTrainMean, f(r.Train)).Ints(ColHalfDegree, one(half)).
		Float64(ColShareAboveHalf, f(hermite.ShareAbove(r.Spec, half))).Float64(ColShareTop, f(r.Spec[1<<L]/r.Var)).
		Ints(ColTerms, one(r.Exact.Terms[L])).Float64(ColMaxTerms, f(r.MaxTerm)).Bool(ColExact, []bool{r.Exact.Complete}).
		Record()
}

package nstar

import (
	"github.com/apache/arrow/go/v15/arrow"

	"github.com/bfc-repro/bfc/stages/kit"
)

// The tables of an "nstar" stage:
//
//	result    one row per threshold (primary first, then fixed_taus in order)
//	probes    one row per probe of each search, in search order
//	spectrum  one row per Hermite degree q = 0..2^L: its part of Var(y)
//	          (degree 0: the squared centring error) and share
const (
	Version = 1

	TableResult   = "result"
	TableProbes   = "probes"
	TableSpectrum = "spectrum"

	// Values of the tau_name column.
	TauPrimary = "primary"
	TauFixed   = "fixed"

	ColMethod    = "method"
	ColD         = "d"
	ColL         = "L"
	ColK         = "k"
	ColGap       = "gap"
	ColReplicate = "replicate"
	ColTargetKey = "target_key"
	ColTauName   = "threshold_name"
	ColTau       = "threshold"
	ColF         = "f"
	ColShareHigh = "share_high"
	ColVarY      = "var_y"
	ColVarYTest  = "var_y_test"
	ColLabelMean = "label_mean"
	ColNTest     = "n_test"
	ColNMin      = "n_min"
	ColNMax      = "n_max"
	ColRatio     = "ratio"
	ColLo        = "lo"
	ColHi        = "hi"
	ColNStar     = "nstar"
	ColCensoring = "censoring"
	ColProbes    = "probes"
	ColErrLo     = "err_lo"
	ColErrHi     = "err_hi"

	ColStep       = "step"
	ColPhase      = "phase"
	ColN          = "n"
	ColTestRelErr = "test_rel_err"
	ColMSE        = "mse"
	ColError      = "error"
	ColReached    = "reached"
	ColProbeKey   = "probe_key"

	ColDegree = "degree"
	ColPart   = "part"
	ColShare  = "share"
)

func desc(name string, cols ...kit.ColumnDesc) kit.TableDesc {
	return kit.TableDesc{Kind: "nstar", Version: Version, Name: name, Columns: cols}
}

// ResultDesc, ProbesDesc and SpectrumDesc are the schemas of the tables.
var (
	ResultDesc = desc(TableResult, kit.StringCol(ColMethod), kit.IntCol(ColD), kit.IntCol(ColL), kit.IntCol(ColK),
		kit.FloatCol(ColGap), kit.StringCol(ColReplicate), kit.StringCol(ColTargetKey), kit.StringCol(ColTauName),
		kit.FloatCol(ColTau), kit.FloatCol(ColF), kit.FloatCol(ColShareHigh), kit.FloatCol(ColVarY), kit.FloatCol(ColVarYTest),
		kit.FloatCol(ColLabelMean), kit.IntCol(ColNTest), kit.IntCol(ColNMin), kit.IntCol(ColNMax), kit.FloatCol(ColRatio),
		kit.FloatCol(ColLo), kit.FloatCol(ColHi), kit.FloatCol(ColNStar), kit.StringCol(ColCensoring), kit.IntCol(ColProbes),
		kit.FloatCol(ColErrLo), kit.FloatCol(ColErrHi))
	ProbesDesc = desc(TableProbes, kit.StringCol(ColTauName), kit.FloatCol(ColTau), kit.IntCol(ColStep), kit.StringCol(ColPhase),
		kit.IntCol(ColN), kit.FloatCol(ColTestRelErr), kit.FloatCol(ColMSE), kit.FloatCol(ColError), kit.BoolCol(ColReached),
		kit.StringCol(ColProbeKey))
	SpectrumDesc = desc(TableSpectrum, kit.IntCol(ColDegree), kit.FloatCol(ColPart), kit.FloatCol(ColShare))
)

// Produces implements kit.Producer.
func (Kind) Produces(kit.Params) []kit.TableDesc {
	return []kit.TableDesc{ResultDesc, ProbesDesc, SpectrumDesc}
}

// Result is one row of the result table: the bracket lo < N* <= hi of
// one search (lo = 0: censoring "left"; hi = +Inf: "right"), NStar its
// geometric midpoint (NaN when censored), ErrLo and ErrHi the errors
// probed at lo and hi (NaN where not probed).
type Result struct {
	Method                    string
	D, L, K                   int
	Gap                       float64
	Replicate, TargetKey      string
	TauName                   string
	Tau, F, ShareHigh         float64
	VarY, VarYTest, LabelMean float64
	NTest, NMin, NMax         int
	Ratio, Lo, Hi, NStar      float64
	Censoring                 string
	Probes                    int
	ErrLo, ErrHi              float64
}

// Probe is one row of the probes table.
type Probe struct {
	TauName                string
	Tau                    float64
	Step                   int
	Phase                  string
	N                      int
	TestRelErr, MSE, Error float64
	Reached                bool
	ProbeKey               string
}

func writeTables(env kit.Env, results []Result, probes []Probe, spectrum []float64, varY float64) error {
	return kit.WriteAll(env,
		kit.Output{Name: TableResult, Build: func() (arrow.Record, error) { return resultTable(results) }},
		kit.Output{Name: TableProbes, Build: func() (arrow.Record, error) { return probesTable(probes) }},
		kit.Output{Name: TableSpectrum, Build: func() (arrow.Record, error) { return spectrumTable(spectrum, varY) }})
}

func resultTable(rs []Result) (arrow.Record, error) {
	n := len(rs)
	str := func(f func(Result) string) []string {
		out := make([]string, n)
		for i, r := range rs {
			out[i] = f(r)
		}
		return out
	}
	num := func(f func(Result) float64) []float64 {
		out := make([]float64, n)
		for i, r := range rs {
			out[i] = f(r)
		}
		return out
	}
	ints := func(f func(Result) int) []int {
		out := make([]int, n)
		for i, r := range rs {
			out[i] = f(r)
		}
		return out
	}
	return kit.NewTable().
		String(ColMethod, str(func(r Result) string { return r.Method })).
		Ints(ColD, ints(func(r Result) int { return r.D })).
		Ints(ColL, ints(func(r Result) int { return r.L })).
		Ints(ColK, ints(func(r Result) int { return r.K })).
		Float64(ColGap, num(func(r Result) float64 { return r.Gap })).
		String(ColReplicate, str(func(r Result) string { return r.Replicate })).
		String(ColTargetKey, str(func(r Result) string { return r.TargetKey })).
		String(ColTauName, str(func(r Result) string { return r.TauName })).
		Float64(ColTau, num(func(r Result) float64 { return r.Tau })).
		Float64(ColF, num(func(r Result) float64 { return r.F })).
		Float64(ColShareHigh, num(func(r Result) float64 { return r.ShareHigh })).
		Float64(ColVarY, num(func(r Result) float64 { return r.VarY })).
		Float64(ColVarYTest, num(func(r Result) float64 { return r.VarYTest })).
		Float64(ColLabelMean, num(func(r Result) float64 { return r.LabelMean })).
		Ints(ColNTest, ints(func(r Result) int { return r.NTest })).
		Ints(ColNMin, ints(func(r Result) int { return r.NMin })).
		Ints(ColNMax, ints(func(r Result) int { return r.NMax })).
		Float64(ColRatio, num(func(r Result) float64 { return r.Ratio })).
		Float64(ColLo, num(func(r Result) float64 { return r.Lo })).
		Float64(ColHi, num(func(r Result) float64 { return r.Hi })).
		Float64(ColNStar, num(func(r Result) float64 { return r.NStar })).
		String(ColCensoring, str(func(r Result) string { return r.Censoring })).
		Ints(ColProbes, ints(func(r Result) int { return r.Probes })).
		Float64(ColErrLo, num(func(r Result) float64 { return r.ErrLo })).
		Float64(ColErrHi, num(func(r Result) float64 { return r.ErrHi })).
		Record()
}

func probesTable(ps []Probe) (arrow.Record, error) {
	var name, phase, key []string
	var tau, rel, mse, e []float64
	var step, n []int
	var reached []bool
	for _, p := range ps {
		name, phase, key = append(name, p.TauName), append(phase, p.Phase), append(key, p.ProbeKey)
		tau, rel, mse, e = append(tau, p.Tau), append(rel, p.TestRelErr), append(mse, p.MSE), append(e, p.Error)
		step, n, reached = append(step, p.Step), append(n, p.N), append(reached, p.Reached)
	}
	return kit.NewTable().String(ColTauName, name).Float64(ColTau, tau).Ints(ColStep, step).String(ColPhase, phase).
		Ints(ColN, n).Float64(ColTestRelErr, rel).Float64(ColMSE, mse).Float64(ColError, e).Bool(ColReached, reached).
		String(ColProbeKey, key).Record()
}

func spectrumTable(spec []float64, varY float64) (arrow.Record, error) {
	deg := make([]int, len(spec))
	share := make([]float64, len(spec))
	for q, v := range spec {
		deg[q], share[q] = q, v/varY
	}
	return kit.NewTable().Ints(ColDegree, deg).Float64(ColPart, spec).Float64(ColShare, share).Record()
}

// Needs are the tables ReadResults reads, for the kit.Consumer
// declarations of the kinds that gather nstar points.
func Needs() []kit.TableNeed { return []kit.TableNeed{ResultDesc.Need()} }

// ReadResults reads the result table of an nstar input.
func ReadResults(in kit.Input) ([]Result, error) {
	var out []Result
	err := ResultDesc.Use(in, func(r *kit.Rows) error {
		f, i, s := r.Float64s, r.Ints, r.Strings
		method, rep, key, tn, cens := s(ColMethod), s(ColReplicate), s(ColTargetKey), s(ColTauName), s(ColCensoring)
		d, L, k, nt, nmin, nmax, np := i(ColD), i(ColL), i(ColK), i(ColNTest), i(ColNMin), i(ColNMax), i(ColProbes)
		gap, tau, ff, sh, vy, vyt, lm := f(ColGap), f(ColTau), f(ColF), f(ColShareHigh), f(ColVarY), f(ColVarYTest), f(ColLabelMean)
		ratio, lo, hi, ns, elo, ehi := f(ColRatio), f(ColLo), f(ColHi), f(ColNStar), f(ColErrLo), f(ColErrHi)
		for j := range method {
			out = append(out, Result{Method: method[j], D: d[j], L: L[j], K: k[j], Gap: gap[j], Replicate: rep[j], TargetKey: key[j],
				TauName: tn[j], Tau: tau[j], F: ff[j], ShareHigh: sh[j], VarY: vy[j], VarYTest: vyt[j], LabelMean: lm[j],
				NTest: nt[j], NMin: nmin[j], NMax: nmax[j], Ratio: ratio[j], Lo: lo[j], Hi: hi[j], NStar: ns[j],
				Censoring: cens[j], Probes: np[j], ErrLo: elo[j], ErrHi: ehi[j]})
		}
		return nil
	})
	return out, err
}

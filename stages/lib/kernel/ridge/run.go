package ridge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat"
)

// System is the linear system of one ridge learner.
type System interface {
	// System returns the matrix for a fit on the first k samples and the
	// order of its leading block to factor.
	System(k int) (sym *Sym, order int, err error)
	// RHS returns the right-hand side for the centred labels yc of the
	// first len(yc) samples.
	RHS(yc []float64) []float64
	// PredictVal writes into out the predictions (before adding the
	// label mean) that solution sol, of a fit on the training part, makes
	// for the validation samples.
	PredictVal(sol, out []float64)
}

// Config controls Run.
type Config struct {
	Name    string    // learner name for errors and logs ("poly8 kernel")
	Grid    []float64 // relative ridges to try
	ValFrac float64   // fraction of samples (the last ones) held out; 0 only with one ridge
	Refit   bool      // refit on all samples with the chosen ridge
	Retry   Options   // zero value: DefaultOptions
	// Progress, if not nil, is called after each factorisation.
	Progress func(done, total int, msg string)
	// Logf, if not nil, receives timings and retries.
	Logf func(format string, args ...any)
}

// Info describes a fit made by Run.
type Info struct {
	NTrain, NVal int     // the split used to choose the ridge
	NFit         int     // samples in the final fit
	Trials       []Trial // one per grid value (empty without validation)
	Ridge        float64 // chosen grid value (relative)
	Effective    float64 // relative ridge of the final fit, after retries
	Retries      int     // failed factorisations of the final fit
	ValRelErr    float64 // validation MSE / Var(y_val) at the chosen ridge; NaN without validation
}

// Result is a solved ridge problem: predictions are Mean + (the learner's
// linear map applied to Solution).
type Result struct {
	Solution []float64
	Mean     float64
	Info
}

// Split returns the sizes of the training and validation parts of n
// samples, checking the fraction against the grid size.
func Split(n int, valFrac float64, gridLen int) (nTrain, nVal int, err error) {
	if gridLen == 0 {
		return 0, 0, errors.New("empty ridge grid")
	}
	if valFrac < 0 || valFrac >= 1 || math.IsNaN(valFrac) {
		return 0, 0, fmt.Errorf("validation fraction %g is not in [0, 1)", valFrac)
	}
	nVal = int(math.Round(valFrac * float64(n)))
	switch {
	case nVal == 0 && gridLen > 1:
		return 0, 0, fmt.Errorf("%d ridges to choose from but no validation samples (n = %d, fraction %g)", gridLen, n, valFrac)
	case n-nVal < 1:
		return 0, 0, fmt.Errorf("n = %d leaves no training samples after %d validation samples", n, nVal)
	}
	return n - nVal, nVal, nil
}

// Run chooses the ridge on the validation split and returns the final fit.
func Run(ctx context.Context, sys System, y []float64, cfg Config) (Result, error) {
	var res Result
	n := len(y)
	nTr, nVal, err := Split(n, cfg.ValFrac, len(cfg.Grid))
	if err != nil {
		return res, fmt.Errorf("%s: %w", cfg.Name, err)
	}
	res.NTrain, res.NVal = nTr, nVal
	retry := cfg.Retry
	if retry.Growth <= 1 {
		retry = DefaultOptions
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if retry.Logf == nil {
		retry.Logf = logf
	}
	total := 1
	if nVal > 0 {
		total += len(cfg.Grid)
	}
	step := 0
	progress := func(msg string) {
		step++
		if cfg.Progress != nil {
			cfg.Progress(step, total, msg)
		}
	}

	best := Trial{Ridge: cfg.Grid[0], Effective: cfg.Grid[0], ValErr: math.NaN()}
	res.ValRelErr = math.NaN()
	if nVal > 0 {
		t0 := time.Now()
		sym, order, err := sys.System(nTr)
		if err != nil {
			return res, fmt.Errorf("%s: %w", cfg.Name, err)
		}
		meanTr, _ := stat.PopMeanVariance(y[:nTr], nil)
		pred := make([]float64, nVal)
		valErr := func(sol []float64) (float64, error) {
			sys.PredictVal(sol, pred)
			var mse float64
			for i, p := range pred {
				r := meanTr + p - y[nTr+i]
				mse += r * r
			}
			progress("ridge")
			return mse / float64(nVal), ctx.Err()
		}
		choice, err := Select(Problem{Sym: sym, Train: order, RHS: sys.RHS(centred(y[:nTr], meanTr)), ValErr: valErr}, cfg.Grid, retry)
		if err != nil {
			return res, fmt.Errorf("%s, n = %d: %w", cfg.Name, n, err)
		}
		res.Trials = choice.Trials
		best = choice.Trials[choice.Best]
		_, varVal := stat.PopMeanVariance(y[nTr:], nil)
		res.ValRelErr = best.ValErr / varVal
		logf("%s: %d factorisations of order %d in %v; ridge %g, validation relative error %.4g",
			cfg.Name, len(cfg.Grid), order, time.Since(t0).Round(time.Millisecond), best.Ridge, res.ValRelErr)
	}
	res.Ridge = best.Ridge

	nFit := nTr
	if cfg.Refit || nVal == 0 {
		nFit = n
	}
	t1 := time.Now()
	sym, order, err := sys.System(nFit)
	if err != nil {
		return res, fmt.Errorf("%s: %w", cfg.Name, err)
	}
	used, retries, err := FactorRetry(sym, order, best.Effective, retry)
	if err != nil {
		return res, fmt.Errorf("%s, final fit on %d samples: %w", cfg.Name, nFit, err)
	}
	res.Effective, res.Retries, res.NFit = used, retries, nFit
	res.Mean, _ = stat.PopMeanVariance(y[:nFit], nil)
	res.Solution = sys.RHS(centred(y[:nFit], res.Mean))
	if err := sym.Solve(res.Solution); err != nil {
		return res, err
	}
	for _, v := range res.Solution {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return res, fmt.Errorf("%s, n = %d: solution is not finite (relative ridge %g)", cfg.Name, n, used)
		}
	}
	progress("fit")
	logf("%s: final factorisation of order %d in %v", cfg.Name, order, time.Since(t1).Round(time.Millisecond))
	return res, nil
}

func centred(y []float64, m float64) []float64 {
	out := make([]float64, len(y))
	for i, v := range y {
		out[i] = v - m
	}
	return out
}

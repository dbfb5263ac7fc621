package metrics

import (
	"fmt"
	"math"
)

// RelErr returns the relative error sum_i (pred_i - y_i)^2 / sum_i (y_i - mean(y))^2:
// the mean squared error divided by the population variance of y (1/n
// normalisation), so 1 is the error of the best constant predictor and 0
// a perfect fit. It fails on mismatched or empty inputs and on labels
// with zero variance.
func RelErr(pred, y []float64) (float64, error) {
	if len(pred) != len(y) || len(y) == 0 {
		return math.NaN(), fmt.Errorf("relative error of %d predictions for %d labels", len(pred), len(y))
	}
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var sse, sst float64
	for i, v := range y {
		sse += (pred[i] - v) * (pred[i] - v)
		sst += (v - mean) * (v - mean)
	}
	if !(sst > 0) {
		return math.NaN(), fmt.Errorf("relative error: labels have variance %g", sst/float64(len(y)))
	}
	return sse / sst, nil
}

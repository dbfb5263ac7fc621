package metrics_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/lib/metrics"
)

// A learned feature map that equals the target's up to a reflection and a
// swap of coordinates has feature error 0; halving it gives (1-1/2)^2.
func ExampleFeatureError() {
	Sstar := mat.NewDense(4, 2, []float64{1, 0, 0, 1, 1, 1, 2, -1})
	S := mat.NewDense(4, 2, []float64{0, -1, 1, 0, 1, -1, -1, -2}) // s = (s*_2, -s*_1)
	eps, U := metrics.FeatureError(S, Sstar)
	fmt.Printf("eps = %.3f\nU = %.3f\n", eps, mat.Formatted(U, mat.Prefix("    ")))
	var half mat.Dense
	half.Scale(0.5, Sstar)
	eps, _ = metrics.FeatureError(&half, Sstar)
	fmt.Printf("eps = %.3f\n", eps)
	// Output:
	// eps = 0.000
	// U = ⎡ 0.000  -1.000⎤
	//     ⎣ 1.000   0.000⎦
	// eps = 0.250
}

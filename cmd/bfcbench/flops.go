package main

import "github.com/bfc-repro/bfc/stages/lib/targetnet"

// learnerSize is one size of the learner step benchmark.
type learnerSize struct {
	Name        string // "E1" or "large", as in BenchmarkStep's names
	D, K, L     int
	M, Batch    int
	Connections string // source sets J_l (targetnet.Sources); "" is skip0
}

// torchStepFlops counts the floating-point operations of one training
// step as bench/torch_learner.py formulates it, with the convention of
// stages/lib/learner's stepFlops: 2 per multiply-add of each matrix product;
// elementwise work, the loss reduction, clipping and the optimiser are
// left out. torch_learner.py measures the same count with torch.profiler
// (its flops_per_step), and the tests check that the two agree.
//
// The script computes, for each layer l = 2..L on inputs h_l (B×P_l,
// P_l = Σ_{j∈J_l} dim ψ_j with dim ψ_0 = dim ψ_1 = d and dim ψ_j = p =
// k(k+1)/2+2 above), every product of an a×b by a b×c matrix counting
// 2abc:
//
//	forward   f_l = h_l W_lᵀ (B·P·m); below the top, S_l = h_l K_lᵀ
//	          (B·P·k) and u_l = S_l R_lᵀ (B·k·p) (the top layer's S_L
//	          feeds nothing and is not computed); the regulariser's
//	          K_lᵀK_l and W_lᵀW_l (P·P·k and P·P·m)
//	backward  dW_l = df_lᵀ h_l (B·P·m); if h_l depends on trained weights
//	          (some j ≥ 2 in J_l), dh_l = df_l W_l (B·m·P); below the top,
//	          dS_l = du_l R_l (B·p·k), dK_l = dS_lᵀ h_l (B·k·P) and, if h_l
//	          needs it, dS_l K_l (B·k·P); the regulariser's gradients, two
//	          products per Gram factor (2·P·P·(k+m))
//
// It does not use the Gram form |W h|² = hᵀ(WᵀW)h of the Go learner, so
// for wide heads (m ≫ P) it does far more work per sample.
func torchStepFlops(s learnerSize) float64 {
	B, k, m, d := float64(s.Batch), float64(s.K), float64(s.M), float64(s.D)
	p := float64(s.K*(s.K+1)/2 + 2)
	conn := s.Connections
	if conn == "" {
		conn = targetnet.Skip0
	}
	var f float64
	for l := 2; l <= s.L; l++ {
		var P float64
		gradH := false
		for _, j := range targetnet.Sources(conn, l) {
			if j <= 1 {
				P += d
			} else {
				P += p
				gradH = true
			}
		}
		f += 2 * B * P * m       // f_l
		f += 2 * B * P * m       // dW_l
		f += 6 * P * P * (k + m) // K_lᵀK_l, W_lᵀW_l and their gradients
		if gradH {
			f += 2 * B * m * P // dh_l through f_l
		}
		if l < s.L {
			f += 2*B*P*k + 2*B*k*p // S_l, u_l
			f += 2*B*p*k + 2*B*k*P // dS_l, dK_l
			if gradH {
				f += 2 * B * k * P // dh_l through S_l
			}
		}
	}
	return f
}

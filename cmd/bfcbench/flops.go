package main

// learnerSize is one size of the learner step benchmark.
type learnerSize struct {
	Name     string // "E1" or "large", as in BenchmarkStep's names
	D, K, L  int
	M, Batch int
}

// torchStepFlops counts the floating-point operations of one training
// step as ../shared/peers/torch_learner.py formulates it, with the
// convention of stages/lib/learner's stepFlops: 2 per multiply-add of each
// matrix product, elementwise work, the loss reduction, clipping and the
// optimiser left out.
//
// The peer computes, for each output layer l = 0..L-2 (the paper's layers
// 2..L) on inputs h_l (B×P_l, P_0 = 2d, P_l = p+d with p = k(k+1)/2+2):
//
//	forward   s_l = h_l K_lᵀ (B·P·k), f_l = h_l W_lᵀ (B·P·m), for l > 0
//	          z = s_{l-1} R_{l-1}ᵀ (B·k·p), and the regulariser
//	          K_lᵀK_l and W_lᵀW_l (P·P·k and P·P·m)
//	backward  dW_l = df_lᵀ h_l (B·P·m); dK_l = ds_lᵀ h_l (B·P·k) unless
//	          s_l feeds nothing (the top layer); for l > 0 the input
//	          gradient dh_l = df_l W_l (B·m·P), plus ds_l K_l (B·k·P) below
//	          the top, and ds_{l-1} = dz R (B·p·k); the regulariser's
//	          gradients, two products of each Gram factor (2·P·P·(k+m))
//
// where every product of an a×b by a b×c matrix counts 2abc. It does not
// use the Gram trick |W h|² = hᵀ(WᵀW)h of the Go learner, so for wide
// heads (m ≫ P) it does far more work per sample.
func torchStepFlops(s learnerSize) float64 {
	B, k, m := float64(s.Batch), float64(s.K), float64(s.M)
	p := float64(s.K*(s.K+1)/2 + 2)
	var f float64
	for l := 0; l <= s.L-2; l++ {
		P := p + float64(s.D)
		if l == 0 {
			P = 2 * float64(s.D)
		}
		top := l == s.L-2
		f += 2*B*P*k + 2*B*P*m   // s_l, f_l
		f += 2 * P * P * (k + m) // K^T K, W^T W
		f += 2 * B * P * m       // dW_l
		f += 4 * P * P * (k + m) // regulariser gradients
		if !top {
			f += 2 * B * P * k // dK_l
		}
		if l > 0 {
			f += 2 * B * k * p // z
			f += 2 * B * m * P // dh_l through f_l
			f += 2 * B * p * k // ds_{l-1} through z
			if !top {
				f += 2 * B * k * P // dh_l through s_l
			}
		}
	}
	return f
}

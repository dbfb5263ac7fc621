package learner

import (
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/bfc-repro/bfc/stages/lib/optim"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

// ChunkRows is the number of samples in one unit of parallel work. Partial
// sums are formed per chunk and added in chunk order, so changing it
// changes results in the last bits; it is therefore a constant.
const ChunkRows = 64

// scratch holds one goroutine's chunk matrices, stored transposed: a
// quantity with c components over the nr rows of a chunk is a c x nr
// row-major matrix (stride nr), so that the matrix products run along
// the samples in long vectors. Entries indexed by layer start at l = 2.
type scratch struct {
	x    []float64   // inputs, D x nr
	s1   []float64   // sigma1(x), D x nr
	h    [][]float64 // h_l, P_l x nr
	s    [][]float64 // S_l, K x nr
	u    [][]float64 // R_j S_j before clipping, P x nr (j >= 2)
	psi  [][]float64 // psi_j = clip(u_j)^2, P x nr
	v    [][]float64 // A_l h_l (or U_l h_l), P_l x nr
	gh   [][]float64 // dloss/dh_l, P_l x nr; also sqrt|g| h_l for C_l
	gs   [][]float64 // dloss/dS_l, K x nr
	gpsi [][]float64 // dloss/dpsi_j, then dloss/du_j, P x nr
	g    []float64   // G(x) per row, then dloss/dG
	q    []float64   // h_l^T A_l h_l per row
	col  []int       // packed column of each row for the rank updates
}

// partial holds one chunk's sums.
type partial struct {
	C, gK               [][]float64 // sum_i g_i h_i h_i^T (upper triangle), sum_i gS_i h_i^T
	gb, loss, mse       float64
	clipFeat, clipResid int
}

// Workspace holds every buffer that training and evaluation need, so that
// steps do not allocate. A Workspace belongs to one network shape and must
// not be used by two goroutines at once.
type Workspace struct {
	cfg     Config
	in      []int
	threads int
	scr     []*scratch
	part    []*partial

	A, D, M [][]float64 // per layer, P_l x P_l
	U       [][]float64 // upper triangle of A_l with halved diagonal
	WT      [][]float64 // W_l^T, P_l x m
	C       [][]float64 // reduced sum g h h^T
	// GK, GW and GB are the gradients of the last LossGrad call (zero for
	// layers that were not trainable).
	GK, GW [][]float64
	GB     []float64
	blocks []optim.Block
	errs   []error
	train  trainJob
}

// NewWorkspace allocates buffers for networks shaped like n, to be used
// with up to threads goroutines (values below 1 mean 1). The number of
// threads never changes results.
func NewWorkspace(n *Net, threads int) *Workspace {
	c := n.Cfg
	ws := &Workspace{cfg: c, in: n.in, GB: make([]float64, 1)}
	L := c.L
	sq := func() [][]float64 {
		out := make([][]float64, L+1)
		for l := 2; l <= L; l++ {
			out[l] = make([]float64, n.in[l]*n.in[l])
		}
		return out
	}
	ws.A, ws.D, ws.M, ws.C, ws.U = sq(), sq(), sq(), sq(), sq()
	ws.GK, ws.GW, ws.WT = make([][]float64, L+1), make([][]float64, L+1), make([][]float64, L+1)
	for l := 2; l <= L; l++ {
		ws.WT[l] = make([]float64, len(n.W[l]))
		ws.GK[l] = make([]float64, len(n.K[l]))
		ws.GW[l] = make([]float64, len(n.W[l]))
	}
	ws.SetThreads(threads)
	return ws
}

// SetThreads sets the number of goroutines used by later calls.
func (ws *Workspace) SetThreads(threads int) {
	ws.threads = max(1, threads)
	for len(ws.scr) < ws.threads {
		ws.scr = append(ws.scr, ws.newScratch())
	}
}

func (ws *Workspace) newScratch() *scratch {
	c, L := &ws.cfg, ws.cfg.L
	mats := func(cols func(l int) int) [][]float64 {
		out := make([][]float64, L+1)
		for l := 2; l <= L; l++ {
			out[l] = make([]float64, ChunkRows*cols(l))
		}
		return out
	}
	inDim := func(l int) int { return ws.in[l] }
	kDim := func(int) int { return c.K }
	pDim := func(int) int { return c.P }
	return &scratch{x: make([]float64, ChunkRows*c.D), s1: make([]float64, ChunkRows*c.D), h: mats(inDim), s: mats(kDim),
		u: mats(pDim), psi: mats(pDim), v: mats(inDim), gh: mats(inDim), gs: mats(kDim), gpsi: mats(pDim),
		g: make([]float64, ChunkRows), q: make([]float64, ChunkRows), col: make([]int, ChunkRows)}
}

func (ws *Workspace) partials(n int) []*partial {
	for len(ws.part) < n {
		p := &partial{C: make([][]float64, ws.cfg.L+1), gK: make([][]float64, ws.cfg.L+1)}
		for l := 2; l <= ws.cfg.L; l++ {
			p.C[l] = make([]float64, ws.in[l]*ws.in[l])
			p.gK[l] = make([]float64, ws.cfg.K*ws.in[l])
		}
		ws.part = append(ws.part, p)
	}
	return ws.part[:n]
}

// chunker is a unit of parallel work split into chunks. Jobs are passed
// as pointers to structs kept in the Workspace, so that a step does not
// allocate a closure.
type chunker interface {
	chunk(c int, sc *scratch) error
}

// parallel runs job.chunk(c, scratch) for every chunk c in [0, nChunks) on up
// to ws.threads goroutines and returns the error of the lowest failing chunk.
func (ws *Workspace) parallel(nChunks int, job chunker) error {
	T := min(ws.threads, nChunks)
	if cap(ws.errs) < nChunks {
		ws.errs = make([]error, nChunks)
	}
	errs := ws.errs[:nChunks]
	clear(errs)
	if T <= 1 {
		for c := range nChunks {
			if err := job.chunk(c, ws.scr[0]); err != nil {
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	for t := range T {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			for c := t; c < nChunks; c += T {
				errs[c] = job.chunk(c, ws.scr[t])
			}
		}(t)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// check reports whether ws was made for networks shaped like n.
func (ws *Workspace) check(n *Net) error {
	a, b := ws.cfg, n.Cfg
	if a.D != b.D || a.K != b.K || a.L != b.L || a.M != b.M || a.P != b.P || a.Connections != b.Connections {
		return fmt.Errorf("learner: workspace for d=%d k=%d L=%d m=%d p=%d %s used with d=%d k=%d L=%d m=%d p=%d %s",
			a.D, a.K, a.L, a.M, a.P, a.Connections, b.D, b.K, b.L, b.M, b.P, b.Connections)
	}
	return nil
}

// gram sets ws.A[l] = W_l^T W_l (full symmetric matrix) and ws.U[l] to
// its upper triangle with the diagonal halved, so that h^T A h = 2 h^T U h.
func (n *Net) gram(ws *Workspace, l int) {
	P, m := n.in[l], n.Cfg.M
	a, u, wt := ws.A[l], ws.U[l], ws.WT[l]
	// Transposed first, so that the products run along rows of length m.
	for i := range m {
		for c, w := range n.W[l][i*P : (i+1)*P] {
			wt[c*m+i] = w
		}
	}
	blas64.Syrk(blas.NoTrans, 1, blas64.General{Rows: P, Cols: m, Stride: m, Data: wt},
		0, blas64.Symmetric{Uplo: blas.Upper, N: P, Stride: P, Data: a})
	mirror(a, P)
	clear(u)
	for r := range P {
		copy(u[r*P+r:(r+1)*P], a[r*P+r:(r+1)*P])
		u[r*P+r] /= 2
	}
}

// mirror copies the upper triangle of the P x P matrix a to its lower triangle.
func mirror(a []float64, P int) {
	for r := 1; r < P; r++ {
		for c := range r {
			a[r*P+c] = a[c*P+r]
		}
	}
}

// gemm sets c = a b + beta c for row-major a (m x k, or k x m if ta),
// b (k x n, or n x k if tb) and c (m x n), all contiguous.
func gemm(ta, tb bool, m, n, k int, a, b []float64, beta float64, c []float64) {
	A := blas64.General{Rows: m, Cols: k, Stride: k, Data: a}
	tA := blas.NoTrans
	if ta {
		A, tA = blas64.General{Rows: k, Cols: m, Stride: m, Data: a}, blas.Trans
	}
	B := blas64.General{Rows: k, Cols: n, Stride: n, Data: b}
	tB := blas.NoTrans
	if tb {
		B, tB = blas64.General{Rows: n, Cols: k, Stride: k, Data: b}, blas.Trans
	}
	blas64.Gemm(tA, tB, 1, A, B, beta, blas64.General{Rows: m, Cols: n, Stride: n, Data: c})
}

// forward runs the nr inputs in sc.x (D x nr) through the network: h_l and
// S_l for l = 2..upTo, psi_j for the layers below upTo, and, for the
// active layers, G(x) = b + sum_l alpha_l h_l^T A_l h_l into sc.g, keeping
// v_l = A_l h_l where the backward pass needs it (above the lowest
// trainable layer). It returns the number of clipped feature entries.
func (n *Net) forward(sc *scratch, A, U [][]float64, nr, upTo int, m *Mask) (clipped int) {
	c := &n.Cfg
	d, k, p, clip := c.D, c.K, c.P, c.FeatureClip
	for i, xi := range sc.x[:d*nr] {
		sc.s1[i] = targetnet.Sigma1(xi, c.Center1)
	}
	g, q := sc.g[:nr], sc.q[:nr]
	for r := range g {
		g[r] = n.B[0]
	}
	for l := 2; l <= upTo; l++ {
		P := n.in[l]
		h := sc.h[l][:P*nr]
		off := 0
		for _, j := range n.src[l] {
			src, w := sc.x, d
			switch {
			case j == 1:
				src = sc.s1
			case j >= 2:
				src, w = sc.psi[j], p
			}
			off += copy(h[off:], src[:w*nr])
		}
		s := sc.s[l][:k*nr]
		gemm(false, false, k, nr, P, n.K[l], h, 0, s) // S_l = K_l h_l
		if l < upTo {
			u, psi := sc.u[l][:p*nr], sc.psi[l][:p*nr]
			gemm(false, false, p, nr, k, n.R[l], s, 0, u) // u_l = R_l S_l
			for i, z := range u {
				if clip > 0 && math.Abs(z) > clip {
					z = math.Copysign(clip, z)
					clipped++
				}
				psi[i] = z * z
			}
		}
		if !m.Active[l] {
			continue
		}
		v := sc.v[l][:P*nr]
		al := c.Alpha[l]
		if l > m.lowT {
			gemm(false, false, P, nr, P, A[l], h, 0, v) // v_l = A_l h_l, needed by backward
		} else {
			// Only h^T A h is needed: with U_l the upper triangle of A_l
			// with halved diagonal, h^T A h = 2 h^T U_l h, at half the cost.
			copy(v, h)
			blas64.Trmm(blas.Left, blas.NoTrans, 1, blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: P, Stride: P, Data: U[l]},
				blas64.General{Rows: P, Cols: nr, Stride: nr, Data: v})
			al *= 2
		}
		clear(q)
		for a := range P {
			hr, vr := h[a*nr:(a+1)*nr], v[a*nr:(a+1)*nr]
			for r := range q {
				q[r] += hr[r] * vr[r]
			}
		}
		for r := range g {
			g[r] += al * q[r]
		}
	}
	return clipped
}

// backward adds the chunk's gradient contributions to pt, given sc.g =
// dloss/dG per row and the matrices filled by forward.
func (n *Net) backward(sc *scratch, pt *partial, nr int, m *Mask) {
	c := &n.Cfg
	k, p, clip := c.K, c.P, c.FeatureClip
	g := sc.g[:nr]
	for j := m.lowT; j < m.top; j++ {
		clear(sc.gpsi[j][:p*nr])
	}
	// The rank updates for C_l take the rows with g > 0 packed from the
	// left, those with g < 0 packed from the right.
	pos, neg := 0, nr
	for r, gr := range g {
		switch {
		case gr > 0:
			sc.col[r] = pos
			pos++
		case gr < 0:
			neg--
			sc.col[r] = neg
		default:
			sc.col[r] = -1
		}
	}
	for l := m.top; l >= m.lowT; l-- {
		P := n.in[l]
		h, gh, gs := sc.h[l][:P*nr], sc.gh[l][:P*nr], sc.gs[l][:k*nr]
		hasGS := l < m.top
		if hasGS {
			// dloss/du_l = 2 u_l * dloss/dpsi_l (zero where clipped), then
			// dloss/dS_l = R_l^T dloss/du_l.
			u, gu := sc.u[l][:p*nr], sc.gpsi[l][:p*nr]
			for i, z := range u {
				if clip > 0 && math.Abs(z) > clip {
					gu[i] = 0
				} else {
					gu[i] *= 2 * z
				}
			}
			gemm(true, false, k, nr, p, n.R[l], gu, 0, gs)
		}
		if m.Trainable[l] {
			if hasGS {
				gemm(false, true, k, P, nr, gs, h, 1, pt.gK[l]) // gK_l += gS_l h_l^T
			}
			// C_l += sum_r g_r h_r h_r^T (upper triangle) as two symmetric
			// rank updates: sqrt(g) h for g > 0, minus sqrt(-g) h for g < 0.
			if pos < neg {
				clear(gh) // rows with g = 0 leave holes
			}
			for r, gr := range g {
				cr := sc.col[r]
				if cr < 0 {
					continue
				}
				f := math.Sqrt(math.Abs(gr))
				for a := range P {
					gh[a*nr+cr] = f * h[a*nr+r]
				}
			}
			C := blas64.Symmetric{Uplo: blas.Upper, N: P, Stride: P, Data: pt.C[l]}
			if pos > 0 {
				blas64.Syrk(blas.NoTrans, 1, blas64.General{Rows: P, Cols: pos, Stride: nr, Data: gh}, 1, C)
			}
			if neg < nr {
				blas64.Syrk(blas.NoTrans, -1, blas64.General{Rows: P, Cols: nr - neg, Stride: nr, Data: gh[neg:]}, 1, C)
			}
		}
		if l <= m.lowT {
			continue
		}
		// dloss/dh_l = 2 alpha_l v_l diag(g) + K_l^T dloss/dS_l, then its
		// row blocks for the psi_j that h_l reads.
		if m.Active[l] {
			f := 2 * c.Alpha[l]
			v := sc.v[l][:P*nr]
			for a := range P {
				va, ga := v[a*nr:(a+1)*nr], gh[a*nr:(a+1)*nr]
				for r, gr := range g {
					ga[r] = f * gr * va[r]
				}
			}
		} else {
			clear(gh)
		}
		if hasGS {
			gemm(true, false, P, nr, k, n.K[l], gs, 1, gh)
		}
		off := 0
		for _, j := range n.src[l] {
			w := c.psiDim(j)
			if j >= m.lowT {
				addTo(sc.gpsi[j][:p*nr], gh[off*nr:(off+w)*nr])
			}
			off += w
		}
	}
}

// trainJob is the per-chunk forward and backward pass of LossGrad.
type trainJob struct {
	n    *Net
	ws   *Workspace
	x, y []float64
	rows []int
	m    Mask
	invB float64
}

func (j *trainJob) chunk(ci int, sc *scratch) error {
	n, c, m := j.n, &j.n.Cfg, &j.m
	pt := j.ws.part[ci]
	for l := 2; l <= c.L; l++ {
		if m.Trainable[l] {
			clear(pt.C[l])
			clear(pt.gK[l])
		}
	}
	pt.gb, pt.loss, pt.mse, pt.clipFeat, pt.clipResid = 0, 0, 0, 0, 0
	rows := j.rows[ci*ChunkRows : min(len(j.rows), (ci+1)*ChunkRows)]
	d, nr := c.D, len(rows)
	for r, i := range rows {
		for a, v := range j.x[i*d : (i+1)*d] {
			sc.x[a*nr+r] = v
		}
	}
	pt.clipFeat = n.forward(sc, j.ws.A, j.ws.U, nr, m.top, m)
	rc := c.ResidualClip
	for r, i := range rows {
		res := sc.g[r] - j.y[i]
		pt.mse += res * res
		gr := 2 * res
		if rc > 0 && math.Abs(res) > rc {
			pt.loss += 2*rc*math.Abs(res) - rc*rc
			gr = 2 * math.Copysign(rc, res)
			pt.clipResid++
		} else {
			pt.loss += res * res
		}
		sc.g[r] = gr * j.invB
		pt.gb += sc.g[r]
	}
	n.backward(sc, pt, nr, m)
	return nil
}

// evalJob is the per-chunk forward pass of Eval.
type evalJob struct {
	n     *Net
	ws    *Workspace
	x     []float64
	m     Mask
	upTo  int
	pred  []float64
	feats [][]float64
	clips []int
}

func (j *evalJob) chunk(ci int, sc *scratch) error {
	n, c := j.n, &j.n.Cfg
	lo, hi := ci*ChunkRows, min(len(j.pred), (ci+1)*ChunkRows)
	nr, d, k := hi-lo, c.D, c.K
	for r := range nr {
		for a, v := range j.x[(lo+r)*d : (lo+r+1)*d] {
			sc.x[a*nr+r] = v
		}
	}
	j.clips[ci] = n.forward(sc, j.ws.A, j.ws.U, nr, j.upTo, &j.m)
	copy(j.pred[lo:hi], sc.g[:nr])
	if j.feats != nil {
		for l := 2; l <= c.L; l++ {
			s, f := sc.s[l], j.feats[l][lo*k:hi*k]
			for r := range nr {
				for a := range k {
					f[r*k+a] = s[a*nr+r]
				}
			}
		}
	}
	return nil
}

// Stats summarises one LossGrad call.
type Stats struct {
	Loss             float64 // the full objective
	MSE              float64 // mean squared residual (without clipping)
	Reg              float64 // lambda_KW sum ||K^T K - W^T W||_F^2 over active layers
	Decay            float64 // wd sum (||K||^2 + ||W||^2) over active layers
	ClippedFeatures  int     // feature entries clipped (FeatureClip > 0)
	ClippedResiduals int     // residuals beyond ResidualClip
}

// LossGrad evaluates the loss on the minibatch rows of the data set
// (x: N x D row-major, y: N labels) and leaves the gradients of the
// trainable blocks in ws.GK, ws.GW and ws.GB (the gradients of the other
// blocks are zero). It fails if the loss or a gradient is not finite.
func (n *Net) LossGrad(ws *Workspace, x, y []float64, rows []int, m Mask) (Stats, error) {
	c := &n.Cfg
	B := len(rows)
	if B == 0 {
		return Stats{}, fmt.Errorf("learner: empty minibatch")
	}
	if err := ws.check(n); err != nil {
		return Stats{}, err
	}
	if len(x) != len(y)*c.D {
		return Stats{}, fmt.Errorf("learner: %d input values for %d labels of dimension %d", len(x), len(y), c.D)
	}
	for _, i := range rows {
		if i < 0 || i >= len(y) {
			return Stats{}, fmt.Errorf("learner: minibatch row %d outside the %d samples", i, len(y))
		}
	}
	for l := 2; l <= c.L; l++ {
		if m.Active[l] {
			n.gram(ws, l)
		}
	}
	nc := (B + ChunkRows - 1) / ChunkRows
	parts := ws.partials(nc)
	invB := 1 / float64(B)
	ws.train = trainJob{n: n, ws: ws, x: x, y: y, rows: rows, m: m, invB: invB}
	err := ws.parallel(nc, &ws.train)
	ws.train = trainJob{} // drop references to the data
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	ws.GB[0] = 0
	for _, pt := range parts {
		st.Loss += pt.loss
		st.MSE += pt.mse
		ws.GB[0] += pt.gb
		st.ClippedFeatures += pt.clipFeat
		st.ClippedResiduals += pt.clipResid
	}
	st.Loss *= invB
	st.MSE *= invB
	lam, wd := c.LambdaKW, c.WeightDecay
	for l := 2; l <= c.L; l++ {
		clear(ws.GK[l])
		clear(ws.GW[l])
		if !m.Active[l] {
			continue
		}
		P := n.in[l]
		// D_l = K_l^T K_l - A_l.
		D, A, K, W := ws.D[l], ws.A[l], n.K[l], n.W[l]
		for i := range D {
			D[i] = -A[i]
		}
		for r := range c.K {
			kr := K[r*P : (r+1)*P]
			for i, ki := range kr {
				axpy(ki, kr, D[i*P:(i+1)*P])
			}
		}
		st.Reg += lam * dot(D, D)
		st.Decay += wd * (dot(K, K) + dot(W, W))
		if !m.Trainable[l] {
			continue
		}
		C := ws.C[l]
		copy(C, parts[0].C[l])
		for _, pt := range parts[1:] {
			addTo(C, pt.C[l])
		}
		mirror(C, P)
		gK := ws.GK[l]
		for _, pt := range parts {
			addTo(gK, pt.gK[l])
		}
		// GW = W (2 alpha C - 4 lambda D + 2 wd I).
		M := ws.M[l]
		f := 2 * c.Alpha[l]
		for i := range M {
			M[i] = f*C[i] - 4*lam*D[i]
		}
		for i := range P {
			M[i*P+i] += 2 * wd
		}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, blas64.General{Rows: c.M, Cols: P, Stride: P, Data: W},
			blas64.General{Rows: P, Cols: P, Stride: P, Data: M}, 0, blas64.General{Rows: c.M, Cols: P, Stride: P, Data: ws.GW[l]})
		// GK += K (4 lambda D + 2 wd I).
		for r := range c.K {
			kr, gr := K[r*P:(r+1)*P], gK[r*P:(r+1)*P]
			for i, ki := range kr {
				axpy(4*lam*ki, D[i*P:(i+1)*P], gr)
				gr[i] += 2 * wd * ki
			}
		}
	}
	st.Loss += st.Reg + st.Decay
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		return st, fmt.Errorf("learner: loss is %v (mse %v, regulariser %v)", st.Loss, st.MSE, st.Reg)
	}
	return st, nil
}

// Eval computes G(x) with the active layers' heads into pred (len N) for
// the N rows of x (N x D row-major) and, if feats is not nil, the features
// S_l of every layer l = 2..L into feats[l] (N x k row-major). It returns
// the number of clipped feature entries.
func (n *Net) Eval(ws *Workspace, x []float64, m Mask, pred []float64, feats [][]float64) (int, error) {
	c := &n.Cfg
	N := len(pred)
	if err := ws.check(n); err != nil {
		return 0, err
	}
	if len(x) != N*c.D {
		return 0, fmt.Errorf("learner: eval: %d inputs of dimension %d but %d outputs", len(x)/c.D, c.D, N)
	}
	for l := 2; l <= c.L; l++ {
		if m.Active[l] {
			n.gram(ws, l)
		}
	}
	upTo := m.top
	if feats != nil {
		upTo = c.L
	}
	nc := (N + ChunkRows - 1) / ChunkRows
	clips := make([]int, nc)
	err := ws.parallel(nc, &evalJob{n: n, ws: ws, x: x, m: m, upTo: upTo, pred: pred, feats: feats, clips: clips})
	total := 0
	for _, v := range clips {
		total += v
	}
	return total, err
}

// Blocks returns the optimiser blocks of n (K_l and W_l for l = 2..L, named
// "K2", "W2", ..., then the bias "b") with the gradients of ws; blocks of
// layers that m does not train are frozen. scale[l], if scale is not nil,
// multiplies layer l's learning rate. The returned slice is reused by the
// next call.
func (ws *Workspace) Blocks(n *Net, m Mask, scale []float64) []optim.Block {
	if ws.blocks == nil {
		for l := 2; l <= n.Cfg.L; l++ {
			ws.blocks = append(ws.blocks, optim.Block{Name: fmt.Sprintf("K%d", l)}, optim.Block{Name: fmt.Sprintf("W%d", l)})
		}
		ws.blocks = append(ws.blocks, optim.Block{Name: "b"})
	}
	for l := 2; l <= n.Cfg.L; l++ {
		s := 1.0
		if scale != nil {
			s = scale[l]
		}
		bk, bw := &ws.blocks[2*(l-2)], &ws.blocks[2*(l-2)+1]
		bk.W, bk.G, bk.LRScale, bk.Frozen = n.K[l], ws.GK[l], s, !m.Trainable[l]
		bw.W, bw.G, bw.LRScale, bw.Frozen = n.W[l], ws.GW[l], s, !m.Trainable[l]
	}
	bb := &ws.blocks[len(ws.blocks)-1]
	bb.W, bb.G, bb.LRScale, bb.Frozen = n.B, ws.GB, 1, false
	return ws.blocks
}

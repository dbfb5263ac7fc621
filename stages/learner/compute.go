package learner

import (
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/bfc-repro/bfc/stages/optim"
	"github.com/bfc-repro/bfc/stages/target"
)

// ChunkRows is the number of samples in one unit of parallel work. Partial
// sums are formed per chunk and added in chunk order, so changing it
// changes results in the last bits; it is therefore a constant.
const ChunkRows = 64

// scratch holds the per-sample vectors of one goroutine.
type scratch struct {
	s1   []float64   // sigma1(x)
	h    [][]float64 // h[l], l >= 2
	s    [][]float64 // S_l
	u    [][]float64 // R_j S_j before clipping, j >= 2
	psi  [][]float64 // psi_j = clip(u_j)^2, j >= 2
	v    [][]float64 // A_l h_l
	gh   [][]float64 // dloss/dh_l
	gs   [][]float64 // dloss/dS_l
	gpsi [][]float64 // dloss/dpsi_j
}

// partial holds one chunk's sums.
type partial struct {
	C, gK               [][]float64 // sum g h h^T (upper triangle), sum gS h^T
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
	ws.A, ws.D, ws.M, ws.C = sq(), sq(), sq(), sq()
	ws.GK, ws.GW = make([][]float64, L+1), make([][]float64, L+1)
	for l := 2; l <= L; l++ {
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
	vecs := func(dim func(l int) int) [][]float64 {
		out := make([][]float64, L+1)
		for l := 2; l <= L; l++ {
			out[l] = make([]float64, dim(l))
		}
		return out
	}
	inDim := func(l int) int { return ws.in[l] }
	kDim := func(int) int { return c.K }
	pDim := func(int) int { return c.P }
	return &scratch{s1: make([]float64, c.D), h: vecs(inDim), s: vecs(kDim), u: vecs(pDim), psi: vecs(pDim),
		v: vecs(inDim), gh: vecs(inDim), gs: vecs(kDim), gpsi: vecs(pDim)}
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

// gram sets ws.A[l] = W_l^T W_l (full symmetric matrix).
func (n *Net) gram(ws *Workspace, l int) {
	P := n.in[l]
	a := ws.A[l]
	blas64.Syrk(blas.Trans, 1, blas64.General{Rows: n.Cfg.M, Cols: P, Stride: P, Data: n.W[l]},
		0, blas64.Symmetric{Uplo: blas.Upper, N: P, Stride: P, Data: a})
	mirror(a, P)
}

// mirror copies the upper triangle of the P x P matrix a to its lower triangle.
func mirror(a []float64, P int) {
	for r := 1; r < P; r++ {
		for c := range r {
			a[r*P+c] = a[c*P+r]
		}
	}
}

// forward computes, for one input x, h_l and S_l for l = 2..upTo, psi_j
// for the layers below upTo, and the head terms q_l = h_l^T A_l h_l of the
// active layers (with v_l = A_l h_l where the backward pass needs it, i.e.
// above the lowest trainable layer). It returns G(x) and the number of
// clipped feature entries.
func (n *Net) forward(sc *scratch, A [][]float64, x []float64, upTo int, m *Mask) (g float64, clipped int) {
	c := &n.Cfg
	k, clip := c.K, c.FeatureClip
	for i, xi := range x {
		sc.s1[i] = target.Sigma1(xi, c.Center1)
	}
	g = n.B[0]
	for l := 2; l <= upTo; l++ {
		h := sc.h[l]
		off := 0
		for _, j := range n.src[l] {
			var src []float64
			switch j {
			case 0:
				src = x
			case 1:
				src = sc.s1
			default:
				src = sc.psi[j]
			}
			off += copy(h[off:], src)
		}
		// S_l = K_l h_l.
		P := n.in[l]
		s := sc.s[l]
		K := n.K[l]
		for r := range k {
			s[r] = dot(K[r*P:(r+1)*P], h)
		}
		// psi_l = clip(R_l S_l)^2 feeds the layers above.
		if l < upTo {
			R, u, psi := n.R[l], sc.u[l], sc.psi[l]
			for i := range u {
				row := R[i*k : (i+1)*k]
				var z float64
				for r, sr := range s {
					z += row[r] * sr
				}
				u[i] = z
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
		var q float64
		if l > m.lowT {
			v := sc.v[l]
			a := A[l]
			for r := range P {
				v[r] = dot(a[r*P:(r+1)*P], h)
			}
			q = dot(h, v)
		} else {
			q = quadForm(A[l], h)
		}
		g += c.Alpha[l] * q
	}
	return g, clipped
}

// backward adds one sample's gradient contributions to pt, given
// gG = dloss/dG for the sample and the buffers filled by forward.
func (n *Net) backward(sc *scratch, pt *partial, gG float64, m *Mask) {
	c := &n.Cfg
	k, clip := c.K, c.FeatureClip
	for j := m.lowT; j < m.top; j++ {
		clear(sc.gpsi[j])
	}
	for l := m.top; l >= m.lowT; l-- {
		P := n.in[l]
		h := sc.h[l]
		gs := sc.gs[l]
		hasGS := l < m.top
		if hasGS {
			// gS_l = R_l^T (2 u_l * gpsi_l), zero where u_l was clipped.
			clear(gs)
			R, u, gpsi := n.R[l], sc.u[l], sc.gpsi[l]
			for i, gp := range gpsi {
				z := u[i]
				if clip > 0 && math.Abs(z) > clip {
					continue
				}
				t := 2 * z * gp
				row := R[i*k : (i+1)*k]
				for r := range gs {
					gs[r] += row[r] * t
				}
			}
		}
		if m.Trainable[l] {
			if hasGS {
				gK := pt.gK[l]
				for r, gr := range gs {
					axpy(gr, h, gK[r*P:(r+1)*P])
				}
			}
			// C_l += gG h h^T, upper triangle.
			C := pt.C[l]
			for r := range P {
				axpy(gG*h[r], h[r:], C[r*P+r:(r+1)*P])
			}
		}
		if l <= m.lowT {
			continue
		}
		// dloss/dh_l, then its slices for the psi_j it reads.
		gh := sc.gh[l]
		if m.Active[l] {
			f := 2 * c.Alpha[l] * gG
			for i, vi := range sc.v[l] {
				gh[i] = f * vi
			}
		} else {
			clear(gh)
		}
		if hasGS {
			K := n.K[l]
			for r, gr := range gs {
				axpy(gr, K[r*P:(r+1)*P], gh)
			}
		}
		off := 0
		for _, j := range n.src[l] {
			d := c.psiDim(j)
			if j >= m.lowT {
				gp := sc.gpsi[j]
				for i := range gp {
					gp[i] += gh[off+i]
				}
			}
			off += d
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
	rc, d := c.ResidualClip, c.D
	for _, i := range j.rows[ci*ChunkRows : min(len(j.rows), (ci+1)*ChunkRows)] {
		g, cl := n.forward(sc, j.ws.A, j.x[i*d:(i+1)*d], m.top, m)
		pt.clipFeat += cl
		r := g - j.y[i]
		pt.mse += r * r
		gr := 2 * r
		if rc > 0 && math.Abs(r) > rc {
			pt.loss += 2*rc*math.Abs(r) - rc*rc
			gr = 2 * math.Copysign(rc, r)
			pt.clipResid++
		} else {
			pt.loss += r * r
		}
		gG := gr * j.invB
		pt.gb += gG
		n.backward(sc, pt, gG, m)
	}
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
	for i := ci * ChunkRows; i < min(len(j.pred), (ci+1)*ChunkRows); i++ {
		g, cl := n.forward(sc, j.ws.A, j.x[i*c.D:(i+1)*c.D], j.upTo, &j.m)
		j.clips[ci] += cl
		j.pred[i] = g
		if j.feats != nil {
			for l := 2; l <= c.L; l++ {
				copy(j.feats[l][i*c.K:(i+1)*c.K], sc.s[l])
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
	if len(x) != N*c.D {
		return 0, fmt.Errorf("learner: eval: %d inputs of dimension %d but %d outputs", len(x)/c.D, c.D, N)
	}
	for l := 2; l <= c.L; l++ {
		if m.Active[l] {
			n.gram(ws, l)
		}
	}
	em := m
	em.lowT = c.L + 1 // no backward pass: quadratic forms only
	upTo := m.top
	if feats != nil {
		upTo = c.L
	}
	nc := (N + ChunkRows - 1) / ChunkRows
	clips := make([]int, nc)
	err := ws.parallel(nc, &evalJob{n: n, ws: ws, x: x, m: em, upTo: upTo, pred: pred, feats: feats, clips: clips})
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

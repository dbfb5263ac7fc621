package spectrum

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mat"

	"github.com/bfc-repro/bfc/stages/kinds/target"
	"github.com/bfc-repro/bfc/stages/kit"
	"github.com/bfc-repro/bfc/stages/kit/kittest"
	"github.com/bfc-repro/bfc/stages/lib/hermite"
	"github.com/bfc-repro/bfc/stages/lib/targetnet"
)

func factorial(n int) float64 {
	f := 1.0
	for i := 2; i <= n; i++ {
		f *= float64(i)
	}
	return f
}

func binom(n, k int) float64 { return factorial(n) / (factorial(k) * factorial(n-k)) }

func closeRel(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// TestClosedForm: the degrees table of functions whose spectrum is known
// in closed form. He_n(x_0) carries n! at degree n; He_m(x_0) He_n(x_1)
// carries m! n! at degree m+n; He_m(x_0) He_n(x_0) = Σ_k C(m,k) C(n,k) k!
// He_{m+n−2k}(x_0) carries (C(m,k) C(n,k) k!)² (m+n−2k)! at degree m+n−2k.
func TestClosedForm(t *testing.T) {
	sp, err := hermite.NewSpace(2, 8)
	if err != nil {
		t.Fatal(err)
	}
	he := func(i, n int) hermite.Poly {
		p, err := sp.He(i, n)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	type tc struct {
		name string
		p    hermite.Poly
		want []float64 // ‖P_q‖² for q = 0..8 (q = 0: mean²)
	}
	var cases []tc
	for n := 1; n <= 8; n++ {
		want := make([]float64, 9)
		want[n] = factorial(n)
		cases = append(cases, tc{fmt.Sprintf("He_%d", n), he(0, n), want})
	}
	for _, mn := range [][2]int{{1, 1}, {2, 3}, {4, 4}, {1, 7}} {
		m, n := mn[0], mn[1]
		p, err := he(0, m).Mul(he(1, n))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, 9)
		want[m+n] = factorial(m) * factorial(n)
		cases = append(cases, tc{fmt.Sprintf("He_%d(x0) He_%d(x1)", m, n), p, want})
		p, err = he(0, m).Mul(he(0, n))
		if err != nil {
			t.Fatal(err)
		}
		want = make([]float64, 9)
		for k := 0; k <= min(m, n); k++ {
			c := binom(m, k) * binom(n, k) * factorial(k)
			want[m+n-2*k] += c * c * factorial(m+n-2*k)
		}
		cases = append(cases, tc{fmt.Sprintf("He_%d(x0) He_%d(x0)", m, n), p, want})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := Degrees(c.p.Spectrum(), c.p.Mean())
			var v float64
			for _, w := range c.want[1:] {
				v += w
			}
			for q, r := range rows {
				above := 0.0
				for _, w := range c.want[q+1:] {
					above += w
				}
				share := c.want[q] / v
				if q == 0 {
					share = 0
				}
				if r.Degree != q || !closeRel(r.Norm2, c.want[q], 1e-12) || !closeRel(r.Share, share, 1e-12) ||
					!closeRel(r.ShareAbove, above/v, 1e-12) {
					t.Errorf("degree %d: %+v, want norm2 %v share %v above %v", q, r, c.want[q], share, above/v)
				}
			}
		})
	}
}

// randomNet is a target network with N(0, 1) weights used as given (not
// normalised) and an arbitrary stored mean.
func randomNet(d, k, L int, conn string, center bool, seed uint64) *targetnet.Net {
	r := rand.New(rand.NewPCG(seed, 3))
	n := &targetnet.Net{D: d, K: k, L: L, Connections: conn, Center1: center, Alpha: make([]float64, L+1),
		W: make([][]*mat.Dense, L+1), Mean: 0.7}
	for l := 2; l <= L; l++ {
		n.Alpha[l] = math.Pow(0.3, float64(l-2))
		for _, j := range targetnet.Sources(conn, l) {
			w := mat.NewDense(k, n.PhiDim(j), nil)
			for a := range k {
				for b := range n.PhiDim(j) {
					w.Set(a, b, r.NormFloat64()/math.Sqrt(float64(n.PhiDim(j))))
				}
			}
			n.W[l] = append(n.W[l], w)
		}
	}
	return n
}

// quadratureSpectrum projects n.Eval on every He_β with |β| <= 2^L by a
// Gauss-Hermite tensor grid of m nodes per variable (exact for degree
// <= 2m−1 per variable): it shares no code with the algebra, only the
// network's own pointwise evaluation.
func quadratureSpectrum(n *targetnet.Net, m int) (spec []float64, mean float64) {
	x, w := make([]float64, m), make([]float64, m)
	quad.Hermite{}.FixedLocations(x, w, math.Inf(-1), math.Inf(1))
	for i := range x { // weight e^{−x²} -> N(0, 1)
		x[i] *= math.Sqrt2
		w[i] /= math.Sqrt(math.Pi)
	}
	deg := 1 << n.L
	he := func(k int, z float64) float64 { // He_k(z)
		a, b := 1.0, z
		if k == 0 {
			return a
		}
		for j := 1; j < k; j++ {
			a, b = b, z*b-float64(j)*a
		}
		return b
	}
	// Every multi-index β with |β| <= deg.
	var betas [][]int
	var rec func(i, left int, cur []int)
	rec = func(i, left int, cur []int) {
		if i == n.D {
			betas = append(betas, append([]int(nil), cur...))
			return
		}
		for e := 0; e <= left; e++ {
			cur[i] = e
			rec(i+1, left-e, cur)
		}
	}
	rec(0, deg, make([]int, n.D))
	coef := make([]float64, len(betas))
	idx := make([]int, n.D)
	pt := make([]float64, n.D)
	for {
		wt := 1.0
		for i, j := range idx {
			pt[i], wt = x[j], wt*w[j]
		}
		y := n.Eval(pt)
		mean += wt * y
		for b, beta := range betas {
			h := 1.0
			for i, e := range beta {
				h *= he(e, pt[i])
			}
			coef[b] += wt * y * h
		}
		i := 0
		for ; i < n.D; i++ {
			if idx[i]++; idx[i] < m {
				break
			}
			idx[i] = 0
		}
		if i == n.D {
			break
		}
	}
	spec = make([]float64, deg+1)
	for b, beta := range betas {
		q, fact := 0, 1.0
		for _, e := range beta {
			q += e
			fact *= factorial(e)
		}
		if q > 0 {
			spec[q] += coef[b] * coef[b] / fact // c_β = E[y He_β]/β!, ‖c_β He_β‖² = c_β² β!
		}
	}
	return spec, mean
}

// TestAgainstQuadrature: the exact spectrum and mean of small composed
// targets, weights as given, against brute-force Gaussian quadrature, to
// 1e-9 relative.
func TestAgainstQuadrature(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d, k, L int
		conn    string
		center  bool
	}{
		{"L2-skip0-d3", 3, 2, 2, targetnet.Skip0, true},
		{"L3-skip0-d2", 2, 2, 3, targetnet.Skip0, true},
		{"L3-dense-uncentred-d3", 3, 2, 3, targetnet.Dense, false},
		{"L3-chain-d3", 3, 3, 3, targetnet.Chain, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := randomNet(tc.d, tc.k, tc.L, tc.conn, tc.center, 5)
			ex, err := analyze(n, 0, 1, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			wantSpec, wantMean := quadratureSpectrum(n, 1<<tc.L+1)
			got := Degrees(ex.Spectrum(), ex.Mean-n.Mean)
			want := Degrees(wantSpec, wantMean)
			const tol = 1e-9
			for q := range got {
				if !closeRel(got[q].Norm2, want[q].Norm2, tol) || math.Abs(got[q].Share-want[q].Share) > tol ||
					math.Abs(got[q].ShareAbove-want[q].ShareAbove) > tol {
					t.Errorf("degree %d: %+v, quadrature %+v", q, got[q], want[q])
				}
			}
			if !closeRel(ex.Mean-n.Mean, wantMean, tol) {
				t.Errorf("E[y] = %v, quadrature %v", ex.Mean-n.Mean, wantMean)
			}
		})
	}
}

// smokeTarget runs the target kind at smoke sizes.
func smokeTarget(t *testing.T, kv ...any) kit.Input {
	t.Helper()
	raw := map[string]any{"d": int64(6), "k": int64(3), "L": int64(3), "n_train": int64(600), "n_test": int64(200),
		"norm_samples": int64(5000)}
	for i := 0; i < len(kv); i += 2 {
		raw[kv[i].(string)] = kv[i+1]
	}
	env := kittest.NewEnv(t, target.Kind{}, raw, 1)
	if err := (target.Kind{}).Run(env); err != nil {
		t.Fatal(err)
	}
	return env.AsInput(map[string]string{"d": "6", "seed": "1"})
}

func runSpectrum(t *testing.T, in kit.Input, threads int, raw map[string]any) (*kittest.Env, error) {
	t.Helper()
	env := kittest.NewEnv(t, Kind{}, raw, 1, in)
	env.SetThreads(threads)
	return env, (Kind{}).Run(env)
}

// TestKindOnSmokeTarget: the kind's tables on a smoke-size target agree
// with one another, with the target's stored labels and with the exact
// expansion read back through Read.
func TestKindOnSmokeTarget(t *testing.T) {
	in := smokeTarget(t)
	env, err := runSpectrum(t, in, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Read(env.AsInput(nil))
	if err != nil {
		t.Fatal(err)
	}
	sum := s.Summary
	if !sum.Exact || sum.D != 6 || sum.L != 3 || len(s.Degrees) != 9 || sum.HalfDegree != 4 {
		t.Fatalf("summary %+v with %d degrees", sum, len(s.Degrees))
	}
	var shares, norm float64
	for _, d := range s.Degrees[1:] {
		shares += d.Share
		norm += d.Norm2
	}
	if math.Abs(shares-1) > 1e-12 || !closeRel(norm, sum.VarG, 1e-12) || sum.VarY != sum.VarG {
		t.Errorf("shares sum to %v, norms to %v, Var(G*) %v, Var(y) %v (noise 0)", shares, norm, sum.VarG, sum.VarY)
	}
	if sum.ShareAboveHalf != s.Degrees[4].ShareAbove || sum.ShareTop != s.Degrees[8].Share {
		t.Errorf("summary shares %v, %v; degrees table %v, %v", sum.ShareAboveHalf, sum.ShareTop, s.Degrees[4].ShareAbove, s.Degrees[8].Share)
	}
	if !closeRel(s.Degrees[0].Norm2, sum.Mean*sum.Mean, 1e-15) {
		t.Errorf("degree 0 holds %v, mean² is %v", s.Degrees[0].Norm2, sum.Mean*sum.Mean)
	}
	y, err := target.ReadTrainLabels(in)
	if err != nil {
		t.Fatal(err)
	}
	var m float64
	for _, v := range y {
		m += v
	}
	if m /= float64(len(y)); m != sum.TrainMean {
		t.Errorf("train_mean %v, mean of the stored labels %v", sum.TrainMean, m)
	}
	// E[y] + the stored constant = Σ_l E[T_l] (layers table).
	rec := env.Output(TableLayers)
	rows, err := LayersDesc.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	var terms float64
	for _, v := range rows.Float64s(ColMeanTerm) {
		terms += v
	}
	if !closeRel(sum.Mean+sum.StoredMean, terms, 1e-12) {
		t.Errorf("mean %v + stored %v != Σ E[T_l] %v", sum.Mean, sum.StoredMean, terms)
	}
	if cum := rows.Float64s(ColCumShare); math.Abs(cum[len(cum)-1]-1) > 1e-12 {
		t.Errorf("cum_share of the top layer %v, want 1", cum[len(cum)-1])
	}
	// The rows were normalised by Monte Carlo: their exact variance is
	// near 1 (5000 samples: within 20%), not 1.
	for i, v := range append(rows.Float64s(ColRowVarMin), rows.Float64s(ColRowVarMax)...) {
		if math.Abs(v-1) > 0.2 {
			t.Errorf("row variance %d: %v", i, v)
		}
	}
}

// TestDeterminism: the same bytes for 1 and 3 threads and GOMAXPROCS 1
// and 4.
func TestDeterminism(t *testing.T) {
	in := smokeTarget(t)
	out := func(threads, procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		env, err := runSpectrum(t, in, threads, nil)
		if err != nil {
			t.Fatal(err)
		}
		var recs []arrow.Record
		for _, n := range []string{TableDegrees, TableLayers, TableSummary} {
			recs = append(recs, env.Output(n))
		}
		return kittest.Bytes(t, recs...)
	}
	ref := out(1, 1)
	for _, c := range [][2]int{{3, 1}, {1, 4}, {3, 4}} {
		if !bytes.Equal(out(c[0], c[1]), ref) {
			t.Errorf("threads %d GOMAXPROCS %d: outputs differ from one thread", c[0], c[1])
		}
	}
}

// TestRefusesWhereNotExact: above max_terms the point fails with an error
// naming the target and the limit, and writes nothing.
func TestRefusesWhereNotExact(t *testing.T) {
	env, err := runSpectrum(t, smokeTarget(t), 1, map[string]any{"max_terms": 1e3})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"[d=6,seed=1]", "not affordable", "max_terms = 1e+03", "L = 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := env.OutputNames(); len(n) != 0 {
		t.Errorf("wrote %v", n)
	}
}

func TestCheckInputs(t *testing.T) {
	p := func(input string) kit.InputParams {
		raw, err := kit.Resolve((target.Kind{}).Params(), map[string]any{"input": input})
		if err != nil {
			t.Fatal(err)
		}
		return kit.InputParams{Point: "T[seed=1]", Kind: "target", Params: raw}
	}
	for _, tc := range []struct {
		name string
		ins  []kit.InputParams
		want string // "" for no error
	}{
		{"gaussian", []kit.InputParams{p(targetnet.Gaussian)}, ""},
		{"sphere", []kit.InputParams{p(targetnet.Sphere)}, `input T[seed=1]: input "sphere"`},
		{"two", []kit.InputParams{p(targetnet.Gaussian), p(targetnet.Gaussian)}, "exactly one target input, have 2"},
		{"none", nil, "exactly one target input, have 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (Kind{}).CheckInputs(nil, tc.ins)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// fakeInput serves given tables as the outputs of a stage of some kind.
type fakeInput struct {
	kind   string
	tables map[string]arrow.Record
}

func (f fakeInput) Kind() string              { return f.kind }
func (f fakeInput) Labels() map[string]string { return nil }
func (f fakeInput) Params() kit.Params        { return nil }
func (f fakeInput) Seed() int64               { return 1 }
func (f fakeInput) Key() string               { return "fake-" + f.kind }
func (f fakeInput) Outputs() []string         { return nil }
func (f fakeInput) Read(name string) (arrow.Record, error) {
	r, ok := f.tables[name]
	if !ok {
		return nil, fmt.Errorf("no output %q", name)
	}
	r.Retain()
	return r, nil
}

// TestReadSchemaMismatch: Read refuses tables that do not match the
// declared schemas, inputs of another kind and degrees out of order.
func TestReadSchemaMismatch(t *testing.T) {
	summary := kittest.Fake(t, SummaryDesc, map[string]any{ColL: []int{2}})
	degrees := kittest.Fake(t, DegreesDesc, map[string]any{ColDegree: []int{0, 1, 2, 3, 4}})
	short := DegreesDesc
	short.Columns = short.Columns[:2]
	for _, tc := range []struct {
		name string
		in   fakeInput
		want string
	}{
		{"ok", fakeInput{"spectrum", map[string]arrow.Record{TableSummary: summary, TableDegrees: degrees}}, ""},
		{"kind", fakeInput{"target", map[string]arrow.Record{TableSummary: summary, TableDegrees: degrees}}, `"target" stage, not a spectrum`},
		{"missing table", fakeInput{"spectrum", map[string]arrow.Record{TableSummary: summary}}, `no output "degrees"`},
		{"empty summary", fakeInput{"spectrum", map[string]arrow.Record{TableSummary: kittest.Fake(t, SummaryDesc, nil), TableDegrees: degrees}}, "0 rows, want 1"},
		{"column", fakeInput{"spectrum", map[string]arrow.Record{TableSummary: summary, TableDegrees: kittest.Fake(t, short, map[string]any{ColDegree: []int{0, 1, 2, 3, 4}})}}, ColShare},
		{"rows", fakeInput{"spectrum", map[string]arrow.Record{TableSummary: summary, TableDegrees: kittest.Fake(t, DegreesDesc, map[string]any{ColDegree: []int{0, 1, 2}})}}, "3 rows, want 5"},
		{"order", fakeInput{"spectrum", map[string]arrow.Record{TableSummary: summary, TableDegrees: kittest.Fake(t, DegreesDesc, map[string]any{ColDegree: []int{0, 2, 1, 3, 4}})}}, "row 1 is degree 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.in)
			t.Logf("%s: %v", tc.name, err)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

package optim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// tol is the tolerance for hand-computed updates: each expected value below
// is the result of at most a dozen floating-point operations, so agreement
// to 1e-12 (relative) leaves room for rounding differences only.
const tol = 1e-12

func close(a, b float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func block(name string, w, g []float64) Block {
	return Block{Name: name, W: slices.Clone(w), G: slices.Clone(g), LRScale: 1}
}

func TestStepHandComputed(t *testing.T) {
	adam := DefaultAdam()
	cases := []struct {
		name  string
		cfg   Config
		lr    float64
		grads [][]float64 // gradient of the single block at each step
		w0    []float64
		want  []float64 // parameters after all steps
	}{
		// w = 1 - 0.1*0.5
		{"sgd", Config{Method: SGD}, 0.1, [][]float64{{0.5}}, []float64{1}, []float64{0.95}},
		// v1 = 0.5, w1 = 0.95; v2 = 0.9*0.5+0.5 = 0.95, w2 = 0.95-0.095
		{"sgd-momentum", Config{Method: SGD, Momentum: 0.9}, 0.1, [][]float64{{0.5}, {0.5}}, []float64{1}, []float64{0.855}},
		// g + wd*w = 0.5 + 0.1*2 = 0.7, w = 2 - 0.07
		{"sgd-decay", Config{Method: SGD, WeightDecay: 0.1}, 0.1, [][]float64{{0.5}}, []float64{2}, []float64{1.93}},
		// first Adam step: mhat = g, vhat = g^2, w = 1 - 0.1*0.5/(0.5+1e-8)
		{"adam-1", adam, 0.1, [][]float64{{0.5}}, []float64{1}, []float64{1 - 0.1*0.5/(0.5+1e-8)}},
		// second step, g = -1: m = 0.045-0.1 = -0.055, v = 0.999*0.00025+0.001 = 0.00124975,
		// mhat = -0.055/0.19, vhat = 0.00124975/0.001999, w = 0.900000002 + 0.1*0.289473684/(0.790688051+1e-8)
		{"adam-2", adam, 0.1, [][]float64{{0.5}, {-1}}, []float64{1}, []float64{0.9366103542405654}},
		// clipping: ||(3,4)|| = 5 > 1, so g = (0.6, 0.8)
		{"clip", Config{Method: SGD, Clip: 1}, 1, [][]float64{{3, 4}}, []float64{0, 0}, []float64{-0.6, -0.8}},
		// no clipping below the bound
		{"clip-inactive", Config{Method: SGD, Clip: 10}, 1, [][]float64{{3, 4}}, []float64{0, 0}, []float64{-3, -4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			b := []Block{block("w", c.w0, c.grads[0])}
			for _, g := range c.grads {
				copy(b[0].G, g)
				if _, err := o.Step(b, c.lr); err != nil {
					t.Fatal(err)
				}
			}
			for i := range c.want {
				if !close(b[0].W[i], c.want[i]) {
					t.Errorf("w[%d] = %.17g, want %.17g", i, b[0].W[i], c.want[i])
				}
			}
		})
	}
}

func TestFrozenScaleAndNorm(t *testing.T) {
	o, _ := New(Config{Method: SGD, Clip: 5})
	blocks := []Block{
		block("a", []float64{1, 1}, []float64{3, 4}),
		{Name: "b", W: []float64{1}, G: []float64{1e6}, Frozen: true},
		{Name: "c", W: []float64{0}, G: []float64{0}, LRScale: 0.5},
	}
	norm, err := o.Step(blocks, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	// The frozen block's huge gradient neither counts in the norm nor triggers clipping.
	if !close(norm, 5) {
		t.Errorf("norm = %v, want 5", norm)
	}
	if blocks[1].W[0] != 1 || blocks[1].G[0] != 1e6 {
		t.Errorf("frozen block changed: w %v g %v", blocks[1].W, blocks[1].G)
	}
	if !close(blocks[0].W[0], 0.7) || !close(blocks[0].W[1], 0.6) {
		t.Errorf("block a = %v, want [0.7 0.6]", blocks[0].W)
	}
	// LRScale 0.5 halves the step: gradient 0 gives no move, so give it one.
	blocks[2].G[0] = 2
	blocks[0].G[0], blocks[0].G[1] = 0, 0
	if _, err := o.Step(blocks, 0.1); err != nil {
		t.Fatal(err)
	}
	if !close(blocks[2].W[0], -0.1) {
		t.Errorf("scaled block = %v, want -0.1", blocks[2].W[0])
	}
	for _, s := range o.Export() {
		if s.Name == "b" {
			t.Errorf("frozen block got optimiser state")
		}
	}
}

// A block switched on late gets its own Adam bias correction: its first
// update is lr*sign(g) whatever other blocks have done before.
func TestAdamLateBlock(t *testing.T) {
	o, _ := New(DefaultAdam())
	a := block("a", []float64{0}, []float64{1})
	for range 5 {
		a.G[0] = 1
		if _, err := o.Step([]Block{a}, 0.01); err != nil {
			t.Fatal(err)
		}
	}
	b := block("b", []float64{0}, []float64{-3})
	if _, err := o.Step([]Block{a, b}, 0.01); err != nil {
		t.Fatal(err)
	}
	if want := 0.01 * 3 / (3 + 1e-8); !close(b.W[0], want) {
		t.Errorf("late block = %v, want %v", b.W[0], want)
	}
}

func TestStepErrorsLeaveParameters(t *testing.T) {
	cases := []struct {
		name   string
		blocks []Block
		want   string
	}{
		{"nan", []Block{block("a", []float64{1}, []float64{1}), block("b", []float64{1}, []float64{math.NaN()})}, "gradient norm is NaN"},
		{"inf", []Block{block("a", []float64{1}, []float64{math.Inf(1)})}, "gradient norm is +Inf"},
		{"length", []Block{{Name: "a", W: []float64{1, 2}, G: []float64{1}, LRScale: 1}}, "2 parameters and 1 gradients"},
		{"duplicate", []Block{block("a", []float64{1}, []float64{1}), block("a", []float64{1}, []float64{1})}, "used twice"},
		{"scale", []Block{{Name: "a", W: []float64{1}, G: []float64{1}}}, "learning-rate scale 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, _ := New(DefaultAdam())
			_, err := o.Step(c.blocks, 0.1)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			for _, b := range c.blocks {
				if b.W[0] != 1 {
					t.Errorf("block %s changed to %v", b.Name, b.W)
				}
			}
		})
	}
	// A block whose size changes between steps is refused.
	o, _ := New(DefaultAdam())
	if _, err := o.Step([]Block{block("a", []float64{1}, []float64{1})}, 0.1); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Step([]Block{block("a", []float64{1, 1}, []float64{1, 1})}, 0.1); err == nil {
		t.Error("size change accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg Config
		ok  bool
	}{
		{DefaultAdam(), true},
		{Config{Method: SGD, Momentum: 0.9}, true},
		{Config{Method: SGD, Momentum: 1}, false},
		{Config{Method: "rmsprop"}, false},
		{Config{Method: Adam, Beta1: 0.9, Beta2: 0.999}, false}, // eps 0
		{Config{Method: SGD, Clip: -1}, false},
		{Config{Method: SGD, WeightDecay: math.NaN()}, false},
	}
	for i, c := range cases {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("case %d %+v: err = %v, want ok=%v", i, c.cfg, err, c.ok)
		}
	}
}

// Exporting after some steps and importing into a fresh optimiser continues
// exactly as the original would have.
func TestExportImportContinues(t *testing.T) {
	for _, cfg := range []Config{DefaultAdam(), {Method: SGD, Momentum: 0.8}} {
		grads := [][]float64{{1, -2}, {0.5, 0.25}, {-1, 3}, {2, 2}}
		a, _ := New(cfg)
		wa := block("w", []float64{0.3, -0.7}, grads[0])
		for _, g := range grads[:2] {
			copy(wa.G, g)
			a.Step([]Block{wa}, 0.05)
		}
		b, _ := New(cfg)
		if err := b.Import(a.Export()); err != nil {
			t.Fatal(err)
		}
		wb := block("w", wa.W, wa.G)
		for _, g := range grads[2:] {
			copy(wa.G, g)
			copy(wb.G, g)
			a.Step([]Block{wa}, 0.05)
			b.Step([]Block{wb}, 0.05)
		}
		if !slices.Equal(wa.W, wb.W) {
			t.Errorf("%s: continued %v, original %v", cfg.Method, wb.W, wa.W)
		}
	}
	o, _ := New(DefaultAdam())
	if err := o.Import([]State{{Name: "a", M: []float64{1}}}); err == nil {
		t.Error("Adam state without second moments accepted")
	}
}

func TestGradNormNoOverflow(t *testing.T) {
	b := []Block{{Name: "a", G: []float64{3e200, 4e200}}, {Name: "b", G: []float64{0}}}
	if got := GradNorm(b); math.Abs(got-5e200)/5e200 > 1e-15 {
		t.Errorf("norm = %v, want 5e200", got)
	}
	if got := GradNorm(nil); got != 0 {
		t.Errorf("empty norm = %v", got)
	}
}

func TestStepAllocs(t *testing.T) {
	o, _ := New(Config{Method: Adam, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Clip: 1})
	blocks := []Block{block("a", make([]float64, 100), make([]float64, 100)), block("b", make([]float64, 10), make([]float64, 10))}
	for i := range blocks[0].G {
		blocks[0].G[i] = float64(i)
	}
	o.Step(blocks, 0.1)
	if n := testing.AllocsPerRun(100, func() { o.Step(blocks, 0.1) }); n != 0 {
		t.Errorf("Step allocates %v times per call", n)
	}
}

func TestScheduleRate(t *testing.T) {
	cases := []struct {
		name        string
		s           Schedule
		step, total int
		want        float64
	}{
		{"constant", Schedule{Kind: "constant"}, 7, 10, 2},
		{"cosine-start", Schedule{Kind: "cosine"}, 0, 10, 2},
		{"cosine-middle", Schedule{Kind: "cosine"}, 5, 10, 1},
		{"cosine-quarter", Schedule{Kind: "cosine"}, 25, 100, 2 * (1 + math.Sqrt(0.5)) / 2},
		{"cosine-end", Schedule{Kind: "cosine"}, 10, 10, 0},
		{"cosine-final", Schedule{Kind: "cosine", Final: 0.1}, 5, 10, 2 * (0.1 + 0.9*0.5)},
		{"cosine-after", Schedule{Kind: "cosine", Final: 0.1}, 12, 10, 0.2},
		{"warmup-first", Schedule{Kind: "cosine", Warmup: 4}, 0, 14, 0.5},
		{"warmup-last", Schedule{Kind: "cosine", Warmup: 4}, 3, 14, 2},
		{"warmup-then-cosine", Schedule{Kind: "cosine", Warmup: 4}, 9, 14, 1},
		{"warmup-constant", Schedule{Kind: "constant", Warmup: 2}, 0, 10, 1},
	}
	for _, c := range cases {
		if got := c.s.Rate(2, c.step, c.total); !close(got, c.want) {
			t.Errorf("%s: rate = %v, want %v", c.name, got, c.want)
		}
	}
	for _, bad := range []Schedule{{Kind: "linear"}, {Kind: "cosine", Warmup: -1}, {Kind: "cosine", Final: 2}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// Adam over two blocks, one of them frozen, with a cosine learning-rate
// schedule over 100 steps.
func ExampleOptimizer_Step() {
	o, _ := New(DefaultAdam())
	w := []float64{1, -1}
	frozen := []float64{5}
	sched := Schedule{Kind: "cosine"}
	for step := range 100 {
		g := []float64{2 * w[0], 2 * w[1]} // gradient of ||w||^2
		blocks := []Block{
			{Name: "w", W: w, G: g, LRScale: 1},
			{Name: "frozen", W: frozen, G: []float64{1}, Frozen: true},
		}
		if _, err := o.Step(blocks, sched.Rate(0.1, step, 100)); err != nil {
			panic(err)
		}
	}
	fmt.Printf("|w| < 0.1: %v, frozen = %v\n", math.Abs(w[0]) < 0.1 && math.Abs(w[1]) < 0.1, frozen[0])
	// Output: |w| < 0.1: true, frozen = 5
}

//go:build ignore

// gen_kernels writes kernel_simd.go, the SIMD micro-kernels of package
// fastblas (go generate runs it). The kernels are unrolled by hand because
// the Go compiler keeps the accumulators in registers only when every
// vector value is a named local written out in source order: see the
// comments in the generated file and in doc.go.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
	"strings"
)

// shape is one micro-kernel: mr rows of C, nv vectors of w lanes per row,
// the k loop unrolled u times.
type shape struct {
	name  string // function name
	vt    string // archsimd vector type
	w     int    // lanes
	mr    int
	nv    int
	u     int
	bcast string // archsimd method broadcasting lane 0 of a Float64x2
}

var shapes = []shape{
	{name: "kernAVX2", vt: "Float64x4", w: 4, mr: 5, nv: 2, u: 8, bcast: "Broadcast1To4"},
	{name: "kernAVX512", vt: "Float64x8", w: 8, mr: 4, nv: 2, u: 8, bcast: "Broadcast1To8"},
}

func main() {
	var b bytes.Buffer
	b.WriteString(header)
	for _, s := range shapes {
		kernel(&b, s)
	}
	stores(&b, "Float64x4", 4)
	stores(&b, "Float64x8", 8)
	b.WriteString(helpers)
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatalf("gofmt: %v\n%s", err, b.Bytes())
	}
	if err := os.WriteFile("kernel_simd.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}

func kernel(b *bytes.Buffer, s shape) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	nr := s.nv * s.w
	acc := func(i, j int) string { return fmt.Sprintf("c%d%d", i, j) }
	var accs []string
	for i := 0; i < s.mr; i++ {
		for j := 0; j < s.nv; j++ {
			accs = append(accs, acc(i, j))
		}
	}
	p("// %s is the %dx%d micro-kernel on %s vectors (see kernel.go for the", s.name, s.mr, nr, s.vt)
	p("// contract). The k loop is unrolled %d times.", s.u)
	p("func %s(kc int, a, b []float64, ldb int, c []float64, ldc, rows, cols int, ab *[2]float64) {", s.name)
	p("if kc < 1 || rows < 1 || rows > %d || cols < 1 || cols > %d || ldb < %d ||", s.mr, nr, nr)
	p("len(a) < kc*%d || len(b) < (kc-1)*ldb+%d || len(c) < (rows-1)*ldc+cols {", s.mr, nr)
	p("panic(\"fastblas: %s: bad arguments\")", s.name)
	p("}")
	p("var %s archsimd.%s", strings.Join(accs, ", "), s.vt)
	p("var z archsimd.Float64x2")
	p("pa, pb := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0])")
	p("bs := uintptr(ldb) * 8")
	step := func(u int, decl bool) {
		op := "="
		if decl {
			op = ":="
		}
		for j := 0; j < s.nv; j++ {
			p("b%d %s archsimd.Load%s((*[%d]float64)(unsafe.Add(pb, %d)))", j, op, s.vt, s.w, j*s.w*8)
		}
		for i := 0; i < s.mr; i++ {
			p("a%d %s z.SetElem(0, *(*float64)(unsafe.Add(pa, %d))).%s()", i, op, (u*s.mr+i)*8, s.bcast)
			for j := 0; j < s.nv; j++ {
				p("%s = a%d.MulAdd(b%d, %s)", acc(i, j), i, j, acc(i, j))
			}
		}
		p("pb = unsafe.Add(pb, bs)")
	}
	// Main loop: one basic block per trip (a do-while loop), so that the
	// loop phis live in the block and the scheduler keeps source order.
	loop := func(trips string, unroll int) {
		p("if n := %s; n > 0 {", trips)
		p("for {")
		for u := 0; u < unroll; u++ {
			step(u, u == 0)
		}
		p("pa = unsafe.Add(pa, %d)", unroll*s.mr*8)
		p("n--")
		p("if n == 0 {")
		p("break")
		p("}")
		p("}")
		p("}")
	}
	loop(fmt.Sprintf("kc / %d", s.u), s.u)
	loop(fmt.Sprintf("kc %% %d", s.u), 1)
	// Combine with C, row by row.
	p("pc := unsafe.Pointer(&c[0])")
	p("row := uintptr(ldc) * 8")
	p("alpha, beta := ab[0], ab[1]")
	p("av := z.SetElem(0, alpha).%s()", s.bcast)
	p("bv := z.SetElem(0, beta).%s()", s.bcast)
	p("if rows == %d && cols == %d {", s.mr, nr)
	p("switch beta {")
	p("case 0:")
	for i := 0; i < s.mr; i++ {
		for j := 0; j < s.nv; j++ {
			p("%s.Mul(av).Store((*[%d]float64)(unsafe.Add(pc, %d*row+%d)))", acc(i, j), s.w, i, j*s.w*8)
		}
	}
	p("case 1:")
	for i := 0; i < s.mr; i++ {
		for j := 0; j < s.nv; j++ {
			ptr := fmt.Sprintf("(*[%d]float64)(unsafe.Add(pc, %d*row+%d))", s.w, i, j*s.w*8)
			p("av.MulAdd(%s, archsimd.Load%s(%s)).Store(%s)", acc(i, j), s.vt, ptr, ptr)
		}
	}
	p("default:")
	for i := 0; i < s.mr; i++ {
		for j := 0; j < s.nv; j++ {
			ptr := fmt.Sprintf("(*[%d]float64)(unsafe.Add(pc, %d*row+%d))", s.w, i, j*s.w*8)
			p("av.MulAdd(%s, archsimd.Load%s(%s).Mul(bv)).Store(%s)", acc(i, j), s.vt, ptr, ptr)
		}
	}
	p("}")
	p("archsimd.ClearAVXUpperBits()")
	p("return")
	p("}")
	// Edge tile: whole vectors as above, the part of a vector past cols
	// lane by lane with combine (the same operations).
	for i := 0; i < s.mr; i++ {
		if i > 0 {
			p("if rows == %d {", i)
			p("archsimd.ClearAVXUpperBits()")
			p("return")
			p("}")
		}
		for j := 0; j < s.nv; j++ {
			if j == 0 {
				p("store%s(%s, c[%d*ldc:], cols, av, bv, alpha, beta)", s.vt, acc(i, j), i)
				continue
			}
			p("if cols > %d {", j*s.w)
			p("store%s(%s, c[%d*ldc+%d:], cols-%d, av, bv, alpha, beta)", s.vt, acc(i, j), i, j*s.w, j*s.w)
			p("}")
		}
	}
	p("archsimd.ClearAVXUpperBits()")
	p("}")
	p("")
}

// stores writes the edge helpers, one per vector type.
func stores(b *bytes.Buffer, vt string, w int) {
	fmt.Fprintf(b, `
// store%[1]s combines the lanes l < n of acc into c (n >= 1, possibly
// beyond the vector): a whole vector with vector operations, a part of
// one lane by lane with combine.
func store%[1]s(acc archsimd.%[1]s, c []float64, n int, av, bv archsimd.%[1]s, alpha, beta float64) {
	if n >= %[2]d {
		p := (*[%[2]d]float64)(c[:%[2]d])
		switch beta {
		case 0:
			acc.Mul(av).Store(p)
		case 1:
			av.MulAdd(acc, archsimd.Load%[1]s(p)).Store(p)
		default:
			av.MulAdd(acc, archsimd.Load%[1]s(p).Mul(bv)).Store(p)
		}
		return
	}
	var t [%[2]d]float64
	acc.Store(&t)
	for l := range n {
		c[l] = combine(c[l], t[l], alpha, beta)
	}
}
`, vt, w)
}

const header = `// Code generated by gen_kernels.go; DO NOT EDIT.

//go:build goexperiment.simd && amd64

package fastblas

// This file holds every SIMD routine of the package (simd/archsimd, AVX2
// and FMA, AVX-512 where the CPU has it). kernel_fallback.go, with the
// opposite build constraint, uses the scalar routines of kernel_scalar.go
// instead; those perform the same floating-point operations in the same
// order, so both builds give identical bits on every CPU.
//
// Shaping the code for the Go compiler (go1.26, GOEXPERIMENT=simd):
//
//   - archsimd's MulAdd is x*y+z with the result in x's register
//     (VFMADD213PD), so an accumulator z moves register on every FMA unless
//     the loop body is one basic block whose values are scheduled in source
//     order; the kernels are do-while loops (the loop phis then live in the
//     same block) with every load written out in place (a helper function
//     would carry its own source position and be hoisted to the top).
//   - Every routine ends with VZEROUPPER (archsimd.ClearAVXUpperBits):
//     Go's scalar float64 code is legacy SSE, which runs several times
//     slower while the upper halves of the vector registers are dirty
//     (measured: the learner's optimiser step 2-3x slower without it).
//   - Vector values live in X0-X14 only (X15 is the zero register of the Go
//     ABI, and the register allocator does not hand out X16-X31), which
//     bounds a kernel at about 10 accumulators plus the B vectors, one
//     broadcast and one copy of it.

import (
	"simd/archsimd"
	"sync"
	"unsafe"
)

`

const helpers = `
var (
	simdOnce sync.Once
	simdList []*microKernel
)

// simdKernels returns the SIMD micro-kernels this CPU can run, fastest
// first; without AVX2 and FMA it returns none and the scalar kernel is used.
func simdKernels() []*microKernel {
	simdOnce.Do(func() {
		if !archsimd.X86.AVX2() || !archsimd.X86.FMA() {
			return
		}
		if archsimd.X86.AVX512() {
			simdList = append(simdList, &microKernel{name: "avx512", mr: 4, nr: 16, fn: kernAVX512, axpy: axpyAVX2, axpy4: axpy4AVX2, div: divAVX2})
		}
		simdList = append(simdList, &microKernel{name: "avx2", mr: 5, nr: 8, fn: kernAVX2, axpy: axpyAVX2, axpy4: axpy4AVX2, div: divAVX2})
	})
	return simdList
}

// axpyAVX2 is axpyGo on Float64x4 vectors.
func axpyAVX2(alpha float64, x, y []float64) {
	n := len(y)
	x = x[:n]
	var z archsimd.Float64x2
	av := z.SetElem(0, alpha).Broadcast1To4()
	i := 0
	for ; i+4 <= n; i += 4 {
		p := (*[4]float64)(y[i : i+4])
		av.MulAdd(archsimd.LoadFloat64x4((*[4]float64)(x[i:i+4])), archsimd.LoadFloat64x4(p)).Store(p)
	}
	archsimd.ClearAVXUpperBits()
	axpyGo(alpha, x[i:], y[i:])
}

// axpy4AVX2 is axpy4Go on Float64x4 vectors.
func axpy4AVX2(a *[4]float64, x0, x1, x2, x3, y []float64) {
	n := len(y)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	var z archsimd.Float64x2
	a0 := z.SetElem(0, a[0]).Broadcast1To4()
	a1 := z.SetElem(0, a[1]).Broadcast1To4()
	a2 := z.SetElem(0, a[2]).Broadcast1To4()
	a3 := z.SetElem(0, a[3]).Broadcast1To4()
	i := 0
	for ; i+4 <= n; i += 4 {
		p := (*[4]float64)(y[i : i+4])
		v := a0.MulAdd(archsimd.LoadFloat64x4((*[4]float64)(x0[i:i+4])), archsimd.LoadFloat64x4(p))
		v = a1.MulAdd(archsimd.LoadFloat64x4((*[4]float64)(x1[i:i+4])), v)
		v = a2.MulAdd(archsimd.LoadFloat64x4((*[4]float64)(x2[i:i+4])), v)
		a3.MulAdd(archsimd.LoadFloat64x4((*[4]float64)(x3[i:i+4])), v).Store(p)
	}
	archsimd.ClearAVXUpperBits()
	axpy4Go(a, x0[i:], x1[i:], x2[i:], x3[i:], y[i:])
}

// divAVX2 is divGo on Float64x4 vectors.
func divAVX2(y []float64, d float64) {
	n := len(y)
	var z archsimd.Float64x2
	dv := z.SetElem(0, d).Broadcast1To4()
	i := 0
	for ; i+4 <= n; i += 4 {
		p := (*[4]float64)(y[i : i+4])
		archsimd.LoadFloat64x4(p).Div(dv).Store(p)
	}
	archsimd.ClearAVXUpperBits()
	divGo(y[i:], d)
}
`

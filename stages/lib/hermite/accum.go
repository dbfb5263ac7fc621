package hermite

import (
	"math"
	"math/bits"
	"slices"
)

// accum adds coefficients into packed keys: an open-addressing hash table
// with linear probing, each slot the key words followed by the bits of the
// float64 sum, kept at load <= 1/2. The sums depend only on the order of
// the add calls, so a fixed call order gives the same bits every time.
type accum struct {
	w, stride int
	data      []uint64
	shift     uint // 64 − log2(slots)
	n         int
}

// emptyWord marks a free slot in its first key word: no valid key has it,
// since field 0 would be all ones, above the space's degree.
const emptyWord = ^uint64(0)

func newAccum(w, hint int) *accum {
	a := &accum{w: w, stride: w + 1}
	a.alloc(max(16, 2*hint))
	return a
}

func (a *accum) alloc(minSlots int) {
	lg := bits.Len(uint(minSlots - 1))
	n := 1 << lg
	a.shift = uint(64 - lg)
	a.data = make([]uint64, n*a.stride)
	for i := 0; i < len(a.data); i += a.stride {
		a.data[i] = emptyWord
	}
}

func (a *accum) slots() int { return len(a.data) / a.stride }

func (a *accum) hash(key []uint64) uint64 {
	h := key[0] * 0x9E3779B97F4A7C15
	for _, v := range key[1:] {
		h = (h ^ v) * 0xBF58476D1CE4E5B9
	}
	return h >> a.shift
}

// add adds v to the entry of key (len a.w).
func (a *accum) add(key []uint64, v float64) {
	mask := uint64(a.slots() - 1)
	if a.w == 1 {
		k := key[0]
		for i := (k * 0x9E3779B97F4A7C15) >> a.shift; ; i = (i + 1) & mask {
			s := a.data[2*i : 2*i+2 : 2*i+2]
			if s[0] == k {
				s[1] = math.Float64bits(math.Float64frombits(s[1]) + v)
				return
			}
			if s[0] == emptyWord {
				s[0], s[1] = k, math.Float64bits(v)
				a.inserted()
				return
			}
		}
	}
	for i := a.hash(key); ; i = (i + 1) & mask {
		s := a.data[int(i)*a.stride : int(i+1)*a.stride]
		if s[0] == emptyWord {
			copy(s, key)
			s[a.w] = math.Float64bits(v)
			a.inserted()
			return
		}
		if slices.Equal(s[:a.w], key) {
			s[a.w] = math.Float64bits(math.Float64frombits(s[a.w]) + v)
			return
		}
	}
}

func (a *accum) inserted() {
	a.n++
	if 2*a.n <= a.slots() {
		return
	}
	old := a.data
	a.alloc(2 * a.slots())
	mask := uint64(a.slots() - 1)
	for o := 0; o < len(old); o += a.stride {
		s := old[o : o+a.stride]
		if s[0] == emptyWord {
			continue
		}
		i := a.hash(s[:a.w])
		for a.data[int(i)*a.stride] != emptyWord {
			i = (i + 1) & mask
		}
		copy(a.data[int(i)*a.stride:], s)
	}
}

// poly returns the accumulated non-zero terms, sorted by key, and releases
// the table.
func (a *accum) poly(sp *Space) Poly {
	idx := make([]int32, 0, a.n)
	for o := 0; o < len(a.data); o += a.stride {
		if a.data[o] != emptyWord && math.Float64frombits(a.data[o+a.w]) != 0 {
			idx = append(idx, int32(o/a.stride))
		}
	}
	if a.w == 1 {
		slices.SortFunc(idx, func(x, y int32) int {
			kx, ky := a.data[2*x], a.data[2*y]
			switch {
			case kx < ky:
				return -1
			case kx > ky:
				return 1
			}
			return 0
		})
	} else {
		slices.SortFunc(idx, func(x, y int32) int {
			return cmpKeys(a.data[int(x)*a.stride:int(x)*a.stride+a.w], a.data[int(y)*a.stride:int(y)*a.stride+a.w])
		})
	}
	out := Poly{sp: sp, keys: make([]uint64, len(idx)*a.w), coef: make([]float64, len(idx))}
	for t, i := range idx {
		s := a.data[int(i)*a.stride : int(i+1)*a.stride]
		copy(out.keys[t*a.w:], s[:a.w])
		out.coef[t] = math.Float64frombits(s[a.w])
	}
	a.data = nil
	return out
}

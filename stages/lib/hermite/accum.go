package hermite

import (
	"math"
	"math/bits"
	"slices"
)

// accum adds coefficients into packed keys: an open-addressing hash table
// with linear probing, each slot the key words followed by the bits of the
// float64 sum, kept at load <= 1/2 by doubling. The sums depend only on
// the order of the add calls, so a fixed call order gives the same bits
// every time. (Splitting the table into cache-sized partitions fed through
// buffers was measured slower on this project's machine: BenchmarkSquare
// took 1.2-1.7x the CPU time of the single table.)
type accum struct {
	w, stride int
	data      []uint64
	shift     uint // 64 − log2(slots)
	n         int
}

// emptyWord marks a free slot in its first key word: no valid key has it,
// since field 0 would be all ones, above the space's degree.
const emptyWord = ^uint64(0)

// newAccum returns an accumulator for w-word keys. It starts with room for
// min(hint, 2^16) terms and doubles as needed, so an overestimate costs
// little memory.
func newAccum(w, hint int) *accum {
	a := &accum{w: w, stride: w + 1}
	a.alloc(max(16, 2*min(hint, 1<<16)))
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

// hash1 is a one-word key's slot: a multiplicative hash after folding the
// top half onto the bottom, so that the fields of the last variables (the
// key's top bits) reach every bit of the product.
func (a *accum) hash1(k uint64) uint64 {
	return ((k ^ k>>32) * 0x9E3779B97F4A7C15) >> a.shift
}

func (a *accum) hash(key []uint64) uint64 {
	if a.w == 1 {
		return a.hash1(key[0])
	}
	var h uint64
	for _, v := range key {
		h = (h ^ v ^ v>>32) * 0x9E3779B97F4A7C15
	}
	return h >> a.shift
}

// add adds v to the entry of key (len a.w).
func (a *accum) add(key []uint64, v float64) {
	mask := uint64(a.slots() - 1)
	if a.w == 1 {
		k := key[0]
		for i := a.hash1(k); ; i = (i + 1) & mask {
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
// the table. The occupied slots are packed and put in key order by an LSD
// radix sort (a byte per pass, from the last key word's lowest byte to the
// first word's highest; passes where every key has the same byte are
// skipped), which needs no comparisons.
func (a *accum) poly(sp *Space) Poly {
	st := a.stride
	recs := a.data[:0]
	for o := 0; o < len(a.data); o += st {
		if a.data[o] != emptyWord && math.Float64frombits(a.data[o+a.w]) != 0 {
			recs = append(recs, a.data[o:o+st]...) // writes behind o
		}
	}
	a.data = nil
	n := len(recs) / st
	buf := make([]uint64, len(recs))
	var count [256]int
	for w := a.w - 1; w >= 0 && n > 1; w-- {
		for sh := uint(0); sh < 64; sh += 8 {
			clear(count[:])
			for i := w; i < len(recs); i += st {
				count[recs[i]>>sh&0xff]++
			}
			if count[recs[w]>>sh&0xff] == n {
				continue
			}
			pos := 0
			for b, c := range count {
				count[b] = pos
				pos += c * st
			}
			for o := 0; o < len(recs); o += st {
				b := recs[o+w] >> sh & 0xff
				copy(buf[count[b]:count[b]+st], recs[o:o+st])
				count[b] += st
			}
			recs, buf = buf, recs
		}
	}
	out := Poly{sp: sp, keys: make([]uint64, n*a.w), coef: make([]float64, n)}
	for t := range n {
		r := recs[t*st : (t+1)*st]
		copy(out.keys[t*a.w:], r[:a.w])
		out.coef[t] = math.Float64frombits(r[a.w])
	}
	return out
}

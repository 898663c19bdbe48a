package dataset

import (
	"fmt"
	"math"
	"math/bits"
)

// The generator owns its random numbers so that a seed gives the same bytes on every Go
// version and platform: math/rand's derived methods may change between releases, these
// may not.

// rng is a splitmix64 generator. Streams seeded with different stream numbers are
// independent for our purposes, which lets blocks of work run in parallel and still
// draw the same numbers as a serial run.
type rng struct{ s uint64 }

func newRNG(seed int64, stream uint64) rng {
	return rng{s: mix64(uint64(seed)^0x6a09e667f3bcc909) ^ mix64(stream+0x3c6ef372fe94f82b)}
}

func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// intn returns a number in [0, n) (Lemire's multiply-shift; the bias is below 2^-40 for
// every n we use).
func (r *rng) intn(n uint64) uint64 {
	hi, _ := bits.Mul64(r.next(), n)
	return hi
}

// float64 returns a number in [0, 1).
func (r *rng) float64() float64 { return float64(r.next()>>11) * 0x1p-53 }

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + int(r.intn(uint64(hi-lo+1))) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float64() < p }

// weighted picks an index with probability proportional to w (integer weights keep the
// draw exact and platform independent). total must be the sum of w and positive.
func (r *rng) weighted(w []uint64, total uint64) int {
	x := r.intn(total)
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	panic(fmt.Sprintf("BUG: weighted draw %d beyond total %d of %d weights", x, total, len(w)))
}

// permutation is a keyed bijection of [0, n): a 4-round Feistel network over the
// smallest even number of bits that holds n, cycle-walked back into range. It shuffles
// ids without holding them in memory.
type permutation struct {
	n    uint64
	half uint
	mask uint64
	keys [4]uint64
}

func newPermutation(n uint64, r *rng) permutation {
	if n == 0 {
		panic("BUG: permutation of an empty range")
	}
	k := uint(bits.Len64(n - 1))
	if k < 2 {
		k = 2
	}
	k += k & 1
	p := permutation{n: n, half: k / 2, mask: 1<<(k/2) - 1}
	for i := range p.keys {
		p.keys[i] = r.next()
	}
	return p
}

// at returns the image of i < n.
func (p *permutation) at(i uint64) uint64 {
	for {
		l, rt := i>>p.half, i&p.mask
		for _, k := range p.keys {
			l, rt = rt, l^(mix64(rt^k)&p.mask)
		}
		i = l<<p.half | rt
		if i < p.n {
			return i
		}
	}
}

// alias is Vose's alias table: O(1) draws from a fixed discrete distribution.
type alias struct {
	prob  []float64
	alias []uint32
}

func newAlias(w []float64) alias {
	n := len(w)
	var sum float64
	for _, v := range w {
		sum += v
	}
	a := alias{prob: make([]float64, n), alias: make([]uint32, n)}
	scaled := make([]float64, n)
	var small, large []int
	for i, v := range w {
		scaled[i] = v * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.prob[s], a.alias[s] = scaled[s], uint32(l)
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range large {
		a.prob[i], a.alias[i] = 1, uint32(i)
	}
	for _, i := range small { // rounding leftovers
		a.prob[i], a.alias[i] = 1, uint32(i)
	}
	return a
}

func (a *alias) draw(r *rng) int {
	x := r.next()
	i := int((x >> 32) * uint64(len(a.prob)) >> 32)
	if float64(x&math.MaxUint32)*0x1p-32 < a.prob[i] {
		return i
	}
	return int(a.alias[i])
}

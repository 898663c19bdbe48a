package engine

import (
	"math/bits"
)

// A pair packs one entry of a contest for sorting:
//
//	bits 63..32  key = MaxInt32 - team points (ascending key = descending points)
//	bit  31      flag: the entry's team points changed since the last cycle
//	bits 30..0   pos  = index of the entry within its contest
//
// Entries of a contest are stored in entry_id order, so pos ascending is entry_id
// ascending, and a stable sort by key alone yields the display order
// (points desc, entry_id asc). Radix passes look at key bits only; comparison sorts
// compare pair &^ flagBit, i.e. (key, pos).
const (
	flagBit = 1 << 31
	posMask = flagBit - 1
)

func pairKey(x uint64) uint32 { return uint32(x >> 32) }

// insertionMax is the largest contest sorted by insertion; most contests are smaller.
const insertionMax = 48

// sortPairs sorts pairs by key, stably, using tmp as scratch; keys lie in [minK, maxK].
// It returns whichever of the two slices holds the result.
func sortPairs(pairs, tmp []uint64, minK, maxK uint32, hist *[1 << maxDigitBits]uint32) []uint64 {
	n := len(pairs)
	if n < 2 || minK == maxK {
		return pairs
	}
	if n <= insertionMax {
		insertionSort(pairs)
		return pairs
	}
	keyBits := bits.Len32(maxK - minK)
	db := min(maxDigitBits, max(4, bits.Len(uint(n))))
	passes := (keyBits + db - 1) / db
	db = (keyBits + passes - 1) / passes
	src, dst := pairs, tmp[:n]
	for pass := range passes {
		shift := uint(32 + pass*db)
		radixPass(src, dst, uint64(minK)<<32, shift, uint64(1)<<db-1, hist[:1<<db])
		src, dst = dst, src
	}
	return src
}

const maxDigitBits = 11

// radixPass scatters src into dst by the digit ((x - base) >> shift) & mask, stably.
func radixPass(src, dst []uint64, base uint64, shift uint, mask uint64, hist []uint32) {
	clear(hist)
	for _, x := range src {
		hist[((x-base)>>shift)&mask]++
	}
	var sum uint32
	for d, c := range hist {
		hist[d] = sum
		sum += c
	}
	for _, x := range src {
		d := ((x - base) >> shift) & mask
		dst[hist[d]] = x
		hist[d]++
	}
}

func insertionSort(a []uint64) {
	for i := 1; i < len(a); i++ {
		x := a[i]
		xk := x &^ flagBit
		j := i
		for ; j > 0 && a[j-1]&^flagBit > xk; j-- {
			a[j] = a[j-1]
		}
		a[j] = x
	}
}

// sortPermByKey reorders perm stably by keys[perm[i]] ascending (LSD radix over the
// bits in which the keys differ), using tmp as scratch. Used once, when building.
func sortPermByKey(perm, tmp []uint32, keys []int64) {
	if len(perm) < 2 {
		return
	}
	lo, hi := keys[perm[0]], keys[perm[0]]
	for _, p := range perm {
		lo, hi = min(lo, keys[p]), max(hi, keys[p])
	}
	span := uint64(hi) - uint64(lo)
	keyBits := bits.Len64(span)
	var hist [1 << maxDigitBits]uint32
	src, dst := perm, tmp
	for shift := 0; shift < keyBits; shift += maxDigitBits {
		clear(hist[:])
		for _, p := range src {
			hist[((uint64(keys[p])-uint64(lo))>>shift)&(1<<maxDigitBits-1)]++
		}
		var sum uint32
		for d, c := range hist {
			hist[d] = sum
			sum += c
		}
		for _, p := range src {
			d := ((uint64(keys[p]) - uint64(lo)) >> shift) & (1<<maxDigitBits - 1)
			dst[hist[d]] = p
			hist[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &perm[0] {
		copy(perm, src)
	}
}

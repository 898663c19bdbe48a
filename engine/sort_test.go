package engine

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortPairs compares the insertion and radix sorts with a stable library sort on
// random keys of every width, with the changed flag set at random.
func TestSortPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var hist [1 << maxDigitBits]uint32
	for _, n := range []int{0, 1, 2, 3, 47, 48, 49, 100, 1000, 70_000} {
		for _, keyBits := range []int{0, 1, 5, 11, 12, 22, 32} {
			pairs := make([]uint64, n)
			minK, maxK := uint32(1<<32-1), uint32(0)
			base := uint32(rng.Uint64())
			for i := range pairs {
				k := base
				if keyBits > 0 {
					k = base>>1 + uint32(rng.Uint64()>>(64-keyBits))
				}
				minK, maxK = min(minK, k), max(maxK, k)
				pairs[i] = uint64(k)<<32 | uint64(i)
				if rng.IntN(2) == 0 {
					pairs[i] |= flagBit
				}
			}
			want := slices.Clone(pairs)
			slices.SortStableFunc(want, func(a, b uint64) int { return cmp.Compare(pairKey(a), pairKey(b)) })
			got := sortPairs(pairs, make([]uint64, n), minK, maxK, &hist)
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d bits=%d: sort differs", n, keyBits)
			}
		}
	}
}

// TestSortPairsAllocs: the sort is on the hot path and allocates nothing.
func TestSortPairsAllocs(t *testing.T) {
	var hist [1 << maxDigitBits]uint32
	pairs, tmp := make([]uint64, 5000), make([]uint64, 5000)
	for i := range pairs {
		pairs[i] = uint64(i*7919%5000)<<32 | uint64(i)
	}
	small := make([]uint64, 30)
	if a := testing.AllocsPerRun(10, func() {
		sortPairs(pairs, tmp, 0, 4999, &hist)
		sortPairs(small, tmp, 0, 0, &hist)
	}); a != 0 {
		t.Fatalf("sortPairs allocates %v times", a)
	}
}

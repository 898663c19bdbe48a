package dataset

import (
	"fmt"
	"math"
	"slices"
)

// Small-contest sizes and their base frequencies; the frequencies are tilted to hit the
// mean that the number of contests asks for.
var (
	smallLadder  = []int64{2, 3, 4, 6, 10, 20, 50, 100, 1000}
	smallWeights = []float64{0.30, 0.10, 0.10, 0.10, 0.15, 0.12, 0.08, 0.04, 0.01}
)

// contestSizes returns c contest sizes (each >= 2 when c > 1) adding up to exactly n, in
// a random order: one mega contest of ~n/10, a few dozen large ones, and many small ones.
func contestSizes(n, c int64, r *rng) []int64 {
	if c == 1 {
		return []int64{n}
	}
	mega := max(2, n/10)
	var large []int64
	if hi := n / 112; hi >= 20 && c-1 >= 8 {
		lo := max(2, hi/50)
		for range min(36, (c-1)/8) {
			large = append(large, int64(math.Round(float64(lo)*math.Pow(float64(hi)/float64(lo), r.float64()))))
		}
	}
	k := c - 1 - int64(len(large))
	rest := n - mega - sumInt(large)
	if rest < 2*k && len(large) > 0 {
		large, k, rest = nil, c-1, n-mega
	}
	if rest < 2*k {
		mega, rest = n-2*k, 2*k
	}
	small := smallSizes(k, rest, r)
	mega += rest - sumInt(small)
	sizes := append(append([]int64{mega}, large...), small...)
	for i := len(sizes) - 1; i > 0; i-- {
		j := int(r.intn(uint64(i + 1)))
		sizes[i], sizes[j] = sizes[j], sizes[i]
	}
	return sizes
}

// smallSizes returns k sizes >= 2 adding up to total (2k <= total): drawn from the
// small-contest frequencies tilted to mean total/k, then nudged one ladder step at a
// time until the sum is exact.
func smallSizes(k, total int64, r *rng) []int64 {
	if k == 0 {
		return nil
	}
	mean := float64(total) / float64(k)
	ladder := slices.Clone(smallLadder)
	weights := slices.Clone(smallWeights)
	for top := ladder[len(ladder)-1]; float64(top) < 2*mean; top = ladder[len(ladder)-1] {
		ladder = append(ladder, 2*top)
		weights = append(weights, 1e-4)
	}
	// Exponential tilt w·s^θ: the mean grows with θ; bisect for the wanted one.
	tilted := make([]float64, len(ladder))
	tilt := func(theta float64) float64 {
		var sw, sws float64
		for i, s := range ladder {
			tilted[i] = weights[i] * math.Exp(theta*math.Log(float64(s)))
			sw += tilted[i]
			sws += tilted[i] * float64(s)
		}
		return sws / sw
	}
	lo, hi := -40.0, 40.0
	for range 100 {
		mid := (lo + hi) / 2
		if tilt(mid) < mean {
			lo = mid
		} else {
			hi = mid
		}
	}
	tilt((lo + hi) / 2)
	cum := make([]float64, len(ladder))
	var acc float64
	for i, v := range tilted {
		acc += v
		cum[i] = acc
	}
	sizes := make([]int64, k)
	var sum int64
	for i := range sizes {
		x := r.float64() * acc
		j, _ := slices.BinarySearch(cum, x)
		sizes[i] = ladder[min(j, len(ladder)-1)]
		sum += sizes[i]
	}

	top := ladder[len(ladder)-1]
	up := func(s int64) int64 { // next ladder value above s
		j, found := slices.BinarySearch(ladder, s)
		if found {
			j++
		}
		return ladder[min(j, len(ladder)-1)]
	}
	down := func(s int64) int64 { // next ladder value below s
		j, _ := slices.BinarySearch(ladder, s)
		return ladder[max(j-1, 0)]
	}
	for d := total - sum; d != 0; {
		movable := func(s int64) bool { return (d > 0 && s < top) || (d < 0 && s > 2) }
		j := -1
		for range 64 {
			if i := int(r.intn(uint64(k))); movable(sizes[i]) {
				j = i
				break
			}
		}
		if j < 0 {
			start := int(r.intn(uint64(k)))
			for i := range sizes {
				if movable(sizes[(start+i)%len(sizes)]) {
					j = (start + i) % len(sizes)
					break
				}
			}
			if j < 0 {
				panic(fmt.Sprintf("BUG: cannot fit %d small contests to %d entries", k, total))
			}
		}
		s := sizes[j]
		var ns int64
		if d > 0 {
			ns = min(up(s), s+d)
		} else {
			ns = max(down(s), s+d)
		}
		sizes[j] = ns
		d -= ns - s
	}
	return sizes
}

func sumInt(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

package worker

import (
	"math/bits"
	"slices"
)

// stableOrder returns the positions 0..n-1 ordered by key(j) ascending, equal keys in
// ascending position (a stable sort of the keys), and the keys in that order. Where the
// key's span and the position fit one word together (ids of one match: always, short of
// ids spread over the whole int64 range), it is an LSD radix sort of (key - min, j)
// words over the bits in which the keys differ, in passes of at most 11 bits; else a
// comparison sort; keys already ascending (a log replayed in entry id order) are not
// sorted at all. The cycle sorts a replay's change log, a group's users and the users
// it writes with it, where maps cost several times more.
func stableOrder(n int, key func(j int) int64) (order []uint32, keys []int64) {
	if n == 0 {
		return nil, nil
	}
	lo, hi := key(0), key(0)
	sorted := true // the keys already ascending: the order is the positions'
	for j := 1; j < n; j++ {
		k := key(j)
		sorted = sorted && k >= hi
		lo, hi = min(lo, k), max(hi, k)
	}
	if sorted {
		order, keys = make([]uint32, n), make([]int64, n)
		for j := range order {
			order[j], keys[j] = uint32(j), key(j)
		}
		return order, keys
	}
	kb := bits.Len64(uint64(hi) - uint64(lo))
	ib := bits.Len64(uint64(n - 1))
	order = make([]uint32, n)
	if kb+ib > 64 || n <= 64 {
		type pair struct {
			k int64
			j uint32
		}
		ps := make([]pair, n)
		for j := range ps {
			ps[j] = pair{key(j), uint32(j)}
		}
		slices.SortFunc(ps, func(a, b pair) int {
			if a.k != b.k {
				return cmpInt(a.k, b.k)
			}
			return int(a.j) - int(b.j)
		})
		keys = make([]int64, n)
		for t, p := range ps {
			order[t], keys[t] = p.j, p.k
		}
		return order, keys
	}
	words := make([]uint64, n)
	for j := range words {
		words[j] = (uint64(key(j))-uint64(lo))<<ib | uint64(j)
	}
	words = radixSortWords(words, ib, kb)
	jmask := uint64(1)<<ib - 1
	keys = make([]int64, n)
	for t, x := range words {
		order[t] = uint32(x & jmask)
		keys[t] = int64(x>>ib + uint64(lo))
	}
	return order, keys
}

const radixDigitBits = 11

// radixSortWords sorts words stably by bits [shift, shift+width) (a key above bits that
// already stand in ascending order), and returns the sorted slice (words or a scratch
// slice of the same length). The histograms of every pass come from one read.
func radixSortWords(words []uint64, shift, width int) []uint64 {
	if width == 0 || len(words) < 2 {
		return words
	}
	passes := (width + radixDigitBits - 1) / radixDigitBits
	d := (width + passes - 1) / passes
	mask := uint64(1)<<d - 1
	hist := make([][1 << radixDigitBits]uint32, passes)
	for _, x := range words {
		for p := range passes {
			hist[p][(x>>(shift+p*d))&mask]++
		}
	}
	src, dst := words, make([]uint64, len(words))
	for p := range passes {
		h := &hist[p]
		var sum uint32
		for v := range h[:mask+1] {
			c := h[v]
			h[v] = sum
			sum += c
		}
		s := uint(shift + p*d)
		for _, x := range src {
			v := (x >> s) & mask
			dst[h[v]] = x
			h[v]++
		}
		src, dst = dst, src
	}
	return src
}

// sortedUserIndex is the user index of a partition's n entries (users(i): entry i's user)
// by one radix sort of the entries by user, each user's entries in ascending position: a
// comparison sort of (user, entry) pairs took ~2 s of CPU over 5.6M entries. Its slices
// are sized exactly.
func sortedUserIndex(users func(i int) int64, n int) userIndex {
	if n == 0 {
		return userIndex{start: []uint32{0}, idx: []uint32{}}
	}
	order, keys := stableOrder(n, users)
	distinct := 1
	for t := 1; t < n; t++ {
		if keys[t] != keys[t-1] {
			distinct++
		}
	}
	u := userIndex{ids: make([]int64, 0, distinct), start: make([]uint32, 0, distinct+1), idx: order}
	for t, k := range keys {
		if t == 0 || k != keys[t-1] {
			u.ids = append(u.ids, k)
			u.start = append(u.start, uint32(t))
		}
	}
	u.start = append(u.start, uint32(n))
	return u
}

// sortedIDs sorts ids (in place, or into a new slice it returns) and drops repeats: a
// radix sort, ids of a first cycle's users being millions.
func sortedIDs(ids []int64) []int64 {
	if len(ids) <= 64 {
		slices.Sort(ids)
		return slices.Compact(ids)
	}
	lo, hi := slices.Min(ids), slices.Max(ids)
	words := make([]uint64, len(ids))
	for j, id := range ids {
		words[j] = uint64(id) - uint64(lo)
	}
	words = radixSortWords(words, 0, bits.Len64(uint64(hi)-uint64(lo)))
	for j, x := range words {
		ids[j] = int64(x + uint64(lo))
	}
	return slices.Compact(ids)
}

// outside returns the ids (sorted) not in [lo, hi): ids itself when none is.
func outside(ids []int64, lo, hi int64) []int64 {
	a, _ := slices.BinarySearch(ids, lo)
	b, _ := slices.BinarySearch(ids, hi)
	if hi <= lo || a == b {
		return ids
	}
	return append(slices.Clip(ids[:a]), ids[b:]...)
}

// userSet is the set of users per partition lists (what a failed cycle keeps).
func userSet(users map[int32][]int64) map[userPart]struct{} {
	set := map[userPart]struct{}{}
	for part, ids := range users {
		for _, u := range ids {
			set[userPart{u, part}] = struct{}{}
		}
	}
	return set
}

// eachCommon calls fn(i, k) for every a[i] == b[k], a and b sorted without repeats, in
// ascending order: a merge that gallops through a (the longer list, as a rule), so its
// cost is that of b's ids times the log of the gaps between them.
func eachCommon(a, b []int64, fn func(i, k int)) {
	i := 0
	for k, v := range b {
		if i >= len(a) {
			return
		}
		if a[i] < v {
			// a[i] < v: find the first a[j] >= v past i, doubling the step.
			lo, step := i, 1
			for lo+step < len(a) && a[lo+step] < v {
				lo += step
				step *= 2
			}
			hi := min(lo+step, len(a)) // a[lo] < v <= a[hi] (or hi == len(a))
			j, _ := slices.BinarySearch(a[lo+1:hi], v)
			i = lo + 1 + j
			if i >= len(a) {
				return
			}
		}
		if a[i] == v {
			fn(i, k)
			i++
		}
	}
}

package engine

import (
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// The parallel half of Build: ordering the entries by (contest_id, entry_id) whatever
// the order they arrived in, and numbering teams so that a contest's teams lie close
// together in the team tables.
//
// Entries arrive in any order: a file sorted by contest, or rows in the order entries
// joined, contests interleaved across the whole file. With contest ids dense enough to
// count (span <= 4n, the usual case) the grouping is a stable counting sort: each worker
// counts the contests of its own slice of rows, the counts become per-worker offsets,
// and each worker scatters its rows to their places. Within a contest the rows keep
// their arrival order, so rows that arrived in entry_id order (both file orders above)
// are done; a contest whose rows are out of order is sorted on its own, in parallel with
// the others. Sparse contest ids take the serial radix sort of a permutation.

// denseSpanFactor bounds the contest-id span counted directly, as a multiple of the
// number of entries (the counters take 4 bytes per id of the span per worker).
const denseSpanFactor = 4

// sortColumns returns the columns ordered by (contest, entry), stably, using up to
// workers goroutines. The inputs may be overwritten (and returned).
func sortColumns(contest, entry, user []int64, team []uint32, workers int) ([]int64, []int64, []int64, []uint32) {
	return sortColumnsChunked(contest, entry, user, team, workers, minRowsPerWorker, twoLevelSpan)
}

// twoLevelSpan is the contest-id span from which the scatter takes two passes: rows
// first go to one of at most 1<<bucketBits buckets of neighbouring contest ids (few
// enough output streams to stay in cache), then each bucket, now cache-sized, is
// scattered to its contests. One pass over millions of contests writes every row to a
// random place in memory (56M entries, 2M contests: ~5 s of CPU).
const (
	twoLevelSpan = 1 << 20
	bucketBits   = 10
)

// minRowsPerWorker is the fewest rows worth a goroutine of their own.
const minRowsPerWorker = 1 << 14

// sortColumnsChunked is sortColumns giving each worker at least minRows rows and taking
// two passes from a contest-id span of twoLevel (tests use tiny values to run the
// parallel paths on small inputs). The input slices may be overwritten.
func sortColumnsChunked(contest, entry, user []int64, team []uint32, workers, minRows int, twoLevel uint64) ([]int64, []int64, []int64, []uint32) {
	n := len(contest)
	if n < 2 || sortedByContestEntry(contest, entry) {
		return contest, entry, user, team
	}
	lo, hi := slices.Min(contest), slices.Max(contest)
	span := uint64(hi) - uint64(lo) + 1
	if span == 0 || span > uint64(denseSpanFactor*n+1024) {
		return sortColumnsSparse(contest, entry, user, team)
	}
	if span >= twoLevel && span > 1 {
		sortTwoLevel(contest, entry, user, team, uint64(lo), span, workers, minRows)
		sortWithinContests(contest, entry, user, team, workers, minRows)
		return contest, entry, user, team
	}
	w := max(1, min(workers, n/minRows))
	if uint64(w)*span > uint64(denseSpanFactor*n+1024)*2 {
		w = 1 // keep the counters within a few bytes per entry
	}
	chunk := (n + w - 1) / w
	counts := make([][]uint32, w)
	parallel(w, func(k int) {
		c := make([]uint32, span)
		for _, id := range contest[min(n, k*chunk):min(n, (k+1)*chunk)] {
			c[uint64(id)-uint64(lo)]++
		}
		counts[k] = c
	})
	// Offsets: contest by contest, worker by worker (so the scatter is stable).
	var sum uint32
	for d := range span {
		for k := range w {
			c := counts[k][d]
			counts[k][d] = sum
			sum += c
		}
	}
	oc, oe, ou, ot := make([]int64, n), make([]int64, n), make([]int64, n), make([]uint32, n)
	parallel(w, func(k int) {
		off := counts[k]
		a, b := min(n, k*chunk), min(n, (k+1)*chunk)
		for i := a; i < b; i++ {
			d := uint64(contest[i]) - uint64(lo)
			j := off[d]
			off[d] = j + 1
			oc[j], oe[j], ou[j], ot[j] = contest[i], entry[i], user[i], team[i]
		}
	})
	sortWithinContests(oc, oe, ou, ot, workers, minRows)
	return oc, oe, ou, ot
}

// sortTwoLevel orders the rows by contest id (id - lo < span), stably, in place: a
// parallel stable scatter into buckets of 1<<shift neighbouring ids (into scratch
// columns), then each bucket scattered back to its contests by the low bits, buckets
// shared among workers.
func sortTwoLevel(contest, entry, user []int64, team []uint32, lo, span uint64, workers, minRows int) {
	n := len(contest)
	shift := uint(max(0, bits.Len64(span-1)-bucketBits))
	nb := int((span-1)>>shift) + 1
	w := max(1, min(workers, n/minRows))
	chunk := (n + w - 1) / w
	counts := make([][]uint32, w)
	parallel(w, func(k int) {
		c := make([]uint32, nb)
		for _, id := range contest[min(n, k*chunk):min(n, (k+1)*chunk)] {
			c[(uint64(id)-lo)>>shift]++
		}
		counts[k] = c
	})
	bucketStart := make([]uint32, nb+1)
	var sum uint32
	for b := range nb {
		bucketStart[b] = sum
		for k := range w {
			c := counts[k][b]
			counts[k][b] = sum
			sum += c
		}
	}
	bucketStart[nb] = sum
	tc, te, tu, tt := make([]int64, n), make([]int64, n), make([]int64, n), make([]uint32, n)
	parallel(w, func(k int) {
		off := counts[k]
		a, b := min(n, k*chunk), min(n, (k+1)*chunk)
		for i := a; i < b; i++ {
			d := (uint64(contest[i]) - lo) >> shift
			j := off[d]
			off[d] = j + 1
			tc[j], te[j], tu[j], tt[j] = contest[i], entry[i], user[i], team[i]
		}
	})
	var next atomic.Int64
	parallel(max(1, min(workers, nb)), func(int) {
		c := make([]uint32, 1<<shift)
		mask := uint64(1)<<shift - 1
		for {
			b := int(next.Add(1) - 1)
			if b >= nb {
				return
			}
			b0, b1 := bucketStart[b], bucketStart[b+1]
			if b0 == b1 {
				continue
			}
			clear(c)
			for _, id := range tc[b0:b1] {
				c[(uint64(id)-lo)&mask]++
			}
			sum := b0
			for d, x := range c {
				c[d] = sum
				sum += x
			}
			for i := b0; i < b1; i++ {
				d := (uint64(tc[i]) - lo) & mask
				j := c[d]
				c[d] = j + 1
				contest[j], entry[j], user[j], team[j] = tc[i], te[i], tu[i], tt[i]
			}
		}
	})
}

// sortWithinContests sorts each run of equal contest ids by entry id, the runs shared
// among workers.
func sortWithinContests(contest, entry, user []int64, team []uint32, workers, minRows int) {
	n := len(contest)
	w := max(1, min(workers, n/minRows))
	chunk := (n + w - 1) / w
	parallel(w, func(k int) {
		// A worker takes the runs that start in its chunk.
		a, b := min(n, k*chunk), min(n, (k+1)*chunk)
		for a > 0 && a < n && contest[a] == contest[a-1] {
			a++
		}
		var perm, tmp []uint32
		for i := a; i < n && i < b; {
			j := i + 1
			sorted := true
			for j < n && contest[j] == contest[i] {
				sorted = sorted && entry[j] > entry[j-1]
				j++
			}
			if !sorted {
				perm, tmp = sortRun(entry[i:j], user[i:j], team[i:j], perm, tmp)
			}
			i = j
		}
	})
}

// sortRun sorts one contest's rows by entry id (insertion sort when short, else a
// radix-sorted permutation applied to the three columns).
func sortRun(entry, user []int64, team []uint32, perm, tmp []uint32) ([]uint32, []uint32) {
	n := len(entry)
	if n <= 32 {
		for i := 1; i < n; i++ {
			e, u, t := entry[i], user[i], team[i]
			j := i
			for ; j > 0 && entry[j-1] > e; j-- {
				entry[j], user[j], team[j] = entry[j-1], user[j-1], team[j-1]
			}
			entry[j], user[j], team[j] = e, u, t
		}
		return perm, tmp
	}
	perm, tmp = grow(&perm, n), grow(&tmp, n)
	for i := range perm {
		perm[i] = uint32(i)
	}
	sortPermByKey(perm, tmp, entry)
	applyPerm(entry, perm)
	applyPerm(user, perm)
	applyPerm(team, perm)
	return perm, tmp
}

func applyPerm[T any](v []T, perm []uint32) {
	c := slices.Clone(v)
	for i, p := range perm {
		v[i] = c[p]
	}
}

// sortColumnsSparse is the serial sort for contest ids too sparse to count.
func sortColumnsSparse(contest, entry, user []int64, team []uint32) ([]int64, []int64, []int64, []uint32) {
	n := len(contest)
	perm := make([]uint32, n)
	for i := range perm {
		perm[i] = uint32(i)
	}
	tmp := make([]uint32, n)
	sortPermByKey(perm, tmp, entry)
	sortPermByKey(perm, tmp, contest)
	return gather(contest, perm), gather(entry, perm), gather(user, perm), gather(team, perm)
}

// renumberTeams numbers teams in order of their first entry (entries in their final
// order), so that the teams of a contest, read at random once per entry every cycle, lie
// close together in the team tables instead of anywhere in them. It rewrites team (per
// entry) and returns the old number of each new one.
func renumberTeams(team []uint32, nTeams int) (oldOf []uint32) {
	newOf := make([]uint32, nTeams)
	for i := range newOf {
		newOf[i] = noTeam
	}
	oldOf = make([]uint32, 0, nTeams)
	for i, t := range team {
		nt := newOf[t]
		if nt == noTeam {
			nt = uint32(len(oldOf))
			newOf[t] = nt
			oldOf = append(oldOf, t)
		}
		team[i] = nt
	}
	if len(oldOf) != nTeams {
		panic("BUG: a team without entries") // every team is created by an entry
	}
	return oldOf
}

// permuteTeams reorders the per-team tables by oldOf (new number -> old number).
func permuteTeams[T any](v []T, width int, oldOf []uint32) []T {
	out := make([]T, len(v))
	for nt, ot := range oldOf {
		copy(out[nt*width:(nt+1)*width], v[int(ot)*width:(int(ot)+1)*width])
	}
	return out
}

// parallel runs fn(0..w-1) on w goroutines and waits for them.
func parallel(w int, fn func(k int)) {
	if w == 1 {
		fn(0)
		return
	}
	var wg sync.WaitGroup
	for k := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(k)
		}()
	}
	wg.Wait()
}

package api

import (
	"container/heap"
	"math"
	"sort"

	"github.com/fantasy/leaderboard/records"
)

// partContests is one entries partition's list of a match's contests (size descending,
// then id), as far as it has been read: chunk holds cs, the next contest is cs[i].
type partContests struct {
	part  int32
	total int64 // contests of the match in the partition
	chunk int64
	cs    []records.ContestSize
	i     int
	ahead [][]records.ContestSize // chunks chunk+1, chunk+2, ... read already
}

// done reports whether every contest of the partition has been taken.
func (p *partContests) done(per int64) bool {
	return p.i >= len(p.cs) && (p.chunk+1)*per >= p.total
}

// chunkRef names chunk n of partition p's list.
type chunkRef struct {
	p *partContests
	n int64
}

// loadChunks returns the contests of each chunk named (per contests, a list's last chunk
// shorter), read in one batch. It may be asked for a chunk it returned before.
type loadChunks func(refs []chunkRef) ([][]records.ContestSize, error)

// mergeContests returns positions [from, to) of the match's contests largest first: the
// k-way merge of the partitions' lists, each holding its chunk 0 (or none when its total
// is 0). A partition's next chunk is loaded only when the merge has taken the last
// contest of the one it holds and needs its next. A single partition's list is the
// match's, so it skips straight to chunk from/per; several skip ahead when skipAhead
// proves it safe.
func mergeContests(parts []*partContests, per, from, to int64, load loadChunks) ([]records.ContestSize, error) {
	var total int64
	for _, p := range parts {
		total += p.total
	}
	to = min(to, total)
	if from >= to {
		return []records.ContestSize{}, nil
	}
	out := make([]records.ContestSize, 0, to-from)
	pos := int64(0)
	if len(parts) == 1 {
		p := parts[0]
		if n := from / per; n != p.chunk {
			cs, err := load([]chunkRef{{p, n}})
			if err != nil {
				return nil, err
			}
			p.chunk, p.cs = n, cs[0]
		}
		p.i, pos = int(from%per), from
	} else if from >= 2*per {
		var err error
		if pos, err = skipAhead(parts, per, from, to, total, load); err != nil {
			return nil, err
		}
	}
	h := make(contestHeap, 0, len(parts))
	for _, p := range parts {
		if p.i < len(p.cs) {
			h = append(h, p)
		}
	}
	heap.Init(&h)
	for pos < to && len(h) > 0 {
		p := h[0]
		if pos >= from {
			out = append(out, p.cs[p.i])
		}
		pos++
		p.i++
		if pos == to {
			break // read no chunk past the window
		}
		if p.i == len(p.cs) {
			if p.done(per) {
				heap.Pop(&h)
				continue
			}
			if len(p.ahead) == 0 {
				cs, err := load([]chunkRef{{p, p.chunk + 1}})
				if err != nil {
					return nil, err
				}
				p.ahead = cs
			}
			p.chunk, p.cs, p.i, p.ahead = p.chunk+1, p.ahead[0], 0, p.ahead[1:]
		}
		heap.Fix(&h, 0)
	}
	return out, nil
}

// skipAhead moves the partitions past a prefix of the merge that lies before from,
// reading in one batch what merging it would read one chunk at a time. Contests are
// spread over partitions by a hash of their id, so each partition's list is a sample of
// the match's: of the merge's first g contests partition p holds about g * s (s =
// total_p / total), give or take sd = sqrt(g * s * (1 - s)). With e = from * s and a
// margin m = 3 sd, skipAhead reads each partition's chunks covering its contests
// [e - 2m, to * s + m) and takes as threshold v the earliest of the partitions' contests
// at e - m. Each partition's contests up to v are then counted exactly, if v is not
// before its span's first contest (unless the span starts the list) and not after its
// span's last (unless the span ends it); those contests, and no others, are the merge's
// first sum-of-counts, which is <= from since v is at or before every partition's
// contest at e - m. When a check fails (a partition strays past the margin: rare)
// nothing moves and the merge starts from the top. It returns the number of contests
// skipped.
func skipAhead(parts []*partContests, per, from, to, total int64, load loadChunks) (int64, error) {
	type span struct {
		first, end int64 // chunks [first, end)
		at         int64 // the candidate's index in the partition's list, -1: none
	}
	spans := make([]span, len(parts))
	var refs []chunkRef
	for k, p := range parts {
		if p.total == 0 {
			continue
		}
		s := float64(p.total) / float64(total)
		m := int64(math.Ceil(3*math.Sqrt(float64(from)*s*(1-s)))) + 1
		e, eTo := int64(float64(from)*s), int64(float64(to)*s)
		sp := span{first: max(e-2*m, 0) / per, end: min((eTo+m)/per+1, (p.total+per-1)/per), at: -1}
		if e-m >= 0 && e-m < p.total {
			sp.at = e - m
		}
		spans[k] = sp
		for c := sp.first; c < sp.end; c++ {
			refs = append(refs, chunkRef{p, c})
		}
	}
	if len(refs) == 0 || len(refs) > maxSkipChunks {
		return 0, nil
	}
	cs, err := load(refs)
	if err != nil {
		return 0, err
	}
	// Each partition's span as one list, and v.
	lists := make([][]records.ContestSize, len(parts))
	var v records.ContestSize
	j, found := 0, false
	for k, sp := range spans {
		for c := sp.first; c < sp.end; c++ {
			lists[k] = append(lists[k], cs[j]...)
			j++
		}
		if i := sp.at - sp.first*per; sp.at >= 0 && i < int64(len(lists[k])) && (!found || precedes(lists[k][i], v)) {
			v, found = lists[k][i], true
		}
	}
	if !found {
		return 0, nil
	}
	var skipped int64
	counts := make([]int64, len(parts))
	for k, l := range lists {
		p := parts[k]
		if len(l) == 0 {
			continue
		}
		if precedes(v, l[0]) && spans[k].first > 0 || precedes(l[len(l)-1], v) && spans[k].end*per < p.total {
			return 0, nil // its contests up to v are not all counted in its span
		}
		n := int64(sort.Search(len(l), func(i int) bool { return precedes(v, l[i]) })) // those up to v
		counts[k] = spans[k].first*per + n
		skipped += counts[k]
	}
	if skipped > from {
		return 0, nil
	}
	var next []chunkRef // partitions whose span is spent: their next chunk
	for k, p := range parts {
		if len(lists[k]) == 0 {
			continue
		}
		c := counts[k] / per
		p.chunk, p.i = c, int(counts[k]%per)
		switch off := c - spans[k].first; {
		case c < spans[k].end:
			p.cs = lists[k][off*per : min((off+1)*per, int64(len(lists[k])))]
			for n := off + 1; n*per < int64(len(lists[k])); n++ {
				p.ahead = append(p.ahead, lists[k][n*per:min((n+1)*per, int64(len(lists[k])))])
			}
		case c*per < p.total: // its span is spent up to v
			p.cs = nil
			next = append(next, chunkRef{p, c})
		default: // every contest of the partition is before v
			p.cs = nil
		}
	}
	if len(next) > 0 {
		more, err := load(next)
		if err != nil {
			return 0, err
		}
		for k, r := range next {
			r.p.cs = more[k]
		}
	}
	return skipped, nil
}

// maxSkipChunks bounds skipAhead's batch. A span is about 9 sd / 1000 + 2 chunks: at
// most 9 for a partition of a 2M-contest match (sd <= 707), fewer the more partitions.
// Totals far beyond any match's (a corrupt record) would ask for more: then the merge
// starts from the top, where a missing chunk is found mid-write.
const maxSkipChunks = 4096

// precedes reports whether contest a comes before b in the match's list: larger first,
// then lower id.
func precedes(a, b records.ContestSize) bool {
	return a.Size > b.Size || a.Size == b.Size && a.ID < b.ID
}

// contestHeap orders partitions by their next contest: largest first, then lowest id.
type contestHeap []*partContests

func (h contestHeap) Len() int           { return len(h) }
func (h contestHeap) Less(a, b int) bool { return precedes(h[a].cs[h[a].i], h[b].cs[h[b].i]) }
func (h contestHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *contestHeap) Push(x any)        { *h = append(*h, x.(*partContests)) }
func (h *contestHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

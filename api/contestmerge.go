package api

import (
	"container/heap"

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
}

// done reports whether every contest of the partition has been taken.
func (p *partContests) done(per int64) bool {
	return p.i >= len(p.cs) && (p.chunk+1)*per >= p.total
}

// loadChunk returns chunk n of partition p's list (per contests, the last one shorter).
type loadChunk func(p *partContests, n int64) ([]records.ContestSize, error)

// mergeContests returns positions [from, to) of the match's contests largest first: the
// k-way merge of the partitions' lists, each holding its chunk 0 (or none when its total
// is 0). A partition's next chunk is loaded only when the merge has taken the last
// contest of the one it holds and needs its next. A single partition's list is the
// match's, so it skips straight to chunk from/per.
func mergeContests(parts []*partContests, per, from, to int64, load loadChunk) ([]records.ContestSize, error) {
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
			cs, err := load(p, n)
			if err != nil {
				return nil, err
			}
			p.chunk, p.cs = n, cs
		}
		p.i, pos = int(from%per), from
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
			cs, err := load(p, p.chunk+1)
			if err != nil {
				return nil, err
			}
			p.chunk, p.cs, p.i = p.chunk+1, cs, 0
		}
		heap.Fix(&h, 0)
	}
	return out, nil
}

// contestHeap orders partitions by their next contest: largest first, then lowest id.
type contestHeap []*partContests

func (h contestHeap) Len() int { return len(h) }
func (h contestHeap) Less(a, b int) bool {
	x, y := h[a].cs[h[a].i], h[b].cs[h[b].i]
	return x.Size > y.Size || x.Size == y.Size && x.ID < y.ID
}
func (h contestHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *contestHeap) Push(x any)   { *h = append(*h, x.(*partContests)) }
func (h *contestHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

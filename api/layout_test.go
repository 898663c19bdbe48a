package api

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fantasy/leaderboard/records"
)

// TestMergeContests: the merge of three partitions' lists (one empty), with chunks of 3,
// equals the sorted union for every window, reads a partition's next chunk only when the
// window needs a contest past the one it holds, and a single partition skips to the
// window's chunk.
func TestMergeContests(t *testing.T) {
	const per = 3
	rng := rand.New(rand.NewPCG(7, 9))
	lists := map[int32][]records.ContestSize{}
	var all []records.ContestSize
	id := int64(100)
	for _, p := range []int32{0, 5, 6} {
		n := map[int32]int{0: 10, 5: 0, 6: 7}[p]
		for range n {
			id++
			lists[p] = append(lists[p], records.ContestSize{ID: id, Size: int64(rng.IntN(4))}) // ties across partitions
		}
	}
	order := func(a, b records.ContestSize) int {
		return cmp.Or(cmp.Compare(b.Size, a.Size), cmp.Compare(a.ID, b.ID))
	}
	for p := range lists {
		slices.SortFunc(lists[p], order)
		all = append(all, lists[p]...)
	}
	slices.SortFunc(all, order)
	partOf := map[int64]int32{}
	for p, l := range lists {
		for _, cs := range l {
			partOf[cs.ID] = p
		}
	}
	chunk := func(p int32, n int64) []records.ContestSize {
		l := lists[p]
		return l[min(n*per, int64(len(l))):min((n+1)*per, int64(len(l)))]
	}
	start := func(ps ...int32) []*partContests {
		var out []*partContests
		for _, p := range ps {
			out = append(out, &partContests{part: p, total: int64(len(lists[p])), cs: chunk(p, 0)})
		}
		return out
	}
	total := int64(len(all))
	for from := int64(0); from <= total+1; from++ {
		for to := from; to <= total+2; to++ {
			type load struct {
				p int32
				n int64
			}
			var loads []load
			got, err := mergeContests(start(0, 5, 6), per, from, to, func(p *partContests, n int64) ([]records.ContestSize, error) {
				loads = append(loads, load{p.part, n})
				return chunk(p.part, n), nil
			})
			want := all[min(from, total):min(to, total)]
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("[%d, %d): %v, %v; want %v", from, to, got, err, want)
			}
			for k, l := range loads {
				// Chunk n is read once, only when the partition's chunk n-1 was spent before
				// the window's last position.
				spent := 0
				for _, cs := range all[:max(min(to, total)-1, 0)] {
					if partOf[cs.ID] == l.p {
						spent++
					}
				}
				if int64(spent) < l.n*per || slices.Contains(loads[:k], l) {
					t.Fatalf("[%d, %d): read chunk %d of partition %d, %d of its contests taken before the end", from, to, l.n, l.p, spent)
				}
			}
		}
	}

	// One partition: straight to the window's chunk, then its next ones.
	var loads []int64
	got, err := mergeContests(start(0), per, 7, 9, func(p *partContests, n int64) ([]records.ContestSize, error) {
		loads = append(loads, n)
		return chunk(0, n), nil
	})
	if err != nil || !slices.Equal(got, lists[0][7:9]) || !slices.Equal(loads, []int64{2}) {
		t.Fatalf("one partition [7, 9): %v %v, chunks read %v; want %v and chunk 2", got, err, loads, lists[0][7:9])
	}

	// A failed read is the answer's error.
	boom := errors.New("boom")
	if _, err := mergeContests(start(0, 6), per, 0, total, func(*partContests, int64) ([]records.ContestSize, error) {
		return nil, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("a failed chunk read: %v", err)
	}
}

// TestPartitionBehind: a match partition record at a cycle below its contest's (its log
// does not reach the contest's cycle) or below the match's commit is a cycle being
// written: the answer reads again, and answers 503 if that persists.
func TestPartitionBehind(t *testing.T) {
	f := newFixtureCopy()
	srv, _ := newTestServer(t, f.store, nil)
	md := f.matches[liveMatch]
	var cid int64 // a contest at cycle 2 in the second partition
	for _, c := range md.contests {
		if md.cycle[c] == 2 && md.part[c] == liveParts[1] {
			cid = c
			break
		}
	}
	w := md.ranked[cid][0]
	behind := func(times int) func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
		return func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
			if set == records.SetMatchPart && ok && times != 0 {
				times--
				b["cycle"] = int64(1) // the record of the cycle before: the next is being written
			}
			return b, ok, nil
		}
	}
	for _, path := range []string{
		fmt.Sprintf("/v1/contests/%d/entries/%d", cid, w.EntryID),
		fmt.Sprintf("/v1/contests/%d/entries/%d/around", cid, w.EntryID),
		fmt.Sprintf("/v1/contests/%d/entries/%d/history", cid, w.EntryID),
		fmt.Sprintf("/v1/entries/%d", w.EntryID),
		fmt.Sprintf("/v1/users/%d/entries?match_id=%d", w.UserID, liveMatch),
		fmt.Sprintf("/v1/matches/%d", liveMatch),
	} {
		f.store.setHook(behind(1))
		fetch(t, srv, path, 200, nil)
		f.store.setHook(behind(-1))
		var got struct{ Error string }
		fetch(t, srv, path, 503, &got)
		if !strings.Contains(got.Error, "at cycle 1") || !strings.Contains(got.Error, "retry") {
			t.Fatalf("%s: %q", path, got.Error)
		}
	}
	f.store.setHook(nil)
}

// TestContestsMidWrite: a partition's later chunk that disagrees with its chunk 0 (its
// list being rewritten) makes the contests answer read again, with the same answer as
// an undisturbed read; if that persists the answer is 503.
func TestContestsMidWrite(t *testing.T) {
	f := newFixtureCopy()
	srv, _ := newTestServer(t, f.store, nil)
	md := f.matches[chunkMatch]
	path := fmt.Sprintf("/v1/matches/%d/contests?offset=1999&limit=1000", chunkMatch)
	var want tContests
	fetch(t, srv, path, 200, &want)
	late := records.ChunkKey(chunkMatch, chunkParts[0], 1)
	rewritten := func(times int) func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
		return func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
			if set == records.SetContests && key == late && ok && times != 0 {
				times--
				b["total"] = b["total"].(int64) + 1 // the next list's, longer by one
			}
			return b, ok, nil
		}
	}
	f.store.setHook(rewritten(1))
	var got tContests
	fetch(t, srv, path, 200, &got)
	if got.Total != int64(len(md.sizes)) || !slices.Equal(got.Contests, want.Contests) {
		t.Fatalf("after a re-read: total %d, %d contests; want %d and the undisturbed answer", got.Total, len(got.Contests), len(md.sizes))
	}
	f.store.setHook(rewritten(-1))
	var e struct{ Error string }
	fetch(t, srv, path, 503, &e)
	if !strings.Contains(e.Error, fmt.Sprintf("chunk 1 of the contests of match %d partition %d", chunkMatch, chunkParts[0])) {
		t.Fatalf("%q", e.Error)
	}
	f.store.setHook(nil)
}

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

// mergeFixture is partitions' contest lists for the merge tests, and the match's list.
type mergeFixture struct {
	per    int64
	lists  map[int32][]records.ContestSize // each sorted, largest first
	all    []records.ContestSize           // the union, sorted
	partOf map[int64]int32
}

func newMergeFixture(per int64, lists map[int32][]records.ContestSize) *mergeFixture {
	f := &mergeFixture{per: per, lists: lists, partOf: map[int64]int32{}}
	order := func(a, b records.ContestSize) int {
		return cmp.Or(cmp.Compare(b.Size, a.Size), cmp.Compare(a.ID, b.ID))
	}
	for p, l := range lists {
		slices.SortFunc(l, order)
		f.all = append(f.all, l...)
		for _, cs := range l {
			f.partOf[cs.ID] = p
		}
	}
	slices.SortFunc(f.all, order)
	return f
}

func (f *mergeFixture) chunk(p int32, n int64) []records.ContestSize {
	l := f.lists[p]
	return l[min(n*f.per, int64(len(l))):min((n+1)*f.per, int64(len(l)))]
}

// merge runs mergeContests over the partitions ps from their chunk 0, and returns what
// it answered and every chunk it asked for, batch by batch.
func (f *mergeFixture) merge(t *testing.T, from, to int64, ps ...int32) ([]records.ContestSize, [][]chunkRef) {
	t.Helper()
	var parts []*partContests
	for _, p := range ps {
		parts = append(parts, &partContests{part: p, total: int64(len(f.lists[p])), cs: f.chunk(p, 0)})
	}
	var batches [][]chunkRef
	got, err := mergeContests(parts, f.per, from, to, func(refs []chunkRef) ([][]records.ContestSize, error) {
		batches = append(batches, slices.Clone(refs))
		out := make([][]records.ContestSize, len(refs))
		for k, r := range refs {
			out[k] = f.chunk(r.p.part, r.n)
		}
		return out, nil
	})
	total := int64(len(f.all))
	if want := f.all[min(from, total):min(to, total)]; err != nil || !slices.Equal(got, want) {
		t.Fatalf("[%d, %d): %v, %v; want %v", from, to, got, err, want)
	}
	return got, batches
}

// TestMergeContests: the merge of three partitions' lists (one empty), with chunks of 3,
// equals the sorted union for every window; before the skip-ahead starts it reads a
// partition's next chunk once and only when the window needs a contest past the one it
// holds; a single partition skips to the window's chunk.
func TestMergeContests(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	lists := map[int32][]records.ContestSize{}
	id := int64(100)
	for p, n := range map[int32]int{0: 10, 5: 0, 6: 7} {
		lists[p] = []records.ContestSize{}
		for range n {
			id++
			lists[p] = append(lists[p], records.ContestSize{ID: id, Size: int64(rng.IntN(4))}) // ties across partitions
		}
	}
	f := newMergeFixture(3, lists)
	total := int64(len(f.all))
	for from := int64(0); from <= total+1; from++ {
		for to := from; to <= total+2; to++ {
			_, batches := f.merge(t, from, to, 0, 5, 6)
			if from >= 2*f.per {
				continue // skipAhead may read a batch ahead
			}
			var seen []chunkRef
			for _, b := range batches {
				l := b[0]
				// Chunk n is read once, only when the partition's chunk n-1 was spent
				// before the window's last position.
				spent := 0
				for _, cs := range f.all[:max(min(to, total)-1, 0)] {
					if f.partOf[cs.ID] == l.p.part {
						spent++
					}
				}
				if len(b) != 1 || int64(spent) < l.n*f.per || slices.ContainsFunc(seen, func(r chunkRef) bool { return r.p.part == l.p.part && r.n == l.n }) {
					t.Fatalf("[%d, %d): read %d chunks, chunk %d of partition %d, %d of its contests taken before the end", from, to, len(b), l.n, l.p.part, spent)
				}
				seen = append(seen, l)
			}
		}
	}

	// One partition: straight to the window's chunk, then its next ones.
	one := newMergeFixture(3, map[int32][]records.ContestSize{0: lists[0]})
	got, batches := one.merge(t, 7, 9, 0)
	if !slices.Equal(got, lists[0][7:9]) || len(batches) != 1 || len(batches[0]) != 1 || batches[0][0].n != 2 {
		t.Fatalf("one partition [7, 9): %v, chunks read %v; want %v and chunk 2", got, batches, lists[0][7:9])
	}

	// A failed read is the answer's error.
	boom := errors.New("boom")
	parts := []*partContests{{part: 0, total: 10, cs: f.chunk(0, 0)}, {part: 6, total: 7, cs: f.chunk(6, 0)}}
	if _, err := mergeContests(parts, f.per, 0, total, func([]chunkRef) ([][]records.ContestSize, error) {
		return nil, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("a failed chunk read: %v", err)
	}
}

// TestMergeSkipAhead: with contests spread over partitions by a hash of their id (as
// the engine spreads them), a deep window reads one batch to skip ahead and then about
// the window's chunks, not every chunk above it; with one partition holding all the
// largest contests the skip does not hold, and the answer is still the merge's.
func TestMergeSkipAhead(t *testing.T) {
	const per, n = 10, 6000
	spread := map[int32][]records.ContestSize{}
	skewed := map[int32][]records.ContestSize{}
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range n {
		cs := records.ContestSize{ID: int64(k + 1), Size: int64(2 + rng.IntN(300))}
		sp := int32(rng.IntN(4))
		spread[sp] = append(spread[sp], cs)
		p := int32(k % 4)
		if cs.Size > 200 {
			p = 0
		}
		skewed[p] = append(skewed[p], cs)
	}
	fs, fk := newMergeFixture(per, spread), newMergeFixture(per, skewed)
	for _, w := range [][2]int64{{20, 30}, {999, 1011}, {3000, 3100}, {5990, 6000}, {5999, 7000}, {6000, 6050}} {
		_, batches := fs.merge(t, w[0], w[1], 0, 1, 2, 3)
		reads := 0
		for _, b := range batches {
			reads += len(b)
		}
		// Merging from the top reads every chunk above the window (from/per), one at a
		// time; the skip reads the partitions' spans in one batch, which hold the window.
		if bound := w[0]/per + (w[1]-w[0])/per + 2*4; w[0] >= 2*per && w[0] < n && (int64(reads) > bound || len(batches) > 1) {
			t.Fatalf("spread [%d, %d): %d chunks in %d batches, want <= %d in one", w[0], w[1], reads, len(batches), bound)
		}
		t.Logf("spread [%d, %d): %d chunks in %d batches", w[0], w[1], reads, len(batches))
		fk.merge(t, w[0], w[1], 0, 1, 2, 3) // correct, however many reads
	}
	// Many small random cases, every window: ties, empty and tiny partitions.
	for c := range 300 {
		lists := map[int32][]records.ContestSize{}
		parts := []int32{}
		for p := range int32(2 + rng.IntN(4)) {
			parts = append(parts, p)
			lists[p] = []records.ContestSize{}
		}
		for k := range rng.IntN(60) {
			p := parts[rng.IntN(len(parts))]
			lists[p] = append(lists[p], records.ContestSize{ID: int64(c*1000 + k), Size: int64(rng.IntN(5))})
		}
		f := newMergeFixture(int64(1+rng.IntN(4)), lists)
		for from := int64(0); from <= int64(len(f.all)); from++ {
			f.merge(t, from, from+1+int64(rng.IntN(5)), parts...)
		}
	}

	// A small partition holding all the largest contests, and a large one: every window.
	small := map[int32][]records.ContestSize{0: {}, 1: {}}
	for k := range 1000 {
		small[0] = append(small[0], records.ContestSize{ID: int64(10_000 + k), Size: int64(1 + k%50)})
	}
	for k := range 30 {
		small[1] = append(small[1], records.ContestSize{ID: int64(20_000 + k), Size: 100})
	}
	fsm := newMergeFixture(1, small)
	for from := int64(0); from <= 1031; from += 1 + from/50 {
		fsm.merge(t, from, from+7, 0, 1)
	}

	// The skewed lists make the skip fail: the merge then starts from the top.
	_, batches := fk.merge(t, 3000, 3010, 0, 1, 2, 3)
	if len(batches) < 3000/per/2 {
		t.Fatalf("skewed: %d batches; the skip cannot hold there, so the merge reads from the top", len(batches))
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

// TestContestsDeepWindow: a deep window of a match in four partitions (contests spread
// by a hash of their id, 5 chunks each) reads the match, chunk 0 of every partition, and
// one batch to skip ahead, instead of every chunk above the window one at a time; the
// answer is the match's list.
func TestContestsDeepWindow(t *testing.T) {
	st := newFakeStore()
	const match, n = int64(77), 20_000
	parts := []int32{1, 3, 5, 7}
	lists := map[int32][]records.ContestSize{}
	rng := rand.New(rand.NewPCG(5, 6))
	for k := range n {
		p := parts[rng.IntN(len(parts))]
		lists[p] = append(lists[p], records.ContestSize{ID: int64(900_000 + k), Size: int64(2 + rng.IntN(5000))})
	}
	mf := newMergeFixture(records.ContestsPerChunk, lists)
	for _, p := range parts {
		st.put(records.Live, chunkRecords(match, p, mf.lists[p])...)
	}
	st.put(records.Live, records.Match{ID: match, State: records.StateLive, Cycle: 4, Contests: n, Parts: parts}.Record())
	srv, _ := newTestServer(t, st, nil)
	for _, w := range [][2]int{{15_000, 1000}, {9_999, 2}, {19_990, 50}} {
		st.resetCounts()
		var got tContests
		fetch(t, srv, fmt.Sprintf("/v1/matches/%d/contests?offset=%d&limit=%d", match, w[0], w[1]), 200, &got)
		want := mf.all[w[0]:min(w[0]+w[1], n)]
		if got.Total != n || len(got.Contests) != len(want) {
			t.Fatalf("offset %d: total %d, %d contests; want %d and %d", w[0], got.Total, len(got.Contests), n, len(want))
		}
		for k, c := range got.Contests {
			if c.ContestID != want[k].ID || c.Entries != want[k].Size {
				t.Fatalf("offset %d: contest %d is %+v, want %+v", w[0], k, c, want[k])
			}
		}
		if calls := st.calls.Load(); calls > 4 {
			t.Fatalf("offset %d: %d store calls, want <= 4 (match, chunks 0, the skip's batch, a next chunk)", w[0], calls)
		}
	}
}

// TestMatchPlayersFromEveryPartition: in a cluster each partition's log holds the players
// of its writer's lineups; the match answer lists their union, at the commit's cycle.
func TestMatchPlayersFromEveryPartition(t *testing.T) {
	f := newFixtureCopy()
	const id = 777
	log1 := records.PointsLog{}.Append(3, 1000, map[int32]int64{10: 500, 12: 100})
	log4 := records.PointsLog{}.Append(2, 900, map[int32]int64{11: 50}).Append(3, 1000, map[int32]int64{11: 750, 12: 100})
	f.store.put(records.Live,
		records.Match{ID: id, State: records.StateLive, Cycle: 3, AsOf: 1000, Parts: []int32{1, 4}}.Record(),
		records.MatchPart{Match: id, Part: 1, State: records.StateLive, Cycle: 3, AsOf: 1000, Log: log1}.Record(),
		records.MatchPart{Match: id, Part: 4, State: records.StateLive, Cycle: 3, AsOf: 1000, Log: log4}.Record())
	srv, _ := newTestServer(t, f.store, nil)
	var got struct {
		Players []struct {
			PlayerID int32   `json:"player_id"`
			Points   float64 `json:"points"`
		} `json:"players"`
	}
	fetch(t, srv, "/v1/matches/777", 200, &got)
	want := map[int32]float64{10: 5, 11: 7.5, 12: 1}
	if len(got.Players) != len(want) {
		t.Fatalf("players %+v, want %v", got.Players, want)
	}
	for _, p := range got.Players {
		if want[p.PlayerID] != p.Points {
			t.Fatalf("players %+v, want %v", got.Players, want)
		}
	}
}

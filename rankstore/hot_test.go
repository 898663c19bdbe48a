package rankstore

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// TestHotSlabs: a cycle's contest and page records fill slabs apart from the entry and
// user records written with them (slabClass), so rewriting every contest and page, cycle
// after cycle, never copies an entry record (compactions copy the few contests and pages
// left in the slab that was being filled), the garbage is reclaimed, and every record
// reads back as last written.
func TestHotSlabs(t *testing.T) {
	if codedSets[setCodeContest] != records.SetContest || codedSets[setCodePage] != records.SetPage {
		t.Fatalf("setCodeContest, setCodePage = %d, %d: not the codes of %q and %q", setCodeContest, setCodePage, records.SetContest, records.SetPage)
	}
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	const contests, perContest = 300, 8
	contest := func(id, cycle int64) records.Record {
		rows := make([]records.Row, 40)
		for j := range rows {
			rows[j] = records.Row{Rank: int64(j + 1), EntryID: id*100 + int64(j), UserID: int64(j), TeamID: 1, Points: cycle*1000 - int64(j)}
		}
		r := records.Contest{ID: id, Match: 1, Cycle: cycle, Total: 40, PageSize: 40, First: rows}.PackedRecord()
		r.Fence, r.KeepPrev = records.Fence{Epoch: 1, Cycle: cycle}, true
		return r
	}
	page := func(id, cycle int64) records.Record {
		r := records.Page{Contest: id, No: 1, Cycle: cycle, Rows: []records.Row{{Rank: 1, EntryID: id, Points: cycle}}}.PackedRecord()
		r.Fence, r.KeepPrev = records.Fence{Epoch: 1, Cycle: cycle}, true
		return r
	}
	// The first cycle: each contest's entries, then its contest and page records, in one
	// batch, so that without classes they would share slabs.
	var batch []records.Record
	for id := range int64(contests) {
		for k := range int64(perContest) {
			e := records.Entry{ID: id*perContest + k, Contest: id, Match: 1, User: k, Team: 1,
				Lineup: records.Lineup{Players: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Captain: 1, Vice: 2}}.PackedRecord()
			e.Fence = records.Fence{Epoch: 1, Cycle: 1}
			batch = append(batch, e)
		}
		batch = append(batch, contest(id, 1), page(id, 1))
	}
	if err := s.Put(ctx, records.Live, batch); err != nil {
		t.Fatal(err)
	}
	_, _, live0 := slabBytes(s, records.Live)
	n := s.ns[records.Live]
	entryLoc := func(id int64) uint64 {
		key := records.IDKey(id)
		h := n.hash(records.SetEntry, key)
		sh := n.shard(h)
		sh.mu.RLock()
		defer sh.mu.RUnlock()
		return sh.lookup(h, records.SetEntry, key)
	}
	locs := make([]uint64, contests*perContest)
	for id := range locs {
		locs[id] = entryLoc(int64(id))
	}
	for cycle := int64(2); cycle <= 12; cycle++ {
		batch = batch[:0]
		for id := range int64(contests) {
			batch = append(batch, contest(id, cycle), page(id, cycle))
		}
		if err := s.Put(ctx, records.Live, batch); err != nil {
			t.Fatal(err)
		}
		capacity, used, live := slabBytes(s, records.Live)
		if limit := live*3/2 + shards*4*minSlab; used > limit || capacity > limit+shards*2*minSlab {
			t.Fatalf("cycle %d: %d bytes live, %d used, %d allocated: garbage not reclaimed", cycle, live, used, capacity)
		}
	}
	moved := 0
	for id := range locs {
		if entryLoc(int64(id)) != locs[id] {
			moved++
		}
	}
	copied := 0
	for i := range n.shards {
		copied += n.shards[i].compacted
	}
	t.Logf("compactions copied %d bytes", copied)
	if moved != 0 {
		t.Fatalf("%d of %d entry records copied by compactions: they shared slabs with the rewritten contests and pages", moved, len(locs))
	}
	_, _, live := slabBytes(s, records.Live)
	if live < live0 {
		t.Fatalf("live bytes %d after the rewrites, %d before", live, live0)
	}
	for id := range int64(contests) {
		p, ok, err := s.GetPacked(ctx, records.Live, records.SetContest, records.IDKey(id))
		if !ok || err != nil {
			t.Fatalf("contest %d: %v %v", id, ok, err)
		}
		want, err := records.PackWrite(contest(id, 12), mustPack(t, contest(id, 11), mustPack(t, contest(id, 10), nil)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p, want) {
			t.Fatalf("contest %d:\n%x\nwant\n%x", id, p, want)
		}
		e, ok, _ := s.GetPacked(ctx, records.Live, records.SetEntry, records.IDKey(id*perContest+3))
		if !ok || e.Int("contest") != id {
			t.Fatalf("entry %d: %v, contest %d", id*perContest+3, ok, e.Int("contest"))
		}
	}
}

func mustPack(t *testing.T, r records.Record, old records.Packed) records.Packed {
	t.Helper()
	p, err := records.PackWrite(r, old)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

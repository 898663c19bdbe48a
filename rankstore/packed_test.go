package rankstore

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// TestPackedWrites: records built packed (records.Record.Packed) are stored byte for byte
// as the same records built as maps, fenced or not, versioned over a stored version or
// written for the first time, and read back as the maps were.
func TestPackedWrites(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1000, 0)}
	maps, packed := open(t, "", c), open(t, "", c)
	l := records.Lineup{Players: []int32{7, 8, 9}, Captain: 8, Vice: 9}
	for cycle := int64(1); cycle <= 3; cycle++ {
		rows := []records.Row{{Rank: 1, EntryID: 9, UserID: 90, TeamID: 5, Points: 500 * cycle}, {Rank: 2, EntryID: 4, UserID: 1, TeamID: 2, Points: -7}}
		hist := []records.Bucket{{Points: 500 * cycle, Count: 1}, {Points: -7, Count: 1}}
		e := records.Entry{ID: 9, Contest: 5, Match: 1, User: 90, Team: cycle, Part: 3, Lineup: l}
		var ms, ps []records.Record
		for _, pair := range [][2]records.Record{
			{records.Contest{ID: 5, Match: 1, Cycle: cycle, AsOf: cycle * 10, Total: 2, PageSize: 100, Hist: hist, First: rows}.Record(),
				records.Contest{ID: 5, Match: 1, Cycle: cycle, AsOf: cycle * 10, Total: 2, PageSize: 100, Hist: hist, First: rows}.PackedRecord()},
			{records.Page{Contest: 5, No: 1, Cycle: cycle, Rows: rows}.Record(), records.Page{Contest: 5, No: 1, Cycle: cycle, Rows: rows}.PackedRecord()},
			{e.Record(), e.PackedRecord()},
			{records.User{Match: 1, User: 90, Part: 3, Entries: []records.Entry{e}}.Record(), records.User{Match: 1, User: 90, Part: 3, Entries: []records.Entry{e}}.PackedRecord()},
		} {
			for k, r := range pair {
				r.KeepPrev = records.Versioned(r.Set)
				if cycle > 1 {
					r.Fence = records.Fence{Epoch: 1, Cycle: cycle}
				}
				if k == 0 {
					ms = append(ms, r)
				} else {
					ps = append(ps, r)
				}
			}
		}
		if err := maps.Put(ctx, records.Live, ms); err != nil {
			t.Fatal(err)
		}
		if err := packed.Put(ctx, records.Live, ps); err != nil {
			t.Fatal(err)
		}
		for _, r := range ms {
			want, ok1, _ := maps.GetPacked(ctx, records.Live, r.Set, r.Key)
			got, ok2, _ := packed.GetPacked(ctx, records.Live, r.Set, r.Key)
			if !ok1 || !ok2 || !bytes.Equal(got, want) {
				t.Fatalf("cycle %d: %s/%s stored %x (%v), want %x (%v)", cycle, r.Set, r.Key, got, ok2, want, ok1)
			}
		}
		got, ok, err := packed.Get(ctx, records.Live, records.SetContest, "5")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if cur, ok, err := records.ContestAt(got, cycle); err != nil || !ok || cur.Cycle != cycle || cur.First[0].Points != 500*cycle {
			t.Fatalf("cycle %d: contest %+v %v %v", cycle, cur, ok, err)
		}
		if prev, ok, err := records.ContestAt(got, cycle-1); cycle > 1 && (err != nil || !ok || prev.Cycle != cycle-1 || prev.First[0].Points != 500*(cycle-1)) {
			t.Fatalf("cycle %d: previous version %+v %v %v", cycle, prev, ok, err)
		}
	}
	// A malformed packed record is refused, naming it; nothing is stored.
	bad := records.Record{Set: records.SetPage, Key: "5/9", Packed: records.Packed{3, 1}, KeepPrev: true}
	if err := packed.Put(ctx, records.Live, []records.Record{bad}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("page/5/9")) {
		t.Fatalf("malformed packed record: %v", err)
	}
	if _, ok, _ := packed.GetPacked(ctx, records.Live, records.SetPage, "5/9"); ok {
		t.Fatal("a malformed record was stored")
	}
}

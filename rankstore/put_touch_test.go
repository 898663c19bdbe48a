package rankstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// TestPutTouchMixedBatch: Put's loads ahead of a shard's writes (table.touch) take every
// kind of record a batch may hold into a namespace with records already: one given as
// bins (no packed bytes), packed ones new and rewritten, one marked IfChanged over the
// same stored bins (kept), and an empty packed record, refused with its key named and
// no panic; each of the others reads back as written.
func TestPutTouchMixedBatch(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	entries, users := firstWrites(3000)
	if err := s.Put(ctx, records.Live, entries[:2000]); err != nil {
		t.Fatal(err)
	}
	kept := entries[5]
	kept.IfChanged = true
	kept.Fence = records.Fence{Epoch: 1, Cycle: 2}
	batch := append([]records.Record{{Set: "s", Key: "bins", Bins: records.Bins{"v": int64(7)}}, kept},
		entries[1990:2500]...) // 10 rewritten, 500 new
	batch = append(batch, users[:100]...)
	k0 := s.Kept()
	if err := s.Put(ctx, records.Live, batch); err != nil {
		t.Fatal(err)
	}
	if got := s.Kept() - k0; got != 1 {
		t.Errorf("kept %d records, want 1 (the IfChanged rewrite of the same bins)", got)
	}
	if b, ok, err := s.Get(ctx, records.Live, "s", "bins"); err != nil || !ok || b["v"] != int64(7) {
		t.Errorf("s/bins: %v %v %v, want v=7", b, ok, err)
	}
	for _, r := range append(append([]records.Record{}, entries[:2500]...), users[:100]...) {
		p, ok, err := s.GetPacked(ctx, records.Live, r.Set, r.Key)
		if err != nil || !ok {
			t.Fatalf("%s/%s: %v %v", r.Set, r.Key, ok, err)
		}
		want, err := records.PackWrite(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(p) != string(want) {
			t.Fatalf("%s/%s: read back %x, want %x", r.Set, r.Key, p, want)
		}
	}
	err := s.Put(ctx, records.Live, []records.Record{entries[2600], {Set: records.SetEntry, Key: "empty", Packed: records.Packed{}}})
	if err == nil || !strings.Contains(err.Error(), "entry/empty") {
		t.Fatalf("an empty packed record: %v, want an error naming entry/empty", err)
	}
}

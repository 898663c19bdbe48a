package rankstore

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// sameEntry is entry 7's record (trusted, as the worker packs it), fenced f, marked
// IfChanged; team changes its bins.
func sameEntry(team int64, f records.Fence) records.Record {
	r := records.Entry{ID: 7, Contest: 3, Match: 1, Part: 2, User: 9, Team: team,
		Lineup: records.Lineup{Players: []int32{1, 2, 3}, Captain: 1, Vice: 2}}.TrustedRecord()
	r.Fence, r.IfChanged = f, true
	return r
}

// TestIfChangedKeepsSameRecord: a write of the same bins and fence epoch over a live
// record keeps it (its generation, fence and bytes, a reader's slice untouched) and
// refreshes its expiry; anything else is written as before.
func TestIfChangedKeepsSameRecord(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	put := func(r records.Record) error { return s.Put(ctx, records.Live, []records.Record{r}) }
	look := func() Stored {
		t.Helper()
		st, ok, err := s.Lookup(records.Live, records.SetEntry, "7")
		if !ok || err != nil {
			t.Fatalf("entry 7: ok %v err %v", ok, err)
		}
		return st
	}
	// Absent: written.
	if err := put(sameEntry(5, records.Fence{Epoch: 2, Cycle: 10})); err != nil {
		t.Fatal(err)
	}
	first := look()
	held := bytes.Clone(first.Bins)
	_, used0, _, _ := s.layout(records.Live)
	if first.Gen != 1 || s.Kept() != 0 {
		t.Fatalf("first write: gen %d, kept %d", first.Gen, s.Kept())
	}

	// Same bins, same epoch, a later cycle: kept, expiry refreshed.
	c.add(10 * time.Minute)
	if err := put(sameEntry(5, records.Fence{Epoch: 2, Cycle: 11})); err != nil {
		t.Fatal(err)
	}
	got := look()
	if s.Kept() != 1 || got.Gen != 1 {
		t.Fatalf("same bins: kept %d gen %d, want kept 1 gen 1", s.Kept(), got.Gen)
	}
	if want := c.now().Add(time.Hour).UnixNano(); got.Expires != want {
		t.Fatalf("expiry %v, want refreshed to %v", time.Unix(0, got.Expires), time.Unix(0, want))
	}
	if !bytes.Equal(first.Bins, held) || !bytes.Equal(got.Bins, held) {
		t.Fatal("a kept record's bins changed under a reader")
	}
	if f := got.Bins.Fence(); f != (records.Fence{Epoch: 2, Cycle: 10}) {
		t.Fatalf("kept record's fence %+v, want the stored one", f)
	}
	if _, used, _, _ := s.layout(records.Live); used != used0 {
		t.Fatalf("slab bytes %d -> %d: a kept record was written again", used0, used)
	}
	// The refreshed expiry holds: past the first write's TTL, the record is still live.
	c.add(55 * time.Minute)
	look()

	// Different bins: written.
	if err := put(sameEntry(6, records.Fence{Epoch: 2, Cycle: 12})); err != nil {
		t.Fatal(err)
	}
	if got := look(); got.Gen != 2 || s.Kept() != 1 || got.Bins.Fence().Cycle != 12 {
		t.Fatalf("changed bins: gen %d kept %d fence %+v, want written", got.Gen, s.Kept(), got.Bins.Fence())
	}
	// Same bins, a newer epoch (another owner): written, with its fence.
	if err := put(sameEntry(6, records.Fence{Epoch: 3, Cycle: 1})); err != nil {
		t.Fatal(err)
	}
	if got := look(); got.Gen != 3 || s.Kept() != 1 || got.Bins.Fence() != (records.Fence{Epoch: 3, Cycle: 1}) {
		t.Fatalf("newer epoch: gen %d kept %d fence %+v, want written", got.Gen, s.Kept(), got.Bins.Fence())
	}
	// Same bins, an older epoch: refused as ever (fencing between owners unchanged).
	var fe *records.FencedError
	if err := put(sameEntry(6, records.Fence{Epoch: 2, Cycle: 99})); !errors.As(err, &fe) || fe.Count != 1 {
		t.Fatalf("older epoch: %v, want a FencedError", err)
	}
	// Same epoch, an older cycle: refused, not kept.
	if err := put(sameEntry(6, records.Fence{Epoch: 3, Cycle: 0})); !errors.As(err, &fe) {
		t.Fatalf("older cycle: %v, want a FencedError", err)
	}
	if got := look(); got.Gen != 3 || s.Kept() != 1 {
		t.Fatalf("after refusals: gen %d kept %d", got.Gen, s.Kept())
	}
	// The same cycle again (a retried write): kept.
	if err := put(sameEntry(6, records.Fence{Epoch: 3, Cycle: 1})); err != nil || s.Kept() != 2 {
		t.Fatalf("retried write: %v, kept %d, want 2", err, s.Kept())
	}
	// Expired stored record: written afresh (generation 1).
	c.add(2 * time.Hour)
	if err := put(sameEntry(6, records.Fence{Epoch: 3, Cycle: 2})); err != nil {
		t.Fatal(err)
	}
	if got := look(); got.Gen != 1 || s.Kept() != 2 {
		t.Fatalf("over an expired record: gen %d kept %d, want written", got.Gen, s.Kept())
	}
	// Without the flag: written, as ever.
	r := sameEntry(6, records.Fence{Epoch: 3, Cycle: 3})
	r.IfChanged = false
	if err := put(r); err != nil {
		t.Fatal(err)
	}
	if got := look(); got.Gen != 2 || s.Kept() != 2 {
		t.Fatalf("unflagged: gen %d kept %d, want written", got.Gen, s.Kept())
	}
}

// TestIfChangedUnfencedAndMaps: records packed from maps (not a tail write) and
// unfenced records are compared bin by bin; an unfenced write over a fenced record
// clears the fence, as ever.
func TestIfChangedUnfencedAndMaps(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	rec := func(v int64, f records.Fence) records.Record {
		return records.Record{Set: "other", Key: "k", Bins: records.Bins{"a": v, "b": "x"}, Fence: f, IfChanged: true}
	}
	gen := func() uint32 {
		st, ok, _ := s.Lookup(records.Live, "other", "k")
		if !ok {
			t.Fatal("record k absent")
		}
		return st.Gen
	}
	steps := []struct {
		r    records.Record
		gen  uint32
		kept int64
	}{
		{rec(1, records.Fence{}), 1, 0},
		{rec(1, records.Fence{}), 1, 1},                   // unfenced, same bins: kept
		{rec(2, records.Fence{}), 2, 1},                   // changed
		{rec(2, records.Fence{Epoch: 1, Cycle: 1}), 3, 1}, // a fence where there was none: written
		{rec(2, records.Fence{Epoch: 1, Cycle: 2}), 3, 2}, // maps, fenced, same: kept
		{rec(2, records.Fence{}), 4, 2},                   // unfenced over fenced: written, fence cleared
	}
	for k, st := range steps {
		if err := s.Put(ctx, records.Live, []records.Record{st.r}); err != nil {
			t.Fatalf("step %d: %v", k, err)
		}
		if g := gen(); g != st.gen || s.Kept() != st.kept {
			t.Fatalf("step %d: gen %d kept %d, want %d %d", k, g, s.Kept(), st.gen, st.kept)
		}
	}
	if st, _, _ := s.Lookup(records.Live, "other", "k"); !st.Bins.Fence().IsZero() {
		t.Fatalf("fence %+v, want cleared", st.Bins.Fence())
	}
}

// TestIfChangedIgnoredOnKeepPrev: a versioned write is always written.
func TestIfChangedIgnoredOnKeepPrev(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	ct := records.Contest{ID: 4, Match: 1, Cycle: 2, Total: 10, PageSize: 50}.Record()
	ct.KeepPrev, ct.IfChanged, ct.Fence = true, true, records.Fence{Epoch: 1, Cycle: 2}
	for range 2 {
		if err := s.Put(ctx, records.Live, []records.Record{ct}); err != nil {
			t.Fatal(err)
		}
	}
	if st, _, _ := s.Lookup(records.Live, records.SetContest, "4"); st.Gen != 2 || s.Kept() != 0 {
		t.Fatalf("versioned: gen %d kept %d, want written twice", st.Gen, s.Kept())
	}
}

package rankstore

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// tableSizes returns the slots of each of namespace ns's shards' tables.
func tableSizes(s *Store, ns string) []int {
	n := s.ns[ns]
	sizes := make([]int, shards)
	for i := range n.shards {
		n.shards[i].mu.RLock()
		sizes[i] = len(n.shards[i].slots)
		n.shards[i].mu.RUnlock()
	}
	return sizes
}

// TestReserve: a store told how many records are coming sizes each shard's table once:
// writing them grows no table (fails without Reserve: the tables grow from empty), every
// record reads back, no table is over 80% full after them nor much larger than they
// need, the other namespace is untouched, and a smaller reservation changes nothing.
func TestReserve(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	// Records already stored count: the reservation is on top of them.
	before, _ := firstWrites(1000)
	if err := s.Put(ctx, records.Live, before); err != nil {
		t.Fatal(err)
	}
	entries, users := firstWrites(12_000)
	entries = entries[1000:] // new keys only
	more := len(entries) + len(users)
	if err := s.Reserve(records.Live, more); err != nil {
		t.Fatal(err)
	}
	reserved := tableSizes(s, records.Live)
	// A smaller reservation (or none) on top of the same records leaves the tables as
	// they are.
	for _, k := range []int{0, 10, more / 2} {
		if err := s.Reserve(records.Live, k); err != nil {
			t.Fatal(err)
		}
		for i, n := range tableSizes(s, records.Live) {
			if n != reserved[i] {
				t.Fatalf("Reserve(%d) after Reserve(%d) resized shard %d from %d to %d slots", k, more, i, reserved[i], n)
			}
		}
	}
	for _, recs := range [][]records.Record{entries, users} {
		for lo := 0; lo < len(recs); lo += 500 {
			if err := s.Put(ctx, records.Live, recs[lo:min(lo+500, len(recs))]); err != nil {
				t.Fatal(err)
			}
		}
	}
	after := tableSizes(s, records.Live)
	total, slots := 0, 0
	for i := range shards {
		sh := &s.ns[records.Live].shards[i]
		if after[i] != reserved[i] {
			t.Errorf("shard %d grew from %d to %d slots after Reserve(%d) (%d records)", i, reserved[i], after[i], more, sh.count)
		}
		if sh.count*loadDen > after[i]*loadNum {
			t.Errorf("shard %d: %d records in %d slots", i, sh.count, after[i])
		}
		total += sh.count
		slots += after[i]
	}
	if want := len(before) + more; total != want {
		t.Fatalf("%d records stored, want %d", total, want)
	}
	// Each shard's share plus 5 sigma, at 80%, rounded to 8 slots: ~1.25 * 1.2 slots a
	// record at this size; never twice what the records need.
	if load := float64(total) / float64(slots); load < 0.5 {
		t.Errorf("%d records in %d slots after Reserve: %.2f full", total, slots, load)
	}
	for _, recs := range [][]records.Record{before, entries, users} {
		for _, r := range recs {
			got, ok, err := s.GetPacked(ctx, records.Live, r.Set, r.Key)
			if err != nil || !ok || len(got) < len(r.Packed) {
				t.Fatalf("%s/%s: %d bytes, %v %v", r.Set, r.Key, len(got), ok, err)
			}
		}
	}
	for i, n := range tableSizes(s, records.Complete) {
		if n != 0 {
			t.Fatalf("complete namespace's shard %d has %d slots: Reserve of live touched it", i, n)
		}
	}
}

// TestReserveErrors: a negative count and an unknown namespace are refused by name.
func TestReserveErrors(t *testing.T) {
	s := open(t, "", &clock{t: time.Unix(1_800_000_000, 0)})
	if err := s.Reserve(records.Live, -1); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("Reserve(-1): %v", err)
	}
	if err := s.Reserve("nope", 10); !errors.Is(err, ErrNamespace) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Reserve of an unknown namespace: %v", err)
	}
}

// TestReserveFor: a table reserved for n records holds them at most 80% full, in a
// multiple of 8 slots, and never shrinks.
func TestReserveFor(t *testing.T) {
	for _, c := range []struct{ records, slots int }{{1, 8}, {8, 16}, {80, 104}, {4000, 5000}, {4001, 5008}} {
		var tb table
		tb.reserveFor(c.records)
		if len(tb.slots) != c.slots {
			t.Errorf("reserveFor(%d): %d slots, want %d", c.records, len(tb.slots), c.slots)
		}
		tb.reserveFor(c.records / 2)
		if len(tb.slots) != c.slots {
			t.Errorf("reserveFor(%d) after reserveFor(%d) shrank to %d slots", c.records/2, c.records, len(tb.slots))
		}
	}
}

// TestPutTrusted: records marked as the packers' own (TrustedRecord), which Put copies
// without reading their bins, are stored byte for byte as the same records unmarked
// (checked), fenced, and a trusted record is fenced like any other.
func TestPutTrusted(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	checked, trusted := open(t, "", c), open(t, "", c)
	ce, cu := firstWritesAs(3000, false)
	te, tu := firstWritesAs(3000, true)
	for i, r := range append(te[:len(te):len(te)], tu...) {
		if !r.Trusted() {
			t.Fatalf("record %d %s/%s not trusted", i, r.Set, r.Key)
		}
	}
	for _, w := range []struct {
		s    *Store
		recs [][]records.Record
	}{{checked, [][]records.Record{ce, cu}}, {trusted, [][]records.Record{te, tu}}} {
		for _, recs := range w.recs {
			if err := w.s.Put(ctx, records.Live, recs); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range append(ce[:len(ce):len(ce)], cu...) {
		want, ok1, err1 := checked.GetPacked(ctx, records.Live, r.Set, r.Key)
		got, ok2, err2 := trusted.GetPacked(ctx, records.Live, r.Set, r.Key)
		if !ok1 || !ok2 || err1 != nil || err2 != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s/%s: trusted %x (%v %v), checked %x (%v %v)", r.Set, r.Key, got, ok2, err2, want, ok1, err1)
		}
		if got.Fence() != r.Fence {
			t.Fatalf("%s/%s: fence %+v, want %+v", r.Set, r.Key, got.Fence(), r.Fence)
		}
	}
	// An older fence is refused for a trusted record as for any other.
	old := te[0]
	old.Fence = records.Fence{}
	old.Fence.Epoch = te[0].Fence.Epoch - 1
	old.Fence.Cycle = te[0].Fence.Cycle
	var fe *records.FencedError
	if err := trusted.Put(ctx, records.Live, []records.Record{old}); !errors.As(err, &fe) || fe.Key != old.Key {
		t.Fatalf("a trusted record of an older fence: %v", err)
	}
}

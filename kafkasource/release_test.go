package kafkasource

import (
	"context"
	"slices"
	"testing"
	"time"
)

// A released batch's memory is reused by a later Poll, whose events are read whole; a
// batch not released keeps its lineups however many polls come after it.
func TestReleaseReusesBatchMemory(t *testing.T) {
	cfg := startCluster(t, 1)
	pub := publisher(t, cfg)
	s, _, _ := newSource(t, cfg)
	if err := s.AssignEntries(allPartitions(1, OffsetStart)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	round := func(from, n int) []EntryEvent {
		evs := make([]EntryEvent, n)
		for i := range evs {
			evs[i] = testEntry(7, int64(1000+from+i))
		}
		if err := pub.PublishEntries(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := pub.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		return evs
	}
	check := func(what string, got, want []EntryEvent) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
		}
		for i := range want {
			if !equalEntry(got[i], want[i]) {
				t.Fatalf("%s: event %d is %+v, want %+v", what, i, got[i], want[i])
			}
		}
	}

	// pollUntil's batches are whole Polls: keep the real ones to release them.
	var kept []Batch
	poll := func(n int) []EntryEvent {
		var got []EntryEvent
		for len(got) < n {
			pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			b, err := s.Poll(pctx)
			cancel()
			if err != nil {
				t.Fatalf("Poll after %d of %d events: %v", len(got), n, err)
			}
			for _, r := range b.Entries {
				got = append(got, r.Event)
			}
			kept = append(kept, b)
		}
		return got
	}

	// Not released: the first round's lineups, keys and values survive the second
	// round's polls (the fetched records' structs are recycled at the end of each Poll;
	// what a batch keeps of them is not theirs).
	first := round(0, 300)
	held := poll(len(first))
	var heldKV [][2][]byte
	for _, b := range kept {
		for _, r := range b.Entries {
			heldKV = append(heldKV, [2][]byte{r.Key, r.Value})
		}
	}
	second := round(300, 300)
	check("second round", poll(len(second)), second)
	check("first round, polled before the second", held, first)
	for i, kv := range heldKV {
		e, err := DecodeEntry(kv[1], 11)
		if err != nil || !equalEntry(e, first[i]) || string(kv[0]) != "7" {
			t.Fatalf("first round's record %d now has key %q and value %q (%v), want key 7 and event %+v", i, kv[0], kv[1], err, first[i])
		}
	}

	// Released: the next poll takes that memory back, and its events are whole.
	var recs []*EntryRecord
	for _, b := range kept {
		recs = append(recs, unsafeFirst(b))
		s.Release(b)
	}
	kept = nil
	third := round(600, 300)
	got := poll(len(third))
	check("third round, in released memory", got, third)
	reused := false
	for _, b := range kept {
		reused = reused || slices.Contains(recs, unsafeFirst(b))
	}
	if !reused {
		t.Error("no batch after the releases reuses a released batch's records")
	}
}

// unsafeFirst is the address of a batch's first record slot (nil: no room).
func unsafeFirst(b Batch) *EntryRecord {
	if cap(b.Entries) == 0 {
		return nil
	}
	return &b.Entries[:1][0]
}

// A kept buffer serves batches up to a few times smaller than itself; a much smaller
// batch (a live match's, after a replay) gets its own, and the big one is let go.
func TestFitsBuf(t *testing.T) {
	for _, c := range []struct {
		have, need int
		fits       bool
	}{
		{100, 101, false}, {100, 100, true}, {100, 1, true}, {200_000, 50_000, true},
		{200_000, 49_000, true}, {200_000, 48_000, false}, {200_000, 10_000, false}, {2_000_000, 100, false},
	} {
		if got := fitsBuf(c.have, c.need); got != c.fits {
			t.Errorf("fitsBuf(%d, %d) = %v, want %v", c.have, c.need, got, c.fits)
		}
	}
}

package worker

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// reservingStore is the embedded store, noting what it is asked to reserve.
type reservingStore struct {
	*recordingStore
	mu       sync.Mutex
	reserved map[string][]int
}

func (s *reservingStore) Reserve(ns string, more int) error {
	s.mu.Lock()
	s.reserved[ns] = append(s.reserved[ns], more)
	s.mu.Unlock()
	return s.Store.Reserve(ns, more)
}

// replayed is a worker over store with 3000 synthetic entries of match 1 replayed into
// 4 partitions, the match live.
func replayed(t *testing.T, cfg Config, store Store) *Worker {
	t.Helper()
	return replayedInto(t, cfg, store, 4)
}

// replayedInto is replayed with the entries in parts partitions.
func replayedInto(t *testing.T, cfg Config, store Store, parts int32) *Worker {
	t.Helper()
	w := partitioned(t, cfg, store, time.Now, parts)
	ctx := context.Background()
	s := newSynth(3000)
	for s.made < s.n {
		b := s.batch(1000)
		for k := range b.Entries {
			b.Entries[k].Partition %= parts
		}
		if err := w.Apply(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
	return w
}

// TestFirstCycleReserves: the first cycle after a replay, which writes a record per
// entry and per user, asks the store to size its index for them once (Reserve) before
// it writes, with at least as many records as it then writes of those; an idle cycle
// asks for nothing.
func TestFirstCycleReserves(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
	cfg.GroupEntries = 64
	rs := &reservingStore{recordingStore: &recordingStore{Store: embeddedStore(t)}, reserved: map[string][]int{}}
	w := replayed(t, cfg, rs)
	ctx := context.Background()
	if err := w.Cycle(ctx, Tick{Cycle: 1, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{} // distinct: a first cycle writes its refresh slice's entries twice
	for _, r := range rs.recs {
		if r.Set == records.SetEntry || r.Set == records.SetUser {
			keys[r.Set+"/"+r.Key] = true
		}
	}
	written := len(keys)
	got := rs.reserved[records.Live]
	if len(got) != 1 || got[0] < written || written < 3000 {
		t.Fatalf("first cycle: reserved %v in live (complete: %v) for %d entry and user records written, want one reservation of at least that", got, rs.reserved[records.Complete], written)
	}
	if c := rs.reserved[records.Complete]; len(c) != 0 {
		t.Fatalf("a live cycle reserved %v in the complete namespace", c)
	}
	if err := w.Cycle(ctx, Tick{Cycle: 2, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got := rs.reserved[records.Live]; len(got) != 1 {
		t.Fatalf("an idle cycle reserved again: %v", got)
	}
	// A worker restarted on the same store (its data dir) finds the match's records
	// there: its first cycle keeps them and reserves nothing (reserving would grow every
	// table to twice what it holds).
	w2 := replayed(t, cfg, rs)
	if err := w2.Cycle(ctx, Tick{Cycle: 3, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if rep := w2.LastCycle(); rep == nil || rep.Stats.Entries != 3000 {
		t.Fatalf("the restarted worker's first cycle ranked %+v, want 3000 entries", rep)
	}
	if got := rs.reserved[records.Live]; len(got) != 1 {
		t.Fatalf("a restarted worker's first cycle over records the store holds reserved again: %v", got)
	}
}

// partitioned is a worker over store (clock now, rejects to a fresh rejects) owning
// partitions 0..parts-1 from offset 0: the set-up of the tests and benchmarks that
// replay synthetic entries into a worker.
func partitioned(tb testing.TB, cfg Config, store Store, now func() time.Time, parts int32) *Worker {
	tb.Helper()
	w, err := New(cfg, &rejects{}, store, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), now)
	if err != nil {
		tb.Fatal(err)
	}
	for p := range parts {
		if err := w.AddPartition(p, 0); err != nil {
			tb.Fatal(err)
		}
	}
	return w
}

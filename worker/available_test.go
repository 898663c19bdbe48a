package worker

import (
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/records"
)

// gatedStore is a failingStore that says, through Availability, whether writes can go
// through (as aerospikesink.Sink does while its breaker is open). Its writes still
// succeed when it says no, so a worker that wrote anyway would be seen.
type gatedStore struct {
	*failingStore
	down atomic.Bool
}

func (g *gatedStore) Available() bool { return !g.down.Load() }

// TestUnavailableStoreSkipsWrites: while the store says it cannot take writes, a cycle
// ranks the match but writes (and encodes) none of its records, marks the match
// unwritten and counts it; two such cycles in a row, then the first cycle that can write
// leaves the store as a worker that never saw the outage, for live and final cycles.
func TestUnavailableStoreSkipsWrites(t *testing.T) {
	ok, okS := newFailingFixture(t)
	bad := newFixture(t, nil)
	gs := &gatedStore{failingStore: &failingStore{Store: bad.store, mirror: map[string]records.Bins{}}}
	bad.reg = prometheus.NewRegistry()
	w, err := New(bad.w.cfg, bad.src, gs, slog.New(slog.DiscardHandler), bad.reg, func() time.Time { return bad.clock })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddPartition(0, 0); err != nil {
		t.Fatal(err)
	}
	bad.w = w

	entries, pts := reference.Random(23, reference.Shape{Contests: []int{1, 3, 12, 40, 7}, Players: 22, LineupSize: 11, Teams: 30, PointValues: 30, Negative: true})
	both := func(apply func(f *fixture)) { apply(ok); apply(bad) }
	move := func(d float64, players ...int32) {
		pts = maps.Clone(pts)
		for _, p := range players {
			pts[p] += d
		}
		both(func(f *fixture) { f.apply(pointsEvents(1, pts)) })
	}
	cycle := func(ns string, available bool) {
		t.Helper()
		if err := ok.tryCycle(); err != nil {
			t.Fatal(err)
		}
		gs.down.Store(!available)
		calls, last := gs.calls, bad.w.LastCycle()
		err := bad.tryCycle()
		if available {
			if err != nil {
				t.Fatalf("cycle %d with the store available: %v", bad.tick, err)
			}
			sameRecords(t, "after the store came back", okS, gs.failingStore)
			bad.check(ns, entries, pts)
			return
		}
		if !errors.Is(err, errStoreUnavailable) {
			t.Fatalf("cycle %d with the store unavailable: %v, want the skipped-writes error", bad.tick, err)
		}
		// Only the matches list is written (the match's own writes are skipped).
		if n := gs.calls - calls; n > 1 {
			t.Fatalf("cycle %d with the store unavailable made %d store calls, want at most 1 (the matches list)", bad.tick, n)
		}
		if bad.w.LastCycle() != last {
			t.Fatalf("cycle %d with the store unavailable reported a written cycle", bad.tick)
		}
		if bad.w.matches[1].unwritten == nil {
			t.Fatalf("cycle %d with the store unavailable left the match unmarked", bad.tick)
		}
	}

	both(func(f *fixture) {
		f.apply(entryEvents(1, entries))
		f.apply(state(1, "live"))
		f.apply(pointsEvents(1, pts))
	})
	cycle(records.Live, true)

	// Two cycles of outage: points move, entries go and come.
	move(2.5, 1, 2, 3)
	gone := slices.Clone(entries[len(entries)-5:])
	entries = entries[:len(entries)-5]
	both(func(f *fixture) { f.apply(withdrawals(gone)) })
	cycle(records.Live, false)
	late := entries[0]
	late.EntryID, late.ContestID, late.UserID = 77_000_001, 77_000_000, 77_000_002
	entries = append(entries, late)
	both(func(f *fixture) { f.apply(entryEvents(1, []engine.Entry{late})) })
	move(-1, 4)
	cycle(records.Live, false)
	if n, sum := bad.series("leaderboard_worker_match_cycles_unwritten_total"); n != 1 || sum != 2 {
		t.Fatalf("unwritten cycles metric: %d series, sum %v; want 1, 2", n, sum)
	}
	cycle(records.Live, true)
	if bad.w.matches[1].unwritten != nil {
		t.Fatal("a cycle that wrote left the match marked")
	}

	// The final cycle waits out an outage too.
	move(1, 5)
	both(func(f *fixture) { f.apply(state(1, "completed")) })
	cycle(records.Complete, false)
	if bad.w.matches[1].final {
		t.Fatal("a final cycle whose writes were skipped was marked done")
	}
	cycle(records.Complete, true)
}

package worker

import (
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// touchStore is a store that keeps nothing but reads every byte of every record it is
// given while Put runs, as a store that copies them does: the cycles' own allocations
// are measured without the store's.
type touchStore struct {
	nullStore
	sum atomic.Uint64
}

func (s *touchStore) Put(_ context.Context, _ string, recs []records.Record) error {
	sum := uint64(0)
	for i := range recs {
		for _, c := range recs[i].Packed {
			sum += uint64(c)
		}
		sum += uint64(len(recs[i].Key))
	}
	s.sum.Add(sum)
	return nil
}

// cycleAllocs runs, after a replay of n entries and a first cycle, warm idle and moved
// cycles (a moved one: a player's new total, every page and contest of the match
// rewritten), and returns the Go heap bytes allocated per idle and per moved cycle
// (runtime.MemStats.TotalAlloc, the mean over cycles cycles of each).
func cycleAllocs(t testing.TB, n, cycles int) (idle, moved float64) {
	if os.Getenv("LB_ALLOC_PROFILE") != "" {
		runtime.MemProfileRate = 4096
	}
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
	w := partitioned(t, cfg, &touchStore{}, time.Now, 16)
	s := newSynth(n)
	replayLive(t, w, s)
	ctx := context.Background()
	cycle := int64(1)
	run := func() uint64 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		cycle++
		if err := w.Cycle(ctx, Tick{Cycle: cycle, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	ts := int64(1)
	move := func(i int) {
		ts++
		w.Apply(ctx, kafkasource.Batch{Points: []kafkasource.PointsEvent{{MatchID: 1, PlayerID: s.players[i%22], Centi: ts * 100, TS: ts}}})
	}
	run() // the first cycle
	// Two warm-up rounds: the reused memory grows to its size.
	for i := range 2 {
		run()
		move(i)
		run()
	}
	// LB_ALLOC_PROFILE=FILE: heap profiles before (FILE.base) and after the measured
	// cycles, so that `go tool pprof -diff_base FILE.base -sample_index=alloc_space
	// worker.test FILE` shows what they allocate.
	if f := os.Getenv("LB_ALLOC_PROFILE"); f != "" {
		write := func(name string) {
			runtime.GC()
			out, err := os.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			if err := pprof.Lookup("allocs").WriteTo(out, 0); err != nil {
				t.Fatal(err)
			}
		}
		write(f + ".base")
		defer write(f)
	}
	var idleB, movedB uint64
	for i := range cycles {
		idleB += run()
		move(i + 2)
		movedB += run()
		if rep := w.LastCycle(); rep == nil || rep.Written < n/100 {
			t.Fatalf("moved cycle %d wrote %+v; want at least every page of the match", i, rep)
		} else if i == 0 {
			t.Logf("a moved cycle writes %d records", rep.Written)
		}
	}
	return float64(idleB) / float64(cycles), float64(movedB) / float64(cycles)
}

// TestMovedCycleAllocs pins the cycles' reuse of their memory (cycle_scratch.go): once
// warm, an idle cycle and a moved one (every page and contest record of the match
// rewritten) allocate a few bytes per entry on the Go heap, not their records' bytes.
// Before the reuse, at 40k entries: ~365 kB per idle cycle (9 B/entry) and ~1.09 MB per
// moved one (27 B/entry); after, ~61 kB and ~155 kB.
//
// LB_ALLOC_ENTRIES=N runs it at N entries (with LB_ALLOC_PROFILE, to see what a cycle
// at scale allocates).
func TestMovedCycleAllocs(t *testing.T) {
	n := 40_000
	if v, err := strconv.Atoi(os.Getenv("LB_ALLOC_ENTRIES")); err == nil && v >= 1000 {
		n = v
	}
	idle, moved := cycleAllocs(t, n, 3)
	idleB, movedB := idle/float64(n), moved/float64(n)
	t.Logf("per idle cycle %.0f B (%.1f B/entry), per moved cycle %.0f B (%.1f B/entry)", idle, idleB, moved, movedB)
	if idleB > 4 {
		t.Errorf("an idle cycle allocated %.0f B, %.1f B/entry; want at most 4", idle, idleB)
	}
	if movedB > 8 {
		t.Errorf("a moved cycle allocated %.0f B, %.1f B/entry; want at most 8", moved, movedB)
	}
}

// fencingStore refuses the page records of a Put while armed, with the
// *records.FencedError a store returns (naming the first refused record, its Key as
// given), and notes that key's value then.
type fencingStore struct {
	nullStore
	mu    sync.Mutex
	armed bool
	key   string // the refused key, copied when refused
}

func (s *fencingStore) Put(_ context.Context, ns string, recs []records.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.armed {
		return nil
	}
	for _, r := range recs {
		if r.Set == records.SetPage {
			s.armed = false
			s.key = strings.Clone(r.Key)
			return &records.FencedError{Namespace: ns, Set: r.Set, Key: r.Key, Fence: r.Fence, Count: 1}
		}
	}
	return nil
}

// TestFencedKeyOutlivesReuse: the key a store's error names is the refused record's
// after the worker reused the memory its key was in (records.Keys.SetShared): the
// worker copies it (detachKeys).
func TestFencedKeyOutlivesReuse(t *testing.T) {
	st := &fencingStore{}
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
	w := partitioned(t, cfg, st, time.Now, 16)
	s := newSynth(20_000)
	replayLive(t, w, s)
	ctx := context.Background()
	if err := w.Cycle(ctx, Tick{Cycle: 2, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	w.Apply(ctx, kafkasource.Batch{Points: []kafkasource.PointsEvent{{MatchID: 1, PlayerID: s.players[0], Centi: 500, TS: 2}}})
	st.armed = true
	err := w.Cycle(ctx, Tick{Cycle: 3, At: time.Now()})
	var fe *records.FencedError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want the store's *records.FencedError", err)
	}
	// The next cycles rewrite every page again, their keys in the same buffers.
	for c := int64(4); c <= 5; c++ {
		w.Apply(ctx, kafkasource.Batch{Points: []kafkasource.PointsEvent{{MatchID: 1, PlayerID: s.players[c], Centi: 500 * c, TS: c}}})
		if err := w.Cycle(ctx, Tick{Cycle: c, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if fe.Key != st.key {
		t.Fatalf("the error names key %q after the worker's next cycles; the store refused %q", fe.Key, st.key)
	}
}

// TestScratchPoolTrims: a scratch whose keys or user entries grew past what the pool
// keeps (a task of a first cycle's big contest) goes back to the pool without them, so
// the pool holds at most ~scratchKeepBytes of keys a scratch; smaller ones are kept for
// reuse.
func TestScratchPoolTrims(t *testing.T) {
	var p scratchPool
	s := p.get()
	for id := range int64(scratchKeepBytes/8 + 1) {
		s.keys.ID(1_000_000_000 + id) // 10 bytes and an end each
	}
	s.users.ents = make([]userEnt, scratchKeepRecords+1)
	p.put(s)
	if got := p.get(); got != s || got.keys.Size() != 0 || cap(got.users.ents) != 0 {
		t.Fatalf("the pool kept a scratch with %d bytes of keys and room for %d user entries; want them dropped", got.keys.Size(), cap(got.users.ents))
	}
	s.keys.ID(7)
	s.users.ents = make([]userEnt, 0, 16)
	kept := s.keys.Size()
	p.put(s)
	if got := p.get(); got.keys.Size() != kept || cap(got.users.ents) != 16 {
		t.Errorf("a small scratch's keys (%d bytes) or user entries (16) were not kept: %d, %d", kept, got.keys.Size(), cap(got.users.ents))
	}
}

package worker

import (
	"context"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// writtenTo is leaderboard_worker_records_written_total{namespace=ns,set=set} of f's
// worker.
func (f *fixture) writtenTo(ns, set string) float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "leaderboard_worker_records_written_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["set"] == set {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestFinalCycleRewritesOnlyChangedInLive: a final cycle writes every entry and user
// record to the complete namespace, and to the live one only those that changed since
// the last cycle (a late entry and its user): live holds the rest already. Both
// namespaces then answer the reference's final standings, and every user's record
// lists exactly their entries, in each.
func TestFinalCycleRewritesOnlyChangedInLive(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(31, reference.Shape{Contests: []int{8, 20, 50, 3}, Players: 22, LineupSize: 11, PointValues: 20})
	late := entries[len(entries)-1]
	for _, e := range entries[:len(entries)-1] {
		if e.UserID == late.UserID {
			t.Fatalf("the late entry's user %d has other entries: pick another seed", late.UserID)
		}
	}
	f.apply(entryEvents(1, entries[:len(entries)-1]))
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	liveEntries, liveUsers := f.writtenTo(records.Live, records.SetEntry), f.writtenTo(records.Live, records.SetUser)
	if liveEntries < float64(len(entries)-1) {
		t.Fatalf("the first cycle wrote %v entry records to live, want %d", liveEntries, len(entries)-1)
	}
	f.apply(entryEvents(1, entries[len(entries)-1:]))
	f.apply(state(1, "completed"))
	f.cycle()
	if got := f.writtenTo(records.Live, records.SetEntry) - liveEntries; got != 1 {
		t.Fatalf("the final cycle wrote %v entry records to live, want 1 (the late entry)", got)
	}
	if got := f.writtenTo(records.Live, records.SetUser) - liveUsers; got != 1 {
		t.Fatalf("the final cycle wrote %v user records to live, want 1 (the late entry's user)", got)
	}
	if got := f.writtenTo(records.Complete, records.SetEntry); got < float64(len(entries)) {
		t.Fatalf("the final cycle wrote %v entry records to complete, want every one of %d", got, len(entries))
	}
	f.check(records.Complete, entries, pts)
	f.check(records.Live, entries, pts)
}

// gcTargetStore is an embedded store that notes the collector's target at each write
// to the complete namespace.
type gcTargetStore struct {
	Store
	mu      sync.Mutex
	targets []int
}

func (s *gcTargetStore) Put(ctx context.Context, ns string, recs []records.Record) error {
	if ns == records.Complete {
		pct := debug.SetGCPercent(100)
		debug.SetGCPercent(pct)
		s.mu.Lock()
		s.targets = append(s.targets, pct)
		s.mu.Unlock()
	}
	return s.Store.Put(ctx, ns, recs)
}

// TestFinalCycleGCTarget: a final cycle runs at Config.FinalGCPercent and puts the
// collector's target back after it; a target set meanwhile (by another part of the process)
// is left; a lower one or a negative setting is not touched.
func TestFinalCycleGCTarget(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	run := func(cfgPct, before int) (during []int, after int) {
		t.Helper()
		cfg := DefaultConfig()
		cfg.FinalGCPercent = cfgPct
		st := &gcTargetStore{Store: embeddedStore(t)}
		w := partitioned(t, cfg, st, time.Now, 4)
		ctx := context.Background()
		s := newSynth(2000)
		replayLive(t, w, s)
		if err := w.Cycle(ctx, Tick{Cycle: 1, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "completed", TS: 2}}}); err != nil {
			t.Fatal(err)
		}
		debug.SetGCPercent(before)
		if err := w.Cycle(ctx, Tick{Cycle: 2, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if !w.matches[1].final {
			t.Fatal("the match's final cycle did not complete")
		}
		after = debug.SetGCPercent(100)
		return st.targets, after
	}
	during, after := run(10, 50)
	if len(during) == 0 || slices.ContainsFunc(during, func(p int) bool { return p != 10 }) || after != 50 {
		t.Fatalf("FinalGCPercent 10 from 50: targets %v during the final cycle's writes, %d after it; want all 10, then 50", during, after)
	}
	if during, after := run(-1, 50); slices.ContainsFunc(during, func(p int) bool { return p != 50 }) || after != 50 {
		t.Fatalf("FinalGCPercent -1: targets %v during, %d after; want 50 throughout", during, after)
	}
	if during, after := run(10, 5); slices.ContainsFunc(during, func(p int) bool { return p != 5 }) || after != 5 {
		t.Fatalf("FinalGCPercent 10 under a target of 5: %v during, %d after; want 5 throughout", during, after)
	}
	// A setting made during the final cycle stays.
	if got := finalGC(10); true {
		debug.SetGCPercent(40)
		got()
		if now := debug.SetGCPercent(100); now != 40 {
			t.Fatalf("a target set during the final cycle was replaced by %d, want it kept (40)", now)
		}
	}
}

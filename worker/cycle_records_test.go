package worker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// TestInRun: inRun agrees with membership in every slice refreshSlice gives, wrapping
// included, for sizes around the share per cycle.
func TestInRun(t *testing.T) {
	w := &Worker{}
	for _, share := range []time.Duration{1, 3, 7, 20} {
		w.cfg.Interval, w.cfg.Refresh = time.Second, share*time.Second
		for _, n := range []int{1, 2, 5, 13, 64} {
			cursor := 0
			for round := range 3 * n {
				run := w.refreshSlice(&cursor, n)
				in := map[int]bool{}
				for _, i := range run {
					in[i] = true
				}
				for i := range n {
					if got := inRun(run, i, n); got != in[i] {
						t.Fatalf("refresh %v, n %d, round %d: inRun(%v, %d) = %v, want %v", share, n, round, run, i, got, in[i])
					}
				}
			}
		}
	}
	if inRun(nil, 0, 3) {
		t.Fatal("inRun of an empty run is true")
	}
}

// TestMovedCycleWriteOrder: a cycle that carries a points change writes, now that pages
// and contests are encoded and written in parallel, each partition's match record first,
// then every page, then every contest, and the match's commit last; every page and
// contest once.
func TestMovedCycleWriteOrder(t *testing.T) {
	defer func(n int) { refsPerTask = n }(refsPerTask)
	refsPerTask = 3 // many tasks, written concurrently
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
	rs := &recordingStore{Store: embeddedStore(t)}
	reg := prometheus.NewRegistry()
	w, err := New(cfg, &rejects{}, rs, slog.New(slog.DiscardHandler), reg, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	// written is leaderboard_worker_records_written_total{namespace="live",set=set}.
	written := func(set string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
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
				if labels["namespace"] == records.Live && labels["set"] == set {
					sum += m.GetCounter().GetValue()
				}
			}
		}
		return sum
	}
	for p := range int32(4) {
		if err := w.AddPartition(p, 0); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	s := newSynth(6000)
	for s.made < s.n {
		if err := w.Apply(ctx, s.batch(1000)); err != nil {
			t.Fatal(err)
		}
	}
	w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
	total := map[string]int{} // pages and contests written so far
	for cycle := int64(1); cycle <= 3; cycle++ {
		if cycle > 1 {
			w.Apply(ctx, kafkasource.Batch{Points: []kafkasource.PointsEvent{{MatchID: 1, PlayerID: s.players[cycle], Centi: cycle * 700, TS: cycle}}})
		}
		rs.mu.Lock()
		rs.recs = nil
		rs.mu.Unlock()
		if err := w.Cycle(ctx, Tick{Cycle: cycle, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		first := map[string]int{}
		last := map[string]int{}
		seen := map[string]bool{}
		n := map[string]int{}
		for i, r := range rs.recs {
			if _, ok := first[r.Set]; !ok {
				first[r.Set] = i
			}
			last[r.Set] = i
			if r.Set == records.SetPage || r.Set == records.SetContest {
				n[r.Set]++
				if seen[r.Set+"/"+r.Key] {
					t.Fatalf("cycle %d: %s/%s written twice", cycle, r.Set, r.Key)
				}
				seen[r.Set+"/"+r.Key] = true
			}
		}
		if first[records.SetPage] == 0 || first[records.SetContest] == 0 {
			t.Fatalf("cycle %d wrote no pages or contests: %v", cycle, first)
		}
		if last[records.SetMatchPart] > first[records.SetPage] || last[records.SetPage] > first[records.SetContest] {
			t.Fatalf("cycle %d: match parts %d-%d, pages %d-%d, contests %d-%d: not in that order", cycle,
				first[records.SetMatchPart], last[records.SetMatchPart], first[records.SetPage], last[records.SetPage], first[records.SetContest], last[records.SetContest])
		}
		for set, k := range n {
			total[set] += k
		}
		for _, set := range []string{records.SetPage, records.SetContest} {
			if got := written(set); got != float64(total[set]) {
				t.Fatalf("cycle %d: records_written_total{set=%q} %v, want %d", cycle, set, got, total[set])
			}
		}
		if m := last[records.SetMatch]; m < last[records.SetContest] || m < last[records.SetPage] || m < last[records.SetEntry] {
			t.Fatalf("cycle %d: the commit (%d) before a contest, page or entry record (%v)", cycle, m, last)
		}
	}
}

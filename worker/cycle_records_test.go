package worker

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/rankstore"
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
				run := w.refreshSlice(nil, &cursor, n)
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

// TestRestartKeepsUnchangedRecords: a restarted worker over the same store (its live
// namespace kept, as a node's saved one loaded back) rebuilds every entry and user record
// in its first cycle, and the store keeps those it holds already unchanged (their
// generation stays 1) instead of writing them again; the entries whose team changed
// while the worker was down are written, and the user records whose list of entries
// changed (a user record lists ids and contests: a team edit alone leaves it).
func TestRestartKeepsUnchangedRecords(t *testing.T) {
	const n = 3000
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
	st := embeddedStore(t)
	ctx := context.Background()
	start := func(change bool) *Worker {
		w := partitioned(t, cfg, st, time.Now, 16)
		s := newSynth(n)
		for s.made < s.n {
			b := s.batch(1000)
			for i := range b.Entries {
				// While the worker was down: entry 100 changed team and user, entry 103
				// its team only.
				if e := &b.Entries[i].Event; change && (e.EntryID == 100 || e.EntryID == 103) {
					e.TeamID += 10_000
					if e.EntryID == 100 {
						e.UserID = 9_999
					}
				}
			}
			if err := w.Apply(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
		return w
	}
	w := start(false)
	if err := w.Cycle(ctx, Tick{Cycle: 1, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// (A first cycle writes its groups' refresh slices of entries twice: the second
	// write is kept.)
	kept0 := st.Kept()
	gen := func(set, key string) uint32 {
		t.Helper()
		r, ok, err := st.Lookup(records.Live, set, key)
		if !ok || err != nil {
			t.Fatalf("%s/%s: ok %v err %v", set, key, ok, err)
		}
		return r.Gen
	}
	// The user of entry 100 (synth: user id/3+1) and its partition, from its record.
	e100, _, err := st.Get(ctx, records.Live, records.SetEntry, records.IDKey(100))
	if err != nil || e100 == nil {
		t.Fatalf("entry 100: %v", err)
	}
	userKey := records.UserKey(1, 100/3+1, int32(e100.Int("part")))

	w2 := start(true)
	if err := w2.Cycle(ctx, Tick{Cycle: 2, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	rewritten := 0
	for id := int64(1); id <= n; id++ {
		if gen(records.SetEntry, records.IDKey(id)) != 1 {
			rewritten++
		}
	}
	if g, g103 := gen(records.SetEntry, records.IDKey(100)), gen(records.SetEntry, records.IDKey(103)); g != 2 || g103 != 2 || rewritten != 2 {
		t.Fatalf("restart: entries 100 and 103 generations %d, %d (want 2: their teams changed), %d entry records rewritten (want 2)", g, g103, rewritten)
	}
	if g := gen(records.SetUser, userKey); g != 2 {
		t.Fatalf("restart: user record %s generation %d, want 2 (entry 100 left it)", userKey, g)
	}
	if g := gen(records.SetUser, records.UserKey(1, 9_999, int32(mustPart(t, st, 100)))); g != 1 {
		t.Fatalf("restart: entry 100's new user's record generation %d, want 1", g)
	}
	// A user record lists its entries' ids and contests: a team edit leaves it as it is.
	if g := gen(records.SetUser, records.UserKey(1, 103/3+1, int32(mustPart(t, st, 103)))); g != 1 {
		t.Fatalf("restart: entry 103's user record generation %d, want 1 (a team edit changes the entry record only)", g)
	}
	if g := gen(records.SetUser, records.UserKey(1, 1000/3+1, int32(mustPart(t, st, 1000)))); g != 1 {
		t.Fatalf("restart: an unchanged user record rewritten (generation %d)", g)
	}
	// Every unchanged entry and (at least most) user records were kept.
	if k := st.Kept() - kept0; k < n-2 {
		t.Fatalf("restart: the store kept %d records, want at least the %d unchanged entries", k, n-2)
	}
	if got, _, _ := st.Get(ctx, records.Live, records.SetEntry, records.IDKey(100)); got.Int("team") != e100.Int("team")+10_000 {
		t.Fatalf("entry 100's team %d, want %d", got.Int("team"), e100.Int("team")+10_000)
	}
}

// TestRestartOnDataDirKeepsRecords: a node's clean stop saves its live namespace and the
// restarted store loads it back (rankstore fills an empty namespace in bulk and builds
// its index at the end); the restarted worker's first cycle finds every entry and user
// record there and keeps them (their generation as loaded), rewriting none, and reads
// back the same bytes.
func TestRestartOnDataDirKeepsRecords(t *testing.T) {
	const n = 3000
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
	dir := t.TempDir()
	open := func() *rankstore.Store { return embeddedStoreIn(t, dir) }
	ctx := context.Background()
	run := func(st *rankstore.Store, cycle int64) {
		w := partitioned(t, cfg, st, time.Now, 16)
		s := newSynth(n)
		for s.made < s.n {
			if err := w.Apply(ctx, s.batch(1000)); err != nil {
				t.Fatal(err)
			}
		}
		w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
		if err := w.Cycle(ctx, Tick{Cycle: cycle, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	st := open()
	run(st, 1)
	before := make([]records.Packed, n+1)
	for id := int64(1); id <= n; id++ {
		p, ok, err := st.GetPacked(ctx, records.Live, records.SetEntry, records.IDKey(id))
		if !ok || err != nil {
			t.Fatalf("entry %d before the stop: ok %v err %v", id, ok, err)
		}
		before[id] = p
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open()
	loaded := st.Len(records.Live)
	gens := make([]uint32, n+1) // a load does not keep generations (the file has none)
	for id := int64(1); id <= n; id++ {
		r, ok, err := st.Lookup(records.Live, records.SetEntry, records.IDKey(id))
		if !ok || err != nil {
			t.Fatalf("entry %d after the load: ok %v err %v", id, ok, err)
		}
		gens[id] = r.Gen
	}
	run(st, 2)
	for id := int64(1); id <= n; id++ {
		r, ok, err := st.Lookup(records.Live, records.SetEntry, records.IDKey(id))
		if !ok || err != nil || r.Gen != gens[id] {
			t.Fatalf("entry %d after the restart's first cycle: ok %v err %v generation %d, want %d (kept, as loaded)", id, ok, err, r.Gen, gens[id])
		}
		p, _, _ := st.GetPacked(ctx, records.Live, records.SetEntry, records.IDKey(id))
		if !bytes.Equal(p, before[id]) {
			t.Fatalf("entry %d: %x after the restart, %x before", id, p, before[id])
		}
	}
	if k := st.Kept(); k < n {
		t.Fatalf("the restarted store kept %d records, want at least the %d entries", k, n)
	}
	if got := st.Len(records.Live); got != loaded {
		t.Fatalf("%d live records after the restart's first cycle, %d loaded: want the same keys", got, loaded)
	}
}

// mustPart is the partition of entry id's stored record.
func mustPart(t *testing.T, st interface {
	Get(context.Context, string, string, string) (records.Bins, bool, error)
}, id int64) int64 {
	t.Helper()
	b, ok, err := st.Get(context.Background(), records.Live, records.SetEntry, records.IDKey(id))
	if !ok || err != nil {
		t.Fatalf("entry %d: ok %v err %v", id, ok, err)
	}
	return b.Int("part")
}

// BenchmarkRestartFirstCycle is BenchmarkColdStartStore over a store that holds the
// match's records already, as after a restart whose live namespace was saved and loaded
// back: a worker writes its first cycle into the store (untimed), and a new worker
// replays the same entries and runs its first cycle into it (timed: CPU and wall), which
// rebuilds every entry and user record unchanged. It reports that cycle's CPU and wall
// time, the records it wrote (kept ones counted) and the bytes it allocated.
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench RestartFirstCycle -benchtime 3x ./worker
func BenchmarkRestartFirstCycle(b *testing.B) {
	n := benchEntries(b)
	var first, firstCPU time.Duration
	var alloc uint64
	written := 0
	for range b.N {
		b.StopTimer()
		st := embeddedStore(b)
		ctx := context.Background()
		w := benchWorker(b)
		w.store = st
		replayLive(b, w, newSynth(n))
		if err := w.Cycle(ctx, Tick{Cycle: 1, At: time.Now()}); err != nil {
			b.Fatal(err)
		}
		w = benchWorker(b)
		w.store = st
		replayLive(b, w, newSynth(n))
		runtime.GC()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		if err := w.Cycle(ctx, Tick{Cycle: 2, At: time.Now()}); err != nil {
			b.Fatal(err)
		}
		first += time.Since(t0)
		firstCPU += cpuTime() - c0
		b.StopTimer()
		runtime.ReadMemStats(&ms1)
		alloc += ms1.TotalAlloc - ms0.TotalAlloc
		rep := w.LastCycle()
		if rep == nil || rep.Stats.Entries != n {
			b.Fatalf("first cycle ranked %+v, want %d entries", rep, n)
		}
		written += rep.Written
		runtime.KeepAlive(st)
	}
	b.ReportMetric(first.Seconds()/float64(b.N), "first_cycle_s")
	b.ReportMetric(firstCPU.Seconds()/float64(b.N), "first_cycle_cpu_s")
	b.ReportMetric(float64(written)/float64(b.N), "records/first")
	b.ReportMetric(float64(alloc)/float64(b.N)/(1<<20), "alloc-MiB/first")
}

// TestIdleCycleKeepsRefreshedRecords: the TTL refresh of an idle cycle (no points, no
// entries) rebuilds a slice of entry and user records and the contest lists identical:
// the store keeps them, rewriting none.
func TestIdleCycleKeepsRefreshedRecords(t *testing.T) {
	const n = 3000
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh = 10*time.Second, time.Minute // a large slice each cycle
	st := embeddedStore(t)
	ctx := context.Background()
	// The worker's clock moves half a refresh period a cycle: every idle cycle rewrites
	// the contest lists too. (The store's TTL is an hour: nothing expires.)
	at := time.Now()
	w := partitioned(t, cfg, st, func() time.Time { return at }, 16)
	s := newSynth(n)
	for s.made < s.n {
		if err := w.Apply(ctx, s.batch(1000)); err != nil {
			t.Fatal(err)
		}
	}
	w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
	if err := w.Cycle(ctx, Tick{Cycle: 1, At: at}); err != nil {
		t.Fatal(err)
	}
	for cycle := int64(2); cycle <= 4; cycle++ {
		at = at.Add(cfg.Refresh / 2)
		k0 := st.Kept()
		if err := w.Cycle(ctx, Tick{Cycle: cycle, At: at}); err != nil {
			t.Fatal(err)
		}
		if k := st.Kept() - k0; k < n*int64(cfg.Interval)/int64(cfg.Refresh) {
			t.Fatalf("idle cycle %d kept %d records, want at least its entry refresh slice (%d)", cycle, k, n*int64(cfg.Interval)/int64(cfg.Refresh))
		}
	}
	for id := int64(1); id <= n; id++ {
		if r, ok, _ := st.Lookup(records.Live, records.SetEntry, records.IDKey(id)); !ok || r.Gen != 1 {
			t.Fatalf("entry %d: ok %v generation %d after idle cycles, want 1 (kept, never rewritten)", id, ok, r.Gen)
		}
	}
	lists := 0
	for part := range int32(16) {
		key := records.ChunkKey(1, part, 0)
		r, ok, _ := st.Lookup(records.Live, records.SetContests, key)
		if !ok {
			continue
		}
		lists++
		if r.Gen != 1 {
			t.Fatalf("contest list %s: generation %d after idle cycles, want 1", key, r.Gen)
		}
	}
	if lists == 0 {
		t.Fatal("no contest list found")
	}
}

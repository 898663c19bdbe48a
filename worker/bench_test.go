package worker

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
)

// nullStore takes every write and holds nothing: the benchmarks measure the worker.
type nullStore struct{}

func (nullStore) Put(context.Context, string, []records.Record) error    { return nil }
func (nullStore) Delete(context.Context, string, string, []string) error { return nil }
func (nullStore) Get(context.Context, string, string, string) (records.Bins, bool, error) {
	return nil, false, nil
}

// benchEntries is the match size of the worker benchmarks: LB_BENCH_ENTRIES, default
// 200k (CI runs them once to keep them compiling).
func benchEntries(b *testing.B) int {
	n := 200_000
	if s := os.Getenv("LB_BENCH_ENTRIES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			b.Fatalf("LB_BENCH_ENTRIES=%q: want a count >= 1000", s)
		}
		n = v
	}
	return n
}

// synth generates a match's entry events on the fly, in batches as Poll returns them,
// over 16 partitions: contests heavy-tailed (a mega contest of a tenth of the entries,
// then 1000-, 100-, 20-, 10- and 2-entry contests), 22 players, and
// LB_BENCH_TEAM_SHARE entries per team (default 2: a real match day has up to one
// distinct team per two entries; the benchmarks before 2026-12-01 used 5), each team's
// lineup one of 4096. A user holds three consecutive entries; LB_BENCH_USER_SHARE=K
// draws each entry's user at random from n/K users instead, as `gen` does (its 5.6M
// datasets: ~13 and ~4 entries a user), so that a user's entries lie in other contests
// and partitions, and a user record's reads of its entries are random.
type synth struct {
	n, made     int
	contest     int64
	left        int
	sizes       []int
	k           int
	players     [22]int32
	lineups     [][]int32
	mega, megaN int
	share       int // entries per team
	users       int // LB_BENCH_USER_SHARE: users drawn at random from so many; 0: id/3+1
}

func newSynth(n int) *synth {
	s := &synth{n: n, sizes: []int{1000, 100, 100, 20, 20, 20, 10, 10, 10, 10, 2, 2, 2, 2, 2}, megaN: n / 10, share: 2}
	if v, err := strconv.Atoi(os.Getenv("LB_BENCH_TEAM_SHARE")); err == nil && v > 0 {
		s.share = v
	}
	if v, err := strconv.Atoi(os.Getenv("LB_BENCH_USER_SHARE")); err == nil && v > 0 {
		s.users = max(1, n/v)
	}
	for i := range s.players {
		s.players[i] = int32(100_000 + i*7)
	}
	for t := range 4096 {
		l := make([]int32, 11) // distinct: 11 steps of 3 through 22 players
		for j := range l {
			l[j] = s.players[(t+j*3)%22]
		}
		s.lineups = append(s.lineups, l)
	}
	return s
}

func (s *synth) batch(max int) kafkasource.Batch {
	var b kafkasource.Batch
	for len(b.Entries) < max && s.made < s.n {
		if s.left == 0 {
			s.contest++
			if s.mega == 0 {
				s.mega, s.left = 1, s.megaN
			} else {
				s.left = s.sizes[s.k%len(s.sizes)]
				s.k++
			}
		}
		id := int64(s.made + 1)
		team := id / int64(s.share)
		l := s.lineups[team%4096]
		p := synthPartition(s.contest)
		user := id/3 + 1
		if s.users > 0 {
			user = int64(mix64(uint64(id))%uint64(s.users)) + 1
		}
		b.Entries = append(b.Entries, kafkasource.EntryRecord{Partition: p, Offset: int64(s.made), Event: kafkasource.EntryEvent{
			MatchID: 1, ContestID: s.contest, EntryID: id, UserID: user, TeamID: team + 1,
			Players: l, Captain: l[0], ViceCaptain: l[1]}})
		s.left--
		s.made++
	}
	return b
}

func benchWorker(b *testing.B) *Worker {
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
	if v, err := strconv.Atoi(os.Getenv("LB_BENCH_GROUP_ENTRIES")); err == nil && v > 0 {
		cfg.GroupEntries = v // LB_BENCH_GROUP_ENTRIES: the contest group size (default 65536)
	}
	w := partitioned(b, cfg, nullStore{}, time.Now, 16)
	return w
}

// replayLive applies every entry of s to w and makes match 1 live.
func replayLive(b testing.TB, w *Worker, s *synth) {
	ctx := context.Background()
	for s.made < s.n {
		if err := w.Apply(ctx, s.batch(10_000)); err != nil {
			b.Fatal(err)
		}
	}
	w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
}

// embeddedStore is the store `standalone` writes into, for the benchmarks that measure
// the writes too.
func embeddedStore(b testing.TB) *rankstore.Store { return embeddedStoreIn(b, "") }

// embeddedStoreIn is embeddedStore with data dir dir (complete on disk, its files saved
// and loaded there), as `standalone --data-dir` runs it; "": none.
func embeddedStoreIn(b testing.TB, dir string) *rankstore.Store {
	st, err := rankstore.Open(rankstore.Config{LiveTTL: time.Hour, CompleteTTL: time.Hour, DataDir: dir}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// cycler runs w's cycles from 2 on, each returning its wall and CPU time.
func cycler(b testing.TB, w *Worker) func() (time.Duration, time.Duration) {
	cycle := int64(1)
	return func() (time.Duration, time.Duration) {
		cycle++
		t0, c0 := time.Now(), cpuTime()
		if err := w.Cycle(context.Background(), Tick{Cycle: cycle, At: time.Now()}); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0), cpuTime() - c0
	}
}

// cpuTime is the process's user+system CPU time: on a shared machine it moves less
// than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// totalAlloc is the Go heap's bytes allocated since the process started.
func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// benchProfile is a CPU profile of the part of a benchmark between start and stop, into
// the file an environment variable names (unset: no profile). Each start overwrites
// what the last start..stop wrote: the file holds the last part profiled.
type benchProfile struct{ f *os.File }

func newBenchProfile(b testing.TB, env string) *benchProfile {
	p := &benchProfile{}
	if name := os.Getenv(env); name != "" {
		f, err := os.Create(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		p.f = f
	}
	return p
}

func (p *benchProfile) start() {
	if p.f == nil {
		return
	}
	p.f.Truncate(0)
	p.f.Seek(0, 0)
	pprof.StartCPUProfile(p.f)
}

func (p *benchProfile) stop() {
	if p.f != nil {
		pprof.StopCPUProfile()
	}
}

// benchSource hands out a benchmark's entry events as Poll would, in the order
// LB_BENCH_ORDER names:
//   - "contest" (the default): synth's, each contest's entries together, as a bulk load
//     writes them (generated as they are taken, in batches of 10k);
//   - "join": a match day's stream, as `gen --order join` writes it: synth's events in a
//     seeded random order (contests interleaved over the whole log, a team's entries
//     apart), entry ids renumbered so that they ascend in it, in batches of runs of each
//     partition (pollBatches; made before the timer starts, and dropped once taken).
type benchSource struct {
	s       *synth
	batches []kafkasource.Batch
}

func newBenchSource(b testing.TB, n int) *benchSource {
	src := &benchSource{s: newSynth(n)}
	switch order := os.Getenv("LB_BENCH_ORDER"); order {
	case "", "contest":
	case "join":
		recs := make([]kafkasource.EntryRecord, 0, n)
		for src.s.made < src.s.n {
			recs = append(recs, src.s.batch(10_000).Entries...)
		}
		rng := rand.New(rand.NewPCG(7, 11))
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		for i := range recs {
			recs[i].Event.EntryID = int64(i + 1)
		}
		src.batches, _ = pollBatches(recs) // as Poll returns them: runs of each partition
	default:
		b.Fatalf("LB_BENCH_ORDER=%q: want contest or join", order)
	}
	return src
}

// next is the next batch; ok is false once every event was taken.
func (src *benchSource) next() (kafkasource.Batch, bool) {
	if src.batches != nil {
		if len(src.batches) == 0 {
			return kafkasource.Batch{}, false
		}
		bt := src.batches[0]
		src.batches[0] = kafkasource.Batch{}
		src.batches = src.batches[1:]
		return bt, true
	}
	if src.s.made >= src.s.n {
		return kafkasource.Batch{}, false
	}
	return src.s.batch(10_000), true
}

// replayAll applies every event of src to w and makes match 1 live.
func replayAll(b testing.TB, w *Worker, src *benchSource) {
	ctx := context.Background()
	for bt, ok := src.next(); ok; bt, ok = src.next() {
		if err := w.Apply(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
}

// BenchmarkColdStart replays a match's entries into a worker and runs the first cycle
// (folding every contest group, ranking, writing to a store that discards): the
// replay rate, the first cycle, cold start to standings, and the worker state's heap
// bytes per entry. LB_BENCH_ORDER=join replays a match day's stream (benchSource).
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench ColdStart -benchtime 1x ./worker
//	LB_BENCH_ENTRIES=1000000 LB_BENCH_ORDER=join go test -run '^$' -bench 'ColdStart$' -benchtime 3x ./worker
func BenchmarkColdStart(b *testing.B) {
	n := benchEntries(b)
	// LB_BENCH_FIRST_PROFILE=FILE: a CPU profile of the first cycles alone (the last
	// iteration's).
	prof := newBenchProfile(b, "LB_BENCH_FIRST_PROFILE")
	for range b.N {
		b.StopTimer()
		before := heapInUse()
		w := benchWorker(b)
		src := newBenchSource(b, n)
		ctx := context.Background()
		var replay time.Duration
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		for batch, ok := src.next(); ok; batch, ok = src.next() {
			t0 := time.Now()
			if err := w.Apply(ctx, batch); err != nil {
				b.Fatal(err)
			}
			replay += time.Since(t0)
		}
		w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
		alloc1 := totalAlloc()
		prof.start()
		t1, cpu1 := time.Now(), cpuTime()
		if err := w.Cycle(ctx, Tick{Cycle: 1, At: time.Now()}); err != nil {
			b.Fatal(err)
		}
		first, firstCPU := time.Since(t1), cpuTime()-cpu1
		prof.stop()
		firstAlloc := totalAlloc() - alloc1
		cold, coldCPU := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		after := heapInUse()
		b.ReportMetric(float64(n)/replay.Seconds(), "replay_entries/s")
		b.ReportMetric(first.Seconds(), "first_cycle_s")
		b.ReportMetric(cold.Seconds(), "cold_start_s")
		b.ReportMetric(firstCPU.Seconds(), "first_cycle_cpu_s")
		b.ReportMetric(coldCPU.Seconds(), "cold_start_cpu_s")
		b.ReportMetric(float64(after-before)/float64(n), "heap_B/entry")
		b.ReportMetric(float64(firstAlloc)/float64(n), "first_cycle_alloc_B/entry")
		if rep := w.LastCycle(); rep == nil || rep.Stats.Entries != n {
			b.Fatalf("first cycle ranked %+v, want %d entries", rep, n)
		}
		runtime.KeepAlive(w)
	}
}

// BenchmarkLateEntry measures what one late entry adds to the next cycle of a live match:
// a cycle with one new entry (a new user's new team) in a 20-entry contest, next to an
// idle cycle, both on unchanged points. added_ms is the difference of their mean wall
// times, added_median_ms the median of the differences of each pair (steadier when a
// few cycles are slowed by the machine), added_cpu_ms of their CPU times (user+system, the whole process: steadier on a shared
// machine); fold_ms is the fold alone (deriving, or rebuilding, the entry's contest group).
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench LateEntry -benchtime 20x ./worker
func BenchmarkLateEntry(b *testing.B) {
	n := benchEntries(b)
	w := benchWorker(b)
	s := newSynth(n)
	ctx := context.Background()
	replayLive(b, w, s)
	run := cycler(b, w)
	run()
	run()
	var idle, late, idleCPU, lateCPU, fold time.Duration
	var diffs []time.Duration // per late entry: its cycle minus the idle cycle before it
	written := 0
	// LB_BENCH_LATE_PROFILE=FILE: a CPU profile of the timed loop (idle and late cycles;
	// look at what only a late cycle runs: fold, Derive, chunk records).
	prof := newBenchProfile(b, "LB_BENCH_LATE_PROFILE")
	prof.start()
	defer prof.stop()
	b.ResetTimer()
	for i := range b.N {
		d, c := run()
		idle += d
		idleCPU += c
		l := s.lineups[(i*7+3)%len(s.lineups)]
		ev := kafkasource.EntryEvent{MatchID: 1, ContestID: 7, EntryID: int64(n + 1 + i), UserID: int64(n + 1 + i), TeamID: int64(n + 1 + i),
			Players: l, Captain: l[2], ViceCaptain: l[3]}
		p := synthPartition(7)
		if err := w.Apply(ctx, kafkasource.Batch{Entries: []kafkasource.EntryRecord{{Partition: p, Event: ev}}}); err != nil {
			b.Fatal(err)
		}
		d2, c2 := run()
		diffs = append(diffs, d2-d)
		d, c = d2, c2
		late += d
		lateCPU += c
		rep := w.LastCycle()
		if rep.Rebuilt != 1 {
			b.Fatalf("a late entry rebuilt %d groups", rep.Rebuilt)
		}
		fold += rep.Fold
		written += rep.Written
	}
	b.ReportMetric(idle.Seconds()/float64(b.N)*1000, "idle_cycle_ms")
	b.ReportMetric(late.Seconds()/float64(b.N)*1000, "late_entry_cycle_ms")
	b.ReportMetric((late-idle).Seconds()/float64(b.N)*1000, "added_ms")
	slices.Sort(diffs)
	b.ReportMetric(diffs[len(diffs)/2].Seconds()*1000, "added_median_ms")
	b.ReportMetric((lateCPU-idleCPU).Seconds()/float64(b.N)*1000, "added_cpu_ms")
	b.ReportMetric(fold.Seconds()/float64(b.N)*1000, "fold_ms")
	b.ReportMetric(float64(written)/float64(b.N), "records/late_cycle")
}

// downStore is a nullStore that fails every Put and Delete while down (a store behind an
// open circuit breaker fails at once, like this).
type downStore struct {
	nullStore
	down bool
}

func (s *downStore) Put(ctx context.Context, ns string, recs []records.Record) error {
	if s.down {
		return errStoreDown
	}
	return nil
}

func (s *downStore) Delete(ctx context.Context, ns, set string, keys []string) error {
	if s.down {
		return errStoreDown
	}
	return nil
}

// BenchmarkRecovery measures what a store outage costs the worker: an idle cycle, a
// cycle in which the points moved (the store up), one in which they moved again and
// whose first write fails (the store down), and the next cycle, whose writes succeed and
// rewrite every contest and page of the match.
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench Recovery -benchtime 5x ./worker
func BenchmarkRecovery(b *testing.B) {
	n := benchEntries(b)
	w := benchWorker(b)
	st := &downStore{}
	w.store = st
	s := newSynth(n)
	ctx := context.Background()
	replayLive(b, w, s)
	cycle := int64(1)
	run := func(fail bool) time.Duration {
		cycle++
		st.down = fail
		t0 := time.Now()
		err := w.Cycle(ctx, Tick{Cycle: cycle, At: time.Now()})
		took := time.Since(t0)
		if fail != (err != nil) {
			b.Fatalf("cycle %d with the store down=%v: %v", cycle, fail, err)
		}
		return took
	}
	run(false)
	run(false)
	var idle, moved, failed, recovery time.Duration
	written, movedN := 0, 0
	ts := int64(1)
	movePoints := func(i int) {
		ts++
		w.Apply(ctx, kafkasource.Batch{Points: []kafkasource.PointsEvent{{MatchID: 1, PlayerID: s.players[i%22], Centi: ts * 100, TS: ts}}})
	}
	b.ResetTimer()
	for i := range b.N {
		idle += run(false)
		movePoints(i)
		moved += run(false)
		movedN += w.LastCycle().Written
		movePoints(i + 1)
		failed += run(true)
		recovery += run(false)
		written += w.LastCycle().Written
	}
	b.ReportMetric(idle.Seconds()/float64(b.N)*1000, "idle_cycle_ms")
	b.ReportMetric(moved.Seconds()/float64(b.N)*1000, "moved_cycle_ms")
	b.ReportMetric(float64(movedN)/float64(b.N), "records/moved")
	b.ReportMetric(failed.Seconds()/float64(b.N)*1000, "failed_cycle_ms")
	b.ReportMetric(recovery.Seconds()/float64(b.N)*1000, "recovery_cycle_ms")
	b.ReportMetric(float64(written)/float64(b.N), "records/recovery")
}

// BenchmarkMovedCycle measures the cycle that carries a points change (what freshness
// waits for) writing into the embedded store, as `standalone` does: an idle cycle, then
// one after a player's new total (most entries change points or rank).
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench MovedCycle -benchtime 5x ./worker
func BenchmarkMovedCycle(b *testing.B) {
	n := benchEntries(b)
	w := benchWorker(b)
	w.store = embeddedStore(b)
	s := newSynth(n)
	ctx := context.Background()
	replayLive(b, w, s)
	run := cycler(b, w) // the first cycle (BenchmarkColdStartStore measures it), then an idle one
	run()
	run()
	var idle, moved, movedCPU time.Duration
	var movedAlloc uint64
	written := 0
	ts := int64(1)
	// LB_BENCH_MOVED_PROFILE=FILE: a CPU profile of the moved cycles alone (the last).
	prof := newBenchProfile(b, "LB_BENCH_MOVED_PROFILE")
	b.ResetTimer()
	var idleCPU time.Duration
	for i := range b.N {
		d, c := run()
		idle += d
		idleCPU += c
		ts++
		w.Apply(ctx, kafkasource.Batch{Points: []kafkasource.PointsEvent{{MatchID: 1, PlayerID: s.players[i%22], Centi: ts * 100, TS: ts}}})
		prof.start()
		a0 := totalAlloc()
		d, c = run()
		movedAlloc += totalAlloc() - a0
		prof.stop()
		moved += d
		movedCPU += c
		written += w.LastCycle().Written
	}
	b.ReportMetric(idle.Seconds()/float64(b.N)*1000, "idle_cycle_ms")
	b.ReportMetric(idleCPU.Seconds()/float64(b.N)*1000, "idle_cycle_cpu_ms")
	b.ReportMetric(moved.Seconds()/float64(b.N)*1000, "moved_cycle_ms")
	b.ReportMetric(movedCPU.Seconds()/float64(b.N)*1000, "moved_cycle_cpu_ms")
	b.ReportMetric(float64(written)/float64(b.N), "records/moved")
	b.ReportMetric(float64(movedAlloc)/float64(b.N)/1e6, "moved_cycle_alloc_MB")
}

// BenchmarkIdleCycle measures a cycle with nothing to rank again (no points event and
// no entry change since the last) writing into the embedded store, as `standalone` runs
// after ready between points events: the TTL refresh's records, each partition's match
// record and the commit; the engine repeats each group's last Run (engine.Stats.Repeated).
// LB_BENCH_IDLE_PROFILE=FILE: a CPU profile of the timed cycles.
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench IdleCycle -benchtime 20x ./worker
func BenchmarkIdleCycle(b *testing.B) {
	n := benchEntries(b)
	w := benchWorker(b)
	w.store = embeddedStore(b)
	replayLive(b, w, newSynth(n))
	run := cycler(b, w)
	run() // the first cycle
	prof := newBenchProfile(b, "LB_BENCH_IDLE_PROFILE")
	prof.start()
	var cpu time.Duration
	written := 0
	b.ResetTimer()
	for range b.N {
		_, c := run()
		cpu += c
		rep := w.LastCycle()
		if rep.Stats.ChangedEntries != 0 || rep.Rebuilt != 0 {
			b.Fatalf("an idle cycle changed %d entries, rebuilt %d groups", rep.Stats.ChangedEntries, rep.Rebuilt)
		}
		written += rep.Written
	}
	b.StopTimer()
	prof.stop()
	b.ReportMetric(cpu.Seconds()/float64(b.N)*1000, "idle_cycle_cpu_ms")
	b.ReportMetric(float64(written)/float64(b.N), "records/idle")
}

// BenchmarkEncodeRanked encodes every page and contest record of a ranked partition as
// a moved cycle does (writeRanked, on GOMAXPROCS goroutines, into a store that
// discards): one mega contest of
// LB_BENCH_ENTRIES/10 entries (its own contest group, whose rows are read in display
// order from columns far larger than a cache) and 20-entry contests for the rest.
// cpu-ns/row is the process's CPU time (user+system, GC included) per entry encoded.
//
//	LB_BENCH_ENTRIES=5600000 go test -run '^$' -bench EncodeRanked ./worker
func BenchmarkEncodeRanked(b *testing.B) {
	n := benchEntries(b)
	for _, tc := range []struct {
		name  string
		mega  bool
		count int
	}{{"mega", true, n / 10}, {"small", false, min(n, 1<<16)}} {
		b.Run(tc.name, func(b *testing.B) {
			s := newSynth(0)
			rng := rand.New(rand.NewPCG(1, 2))
			bld := engine.NewBuilder(11, tc.count)
			for i := range tc.count {
				contest := int64(1)
				if !tc.mega {
					contest = int64(i/20 + 1)
				}
				team := rng.Int64N(int64(tc.count/2 + 1))
				l := s.lineups[team%4096]
				if err := bld.Add(engine.Entry{ContestID: contest, EntryID: int64(i)*7 + 1, UserID: rng.Int64N(int64(tc.count)), TeamID: team,
					Players: l, Captain: l[0], ViceCaptain: l[1]}); err != nil {
					b.Fatal(err)
				}
			}
			p, err := bld.Build(engine.DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			pts := map[int32]int64{}
			for k, pl := range s.players {
				pts[pl] = int64(k * 150)
			}
			p.Run(engine.SnapshotFromCenti(pts))
			var pages, contests []pageRef
			for c := range p.NumContests() {
				for pg := 1; pg < p.Contest(c).Pages; pg++ {
					pages = append(pages, pageRef{p, int32(c), int32(pg)})
				}
				contests = append(contests, pageRef{p, int32(c), 0})
			}
			discard := func([]records.Record) error { return nil }
			var pool scratchPool // a worker's: the tasks' memory reused from one cycle to the next
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if err := writeRanked(&pool, pages, false, 1, 3, 4, discard); err != nil {
					b.Fatal(err)
				}
				if err := writeRanked(&pool, contests, true, 1, 3, 4, discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/float64(tc.count), "cpu-ns/row")
		})
	}
}

// synthPartition is the entries partition (of 16) synth puts a contest's entries in.
func synthPartition(contest int64) int32 { return int32(contest*2654435761%16+16) % 16 }

package worker

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// onPartition moves a batch's entries to partition p, at offsets from 0.
func onPartition(b kafkasource.Batch, p int32) kafkasource.Batch {
	for i := range b.Entries {
		b.Entries[i].Partition, b.Entries[i].Offset = p, int64(i)
	}
	if len(b.Entries) > 0 {
		b.Next = map[string]map[int32]int64{"lb.entries": {p: int64(len(b.Entries))}}
	}
	return b
}

// applyOnTwoPartitions applies match 1's entries as the entries partitions would carry
// them: contests of even id on partition 0, odd on 1, and returns each partition's.
func (f *fixture) applyOnTwoPartitions(entries []engine.Entry) (onZero, onOne []engine.Entry) {
	for _, e := range entries {
		if e.ContestID%2 == 0 {
			onZero = append(onZero, e)
		} else {
			onOne = append(onOne, e)
		}
	}
	f.apply(onPartition(entryEvents(1, onZero), 0))
	f.apply(onPartition(entryEvents(1, onOne), 1))
	return onZero, onOne
}

// pointsAt builds a points batch whose events sit at offsets from off on points
// partition 0, with event time ts.
func pointsAt(match int64, pts map[int32]float64, off, ts int64) kafkasource.Batch {
	var b kafkasource.Batch
	for _, id := range slices.Sorted(func(yield func(int32) bool) {
		for id := range pts {
			if !yield(id) {
				return
			}
		}
	}) {
		c, _ := engine.Centipoints(pts[id])
		b.Points = append(b.Points, kafkasource.PointsEvent{MatchID: match, PlayerID: id, Centi: c, TS: ts})
		b.PointsAt = append(b.PointsAt, kafkasource.Position{Partition: 0, Offset: off})
		off++
	}
	b.Next = map[string]map[int32]int64{"lb.points": {0: off}}
	return b
}

func (f *fixture) cycleAt(points map[int32]int64) {
	f.t.Helper()
	f.clock = f.clock.Add(time.Second)
	f.tick++
	if err := f.w.Cycle(context.Background(), Tick{Cycle: f.tick, At: f.clock, Points: points}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) has(ns, set, key string) bool {
	f.t.Helper()
	_, ok, err := f.store.Get(context.Background(), ns, set, key)
	if err != nil {
		f.t.Fatal(err)
	}
	return ok
}

// TestLateEntryRebuildsOnlyItsGroup: contests are packed into contest groups; a late
// entry and a withdrawal rebuild the groups of their contests only, and the standings
// stay equal to the reference.
func TestLateEntryRebuildsOnlyItsGroup(t *testing.T) {
	f := newFixture(t, nil) // groups of up to 40 entries
	entries, pts := reference.Random(21, reference.Shape{Contests: []int{10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 90}, Players: 22, LineupSize: 11, Teams: 30, PointValues: 20})
	late := entries[len(entries)-1]
	entries = entries[:len(entries)-1]
	f.apply(entryEvents(1, entries))
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	f.check(records.Live, entries, pts)
	if rep := f.w.LastCycle(); rep.Groups < 3 || rep.Rebuilt != rep.Groups {
		t.Fatalf("first cycle: %d groups, %d rebuilt; want several, all built", rep.Groups, rep.Rebuilt)
	}
	f.apply(entryEvents(1, []engine.Entry{late}))
	entries = append(entries, late)
	f.cycle()
	f.check(records.Live, entries, pts)
	if rep := f.w.LastCycle(); rep.Rebuilt != 1 {
		t.Fatalf("a late entry rebuilt %d groups, want 1", rep.Rebuilt)
	}
	gone := entries[0]
	f.apply(kafkasource.Batch{Entries: []kafkasource.EntryRecord{{Event: kafkasource.EntryEvent{MatchID: 1, ContestID: gone.ContestID, EntryID: gone.EntryID, Withdrawn: true}}}})
	entries = entries[1:]
	f.cycle()
	f.check(records.Live, entries, pts)
	if rep := f.w.LastCycle(); rep.Rebuilt != 1 {
		t.Fatalf("a withdrawal rebuilt %d groups, want 1", rep.Rebuilt)
	}
	if f.has(records.Live, records.SetEntry, records.IDKey(gone.EntryID)) {
		t.Fatal("withdrawn entry still has a record")
	}
	// Nothing changed: nothing is rebuilt.
	f.cycle()
	if rep := f.w.LastCycle(); rep.Rebuilt != 0 {
		t.Fatalf("an idle cycle rebuilt %d groups", rep.Rebuilt)
	}
}

// TestPartitionsGainAndDrop: a match spread over two partitions is ranked whole; a
// dropped partition's state is freed and its later records ignored.
func TestPartitionsGainAndDrop(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.w.AddPartition(1, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.w.AddPartition(1, 0); err == nil {
		t.Fatal("a partition was added twice")
	}
	entries, pts := reference.Random(22, reference.Shape{Contests: []int{5, 30, 12, 7}, Players: 22, LineupSize: 11, PointValues: 20})
	a, b := f.applyOnTwoPartitions(entries)
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	f.check(records.Live, entries, pts)
	f.w.DropPartition(1)
	if got := f.w.Partitions(); len(got) != 1 || !got[0] {
		t.Fatalf("partitions after drop: %v", got)
	}
	f.apply(onPartition(entryEvents(1, b), 1)) // fetched before the drop: ignored
	f.cycle()
	f.check(records.Live, a, pts)
}

// TestReplayingPartitionPublishesNothing: the caught-up gate. A partition still short of
// its end offset joins no cycle and holds the final cycle back; the node is not ready.
func TestReplayingPartitionPublishesNothing(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(23, reference.Shape{Contests: []int{8, 20}, Players: 22, LineupSize: 11, PointValues: 20})
	var a, b []engine.Entry
	for _, e := range entries {
		if e.ContestID == entries[0].ContestID {
			a = append(a, e)
		} else {
			b = append(b, e)
		}
	}
	if err := f.w.AddPartition(1, 1000); err != nil { // 1000 records to replay
		t.Fatal(err)
	}
	f.apply(onPartition(entryEvents(1, a), 0))
	f.apply(onPartition(entryEvents(1, b), 1)) // read up to len(b) < 1000
	f.apply(state(1, "completed"))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	if f.w.Ready() || f.w.CaughtUp() {
		t.Fatal("ready while a partition replays")
	}
	if f.has(records.Live, records.SetContest, records.IDKey(b[0].ContestID)) {
		t.Fatal("a replaying partition's contest was published")
	}
	if f.has(records.Complete, records.SetMatch, "1") {
		t.Fatal("a final cycle ran while a partition replays")
	}
	f.apply(kafkasource.Batch{Next: map[string]map[int32]int64{"lb.entries": {1: 1000}}})
	if !f.w.CaughtUp() {
		t.Fatal("not caught up at the end offset")
	}
	f.cycle()
	f.check(records.Complete, entries, pts)
	if !f.w.Ready() {
		t.Fatal("not ready after catching up and publishing")
	}
}

// TestTopicsGateAndMatchesList: before the points and matches topics reach their end
// offsets nothing is written, so a restarted node never rewrites the matches list
// without a live match it has not read yet (it vanished for ~3 s after a restart).
func TestTopicsGateAndMatchesList(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(24, reference.Shape{Contests: []int{8, 20}, Players: 22, LineupSize: 11, PointValues: 20})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	f.cycle()

	g := newFixture(t, f.store)
	g.w.SetTopicEnds("lb.matches", map[int32]int64{0: 1})
	g.w.SetTopicEnds("lb.points", map[int32]int64{0: int64(len(pts))})
	g.apply(entryEvents(1, entries[:3])) // the matches topic not read yet
	g.cycle()
	b, ok, _ := g.store.Get(context.Background(), records.Live, records.SetMatches, records.MatchesKey)
	if l, _ := records.MatchesFrom(b); !ok || !slices.Contains(l.IDs, 1) {
		t.Fatalf("matches list lost match 1 before the matches topic was read: %v", l.IDs)
	}
	g.apply(entryEvents(1, entries))
	st := state(1, "live")
	st.MatchesAt = []kafkasource.Position{{Partition: 0, Offset: 0}}
	st.Next = map[string]map[int32]int64{"lb.matches": {0: 1}}
	g.apply(st)
	g.apply(pointsAt(1, pts, 0, 0))
	g.cycle()
	g.check(records.Live, entries, pts)
}

// TestTooManyPlayers: an entry that would give its match more than 256 distinct players
// is dead-lettered at ingest; the match goes on being ranked, other matches too, and
// after a restart (a replay of the same events) the match is still there.
func TestTooManyPlayers(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(25, reference.Shape{Contests: []int{10, 10}, Players: 22, LineupSize: 11, PointValues: 20})
	// 30 more entries, each with 11 new players: the 22nd pushes the match past 256.
	var extra []engine.Entry
	for k := range 30 {
		e := engine.Entry{ContestID: entries[0].ContestID, EntryID: int64(900_000 + k), UserID: 5, TeamID: int64(900_000 + k)}
		for j := range 11 {
			e.Players = append(e.Players, int32(10_000+k*11+j))
		}
		e.Captain, e.ViceCaptain = e.Players[0], e.Players[1]
		extra = append(extra, e)
	}
	other, otherPts := reference.Random(26, reference.Shape{Contests: []int{6}, Players: 22, LineupSize: 11, PointValues: 20})
	for i := range other {
		other[i].ContestID += 5_000_000
		other[i].EntryID += 5_000_000
	}
	events := func(g *fixture) {
		g.apply(entryEvents(1, append(slices.Clone(entries), extra...)))
		g.apply(entryEvents(2, other))
		g.apply(state(1, "live"))
		g.apply(state(2, "live"))
		g.apply(pointsEvents(1, pts))
		g.apply(pointsEvents(2, otherPts))
	}
	events(f)
	codes := f.src.codes()
	if len(codes) != 30-(256-22)/11 || codes[0] != ReasonTooManyPlayers {
		t.Fatalf("rejections %v", codes)
	}
	kept := append(slices.Clone(entries), extra[:(256-22)/11]...)
	f.cycle()
	f.check(records.Live, kept, pts)
	g := newFixture(t, f.store)
	events(g)
	g.cycle()
	g.check(records.Live, kept, pts)
	if _, ok, _ := g.store.Get(context.Background(), records.Live, records.SetContest, records.IDKey(other[0].ContestID)); !ok {
		t.Fatal("the other match was not ranked")
	}
}

// TestDeadLetterOutage: a failed dead-letter write is retried with backoff (it used to
// end the worker silently); the worker is not ready meanwhile, and ready again after.
func TestDeadLetterOutage(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(27, reference.Shape{Contests: []int{8}, Players: 22, LineupSize: 11, PointValues: 20})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	if !f.w.Ready() {
		t.Fatal("not ready")
	}
	f.src.mu.Lock()
	f.src.fail = 2
	f.src.mu.Unlock()
	moved := entries[0]
	moved.ContestID += 77
	done := make(chan error)
	go func() { done <- f.w.Apply(context.Background(), entryEvents(1, []engine.Entry{moved})) }()
	deadline := time.Now().Add(5 * time.Second)
	for f.w.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("still ready while dead letters fail")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !f.w.Ready() || !slices.Equal(f.src.codes(), []string{kafkasource.ReasonContestMove}) {
		t.Fatalf("after the outage: ready %v, dead letters %v", f.w.Ready(), f.src.codes())
	}
	if _, n := f.series("leaderboard_worker_dlq_errors_total"); n != 2 {
		t.Fatalf("dlq errors counted %v, want 2", n)
	}
}

// TestStateStaysBounded: points for unknown matches create no match (capped, then
// dead-lettered), points of players in no lineup stay out of the match record, and a
// completed match's metric series are removed.
func TestStateStaysBounded(t *testing.T) {
	f := newFixture(t, nil)
	f.reg = prometheus.NewRegistry()
	cfg := f.w.cfg
	cfg.MaxPendingMatches = 10
	w, err := New(cfg, f.src, f.store, f.w.log, f.reg, f.w.now)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddPartition(0, 0); err != nil {
		t.Fatal(err)
	}
	f.w = w
	var junk kafkasource.Batch
	for id := range int64(500) {
		junk.Points = append(junk.Points, kafkasource.PointsEvent{MatchID: 1000 + id, PlayerID: 7, Centi: 100, TS: 1})
	}
	f.apply(junk)
	if n := len(f.src.codes()); n != 490 || f.src.codes()[0] != ReasonUnknownMatch {
		t.Fatalf("%d rejections, want 490 unknown_match", n)
	}
	entries, pts := reference.Random(28, reference.Shape{Contests: []int{8, 9}, Players: 22, LineupSize: 11, PointValues: 20})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, "live"))
	stray := map[int32]float64{999_999: 12}
	for id, v := range pts {
		stray[id] = v
	}
	f.apply(pointsEvents(1, stray))
	f.cycle()
	f.check(records.Live, entries, pts)
	mb, _, _ := f.store.Get(context.Background(), records.Live, records.SetMatch, "1")
	m, _ := records.MatchFrom(mb)
	for _, p := range m.Parts {
		pb, _, _ := f.store.Get(context.Background(), records.Live, records.SetMatchPart, records.MatchPartKey(1, p))
		mp, _ := records.MatchPartFrom(pb)
		if _, ok := mp.Log.At(m.Cycle)[999_999]; ok {
			t.Fatal("points of a player in no lineup are in the match's points log")
		}
	}
	lb, _, _ := f.store.Get(context.Background(), records.Live, records.SetMatches, records.MatchesKey)
	if l, _ := records.MatchesFrom(lb); !slices.Equal(l.IDs, []int64{1}) {
		t.Fatalf("matches list %v, want [1]", l.IDs)
	}
	if n, _ := f.series("leaderboard_worker_entries"); n != 1 {
		t.Fatalf("%d entries series, want 1", n)
	}
	f.apply(state(1, "completed"))
	f.cycle()
	if n, _ := f.series("leaderboard_worker_entries", "leaderboard_worker_cycles_total"); n != 0 {
		t.Fatalf("%d per-match series after the match was pruned", n)
	}
}

// TestEventTime: the newest ts wins per player (equal ts: the later offset), a lifecycle
// never moves back, and what is refused is dead-lettered with its reason.
func TestEventTime(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(29, reference.Shape{Contests: []int{8, 9}, Players: 22, LineupSize: 11, PointValues: 20})
	f.apply(entryEvents(1, entries))
	f.apply(kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 100}}})
	f.apply(pointsAt(1, pts, 0, 200))
	old := map[int32]float64{}
	for id, v := range pts {
		old[id] = v + 7
	}
	f.apply(pointsAt(1, old, 100, 150)) // older ts, later offset: refused
	f.apply(kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "scheduled", TS: 300}}})
	f.apply(kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 50}}})
	f.cycle()
	f.check(records.Live, entries, pts)
	codes := f.src.codes()
	want := []string{ReasonBackwards, ReasonStale}
	for range pts {
		want = append(want, ReasonStale)
	}
	slices.Sort(codes)
	slices.Sort(want)
	if !slices.Equal(codes, want) {
		t.Fatalf("rejections %v, want %v", codes, want)
	}
	mb, _, _ := f.store.Get(context.Background(), records.Live, records.SetMatch, "1")
	if m, _ := records.MatchFrom(mb); m.State != records.StateLive || m.Cycle != f.tick || m.AsOf == 0 {
		t.Fatalf("match record %+v", m)
	}
	// Equal ts: the later offset wins.
	newer := map[int32]float64{}
	for id, v := range pts {
		newer[id] = v + 3
	}
	f.apply(pointsAt(1, newer, 300, 200))
	f.cycle()
	f.check(records.Live, entries, newer)
}

// TestAfterCompleted: entries, withdrawals and points read after a match's final
// standings are dead-lettered with their own reason, not dropped silently.
func TestAfterCompleted(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(30, reference.Shape{Contests: []int{8, 9}, Players: 22, LineupSize: 11, PointValues: 20})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	f.apply(state(1, "completed"))
	f.cycle()
	late := entries[0]
	late.EntryID = 77_777_777
	f.apply(entryEvents(1, []engine.Entry{late}))
	f.apply(kafkasource.Batch{Entries: []kafkasource.EntryRecord{{Event: kafkasource.EntryEvent{MatchID: 1, ContestID: entries[1].ContestID, EntryID: entries[1].EntryID, Withdrawn: true}}}})
	f.apply(pointsEvents(1, map[int32]float64{entries[0].Players[0]: 99}))
	if got := f.src.codes(); !slices.Equal(got, []string{ReasonAfterCompleted, ReasonAfterCompleted, ReasonAfterCompleted}) {
		t.Fatalf("rejections %v", got)
	}
	f.check(records.Complete, entries, pts)
}

// TestTickerNeverGoesBack: the ticker's cycle numbers continue above its fsynced
// high-water mark and above the floor from the store.
func TestTickerNeverGoesBack(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	calls := 0
	offsets := func(context.Context) (map[int32]int64, error) { calls++; return map[int32]int64{0: 42}, nil }
	tk, err := NewTicker(TickerConfig{Interval: time.Millisecond, Dir: dir, Reserve: 3}, offsets, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for k := range 5 {
		tick, err := tk.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tick.Cycle != int64(k+1) || tick.Points[0] != 42 {
			t.Fatalf("tick %+v", tick)
		}
		last = tick.Cycle
	}
	tk.Stop()
	// A crash: the next process starts above every number handed out.
	tk2, err := NewTicker(TickerConfig{Interval: time.Millisecond, Dir: dir, Reserve: 3}, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if tick, _ := tk2.Next(ctx); tick.Cycle <= last {
		t.Fatalf("cycle %d after %d", tick.Cycle, last)
	}
	tk2.Stop()
	// Without its file, the store's floor.
	tk3, _ := NewTicker(TickerConfig{Interval: time.Millisecond, Floor: 1000}, nil, time.Now)
	if tick, _ := tk3.Next(ctx); tick.Cycle != 1001 {
		t.Fatalf("cycle %d above floor 1000", tick.Cycle)
	}
	tk3.Stop()
	// Without file or store: the wall clock's floor.
	epoch := time.Now().Add(-time.Hour)
	tk4, _ := NewTicker(TickerConfig{Interval: time.Second, Epoch: epoch}, nil, time.Now)
	if n, _ := tk4.take(); n < 3600 || n > 3602 {
		t.Fatalf("first cycle %d an hour of 1s intervals after the epoch", n)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, hwmFile), []byte("twelve"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewTicker(TickerConfig{Interval: time.Millisecond, Dir: bad}, nil, time.Now); err == nil || !strings.Contains(err.Error(), "not a cycle number") {
		t.Fatalf("a corrupt high-water mark: %v", err)
	}
}

// TestTeamEditInOneLog: a team's lineup edited between two of its entries in the log
// of one cycle (the replay's case), and the same lineup coming again in another order (no
// edit): every entry of the team ranks with its latest lineup, and each change of the log
// keeps the lineup it read.
func TestTeamEditInOneLog(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(11, reference.Shape{Contests: []int{4, 25, 9}, Players: 22, LineupSize: 11, Teams: 3, PointValues: 50})
	team := entries[0].TeamID
	var first engine.Entry
	for _, e := range entries {
		if e.TeamID == team {
			first = e
			break
		}
	}
	edited := first
	edited.Players = slices.Clone(first.Players)
	for p := int32(0); p < 64; p++ { // swap in a player the lineup lacks
		if id := entries[len(entries)-1].Players[p%11]; !slices.Contains(edited.Players, id) {
			for k, q := range edited.Players {
				if q != edited.Captain && q != edited.ViceCaptain {
					edited.Players[k] = id
					break
				}
			}
			break
		}
	}
	if slices.Equal(edited.Players, first.Players) {
		t.Fatal("the test found no player to swap in")
	}
	// The log: every entry as generated, then an entry of the team with the edited
	// lineup, then one with the edited lineup reversed (the same set: no edit).
	late := edited
	late.EntryID, late.ContestID = 1_000_001, entries[0].ContestID
	reversed := edited
	reversed.Players = slices.Clone(edited.Players)
	slices.Reverse(reversed.Players)
	reversed.EntryID, reversed.ContestID = 1_000_002, entries[1].ContestID
	f.apply(entryEvents(1, append(slices.Clone(entries), late, reversed)))

	var ch *changes
	for _, sh := range f.w.matches[1].shards {
		ch = &sh.pending
	}
	for i := range ch.len() {
		players, _, _ := ch.lineupOf(i)
		want := entries
		var w engine.Entry
		switch {
		case i < len(want):
			w = want[i]
		case i == len(want):
			w = late
		default:
			w = reversed
		}
		if ch.entry[i] != w.EntryID || !slices.Equal(players, w.Players) {
			t.Fatalf("change %d: entry %d with lineup %v; want entry %d with %v", i, ch.entry[i], players, w.EntryID, w.Players)
		}
	}

	f.apply(state(1, kafkasource.MatchState("live")))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	for k := range entries {
		if entries[k].TeamID == team {
			entries[k].Players = edited.Players
		}
	}
	f.check(records.Live, append(entries, late, reversed), pts)
}

// TestContestFreedByPrune: once a completed match is pruned its contests leave the
// partition's state, so a contest id it used (the one of the partition's last event
// too, which the ingest keeps at hand) may serve another match: no match_move.
func TestContestFreedByPrune(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(31, reference.Shape{Contests: []int{5, 6}, Players: 22, LineupSize: 11, PointValues: 20})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	f.apply(state(1, "completed"))
	f.cycle()
	if !f.w.matches[1].pruned {
		t.Fatal("match 1 not pruned after its final cycle")
	}
	for _, ps := range f.w.parts {
		if n := ps.contestMatch.len(); n != 0 {
			t.Errorf("partition %d still maps %d contests to a match after the only match was pruned", ps.id, n)
		}
	}
	again := entries[len(entries)-1]
	again.EntryID = 88_888_888
	f.apply(entryEvents(2, []engine.Entry{again}))
	if got := f.src.codes(); len(got) != 0 {
		t.Fatalf("an entry of match 2 in a contest of pruned match 1 was refused: %v", got)
	}
	for _, ps := range f.w.parts {
		if m, ok := ps.contestMatch.get(again.ContestID); ok && m != 2 {
			t.Fatalf("contest %d belongs to match %d, want 2", again.ContestID, m)
		}
	}
	if got := f.w.matches[2].count; got != 1 {
		t.Fatalf("match 2 holds %d entries, want 1", got)
	}
}

// TestChangesGrowByDoubling: a change log keeps every event as added while its columns
// grow, all to the same length, by doubling (a log of 5000 events takes 7 room sizes,
// 64 to 8192; append's growth by a quarter took about 20, copying the log each time).
func TestChangesGrowByDoubling(t *testing.T) {
	var c changes
	var want []kafkasource.EntryEvent
	caps := map[int]bool{}
	for i := range 5000 {
		e := kafkasource.EntryEvent{EntryID: int64(i + 1), ContestID: int64(i%7 + 1), UserID: int64(i%13 + 1), TeamID: int64(i/2 + 1)}
		if i%5 == 4 {
			e.Withdrawn = true
		} else {
			e.Players = []int32{int32(i), int32(i + 1), int32(i + 2)}
			e.Captain, e.ViceCaptain = int32(i), int32(i+1)
		}
		c.add(&e)
		want = append(want, e)
		caps[cap(c.entry)] = true
		for _, n := range []int{len(c.contest), len(c.user), len(c.team), len(c.gone), len(c.lineup)} {
			if n != len(c.entry) {
				t.Fatalf("after %d events a column holds %d", len(c.entry), n)
			}
		}
	}
	for i, w := range want {
		if got := c.event(i); !reflectEqualEvent(got, w) {
			t.Fatalf("event %d reads %+v, want %+v", i, got, w)
		}
	}
	if len(caps) > 7 {
		t.Fatalf("the log's columns took %d room sizes for 5000 events, want at most 7 (doubling)", len(caps))
	}
}

func reflectEqualEvent(a, b kafkasource.EntryEvent) bool {
	return a.EntryID == b.EntryID && a.ContestID == b.ContestID && a.UserID == b.UserID && a.TeamID == b.TeamID &&
		a.Withdrawn == b.Withdrawn && a.Captain == b.Captain && a.ViceCaptain == b.ViceCaptain && slices.Equal(a.Players, b.Players)
}

package worker

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
)

// rejects records what the worker dead-letters; Poll is not used by these tests, which
// feed batches through Apply (the Kafka path is tested end to end in cmd/leaderboard).
type rejects struct {
	mu     sync.Mutex
	errs   []*kafkasource.RejectError
	topics []string
	fail   int // fail this many writes first (a DLQ outage)
}

func (r *rejects) Poll(ctx context.Context) (kafkasource.Batch, error) {
	<-ctx.Done()
	return kafkasource.Batch{}, ctx.Err()
}

func (r *rejects) Reject(_ context.Context, topic string, _ int32, _ int64, _, _ []byte, err *kafkasource.RejectError) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("dlq: broker unreachable")
	}
	r.errs = append(r.errs, err)
	r.topics = append(r.topics, topic)
	return nil
}

// codes returns the reason codes dead-lettered so far.
func (r *rejects) codes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.errs {
		out = append(out, e.Code)
	}
	return out
}

type fixture struct {
	t     *testing.T
	store *rankstore.Store
	src   *rejects
	w     *Worker
	clock time.Time
	tick  int64 // the last cycle number
	reg   *prometheus.Registry
}

// series counts the samples of the named metrics in the fixture's registry, and sums
// their values.
func (f *fixture) series(names ...string) (n int, sum float64) {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		for _, m := range mf.GetMetric() {
			n++
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return n, sum
}

func newFixture(t *testing.T, store *rankstore.Store) *fixture {
	f := &fixture{t: t, src: &rejects{}, clock: time.Unix(1_800_000_000, 0)}
	if store == nil {
		var err error
		store, err = rankstore.Open(rankstore.Config{LiveTTL: time.Hour, CompleteTTL: 7 * 24 * time.Hour}, func() time.Time { return f.clock }, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
	}
	f.store = store
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh, cfg.WriteBatch = time.Second, time.Minute, 100
	cfg.GroupEntries = 40 // several contest groups even in small tests
	cfg.Engine.PageSize = 10
	f.reg = prometheus.NewRegistry()
	w, err := New(cfg, f.src, store, slog.New(slog.DiscardHandler), f.reg, func() time.Time { return f.clock })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddPartition(0, 0); err != nil {
		t.Fatal(err)
	}
	f.w = w
	if f.tick, err = StoredCycle(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	return f
}

func entryEvents(match int64, entries []engine.Entry) kafkasource.Batch {
	var b kafkasource.Batch
	for k, e := range entries {
		b.Entries = append(b.Entries, kafkasource.EntryRecord{Offset: int64(k), Event: kafkasource.EntryEvent{
			MatchID: match, ContestID: e.ContestID, EntryID: e.EntryID, UserID: e.UserID, TeamID: e.TeamID,
			Players: e.Players, Captain: e.Captain, ViceCaptain: e.ViceCaptain}})
	}
	return b
}

func pointsEvents(match int64, pts map[int32]float64) kafkasource.Batch {
	var b kafkasource.Batch
	for id, v := range pts {
		c, _ := engine.Centipoints(v)
		b.Points = append(b.Points, kafkasource.PointsEvent{MatchID: match, PlayerID: id, Centi: c})
	}
	return b
}

func state(match int64, s kafkasource.MatchState) kafkasource.Batch {
	return kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: match, State: s}}}
}

func (f *fixture) apply(b kafkasource.Batch) {
	f.t.Helper()
	if err := f.w.Apply(context.Background(), b); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) cycle() {
	f.t.Helper()
	f.clock = f.clock.Add(time.Second)
	f.tick++
	if err := f.w.Cycle(context.Background(), Tick{Cycle: f.tick, At: f.clock}); err != nil {
		f.t.Fatal(err)
	}
}

// board reads every contest's standings back from the store, as reference rows.
func (f *fixture) board(ns string, contests []int64) map[int64][]reference.Row {
	f.t.Helper()
	ctx := context.Background()
	out := map[int64][]reference.Row{}
	for _, id := range contests {
		b, ok, err := f.store.Get(ctx, ns, records.SetContest, records.IDKey(id))
		if err != nil || !ok {
			continue
		}
		c, err := records.ContestFrom(b)
		if err != nil {
			f.t.Fatal(err)
		}
		all := slices.Clone(c.First)
		for pg := 1; pg < int(c.Pages()); pg++ {
			pb, ok, _ := f.store.Get(ctx, ns, records.SetPage, records.PageKey(id, pg))
			if !ok {
				f.t.Fatalf("contest %d page %d missing", id, pg)
			}
			page, _ := records.PageFrom(pb)
			if page.Cycle > c.Cycle {
				f.t.Fatalf("page %d newer than its contest", pg)
			}
			all = append(all, page.Rows...)
		}
		if int64(len(all)) != c.Total {
			f.t.Fatalf("contest %d: %d rows, total %d", id, len(all), c.Total)
		}
		for _, r := range all {
			out[id] = append(out[id], reference.Row{ContestID: id, EntryID: r.EntryID, UserID: r.UserID, TeamID: r.TeamID, Points: r.Points * 2, Rank: int(r.Rank)})
		}
	}
	return out
}

func refBoard(entries []engine.Entry, pts map[int32]float64) (map[int64][]reference.Row, []int64) {
	out := map[int64][]reference.Row{}
	var ids []int64
	for _, r := range reference.Rank(entries, pts) {
		if _, ok := out[r.ContestID]; !ok {
			ids = append(ids, r.ContestID)
		}
		out[r.ContestID] = append(out[r.ContestID], r)
	}
	return out, ids
}

func (f *fixture) check(ns string, entries []engine.Entry, pts map[int32]float64) {
	f.t.Helper()
	want, ids := refBoard(entries, pts)
	got := f.board(ns, ids)
	for _, id := range ids {
		if !slices.Equal(got[id], want[id]) {
			f.t.Fatalf("%s contest %d:\n got %v\nwant %v", ns, id, head(got[id]), head(want[id]))
		}
	}
	// Every user's record lists exactly their entries, by contest then entry id.
	byUser := map[int64][]int64{}
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b engine.Entry) int {
		if a.ContestID != b.ContestID {
			return cmpInt(a.ContestID, b.ContestID)
		}
		return cmpInt(a.EntryID, b.EntryID)
	})
	for _, e := range sorted {
		byUser[e.UserID] = append(byUser[e.UserID], e.EntryID)
	}
	// A user's entries are in one record per partition of the match (the commit lists
	// the partitions), each sorted by contest then entry id.
	ctx := context.Background()
	mb, _, _ := f.store.Get(ctx, ns, records.SetMatch, "1")
	m, _ := records.MatchFrom(mb)
	if len(m.Parts) == 0 {
		f.t.Fatalf("%s: the match's commit lists no partition", ns)
	}
	for u, ids := range byUser {
		var got []records.Entry
		for _, p := range m.Parts {
			ub, ok, _ := f.store.Get(ctx, ns, records.SetUser, records.UserKey(1, u, p))
			if !ok {
				continue
			}
			rec, err := records.UserFrom(ub)
			if err != nil {
				f.t.Fatal(err)
			}
			if !slices.IsSortedFunc(rec.Entries, func(a, b records.Entry) int {
				return cmp.Or(cmpInt(a.Contest, b.Contest), cmpInt(a.ID, b.ID))
			}) {
				f.t.Fatalf("%s: user %d's record in partition %d is not sorted by contest and entry", ns, u, p)
			}
			got = append(got, rec.Entries...)
		}
		if len(got) == 0 {
			f.t.Fatalf("%s: user %d has no record", ns, u)
		}
		sortEntries(got)
		gotIDs := make([]int64, len(got))
		for k, e := range got {
			gotIDs[k] = e.ID
		}
		if !slices.Equal(gotIDs, ids) {
			f.t.Fatalf("%s: user %d's records list %v, want %v", ns, u, gotIDs, ids)
		}
	}
	// Every entry's record gives, with its contest's histogram and its partition's points
	// log, the rank the reference gives: what the API computes.
	logs := map[int32]records.PointsLog{}
	for _, p := range m.Parts {
		pb, ok, _ := f.store.Get(ctx, ns, records.SetMatchPart, records.MatchPartKey(1, p))
		if !ok {
			f.t.Fatalf("%s: partition %d of the match has no record", ns, p)
		}
		mp, err := records.MatchPartFrom(pb)
		if err != nil {
			f.t.Fatal(err)
		}
		logs[p] = mp.Log
	}
	for _, rows := range want {
		for _, r := range rows {
			eb, ok, _ := f.store.Get(ctx, ns, records.SetEntry, records.IDKey(r.EntryID))
			if !ok {
				f.t.Fatalf("entry %d has no record", r.EntryID)
			}
			e, _ := records.EntryFrom(eb)
			cb, _, _ := f.store.Get(ctx, ns, records.SetContest, records.IDKey(e.Contest))
			c, _ := records.ContestFrom(cb)
			pts := e.Lineup.Points(logs[e.Part].At(c.Cycle))
			st, ok := records.StandingOf(c.Hist, pts)
			if !ok || st.Rank != int64(r.Rank) || pts*2 != r.Points {
				f.t.Fatalf("entry %d: computed rank %d points %d, want %d %d", r.EntryID, st.Rank, pts, r.Rank, r.Points/2)
			}
		}
	}
}

func head(r []reference.Row) []reference.Row {
	if len(r) > 5 {
		return r[:5]
	}
	return r
}

func TestWorkerRanksIntoStore(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(9, reference.Shape{Contests: []int{1, 2, 10, 11, 95, 3}, Players: 22, LineupSize: 11, Teams: 40, PointValues: 30, Negative: true})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, kafkasource.MatchState("live")))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	f.check(records.Live, entries, pts)
	if f.w.LastCycle().Cycle != 1 {
		t.Fatalf("cycle %d", f.w.LastCycle().Cycle)
	}

	// Points move: the next cycle rewrites what changed and nothing else.
	pts2 := map[int32]float64{}
	for id, v := range pts {
		pts2[id] = v
	}
	for id := range pts2 {
		pts2[id] += 4
		break
	}
	f.apply(pointsEvents(1, pts2))
	f.cycle()
	f.check(records.Live, entries, pts2)
	if rep := f.w.LastCycle(); rep.Cycle != 2 || rep.Stats.ChangedEntries == 0 {
		t.Fatalf("report %+v", rep)
	}

	// A withdrawal shrinks a contest; its last page's record goes away.
	last := entries[len(entries)-1]
	withdraw := kafkasource.Batch{Entries: []kafkasource.EntryRecord{{Event: kafkasource.EntryEvent{MatchID: 1, ContestID: last.ContestID, EntryID: last.EntryID, Withdrawn: true}}}}
	f.apply(withdraw)
	entries = entries[:len(entries)-1]
	f.cycle()
	f.check(records.Live, entries, pts2)
	if _, ok, _ := f.store.Get(context.Background(), records.Live, records.SetEntry, records.IDKey(last.EntryID)); ok {
		t.Fatal("withdrawn entry still has a record")
	}

	// An entry moving contest is dead-lettered; state is unchanged.
	moved := entries[0]
	moved.ContestID += 1_000_000
	f.apply(entryEvents(1, []engine.Entry{moved}))
	if len(f.src.errs) != 1 || f.src.errs[0].Code != "contest_move" {
		t.Fatalf("rejections %v", f.src.errs)
	}
	// A lineup of another size than the match's (the source accepts any size when told
	// to) is dead-lettered too, not silently dropped.
	short := entries[0]
	short.EntryID, short.Players = 99_999_999, short.Players[:5]
	short.Captain, short.ViceCaptain = short.Players[0], short.Players[1]
	f.apply(entryEvents(1, []engine.Entry{short}))
	if len(f.src.errs) != 2 || f.src.errs[1].Code != "lineup_size" {
		t.Fatalf("rejections %v", f.src.errs)
	}
	f.cycle()
	f.check(records.Live, entries, pts2)

	// Completion: a final cycle into the complete namespace, then no more cycles.
	f.apply(state(1, kafkasource.MatchState("completed")))
	f.cycle()
	f.check(records.Complete, entries, pts2)
	final := f.w.LastCycle().Cycle
	f.apply(pointsEvents(1, pts))
	f.cycle()
	if f.w.LastCycle().Cycle != final {
		t.Fatal("a completed match was ranked again")
	}
	f.check(records.Complete, entries, pts2)

	// A restarted worker over the same store resumes the numbering and does not rank
	// the completed match again.
	g := newFixture(t, f.store)
	g.apply(entryEvents(1, entries))
	g.apply(state(1, kafkasource.MatchState("completed")))
	g.apply(pointsEvents(1, pts))
	g.cycle()
	g.check(records.Complete, entries, pts2)
	if g.w.LastCycle() != nil {
		t.Fatal("restarted worker ranked a completed match")
	}
}

func TestWorkerResumesCycleNumbers(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(4, reference.Shape{Contests: []int{5, 30}, Players: 22, LineupSize: 11, PointValues: 10})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, kafkasource.MatchState("live")))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	f.cycle()
	g := newFixture(t, f.store)
	g.apply(entryEvents(1, entries))
	g.apply(state(1, kafkasource.MatchState("live")))
	g.apply(pointsEvents(1, pts))
	g.cycle()
	if g.w.LastCycle().Cycle != 3 {
		t.Fatalf("restarted at cycle %d, want 3", g.w.LastCycle().Cycle)
	}
	g.check(records.Live, entries, pts)
}

// TestTeamEdit: entries sharing a team share its lineup, so a new lineup for the team
// (the user edited it before the deadline) applies to all of its entries.
func TestTeamEdit(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(6, reference.Shape{Contests: []int{4, 25}, Players: 22, LineupSize: 11, Teams: 3, PointValues: 50})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, kafkasource.MatchState("live")))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	edited := entries[0]
	edited.Players = slices.Clone(edited.Players)
	for _, p := range entries[1].Players { // swap in a player the lineup lacks
		if !slices.Contains(edited.Players, p) {
			for k, q := range edited.Players {
				if q != edited.Captain && q != edited.ViceCaptain {
					edited.Players[k] = p
					break
				}
			}
			break
		}
	}
	f.apply(entryEvents(1, []engine.Entry{edited}))
	for k := range entries {
		if entries[k].TeamID == edited.TeamID {
			entries[k].Players = edited.Players
		}
	}
	f.cycle()
	f.check(records.Live, entries, pts)
}

// TestRefreshRewritesEverything: with refresh = 3 intervals, every record of a live match
// is rewritten within 3 cycles even if nothing changed, so none reaches the live TTL.
func TestRefreshRewritesEverything(t *testing.T) {
	f := newFixture(t, nil)
	f.w.cfg.Refresh = 3 * f.w.cfg.Interval
	entries, pts := reference.Random(7, reference.Shape{Contests: []int{3, 40, 7, 12}, Players: 22, LineupSize: 11, PointValues: 50})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, kafkasource.MatchState("live")))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	f.clock = f.clock.Add(50 * time.Minute)
	for range 3 {
		f.cycle() // nothing changes
	}
	f.clock = f.clock.Add(59 * time.Minute) // 59 min after the last three cycles, 109 after the first
	f.check(records.Live, entries, pts)
	mb, _, _ := f.store.Get(context.Background(), records.Live, records.SetMatch, "1")
	m, _ := records.MatchFrom(mb)
	if len(m.Parts) == 0 {
		t.Fatal("the match's commit lists no partition")
	}
	for _, k := range []struct{ set, key string }{{records.SetMatches, records.MatchesKey}, {records.SetContests, records.ChunkKey(1, m.Parts[0], 0)},
		{records.SetMatch, "1"}, {records.SetMatchPart, records.MatchPartKey(1, m.Parts[0])}} {
		if _, ok, _ := f.store.Get(context.Background(), records.Live, k.set, k.key); !ok {
			t.Errorf("%s/%s expired while the match is live", k.set, k.key)
		}
	}
}

// TestCommitBarrier: a cluster worker ranks a match only at the ticks that do not hold
// it (the coordinator holds a match whose last open cycle is not committed), and each
// rewrite of a contest keeps the version before it.
func TestCommitBarrier(t *testing.T) {
	f := newFixture(t, nil)
	f.w.cfg.Cluster = true
	entries, pts := reference.Random(3, reference.Shape{Contests: []int{30, 12}, Players: 22, LineupSize: 11, PointValues: 20})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	cycle := func(hold ...int64) int64 {
		t.Helper()
		f.clock = f.clock.Add(time.Second)
		f.tick++
		if err := f.w.Cycle(context.Background(), Tick{Cycle: f.tick, At: f.clock, Hold: hold}); err != nil {
			t.Fatal(err)
		}
		return f.tick
	}
	contestCycle := func() (cur int64, prev int64) {
		t.Helper()
		b, ok, _ := f.store.Get(context.Background(), records.Live, records.SetContest, records.IDKey(entries[0].ContestID))
		if !ok {
			t.Fatal("contest not written")
		}
		return b.Int("cycle"), b.Int(records.PrevName("cycle"))
	}
	var shares []MatchResult
	f.w.SetReporter(func(_ context.Context, r CycleResult) {
		shares = shares[:0]
		for _, pr := range r.Parts {
			shares = append(shares, pr.Matches...)
		}
	})
	first := cycle()
	if c, p := contestCycle(); c != first || p != 0 {
		t.Fatalf("first write: cycle %d prev %d, want %d and none", c, p, first)
	}
	bumped := map[int32]float64{}
	for id, v := range pts {
		bumped[id] = v + 1
	}
	f.apply(pointsEvents(1, bumped))
	cycle(1) // held: nothing written, the share stays at the first cycle
	if c, _ := contestCycle(); c != first {
		t.Fatalf("written at %d while held", c)
	}
	if len(shares) != 1 || shares[0].Cycle != first {
		t.Fatalf("shares reported while held: %+v, want the first cycle %d", shares, first)
	}
	cycle(2) // another match held: this one is open
	second := f.tick
	if c, p := contestCycle(); c != second || p != first {
		t.Fatalf("second write: cycle %d prev %d, want %d and %d", c, p, second, first)
	}
	want, ids := refBoard(entries, bumped)
	got := f.board(records.Live, ids)
	for _, id := range ids {
		if !slices.Equal(got[id], want[id]) {
			t.Fatalf("contest %d: not the reference", id)
		}
	}
}

// TestDeletionsWaitACycle: a contest emptied at cycle N (every entry withdrawn) keeps its
// record until the next cycle: readers of the committed cycle N-1 still show it.
func TestDeletionsWaitACycle(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(5, reference.Shape{Contests: []int{20, 8}, Players: 22, LineupSize: 11, PointValues: 20})
	f.apply(entryEvents(1, entries))
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	gone := entries[len(entries)-1].ContestID
	var b kafkasource.Batch
	for _, e := range entries {
		if e.ContestID == gone {
			b.Entries = append(b.Entries, kafkasource.EntryRecord{Event: kafkasource.EntryEvent{MatchID: 1, ContestID: gone, EntryID: e.EntryID, UserID: e.UserID, TeamID: e.TeamID, Withdrawn: true}})
		}
	}
	if len(b.Entries) == 0 {
		t.Fatal("no entry of the last contest")
	}
	f.apply(b)
	has := func() bool {
		_, ok, _ := f.store.Get(context.Background(), records.Live, records.SetContest, records.IDKey(gone))
		return ok
	}
	f.cycle()
	if !has() {
		t.Fatal("the emptied contest was deleted in the cycle that emptied it: readers of the previous, committed cycle lose it")
	}
	f.cycle()
	if has() {
		t.Fatal("the emptied contest was not deleted a cycle later")
	}
}

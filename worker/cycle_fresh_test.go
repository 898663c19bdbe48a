package worker

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// TestStableOrder: the radix path and the comparison path order positions by key, ties
// in position order, for keys dense, negative, duplicated and spread over all of int64.
func TestStableOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := map[string]func() int64{
		"dense":    func() int64 { return rng.Int64N(500) },
		"negative": func() int64 { return rng.Int64N(1<<20) - 1<<19 },
		"sparse":   func() int64 { return rng.Int64N(1 << 40) },
		"full":     func() int64 { return int64(rng.Uint64()) },
		"extremes": func() int64 { return []int64{math.MinInt64, math.MaxInt64, 0, -1}[rng.IntN(4)] },
		"equal":    func() int64 { return 42 },
	}
	var up int64 // ascending, with repeats: the already-sorted path
	shapes["ascending"] = func() int64 { up += rng.Int64N(3); return up }
	var down int64 = 1 << 30 // ascending but for one step down now and then
	shapes["nearly"] = func() int64 {
		if rng.IntN(500) == 0 {
			down -= 5
		} else {
			down += rng.Int64N(3)
		}
		return down
	}
	for name, gen := range shapes {
		for _, n := range []int{0, 1, 2, 63, 64, 65, 1000, 5000} {
			keys := make([]int64, n)
			for j := range keys {
				keys[j] = gen()
			}
			order, sorted := stableOrder(n, func(j int) int64 { return keys[j] })
			want := make([]uint32, n)
			for j := range want {
				want[j] = uint32(j)
			}
			slices.SortStableFunc(want, func(a, b uint32) int { return cmpInt(keys[a], keys[b]) })
			if !slices.Equal(order, want) {
				t.Fatalf("%s, n=%d: order differs from a stable sort", name, n)
			}
			for k, j := range order {
				if sorted[k] != keys[j] {
					t.Fatalf("%s, n=%d: key %d is %d, want %d", name, n, k, sorted[k], keys[j])
				}
			}
		}
	}
}

// TestSortedUserIndex: the radix-built index equals buildUserIndex's.
func TestSortedUserIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, users := range []int64{1, 7, 300, 1 << 40} {
		b := engine.NewBuilder(2, 0)
		for i := range 3000 {
			if err := b.Add(engine.Entry{ContestID: rng.Int64N(50), EntryID: int64(i), UserID: rng.Int64N(users), TeamID: 1, Players: []int32{1, 2}, Captain: 1, ViceCaptain: 2}); err != nil {
				t.Fatal(err)
			}
		}
		p, err := b.Build(engine.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sortedUserIndex(p.UserID, p.NumEntries()), buildUserIndex(p); !reflect.DeepEqual(got, want) {
			t.Fatalf("users < %d: index differs from buildUserIndex", users)
		}
	}
}

// TestFreshFoldSameAsFold: a shard's first fold in bulk (foldFresh) makes what the
// change-log fold (foldLog) makes from the same log: the same groups of the same
// contests, partitions equal column by column (lineups in the same player order, so
// every record is the same bytes), the same user indexes, the same deletions and
// contests listed in the same order, and the same users (as a set: the cycle takes them
// so). Logs hold repeated upserts, user changes, withdrawals (some of entries whose
// contest empties), entries withdrawn and entered in another contest, contests larger
// than a group, a team edit, dense and sparse ids.
func TestFreshFoldSameAsFold(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 77))
			sparse := seed%3 == 2
			ch, edited, editedNow := randomLog(rng, sparse, seed%4 == 1)
			const groupEntries = 40
			cfg := engine.DefaultConfig()
			cfg.PageSize = 10
			a := &shard{part: 3, match: 1, groupOf: map[int64]int32{}}
			b := &shard{part: 3, match: 1, groupOf: map[int64]int32{}}
			want, err := foldLog(a, ch, edited, editedNow, 11, groupEntries, cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := foldFresh(b, ch, edited, editedNow, 11, groupEntries, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.groups) == 0 {
				t.Fatal("the log made no group")
			}
			sameFold(t, a, b, want, got)
		})
	}
}

func sameFold(t *testing.T, a, b *shard, want, got foldResult) {
	t.Helper()
	if !reflect.DeepEqual(a.groupOf, b.groupOf) {
		t.Fatalf("groupOf: got %v, want %v", b.groupOf, a.groupOf)
	}
	if len(a.groups) != len(b.groups) {
		t.Fatalf("%d groups, want %d", len(b.groups), len(a.groups))
	}
	index := map[*group]int{}
	for gi, ga := range a.groups {
		gb := b.groups[gi]
		index[ga], index[gb] = gi, gi
		if ga.n != gb.n || ga.rebuilt != gb.rebuilt || ga.pid != gb.pid {
			t.Fatalf("group %d: n %d rebuilt %v pid %d, want %d %v %d", gi, gb.n, gb.rebuilt, gb.pid, ga.n, ga.rebuilt, ga.pid)
		}
		if !reflect.DeepEqual(ga.users, gb.users) {
			t.Fatalf("group %d: user index differs", gi)
		}
		samePartition(t, gi, ga.part, gb.part)
	}
	order := func(gs []*group) []int {
		out := make([]int, len(gs))
		for k, g := range gs {
			out[k] = index[g]
		}
		return out
	}
	switch {
	case !slices.Equal(order(want.rebuilt), order(got.rebuilt)):
		t.Fatalf("rebuilt %v, want %v", order(got.rebuilt), order(want.rebuilt))
	case !slices.Equal(order(want.fresh), order(got.fresh)):
		t.Fatalf("fresh %v, want %v", order(got.fresh), order(want.fresh))
	case !reflect.DeepEqual(want.olds, got.olds):
		t.Fatalf("olds %v, want %v", got.olds, want.olds)
	case !slices.Equal(sortedIDs(slices.Clone(want.users)), sortedIDs(slices.Clone(got.users))):
		t.Fatalf("users %v, want %v", got.users, want.users)
	case !slices.Equal(want.gone, got.gone):
		t.Fatalf("gone %v, want %v", got.gone, want.gone)
	case !slices.Equal(want.entries, got.entries):
		t.Fatalf("entries %v, want %v", got.entries, want.entries)
	case len(want.contests) != len(got.contests):
		t.Fatalf("contests of %d groups, want %d", len(got.contests), len(want.contests))
	}
	if len(want.gone) == 0 {
		t.Fatal("the log withdrew no entry of a ranked contest")
	}
	for g, cs := range want.contests {
		if !slices.Equal(cs, got.contests[b.groups[index[g]]]) {
			t.Fatalf("group %d: contests %v, want %v", index[g], got.contests[b.groups[index[g]]], cs)
		}
	}
}

func samePartition(t *testing.T, gi int, a, b *engine.Partition) {
	t.Helper()
	if a.NumEntries() != b.NumEntries() || a.NumContests() != b.NumContests() || a.NumTeams() != b.NumTeams() || !slices.Equal(a.Players(), b.Players()) {
		t.Fatalf("group %d: %d entries, %d contests, %d teams, players %v; want %d, %d, %d, %v", gi,
			b.NumEntries(), b.NumContests(), b.NumTeams(), b.Players(), a.NumEntries(), a.NumContests(), a.NumTeams(), a.Players())
	}
	for c := range a.NumContests() {
		if a.Contest(c) != b.Contest(c) {
			t.Fatalf("group %d: contest %d is %+v, want %+v", gi, c, b.Contest(c), a.Contest(c))
		}
	}
	for i := range a.NumEntries() {
		la, ca, va := a.Lineup(i, nil)
		lb, cb, vb := b.Lineup(i, nil)
		if a.EntryID(i) != b.EntryID(i) || a.UserID(i) != b.UserID(i) || a.TeamID(i) != b.TeamID(i) || !slices.Equal(la, lb) || ca != cb || va != vb {
			t.Fatalf("group %d: entry %d differs", gi, i)
		}
	}
}

// randomLog is a shard's change log as ingest leaves it: each team one lineup (an edited
// team's events carry old and new ones: edited holds the latest), entries upserted,
// upserted again (some by another user), withdrawn, withdrawn and entered elsewhere.
func randomLog(rng *rand.Rand, sparse, edit bool) (*changes, map[int64]records.Lineup, map[int64]struct{}) {
	id := func(k int64) int64 {
		if sparse {
			return k*0x9E3779B97F4A7 + 1<<50 // spread far: the comparison path
		}
		return k
	}
	type lineup struct {
		players     []int32
		capt, vice  int32
		alt         []int32
		altC, altV  int32
		editedTeam  bool
		editedFirst bool
	}
	teams := make([]lineup, 60)
	for k := range teams {
		ps := rng.Perm(30)[:11]
		l := lineup{}
		for _, p := range ps {
			l.players = append(l.players, int32(1000+p))
		}
		l.capt, l.vice = l.players[rng.IntN(11)], l.players[0]
		if l.capt == l.vice {
			l.capt = l.players[1]
		}
		teams[k] = l
	}
	edited := map[int64]records.Lineup{}
	editedNow := map[int64]struct{}{}
	if edit {
		for _, k := range []int{3, 17} {
			l := &teams[k]
			l.editedTeam = true
			alt := slices.Clone(l.players)
			alt[5] = 1040 + int32(k) // a player new to the match
			l.alt, l.altC, l.altV = alt, alt[2], alt[3]
			edited[id(int64(k))] = records.Lineup{Players: alt, Captain: alt[2], Vice: alt[3]}
			editedNow[id(int64(k))] = struct{}{}
		}
	}
	sizes := []int{1, 2, 2, 3, 5, 10, 20, 45, 2, 60, 7, 1, 12}
	var perEntry [][]kafkasource.EntryEvent
	next := int64(1)
	for c, size := range sizes {
		contest := id(int64(100 + c*3))
		for range size {
			entry := id(next)
			next++
			team := rng.IntN(len(teams))
			l := teams[team]
			mk := func(contest, user int64) kafkasource.EntryEvent {
				e := kafkasource.EntryEvent{MatchID: 1, ContestID: contest, EntryID: entry, UserID: user, TeamID: id(int64(team)),
					Players: l.players, Captain: l.capt, ViceCaptain: l.vice}
				if l.editedTeam && rng.IntN(2) == 0 {
					e.Players, e.Captain, e.ViceCaptain = l.alt, l.altC, l.altV
				}
				return e
			}
			user := id(int64(rng.IntN(40)))
			evs := []kafkasource.EntryEvent{mk(contest, user)}
			switch r := rng.IntN(20); {
			case r < 2: // upserted again
				evs = append(evs, mk(contest, user))
			case r < 3: // another user
				evs = append(evs, mk(contest, id(int64(rng.IntN(40)))))
			case r < 5: // withdrawn
				evs = append(evs, kafkasource.EntryEvent{MatchID: 1, ContestID: contest, EntryID: entry, Withdrawn: true})
			case r < 6: // withdrawn, entered in another contest
				evs = append(evs, kafkasource.EntryEvent{MatchID: 1, ContestID: contest, EntryID: entry, Withdrawn: true},
					mk(id(int64(100+rng.IntN(len(sizes))*3)), user))
			}
			perEntry = append(perEntry, evs)
		}
	}
	// A contest whose only entry is withdrawn: no group.
	perEntry = append(perEntry, []kafkasource.EntryEvent{
		{MatchID: 1, ContestID: id(999), EntryID: id(next), UserID: 5, TeamID: id(0), Players: teams[0].players, Captain: teams[0].capt, ViceCaptain: teams[0].vice},
		{MatchID: 1, ContestID: id(999), EntryID: id(next), Withdrawn: true},
	})
	// Interleave the entries' events, each entry's in its own order.
	ch := &changes{}
	pos := make([]int, len(perEntry))
	left := 0
	for _, evs := range perEntry {
		left += len(evs)
	}
	for ; left > 0; left-- {
		k := rng.IntN(len(perEntry))
		for pos[k] == len(perEntry[k]) {
			k = (k + 1) % len(perEntry)
		}
		e := perEntry[k][pos[k]]
		pos[k]++
		ch.add(&e)
	}
	return ch, edited, editedNow
}

// TestSortedIDsOutside: sortedIDs sorts and drops repeats (radix and small paths);
// outside drops the ids of a range without changing its input.
func TestSortedIDsOutside(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 3, 64, 65, 4000} {
		ids := make([]int64, n)
		for j := range ids {
			ids[j] = rng.Int64N(3000) - 1000
		}
		want := slices.Clone(ids)
		slices.Sort(want)
		want = slices.Compact(want)
		got := sortedIDs(slices.Clone(ids))
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d: sortedIDs differs from sort and compact", n)
		}
		for _, r := range [][2]int64{{-5000, -4000}, {0, 500}, {-1000, 5000}, {0, -1}, {7, 7}} {
			before := slices.Clone(got)
			var keep []int64
			for _, u := range got {
				if u < r[0] || u >= r[1] {
					keep = append(keep, u)
				}
			}
			if out := outside(got, r[0], r[1]); !slices.Equal(out, keep) || !slices.Equal(got, before) {
				t.Fatalf("n=%d, range %v: outside gave %d ids, want %d (input changed: %v)", n, r, len(out), len(keep), !slices.Equal(got, before))
			}
		}
	}
}

// TestEachCommon: the galloping merge finds every id of both lists, in order, for lists
// of any relative size and overlap.
func TestEachCommon(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	list := func(n int, span int64) []int64 {
		out := make([]int64, n)
		for j := range out {
			out[j] = rng.Int64N(span) - span/3
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	for range 300 {
		a, b := list(rng.IntN(2000), 1+rng.Int64N(5000)), list(rng.IntN(300), 1+rng.Int64N(5000))
		var want, got [][2]int
		for k, v := range b {
			if i, ok := slices.BinarySearch(a, v); ok {
				want = append(want, [2]int{i, k})
			}
		}
		eachCommon(a, b, func(i, k int) { got = append(got, [2]int{i, k}) })
		if !slices.Equal(got, want) {
			t.Fatalf("a %v, b %v: got %v, want %v", a, b, got, want)
		}
	}
}

// TestParallelEmit: every task's records reach emit once (emit called from several
// goroutines: the race detector checks the callers' sharing), and an emit error is
// returned and stops the tasks not yet started.
func TestParallelEmit(t *testing.T) {
	const n = 200
	var mu sync.Mutex
	seen := map[string]int{}
	task := func(k int, s *taskScratch) []records.Record {
		return append(s.recs, records.Record{Key: fmt.Sprint(k)}, records.Record{Key: fmt.Sprint(k, "b")})
	}
	var pool scratchPool
	err := parallelEmit(&pool, n, task, func(recs []records.Record) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			seen[r.Key]++
		}
		return nil
	})
	if err != nil || len(seen) != 2*n {
		t.Fatalf("err %v, %d records seen, want %d", err, len(seen), 2*n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Fatalf("record %s emitted %d times", k, c)
		}
	}
	var calls atomic.Int64
	boom := errors.New("boom")
	err = parallelEmit(nil, n, task, func([]records.Record) error {
		if calls.Add(1) == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the emit error", err)
	}
	if c := calls.Load(); c >= n || c > 10+int64(runtime.GOMAXPROCS(0)) {
		t.Fatalf("%d emits after an error at the 10th, of %d tasks", c, n)
	}
}

// buildUserIndex is the user index by a comparison sort: the reference sortedUserIndex
// (the cycle's) and the folds' indexes are checked against.
func buildUserIndex(p *engine.Partition) userIndex {
	n := p.NumEntries()
	type pair struct {
		user int64
		i    uint32
	}
	pairs := make([]pair, n)
	for i := range pairs {
		pairs[i] = pair{p.UserID(i), uint32(i)}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if a.user != b.user {
			return cmpInt(a.user, b.user)
		}
		return int(a.i) - int(b.i)
	})
	var u userIndex
	u.idx = make([]uint32, n)
	for k, pr := range pairs {
		u.idx[k] = pr.i
		if k == 0 || pr.user != u.ids[len(u.ids)-1] {
			u.ids = append(u.ids, pr.user)
			u.start = append(u.start, uint32(k))
		}
	}
	u.start = append(u.start, uint32(n))
	u.ids = slices.Clip(u.ids)
	u.start = slices.Clip(u.start)
	return u
}

// BenchmarkFoldFresh measures a shard's first fold alone (foldFresh: the groups' engine
// partitions built from a replayed change log, and their user indexes): one shard of
// LB_BENCH_ENTRIES entries (default 200k) from BenchmarkColdStart's generator, every
// event an upsert, folded afresh each iteration. "arrival" logs them as the generator
// makes them (in entry id and contest order, so the fold's sorts find them sorted);
// "shuffled" in a random order (as a partition's log of many contests arrives: no sort
// skipped, a team's entries apart); "join" as a match day's stream arrives (shuffled,
// entry ids renumbered to ascend in it: the sort by entry skipped, the one by contest
// not, a team's entries apart). cpu-ns/entry is the process's CPU (getrusage: the
// builds' parallel sorts and the GC included) per entry folded.
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench FoldFresh -benchtime 5x ./worker
func BenchmarkFoldFresh(b *testing.B) {
	n := benchEntries(b)
	s := newSynth(n)
	var events []kafkasource.EntryEvent
	for s.made < s.n {
		batch := s.batch(10_000)
		for k := range batch.Entries {
			events = append(events, batch.Entries[k].Event)
		}
	}
	orders := []string{"arrival", "shuffled", "join"}
	logs := make([]*changes, len(orders))
	for o, order := range orders {
		switch order {
		case "shuffled":
			rng := rand.New(rand.NewPCG(1, 2))
			rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
		case "join": // after "shuffled"
			for k := range events {
				events[k].EntryID = int64(k + 1)
			}
		}
		logs[o] = &changes{}
		for k := range events {
			logs[o].add(&events[k])
		}
	}
	events = nil // not scanned by the GC during the folds
	runtime.GC()
	for o, order := range orders {
		b.Run(order, func(b *testing.B) {
			ch := logs[o]
			cfg := DefaultConfig()
			b.ResetTimer()
			var cpu time.Duration
			for range b.N {
				sh := &shard{part: 0, match: 1, groupOf: map[int64]int32{}}
				c0 := cpuTime()
				res, err := foldFresh(sh, ch, nil, nil, 11, cfg.GroupEntries, cfg.Engine)
				cpu += cpuTime() - c0
				if err != nil {
					b.Fatal(err)
				}
				if got := len(res.fresh); got == 0 {
					b.Fatal("the fold built no group")
				}
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/entry")
		})
	}
}

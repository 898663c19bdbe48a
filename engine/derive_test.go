package engine_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
)

// deriveStep is one batch of changes to a partition's entries.
type deriveStep struct {
	name   string
	remove []engine.EntryKey
	add    []engine.Entry
}

// entrySet is the entries a partition should hold, by entry id.
type entrySet map[int64]engine.Entry

func (s entrySet) list() []engine.Entry {
	out := make([]engine.Entry, 0, len(s))
	for _, e := range s {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b engine.Entry) int { return int(a.EntryID - b.EntryID) })
	return out
}

// randomStep draws a batch of changes of the given kind against the current entries.
func randomStep(rng *rand.Rand, kind string, cur entrySet, players []int32, nextID, nextTeam *int64) deriveStep {
	list := cur.list()
	contests := map[int64][]engine.Entry{}
	var ids []int64
	for _, e := range list {
		if contests[e.ContestID] == nil {
			ids = append(ids, e.ContestID)
		}
		contests[e.ContestID] = append(contests[e.ContestID], e)
	}
	slices.Sort(ids)
	pick := func() engine.Entry { return list[rng.IntN(len(list))] }
	newLineup := func(extra int32) ([]int32, int32, int32) {
		perm := rng.Perm(len(players))
		l := make([]int32, 0, len(list[0].Players))
		for _, k := range perm[:cap(l)] {
			l = append(l, players[k])
		}
		if extra != 0 {
			l[0] = extra
		}
		return l, l[0], l[1]
	}
	st := deriveStep{name: kind}
	remove := func(e engine.Entry) {
		st.remove = append(st.remove, engine.EntryKey{ContestID: e.ContestID, EntryID: e.EntryID})
	}
	switch kind {
	case "late entry, known team": // a new entry of a team already in the partition
		e := pick()
		*nextID++
		e.EntryID, e.UserID, e.ContestID = *nextID, 9000+*nextID, ids[rng.IntN(len(ids))]
		st.add = append(st.add, e)
	case "late entries, new teams": // several, one with a player new to the partition
		for j := range 3 {
			*nextID++
			*nextTeam++
			var extra int32
			if j == 2 {
				extra = 555_000 + int32(*nextID)
			}
			l, c, v := newLineup(extra)
			st.add = append(st.add, engine.Entry{ContestID: ids[rng.IntN(len(ids))], EntryID: *nextID, UserID: *nextID, TeamID: *nextTeam, Players: l, Captain: c, ViceCaptain: v})
		}
	case "withdrawals":
		seen := map[int64]bool{}
		for range 4 {
			if e := pick(); !seen[e.EntryID] {
				seen[e.EntryID] = true
				remove(e)
			}
		}
	case "a contest emptied":
		if len(ids) < 3 {
			break // keep some contests for the steps after
		}
		small := ids[0]
		for _, id := range ids {
			if len(contests[id]) < len(contests[small]) {
				small = id
			}
		}
		for _, e := range contests[small] {
			remove(e)
		}
	case "a new contest":
		c := ids[len(ids)-1] + 1 + int64(rng.IntN(3))
		for range 3 {
			e := pick()
			*nextID++
			e.EntryID, e.ContestID = *nextID, c
			st.add = append(st.add, e)
		}
		*nextTeam++
		*nextID++
		l, cp, v := newLineup(0)
		st.add = append(st.add, engine.Entry{ContestID: ids[0] - 5, EntryID: *nextID, UserID: 3, TeamID: *nextTeam, Players: l, Captain: cp, ViceCaptain: v})
	case "an entry moves contests":
		e := pick()
		remove(e)
		e.ContestID = ids[rng.IntN(len(ids))]
		if e.ContestID == st.remove[0].ContestID {
			e.ContestID = ids[len(ids)-1] + 11
		}
		st.add = append(st.add, e)
	case "upserts": // same entry, new user, or another team of the partition
		e := pick()
		remove(e)
		e.UserID += 77
		st.add = append(st.add, e)
		f := pick()
		if f.EntryID != e.EntryID {
			g := pick()
			remove(f)
			f.TeamID, f.Players, f.Captain, f.ViceCaptain = g.TeamID, g.Players, g.Captain, g.ViceCaptain
			st.add = append(st.add, f)
		}
	case "nothing":
	default:
		panic(kind)
	}
	return st
}

var deriveKinds = []string{"late entry, known team", "late entries, new teams", "withdrawals", "a contest emptied",
	"a new contest", "an entry moves contests", "upserts", "nothing"}

// TestDeriveSameAsRebuild derives a partition step after step (late entries, new teams
// and players, withdrawals, a contest emptied, a new contest, an entry moving contests,
// upserts), running a cycle after each with the points kept or moved, and checks every
// cycle against a partition rebuilt from the same entries and against the reference:
// the same contests, pages, display order, ranks and points (ties included). The change
// sets are checked too: the contests a step touched are all changed, every other
// contest's changes are exactly those since the previous cycle.
func TestDeriveSameAsRebuild(t *testing.T) {
	for _, name := range []string{"mixed", "all ties", "few values", "lineup of two", "shuffled", "wide points"} {
		shape := shapes[name]
		// Contests of up to 1200 entries (insertion and radix sorts, mega contests in
		// every configuration that has them) keep the test quick under -race.
		shape.Contests = slices.Clone(shape.Contests)
		for k, n := range shape.Contests {
			shape.Contests[k] = min(n, 1200)
		}
		for cname, cfg := range configs {
			t.Run(name+"/"+cname, func(t *testing.T) {
				for seed := range uint64(2) {
					testDerive(t, seed, shape, cfg, seed == 1)
				}
			})
		}
	}
}

func testDerive(t *testing.T, seed uint64, shape reference.Shape, cfg engine.Config, wide bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	entries, pts := reference.Random(seed+1, shape)
	cur := entrySet{}
	var nextID, nextTeam int64
	players := map[int32]bool{}
	for _, e := range entries {
		cur[e.EntryID] = e
		nextID, nextTeam = max(nextID, e.EntryID), max(nextTeam, e.TeamID)
		for _, pl := range e.Players {
			players[pl] = true
		}
	}
	playerIDs := slices.Sorted(func(yield func(int32) bool) {
		for p := range players {
			if !yield(p) {
				return
			}
		}
	})
	p := build(t, cur.list(), cfg)
	if wide {
		engine.UseWideKeys(p)
	}
	p.Run(snapshotOf(t, pts))
	prev := engineBoard(p)
	for step := range 2 * len(deriveKinds) {
		kind := deriveKinds[rng.IntN(len(deriveKinds))]
		if step < len(deriveKinds) {
			kind = deriveKinds[step]
		}
		ds := randomStep(rng, kind, cur, playerIDs, &nextID, &nextTeam)
		touched := map[int64]bool{}
		for _, k := range ds.remove {
			delete(cur, k.EntryID)
			touched[k.ContestID] = true
		}
		for _, e := range ds.add {
			cur[e.EntryID] = e
			touched[e.ContestID] = true
		}
		q, err := p.Derive(ds.remove, ds.add)
		if err != nil {
			t.Fatalf("step %d (%s): %v", step, kind, err)
		}
		if step%2 == 1 { // two Derives before a Run: the first one's contests stay changed
			extra := randomStep(rng, "late entry, known team", cur, playerIDs, &nextID, &nextTeam)
			for _, e := range extra.add {
				cur[e.EntryID] = e
				touched[e.ContestID] = true
			}
			if q, err = q.Derive(nil, extra.add); err != nil {
				t.Fatalf("step %d (%s), a second Derive: %v", step, kind, err)
			}
		}
		if step%3 == 1 { // points move every third step, else the cycle ranks the same points
			pts = reference.Bump(pts, step)
		}
		list := cur.list()
		r := build(t, list, cfg)
		q.Run(snapshotOf(t, pts))
		r.Run(snapshotOf(t, pts))
		want := refBoard(reference.Rank(list, pts))
		got := engineBoard(q)
		diffBoards(t, engineBoard(r), want)
		diffBoards(t, got, want)
		checkRankIndex(t, q)
		if q.NumEntries() != r.NumEntries() || q.NumContests() != r.NumContests() || q.NumPages() != r.NumPages() || q.NumTeams() != r.NumTeams() {
			t.Fatalf("step %d (%s): derived %d entries, %d contests, %d pages, %d teams; rebuilt %d, %d, %d, %d", step, kind,
				q.NumEntries(), q.NumContests(), q.NumPages(), q.NumTeams(), r.NumEntries(), r.NumContests(), r.NumPages(), r.NumTeams())
		}
		for c := range q.NumContests() {
			if q.Contest(c) != r.Contest(c) {
				t.Fatalf("step %d (%s): contest %d derived %+v, rebuilt %+v", step, kind, c, q.Contest(c), r.Contest(c))
			}
		}
		wantEntries, wantPages := derivedChanges(q, prev, got, touched)
		if g := q.ChangedEntries().ToArray(); !slices.Equal(g, wantEntries) {
			t.Fatalf("step %d (%s): changed entries %v, want %v", step, kind, head(g), head(wantEntries))
		}
		if g := q.ChangedPages().ToArray(); !slices.Equal(g, wantPages) {
			t.Fatalf("step %d (%s): changed pages %v, want %v", step, kind, head(g), head(wantPages))
		}
		if q.Cycles() != step+2 {
			t.Fatalf("step %d: derived partition at cycle %d, want %d", step, q.Cycles(), step+2)
		}
		p, prev = q, got
	}
}

// derivedChanges is expectedChanges for a derived partition: every entry and page of a
// touched contest changed; in any other contest (the same entries before and now) the
// pages whose rows differ and the entries whose rank or points differ.
func derivedChanges(p *engine.Partition, prev, cur board, touched map[int64]bool) (entries, pages []uint32) {
	for c := range p.NumContests() {
		ct := p.Contest(c)
		rows, old := cur[ct.ID], prev[ct.ID]
		if !touched[ct.ID] && len(old) != len(rows) {
			panic("BUG: an untouched contest changed size")
		}
		for pg := range ct.Pages {
			lo, hi := pg*p.PageSize(), min(len(rows), (pg+1)*p.PageSize())
			if touched[ct.ID] || !slices.Equal(rows[lo:hi], old[lo:hi]) {
				pages = append(pages, uint32(ct.FirstPage+pg))
			}
		}
		type rp struct {
			points int64
			rank   int
		}
		before := map[int64]rp{}
		for _, r := range old {
			before[r.EntryID] = rp{r.Points, r.Rank}
		}
		now := map[int64]rp{}
		for _, r := range rows {
			now[r.EntryID] = rp{r.Points, r.Rank}
		}
		for i := ct.Start; i < ct.End; i++ {
			id := p.EntryID(i)
			if touched[ct.ID] || before[id] != now[id] {
				entries = append(entries, uint32(i))
			}
		}
	}
	return entries, pages
}

// TestDeriveRejects: bad changes are refused with an error naming the entry, and the
// partition derived from is unchanged (its next cycle ranks as before).
func TestDeriveRejects(t *testing.T) {
	base := []engine.Entry{
		entry(10, 1, 5, []int32{101, 102, 103}, 101, 102),
		entry(10, 2, 6, []int32{101, 102, 104}, 104, 102),
		entry(11, 3, 5, []int32{101, 102, 103}, 101, 102),
	}
	key := func(c, e int64) engine.EntryKey { return engine.EntryKey{ContestID: c, EntryID: e} }
	for _, tc := range []struct {
		name   string
		remove []engine.EntryKey
		add    []engine.Entry
		want   string
	}{
		{"remove an absent entry", []engine.EntryKey{key(10, 9)}, nil, "entry 9 (contest 10): removed, but not in the partition"},
		{"remove from the wrong contest", []engine.EntryKey{key(11, 1)}, nil, "entry 1 (contest 11): removed, but not in the partition"},
		{"remove twice", []engine.EntryKey{key(10, 1), key(10, 1)}, nil, "entry 1 (contest 10): removed twice"},
		{"add a survivor's id", nil, []engine.Entry{entry(12, 3, 5, []int32{101, 102, 103}, 101, 102)}, "entry 3 (contest 12): duplicate entry_id (it is in contest 11"},
		{"add twice", nil, []engine.Entry{entry(12, 7, 5, []int32{101, 102, 103}, 101, 102), entry(13, 7, 5, []int32{101, 102, 103}, 101, 102)}, "entry 7 (contest 12): duplicate entry_id (added more than once)"},
		{"a known team, another lineup", nil, []engine.Entry{entry(12, 8, 6, []int32{101, 102, 103}, 101, 102)}, "entry 8 (contest 12): team 6 already has a different lineup"},
		{"a new team, two lineups", nil, []engine.Entry{entry(12, 8, 9, []int32{101, 102, 103}, 101, 102), entry(12, 9, 9, []int32{101, 102, 105}, 101, 102)}, "entry 9 (contest 12): team 9 already has a different lineup"},
		{"wrong lineup size", nil, []engine.Entry{entry(12, 8, 9, []int32{101, 102}, 101, 102)}, "entry 8 (contest 12): lineup has 2 players, want 3"},
		{"captain outside lineup", nil, []engine.Entry{entry(12, 8, 9, []int32{101, 102, 103}, 109, 102)}, "entry 8 (contest 12): captain 109 is not in the lineup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := build(t, base, engine.DefaultConfig())
			pts := map[int32]float64{101: 10, 102: 5, 103: 1, 104: 2.5}
			p.Run(snapshotOf(t, pts))
			q, err := p.Derive(tc.remove, tc.add)
			var ee *engine.EntryError
			if q != nil || err == nil || !errors.As(err, &ee) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, %v; want an error starting %q", q, err, tc.want)
			}
			pts[103] = 4
			p.Run(snapshotOf(t, pts))
			diffBoards(t, engineBoard(p), refBoard(reference.Rank(base, pts)))
		})
	}
}

// TestDeriveTooManyPlayers: an added lineup that would take the partition past
// MaxPlayersPerMatch players is refused.
func TestDeriveTooManyPlayers(t *testing.T) {
	var base []engine.Entry
	for k := range int32(engine.MaxPlayersPerMatch / 2) {
		base = append(base, entry(10, int64(k+1), int64(k+1), []int32{1000 + 2*k, 1001 + 2*k}, 1000+2*k, 1001+2*k))
	}
	p := build(t, base, engine.DefaultConfig())
	_, err := p.Derive(nil, []engine.Entry{entry(10, 999, 999, []int32{5, 1000}, 5, 1000)})
	if err == nil || !strings.Contains(err.Error(), "entry 999 (contest 10): player 5 would be the match's 257th distinct player") {
		t.Fatalf("got %v", err)
	}
}

// TestDeriveEverythingAndBack: every entry removed leaves an empty partition, and
// entries derived into it rank as a first cycle.
func TestDeriveEverythingAndBack(t *testing.T) {
	base := []engine.Entry{entry(10, 1, 5, []int32{101, 102, 103}, 101, 102), entry(11, 2, 6, []int32{101, 102, 104}, 104, 102)}
	p := build(t, base, engine.DefaultConfig())
	pts := map[int32]float64{101: 10, 102: 5, 103: 1, 104: 2.5}
	p.Run(snapshotOf(t, pts))
	q, err := p.Derive([]engine.EntryKey{{ContestID: 10, EntryID: 1}, {ContestID: 11, EntryID: 2}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.NumEntries() != 0 || q.NumContests() != 0 || q.NumTeams() != 0 || q.NumPages() != 0 {
		t.Fatalf("derived %d entries, %d contests, %d teams, %d pages", q.NumEntries(), q.NumContests(), q.NumTeams(), q.NumPages())
	}
	q.Run(snapshotOf(t, pts))
	r, err := q.Derive(nil, base)
	if err != nil {
		t.Fatal(err)
	}
	st := r.Run(snapshotOf(t, pts))
	diffBoards(t, engineBoard(r), refBoard(reference.Rank(base, pts)))
	if st.ChangedEntries != 2 || st.ChangedPages != 2 {
		t.Fatalf("stats %+v", st)
	}
}

package worker

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// TestLateChangesDerived: late entries (of known and of new teams), withdrawals (one
// emptying a contest), upserts, an entry withdrawn and entered again in a contest of
// another group in one cycle, and a new contest, over cycles whose points move or stand
// still. The groups they land in get partitions derived from their own (the engine
// carries the cycle count on, a rebuild would start at 1); after every cycle the store
// equals the reference and every group's user index equals one built from scratch.
func TestLateChangesDerived(t *testing.T) {
	f := newFixture(t, nil) // groups of up to 40 entries, pages of 10
	entries, pts := reference.Random(5, reference.Shape{Contests: []int{10, 10, 12, 25, 30, 10, 35, 5, 5, 2, 3}, Players: 22, LineupSize: 11, Teams: 40, PointValues: 20})
	cur := map[int64]engine.Entry{}
	var nextID, nextTeam int64
	for _, e := range entries {
		cur[e.EntryID] = e
		nextID, nextTeam = max(nextID, e.EntryID), max(nextTeam, e.TeamID)
	}
	f.apply(entryEvents(1, entries))
	f.apply(state(1, "live"))
	ts, off := int64(1), int64(0)
	f.apply(pointsAt(1, pts, off, ts))
	f.cycle()
	f.check(records.Live, entries, pts)

	rng := rand.New(rand.NewPCG(9, 9))
	list := func() []engine.Entry {
		out := make([]engine.Entry, 0, len(cur))
		for _, e := range cur {
			out = append(out, e)
		}
		slices.SortFunc(out, func(a, b engine.Entry) int { return cmpInt(a.EntryID, b.EntryID) })
		return out
	}
	contestsOf := func() map[int64][]engine.Entry {
		m := map[int64][]engine.Entry{}
		for _, e := range list() {
			m[e.ContestID] = append(m[e.ContestID], e)
		}
		return m
	}
	withdraw := func(e engine.Entry) kafkasource.EntryEvent {
		delete(cur, e.EntryID)
		return kafkasource.EntryEvent{MatchID: 1, ContestID: e.ContestID, EntryID: e.EntryID, Withdrawn: true}
	}
	enter := func(e engine.Entry) kafkasource.EntryEvent {
		cur[e.EntryID] = e
		return kafkasource.EntryEvent{MatchID: 1, ContestID: e.ContestID, EntryID: e.EntryID, UserID: e.UserID, TeamID: e.TeamID,
			Players: e.Players, Captain: e.Captain, ViceCaptain: e.ViceCaptain}
	}
	kinds := []string{"late, known team", "late, new team", "withdrawals", "upsert", "move", "contest emptied", "new contest"}
	for step := range 2 * len(kinds) {
		kind := kinds[step%len(kinds)]
		all := list()
		pick := func() engine.Entry { return all[rng.IntN(len(all))] }
		var evs []kafkasource.EntryEvent
		before := map[int64]bool{} // contests that exist before the step
		for c := range contestsOf() {
			before[c] = true
		}
		changed := map[int64]bool{}
		switch kind {
		case "late, known team":
			e := pick()
			nextID++
			e.EntryID, e.UserID, e.ContestID = nextID, 500+nextID, pick().ContestID
			evs = append(evs, enter(e))
		case "late, new team":
			e := pick()
			nextID++
			nextTeam++
			l := slices.Clone(e.Players)
			l[0], l[1] = l[1], l[0]
			e.EntryID, e.TeamID, e.Players, e.Captain, e.ViceCaptain = nextID, nextTeam, l, e.ViceCaptain, e.Captain
			evs = append(evs, enter(e))
		case "withdrawals":
			a, b := pick(), pick()
			evs = append(evs, withdraw(a))
			if b.EntryID != a.EntryID {
				evs = append(evs, withdraw(b))
			}
		case "upsert": // the same entry, another user
			e := pick()
			e.UserID += 1000
			evs = append(evs, enter(e))
		case "move": // withdrawn, then entered in another contest (of another group, likely)
			e := pick()
			evs = append(evs, withdraw(e))
			if c := pick().ContestID; c != e.ContestID {
				e.ContestID = c
			} else {
				e.ContestID += 1_000_000
			}
			evs = append(evs, enter(e))
		case "contest emptied":
			cs := contestsOf()
			small := all[0].ContestID
			for c, es := range cs {
				if len(es) < len(cs[small]) || (len(es) == len(cs[small]) && c < small) {
					small = c
				}
			}
			for _, e := range cs[small] {
				evs = append(evs, withdraw(e))
			}
		case "new contest":
			for range 3 {
				e := pick()
				nextID++
				e.EntryID, e.ContestID = nextID, 777
				evs = append(evs, enter(e))
			}
		}
		var b kafkasource.Batch
		for _, ev := range evs {
			changed[ev.ContestID] = true
			b.Entries = append(b.Entries, kafkasource.EntryRecord{Event: ev})
		}
		f.apply(b)
		if step%3 == 1 {
			pts = reference.Bump(pts, step)
			ts++
			off += int64(len(pts))
			f.apply(pointsAt(1, pts, off, ts))
		}
		f.cycle()
		f.check(records.Live, list(), pts)
		for _, g := range f.groups() {
			if g.part == nil {
				continue
			}
			if want := buildUserIndex(g.part); !reflect.DeepEqual(g.users, want) {
				t.Fatalf("step %d (%s): a group's user index differs from one built from scratch", step, kind)
			}
			for c := range g.part.NumContests() {
				if id := g.part.Contest(c).ID; changed[id] && before[id] && g.part.Cycles() < 2 {
					t.Fatalf("step %d (%s): the group of contest %d was rebuilt, not derived", step, kind, id)
				}
			}
		}
	}
}

// groups returns every contest group of the fixture's worker.
func (f *fixture) groups() []*group {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	var out []*group
	for _, ps := range f.w.parts {
		for _, sh := range ps.shards {
			out = append(out, sh.groups...)
		}
	}
	return out
}

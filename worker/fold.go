package worker

import (
	"fmt"
	"slices"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/records"
)

// foldResult is what folding a shard's pending changes did.
type foldResult struct {
	rebuilt []*group
	olds    []*engine.Partition // the partition each rebuilt group had (nil: new group)
	users   []int64             // users whose record must be rewritten
	entries []entryRef          // entries whose record must be written
	fresh   []*group            // groups built from nothing: write every entry's record
	// contests lists, per rebuilt group, the contests its changes landed in (nil: the
	// whole group, after a team edit)
	contests map[*group][]int64
	gone     []int64 // entries withdrawn: delete their records
}

type entryRef struct{ id, contest int64 }

// fold applies a shard's pending entry events (ch, taken from the ingest side) to its
// contest groups: only the groups holding a changed contest (or an entry of an edited
// team) change. A group whose changes are entries upserted or withdrawn (no team edit)
// gets a partition derived from its own (engine.Partition.Derive: work in proportion to
// the changed contests plus copies of the group's columns, the last cycle carried over
// to every other contest); a team edit, or a change Derive refuses, rebuilds the group
// from its engine partition plus the changes. A first fold (the replay) packs the
// contests, in contest_id order, into groups of up to groupEntries (foldFresh: a bulk
// build, with no map per entry).
func fold(sh *shard, ch *changes, edited map[int64]records.Lineup, editedNow map[int64]struct{}, lineupSize, groupEntries int, cfg engine.Config) (foldResult, error) {
	if len(sh.groups) == 0 {
		return foldFresh(sh, ch, edited, editedNow, lineupSize, groupEntries, cfg)
	}
	return foldLog(sh, ch, edited, editedNow, lineupSize, groupEntries, cfg)
}

// foldLog is fold applying the change log entry by entry: every fold of a shard that
// has groups already (and the reference foldFresh is tested against).
func foldLog(sh *shard, ch *changes, edited map[int64]records.Lineup, editedNow map[int64]struct{}, lineupSize, groupEntries int, cfg engine.Config) (foldResult, error) {
	res := foldResult{contests: map[*group][]int64{}}
	teamEdit := map[int32]bool{}
	// The last event of each entry wins.
	last := make(map[int64]int, ch.len())
	for i, id := range ch.entry {
		last[id] = i
	}
	touched := map[int32]bool{}
	newSize := map[int64]int{}
	for _, i := range last {
		c := ch.contest[i]
		if _, ok := sh.groupOf[c]; !ok && !ch.gone[i] {
			newSize[c]++
		}
	}
	// Every event's contest, not only the last one's: an entry withdrawn from one
	// contest and added to another leaves the first one's group too.
	for _, c := range ch.contest {
		if g, ok := sh.groupOf[c]; ok {
			touched[g] = true
		}
	}
	if len(editedNow) > 0 {
		for gi, g := range sh.groups {
			if touched[int32(gi)] || g.part == nil {
				continue
			}
			for i := range g.part.NumEntries() {
				if _, ok := editedNow[g.part.TeamID(i)]; ok {
					touched[int32(gi)], teamEdit[int32(gi)] = true, true
					break
				}
			}
		}
	}
	// New contests: packed into the last group while it has room, else new groups; a
	// contest of groupEntries or more is a group alone.
	if len(newSize) > 0 {
		ids := make([]int64, 0, len(newSize))
		for c := range newSize {
			ids = append(ids, c)
		}
		slices.Sort(ids)
		open := int32(-1)
		if n := len(sh.groups); n > 0 && sh.groups[n-1].n < groupEntries {
			open = int32(n - 1)
		}
		pendingN := map[int32]int{}
		for _, c := range ids {
			s := newSize[c]
			if s >= groupEntries {
				sh.groups = append(sh.groups, &group{pid: sh.part})
				g := int32(len(sh.groups) - 1)
				sh.groupOf[c], touched[g] = g, true
				continue
			}
			if open < 0 || sh.groups[open].n+pendingN[open]+s > groupEntries {
				sh.groups = append(sh.groups, &group{pid: sh.part})
				open = int32(len(sh.groups) - 1)
			}
			sh.groupOf[c], touched[open] = open, true
			pendingN[open] += s
		}
	}
	if len(touched) == 0 {
		return res, nil
	}
	// Changes by group: the last event of each entry (byGroup), and every event
	// (events: the contests they land in, the entries they remove).
	byGroup := map[int32][]int{}
	for _, i := range last {
		if g, ok := sh.groupOf[ch.contest[i]]; ok {
			byGroup[g] = append(byGroup[g], i)
		}
	}
	events := map[int32][]int{}
	for i, c := range ch.contest {
		if g, ok := sh.groupOf[c]; ok {
			events[g] = append(events[g], i)
		}
	}
	gids := make([]int32, 0, len(touched))
	for g := range touched {
		gids = append(gids, g)
	}
	slices.Sort(gids)
	var lineup []int32
	for _, gi := range gids {
		g := sh.groups[gi]
		old := g.part
		add := byGroup[gi]
		slices.Sort(add) // arrival order: deterministic builds
		var cs []int64   // the contests the group's changes land in
		for _, k := range events[gi] {
			cs = append(cs, ch.contest[k])
		}
		slices.Sort(cs)
		cs = slices.Compact(cs)
		if old != nil && len(editedNow) == 0 {
			ok, err := derive(sh, g, ch, last, add, events[gi], cs, edited, &res)
			if err != nil {
				return res, err
			}
			if ok {
				continue
			}
		}
		hint := len(add)
		if old != nil {
			hint += old.NumEntries()
		}
		b := engine.NewBuilder(lineupSize, hint)
		if old != nil {
			c := 0
			for i := range old.NumEntries() {
				for old.Contest(c).End <= i {
					c++
				}
				id := old.EntryID(i)
				if k, ok := last[id]; ok {
					if ch.gone[k] || ch.user[k] != old.UserID(i) {
						res.users = append(res.users, old.UserID(i))
					}
					continue
				}
				team := old.TeamID(i)
				if _, ok := editedNow[team]; ok {
					res.entries = append(res.entries, entryRef{id, old.Contest(c).ID})
					res.users = append(res.users, old.UserID(i))
				}
				e := engine.Entry{ContestID: old.Contest(c).ID, EntryID: id, UserID: old.UserID(i), TeamID: team}
				if l, ok := edited[team]; ok {
					e.Players, e.Captain, e.ViceCaptain = l.Players, l.Captain, l.Vice
				} else {
					lineup, e.Captain, e.ViceCaptain = old.Lineup(i, lineup[:0])
					e.Players = lineup
				}
				if err := b.Add(e); err != nil {
					return res, fmt.Errorf("BUG: rebuilding contest group %d of partition %d, match %d: %w", gi, sh.part, sh.match, err)
				}
			}
		}
		for _, k := range add {
			if ch.gone[k] {
				res.gone = append(res.gone, ch.entry[k])
				continue
			}
			if old != nil {
				res.entries = append(res.entries, entryRef{ch.entry[k], ch.contest[k]})
			}
			res.users = append(res.users, ch.user[k])
			if err := b.Add(changeEntry(ch, edited, k)); err != nil {
				return res, fmt.Errorf("BUG: a validated entry was refused in contest group %d of partition %d, match %d: %w", gi, sh.part, sh.match, err)
			}
		}
		var p *engine.Partition
		if b.Len() > 0 {
			var err error
			if p, err = b.Build(cfg); err != nil {
				return res, fmt.Errorf("BUG: validated entries were refused in contest group %d of partition %d, match %d: %w", gi, sh.part, sh.match, err)
			}
		}
		// Contests gone from the group are no longer anywhere.
		if old != nil {
			for c := range old.NumContests() {
				id := old.Contest(c).ID
				if p == nil {
					delete(sh.groupOf, id)
				} else if _, ok := p.FindContest(id); !ok {
					delete(sh.groupOf, id)
				}
			}
		}
		g.part, g.n, g.rebuilt = p, 0, true
		g.users = userIndex{}
		if p != nil {
			g.n = p.NumEntries()
			g.users = sortedUserIndex(p.UserID, p.NumEntries())
		}
		res.rebuilt = append(res.rebuilt, g)
		if !teamEdit[gi] && len(editedNow) == 0 {
			res.contests[g] = cs
		}
		if old == nil && p != nil {
			res.fresh = append(res.fresh, g)
		}
		res.olds = append(res.olds, old)
	}
	return res, nil
}

// derive applies a group's changes (add: the last event of each entry landing in the
// group; events: every event landing in it; cs: their contests) by deriving its
// partition from the one it has. It reports false, having changed nothing, when Derive
// refuses them: the caller rebuilds the group, which reports what is wrong.
func derive(sh *shard, g *group, ch *changes, last map[int64]int, add, events []int, cs []int64, edited map[int64]records.Lineup, res *foldResult) (bool, error) {
	old := g.part
	var (
		remove  []engine.EntryKey
		entries []engine.Entry
		users   []int64
		refs    []entryRef
		gone    []int64
	)
	seen := map[engine.EntryKey]bool{}
	for _, k := range events {
		key := engine.EntryKey{ContestID: ch.contest[k], EntryID: ch.entry[k]}
		if seen[key] {
			continue
		}
		seen[key] = true
		if c, ok := old.FindContest(key.ContestID); ok {
			if i, ok := old.FindEntry(c, key.EntryID); ok {
				remove = append(remove, key)
				users = append(users, old.UserID(i))
			}
		}
	}
	for _, k := range add {
		if ch.gone[k] {
			gone = append(gone, ch.entry[k])
			continue
		}
		refs = append(refs, entryRef{ch.entry[k], ch.contest[k]})
		users = append(users, ch.user[k])
		entries = append(entries, changeEntry(ch, edited, k))
	}
	p, err := old.Derive(remove, entries)
	if err != nil {
		return false, nil
	}
	if p.NumEntries() == 0 {
		p = nil
	}
	for _, id := range cs {
		if p == nil {
			delete(sh.groupOf, id)
		} else if _, ok := p.FindContest(id); !ok {
			delete(sh.groupOf, id) // every entry of it withdrawn
		}
	}
	g.part, g.n, g.rebuilt = p, 0, true
	if p == nil {
		g.users = userIndex{}
	} else {
		g.n = p.NumEntries()
		g.users = deriveUserIndex(g.users, old, p, cs)
	}
	res.rebuilt = append(res.rebuilt, g)
	res.olds = append(res.olds, old)
	res.contests[g] = cs
	res.users = append(res.users, users...)
	res.entries = append(res.entries, refs...)
	res.gone = append(res.gone, gone...)
	return true, nil
}

// deriveUserIndex is the user index of p (sortedUserIndex's) for p derived from old, whose index is u, by
// changes in the contests cs (sorted ids): u's entries renumbered, those gone dropped,
// the new ones merged in. Linear in the entries, no sort but of the new ones.
func deriveUserIndex(u userIndex, old, p *engine.Partition, cs []int64) userIndex {
	type pair struct {
		user int64
		i    uint32
	}
	// remap: old entry -> its number in p (-1: gone, or now another user's).
	remap := make([]int32, old.NumEntries())
	var added []pair
	addAll := func(c int) { // a contest new to p
		ct := p.Contest(c)
		for i := ct.Start; i < ct.End; i++ {
			added = append(added, pair{p.UserID(i), uint32(i)})
		}
	}
	nc := 0
	for c := range old.NumContests() {
		ct := old.Contest(c)
		for nc < p.NumContests() && p.Contest(nc).ID < ct.ID {
			addAll(nc)
			nc++
		}
		if nc == p.NumContests() || p.Contest(nc).ID != ct.ID {
			for i := ct.Start; i < ct.End; i++ {
				remap[i] = -1
			}
			continue
		}
		nt := p.Contest(nc)
		if _, touched := slices.BinarySearch(cs, ct.ID); !touched {
			for i := ct.Start; i < ct.End; i++ {
				remap[i] = int32(nt.Start + i - ct.Start)
			}
			nc++
			continue
		}
		// Both sorted by entry id: a merge.
		i, j := ct.Start, nt.Start
		for i < ct.End || j < nt.End {
			switch {
			case j >= nt.End || (i < ct.End && old.EntryID(i) < p.EntryID(j)):
				remap[i] = -1
				i++
			case i >= ct.End || p.EntryID(j) < old.EntryID(i):
				added = append(added, pair{p.UserID(j), uint32(j)})
				j++
			default:
				if old.UserID(i) == p.UserID(j) {
					remap[i] = int32(j)
				} else {
					remap[i] = -1
					added = append(added, pair{p.UserID(j), uint32(j)})
				}
				i++
				j++
			}
		}
		nc++
	}
	for ; nc < p.NumContests(); nc++ {
		addAll(nc)
	}
	slices.SortFunc(added, func(a, b pair) int {
		if a.user != b.user {
			return cmpInt(a.user, b.user)
		}
		return int(a.i) - int(b.i)
	})

	n := p.NumEntries()
	v := userIndex{ids: make([]int64, 0, len(u.ids)+len(added)), start: make([]uint32, 0, len(u.ids)+len(added)+1), idx: make([]uint32, 0, n)}
	emit := func(user int64, i uint32) {
		if len(v.ids) == 0 || v.ids[len(v.ids)-1] != user {
			v.ids = append(v.ids, user)
			v.start = append(v.start, uint32(len(v.idx)))
		}
		v.idx = append(v.idx, i)
	}
	a := 0
	for k, user := range u.ids {
		for a < len(added) && added[a].user < user {
			emit(added[a].user, added[a].i)
			a++
		}
		run := u.idx[u.start[k]:u.start[k+1]]
		for r := 0; r < len(run) || (a < len(added) && added[a].user == user); {
			if r < len(run) && remap[run[r]] < 0 {
				r++
				continue
			}
			if a < len(added) && added[a].user == user && (r >= len(run) || added[a].i < uint32(remap[run[r]])) {
				emit(user, added[a].i)
				a++
				continue
			}
			emit(user, uint32(remap[run[r]]))
			r++
		}
	}
	for ; a < len(added); a++ {
		emit(added[a].user, added[a].i)
	}
	v.start = append(v.start, uint32(len(v.idx)))
	if len(v.idx) != n {
		panic(fmt.Sprintf("BUG: user index of a derived group holds %d entries, the group %d", len(v.idx), n))
	}
	v.ids, v.start = slices.Clip(v.ids), slices.Clip(v.start)
	return v
}

// changeEntry is change k of the log as an engine entry: its team's lineup as edited, if
// the team was, else the lineup change k read (a team never edited has one lineup).
func changeEntry(ch *changes, edited map[int64]records.Lineup, k int) engine.Entry {
	team := ch.team[k]
	e := engine.Entry{ContestID: ch.contest[k], EntryID: ch.entry[k], UserID: ch.user[k], TeamID: team}
	if l, ok := edited[team]; ok {
		e.Players, e.Captain, e.ViceCaptain = l.Players, l.Captain, l.Vice
	} else {
		e.Players, e.Captain, e.ViceCaptain = ch.lineupOf(k)
	}
	return e
}

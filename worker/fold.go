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
// team) are rebuilt, each from its engine partition plus the changes. A first fold (the
// replay) packs the contests, in contest_id order, into groups of up to groupEntries.
func fold(sh *shard, ch *changes, edited map[int64]records.Lineup, editedNow map[int64]struct{}, lineupSize, groupEntries int, cfg engine.Config) (foldResult, error) {
	res := foldResult{contests: map[*group][]int64{}}
	teamEdit := map[int32]bool{}
	// The last event of each entry wins.
	last := make(map[int64]int, ch.len())
	for i, id := range ch.entry {
		last[id] = i
	}
	touched := map[int32]bool{}
	newSize := map[int64]int{}
	for id, i := range last {
		c := ch.contest[i]
		if g, ok := sh.groupOf[c]; ok {
			touched[g] = true
		} else if !ch.gone[i] {
			newSize[c]++
		}
		_ = id
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
	// Changes by group.
	byGroup := map[int32][]int{}
	for _, i := range last {
		if g, ok := sh.groupOf[ch.contest[i]]; ok {
			byGroup[g] = append(byGroup[g], i)
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
			team := ch.team[k]
			e := engine.Entry{ContestID: ch.contest[k], EntryID: ch.entry[k], UserID: ch.user[k], TeamID: team}
			if l, ok := edited[team]; ok {
				e.Players, e.Captain, e.ViceCaptain = l.Players, l.Captain, l.Vice
			} else {
				v := ch.teamAt[team] // the team's latest lineup in the log
				e.Players, e.Captain, e.ViceCaptain = ch.players(v), ch.lCapt[v], ch.lVice[v]
			}
			if err := b.Add(e); err != nil {
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
			g.users = buildUserIndex(p)
		}
		res.rebuilt = append(res.rebuilt, g)
		if !teamEdit[gi] && len(editedNow) == 0 {
			var cs []int64
			for _, k := range add {
				cs = append(cs, ch.contest[k])
			}
			slices.Sort(cs)
			res.contests[g] = slices.Compact(cs)
		}
		if old == nil && p != nil {
			res.fresh = append(res.fresh, g)
		}
		res.olds = append(res.olds, old)
	}
	return res, nil
}

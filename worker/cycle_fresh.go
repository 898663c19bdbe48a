package worker

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/records"
)

// foldFresh is fold for a shard with no contest group yet (its first fold: a replay, or
// a partition gained): a bulk build instead of a change log applied through maps. The
// last event of each entry comes from a radix sort of the log by entry id, the contests
// from one by contest id (their runs are the sizes the groups are packed by, in
// contest_id order), and each group's builder takes its entries in arrival order, as
// fold's does: the groups, their partitions and what the result lists are fold's, to
// the byte and in the same order (TestFreshFoldSameAsFold), but for the users, each
// listed once per group.
func foldFresh(sh *shard, ch *changes, edited map[int64]records.Lineup, editedNow map[int64]struct{}, lineupSize, groupEntries int, cfg engine.Config) (foldResult, error) {
	res := foldResult{contests: map[*group][]int64{}}
	n := ch.len()
	if n == 0 {
		return res, nil
	}
	// The last event of each entry: the last of its run in entry order.
	byEntry, entries := stableOrder(n, func(j int) int64 { return ch.entry[j] })
	isLast := make([]bool, n)
	m := 0
	for t := range n {
		if t == n-1 || entries[t+1] != entries[t] {
			isLast[byEntry[t]] = true
			m++
		}
	}
	byEntry, entries = nil, nil
	last := make([]int32, 0, m) // in arrival order
	for j, ok := range isLast {
		if ok {
			last = append(last, int32(j))
		}
	}
	isLast = nil

	// Contests in id order, each a run of last events; those with an entry left get a
	// group: packed into the open one while it has room (a contest of groupEntries or
	// more is a group alone).
	byContest, contests := stableOrder(m, func(t int) int64 { return ch.contest[last[t]] })
	grp := make([]int32, m) // per last event (index into last): its group, -1: none
	var groupContests [][]int64
	var fill []int // entries packed into each group
	open := -1
	for a := 0; a < m; {
		c := contests[a]
		b, live := a, 0
		for ; b < m && contests[b] == c; b++ {
			if !ch.gone[last[byContest[b]]] {
				live++
			}
		}
		g := int32(-1)
		if live > 0 {
			switch {
			case live >= groupEntries:
				g = int32(len(groupContests))
				groupContests, fill = append(groupContests, nil), append(fill, 0)
			case open < 0 || fill[open]+live > groupEntries:
				open = len(groupContests)
				groupContests, fill = append(groupContests, nil), append(fill, 0)
				g = int32(open)
			default:
				g = int32(open)
			}
			groupContests[g] = append(groupContests[g], c)
			fill[g] += live
			sh.groupOf[c] = int32(len(sh.groups)) + g
		}
		for t := a; t < b; t++ {
			grp[byContest[t]] = g
		}
		a = b
	}
	byContest, contests = nil, nil
	if len(groupContests) == 0 {
		return res, nil
	}
	// Each group's entries as columns, in arrival order, gathered in one pass over the
	// last events in arrival order: the log's columns are read in order once, not at
	// scattered places once per group. The builder keeps the contest, entry and user
	// columns as its own.
	type columns struct {
		contest, entry, user, team []int64
		k                          []int32 // the change of each row (its lineup)
		gone                       []int64 // entries withdrawn, in arrival order
	}
	cols := make([]columns, len(groupContests))
	for g, f := range fill {
		cols[g] = columns{contest: make([]int64, 0, f), entry: make([]int64, 0, f), user: make([]int64, 0, f), team: make([]int64, 0, f), k: make([]int32, 0, f)}
	}
	for t, g := range grp {
		if g < 0 {
			continue
		}
		k, c := last[t], &cols[g]
		if ch.gone[k] {
			c.gone = append(c.gone, ch.entry[k])
			continue
		}
		c.contest, c.entry, c.user = append(c.contest, ch.contest[k]), append(c.entry, ch.entry[k]), append(c.user, ch.user[k])
		c.team, c.k = append(c.team, ch.team[k]), append(c.k, k)
	}
	grp, last = nil, nil

	for g, cs := range groupContests {
		gi := len(sh.groups)
		grpp := &group{pid: sh.part}
		sh.groups = append(sh.groups, grpp)
		c := cols[g]
		cols[g] = columns{}
		res.gone = append(res.gone, c.gone...)
		// The log's entries were validated at ingest, and every entry of a team carries
		// the team's one lineup (edited's, for a team edited): the trusted builder
		// compares no entry's lineup with its team's, and reads a lineup only for the
		// first entry of each team.
		b, err := engine.NewTrustedBuilder(lineupSize, c.contest, c.entry, c.user, c.team, func(i int) ([]int32, int32, int32) {
			return teamLineup(ch, edited, int(c.k[i]))
		})
		if err != nil {
			return res, fmt.Errorf("BUG: a validated entry was refused in contest group %d of partition %d, match %d: %w", gi, sh.part, sh.match, err)
		}
		p, err := b.Build(cfg)
		if err != nil {
			return res, fmt.Errorf("BUG: validated entries were refused in contest group %d of partition %d, match %d: %w", gi, sh.part, sh.match, err)
		}
		grpp.part, grpp.n, grpp.rebuilt = p, p.NumEntries(), true
		grpp.users = sortedUserIndex(p.UserID, p.NumEntries())
		res.users = append(res.users, grpp.users.ids...) // fold lists them by entry, with repeats
		res.rebuilt = append(res.rebuilt, grpp)
		if len(editedNow) == 0 {
			res.contests[grpp] = cs
		}
		res.fresh = append(res.fresh, grpp)
		res.olds = append(res.olds, nil)
	}
	return res, nil
}

// parallelDo runs task(0..n-1) on up to GOMAXPROCS goroutines and waits for them all.
func parallelDo(n int, task func(k int)) {
	if n == 1 {
		task(0)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < n; k = int(next.Add(1) - 1) {
				task(k)
			}
		})
	}
	wg.Wait()
}

// teamLineup is the lineup of change k's team: edited's, if the team was edited, else
// the one change k read (changeEntry's).
func teamLineup(ch *changes, edited map[int64]records.Lineup, k int) (players []int32, capt, vice int32) {
	if len(edited) > 0 {
		if l, ok := edited[ch.team[k]]; ok {
			return l.Players, l.Captain, l.Vice
		}
	}
	return ch.lineupOf(k)
}

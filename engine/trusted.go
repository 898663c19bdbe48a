package engine

import (
	"fmt"
	"math/bits"
	"slices"
)

// Entries already validated: the worker's first fold after a replay builds its contest
// groups from a change log whose entries were checked at ingest (lineup size, distinct
// players, captain and vice-captain distinct and in the lineup, the match's 256-player
// cap) and whose teams each carry one lineup (a team edited after it was first seen
// carries its latest lineup in every entry). Add checks every entry again: a fingerprint
// of its lineup and a team lookup per entry, the full check per new team. The trusted
// entry points below skip what the caller vouches for: the comparison of an entry's
// lineup with its team's. A new team's lineup is still checked as Add checks it (that
// costs a few bit operations per team and keeps a wrong lineup from building a
// partition that ranks wrongly). Batch ranking from files (Append, Add) keeps every
// check.

// AddKnownTeam appends an entry of a team the builder already holds and reports true;
// it reports false, appending nothing, when the team is new (the caller then passes the
// entry to AddTrusted with its lineup). The entry is trusted to carry its team's lineup:
// it is not compared. The previous trusted entry's team is found without a lookup.
func (b *Builder) AddKnownTeam(contest, entry, user, teamID int64) bool {
	b.indexTeams()
	if b.lastOK && teamID == b.lastTeamID {
		b.appendEntry(contest, entry, user, b.lastTeam)
		return true
	}
	t, ok := b.teamIdx.get(teamID)
	if !ok {
		b.missTeamID, b.missTeams = teamID, len(b.teamID)+1
		return false
	}
	b.lastTeamID, b.lastTeam, b.lastOK = teamID, t, true
	b.appendEntry(contest, entry, user, t)
	return true
}

// AddTrusted appends an entry whose team's entries are trusted to share one lineup (see
// AddKnownTeam): an entry of a known team joins it without its lineup being compared; a
// new team's lineup is checked as Add checks it, and an *EntryError reports what is
// wrong with it (the builder is unchanged then but for players added to its dictionary,
// as with Add).
func (b *Builder) AddTrusted(contest, entry, user, teamID int64, players []int32, capt, vice int32) error {
	b.indexTeams()
	// A team AddKnownTeam has just found new (no team added since) is not looked up
	// again.
	if (b.missTeams != len(b.teamID)+1 || teamID != b.missTeamID) && b.AddKnownTeam(contest, entry, user, teamID) {
		return nil
	}
	if len(b.teamID) >= 1<<32-1 {
		return &EntryError{EntryID: entry, ContestID: contest, Reason: "more than 2^32-1 teams in one partition"}
	}
	c, err := b.checkLineup(contest, entry, players, capt, vice)
	if err != nil {
		return err
	}
	// No fingerprint: an Add of the team later compares its lineup in full, as for a
	// team a derived builder carries over.
	t := b.newTeam(teamID, &c, 0)
	b.lastTeamID, b.lastTeam, b.lastOK = teamID, t, true
	b.appendEntry(contest, entry, user, t)
	return nil
}

// NewTrustedBuilder returns a Builder holding the entries given as columns (row i:
// contest[i], entry[i], user[i], team[i]), trusted as AddTrusted's are: lineup(i) is
// asked for row i's lineup only where row i is the first of its team, and checked as Add
// checks it; every other row joins its team's without a lookup of its lineup. The
// builder keeps contest, entry and user as its own columns (the caller must not change
// them afterwards; Build may reorder them), which saves copying them entry by entry. An
// *EntryError reports a team's lineup that fails the checks. More entries may be added
// to the builder (Add, AddTrusted) before Build.
//
// Teams are found by a radix sort of the rows' team ids (teamRuns) where there are
// trustedSortMin rows or more and the ids' span allows, else by the id index row by row:
// in a group of a match day's stream a team's entries lie apart, its id's look-up missed
// the cache once per row, and the index grew by doubling. Either way the teams are
// numbered, and their lineups checked, in the order of their first rows.
func NewTrustedBuilder(lineupSize int, contest, entry, user, team []int64, lineup func(i int) (players []int32, capt, vice int32)) (*Builder, error) {
	return newTrustedBuilder(lineupSize, contest, entry, user, team, lineup, trustedSortMin)
}

// trustedSortMin is the fewest rows NewTrustedBuilder sorts by team id: below it the
// index is as cheap (it fits a cache).
const trustedSortMin = 1024

func newTrustedBuilder(lineupSize int, contest, entry, user, team []int64, lineup func(i int) (players []int32, capt, vice int32), sortMin int) (*Builder, error) {
	n := len(entry)
	if len(contest) != n || len(user) != n || len(team) != n {
		return nil, fmt.Errorf("trusted columns of %d contests, %d entries, %d users and %d teams: want one length", len(contest), n, len(user), len(team))
	}
	b := NewBuilder(lineupSize, 0)
	b.contestID, b.entryID, b.userID = slices.Clip(contest), slices.Clip(entry), slices.Clip(user)
	if n >= sortMin {
		if run, runs, ok := teamRuns(team); ok {
			if err := b.trustedRuns(contest, entry, team, run, runs, lineup); err != nil {
				return nil, err
			}
			return b, nil
		}
	}
	b.teamIdx = newIDIndex(n)
	b.team = make([]uint32, n)
	last, lastT := int64(0), noTeam
	for i, id := range team {
		if id == last && lastT != noTeam {
			b.team[i] = lastT
			continue
		}
		t, ok := b.teamIdx.get(id)
		if !ok {
			if len(b.teamID) >= 1<<32-1 {
				return nil, &EntryError{EntryID: entry[i], ContestID: contest[i], Reason: "more than 2^32-1 teams in one partition"}
			}
			players, capt, vice := lineup(i)
			c, err := b.checkLineup(contest[i], entry[i], players, capt, vice)
			if err != nil {
				return nil, err
			}
			t = b.newTeam(id, &c, 0)
		}
		b.team[i] = t
		last, lastT = id, t
	}
	return b, nil
}

// trustedRuns is NewTrustedBuilder's team numbering from teamRuns' run of each row
// (runs distinct ids): a team is created, its lineup checked, at the first row of its
// run, in row order, as the index row by row does it. The team tables are sized once
// (runs teams), and the id index is left to be built if an entry is added later
// (indexTeams). run becomes the builder's team column.
func (b *Builder) trustedRuns(contest, entry, team []int64, run []uint32, runs int, lineup func(i int) (players []int32, capt, vice int32)) error {
	b.teamID = make([]int64, 0, runs)
	b.teamMask = make([]uint64, 0, runs)
	b.teamSlot = make([]uint8, 0, runs*b.lineupSize)
	b.captain = make([]uint8, 0, runs)
	b.vice = make([]uint8, 0, runs)
	b.teamPrint = make([]uint64, 0, runs)
	b.unindexed = true
	num := make([]uint32, runs) // run -> team number + 1; 0: not yet created
	for i, r := range run {
		t := num[r]
		if t == 0 {
			players, capt, vice := lineup(i)
			c, err := b.checkLineup(contest[i], entry[i], players, capt, vice)
			if err != nil {
				return err
			}
			t = b.addTeam(team[i], &c, 0) + 1
			num[r] = t
		}
		run[i] = t - 1
	}
	b.team = run
	return nil
}

// teamRuns numbers the distinct ids of team (in ascending order: any numbering would
// do) and returns each row's number and how many there are. Ids already ascending are
// numbered in one pass; else a stable LSD radix sort of (id - min, row) words over the
// bits in which the ids differ, in passes of at most maxDigitBits bits. ok is false
// where the ids' span and the row number do not fit one word together (ids spread over
// most of the int64 range), or for 2^31 rows or more.
func teamRuns(team []int64) (run []uint32, runs int, ok bool) {
	n := len(team)
	if n == 0 || n >= 1<<31 {
		return nil, 0, n == 0
	}
	lo, hi := team[0], team[0]
	ascending := true
	for _, id := range team[1:] {
		ascending = ascending && id >= hi
		lo, hi = min(lo, id), max(hi, id)
	}
	run = make([]uint32, n)
	if ascending {
		r := uint32(0)
		for i := 1; i < n; i++ {
			if team[i] != team[i-1] {
				r++
			}
			run[i] = r
		}
		return run, int(r) + 1, true
	}
	kb := bits.Len64(uint64(hi) - uint64(lo))
	ib := bits.Len64(uint64(n - 1))
	if kb+ib > 64 {
		return nil, 0, false
	}
	words, tmp := make([]uint64, n), make([]uint64, n)
	for i, id := range team {
		words[i] = (uint64(id)-uint64(lo))<<ib | uint64(i)
	}
	passes := (kb + maxDigitBits - 1) / maxDigitBits
	db := (kb + passes - 1) / passes
	hist := make([]uint32, 1<<db)
	for pass := range passes {
		radixPass(words, tmp, 0, uint(ib+pass*db), uint64(1)<<db-1, hist)
		words, tmp = tmp, words
	}
	rowMask := uint64(1)<<ib - 1
	r, prev := uint32(0), words[0]>>ib
	for _, x := range words {
		if x>>ib != prev {
			r++
			prev = x >> ib
		}
		run[x&rowMask] = r
	}
	return run, int(r) + 1, true
}

// indexTeams builds the team id index of a builder whose teams trustedRuns numbered
// without it, before an entry is added to it.
func (b *Builder) indexTeams() {
	if !b.unindexed {
		return
	}
	b.unindexed = false
	b.teamIdx = newIDIndex(len(b.teamID))
	for t, id := range b.teamID {
		b.teamIdx.put(id, uint32(t))
	}
}

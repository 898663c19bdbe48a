package engine

import (
	"fmt"
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
func NewTrustedBuilder(lineupSize int, contest, entry, user, team []int64, lineup func(i int) (players []int32, capt, vice int32)) (*Builder, error) {
	n := len(entry)
	if len(contest) != n || len(user) != n || len(team) != n {
		return nil, fmt.Errorf("trusted columns of %d contests, %d entries, %d users and %d teams: want one length", len(contest), n, len(user), len(team))
	}
	b := NewBuilder(lineupSize, 0)
	b.teamIdx = newIDIndex(n)
	b.contestID, b.entryID, b.userID = slices.Clip(contest), slices.Clip(entry), slices.Clip(user)
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

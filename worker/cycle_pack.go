package worker

import (
	"slices"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/records"
)

// The first writes: a replay's first cycle (and a final one) writes every entry record
// and every user record once, 8.4M records at 5.6M entries. They are packed here from
// the partitions' columns (records.Arena, records.EntryHead, records.UserEncoder): each
// team's lineup encoded once per group and copied into the records of its entries and
// their users, no records.Entry or Lineup built per entry, the bytes of a task's
// records and their keys taken a chunk at a time. The bytes are those of entryPacked and
// userScratch (TestFirstWritesBytes).

// teamLineups are the lineups of a partition's teams, each encoded once
// (records.AppendLineup): team row t's are b[off[t]:off[t+1]].
type teamLineups struct {
	b   []byte
	off []int
}

// encodeTeamLineups encodes p's teams' lineups into tl's memory (zero: new memory).
func encodeTeamLineups(p *engine.Partition, tl teamLineups) teamLineups {
	nt := p.NumTeams()
	// A lineup of 11 players with 6-digit ids takes ~40 bytes: room for them at once.
	tl.b = slices.Grow(tl.b[:0], nt*(3*p.LineupSize()+8))
	tl.off = slices.Grow(tl.off[:0], nt+1)[:nt+1]
	tl.off[0] = 0
	var buf [16]int32
	for t := range nt {
		players, capt, vice := p.TeamLineup(t, buf[:0])
		tl.b = records.AppendLineup(tl.b, players, capt, vice)
		tl.off[t+1] = len(tl.b)
	}
	return tl
}

func (tl *teamLineups) of(t int) []byte { return tl.b[tl.off[t]:tl.off[t+1]] }

// keepSame is emit with its records marked IfChanged: an embedded store keeps (refreshes
// the expiry of) those it holds already with the same bins and this epoch's fence,
// instead of writing them again (rankstore.Store.Put). For the entry and user records a
// cycle writes whole or for the TTL refresh, and for the contest lists (SetContests,
// rewritten every half refresh period, changed only by a rebuild): a replay's first
// cycle (after a restart, the store holds them all, unchanged) and the refresh rebuild
// most of them identical. Versioned records (KeepPrev) are never so marked: the store ignores it.
func keepSame(emit func([]records.Record) error) func([]records.Record) error {
	return func(recs []records.Record) error {
		for i := range recs {
			recs[i].IfChanged = true
		}
		return emit(recs)
	}
}

// wholeEntryRecords appends the entry record of every entry of group g, in the
// partition's order (sequential reads of its columns).
func wholeEntryRecords(m *match, g *group, s *taskScratch) []records.Record {
	p := g.part
	s.oneOff = true
	s.lin = encodeTeamLineups(p, s.lin)
	tl, arena, keys := &s.lin, &s.arena, &s.keys
	dst := s.recs
	at := len(dst)
	dst = slices.Grow(dst, p.NumEntries())
	h := records.EntryHead{Match: m.id, Part: g.pid}
	for c := range p.NumContests() {
		ct := p.Contest(c)
		h.Contest = ct.ID
		for i := ct.Start; i < ct.End; i++ {
			t := p.TeamIndex(i)
			h.ID, h.User, h.Team = p.EntryID(i), p.UserID(i), p.TeamIDAt(t)
			keys.ID(h.ID)
			dst = append(dst, arena.EntryRecord(h, tl.of(t)))
		}
	}
	keys.SetShared(dst[at:])
	return dst
}

// groupPack is what the user records of a first write read of a group, built once per
// cycle: its teams' lineups encoded, and each entry's contest (a binary search per
// entry otherwise).
type groupPack struct {
	lin     teamLineups
	contest []uint32 // entry -> its contest's index
}

func newGroupPack(p *engine.Partition) *groupPack {
	gp := &groupPack{lin: encodeTeamLineups(p, teamLineups{}), contest: make([]uint32, p.NumEntries())}
	for c := range p.NumContests() {
		ct := p.Contest(c)
		for i := ct.Start; i < ct.End; i++ {
			gp.contest[i] = uint32(c)
		}
	}
	return gp
}

// groupPacks builds the groupPack of each of groups, in parallel.
func groupPacks(groups []*group) []*groupPack {
	packs := make([]*groupPack, len(groups))
	parallelDo(len(groups), func(k int) { packs[k] = newGroupPack(groups[k].part) })
	return packs
}

// userEnt is one entry of a user record being gathered.
type userEnt struct {
	contest, id, team int64
	lineup            []byte // its team's, in a groupPack
}

// userPacker is the reusable memory in which one goroutine gathers users' entries and
// packs their records (userScratch's records, from groupPacks).
type userPacker struct {
	ents  []userEnt
	enc   records.UserEncoder
	arena *records.Arena // a taskScratch's (taskScratch.userPacker)
	keys  *records.Keys
}

// userPacker is s's userPacker, packing into s's arena and keys.
func (s *taskScratch) userPacker() *userPacker {
	s.users.arena, s.users.keys = &s.arena, &s.keys
	return &s.users
}

// add gathers entry i of group g, whose groupPack is gp.
func (u *userPacker) add(g *group, gp *groupPack, i int) {
	p := g.part
	t := p.TeamIndex(i)
	u.ents = append(u.ents, userEnt{contest: p.ContestID(int(gp.contest[i])), id: p.EntryID(i), team: p.TeamIDAt(t), lineup: gp.lin.of(t)})
}

// record packs the user record of the entries gathered (its key is given by done) and
// empties the gathered entries.
func (u *userPacker) record(match, user int64, part int32) records.Record {
	// A group's entries of a user come in its order, (contest, entry id): sorted unless
	// they come from several groups.
	if !slices.IsSortedFunc(u.ents, cmpUserEnt) {
		slices.SortFunc(u.ents, cmpUserEnt)
	}
	u.enc.Reset()
	for _, e := range u.ents {
		u.enc.Add(e.id, e.contest, e.team, e.lineup)
	}
	u.ents = u.ents[:0]
	u.keys.User(match, user, part)
	return u.arena.UserRecord(match, user, part, &u.enc)
}

// done gives the records packed since the last done (recs, in order) their keys.
func (u *userPacker) done(recs []records.Record) { u.keys.SetShared(recs) }

func cmpUserEnt(a, b userEnt) int {
	if a.contest != b.contest {
		return cmpInt(a.contest, b.contest)
	}
	return cmpInt(a.id, b.id)
}

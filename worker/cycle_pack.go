package worker

import (
	"slices"
	"unsafe"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/records"
)

// The first writes: a replay's first cycle (and a final one) writes every entry record
// and every user record once, 8.4M records at 5.6M entries. They are packed here from
// the partitions' columns (records.Arena, records.EntryHead, records.UserEncoder): each
// team's lineup encoded once per group and copied into the records of its entries (a
// user record lists its entries' ids and contests, records.User), no records.Entry or
// Lineup built per entry, the bytes of a task's records and their keys taken a chunk
// at a time. The bytes are those of entryPacked and
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
	// Each player's varint once, then each lineup a copy per player (records.LineupCodes).
	var codes records.LineupCodes
	codes.Reset(p.Players())
	for t := range nt {
		slots, capt, vice := p.TeamSlots(t)
		tl.b = codes.Append(tl.b, slots, capt, vice)
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
// partition's order (sequential reads of its columns), its lineups encoded here.
func wholeEntryRecords(m *match, g *group, s *taskScratch) []records.Record {
	return entryRecords(m, entryTask{g: g, c1: g.part.NumContests()}, s)
}

// entryTask is a run of contests [c0, c1) of a whole group g whose entry records one
// task packs: from lin, g's lineups already encoded for its users' records (a
// groupPack's), or, where lin is nil, from an encoding of its own in the task's scratch.
type entryTask struct {
	g      *group
	lin    *teamLineups
	c0, c1 int
	// lo, hi: entries [lo, hi) of contest c0 alone (c1 == c0+1), a part of a contest of
	// more than entriesPerTask entries; hi 0: the whole contests.
	lo, hi int
}

// entriesPerTask: a group whose lineups are shared (entryTasks) is packed in tasks of
// at most as many entries (a larger contest: in parts of as many), so that one shard's
// groups (often a single one) are packed in parallel, each task's records fitting a
// scratch the pool keeps (scratchKeepRecords, with room for a slice's rounding up),
// reused by the tasks after it (the users'). A contest of 560k entries packed whole held
// its records and their bytes at once (~70 MB of Go heap at 5.6M entries: the final
// cycle's memory peak, BenchmarkFinalCycle) and left them to the collector. A variable
// for tests.
var entriesPerTask = scratchKeepRecords / 2

// entryTasks appends to dst the tasks that pack the entry records of groups: the longest
// runs of contests of at most entriesPerTask entries (a larger contest in parts of as many) from the lineups of their groupPack in packs, and a
// whole group per task, encoding its own, where packs has none.
func entryTasks(dst []entryTask, groups []*group, packs map[*group]*groupPack) []entryTask {
	for _, g := range groups {
		p := g.part
		gp := packs[g]
		if gp == nil {
			dst = append(dst, entryTask{g: g, c1: p.NumContests()})
			continue
		}
		c0, n := 0, 0
		for c := range p.NumContests() {
			ct := p.Contest(c)
			k := ct.End - ct.Start
			if k > entriesPerTask {
				if c > c0 {
					dst = append(dst, entryTask{g: g, lin: &gp.lin, c0: c0, c1: c})
				}
				for lo := ct.Start; lo < ct.End; lo += entriesPerTask {
					dst = append(dst, entryTask{g: g, lin: &gp.lin, c0: c, c1: c + 1, lo: lo, hi: min(lo+entriesPerTask, ct.End)})
				}
				c0, n = c+1, 0
				continue
			}
			if n > 0 && n+k > entriesPerTask {
				dst = append(dst, entryTask{g: g, lin: &gp.lin, c0: c0, c1: c})
				c0, n = c, k
			} else {
				n += k
			}
		}
		if c0 < p.NumContests() {
			dst = append(dst, entryTask{g: g, lin: &gp.lin, c0: c0, c1: p.NumContests()})
		}
	}
	return dst
}

// entryRecords appends the entry record of every entry of t's contests, in the
// partition's order.
func entryRecords(m *match, t entryTask, s *taskScratch) []records.Record {
	g := t.g
	p := g.part
	tl := t.lin
	if tl == nil {
		// A whole group's records and lineups: more than later cycles need, so the
		// pool drops what outgrew its limits (scratchPool.put). A run's fit the pool's
		// scratch (entriesPerTask) and are kept for the tasks after it.
		s.lin = encodeTeamLineups(p, s.lin)
		tl = &s.lin
	}
	arena, keys := &s.arena, &s.keys
	dst := s.recs
	at := len(dst)
	if t.c1 > t.c0 {
		if t.hi > 0 {
			dst = slices.Grow(dst, t.hi-t.lo)
		} else {
			dst = slices.Grow(dst, p.Contest(t.c1-1).End-p.Contest(t.c0).Start)
		}
	}
	h := records.EntryHead{Match: m.id, Part: g.pid}
	for c := t.c0; c < t.c1; c++ {
		ct := p.Contest(c)
		h.Contest = ct.ID
		lo, hi := ct.Start, ct.End
		if t.hi > 0 {
			lo, hi = t.lo, t.hi
		}
		for i := lo; i < hi; i++ {
			t := p.TeamIndex(i)
			h.ID, h.User, h.Team = p.EntryID(i), p.UserID(i), p.TeamIDAt(t)
			keys.ID(h.ID)
			dst = arena.AppendEntryRecord(dst, h, tl.of(t))
		}
	}
	keys.SetShared(dst[at:])
	return dst
}

// groupPack is what the first writes read of a group, built once per cycle: its teams'
// lineups encoded (for its entry records), and each entry's row (a userEnt: its contest,
// a binary search per entry otherwise, and its id) for its users' records.
type groupPack struct {
	lin  teamLineups
	rows []userEnt // entry -> what its users' records take of it
}

// A group's rows: what a user record takes of each entry (userEnt), side by side. A
// user's entries lie at random rows of their groups (gen's users hold ~13 entries in as
// many contests): gathered from the partition's columns, each cost a cache miss per
// column; from a row, one (userPacker.flush prefetches them ahead).
func newGroupPack(p *engine.Partition) *groupPack {
	gp := &groupPack{lin: encodeTeamLineups(p, teamLineups{}), rows: make([]userEnt, p.NumEntries())}
	for c := range p.NumContests() {
		ct := p.Contest(c)
		for i := ct.Start; i < ct.End; i++ {
			gp.rows[i] = userEnt{contest: ct.ID, id: p.EntryID(i)}
		}
	}
	return gp
}

// touch prefetches entry i's row.
func (gp *groupPack) touch(i int) { prefetch(unsafe.Pointer(&gp.rows[i])) }

// groupPacks builds the groupPack of each of groups, in parallel.
func groupPacks(groups []*group) []*groupPack {
	packs := make([]*groupPack, len(groups))
	parallelDo(len(groups), func(k int) { packs[k] = newGroupPack(groups[k].part) })
	return packs
}

// liveGroups are the groups of shards that hold entries, and the users of their indexes.
func liveGroups(shards []*shard) (groups []*group, users int) {
	for _, sh := range shards {
		for _, g := range sh.groups {
			if g.part != nil {
				groups = append(groups, g)
				users += len(g.users.ids)
			}
		}
	}
	return groups, users
}

// bulkPacked: userRecords packs the records of want users from groupPacks of shards' groups
// (many users: a first or final cycle).
func bulkPacked(shards []*shard, want int) bool {
	_, total := liveGroups(shards)
	return want*bulkUsers >= total
}

// shardPacks builds the groupPack of each group of shards holding entries, in
// parallel: one encoding of each group's lineups for both its entry records
// (entryTasks) and its users' (userRecords), held while the shards' records are
// packed, a shard at a time.
func shardPacks(shards []*shard) map[*group]*groupPack {
	groups, _ := liveGroups(shards)
	packs := groupPacks(groups)
	byGroup := make(map[*group]*groupPack, len(groups))
	for k, g := range groups {
		byGroup[g] = packs[k]
	}
	return byGroup
}

// splitWhole splits whole into shared[k], the groups of shards[k] where bulk[k] (their
// entry records packed from the shard's groupPacks), and rest.
func splitWhole(whole []*group, shards []*shard, bulk []bool) (shared [][]*group, rest []*group) {
	of := make(map[*group]int)
	for k, sh := range shards {
		if bulk[k] {
			for _, g := range sh.groups {
				of[g] = k
			}
		}
	}
	shared = make([][]*group, len(shards))
	for _, g := range whole {
		if k, ok := of[g]; ok && g.part != nil {
			shared[k] = append(shared[k], g)
		} else {
			rest = append(rest, g)
		}
	}
	return shared, rest
}

// userEnt is one entry of a user record being gathered: what the record lists of it.
type userEnt struct{ contest, id int64 }

// userPacker is the reusable memory in which one goroutine gathers users' entries and
// packs their records (userScratch's records, from groupPacks). add only notes an
// entry, mark notes where a user's entries end, and flush packs the marked users'
// records, reading their entries' rows and lineups a few entries ahead (prefetched, so
// that their cache misses overlap).
type userPacker struct {
	refs  []packRef // the entries added, not packed yet
	marks []packMark
	ents  []userEnt // one user's, gathered
	enc   records.UserEncoder
	arena *records.Arena // a taskScratch's (taskScratch.userPacker)
	keys  *records.Keys
}

// packRef is an entry added to a userPacker: row i of the group whose groupPack is gp.
type packRef struct {
	gp *groupPack
	i  int
}

// packMark is a user marked in a userPacker: its entries end at refs[end].
type packMark struct {
	user int64
	part int32
	end  int
}

// packRowsAhead: flush prefetches rows so many entries ahead.
const packRowsAhead = 16

// userPacker is s's userPacker, packing into s's arena and keys.
func (s *taskScratch) userPacker() *userPacker {
	s.users.arena, s.users.keys = &s.arena, &s.keys
	return &s.users
}

// add notes entry i of the group whose groupPack is gp, for the next mark.
func (u *userPacker) add(gp *groupPack, i int) {
	u.refs = append(u.refs, packRef{gp, i})
}

// none reports whether no entry was added since the last mark.
func (u *userPacker) none() bool {
	return len(u.marks) == 0 && len(u.refs) == 0 || len(u.marks) > 0 && u.marks[len(u.marks)-1].end == len(u.refs)
}

// mark notes that the entries added since the last mark are user's (of partition part):
// flush packs its record.
func (u *userPacker) mark(user int64, part int32) {
	u.marks = append(u.marks, packMark{user: user, part: part, end: len(u.refs)})
}

// flush appends to dst the record of every user marked since the last flush, in order
// (their keys are given by done).
func (u *userPacker) flush(match int64, dst []records.Record) []records.Record {
	refs := u.refs
	for k := range min(len(refs), packRowsAhead) {
		refs[k].gp.touch(refs[k].i)
	}
	j := 0
	for _, mk := range u.marks {
		for ; j < mk.end; j++ {
			if k := j + packRowsAhead; k < len(refs) {
				refs[k].gp.touch(refs[k].i)
			}
			u.ents = append(u.ents, refs[j].gp.rows[refs[j].i])
		}
		dst = u.pack(dst, match, mk.user, mk.part)
	}
	clear(refs) // no group held past the cycle
	u.refs, u.marks = refs[:0], u.marks[:0]
	return dst
}

// pack appends to dst the user record of the entries gathered, and empties them.
func (u *userPacker) pack(dst []records.Record, match, user int64, part int32) []records.Record {
	encodeUser(u.ents, &u.enc, match, user, part, u.keys)
	u.ents = u.ents[:0]
	return u.arena.AppendUserRecord(dst, match, user, part, &u.enc)
}

// packUser packs the user record of ents with enc into arena (the bytes of
// records.User{...}.Pack), its key added to keys. A group's entries of a user come in
// its order, (contest, entry id): ents are sorted so unless they come from several
// groups.
func packUser(ents []userEnt, enc *records.UserEncoder, match, user int64, part int32, arena *records.Arena, keys *records.Keys) records.Record {
	encodeUser(ents, enc, match, user, part, keys)
	return arena.UserRecord(match, user, part, enc)
}

// encodeUser is packUser but for the packing: ents (sorted) encoded into enc, the key
// added to keys.
func encodeUser(ents []userEnt, enc *records.UserEncoder, match, user int64, part int32, keys *records.Keys) {
	if !slices.IsSortedFunc(ents, cmpUserEnt) {
		slices.SortFunc(ents, cmpUserEnt)
	}
	enc.Reset()
	for _, e := range ents {
		enc.Add(e.id, e.contest)
	}
	keys.User(match, user, part)
}

// done gives the records packed since the last done (recs, in order) their keys.
func (u *userPacker) done(recs []records.Record) { u.keys.SetShared(recs) }

func cmpUserEnt(a, b userEnt) int {
	if a.contest != b.contest {
		return cmpInt(a.contest, b.contest)
	}
	return cmpInt(a.id, b.id)
}

package engine

import (
	"cmp"
	"fmt"
	"slices"
)

// Deriving a partition from another: a late entry, a withdrawal or an upsert during a
// live match changes a few contests of a partition ranked every cycle. Rebuilding the
// partition (every entry re-added, its lineup re-checked, the layout sorted, every
// contest ranked and written as new) costs the whole partition; Derive costs the
// contests that changed, plus copies of the partition's columns (memmoves), and carries
// the last cycle over to every other contest.

// EntryKey names one entry of a partition.
type EntryKey struct{ ContestID, EntryID int64 }

// Derive returns a partition holding p's entries less remove, plus add, ranked from p's
// last cycle. It is exact as a partition built from scratch from the same entries: the
// same entries, contests, pages, display order, ranks and points in every later cycle
// (only the numbering of player slots and teams, which no result shows, may differ).
//
// The added entries are validated as Builder.Add does: lineup size, distinct players,
// captain and vice-captain, a team_id already in p or added twice keeps one lineup, at
// most MaxPlayersPerMatch players; and entry ids stay unique (an upsert removes the
// entry and adds it again). A removed entry must be in p. An error (an *EntryError
// naming the entry) leaves p as it was.
//
// The derived partition's next Run ranks anew only the contests an entry left or
// joined (every entry and page of such a contest is reported changed, as in a first
// cycle) and the contests whose team points moved; the change sets of every other
// contest compare with p's last cycle, as p's next Run would have (p derived but not
// yet Run passes its own changed contests on). Teams left without
// entries are dropped, new teams are appended to the team table. p is not changed and
// stays usable. The cost is O(entries of p) in copies plus O(size) per changed contest
// and O(k log k) for k changes.
func (p *Partition) Derive(remove []EntryKey, add []Entry) (*Partition, error) {
	n := p.NumEntries()
	rm := make([]int, 0, len(remove))
	for _, key := range remove {
		c, ok := p.FindContest(key.ContestID)
		i := 0
		if ok {
			i, ok = p.FindEntry(c, key.EntryID)
		}
		if !ok {
			return nil, &EntryError{EntryID: key.EntryID, ContestID: key.ContestID, Reason: "removed, but not in the partition"}
		}
		rm = append(rm, i)
	}
	slices.Sort(rm)
	for j := 1; j < len(rm); j++ {
		if rm[j] == rm[j-1] {
			return nil, &EntryError{EntryID: p.EntryID(rm[j]), ContestID: p.contestOf(rm[j]), Reason: "removed twice"}
		}
	}

	b, seeded := p.deriveBuilder(add)
	for _, e := range add {
		if err := b.Add(e); err != nil {
			return nil, err
		}
	}
	k := len(b.entryID)
	if dup, ok := duplicateID(b.entryID); ok {
		i := slices.Index(b.entryID, dup)
		return nil, &EntryError{EntryID: dup, ContestID: b.contestID[i], Reason: ErrDuplicateEntry.Error() + " (added more than once)"}
	}
	if i, ok := p.survivorWithID(b.entryID, rm); ok {
		j := slices.Index(b.entryID, p.EntryID(i))
		return nil, &EntryError{EntryID: b.entryID[j], ContestID: b.contestID[j],
			Reason: fmt.Sprintf("%s (it is in contest %d and is not removed)", ErrDuplicateEntry, p.contestOf(i))}
	}

	// Teams: p's, then the builder's new ones; the builder's seeded teams are p's.
	nt := p.NumTeams()
	L := max(p.lineupSize, b.lineupSize)
	teamOf := make([]uint32, len(b.teamID)) // builder team -> derived team
	for j := range teamOf {
		if j < len(seeded) {
			teamOf[j] = seeded[j]
		} else {
			teamOf[j] = uint32(nt + j - len(seeded))
		}
	}

	// The added rows in (contest, entry) order.
	order := make([]int32, k)
	for j := range order {
		order[j] = int32(j)
	}
	slices.SortFunc(order, func(x, y int32) int {
		if c := cmp.Compare(b.contestID[x], b.contestID[y]); c != 0 {
			return c
		}
		return cmp.Compare(b.entryID[x], b.entryID[y])
	})

	// Merge p's contests with the added rows' contests. from[c] is the contest of p whose
	// standings contest c carries, or -1 for a contest ranked anew.
	n2 := n - len(rm) + k
	entryID, userID := make([]int64, 0, n2), make([]int64, 0, n2)
	team := make([]uint32, 0, n2)
	var contestID []int64
	var start []uint32
	var from []int32
	ri, ai := 0, 0
	runLo, runHi := 0, 0 // untouched entries of p not copied yet
	flush := func() {
		entryID, userID, team = p.appendEntries(entryID, userID, team, runLo, runHi)
		runLo = runHi
	}
	addRow := func(j int32) {
		entryID = append(entryID, b.entryID[j])
		userID = append(userID, b.userID[j])
		team = append(team, teamOf[b.team[j]])
	}
	for c := 0; c < len(p.contestID) || ai < k; {
		var id int64
		inP := c < len(p.contestID)
		if inP && (ai >= k || p.contestID[c] <= b.contestID[order[ai]]) {
			id = p.contestID[c]
		} else {
			id, inP = b.contestID[order[ai]], false
		}
		pos := len(entryID) + (runHi - runLo)
		carried := int32(-1)
		if inP {
			s, e := int(p.start[c]), int(p.start[c+1])
			touched := (ri < len(rm) && rm[ri] < e) || (ai < k && b.contestID[order[ai]] == id)
			if !touched {
				if runHi != s {
					flush()
					runLo = s
				}
				runHi = e
				carried = int32(c)
			} else {
				flush()
				for i := s; i < e || (ai < k && b.contestID[order[ai]] == id); {
					switch {
					case i < e && ri < len(rm) && rm[ri] == i:
						ri++
						i++
					case ai < k && b.contestID[order[ai]] == id && (i >= e || b.entryID[order[ai]] < p.EntryID(i)):
						addRow(order[ai])
						ai++
					default:
						entryID = append(entryID, p.EntryID(i))
						userID = append(userID, p.UserID(i))
						team = append(team, p.teamOf(i))
						i++
					}
				}
				runLo, runHi = e, e
			}
			c++
		} else {
			flush()
			for ai < k && b.contestID[order[ai]] == id {
				addRow(order[ai])
				ai++
			}
		}
		if len(entryID)+(runHi-runLo) > pos {
			contestID = append(contestID, id)
			start = append(start, uint32(pos))
			from = append(from, carried)
		}
	}
	flush()
	start = append(start, uint32(len(entryID)))
	if len(entryID) != n2 {
		panic(fmt.Sprintf("BUG: derived %d entries from %d less %d plus %d", len(entryID), n, len(rm), k))
	}

	q := &Partition{
		cfg:        p.cfg,
		workers:    p.workers,
		lineupSize: L,
		players:    slices.Clip(b.players),
		teamID:     concat(p.teamID, b.teamID[len(seeded):]),
		teamSlot:   concat(p.teamSlot, b.teamSlot[len(seeded)*L:]),
		captain:    concat(p.captain, b.captain[len(seeded):]),
		vice:       concat(p.vice, b.vice[len(seeded):]),
		contestID:  contestID,
		start:      start,
	}
	// Last cycle's team points, for the changed flags of the next one.
	teamPts := concat(p.st.teamPts, make([]int32, len(q.teamID)-nt))
	if len(rm) > 0 {
		teamPts = q.dropUnusedTeams(team, teamPts)
	}
	q.layoutPages()
	q.layoutBatches(entryID, userID, team)
	q.layoutTeams()
	q.planWork()
	q.st.init(q)
	st := &q.st
	st.noDense = p.st.noDense
	st.cycles = p.st.cycles
	copy(st.teamPts, teamPts)
	if st.cycles > 0 {
		st.dirty = make([]uint64, (len(contestID)+63)/64)
		for c, pc := range from {
			if pc < 0 || (p.st.dirty != nil && p.st.dirty[pc>>6]&(1<<(pc&63)) != 0) {
				// Changed here, or by a Derive of p not yet followed by a Run.
				st.dirty[c>>6] |= 1 << (c & 63)
				continue
			}
			s1, e1, s2 := p.start[pc], p.start[pc+1], start[c]
			d := s2 - s1 // entry numbers move by d (mod 2^32)
			for j, i := range p.st.order[s1:e1] {
				st.order[s2+uint32(j)] = i + d
			}
			copy(st.pts[s2:], p.st.pts[s1:e1])
		}
	}
	return q, nil
}

// deriveBuilder returns a Builder that knows p's player dictionary and the teams of p
// that add names (seeded[j] is the team of p behind the builder's team j).
func (p *Partition) deriveBuilder(add []Entry) (*Builder, []uint32) {
	b := NewBuilder(p.lineupSize, len(add))
	for s, id := range p.players {
		b.slotOf.put(id, uint8(s))
	}
	b.players = slices.Clone(p.players)
	if len(add) == 0 || len(p.teamID) == 0 {
		return b, nil
	}
	ids := make([]int64, len(add))
	for j, e := range add {
		ids[j] = e.TeamID
	}
	f := newIDFilter(ids)
	var seeded []uint32
	for t, id := range p.teamID {
		if f.has(id) {
			seeded = append(seeded, uint32(t))
		}
	}
	L := p.lineupSize
	for j, t := range seeded {
		b.teamIdx.put(p.teamID[t], uint32(j))
		b.teamID = append(b.teamID, p.teamID[t])
		slots := p.teamSlot[int(t)*L : int(t+1)*L]
		var m uint64
		for _, s := range slots {
			if s >= 64 {
				b.wide = true
			} else {
				m |= 1 << s
			}
		}
		b.teamMask = append(b.teamMask, m)
		b.teamSlot = append(b.teamSlot, slots...)
		b.captain = append(b.captain, p.captain[t])
		b.vice = append(b.vice, p.vice[t])
		b.teamPrint = append(b.teamPrint, 0) // unknown: the first entry of it is checked in full
	}
	return b, seeded
}

// survivorWithID returns an entry of p that is not removed (rm: sorted entry numbers)
// and has one of ids.
func (p *Partition) survivorWithID(ids []int64, rm []int) (int, bool) {
	if len(ids) == 0 {
		return 0, false
	}
	f := newIDFilter(ids)
	i := 0
	for bi, col := range p.entryID {
		for off, id := range col {
			if f.has(id) {
				i = bi<<p.shift + off
				if _, removed := slices.BinarySearch(rm, i); !removed {
					return i, true
				}
			}
		}
	}
	return 0, false
}

// idFilter is a set of a few ids with a bitset in front, so that testing every id of a
// partition against it is a multiply and a bit test for the ids not in it.
type idFilter struct {
	bits [64]uint64
	set  map[int64]struct{}
}

func newIDFilter(ids []int64) *idFilter {
	f := &idFilter{set: make(map[int64]struct{}, len(ids))}
	for _, id := range ids {
		h := idHash(id)
		f.bits[h>>6] |= 1 << (h & 63)
		f.set[id] = struct{}{}
	}
	return f
}

func idHash(id int64) uint64 { return uint64(id) * 0x9E3779B97F4A7C15 >> 52 }

func (f *idFilter) has(id int64) bool {
	h := idHash(id)
	if f.bits[h>>6]&(1<<(h&63)) == 0 {
		return false
	}
	_, ok := f.set[id]
	return ok
}

// appendEntries appends entries [lo, hi) of p to the columns, a batch segment at a time.
func (p *Partition) appendEntries(entryID, userID []int64, team []uint32, lo, hi int) ([]int64, []int64, []uint32) {
	for i := lo; i < hi; {
		bi, off := i>>p.shift, i&p.mask
		m := min(len(p.entryID[bi])-off, hi-i)
		entryID = append(entryID, p.entryID[bi][off:off+m]...)
		userID = append(userID, p.userID[bi][off:off+m]...)
		team = append(team, p.team[bi][off:off+m]...)
		i += m
	}
	return entryID, userID, team
}

// dropUnusedTeams removes from p's team tables the teams no entry of team (per entry,
// rewritten) refers to, keeping the others in order, and returns teamPts (per team)
// likewise.
func (p *Partition) dropUnusedTeams(team []uint32, teamPts []int32) []int32 {
	q := p
	nt := len(q.teamID)
	used := make([]uint64, (nt+63)/64)
	for _, t := range team {
		used[t>>6] |= 1 << (t & 63)
	}
	newOf := make([]uint32, nt)
	kept := 0
	for t := range nt {
		if used[t>>6]&(1<<(t&63)) != 0 {
			newOf[t] = uint32(kept)
			kept++
		}
	}
	if kept == nt {
		return teamPts
	}
	L := q.lineupSize
	for t := range nt {
		if used[t>>6]&(1<<(t&63)) == 0 {
			continue
		}
		u := int(newOf[t])
		q.teamID[u], q.captain[u], q.vice[u], teamPts[u] = q.teamID[t], q.captain[t], q.vice[t], teamPts[t]
		copy(q.teamSlot[u*L:(u+1)*L], q.teamSlot[t*L:(t+1)*L])
	}
	q.teamID, q.captain, q.vice = slices.Clip(q.teamID[:kept]), slices.Clip(q.captain[:kept]), slices.Clip(q.vice[:kept])
	q.teamSlot = slices.Clip(q.teamSlot[:kept*L])
	for i, t := range team {
		team[i] = newOf[t]
	}
	return teamPts[:kept]
}

// concat returns a new slice holding a then b.
func concat[T any](a, b []T) []T {
	out := make([]T, len(a)+len(b))
	copy(out[copy(out, a):], b)
	return out
}

// contestOf returns the contest id of entry i.
func (p *Partition) contestOf(i int) int64 {
	c, _ := slices.BinarySearchFunc(p.start[1:], uint32(i), func(s, x uint32) int {
		if s <= x {
			return -1
		}
		return 1
	})
	return p.contestID[c]
}

package engine

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/fantasy/leaderboard/internal/hugepage"
)

// Entry is one contest entry as it arrives (a row of entries.parquet or an entry event).
type Entry struct {
	ContestID, EntryID, UserID, TeamID int64
	Players                            []int32
	Captain, ViceCaptain               int32
}

// EntryError reports an entry that cannot be ranked. Callers add the file or topic.
type EntryError struct {
	EntryID   int64
	ContestID int64
	Reason    string
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("entry %d (contest %d): %s", e.EntryID, e.ContestID, e.Reason)
}

// Builder collects one match's entries and builds a Partition. It validates every entry:
// lineup size, distinct players, captain and vice-captain in the lineup and distinct,
// entries sharing a team_id sharing a lineup, and (in Build) unique entry ids.
type Builder struct {
	lineupSize int

	slotOf  slotTable
	players []int32 // slot -> player id

	teamIdx  idIndex
	teamMask []uint64 // lineup set of each team while every slot is < 64 (narrow)
	// A 64-bit fingerprint of the first lineup seen for each team, as given (players in
	// order, captain, vice-captain): an entry whose lineup has the same fingerprint (the
	// common case: it repeats the team) needs no validation beyond that comparison. A
	// different lineup escapes the full check only on a fingerprint collision (2^-64).
	teamPrint []uint64
	wide      bool // some slot is >= 64: compare lineups through teamSlot instead
	teamID    []int64
	teamSlot  []uint8 // lineupSize slots per team, sorted ascending
	captain   []uint8
	vice      []uint8

	contestID []int64
	entryID   []int64
	userID    []int64
	team      []uint32

	fps    []uint64 // per row of the batch being appended
	ts     []uint32
	checks []lineupCheck
	kind   []uint8  // rowKnown, rowMismatch or rowNew (append.go)
	first  []uint32 // per row of a new team: the batch row that creates its team
	list   []uint32 // rows of new teams, grouped by shard

	// The team of the last entry AddKnownTeam or AddTrusted appended (trusted.go).
	lastTeamID int64
	lastTeam   uint32
	lastOK     bool
	// The team AddKnownTeam last found new, while missTeams-1 teams are held.
	missTeamID int64
	missTeams  int
	// The teams are not in teamIdx yet (NewTrustedBuilder's trustedRuns): indexTeams
	// puts them there before an entry is added.
	unindexed bool

	// Tests set these to run Append's parallel paths on small batches: goroutines
	// (0 = GOMAXPROCS) and the fewest rows worth one (0 = appendRowsPerWorker).
	workers, minRows int
}

// NewBuilder returns a Builder for lineups of lineupSize players; 0 takes the size of the
// first entry. sizeHint pre-sizes the entry columns.
func NewBuilder(lineupSize, sizeHint int) *Builder {
	if lineupSize < 0 || lineupSize > MaxLineupSize {
		panic(fmt.Sprintf("BUG: lineup size %d outside [0, %d]", lineupSize, MaxLineupSize))
	}
	return &Builder{
		lineupSize: lineupSize,
		teamIdx:    newIDIndex(sizeHint),
		contestID:  make([]int64, 0, sizeHint),
		entryID:    make([]int64, 0, sizeHint),
		userID:     make([]int64, 0, sizeHint),
		team:       make([]uint32, 0, sizeHint),
	}
}

// Len is the number of entries added so far.
func (b *Builder) Len() int { return len(b.entryID) }

// Add validates and appends one entry.
func (b *Builder) Add(e Entry) error {
	b.indexTeams()
	fp := lineupPrint(e.Players, e.Captain, e.ViceCaptain)
	if t, ok := b.teamIdx.get(e.TeamID); ok && b.teamPrint[t] == fp {
		b.appendEntry(e.ContestID, e.EntryID, e.UserID, t)
		return nil
	}
	return b.add(e.ContestID, e.EntryID, e.UserID, e.TeamID, e.Players, e.Captain, e.ViceCaptain, fp)
}

// Append validates and appends every row of a record batch with the columns of
// EntriesSchema (found by name; extra columns are ignored).
func (b *Builder) Append(rec arrow.RecordBatch) error {
	b.indexTeams()
	cols, err := entryColumns(rec)
	if err != nil {
		return err
	}
	n := int(rec.NumRows())
	for c, col := range cols {
		if col.NullN() == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			if col.IsNull(i) {
				return fmt.Errorf("row %d: %s is null", i, EntriesSchema.Field(c).Name)
			}
		}
	}
	ec := entryColumnsOf(cols)
	contest, entry, offsets := ec.Contest, ec.Entry, ec.Offsets
	if values := cols[4].(*array.List).ListValues(); values.NullN() > 0 {
		for i := 0; i < n; i++ {
			for k := offsets[i]; k < offsets[i+1]; k++ {
				if values.IsNull(int(k)) {
					return &EntryError{EntryID: entry[i], ContestID: contest[i], Reason: "lineup holds a null player"}
				}
			}
		}
	}
	return b.appendColumns(ec, n)
}

// entryColumns finds the EntriesSchema columns of rec by name and checks their types.
func entryColumns(rec arrow.RecordBatch) ([]arrow.Array, error) {
	cols := make([]arrow.Array, EntriesSchema.NumFields())
	for c, f := range EntriesSchema.Fields() {
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("column %q is missing", f.Name)
		}
		col := rec.Column(idx[0])
		if !SameType(col.DataType(), f.Type) {
			return nil, fmt.Errorf("column %q has type %s, want %s", f.Name, col.DataType(), f.Type)
		}
		cols[c] = col
	}
	return cols, nil
}

// EntryColumns is a record batch of EntriesSchema as typed slices, aliasing the batch.
type EntryColumns struct {
	Contest, Entry, User, Team []int64
	Offsets, Players           []int32 // row i's lineup: Players[Offsets[i]:Offsets[i+1]]
	Captain, Vice              []int32
}

// EntryColumnsOf views rec, whose columns are EntriesSchema's in its order (as
// dataset.ReadEntries yields them), as typed slices. It checks neither types nor nulls:
// Builder.Append, which takes any batch, does.
func EntryColumnsOf(rec arrow.RecordBatch) EntryColumns { return entryColumnsOf(rec.Columns()) }

func entryColumnsOf(cols []arrow.Array) EntryColumns {
	lists := cols[4].(*array.List)
	return EntryColumns{
		Contest: cols[0].(*array.Int64).Int64Values(),
		Entry:   cols[1].(*array.Int64).Int64Values(),
		User:    cols[2].(*array.Int64).Int64Values(),
		Team:    cols[3].(*array.Int64).Int64Values(),
		Offsets: lists.Offsets(),
		Players: lists.ListValues().(*array.Int32).Int32Values(),
		Captain: cols[5].(*array.Int32).Int32Values(),
		Vice:    cols[6].(*array.Int32).Int32Values(),
	}
}

// SameType compares column types, ignoring the name and nullability of a list's element
// field (Parquet writers name it "element" or "item"): the check of Builder.Append and
// of dataset's readers.
func SameType(got, want arrow.DataType) bool {
	gl, ok1 := got.(*arrow.ListType)
	wl, ok2 := want.(*arrow.ListType)
	if ok1 && ok2 {
		return arrow.TypeEqual(gl.Elem(), wl.Elem())
	}
	return arrow.TypeEqual(got, want)
}

const noTeam = ^uint32(0)

// appendRowsPerWorker is the fewest rows of a batch worth a goroutine in Append.
const appendRowsPerWorker = 8192

func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

// add validates an entry whose lineup is not its team's known one (fp is its lineup
// fingerprint) and appends it.
func (b *Builder) add(contest, entry, user, teamID int64, players []int32, capt, vice int32, fp uint64) error {
	c, err := b.checkLineup(contest, entry, players, capt, vice)
	if err != nil {
		return err
	}
	return b.addChecked(contest, entry, user, teamID, c, fp)
}

// checkLineup makes add's checks of a lineup (its size, the first one's setting the
// builder's, distinct players, captain and vice-captain distinct and in it), giving its
// players dictionary slots in lineup order.
func (b *Builder) checkLineup(contest, entry int64, players []int32, capt, vice int32) (lineupCheck, error) {
	fail := func(format string, args ...any) (lineupCheck, error) {
		return lineupCheck{}, &EntryError{EntryID: entry, ContestID: contest, Reason: fmt.Sprintf(format, args...)}
	}
	if b.lineupSize == 0 {
		if len(players) == 0 || len(players) > MaxLineupSize {
			return fail("lineup has %d players, want 1..%d", len(players), MaxLineupSize)
		}
		b.lineupSize = len(players)
	}
	if len(players) != b.lineupSize {
		return fail("lineup has %d players, want %d", len(players), b.lineupSize)
	}
	if capt == vice {
		return fail("captain and vice-captain are both player %d", capt)
	}
	// Map players to slots; a 256-bit mask catches duplicates and gives the lineup set.
	var mask [MaxPlayersPerMatch / 64]uint64
	for _, p := range players {
		s, err := b.slot(p)
		if err != nil {
			return fail("%v", err)
		}
		if mask[s>>6]&(1<<(s&63)) != 0 {
			return fail("player %d appears twice in the lineup", p)
		}
		mask[s>>6] |= 1 << (s & 63)
	}
	cs, ok := b.slotOf.get(capt)
	if !ok || mask[cs>>6]&(1<<(cs&63)) == 0 {
		return fail("captain %d is not in the lineup", capt)
	}
	vs, ok := b.slotOf.get(vice)
	if !ok || mask[vs>>6]&(1<<(vs&63)) == 0 {
		return fail("vice-captain %d is not in the lineup", vice)
	}
	return lineupCheck{mask: mask, cs: cs, vs: vs}, nil
}

// lineupCheck is a lineup found valid: its set of slots, captain and vice-captain.
type lineupCheck struct {
	mask   [MaxPlayersPerMatch / 64]uint64
	cs, vs uint8
	ok     bool // set by precheck: the lineup passed every check add makes
}

// precheck makes add's checks without changing the builder (so that it can run on many
// goroutines at once): ok is false where a lineup is invalid or names a player not yet
// in the dictionary; add then checks it again, in row order, and reports the error.
func (b *Builder) precheck(players []int32, capt, vice int32) (c lineupCheck) {
	if len(players) != b.lineupSize || b.lineupSize == 0 || capt == vice {
		return c
	}
	for _, p := range players {
		s, ok := b.slotOf.get(p)
		if !ok || c.mask[s>>6]&(1<<(s&63)) != 0 {
			return c
		}
		c.mask[s>>6] |= 1 << (s & 63)
	}
	var ok bool
	if c.cs, ok = b.slotOf.get(capt); !ok || c.mask[c.cs>>6]&(1<<(c.cs&63)) == 0 {
		return c
	}
	if c.vs, ok = b.slotOf.get(vice); !ok || c.mask[c.vs>>6]&(1<<(c.vs&63)) == 0 {
		return c
	}
	c.ok = true
	return c
}

// addChecked appends an entry whose lineup passed the checks: it joins its team (whose
// lineup must be the same) or creates it.
func (b *Builder) addChecked(contest, entry, user, teamID int64, c lineupCheck, fp uint64) error {
	fail := func(format string, args ...any) error {
		return &EntryError{EntryID: entry, ContestID: contest, Reason: fmt.Sprintf(format, args...)}
	}
	t, ok := b.teamIdx.get(teamID)
	if ok {
		if !b.sameLineup(t, &c) {
			return fail("team %d already has a different lineup, captain or vice-captain", teamID)
		}
	} else {
		if len(b.teamID) >= 1<<32-1 {
			return fail("more than 2^32-1 teams in one partition")
		}
		t = b.newTeam(teamID, &c, fp)
	}
	b.appendEntry(contest, entry, user, t)
	return nil
}

// newTeam adds team teamID, not yet known, with the checked lineup c (fp: its
// fingerprint, 0 for none known) and returns its number.
func (b *Builder) newTeam(teamID int64, c *lineupCheck, fp uint64) uint32 {
	b.teamIdx.put(teamID, uint32(len(b.teamID)))
	return b.addTeam(teamID, c, fp)
}

// addTeam is newTeam without the id index (trustedRuns builds it later, if at all).
func (b *Builder) addTeam(teamID int64, c *lineupCheck, fp uint64) uint32 {
	mask := c.mask
	t := uint32(len(b.teamID))
	if len(b.teamID) == cap(b.teamID) {
		b.growTeams()
	}
	b.teamID = append(b.teamID, teamID)
	b.teamMask = append(b.teamMask, mask[0])
	if mask[1]|mask[2]|mask[3] != 0 {
		b.wide = true
	}
	// Store slots in ascending order: the mask already is the sorted set.
	for w, m := range mask {
		for m != 0 {
			b.teamSlot = append(b.teamSlot, uint8(w*64+bits.TrailingZeros64(m)))
			m &= m - 1
		}
	}
	b.captain = append(b.captain, c.cs)
	b.vice = append(b.vice, c.vs)
	b.teamPrint = append(b.teamPrint, fp)
	return t
}

// sameLineup reports whether team t has c's lineup (as a set), captain and vice-captain:
// entries sharing a team share them.
func (b *Builder) sameLineup(t uint32, c *lineupCheck) bool {
	if b.captain[t] != c.cs || b.vice[t] != c.vs {
		return false
	}
	if !b.wide {
		return c.mask[0] == b.teamMask[t] && c.mask[1]|c.mask[2]|c.mask[3] == 0
	}
	var tmask [MaxPlayersPerMatch / 64]uint64
	for _, s := range b.teamSlot[int(t)*b.lineupSize : int(t+1)*b.lineupSize] {
		tmask[s>>6] |= 1 << (s & 63)
	}
	return tmask == c.mask
}

// growTeams doubles the room of the team tables. append alone grows a large slice by
// a quarter at a time, and with tens of millions of teams the copies add up (~2 s of CPU
// at 25M teams).
func (b *Builder) growTeams() {
	n := max(1024, cap(b.teamID))
	b.teamID = slices.Grow(b.teamID, n)
	b.teamMask = slices.Grow(b.teamMask, n)
	b.teamSlot = slices.Grow(b.teamSlot, n*b.lineupSize)
	b.captain = slices.Grow(b.captain, n)
	b.vice = slices.Grow(b.vice, n)
	b.teamPrint = slices.Grow(b.teamPrint, n)
}

// lineupPrint fingerprints a lineup as given (order matters): a multiply-xorshift hash
// of every player, the captain and the vice-captain.
func lineupPrint(players []int32, capt, vice int32) uint64 {
	h := uint64(len(players))*0x9E3779B97F4A7C15 ^ 0xD6E8FEB86659FD93
	mix := func(v int32) {
		h ^= uint64(uint32(v))
		h *= 0xFF51AFD7ED558CCD
		h ^= h >> 32
	}
	for _, p := range players {
		mix(p)
	}
	mix(capt)
	mix(vice)
	h *= 0xC4CEB9FE1A85EC53
	return h ^ h>>29
}

func (b *Builder) appendEntry(contest, entry, user int64, t uint32) {
	b.contestID = append(b.contestID, contest)
	b.entryID = append(b.entryID, entry)
	b.userID = append(b.userID, user)
	b.team = append(b.team, t)
}

func (b *Builder) slot(player int32) (uint8, error) {
	if s, ok := b.slotOf.get(player); ok {
		return s, nil
	}
	if len(b.players) >= MaxPlayersPerMatch {
		return 0, fmt.Errorf("player %d would be the match's %dth distinct player (at most %d)", player, len(b.players)+1, MaxPlayersPerMatch)
	}
	s := uint8(len(b.players))
	b.slotOf.put(player, s)
	b.players = append(b.players, player)
	return s, nil
}

// slotTable maps a match's player ids to their uint8 slots: an open-addressing table
// twice the size of the largest dictionary, so a lookup is a hash and a probe or two
// (a Go map costs several times more, and it runs for every player of every entry).
type slotTable struct {
	key  [2 * MaxPlayersPerMatch]int32
	slot [2 * MaxPlayersPerMatch]uint16 // slot+1; 0 = empty
}

func (t *slotTable) home(player int32) uint32 {
	return (uint32(player) * 0x9E3779B1) >> (32 - 9)
}

func (t *slotTable) get(player int32) (uint8, bool) {
	for h := t.home(player); ; h = (h + 1) & (2*MaxPlayersPerMatch - 1) {
		if t.slot[h] == 0 {
			return 0, false
		}
		if t.key[h] == player {
			return uint8(t.slot[h] - 1), true
		}
	}
}

func (t *slotTable) put(player int32, s uint8) {
	h := t.home(player)
	for t.slot[h] != 0 {
		h = (h + 1) & (2*MaxPlayersPerMatch - 1)
	}
	t.key[h], t.slot[h] = player, uint16(s)+1
}

// idIndex maps team ids to team numbers: a dense slice while ids are small non-negative
// numbers (the usual case, and several times faster than a map for millions of teams),
// an open-addressing table for the rest (a contest group of a big match: its teams'
// ids spread over the match's; a Go map cost ~2x more there).
type idIndex struct {
	dense  []uint32 // id -> number+1; 0 = absent
	sparse idTable
}

func newIDIndex(sizeHint int) idIndex {
	x := idIndex{dense: make([]uint32, max(1024, 2*sizeHint))}
	hugepage.Advise(x.dense) // read at random, once per entry
	return x
}

func (x *idIndex) get(id int64) (uint32, bool) {
	if uint64(id) < uint64(len(x.dense)) {
		v := x.dense[id]
		return v - 1, v != 0
	}
	return x.sparse.get(id)
}

func (x *idIndex) put(id int64, t uint32) {
	if uint64(id) < uint64(len(x.dense)) {
		x.dense[id] = t + 1
		return
	}
	x.sparse.put(id, t)
}

// idTable is an open-addressing hash table of ids (linear probing, at most half full):
// a key and its value share a slot, so a lookup is one cache line as a rule.
type idTable struct {
	slots []idSlot
	n     int
	shift uint // 64 - log2(len(slots))
}

type idSlot struct {
	id int64
	v  uint32 // value+1; 0 = empty
}

func (t *idTable) home(id int64) int { return int((uint64(id) * 0x9E3779B97F4A7C15) >> t.shift) }

func (t *idTable) get(id int64) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := len(t.slots) - 1
	for h := t.home(id); ; h = (h + 1) & mask {
		s := &t.slots[h]
		if s.v == 0 {
			return 0, false
		}
		if s.id == id {
			return s.v - 1, true
		}
	}
}

func (t *idTable) put(id int64, v uint32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	for h := t.home(id); ; h = (h + 1) & mask {
		s := &t.slots[h]
		if s.v == 0 {
			s.id, s.v = id, v+1
			t.n++
			return
		}
		if s.id == id {
			s.v = v + 1
			return
		}
	}
}

func (t *idTable) grow() {
	old := t.slots
	size := max(64, 2*len(old))
	t.slots, t.n, t.shift = make([]idSlot, size), 0, uint(64-bits.Len(uint(size-1)))
	for _, s := range old {
		if s.v != 0 {
			t.put(s.id, s.v-1)
		}
	}
}

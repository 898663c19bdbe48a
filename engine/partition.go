package engine

import (
	"errors"
	"flag"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Config tunes a Partition. Defaults are set in RegisterFlags and DefaultConfig.
type Config struct {
	// Workers is the number of goroutines a cycle uses; 0 means GOMAXPROCS.
	Workers int
	// PageSize is the number of entries on one stored leaderboard page.
	PageSize int
	// BatchRows is the number of entries in one Arrow batch (rounded up to a power of two).
	BatchRows int
	// MegaContest is the size from which a contest is ranked by all workers together
	// rather than by one; 0 picks max(65536, entries/(4·workers)).
	MegaContest int
	// Now, when set, times each stage of a cycle (the engine has no clock of its own).
	Now func() time.Time
}

// DefaultConfig returns the defaults RegisterFlags registers.
func DefaultConfig() Config { return Config{PageSize: 100, BatchRows: 1 << 20} }

// RegisterFlags registers the engine flags with the given prefix.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	d := DefaultConfig()
	fs.IntVar(&c.Workers, prefix+"workers", 0, "goroutines per ranking cycle (0 = all cores)")
	fs.IntVar(&c.PageSize, prefix+"page-size", d.PageSize, "entries per stored leaderboard page")
	fs.IntVar(&c.BatchRows, prefix+"batch-rows", d.BatchRows, "entries per Arrow batch")
	fs.IntVar(&c.MegaContest, prefix+"mega-contest", 0, "contest size ranked by all workers together (0 = automatic)")
}

// Validate reports a setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Workers < 0:
		return fmt.Errorf("workers %d: must be >= 0", c.Workers)
	case c.PageSize < 1 || c.PageSize > 1<<16:
		return fmt.Errorf("page size %d: must be in [1, 65536]", c.PageSize)
	case c.BatchRows < 1 || c.BatchRows > 1<<30:
		return fmt.Errorf("batch rows %d: must be in [1, 2^30]", c.BatchRows)
	case c.MegaContest < 0:
		return fmt.Errorf("mega contest size %d: must be >= 0", c.MegaContest)
	}
	return nil
}

// ErrDuplicateEntry is returned (wrapped in an EntryError) when an entry_id appears twice.
var ErrDuplicateEntry = errors.New("duplicate entry_id")

// Schemas of the Arrow batches a Partition holds.
var (
	// partitionEntrySchema: one row per entry, ordered by (contest_id, entry_id).
	partitionEntrySchema = arrow.NewSchema([]arrow.Field{
		{Name: ColEntryID, Type: arrow.PrimitiveTypes.Int64},
		{Name: ColUserID, Type: arrow.PrimitiveTypes.Int64},
		{Name: "team", Type: arrow.PrimitiveTypes.Uint32},
	}, nil)
)

func teamSchema(lineupSize int) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: ColTeamID, Type: arrow.PrimitiveTypes.Int64},
		{Name: "slots", Type: arrow.FixedSizeListOf(int32(lineupSize), arrow.PrimitiveTypes.Uint8)},
		{Name: ColCaptain, Type: arrow.PrimitiveTypes.Uint8},
		{Name: ColViceCaptain, Type: arrow.PrimitiveTypes.Uint8},
	}, nil)
}

// Partition is one match's entries of one engine partition, laid out for ranking, plus
// the state of the last cycle. See doc.go for the layout and its invariants.
type Partition struct {
	cfg        Config
	workers    int
	lineupSize int
	players    []int32 // slot -> player id

	// Entries, ordered by (contest_id, entry_id), in Arrow batches of cfg.BatchRows rows.
	batches []arrow.RecordBatch
	entryID [][]int64 // per batch, views of the Arrow buffers
	userID  [][]int64
	team    [][]uint32
	shift   uint // BatchRows is a power of two: batch = i >> shift
	mask    int

	// Teams: one row per distinct team_id.
	teams    arrow.RecordBatch
	teamID   []int64
	teamSlot []uint8 // lineupSize sorted slots per team
	captain  []uint8
	vice     []uint8

	// Contests, ascending by contest_id; contest c holds entries [start[c], start[c+1])
	// and pages [pageStart[c], pageStart[c+1]).
	contestID []int64
	start     []uint32
	pageStart []uint32
	units     []unit // non-mega work units, contiguous contest ranges
	mega      []int  // contests ranked by all workers together

	st cycleState
}

// unit is a run of contests [lo, hi) ranked by one worker.
type unit struct{ lo, hi int }

// Build validates entry ids and lays the entries out for ranking. The Builder must not
// be used afterwards.
func (b *Builder) Build(cfg Config) (*Partition, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := len(b.entryID)
	if n >= 1<<31 {
		return nil, fmt.Errorf("partition holds %d entries, at most 2^31-1", n)
	}
	if dup, ok := duplicateID(b.entryID); ok {
		i := slices.Index(b.entryID, dup)
		return nil, &EntryError{EntryID: dup, ContestID: b.contestID[i], Reason: ErrDuplicateEntry.Error() + " (it appears more than once)"}
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	b.contestID, b.entryID, b.userID, b.team = sortColumns(b.contestID, b.entryID, b.userID, b.team, workers)
	if oldOf := renumberTeams(b.team, len(b.teamID)); !isIdentity(oldOf) {
		b.teamID = permuteTeams(b.teamID, 1, oldOf)
		b.teamSlot = permuteTeams(b.teamSlot, b.lineupSize, oldOf)
		b.captain = permuteTeams(b.captain, 1, oldOf)
		b.vice = permuteTeams(b.vice, 1, oldOf)
	}
	p := &Partition{
		cfg:        cfg,
		workers:    cfg.Workers,
		lineupSize: b.lineupSize,
		players:    slices.Clip(b.players),
		teamID:     fit(b.teamID),
		teamSlot:   fit(b.teamSlot),
		captain:    fit(b.captain),
		vice:       fit(b.vice),
	}
	if p.workers == 0 {
		p.workers = runtime.GOMAXPROCS(0)
	}
	p.layoutContests(b.contestID)
	p.layoutBatches(b.entryID, b.userID, b.team)
	p.layoutTeams()
	p.planWork()
	p.st.init(p)
	*b = Builder{}
	return p, nil
}

// fit returns v in an array of its length where the one it has is over an eighth
// larger: the team tables grow by doubling while entries are added, and a partition
// keeps them for its life (up to half of their room unused: ~90 MB at 5.6M entries).
func fit[T any](v []T) []T {
	if cap(v)-len(v) > len(v)/8 {
		return slices.Clone(v)
	}
	return slices.Clip(v)
}

func isIdentity(perm []uint32) bool {
	for i, p := range perm {
		if p != uint32(i) {
			return false
		}
	}
	return true
}

func sortedByContestEntry(contest, entry []int64) bool {
	for i := 1; i < len(contest); i++ {
		if contest[i] < contest[i-1] || (contest[i] == contest[i-1] && entry[i] <= entry[i-1]) {
			return false
		}
	}
	return true
}

func gather[T any](src []T, perm []uint32) []T {
	dst := make([]T, len(src))
	for i, p := range perm {
		dst[i] = src[p]
	}
	return dst
}

// duplicateID returns an id that appears more than once. Dense id ranges use a bitset;
// sparse ones a sorted copy.
func duplicateID(ids []int64) (int64, bool) {
	if len(ids) < 2 {
		return 0, false
	}
	lo, hi := slices.Min(ids), slices.Max(ids)
	if span := uint64(hi) - uint64(lo); span/64 < uint64(len(ids)) {
		seen := make([]uint64, span/64+1)
		for _, id := range ids {
			d := uint64(id) - uint64(lo)
			w, bit := d>>6, uint64(1)<<(d&63)
			if seen[w]&bit != 0 {
				return id, true
			}
			seen[w] |= bit
		}
		return 0, false
	}
	// A radix sort of the ids' offsets from lo, over the bits in which they differ (a
	// comparison sort took ~0.6 s of CPU per 5.6M entries in contest groups).
	s := make([]uint64, len(ids))
	for i, id := range ids {
		s[i] = uint64(id) - uint64(lo)
	}
	keyBits := bits.Len64(uint64(hi) - uint64(lo))
	var hist [1 << maxDigitBits]uint32
	tmp := make([]uint64, len(s))
	for shift := 0; shift < keyBits; shift += maxDigitBits {
		radixPass(s, tmp, 0, uint(shift), 1<<maxDigitBits-1, hist[:])
		s, tmp = tmp, s
	}
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			return int64(s[i] + uint64(lo)), true
		}
	}
	return 0, false
}

func (p *Partition) layoutContests(contest []int64) {
	n := len(contest)
	for i := 0; i < n; i++ {
		if i == 0 || contest[i] != contest[i-1] {
			p.contestID = append(p.contestID, contest[i])
			p.start = append(p.start, uint32(i))
		}
	}
	p.start = append(p.start, uint32(n))
	p.layoutPages()
}

// layoutPages numbers the pages of the contests laid out in contestID and start.
func (p *Partition) layoutPages() {
	p.pageStart = make([]uint32, len(p.contestID)+1)
	for c := range p.contestID {
		size := int(p.start[c+1] - p.start[c])
		p.pageStart[c+1] = p.pageStart[c] + uint32((size+p.cfg.PageSize-1)/p.cfg.PageSize)
	}
}

func (p *Partition) layoutBatches(entryID, userID []int64, team []uint32) {
	rows := 1
	for rows < p.cfg.BatchRows {
		rows <<= 1
	}
	p.shift = uint(0)
	for 1<<p.shift < rows {
		p.shift++
	}
	p.mask = rows - 1
	for a := 0; a < len(entryID); a += rows {
		b := min(a+rows, len(entryID))
		e, u, t := entryID[a:b:b], userID[a:b:b], team[a:b:b]
		cols := []arrow.Array{int64Array(e), int64Array(u), uint32Array(t)}
		p.batches = append(p.batches, array.NewRecordBatch(partitionEntrySchema, cols, int64(b-a)))
		p.entryID = append(p.entryID, e)
		p.userID = append(p.userID, u)
		p.team = append(p.team, t)
	}
}

func (p *Partition) layoutTeams() {
	nt := len(p.teamID)
	width := max(1, p.lineupSize) // an empty partition has no lineup size yet
	slots := array.NewData(arrow.PrimitiveTypes.Uint8, nt*p.lineupSize,
		[]*memory.Buffer{nil, memory.NewBufferBytes(p.teamSlot)}, nil, 0, 0)
	list := array.NewData(arrow.FixedSizeListOf(int32(width), arrow.PrimitiveTypes.Uint8), nt,
		[]*memory.Buffer{nil}, []arrow.ArrayData{slots}, 0, 0)
	cols := []arrow.Array{
		int64Array(p.teamID),
		array.NewFixedSizeListData(list),
		array.NewUint8Data(array.NewData(arrow.PrimitiveTypes.Uint8, nt, []*memory.Buffer{nil, memory.NewBufferBytes(p.captain)}, nil, 0, 0)),
		array.NewUint8Data(array.NewData(arrow.PrimitiveTypes.Uint8, nt, []*memory.Buffer{nil, memory.NewBufferBytes(p.vice)}, nil, 0, 0)),
	}
	p.teams = array.NewRecordBatch(teamSchema(width), cols, int64(nt))
}

func int64Array(v []int64) arrow.Array {
	return array.NewInt64Data(array.NewData(arrow.PrimitiveTypes.Int64, len(v),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(v))}, nil, 0, 0))
}

func uint32Array(v []uint32) arrow.Array {
	return array.NewUint32Data(array.NewData(arrow.PrimitiveTypes.Uint32, len(v),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Uint32Traits.CastToBytes(v))}, nil, 0, 0))
}

// planWork splits contests into mega contests, ranked by all workers together, and
// units of whole smaller contests, each ranked by one worker.
func (p *Partition) planWork() {
	n := p.NumEntries()
	megaMin := max(1<<16, n/(4*p.workers))
	if p.cfg.MegaContest > 0 {
		megaMin = p.cfg.MegaContest
	}
	if p.workers == 1 {
		megaMin = n + 1
	}
	target := max(4096, n/(p.workers*16))
	lo, size := 0, 0
	for c := range p.contestID {
		s := p.contestSize(c)
		if s >= megaMin {
			if c > lo {
				p.units = append(p.units, unit{lo, c})
			}
			p.mega = append(p.mega, c)
			lo, size = c+1, 0
			continue
		}
		if size += s; size >= target {
			p.units = append(p.units, unit{lo, c + 1})
			lo, size = c+1, 0
		}
	}
	if lo < len(p.contestID) {
		p.units = append(p.units, unit{lo, len(p.contestID)})
	}
}

func (p *Partition) contestSize(c int) int { return int(p.start[c+1] - p.start[c]) }

// NumEntries is the number of entries in the partition.
func (p *Partition) NumEntries() int { return int(p.start[len(p.start)-1]) }

// NumContests is the number of contests.
func (p *Partition) NumContests() int { return len(p.contestID) }

// NumTeams is the number of distinct teams.
func (p *Partition) NumTeams() int { return len(p.teamID) }

// NumPages is the number of stored leaderboard pages over all contests.
func (p *Partition) NumPages() int { return int(p.pageStart[len(p.pageStart)-1]) }

// PageSize is the number of entries per page.
func (p *Partition) PageSize() int { return p.cfg.PageSize }

// LineupSize is the number of players in every lineup.
func (p *Partition) LineupSize() int { return p.lineupSize }

// Players returns the match's player ids by slot.
func (p *Partition) Players() []int32 { return p.players }

// Batches returns the Arrow batches holding the entries in (contest_id, entry_id) order.
func (p *Partition) Batches() []arrow.RecordBatch { return p.batches }

// Teams returns the Arrow batch of distinct teams and their lineup slots.
func (p *Partition) Teams() arrow.RecordBatch { return p.teams }

// Contest describes contest c (0 <= c < NumContests).
type Contest struct {
	ID         int64
	Start, End int // entry indices [Start, End)
	FirstPage  int // global index of the contest's first page
	Pages      int
}

// Contest returns contest c.
func (p *Partition) Contest(c int) Contest {
	return Contest{
		ID: p.contestID[c], Start: int(p.start[c]), End: int(p.start[c+1]),
		FirstPage: int(p.pageStart[c]), Pages: int(p.pageStart[c+1] - p.pageStart[c]),
	}
}

// ContestID returns the contest_id of contest c: Contest(c).ID without the rest.
func (p *Partition) ContestID(c int) int64 { return p.contestID[c] }

// FindContest returns the index of a contest id.
func (p *Partition) FindContest(id int64) (int, bool) {
	return slices.BinarySearch(p.contestID, id)
}

// EntryID returns the entry_id of entry i.
func (p *Partition) EntryID(i int) int64 { return p.entryID[i>>p.shift][i&p.mask] }

// UserID returns the user_id of entry i.
func (p *Partition) UserID(i int) int64 { return p.userID[i>>p.shift][i&p.mask] }

// TeamID returns the team_id of entry i.
func (p *Partition) TeamID(i int) int64 { return p.teamID[p.teamOf(i)] }

func (p *Partition) teamOf(i int) uint32 { return p.team[i>>p.shift][i&p.mask] }

// GatherIDs writes the entry_id, user_id and team_id of entries ord (entry indices, such
// as a page of Ordered) into entry, user and team, each at least len(ord) long. In
// display order these are random reads over a mega contest's columns: done in loops
// of nothing else, many are in flight at once.
func (p *Partition) GatherIDs(ord []uint32, entry, user, team []int64) {
	entry, user, team = entry[:len(ord)], user[:len(ord)], team[:len(ord)]
	for k, i := range ord {
		b, o := i>>p.shift, int(i)&p.mask
		entry[k] = p.entryID[b][o]
		user[k] = p.userID[b][o]
		team[k] = int64(p.team[b][o])
	}
	for k, t := range team {
		team[k] = p.teamID[t]
	}
}

// FindEntry returns the index of an entry by contest index and entry_id.
func (p *Partition) FindEntry(c int, entryID int64) (int, bool) {
	lo, hi := int(p.start[c]), int(p.start[c+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p.EntryID(m) < entryID {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < int(p.start[c+1]) && p.EntryID(lo) == entryID
}

// Lineup appends entry i's players to dst and returns them with its captain and
// vice-captain (player ids).
func (p *Partition) Lineup(i int, dst []int32) (players []int32, captain, vice int32) {
	return p.TeamLineup(int(p.teamOf(i)), dst)
}

// TeamIndex returns the row of entry i's team in the partition's team table (0 <= t <
// NumTeams): entries that share a team_id share it, so a writer can encode each team's
// lineup once (TeamLineup) and look it up by this row.
func (p *Partition) TeamIndex(i int) int { return int(p.teamOf(i)) }

// TeamIDAt returns the team_id of row t of the team table.
func (p *Partition) TeamIDAt(t int) int64 { return p.teamID[t] }

// TeamSlots returns team row t's lineup as slots of Players (ascending: TeamLineup's
// order), its captain's and its vice-captain's: the partition's own memory, read only.
func (p *Partition) TeamSlots(t int) (slots []uint8, captain, vice uint8) {
	return p.teamSlot[t*p.lineupSize : (t+1)*p.lineupSize : (t+1)*p.lineupSize], p.captain[t], p.vice[t]
}

// TeamLineup appends the players of row t of the team table to dst and returns them
// with its captain and vice-captain (player ids): Lineup of its entries.
func (p *Partition) TeamLineup(t int, dst []int32) (players []int32, captain, vice int32) {
	for _, s := range p.teamSlot[t*p.lineupSize : (t+1)*p.lineupSize] {
		dst = append(dst, p.players[s])
	}
	return dst, p.players[p.captain[t]], p.players[p.vice[t]]
}

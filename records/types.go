package records

import "fmt"

// Match states.
const (
	StateScheduled = "scheduled"
	StateLive      = "live"
	StateCompleted = "completed"
)

// Match is the SetMatch record, a match's commit: its state and the last cycle every
// entries partition holding it has written (the visible cycle), with the totals of that
// cycle and those partitions. One writer: the committer (the coordinator in a cluster, the
// node itself when standalone), after the partitions' own records (MatchPart, contests).
type Match struct {
	ID       int64
	State    string
	Cycle    int64 // the visible cycle; 0 before the first
	AsOf     int64 // epoch ms of that cycle's snapshot
	Entries  int64
	Contests int64
	Parts    []int32 // the entries partitions holding the match, ascending
}

func (m Match) Record() Record {
	ids := make([]int64, len(m.Parts))
	for i, p := range m.Parts {
		ids[i] = int64(p)
	}
	return Record{Set: SetMatch, Key: IDKey(m.ID), Bins: Bins{
		"id": m.ID, "state": m.State, "cycle": m.Cycle, "as_of": m.AsOf,
		"entries": m.Entries, "contests": m.Contests, "parts": EncodeIDs(ids),
	}}
}

// MatchFrom decodes a SetMatch record.
func MatchFrom[F Fields](b F) (Match, error) {
	m := Match{ID: b.Int("id"), State: b.Str("state"), Cycle: b.Int("cycle"), AsOf: b.Int("as_of"),
		Entries: b.Int("entries"), Contests: b.Int("contests")}
	var err error
	m.Parts, err = DecodeParts(b.Bytes("parts"))
	return m, err
}

// DecodeParts unpacks a list of partitions packed as EncodeIDs.
func DecodeParts(b []byte) ([]int32, error) {
	ids, err := DecodeIDs(b)
	if err != nil {
		return nil, err
	}
	parts := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id > 1<<31-1 {
			return nil, fmt.Errorf("partition %d: %w", id, ErrCorrupt)
		}
		parts[i] = int32(id)
	}
	return parts, nil
}

// MatchPart is the SetMatchPart record: one entries partition's share of a match, written
// by that partition's writer before its contests of the same cycle, so a reader of a
// contest at cycle N finds the points of N in Log. Chunks is the number of its SetContests
// records.
type MatchPart struct {
	Match    int64
	Part     int32
	State    string
	Cycle    int64 // the last cycle this partition's contests of the match were written at
	AsOf     int64
	Entries  int64
	Contests int64
	Chunks   int64
	Log      PointsLog
}

func (m MatchPart) Record() Record {
	return Record{Set: SetMatchPart, Key: MatchPartKey(m.Match, m.Part), Bins: Bins{
		"match": m.Match, "part": int64(m.Part), "state": m.State, "cycle": m.Cycle, "as_of": m.AsOf,
		"entries": m.Entries, "contests": m.Contests, "chunks": m.Chunks, "log": EncodePointsLog(m.Log),
	}}
}

// MatchPartFrom decodes a SetMatchPart record.
func MatchPartFrom[F Fields](b F) (MatchPart, error) {
	l, err := DecodePointsLog(b.Bytes("log"))
	return MatchPart{Match: b.Int("match"), Part: int32(b.Int("part")), State: b.Str("state"), Cycle: b.Int("cycle"),
		AsOf: b.Int("as_of"), Entries: b.Int("entries"), Contests: b.Int("contests"), Chunks: b.Int("chunks"), Log: l}, err
}

// Contest is the SetContest record: one contest's standings at the cycle it last changed.
// Its first page of rows is inline (most contests have one page); pages 1.. are SetPage
// records written at the same cycle or earlier (unchanged since).
type Contest struct {
	ID       int64
	Match    int64
	Cycle    int64
	AsOf     int64
	Total    int64 // entries
	PageSize int64
	Hist     []Bucket // distinct points, descending, with counts
	First    []Row    // page 0
}

// Pages is the number of pages of the contest.
func (c Contest) Pages() int64 { return (c.Total + c.PageSize - 1) / c.PageSize }

func (c Contest) Record() Record {
	return Record{Set: SetContest, Key: IDKey(c.ID), Bins: Bins{
		"id": c.ID, "match": c.Match, "cycle": c.Cycle, "as_of": c.AsOf, "total": c.Total,
		"page_size": c.PageSize, "hist": EncodeHist(c.Hist), "rows": EncodeRows(c.First),
	}}
}

// ContestFrom decodes a SetContest record.
func ContestFrom[F Fields](b F) (Contest, error) {
	c := Contest{ID: b.Int("id"), Match: b.Int("match"), Cycle: b.Int("cycle"), AsOf: b.Int("as_of"),
		Total: b.Int("total"), PageSize: b.Int("page_size")}
	var err1, err2 error
	c.Hist, err1 = DecodeHist(b.Bytes("hist"))
	c.First, err2 = DecodeRows(b.Bytes("rows"))
	if err1 != nil {
		return c, err1
	}
	if c.PageSize <= 0 {
		return c, fmt.Errorf("contest %d: page size %d: %w", c.ID, c.PageSize, ErrCorrupt)
	}
	return c, err2
}

// Page is a SetPage record: rows of page No (>= 1) of a contest, as of Cycle.
type Page struct {
	Contest int64
	No      int
	Cycle   int64
	Rows    []Row
}

func (p Page) Record() Record {
	return Record{Set: SetPage, Key: PageKey(p.Contest, p.No), Bins: Bins{
		"contest": p.Contest, "page": int64(p.No), "cycle": p.Cycle, "rows": EncodeRows(p.Rows),
	}}
}

// PageFrom decodes a SetPage record.
func PageFrom[F Fields](b F) (Page, error) {
	rows, err := DecodeRows(b.Bytes("rows"))
	return Page{Contest: b.Int("contest"), No: int(b.Int("page")), Cycle: b.Int("cycle"), Rows: rows}, err
}

// Entry is the SetEntry record: what an entry is, not where it stands (which changes
// every cycle and is read from its contest record instead).
type Entry struct {
	ID, Contest, Match, User, Team int64
	Part                           int32 // the entries partition of its contest
	Lineup
}

func (e Entry) Record() Record {
	w := writer{b: make([]byte, 0, lineupSize(e.Lineup))} // no regrowth: a cold start encodes millions
	w.lineup(e.Lineup)
	return Record{Set: SetEntry, Key: IDKey(e.ID), Bins: Bins{
		"id": e.ID, "contest": e.Contest, "match": e.Match, "part": int64(e.Part), "user": e.User, "team": e.Team, "lineup": w.b,
	}}
}

// EntryFrom decodes a SetEntry record.
func EntryFrom[F Fields](b F) (Entry, error) {
	l, err := DecodeLineup(b.Bytes("lineup"))
	return Entry{ID: b.Int("id"), Contest: b.Int("contest"), Match: b.Int("match"), Part: int32(b.Int("part")), User: b.Int("user"), Team: b.Int("team"), Lineup: l}, err
}

// EntryFromUnpacked is EntryFrom for a hot path: concrete calls keep u on the caller's
// stack (through the generic EntryFrom it escapes to the heap).
func EntryFromUnpacked(u *Unpacked) (Entry, error) {
	l, err := DecodeLineup(u.Bytes("lineup"))
	return Entry{ID: u.Int("id"), Contest: u.Int("contest"), Match: u.Int("match"), Part: int32(u.Int("part")), User: u.Int("user"), Team: u.Int("team"), Lineup: l}, err
}

// DecodeLineup unpacks the lineup bin of an entry record.
func DecodeLineup(b []byte) (Lineup, error) {
	r := reader{b: b}
	l := r.lineup()
	return l, r.done("lineup")
}

// User is the SetUser record: a user's entries of one match in one entries partition
// (its writer's: a user's entries in other partitions are in their own records).
//
// The record lists each entry's id and contest (the "ents" bin): what a user answer
// needs to read the entries' contests, and their entry records for their lineups. A
// record of a build before this form (its "entries" bin: each entry's id, contest, team
// and lineup, ~50 bytes an entry where "ents" takes ~7) still decodes, with Lined set.
type User struct {
	Match, User int64
	Part        int32
	// Entries: ID and Contest, and Match, User and Part from the record; Team and
	// Lineup only when Lined.
	Entries []Entry
	// Lined: the record is of the older form, its entries' Team and Lineup decoded
	// from it. A record written by this build has them in its entries' entry records.
	Lined bool
}

func (u User) Record() Record {
	w := writer{b: make([]byte, 0, u.entsSize())}
	w.userEnts(u.Entries)
	return Record{Set: SetUser, Key: UserKey(u.Match, u.User, u.Part), Bins: Bins{"match": u.Match, "user": u.User, "part": int64(u.Part), "ents": w.b}}
}

// entsSize is the length of the user's packed ents bin.
func (u User) entsSize() int {
	size := uvarintLen(uint64(len(u.Entries)))
	for _, e := range u.Entries {
		size += uvarintLen(zigzag(e.ID)) + uvarintLen(zigzag(e.Contest))
	}
	return size
}

// userEnts appends a user's ents bin: the count, then each entry's id and contest.
func (w *writer) userEnts(es []Entry) {
	w.u(uint64(len(es)))
	for _, e := range es {
		w.i(e.ID)
		w.i(e.Contest)
	}
}

// UserFrom decodes a SetUser record, of either form (User.Lined).
func UserFrom[F Fields](b F) (User, error) {
	u := User{Match: b.Int("match"), User: b.Int("user"), Part: int32(b.Int("part"))}
	ents := b.Bytes("ents")
	u.Lined = ents == nil
	if u.Lined {
		ents = b.Bytes("entries") // the older form
	}
	r := reader{b: ents}
	u.Entries = make([]Entry, r.n())
	for k := range u.Entries {
		e := &u.Entries[k]
		e.ID, e.Contest = r.i(), r.i()
		e.Match, e.User, e.Part = u.Match, u.User, u.Part
		if u.Lined {
			e.Team = r.i()
			e.Lineup = r.lineup()
		}
	}
	return u, r.done("user entries")
}

// ContestSize is a contest and its number of entries.
type ContestSize struct{ ID, Size int64 }

// ContestChunk is a SetContests record: the contests of a match in one entries
// partition ordered by size descending (then id), ContestsPerChunk per record. A reader
// of the whole match merges the partitions' lists (Match.Parts).
type ContestChunk struct {
	Match    int64
	Part     int32
	Chunk    int
	Total    int64 // contests of the match in the partition (every chunk carries it)
	Contests []ContestSize
}

func (c ContestChunk) Record() Record {
	var w writer
	w.u(uint64(len(c.Contests)))
	for _, cs := range c.Contests {
		w.i(cs.ID)
		w.i(cs.Size)
	}
	return Record{Set: SetContests, Key: ChunkKey(c.Match, c.Part, c.Chunk), Bins: Bins{
		"match": c.Match, "part": int64(c.Part), "chunk": int64(c.Chunk), "total": c.Total, "contests": w.b}}
}

// ContestChunkFrom decodes a SetContests record.
func ContestChunkFrom[F Fields](b F) (ContestChunk, error) {
	c := ContestChunk{Match: b.Int("match"), Part: int32(b.Int("part")), Chunk: int(b.Int("chunk")), Total: b.Int("total")}
	r := reader{b: b.Bytes("contests")}
	c.Contests = make([]ContestSize, r.n())
	for k := range c.Contests {
		c.Contests[k] = ContestSize{r.i(), r.i()}
	}
	return c, r.done("contests")
}

// Matches is the SetMatches record: every match the store knows.
type Matches struct{ IDs []int64 }

func (m Matches) Record() Record {
	return Record{Set: SetMatches, Key: MatchesKey, Bins: Bins{"ids": EncodeIDs(m.IDs)}}
}

// MatchesFrom decodes the SetMatches record.
func MatchesFrom[F Fields](b F) (Matches, error) {
	ids, err := DecodeIDs(b.Bytes("ids"))
	return Matches{IDs: ids}, err
}

package records

import (
	"encoding/binary"
	"fmt"
	"slices"
	"unsafe"
)

// The first writes' packers. A cold start writes every entry record and every user
// record once (8.4M records at 5.6M entries); Entry.Pack and User.Pack take a record
// whole (an Entry with its Lineup slice, a User with a slice of them) and allocate its
// bytes alone. These take what a writer has in its columns instead: the scalar bins,
// and a lineup already encoded (AppendLineup), so a team's lineup shared by several
// entries, and by the entry and user records of each, is encoded once; and they take
// their bytes from an Arena, one allocation for many records. The bytes are those of
// Entry.Pack and User.Pack (TestFastPackers).

// AppendLineup appends the encoded lineup (the lineup bin of an entry record, and the
// lineup of each entry of a user record) of players, captain and vice-captain.
func AppendLineup(dst []byte, players []int32, captain, vice int32) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(players)))
	for _, p := range players {
		dst = binary.AppendVarint(dst, int64(p))
	}
	dst = binary.AppendVarint(dst, int64(captain))
	return binary.AppendVarint(dst, int64(vice))
}

// LineupCodes encodes the lineups of one dictionary of players (a partition's, by
// slot) as AppendLineup does, each player's varint computed once (Reset): a lineup is
// then a few bytes copied per player. A first cycle encodes every team's lineup of the
// match (~0.1 µs a team byte by byte). The zero value holds no player.
type LineupCodes struct {
	code []uint64 // slot -> its player's varint bytes, little-endian, in the low n[slot]
	n    []uint8
}

// Reset takes players (slot -> player id) as the dictionary.
func (c *LineupCodes) Reset(players []int32) {
	c.code, c.n = c.code[:0], c.n[:0]
	var buf [binary.MaxVarintLen64]byte
	for _, p := range players {
		b := binary.AppendVarint(buf[:0], int64(p)) // at most 5 bytes: an int32
		var w [8]byte
		copy(w[:], b)
		c.code, c.n = append(c.code, binary.LittleEndian.Uint64(w[:])), append(c.n, uint8(len(b)))
	}
}

// Append appends AppendLineup's bytes of the lineup of the players in slots, captain
// and vice (slots of the dictionary Reset took). Like append, it may write anywhere in
// dst's spare capacity.
func (c *LineupCodes) Append(dst []byte, slots []uint8, captain, vice uint8) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(slots)))
	// Each code is stored as 8 bytes and the position moved by its length (at most 5):
	// room for 8 per player, captain and vice-captain covers the last store.
	pos := len(dst)
	dst = slices.Grow(dst, 8*(len(slots)+2))
	buf := dst[:cap(dst)]
	for _, s := range slots {
		binary.LittleEndian.PutUint64(buf[pos:], c.code[s])
		pos += int(c.n[s])
	}
	binary.LittleEndian.PutUint64(buf[pos:], c.code[captain])
	pos += int(c.n[captain])
	binary.LittleEndian.PutUint64(buf[pos:], c.code[vice])
	pos += int(c.n[vice])
	return buf[:pos]
}

// Arena hands out the bytes of packed records from chunks it allocates, so the records
// of one writer's task cost one allocation per chunk, not one each. Records share their
// chunk: a store that keeps one record's bytes keeps its chunk alive (the embedded store
// copies them into its slabs). Reset hands the same chunks out again, so a writer that
// reuses an Arena allocates nothing once its chunks hold a task's records: it may do so
// only once nothing holds the records packed before (a worker's store contract: Put
// keeps nothing of them after it returns). The zero value is ready; an Arena is not safe
// for concurrent use.
type Arena struct {
	buf   []byte
	chunk int // the size of the next chunk; 0: arenaChunk
	// The chunks allocated, in the order they are used: first, then more (a task whose
	// records fit one chunk costs one allocation); buf is chunk cur.
	first []byte
	more  [][]byte
	cur   int
}

// arenaChunk is an Arena's default chunk: ~1000 entry records.
const arenaChunk = 64 << 10

// NewArena returns an Arena whose first chunk holds size bytes (the records a task
// will pack, when known); later chunks are the default size.
func NewArena(size int) *Arena { return &Arena{chunk: size} }

// Reset makes the chunks' bytes free to hand out again, keeping them: every record packed
// into a before is overwritten by the next ones.
func (a *Arena) Reset() {
	a.cur = 0
	a.buf = a.first[:0]
}

// Size is the bytes of a's chunks.
func (a *Arena) Size() int {
	n := cap(a.first)
	for _, c := range a.more {
		n += cap(c)
	}
	return n
}

// chunks is the number of chunks allocated.
func (a *Arena) chunks() int {
	if a.first == nil {
		return 0
	}
	return 1 + len(a.more)
}

// take returns n bytes of room: a slice of length 0 and capacity n (appending past it
// would reallocate, never overwrite the next record).
func (a *Arena) take(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.next(n)
	}
	at := len(a.buf)
	a.buf = a.buf[:at+n]
	return a.buf[at : at : at+n]
}

// next moves buf to the next chunk with room for n bytes: the next one kept, or a new
// one in its place when it is too small (a record larger than the chunks: a mega
// contest's histogram).
func (a *Arena) next(n int) {
	if a.chunks() > 0 {
		a.cur++ // buf is chunk cur, without room for n: the next
	}
	if a.cur < a.chunks() && cap(a.more[a.cur-1]) >= n {
		a.buf = a.more[a.cur-1][:0]
		return
	}
	size := a.chunk
	if size <= 0 {
		size = arenaChunk
	}
	a.chunk = 0
	a.buf = make([]byte, 0, max(size, n))
	switch {
	case a.cur == 0:
		a.first = a.buf
	case a.cur < a.chunks():
		a.more[a.cur-1] = a.buf
	default:
		a.more = append(a.more, a.buf)
	}
}

// EntryHead is an entry record's bins but its lineup.
type EntryHead struct {
	ID, Contest, Match, User, Team int64
	Part                           int32
}

// EntrySize is the size of the packed entry record of h with an encoded lineup of
// lineupLen bytes.
func EntrySize(h EntryHead, lineupLen int) int {
	return uvarintLen(7) + intSize(h.Contest) + intSize(h.ID) + bytesSize(lineupLen) + intSize(h.Match) +
		intSize(int64(h.Part)) + intSize(h.Team) + intSize(h.User)
}

// Entry packs the entry record of h with lineup (AppendLineup's bytes) into a's memory:
// the bytes of Entry.Pack.
func (a *Arena) Entry(h EntryHead, lineup []byte) Packed {
	p := packer{b: a.take(EntrySize(h, len(lineup)))}
	p.b = append(p.b, 7) // the bin count
	p.int(codeContest, h.Contest)
	p.int(codeID, h.ID)
	p.bytesHead(codeLineup, len(lineup))
	p.b = append(p.b, lineup...)
	p.int(codeMatch, h.Match)
	p.int(codePart, int64(h.Part))
	p.int(codeTeam, h.Team)
	p.int(codeUser, h.User)
	return p.b
}

// UserEncoder encodes a user record's ents bin one entry at a time, as User.Pack does
// from User.Entries: the caller adds them in the record's order (contest, then entry
// id, ascending). The zero value is ready; Reset reuses its buffer.
type UserEncoder struct {
	n    int
	body []byte // the entries after the count
}

// Reset empties the encoder, keeping its buffer.
func (e *UserEncoder) Reset() { e.n, e.body = 0, e.body[:0] }

// Add appends an entry: its id and contest.
func (e *UserEncoder) Add(id, contest int64) {
	e.body = appendUvarint(appendUvarint(e.body, zigzag(id)), zigzag(contest)) // binary.AppendVarint's bytes
	e.n++
}

// Len is the number of entries added.
func (e *UserEncoder) Len() int { return e.n }

// User packs the user record of the entries in e into a's memory: the bytes of
// User.Pack.
func (a *Arena) User(match, user int64, part int32, e *UserEncoder) Packed {
	el := uvarintLen(uint64(e.n)) + len(e.body)
	p := packer{b: a.take(uvarintLen(4) + bytesSize(el) + intSize(match) + intSize(int64(part)) + intSize(user))}
	p.b = append(p.b, 4) // the bin count
	p.bytesHead(codeEnts, el)
	p.b = binary.AppendUvarint(p.b, uint64(e.n))
	p.b = append(p.b, e.body...)
	p.int(codeMatch, match)
	p.int(codePart, int64(part))
	p.int(codeUser, user)
	return p.b
}

// Keys builds records' keys (IDKey's, UserKey's) as substrings of one string: one
// allocation for a batch's keys, not one per key. The zero value is ready.
type Keys struct {
	b   []byte
	end []int
}

// ID adds IDKey(id).
func (k *Keys) ID(id int64) {
	k.b = appendDec(k.b, id)
	k.end = append(k.end, len(k.b))
}

// User adds UserKey(match, user, part).
func (k *Keys) User(match, user int64, part int32) {
	k.b = appendKey(k.b, match, user, int64(part))
	k.end = append(k.end, len(k.b))
}

// Set gives recs the keys added since the last Set, in order (one each), and empties k.
func (k *Keys) Set(recs []Record) { k.set(recs, string(k.b)) }

// SetShared is Set without a copy: the keys are substrings of k's own buffer, which
// the keys added after the next Set or SetShared overwrite. For records that nothing
// holds by then (a worker's records, once the store's Put of them returned: it keeps
// no key); a key that must outlive them is cloned (strings.Clone).
func (k *Keys) SetShared(recs []Record) {
	k.set(recs, unsafe.String(unsafe.SliceData(k.b), len(k.b)))
}

// Reset drops the keys added since the last Set, keeping k's memory.
func (k *Keys) Reset() { k.b, k.end = k.b[:0], k.end[:0] }

// Size is the bytes k holds for keys: its buffer's and their ends' capacity.
func (k *Keys) Size() int { return cap(k.b) + 8*cap(k.end) }

func (k *Keys) set(recs []Record, s string) {
	if len(recs) != len(k.end) {
		panic(fmt.Sprintf("BUG: records: %d keys for %d records", len(k.end), len(recs)))
	}
	at := 0
	for j, end := range k.end {
		recs[j].Key = s[at:end]
		at = end
	}
	k.b, k.end = k.b[:0], k.end[:0]
}

// AddRow is Add of Row{rank, entry, user, team, points} with the same bytes, for a
// writer's hot loop: a moved cycle encodes every row of the pages that changed (~5.6M
// at 5.6M entries), and Add's five binary.Append*varint calls loop over each byte.
func (e *RowsEncoder) AddRow(rank, points, entry, user, team int64) {
	b := e.body
	if e.n == 0 {
		b = appendUvarint(b, uint64(rank))
		b = appendUvarint(b, zigzag(points))
	} else {
		b = appendUvarint(b, uint64(rank-e.prevRank))
		b = appendUvarint(b, uint64(e.prevPts-points))
	}
	b = appendUvarint(b, zigzag(entry))
	b = appendUvarint(b, zigzag(user))
	e.body = appendUvarint(b, zigzag(team))
	e.prevRank, e.prevPts = rank, points
	e.n++
}

// appendUvarint is binary.AppendUvarint with the lengths of a page's values (ids below
// 2^27, deltas of ranks and points) written without a loop.
func appendUvarint(b []byte, x uint64) []byte {
	switch {
	case x < 1<<7:
		return append(b, byte(x))
	case x < 1<<14:
		return append(b, byte(x)|0x80, byte(x>>7))
	case x < 1<<21:
		return append(b, byte(x)|0x80, byte(x>>7)|0x80, byte(x>>14))
	case x < 1<<28:
		return append(b, byte(x)|0x80, byte(x>>7)|0x80, byte(x>>14)|0x80, byte(x>>21))
	}
	return binary.AppendUvarint(b, x)
}

// Page is PackPage into a's memory: the same bytes.
func (a *Arena) Page(contest int64, page int, cycle int64, rows *RowsEncoder) Packed {
	rl := rows.Len()
	return appendPage(a.take(pageSize(contest, page, cycle, rl)), contest, page, cycle, rows, rl)
}

// Contest is PackContest into a's memory: the same bytes.
func (a *Arena) Contest(h ContestHead, hist *HistEncoder, rows *RowsEncoder) Packed {
	hl, rl := hist.Len(), rows.Len()
	return appendContest(a.take(contestSize(h, hl, rl)), h, hist, hl, rows, rl)
}

// Page adds PageKey(contest, page).
func (k *Keys) Page(contest int64, page int) {
	k.b = appendKey(k.b, contest, int64(page))
	k.end = append(k.end, len(k.b))
}

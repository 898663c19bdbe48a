package records

import "strconv"

// Namespaces.
const (
	Live     = "live"     // in memory, TTL 1 h by default: ranks of matches being played
	Complete = "complete" // on disk, TTL 7 days by default: final standings
)

// Sets.
const (
	SetMatches   = "matches"  // key "all": the ids of every known match (the committer's)
	SetMatch     = "match"    // key match_id: the commit: state, visible cycle, totals, partitions holding it (the committer's)
	SetMatchPart = "mpart"    // key "match_id/part": one entries partition's share of a match: its cycle, counts, points log (the partition's writer's)
	SetContests  = "contests" // key "match_id/part/chunk": a partition's contest ids by size, ContestsPerChunk a record
	SetContest   = "contest"  // key contest_id: totals, points histogram, first page of rows
	SetPage      = "page"     // key "contest_id/page": rows of page >= 1
	SetEntry     = "entry"    // key entry_id: contest, partition, user, team, lineup
	SetUser      = "user"     // key "match_id/user_id/part": the user's entries of the match in one partition
)

// ContestsPerChunk is the number of contests in one SetContests record.
const ContestsPerChunk = 1000

// Bins holds a record's values: int64, string or []byte.
type Bins map[string]any

// Record is one store record.
type Record struct {
	Set  string
	Key  string
	Bins Bins
	// Packed, when not nil, holds the record's bins already packed by EncodeBins (or
	// PackContest, PackPage, Entry.Pack, User.Pack: the same bytes), and Bins is not
	// read: the hot record types are built so, without a map (packrec.go). A store
	// that keeps packed records keeps these bytes (PackWrite); one that writes bins one
	// by one unpacks them once (BinMap).
	Packed Packed
	Fence  Fence // the epoch and cycle of this write; zero = unfenced (see Fence)
	// KeepPrev asks the store to keep the stored record's PrevBins under their PrevName
	// bins, written with the new bins in one operation (versions.go).
	KeepPrev bool
	// IfChanged asks the store not to rewrite a stored record that already holds these
	// bins: when the stored record is live, carries a fence of this write's epoch and not
	// newer, and its bins equal this record's but for the fence bins' values
	// (Merge.Same), the store only refreshes its expiry, and the write counts as done.
	// Otherwise it is written as any other (every fence rule unchanged). For the records
	// a cycle rebuilds identical (a replay's first cycle, the TTL refresh); ignored on a
	// KeepPrev write, and by a store that does not keep packed records (Aerospike's sink
	// writes it as usual: the same result, no saving). In KeepPrev's padding: a Record
	// stays 88 bytes.
	IfChanged bool
	// trusted marks Packed as this package's packers' own output (trusted.go): Merge
	// writes it without reading its bins. Set only by this package; in KeepPrev's
	// padding, so that a Record stays 88 bytes.
	trusted uint32
}

// Key helpers: every key is a string.
func IDKey(id int64) string { return strconv.FormatInt(id, 10) }
func PageKey(contest int64, page int) string {
	var b [48]byte
	return string(appendKey(b[:0], contest, int64(page)))
}
func UserKey(match, user int64, part int32) string {
	var b [72]byte
	return string(appendKey(b[:0], match, user, int64(part)))
}
func ChunkKey(match int64, part int32, chunk int) string {
	var b [72]byte
	return string(appendKey(b[:0], match, int64(part), int64(chunk)))
}
func MatchPartKey(match int64, part int32) string {
	var b [48]byte
	return string(appendKey(b[:0], match, int64(part)))
}

// MatchesKey is the key of the SetMatches record.
const MatchesKey = "all"

// Int reads an int64 bin (0 when absent or of another type).
func (b Bins) Int(name string) int64 {
	v, _ := b[name].(int64)
	return v
}

// Str reads a string bin.
func (b Bins) Str(name string) string {
	v, _ := b[name].(string)
	return v
}

// Bytes reads a []byte bin.
func (b Bins) Bytes(name string) []byte {
	v, _ := b[name].([]byte)
	return v
}

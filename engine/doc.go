// Package engine ranks one partition of one match: it holds the partition's entries in
// Arrow columnar batches and, each cycle, turns a player-points snapshot into every
// entry's team points, the display order and competition rank of every contest, and
// the sets of entries and pages that changed since the previous cycle.
//
// The package is pure: no Kafka, store, HTTP, gossip or clock (pass Config.Now to time
// stages). Main types: Builder (validates entries, builds a Partition), Partition (the
// layout and the last cycle's results), Snapshot (player points), Stats.
//
// # Semantics (DESIGN.md)
//
// Team points = Σ lineup + captain (2x) + ½·vice-captain (1.5x), exact: player points are
// int64 centipoints, team points int32 units of 1/200 point (PointsScale). Rank = 1 + the
// number of entries in the same contest with strictly greater points ("1224"). Display
// order = points desc, entry_id asc. A page is PageSize consecutive display positions.
//
// # Layout
//
// Entries are sorted by (contest_id, entry_id) once, in Build, and numbered 0..N-1 in
// that order; every per-entry array below is indexed by that number. They may arrive in
// any order (layout.go): a parallel stable counting sort on contest_id groups them
// (per-worker counts, then per-worker scatters; from a span of 1Mi contest ids in two
// passes through 1024 buckets, so that the writes stay in cache), and only a contest
// whose rows did not arrive in entry_id order is sorted on its own; contest ids too
// sparse to count take a serial radix sort. Teams are then numbered in order of their first entry, so that a
// contest's teams lie together in the team tables that a cycle reads at random (with
// tens of millions of teams the tables exceed the cache). Builder.Append fingerprints,
// looks up and checks lineups and creates teams on all cores (append.go: new teams are
// sharded by team_id and numbered in order of their first row, as serially); only a
// row holding a player not yet in the match's dictionary, and the rows just after it,
// take the serial path.
//
//	entry batches (Arrow, BatchRows rows each, the last one shorter)
//	  entry_id  int64    unique in the partition
//	  user_id   int64
//	  team      uint32   row of the team batch
//
//	team batch (Arrow, one row per distinct team_id, in order of first entry; entries
//	sharing a team share it)
//	  team_id      int64
//	  slots        fixed_size_list<uint8>[L]  lineup as player slots, ascending, distinct
//	  captain      uint8  slot, in slots
//	  vice_captain uint8  slot, in slots, != captain
//
//	players    []int32   slot -> player_id (the match's dictionary, <= 256 players)
//	contestID  []int64   ascending; contest c holds entries [start[c], start[c+1])
//	pageStart  []uint32  contest c holds global pages [pageStart[c], pageStart[c+1])
//
// Cycle state (reused across cycles; nothing per entry is allocated per cycle):
//
//	teamPts []int32   per team: its points this cycle (units of 1/PointsScale)
//	team16  []uint16  per team: changed<<15 | rank of its points among the cycle's
//	                  distinct values (0 = most); dense[rank] = those points
//	team    []uint64  per team, only in a cycle with > 32768 distinct values:
//	                  key<<32 | changed<<31, key = MaxInt32 - points/quantum
//	order   []uint32  per display position: entry number (order[start[c]:start[c+1]])
//	pts     []int32   per display position: points (the rank is 1 + the first
//	                  position holding the same points)
//	changed []uint64  bitset of entries whose rank or points changed
//
// plus the previous cycle's order and pts. That is 8+8+4 bytes of entry batches and
// 4+4+4+4 of cycle state: 36 bytes per entry, plus ~30 bytes per team and 16 per
// contest (measured: ~46 bytes per entry in all). The randomly read team tables are
// advised for huge pages (internal/hugepage).
//
// # A cycle
//
//  1. team points: once per team, from the snapshot's points by slot (parallel), then
//     the dense ranks of the distinct values (a presence bitset and popcounts).
//  2. rank: contests are ranked independently. A contest packs each entry into a uint64
//     pair (key, changed flag, position within the contest); since positions follow
//     entry_id, a stable sort by key alone gives the display order. Contests of up to 48
//     entries use insertion sort, larger ones an LSD radix sort over only the key bits
//     that vary (dense ranks, or wide keys divided by the gcd of player points). Contests with no team-point change are not
//     sorted: their order and ranks carry over. Small contests are grouped into units
//     handed to workers; a mega contest (>= Config.MegaContest) is ranked by every worker:
//     parallel gather, parallel radix passes with per-worker histograms, and a parallel
//     walk in which each chunk finds its first rank by binary search.
//  3. changes: the changed-entry bitset and the changed pages become roaring bitmaps.
//
// A Run whose snapshot gives every player of the partition the points of the last Run,
// with no Derive since (an idle cycle: no points event, no entry change), repeats it:
// the results are kept, nothing is reported changed (Stats.Repeated), and it costs a
// look-up per player instead of the three stages above (~190-265 ms at 5.6M entries).
//
// # Deriving a partition (derive.go)
//
// Partition.Derive returns a new partition holding an old one's entries less some
// removed, plus some added (validated as Builder.Add does), laid out as Build would lay
// them out, without re-adding or re-sorting the rest: the added rows are sorted and
// merged, contest by contest, with the old columns (untouched runs of contests copied
// whole); teams an added entry names are looked up in the old team table, new teams
// appended, teams left without entries dropped. The old cycle state is carried over:
// each team's points (for the next cycle's changed flags) and, for every contest no
// entry left or joined, its order (entry numbers moved by the contest's shift) and
// points by position. The contests an entry left or joined are marked dirty: the next
// Run ranks them as a first cycle does (every entry and page of them changed), then
// clears the marks. So the next cycle costs, and reports changed, what a cycle of the
// old partition would have plus the changed contests.
//
// # Invariants
//
//   - Within a contest, position order == entry_id order; this is what makes a stable
//     key sort produce the tie order.
//   - A page changed iff some position on it holds another entry than in the previous
//     cycle, or an entry whose rank or points changed.
//   - Key order == points order (descending) and equal keys == equal points, in both key
//     tables: ranks are dense over the distinct values; wide keys divide points by their
//     gcd.
//   - A team's changed flag compares its points with its own points of the previous
//     cycle, never keys, which mean different things from one cycle to the next.
package engine

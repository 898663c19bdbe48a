package rankstore

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fantasy/leaderboard/records"
)

// The layout of a shard: pointer-free, so that the garbage collector scans nothing per
// record (a map of a Go object per record made the store's millions of pointers ~30% of
// a node's CPU in its first minute, docs/PERFORMANCE.md).
//
// Records are appended to slabs, large []byte (slabSize at most, unless a record is
// larger: it then gets a slab of its own). A record in a slab is
//
//	expires uint32 (little-endian) | gen uint16 | uvarint setField | uvarint len(key) |
//	uvarint len(bins) | set (literal sets only) | key | bins
//
// where expires is whole seconds after the namespace's base (table.base, its store's
// opening), a record's expiry rounded up to a second (as Aerospike keeps a void time in
// seconds; the record lives at most a second past its TTL), math.MaxUint32 for one that
// never expires: 6 bytes of header, not the 10 of an int64 of nanoseconds (~4% of an
// entry record's bytes),
// where setField codes the set: one of the project's sets (codedSets: entry, user, ...)
// is its index there and its name is not written (5 bytes less per entry record), any
// other is setLiteral + len(set) followed by its name.
//
// and its bytes are never written again once stored, but for its expiry: a write of the
// same bins (records.Record.IfChanged) refreshes it in place (table.refresh), under the
// shard's write lock. Slabs are memory outside the Go heap (offheap.go), reused once
// dropped: a reader is lent no slab bytes, it gets a copy made under the shard's read
// lock (GetPacked, Lookup; a Mutate function sees the stored bytes for its call only).
// A replaced or deleted record is garbage in its slab; each slab counts its
// live bytes. One with none left is dropped; one that falls under two thirds live (and
// is not the slab being filled) is compacted at the end of the operation (a Put batch, so
// that a batch that rewrites a slab's records whole drops it instead of copying them
// first): its live records are copied to the slab being filled and the slab is dropped,
// its block back to the namespace's heap for the next slab. Two slabs are filled at a time, one per
// class of records (slabClass): the contests and pages a cycle rewrites fill slabs of
// their own, so that the slabs they leave die whole, and the entry and user records,
// written once, are not copied again and again by compactions of slabs they share. Two thirds: scattered rewrites (4% of
// 200k records a cycle, BenchmarkEntryRewrites) leave 25 B of garbage per 119-byte
// record in steady state, against 45 at one half, for ~10% more CPU per Put.
//
// The index is an open-addressing table (linear probing, backward-shift deletion) of
// 8-byte slots: the low 24 bits of the record's 64-bit hash of set and key (its tag),
// and its location (slab number, 20 bits, from 1; offset, 20 bits). A look-up compares
// the tag, then the set and key bytes in the slab. The top 6 bits of the hash choose
// the shard, the tag scaled to the table's size its home slot (home: so a table of any
// size grows without reading the records, by a half, up to 2^24 slots a shard).

const (
	minSlab = 4 << 10 // the first slab of a shard
	maxSlab = 1 << 20 // slabs grow to this with the shard's bytes (offsets are 20 bits)
	// hotSlab: the slabs of the hot class (slabClass) stay small, so that most hold the
	// records of one Put batch and die whole when the next cycle's batch rewrites them;
	// a large one spans many batches and is compacted as soon as the first third of its
	// records are rewritten, copying the rest, which the next batches rewrite again
	// (BenchmarkMovedWrites at 1M entries: 280 bytes copied per rewritten record at
	// 1 MiB, 69 at 16 KiB, 15 at 4 KiB).
	hotSlab = 4 << 10
	// A slab with fewer live bytes than liveNum/liveDen of its used bytes is compacted.
	liveNum, liveDen = 2, 3
	recHeader        = 6 // expires (uint32 seconds after table.base), gen
	// neverSecs is the stored expiry of a record that never expires (NeverExpires);
	// maxSecs the latest other one (~136 years after the base: a later expiry is
	// stored as this).
	neverSecs = math.MaxUint32
	maxSecs   = neverSecs - 1
)

// slot is a table slot: tag<<40 | loc, where loc is slab<<20 | offset; 0 is empty.
type slot uint64

const (
	tagBits  = 24
	offBits  = 20
	locBits  = 40
	locMask  = 1<<locBits - 1
	maxSlots = 1 << tagBits // a shard's table (its slot numbers are tag bits)
	// maxSlabs: slab numbers are 20 bits. The store refuses a new record while a shard
	// holds more than maxRecords records or maxSlabs-slabHeadroom slabs (a compaction
	// may need a slab more before it drops one).
	maxSlabs     = 1<<(locBits-offBits) - 1
	slabHeadroom = 64
	maxRecords   = maxSlots / 4 * 3
	// A table is at most loadNum/loadDen full, and grows by growNum/growDen (to a
	// multiple of 8 slots, a cache line): between 53% and 80% full once grown, so
	// 10-15 bytes of index a record, against 10.7-21.3 doubling at three quarters. A
	// growth moves every slot (~35 ns a slot on this box, in a new table's first
	// touch): growing by a quarter (64-80% full) moved 4.9 slots a record by the end
	// of a cold start, against 2.6 by a half and 1.5 doubling.
	loadNum, loadDen = 4, 5
	growNum, growDen = 3, 2
)

func (s slot) loc() uint64 { return uint64(s) & locMask }
func (s slot) tag() uint64 { return uint64(s) >> locBits }

// withLoc is s pointing at another location of the same record.
func (s slot) withLoc(loc uint64) slot { return slot(uint64(s)&^locMask | loc) }

func tagOf(h uint64) uint64 { return h & (maxSlots - 1) }

func mkSlot(h, loc uint64) slot { return slot(tagOf(h)<<locBits | loc) }

type slab struct {
	buf     []byte // len: the bytes written; cap: the slab's size
	live    int    // bytes of records still indexed
	pending bool   // in table.pending
}

// table is one shard's records: the index and the slabs. Its methods need the shard's
// lock (read for the readers, write for the others).
type table struct {
	heap  *offheap // the namespace's slab memory (offheap.go); nil: Go slices
	seed  maphash.Seed
	base  int64  // unix seconds: a record's stored expiry counts seconds from it (encExp)
	slots []slot // len is 0, or 16 and more
	count int    // slots in use
	slabs []slab // slab number i+1 is slabs[i]; a dropped slab has a nil buf
	free  []uint32
	// cur: the slabs being filled (0: none), one per class of records (slabClass): the
	// records a cycle rewrites apart from those it writes once.
	cur [2]uint32
	// pending: slabs found under two thirds live, compacted by compactPending at the end of
	// the operation (a Put batch), so that a batch rewriting a slab's records whole
	// drops it instead of copying the records it is about to replace.
	pending []uint32
	live    int // bytes of live records in the shard
	// soonest is at most the stored expiry (encExp) of every record in the table: a
	// sweep (Store.Sweep) before it has nothing to drop and reads no record. 0 (a new
	// table) makes the first sweep read them all; each write lowers it to its record's
	// expiry, each sweep sets it to the soonest it kept (a refresh only delays one).
	soonest uint32
	// compactions counts the slabs compacted (copied), compacted the bytes of the
	// records they copied, for tests and benchmarks.
	compactions, compacted int
}

// view is a stored record, read in place.
type view struct {
	expires  int64
	gen      uint32
	set, key []byte
	bins     []byte // capacity-limited: a reader cannot append into the slab
	size     int    // the record's bytes in its slab
}

// hashKey is a record's 64-bit hash of set and key. A record of a coded set (the
// project's own, setCode) hashes its key alone (maphash.String: one call, ~4x quicker
// than the writer's three writes) salted by its set's code, so that one key in two sets
// hashes apart; another set hashes set, a 0 and key.
func hashKey(seed maphash.Seed, set, key string) uint64 {
	return hashCoded(seed, setCodeOf(set), set, key)
}

// hashCoded is hashKey of a set whose code (setCodeOf) the caller has.
func hashCoded(seed maphash.Seed, code uint8, set, key string) uint64 {
	if code != setNone {
		return maphash.String(seed, key) ^ (uint64(code)+1)*0x9e3779b97f4a7c15
	}
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(set)
	h.WriteByte(0)
	h.WriteString(key)
	return h.Sum64()
}

func makeLoc(slab uint32, off int) uint64 { return uint64(slab)<<offBits | uint64(off) }

func splitLoc(loc uint64) (slab uint32, off int) {
	return uint32(loc >> offBits), int(loc & (1<<offBits - 1))
}

// view reads the record at loc.
func (t *table) view(loc uint64) view {
	n, off := splitLoc(loc)
	b := t.slabs[n-1].buf[off:]
	v := view{expires: t.decExp(binary.LittleEndian.Uint32(b)), gen: uint32(binary.LittleEndian.Uint16(b[4:]))}
	p := recHeader
	fs, k := binary.Uvarint(b[p:])
	p += k
	lk, k := binary.Uvarint(b[p:])
	p += k
	lb, k := binary.Uvarint(b[p:])
	p += k
	if fs < setLiteral {
		v.set = codedSetNames[fs]
	} else {
		ls := int(fs - setLiteral)
		v.set = b[p : p+ls : p+ls]
		p += ls
	}
	v.key = b[p : p+int(lk) : p+int(lk)]
	p += int(lk)
	v.bins = b[p : p+int(lb) : p+int(lb)]
	v.size = p + int(lb)
	return v
}

// expires reads the expiry of the record at loc.
func (t *table) expires(loc uint64) int64 { return t.decExp(t.expiresEnc(loc)) }

// expiresEnc reads the stored expiry (encExp) of the record at loc.
func (t *table) expiresEnc(loc uint64) uint32 {
	n, off := splitLoc(loc)
	return binary.LittleEndian.Uint32(t.slabs[n-1].buf[off:])
}

// refresh sets the expiry of the record at loc to expires (unix ns, or NeverExpires) in
// its header, in place: its bins, which readers may hold, are not touched. The caller
// holds the shard's write lock.
func (t *table) refresh(loc uint64, expires int64) {
	n, off := splitLoc(loc)
	binary.LittleEndian.PutUint32(t.slabs[n-1].buf[off:], t.encExp(expires))
}

// encExp is the stored form of expiry expires (unix ns, or NeverExpires): the whole
// seconds after t.base, rounded up; 0 for an expiry before the base, maxSecs for one past
// the range. decExp(encExp(e)) is e for an e of whole seconds in the range.
func (t *table) encExp(expires int64) uint32 {
	if expires == NeverExpires {
		return neverSecs
	}
	sec := expires / int64(time.Second) // toward zero: rounded up for a negative expires
	if expires > sec*int64(time.Second) {
		sec++
	}
	switch d := sec - t.base; {
	case d < 0:
		return 0
	case d > maxSecs:
		return maxSecs
	default:
		return uint32(d)
	}
}

// decExp is the expiry (unix ns, or NeverExpires) of stored expiry e.
func (t *table) decExp(e uint32) int64 {
	if e == neverSecs {
		return NeverExpires
	}
	return (t.base + int64(e)) * int64(time.Second)
}

// find returns the slot of set/key (hash h) and true, or the empty slot where it would
// go and false. The table must have a slot.
func (t *table) find(h uint64, set, key string) (int, bool) {
	i, ok, _ := t.findReads(h, set, key)
	return i, ok
}

// findReads is find, and how many stored records it read to compare their keys (a tag
// shared by another key): a namespace on disk counts each as a page fault's worth
// (offheap.touch). At 5.6M, ~1% of a final cycle's new keys read a record so, at random
// across the file.
func (t *table) findReads(h uint64, set, key string) (int, bool, int) {
	n := len(t.slots)
	tag := tagOf(h)
	reads := 0
	for i := home(tag, n); ; {
		s := t.slots[i]
		if s == 0 {
			return i, false, reads
		}
		if s.tag() == tag {
			reads++
			v := t.view(s.loc())
			if string(v.key) == key && string(v.set) == set {
				return i, true, reads
			}
		}
		if i++; i == n {
			i = 0
		}
	}
}

// home is the slot of tag tg in a table of n slots: the tag scaled to the table (so a
// table of any size takes tags in their order, and grows in one pass that writes its new
// slots nearly in order).
func home(tg uint64, n int) int { return int(tg * uint64(n) >> tagBits) }

// lookup returns the location of set/key (hash h), 0 when absent.
func (t *table) lookup(h uint64, set, key string) uint64 {
	if len(t.slots) == 0 {
		return 0
	}
	i, ok := t.find(h, set, key)
	if !ok {
		return 0
	}
	return t.slots[i].loc()
}

// full reports whether the shard cannot take one more record.
func (t *table) full() bool {
	return t.count >= maxRecords || len(t.slabs)-len(t.free) >= maxSlabs-slabHeadroom
}

// reserve makes room for one more slot (the table is at most loadNum/loadDen full; the
// caller has checked full). Slot numbers found before are then stale.
func (t *table) reserve() {
	if (t.count+1)*loadDen <= len(t.slots)*loadNum {
		return
	}
	t.grow(min(maxSlots, max(16, (len(t.slots)*growNum/growDen+7)&^7)))
}

// reserveFor grows the table, when it is smaller, to the size that holds records
// records at most loadNum/loadDen full (to a multiple of 8 slots, at most maxSlots).
//
// The new table's pages are then written once, in order (prefault): a mapped table
// (offheap.allocSlots) is untouched memory, and the records that fill it land at random
// slots, so each of its pages faulted twice, at random, in the middle of a Put: a read
// (Put's touch maps the shared zero page) and then a write (the slot's, copying it).
// A reserved table is filled over every page anyway (a slot is 8 bytes, a page 512 of
// them): the pages cost nothing they would not have cost.
func (t *table) reserveFor(records int) {
	n := min(maxSlots, ((records*loadDen+loadNum-1)/loadNum+7)&^7)
	if n > len(t.slots) {
		t.grow(n)
		prefault(t.slots)
	}
}

// prefault writes each page of slots (a slot's value over itself, by an atomic add of
// 0, which the compiler cannot drop as it would a plain store of the value just read):
// one write fault a page, in order.
func prefault(slots []slot) {
	const perPage = 4096 / int(unsafe.Sizeof(slot(0)))
	for j := 0; j < len(slots); j += perPage {
		atomic.AddUint64((*uint64)(&slots[j]), 0)
	}
}

// grow moves the slots into a table of n slots.
func (t *table) grow(n int) {
	old := t.slots
	if t.heap != nil {
		t.slots = t.heap.allocSlots(n)
		defer t.heap.releaseSlots(old)
	} else {
		t.slots = make([]slot, n)
	}
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := home(s.tag(), n)
		for t.slots[i] != 0 {
			if i++; i == n {
				i = 0
			}
		}
		t.slots[i] = s
	}
}

// deleteAt empties slot i, shifting back the slots after it that probed past it.
func (t *table) deleteAt(i int) {
	n := len(t.slots)
	next := func(k int) int {
		if k++; k == n {
			return 0
		}
		return k
	}
	for j := next(i); t.slots[j] != 0; j = next(j) {
		home := home(t.slots[j].tag(), n)
		// slot j stays when its home lies cyclically in (i, j].
		if (i <= j && i < home && home <= j) || (j < i && (i < home || home <= j)) {
			continue
		}
		t.slots[i] = t.slots[j]
		i = j
	}
	t.slots[i] = 0
	t.count--
}

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// recordSize is the bytes a record takes in a slab.
func recordSize(set, key string, binsLen int) int {
	return recordSizeCoded(setCodeOf(set), set, key, binsLen)
}

// recordSizeCoded is recordSize with the set's code (setCodeOf) given.
func recordSizeCoded(code uint8, set, key string, binsLen int) int {
	setBytes := 1 // a coded set: its code alone
	if code == setNone {
		setBytes = uvarintLen(setLiteral+uint64(len(set))) + len(set)
	}
	return recHeader + setBytes + uvarintLen(uint64(len(key))) + uvarintLen(uint64(binsLen)) + len(key) + binsLen
}

// codedSets are the sets whose records name them by a code (their index here) in the
// slab instead of writing the name: the project's own (records.Set*). The slabs live in
// memory only, so the order may change freely.
var codedSets = [...]string{records.SetEntry, records.SetUser, records.SetContest, records.SetPage,
	records.SetMatchPart, records.SetContests, records.SetMatch, records.SetMatches}

// codedSetNames[c] is codedSets[c] as bytes: the set a view of a coded record shows
// (never written: views are read-only).
var codedSetNames = func() (b [len(codedSets)][]byte) {
	for i, s := range codedSets {
		b[i] = []byte(s)[:len(s):len(s)]
	}
	return b
}()

// The codes of the versioned sets (their index in codedSets).
const setCodeContest, setCodePage = 2, 3

// setLiteral is the first setField of a set written by name: setLiteral + its length.
const setLiteral = uint64(len(codedSets))

// setCode returns the code of a coded set.
func setCode(set string) (uint64, bool) {
	switch set {
	case records.SetEntry:
		return 0, true
	case records.SetUser:
		return 1, true
	case records.SetContest:
		return setCodeContest, true
	case records.SetPage:
		return setCodePage, true
	case records.SetMatchPart:
		return 4, true
	case records.SetContests:
		return 5, true
	case records.SetMatch:
		return 6, true
	case records.SetMatches:
		return 7, true
	}
	return 0, false
}

// setNone is setCodeOf's answer for a set written by name.
const setNone = 0xff

// setCodeOf is setCode as one byte: the code of a coded set, setNone for another. Put
// finds it once a record (putBatch.sort), for its hash and its place in a slab.
func setCodeOf(set string) uint8 {
	if c, ok := setCode(set); ok {
		return uint8(c)
	}
	return setNone
}

// Classes of records (slabClass), each filling slabs of its own.
const (
	coldClass = 0 // records written once, or now and then: entries, users, matches
	hotClass  = 1 // contest and page records: rewritten (versioned) by every cycle that moves them
)

// slabClass returns the class of the records of a set, given setCode's answer: the
// versioned sets (records.Versioned) are hot. A cycle rewrites its contests and pages
// over their stored versions; in slabs of their own, the slabs they leave are dead
// whole (dropped) or nearly, instead of slabs of mostly entry and user records that
// compaction copies (TestHotSlabs).
func slabClass(code uint64, coded bool) int {
	if coded && (code == setCodeContest || code == setCodePage) {
		return hotClass
	}
	return coldClass
}

// isCur reports whether slab n is being filled.
func (t *table) isCur(n uint32) bool { return n == t.cur[coldClass] || n == t.cur[hotClass] }

// alloc returns a slab of class c with room for size more bytes, and its number.
func (t *table) alloc(size, c int) uint32 {
	if cur := t.cur[c]; cur != 0 {
		if s := &t.slabs[cur-1]; cap(s.buf)-len(s.buf) >= size {
			return cur
		}
	}
	want := max(minSlab, min(maxSlab, 1<<bits.Len(uint(t.live/32)))) // slack: ~1/32 of the shard
	if c == hotClass {
		want = min(want, hotSlab)
	}
	if size > want {
		return t.newSlab(size) // a slab of its own, never filled further
	}
	prev := t.cur[c]
	t.cur[c] = t.newSlab(want)
	if prev != 0 {
		t.check(prev) // no longer being filled: it may be under two thirds live already
	}
	return t.cur[c]
}

func (t *table) newSlab(size int) uint32 {
	var s slab
	if t.heap != nil {
		s.buf = t.heap.alloc(size)
	} else {
		s.buf = make([]byte, 0, size)
	}
	if k := len(t.free); k > 0 {
		n := t.free[k-1]
		t.free = t.free[:k-1]
		t.slabs[n-1] = s
		return n
	}
	if len(t.slabs) >= maxSlabs {
		panic("BUG: rankstore: slab numbers exhausted (table.full was not checked)")
	}
	t.slabs = append(t.slabs, s)
	return uint32(len(t.slabs))
}

// put appends a record and returns its location. The caller indexes it.
func (t *table) put(set, key string, bins []byte, expires int64, gen uint32) uint64 {
	return t.putCoded(setCodeOf(set), set, key, bins, expires, gen)
}

// putCoded is put of a record whose set's code (setCodeOf) the caller has.
func (t *table) putCoded(setc uint8, set, key string, bins []byte, expires int64, gen uint32) uint64 {
	loc, dst := t.place(setc, set, key, len(bins), expires, gen)
	copy(dst, bins)
	return loc
}

// place appends a record of set (whose code setCodeOf gave setc) whose packed bins are
// binsLen bytes, and returns its location and those bytes, for the caller to fill (a
// store packs a record straight into its slab) before it releases the shard's lock. The
// caller indexes it.
func (t *table) place(setc uint8, set, key string, binsLen int, expires int64, gen uint32) (uint64, []byte) {
	size := recordSizeCoded(setc, set, key, binsLen)
	code, coded := uint64(setc), setc != setNone
	n := t.alloc(size, slabClass(code, coded))
	s := &t.slabs[n-1]
	off := len(s.buf)
	b := s.buf[:off+size]
	r := b[off:]
	e := t.encExp(expires)
	t.soonest = min(t.soonest, e)
	binary.LittleEndian.PutUint32(r, e)
	binary.LittleEndian.PutUint16(r[4:], uint16(gen))
	p := recHeader
	if !coded {
		code = setLiteral + uint64(len(set))
	}
	p += binary.PutUvarint(r[p:], code)
	p += binary.PutUvarint(r[p:], uint64(len(key)))
	p += binary.PutUvarint(r[p:], uint64(binsLen))
	if !coded {
		p += copy(r[p:], set)
	}
	p += copy(r[p:], key)
	s.buf = b
	s.live += size
	t.live += size
	return makeLoc(n, off), r[p:size:size]
}

// release marks the record at loc garbage; the caller has unindexed it (or points its
// slot elsewhere). Its slab is dropped or compacted when under two thirds live.
func (t *table) release(loc uint64, size int) {
	n, _ := splitLoc(loc)
	t.slabs[n-1].live -= size
	t.live -= size
	t.check(n)
}

// check drops slab n if nothing in it is live any more, and queues it for compaction if
// it is under two thirds live; not the slab being filled.
func (t *table) check(n uint32) {
	s := &t.slabs[n-1]
	switch {
	case t.isCur(n) || !t.underLive(s):
	case s.live == 0:
		t.drop(n)
	case !s.pending:
		s.pending = true
		t.pending = append(t.pending, n)
	}
}

func (t *table) drop(n uint32) {
	if t.heap != nil {
		t.heap.release(t.slabs[n-1].buf)
	}
	t.slabs[n-1] = slab{}
	t.free = append(t.free, n)
}

// underLive reports whether s is live below the compaction threshold.
func (t *table) underLive(s *slab) bool { return s.live*liveDen < len(s.buf)*liveNum }

// compactPending compacts the slabs queued by check that are still under two thirds live.
func (t *table) compactPending() {
	for k := 0; k < len(t.pending); k++ { // compacting may queue more
		n := t.pending[k]
		if s := &t.slabs[n-1]; s.pending {
			s.pending = false
			t.compact(n)
		}
	}
	t.pending = t.pending[:0]
}

// compact copies the live records of slab n, if it is under two thirds live and not the one
// being filled, to the slab being filled and drops it.
func (t *table) compact(n uint32) {
	s := &t.slabs[n-1]
	if t.isCur(n) || !t.underLive(s) {
		return
	}
	if s.live > 0 {
		t.compactions++
		// Copy the records still indexed at their place in this slab to the slab being
		// filled, and point their slots there.
		buf := s.buf
		for off := 0; off < len(buf); {
			loc := makeLoc(n, off)
			v := t.view(loc)
			off += v.size
			set, key := unsafe.String(unsafe.SliceData(v.set), len(v.set)), unsafe.String(unsafe.SliceData(v.key), len(v.key))
			h := hashKey(t.seed, set, key)
			i, ok := t.find(h, set, key)
			if !ok || t.slots[i].loc() != loc {
				continue
			}
			t.live -= v.size
			t.slabs[n-1].live -= v.size
			t.compacted += v.size
			t.slots[i] = t.slots[i].withLoc(t.put(set, key, v.bins, v.expires, v.gen))
		}
	}
	t.drop(n)
}

// bytes reports the slab bytes allocated and in use (for tests and benchmarks).
func (t *table) bytes() (capacity, used, live int) {
	for _, s := range t.slabs {
		capacity += cap(s.buf)
		used += len(s.buf)
		live += s.live
	}
	return capacity, used, live
}

// layout sums a namespace's slab bytes (allocated, written, live) and index slots.
func (s *Store) layout(ns string) (capacity, used, live, slots int) {
	n := s.ns[ns]
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.RLock()
		c, u, l := sh.bytes()
		capacity, used, live, slots = capacity+c, used+u, live+l, slots+len(sh.slots)
		sh.mu.RUnlock()
	}
	return capacity, used, live, slots
}

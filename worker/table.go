package worker

import (
	"fmt"
	"math/bits"
	"unsafe"
)

// table is a flat open-addressing hash table from int64 keys to int64 values: linear
// probing, each key beside its value in one slice, so a probe costs one cache line
// where a Go map reads a control word and then a slot (a replay probes a table of
// hundreds of thousands of entries per event; the Go maps' probes were most of its
// time). Deletion shifts the following keys back (no tombstones). The key 0 marks an
// empty slot; an entry of key 0 is held apart.
//
// The zero table is empty and ready to use.
type table struct {
	slots []slot // any length: a key's home slot is its hash scaled to it
	n     int    // keys held in slots
	// zero, zeroSet: the entry of key 0.
	zero    int64
	zeroSet bool
}

type slot struct{ key, val int64 }

// tableMinSlots is the size of a table's first allocation.
const tableMinSlots = 16

func (t *table) len() int {
	if t.zeroSet {
		return t.n + 1
	}
	return t.n
}

// home is the first slot key k is looked for in: its hash scaled to the slots (the
// high word of hash * len), so the table needs no power-of-two size and grows by half.
func (t *table) home(k int64) int {
	hi, _ := bits.Mul64(mix64(uint64(k)), uint64(len(t.slots)))
	return int(hi)
}

// after is the slot after i.
func (t *table) after(i int) int {
	if i++; i == len(t.slots) {
		return 0
	}
	return i
}

// get returns the value of k and whether k is held.
func (t *table) get(k int64) (int64, bool) {
	if k == 0 {
		return t.zero, t.zeroSet
	}
	if t.n == 0 {
		return 0, false
	}
	for i := t.home(k); ; i = t.after(i) {
		s := &t.slots[i]
		if s.key == k {
			return s.val, true
		}
		if s.key == 0 {
			return 0, false
		}
	}
}

// find is get, and also returns the slot a put of k goes to (its own, or the empty slot
// its probe ended at; -1 for the key 0 or an empty table), for putAt.
func (t *table) find(k int64) (v int64, ok bool, at int) {
	if k == 0 {
		return t.zero, t.zeroSet, -1
	}
	if t.n == 0 {
		return 0, false, -1
	}
	for i := t.home(k); ; i = t.after(i) {
		s := &t.slots[i]
		if s.key == k {
			return s.val, true, i
		}
		if s.key == 0 {
			return 0, false, i
		}
	}
}

// putAt is put(k, v) where find(k) returned at and nothing has changed the table since:
// no second hash and probe (a replay puts most keys it looked up).
func (t *table) putAt(at int, k, v int64) {
	if at < 0 || t.full() {
		t.put(k, v)
		return
	}
	s := &t.slots[at]
	if s.key != k {
		if s.key != 0 {
			panic(fmt.Sprintf("BUG: putAt(%d, %d): the slot holds key %d; the table changed since find", at, k, s.key))
		}
		s.key = k
		t.n++
	}
	s.val = v
}

// homeOf returns the address of k's home slot (nil for an empty table), for a caller
// probing many keys to prefetch their slots first, the loads overlapping, then probe
// them in order (touchAhead, prefetchAll).
func (t *table) homeOf(k int64) unsafe.Pointer {
	if t.n == 0 {
		return nil
	}
	return unsafe.Pointer(&t.slots[t.home(k)])
}

// put sets k's value.
func (t *table) put(k, v int64) {
	if k == 0 {
		t.zero, t.zeroSet = v, true
		return
	}
	if t.full() {
		t.grow(t.n + 1)
	}
	for i := t.home(k); ; i = t.after(i) {
		s := &t.slots[i]
		if s.key == k {
			s.val = v
			return
		}
		if s.key == 0 {
			s.key, s.val = k, v
			t.n++
			return
		}
	}
}

// full reports whether put of a new key grows the table: it is kept at most 3/4 full.
func (t *table) full() bool { return (t.n+1)*4 > len(t.slots)*3 }

// del removes k, if held.
func (t *table) del(k int64) {
	if k == 0 {
		t.zero, t.zeroSet = 0, false
		return
	}
	if t.n == 0 {
		return
	}
	i := t.home(k)
	for {
		if t.slots[i].key == k {
			break
		}
		if t.slots[i].key == 0 {
			return
		}
		i = t.after(i)
	}
	// Shift back every later key of the run whose home is not between the hole and it.
	for j := t.after(i); ; j = t.after(j) {
		s := t.slots[j]
		if s.key == 0 {
			break
		}
		h := t.home(s.key)
		// s may move to the hole i unless its home lies cyclically in (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			t.slots[i] = s
			i = j
		}
	}
	t.slots[i] = slot{}
	t.n--
	if t.n == 0 && len(t.slots) > tableMinSlots {
		*t = table{zero: t.zero, zeroSet: t.zeroSet} // all gone: free the slots
	}
}

// reserve makes room for n keys in all without growing again.
func (t *table) reserve(n int) {
	if n*4 > len(t.slots)*3 {
		t.grow(n)
	}
}

// fit shrinks a table less than fitNum/fitDen full to that (a table reserved for more
// keys than came, or grown to half full as keys came), so that a guess costs memory only
// while it is being checked: a replay's tables are fitted once it ends (the entry
// tables, a match's team table: ~30% of a node's Go heap at 5.6M entries, the team
// table half full after its last growth). Room for an eighth more keys is left before
// full's three quarters makes the next put grow it; a probe of a table two thirds full
// reads ~2 slots for a key held, ~5 for one not.
func (t *table) fit() {
	if t.n*fitDen < len(t.slots)*fitNum && len(t.slots) > tableMinSlots {
		t.rehash(max(tableMinSlots, (t.n*fitDen+fitNum-1)/fitNum))
	}
}

const fitNum, fitDen = 2, 3

// grow re-lays the table out in slots enough for n keys: half full when it grows as
// keys come (n is one more than it holds), 3/4 full when it is reserved for n.
func (t *table) grow(n int) {
	size := max(tableMinSlots, 2*n)
	if n > t.n+1 {
		size = max(tableMinSlots, (n*4+2)/3)
	}
	t.rehash(size)
}

// rehash moves every key into a new slice of size slots.
func (t *table) rehash(size int) {
	old := t.slots
	t.slots = makeSlots(size)
	for _, s := range old {
		if s.key == 0 {
			continue
		}
		i := t.home(s.key)
		for t.slots[i].key != 0 {
			i = t.after(i)
		}
		t.slots[i] = s
	}
}

// hugeSlots is the size from which a table's slots are advised to live on huge pages
// (adviseHuge): 4 MB, a replaying partition's entry table from ~190k entries, a match's
// team table from ~190k teams. Smaller tables stay in cache more, and a huge page is
// only had for a 2 MB-aligned part of a slice.
const hugeSlots = 4 << 20 / int(unsafe.Sizeof(slot{}))

// makeSlots makes a table's size slots, a large slice advised to live on huge pages: a
// replay probes its tables at random, and each probe of a 4 KB-paged table of tens of
// MB misses the TLB as well as the cache.
func makeSlots(size int) []slot {
	s := make([]slot, size)
	if size >= hugeSlots {
		adviseHuge(unsafe.Pointer(unsafe.SliceData(s)), uintptr(size)*unsafe.Sizeof(slot{}))
	}
	return s
}

// each calls f for every key and value, in no order; f must not change the table.
func (t *table) each(f func(k, v int64)) {
	if t.zeroSet {
		f(0, t.zero)
	}
	for _, s := range t.slots {
		if s.key != 0 {
			f(s.key, s.val)
		}
	}
}

// playerSet is a small set of player ids (a match's, at most a few hundred): open
// addressing in one slice of int32 (a power of two long, at most half full), which stays
// in cache where a Go map's probes of the same set cost several times more (a replay
// checks every new team's players). The id 0 is held apart.
type playerSet struct {
	slots   []int32
	n       int
	shift   uint8 // 32 - log2(len(slots))
	hasZero bool
}

func (s *playerSet) len() int {
	if s.hasZero {
		return s.n + 1
	}
	return s.n
}

func (s *playerSet) has(p int32) bool {
	if p == 0 {
		return s.hasZero
	}
	if s.n == 0 {
		return false
	}
	mask := uint32(len(s.slots) - 1)
	for i := s.home(p); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case p:
			return true
		case 0:
			return false
		}
	}
}

// home is p's first slot: Fibonacci hashing, the top bits of p times 2^32/phi (one
// multiply; a replay checks the 11 players of every new team, and mix64's two multiplies
// and three shifts were most of it). The slots are a power of two, 2^(32-shift).
func (s *playerSet) home(p int32) uint32 {
	return uint32(p) * 0x9E3779B1 >> s.shift
}

func (s *playerSet) add(p int32) {
	if p == 0 {
		s.hasZero = true
		return
	}
	if (s.n+1)*2 > len(s.slots) { // at most half full
		old := s.slots
		size := max(64, 2*len(old))
		s.slots, s.n, s.shift = make([]int32, size), 0, uint8(32-bits.TrailingZeros(uint(size)))
		for _, q := range old {
			if q != 0 {
				s.add(q)
			}
		}
	}
	mask := uint32(len(s.slots) - 1)
	for i := s.home(p); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case p:
			return
		case 0:
			s.slots[i] = p
			s.n++
			return
		}
	}
}

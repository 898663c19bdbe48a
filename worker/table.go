package worker

// table is a flat open-addressing hash table from int64 keys to int64 values: linear
// probing, each key beside its value in one slice, so a probe costs one cache line
// where a Go map reads a control word and then a slot (a replay probes a table of
// hundreds of thousands of entries per event; the Go maps' probes were most of its
// time). Deletion shifts the following keys back (no tombstones). The key 0 marks an
// empty slot; an entry of key 0 is held apart.
//
// The zero table is empty and ready to use.
type table struct {
	slots []slot
	n     int // keys held in slots
	mask  uint64
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

// home is the first slot key k is looked for in.
func (t *table) home(k int64) uint64 { return mix64(uint64(k)) & t.mask }

// get returns the value of k and whether k is held.
func (t *table) get(k int64) (int64, bool) {
	if k == 0 {
		return t.zero, t.zeroSet
	}
	if t.n == 0 {
		return 0, false
	}
	for i := t.home(k); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.key == k {
			return s.val, true
		}
		if s.key == 0 {
			return 0, false
		}
	}
}

// touch reads k's home slot and returns a word of it, so that a caller probing many
// keys can load their slots first, the loads overlapping, then probe them in order.
func (t *table) touch(k int64) int64 {
	if t.n == 0 {
		return 0
	}
	return t.slots[t.home(k)].key
}

// put sets k's value.
func (t *table) put(k, v int64) {
	if k == 0 {
		t.zero, t.zeroSet = v, true
		return
	}
	if (t.n+1)*4 > len(t.slots)*3 { // at most 3/4 full
		t.grow(t.n + 1)
	}
	for i := t.home(k); ; i = (i + 1) & t.mask {
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
		i = (i + 1) & t.mask
	}
	// Shift back every later key of the run whose home is not between the hole and it.
	for j := (i + 1) & t.mask; ; j = (j + 1) & t.mask {
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

// grow re-lays the table out in the smallest power of two of slots holding n keys at
// most 3/4 full (at least twice its size).
func (t *table) grow(n int) {
	size := max(tableMinSlots, 2*len(t.slots))
	for n*4 > size*3 {
		size *= 2
	}
	old := t.slots
	t.slots, t.mask = make([]slot, size), uint64(size-1)
	for _, s := range old {
		if s.key == 0 {
			continue
		}
		i := t.home(s.key)
		for t.slots[i].key != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = s
	}
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

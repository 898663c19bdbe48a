package rankstore

import (
	"bytes"
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/records"
)

// entryRecord is entry id's packed record (~60 bytes).
func entryRecord(id int64) records.Record {
	return records.Entry{ID: id, Contest: id / 8, Match: 1, User: id, Team: id / 2,
		Lineup: records.Lineup{Players: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Captain: 1, Vice: 2}}.PackedRecord()
}

// entryKeyed is entry 1's record under entry id's key: many records, packed once.
func entryKeyed(one records.Record, id int64) records.Record {
	one.Key = records.IDKey(id)
	return one
}

// pageRecord is page 1 of contest id at cycle, one row.
func pageRecord(id, cycle int64) records.Record {
	return records.Page{Contest: id, No: 1, Cycle: cycle, Rows: []records.Row{{Rank: 1, EntryID: id, Points: cycle}}}.PackedRecord()
}

// TestReadsAreCopies: what GetPacked, GetManyPacked, Get, Lookup and Mutate return is
// the reader's own: rewriting the records until their slabs are dropped and their
// blocks reused for other records (off-heap memory is reused, not collected) leaves it
// as it was read.
func TestReadsAreCopies(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	const pages = 2000
	put := func(cycle int64) {
		batch := make([]records.Record, pages)
		for i := range batch {
			batch[i] = pageRecord(int64(i), cycle)
		}
		if err := s.Put(ctx, records.Live, batch); err != nil {
			t.Fatal(err)
		}
	}
	put(1)
	want := slices.Clone(pageRecord(7, 1).Packed)
	packed, ok, err := s.GetPacked(ctx, records.Live, records.SetPage, records.PageKey(7, 1))
	if !ok || err != nil || !bytes.Equal(packed, want) {
		t.Fatalf("GetPacked: %v %v %x; want %x", ok, err, packed, want)
	}
	many, err := s.GetManyPacked(ctx, records.Live, records.SetPage, []string{records.PageKey(7, 1)})
	if err != nil || !bytes.Equal(many[0], want) {
		t.Fatalf("GetManyPacked: %v %x", err, many)
	}
	st, ok, err := s.Lookup(records.Live, records.SetPage, records.PageKey(7, 1))
	if !ok || err != nil || !bytes.Equal(st.Bins, want) {
		t.Fatalf("Lookup: %v %v %x", ok, err, st.Bins)
	}
	kept, _, err := s.Mutate(records.Live, records.SetPage, records.PageKey(7, 1), func(Stored, bool) (Change, error) { return Change{Op: Keep}, nil })
	if err != nil || !bytes.Equal(kept.Bins, want) {
		t.Fatalf("Mutate (keep): %v %x", err, kept.Bins)
	}
	heap := s.ns[records.Live].heap
	reused := heap.mapped.Load()
	for cycle := int64(2); cycle <= 40; cycle++ {
		put(cycle)
	}
	if got := heap.mapped.Load(); got != reused {
		t.Errorf("40 cycles rewriting the same pages mapped %d bytes, then %d: the dropped slabs' blocks are not reused", reused, got)
	}
	for name, b := range map[string][]byte{"GetPacked": packed, "GetManyPacked": many[0], "Lookup": st.Bins, "Mutate": kept.Bins} {
		if !bytes.Equal(b, want) {
			t.Errorf("%s's record changed under its reader after its slab was reused: %x; want %x", name, b, want)
		}
	}
	if p, ok, _ := s.GetPacked(ctx, records.Live, records.SetPage, records.PageKey(7, 1)); !ok || !bytes.Equal(p, pageRecord(7, 40).Packed) {
		t.Errorf("the page reads %x after 40 cycles; want cycle 40's", p)
	}
}

// TestSlabsOffGoHeap: a namespace's records are not on the Go heap: storing 10 MB of
// entry records grows the collector's live heap by the index and bookkeeping only.
func TestSlabsOffGoHeap(t *testing.T) {
	if newOffheap().advise == nil {
		t.Skip("no mmap on " + runtime.GOOS + ": the slabs are Go memory here")
	}
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, "", c)
	const n = 150_000
	batch := make([]records.Record, 0, 10_000)
	one := entryRecord(1)
	recBytes := 0
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := live()
	for id := range int64(n) {
		batch = append(batch, entryKeyed(one, id))
		recBytes += len(batch[len(batch)-1].Packed) + len(batch[len(batch)-1].Key)
		if len(batch) == cap(batch) {
			if err := s.Put(ctx, records.Live, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	batch = nil
	after := live()
	grew := int64(after) - int64(before)
	inUse := s.ns[records.Live].heap.inUse.Load()
	// The index: ~10-15 bytes a record.
	if limit := int64(n * 20); grew > limit {
		t.Errorf("%d records (%d bytes) grew the Go heap by %d bytes, more than %d: the slabs are on it", n, recBytes, grew, limit)
	}
	if inUse < int64(recBytes) {
		t.Errorf("the namespace's off-heap blocks hold %d bytes, less than its %d bytes of records", inUse, recBytes)
	}
	if got := s.Len(records.Live); got != n {
		t.Fatalf("%d records stored; want %d", got, n)
	}
	runtime.KeepAlive(s)
}

// TestOffheapBlocks: blocks come in the slab classes, a released block is the next one
// of its class, a large one is given back to the OS when released, and a namespace's
// mappings are unmapped once it is collected.
func TestOffheapBlocks(t *testing.T) {
	for size, want := range map[int]int{1: 4 << 10, 4 << 10: 4 << 10, 4<<10 + 1: 8 << 10, 300 << 10: 512 << 10, 1 << 20: 1 << 20} {
		if got := 1 << (class(size) + minClassShift); got != want {
			t.Errorf("class of %d bytes: %d-byte blocks; want %d", size, got, want)
		}
	}
	h := newOffheap()
	var advised []int
	h.advise = func(b []byte) { advised = append(advised, len(b)) }
	a := h.alloc(5000)
	if cap(a) != 8<<10 || len(a) != 0 {
		t.Fatalf("alloc(5000): len %d cap %d; want 0, 8192", len(a), cap(a))
	}
	a = append(a, "abc"...)
	h.release(a)
	if b := h.alloc(8 << 10); &b[:1][0] != &a[0] {
		t.Error("a released block is not the next of its class")
	}
	big := h.alloc(1 << 20)
	h.release(big)
	if !slices.Equal(advised, []int{1 << 20}) {
		t.Errorf("released blocks given back to the OS: %v; want the 1 MiB one only", advised)
	}
	if huge := h.alloc(3 << 20); cap(huge) != 3<<20 {
		t.Errorf("alloc of 3 MiB: cap %d", cap(huge))
	}
	if h.inUse.Load() != 8<<10+3<<20-3<<20 {
		t.Errorf("in use: %d; want the 8 KiB block (a Go slice is not counted)", h.inUse.Load())
	}

	// A namespace's mappings go when it is collected.
	s := open(t, "", &clock{t: time.Unix(1_800_000_000, 0)})
	if err := s.Put(context.Background(), records.Live, []records.Record{entryRecord(1)}); err != nil {
		t.Fatal(err)
	}
	nh := s.ns[records.Live].heap
	if nh.mapped.Load() == 0 {
		t.Fatal("a namespace with a record mapped nothing")
	}
	s = nil
	deadline := time.Now().Add(10 * time.Second)
	for nh.mapped.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the namespace was dropped 10 s ago and %d bytes are still mapped", nh.mapped.Load())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIndexOffGoHeap: a shard's large index table is mapped, and a growth unmaps the one
// it replaces, every record still found.
func TestIndexOffGoHeap(t *testing.T) {
	if newOffheap().advise == nil {
		t.Skip("no mmap on " + runtime.GOOS + ": the index is Go memory here")
	}
	ctx := context.Background()
	s := open(t, "", &clock{t: time.Unix(1_800_000_000, 0)})
	const n = 64 * 10_000 // ~10k records a shard: tables past minMappedSlots, grown several times
	batch := make([]records.Record, 0, 8000)
	one := entryRecord(1)
	for id := range int64(n) {
		batch = append(batch, entryKeyed(one, id))
		if len(batch) == cap(batch) { // n is a multiple of it
			if err := s.Put(ctx, records.Live, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	ns := s.ns[records.Live]
	ns.heap.mu.Lock()
	mappedTables := len(ns.heap.tables)
	tableBytes := 0
	for _, b := range ns.heap.tables {
		tableBytes += len(b)
	}
	ns.heap.mu.Unlock()
	slots := 0
	for i := range ns.shards {
		if len(ns.shards[i].slots) >= minMappedSlots {
			slots += len(ns.shards[i].slots)
		}
	}
	if mappedTables == 0 || mappedTables > shards || tableBytes != slots*8 {
		t.Errorf("%d tables mapped, %d bytes; want one per shard (<= %d), the %d bytes of their %d slots", mappedTables, tableBytes, shards, slots*8, slots)
	}
	for _, id := range []int64{0, 1, n / 2, n - 1} {
		if _, ok, err := s.GetPacked(ctx, records.Live, records.SetEntry, records.IDKey(id)); !ok || err != nil {
			t.Errorf("entry %d not found after the tables grew: %v", id, err)
		}
	}
}

// TestStoreMetrics: the store's gauges say how many records each namespace holds, the
// slots of its index and the bytes they take outside the Go heap.
func TestStoreMetrics(t *testing.T) {
	s := open(t, "", &clock{t: time.Unix(1_800_000_000, 0)})
	reg := prometheus.NewPedanticRegistry()
	if err := s.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	one := entryRecord(1)
	batch := make([]records.Record, 1000)
	for i := range batch {
		batch[i] = entryKeyed(one, int64(i))
	}
	if err := s.Put(context.Background(), records.Live, batch); err != nil {
		t.Fatal(err)
	}
	got := gathered(t, reg)
	if got["leaderboard_store_records/live"] != 1000 || got["leaderboard_store_records/complete"] != 0 {
		t.Errorf("records: %v", got)
	}
	if held := got["leaderboard_store_offheap_bytes/live"]; held < 1000*float64(len(one.Packed)) || held > got["leaderboard_store_mapped_bytes/live"] {
		t.Errorf("off-heap bytes held %v for 1000 records of %d bytes (mapped %v)", held, len(one.Packed), got["leaderboard_store_mapped_bytes/live"])
	}
	// The index: at most 80% full (53% after a growth), in 8-slot lines.
	if slots := got["leaderboard_store_index_slots/live"]; slots < 1000/0.8 || slots > 1000/0.5+64*8 || got["leaderboard_store_index_slots/complete"] != 0 {
		t.Errorf("index slots %v for 1000 live records: %v", slots, got)
	}
	if got["leaderboard_store_file_bytes/live"] != 0 || got["leaderboard_store_file_bytes/complete"] != 0 {
		t.Errorf("file bytes without a data dir: %v", got)
	}
	if _, ok := got["leaderboard_store_kept_records_total"]; !ok {
		t.Errorf("no kept counter: %v", got)
	}
}

// gathered is reg's series by name and label values ("name/value..."): a gauge's or a
// counter's value.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "/" + l.GetValue()
			}
			got[name] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return got
}

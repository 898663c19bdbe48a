//go:build linux

package rankstore

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/records"
)

// bigEntry is entry id's record with a lineup of ~400 bytes, so that a few thousand
// records fill megabytes.
func bigEntry(id int64) records.Record {
	players := make([]int32, 100)
	for i := range players {
		players[i] = int32(id)*7 + int32(i)
	}
	return records.Entry{ID: id, Contest: id / 8, Match: 1, User: id, Team: id / 2,
		Lineup: records.Lineup{Players: players, Captain: players[0], Vice: players[1]}}.PackedRecord()
}

// spillResident is the bytes of sp's mappings resident in this process (the Rss of
// their areas in /proc/self/smaps).
func spillResident(t *testing.T, sp *spill) int64 {
	t.Helper()
	sp.mu.Lock()
	starts := map[uint64]bool{}
	for _, b := range sp.segs {
		starts[uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))] = true
	}
	sp.mu.Unlock()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps (%v): run on Linux with /proc mounted", err)
	}
	defer f.Close()
	var total int64
	in, seen := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		// An area's first line: "start-end perms offset dev inode [path]"; then
		// "Field: value" lines.
		if f := strings.Fields(line); len(f) >= 5 && !strings.HasSuffix(f[0], ":") {
			lo, _, _ := strings.Cut(f[0], "-")
			a, err := strconv.ParseUint(lo, 16, 64)
			if err != nil {
				t.Fatalf("smaps: %q: %v", line, err)
			}
			if in = starts[a]; in {
				seen++
			}
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			if err != nil {
				t.Fatalf("smaps: %q: %v", line, err)
			}
			total += kb << 10
		}
	}
	if seen != len(starts) {
		t.Fatalf("smaps shows %d of the slab file's %d mappings", seen, len(starts))
	}
	return total
}

// TestCompleteOnDisk: with a data dir, the complete namespace's records are a file's
// pages, which the process drops as it writes and reads them (it holds the index only),
// and every record reads back whole after its pages were dropped. The live namespace
// stays in memory.
func TestCompleteOnDisk(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, t.TempDir(), c)
	if s.ns[records.Live].heap.spill != nil {
		t.Fatal("the live namespace has a slab file; it is held in memory")
	}
	sp := s.ns[records.Complete].heap.spill
	if sp == nil {
		t.Fatal("the complete namespace has no slab file with a data dir")
	}
	const every = 1 << 20
	sp.every = every
	const n, batch = 40_000, 1000 // ~18 MB of records
	written := 0
	for lo := 0; lo < n; lo += batch {
		recs := make([]records.Record, batch)
		for i := range recs {
			recs[i] = bigEntry(int64(lo + i))
			written += len(recs[i].Packed)
		}
		if err := s.Put(ctx, records.Complete, recs); err != nil {
			t.Fatal(err)
		}
	}
	if got := sp.size(); got < int64(written) {
		t.Fatalf("slab file of %d bytes for %d bytes of records", got, written)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := s.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if m := gathered(t, reg); m["leaderboard_store_file_bytes/complete"] != float64(sp.size()) || m["leaderboard_store_file_bytes/live"] != 0 {
		t.Errorf("leaderboard_store_file_bytes: %v, want complete %d and live 0", m, sp.size())
	}
	// At most a drop's worth, a batch and the fault-around of the last chunks: without
	// the drops it would be every record.
	const bound = every + 2<<20
	if got := spillResident(t, sp); got > bound {
		t.Fatalf("%d bytes of the slab file resident after writing %d; want at most %d", got, written, bound)
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = records.IDKey(int64(i))
	}
	got, err := s.GetManyPacked(ctx, records.Complete, records.SetEntry, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range got {
		if want := bigEntry(int64(i)).Packed; !bytes.Equal(p, want) {
			t.Fatalf("record %d after its pages were dropped: %x, want %x", i, p, want)
		}
	}
	if got := spillResident(t, sp); got > bound {
		t.Fatalf("%d bytes of the slab file resident after reading %d records; want at most %d", got, n, bound)
	}
	// A save reads each slab once, in order, and drops its pages once read: with no
	// other drop (by count or by time), it leaves next to nothing of the file mapped
	// (in the index's order it left every page it read).
	sp.every, sp.after = 1<<40, time.Hour
	sp.evict()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := spillResident(t, sp); got > 1<<20 {
		t.Fatalf("%d bytes of the slab file resident after a save of %d; want at most 1 MiB", got, written)
	}
	// The live namespace's records are not the file's.
	if err := s.Put(ctx, records.Live, []records.Record{bigEntry(1)}); err != nil {
		t.Fatal(err)
	}
	if s.ns[records.Live].heap.spill != nil || len(s.ns[records.Live].heap.chunks) == 0 {
		t.Fatal("the live namespace's slabs are not anonymous memory")
	}
	// Closed and opened again, the namespace is what complete.arrow saved, into a new
	// slab file.
	dir := s.cfg.DataDir
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, c)
	if got := s2.Len(records.Complete); got != n {
		t.Fatalf("%d complete records after a restart, want %d", got, n)
	}
	p, ok, err := s2.GetPacked(ctx, records.Complete, records.SetEntry, records.IDKey(n-1))
	if err != nil || !ok || !bytes.Equal(p, bigEntry(n-1).Packed) {
		t.Fatalf("after a restart: %v %v %x", ok, err, p)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "complete.slabs") {
			t.Fatalf("the slab file %s is in the data dir; it is unlinked at creation", e.Name())
		}
	}
}

// TestSweepSkipsShardsNotDue: a sweep reads no record of a shard where nothing can have
// expired yet (a namespace on disk would fault them all in), and still drops every
// record that has: ones written later with a shorter TTL, refreshed ones, loaded ones.
func TestSweepSkipsShardsNotDue(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, t.TempDir(), c)
	sp := s.ns[records.Complete].heap.spill
	sp.every = 1 << 40 // never dropped: touched counts what the sweeps read
	const n = 5000
	recs := make([]records.Record, n)
	for i := range recs {
		recs[i] = entryRecord(int64(i))
	}
	if err := s.Put(ctx, records.Complete, recs); err != nil { // expires after CompleteTTL
		t.Fatal(err)
	}
	if got := s.Sweep(); got != 0 { // the first reads every shard: nothing is due
		t.Fatalf("first sweep dropped %d", got)
	}
	before := sp.touched.Load()
	c.add(time.Hour)
	if got := s.Sweep(); got != 0 || sp.touched.Load() != before {
		t.Fatalf("a sweep with nothing due dropped %d and read %d bytes; want 0 and 0", got, sp.touched.Load()-before)
	}
	// A record with a 1-minute TTL, written now, is due before the others.
	for _, id := range []int64{3, 4000} {
		_, _, err := s.Mutate(records.Complete, records.SetEntry, records.IDKey(id), func(Stored, bool) (Change, error) {
			return Change{Op: Write, Bins: entryRecord(id).Packed, TTL: time.Minute}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	c.add(2 * time.Minute)
	if got := s.Sweep(); got != 2 {
		t.Fatalf("the sweep after the short TTLs dropped %d records, want 2", got)
	}
	before = sp.touched.Load()
	if got := s.Sweep(); got != 0 || sp.touched.Load() != before {
		t.Fatalf("the next sweep dropped %d and read %d bytes; want 0 and 0", got, sp.touched.Load()-before)
	}
	c.add(s.cfg.CompleteTTL - time.Hour) // past every other record's expiry
	if got := s.Sweep(); got != n-2 {
		t.Fatalf("the sweep past the TTL dropped %d records, want %d", got, n-2)
	}
	if got := s.Len(records.Complete); got != 0 {
		t.Fatalf("%d records left", got)
	}
}

// TestCompleteOnDiskMapsWhatItWrites: after a drop, the slab file's pages mapped in the
// process are about those written since, not the pages around each write fault that the
// kernel reads ahead and maps with it (MADV_RANDOM): two writers into every shard's slab.
func TestCompleteOnDiskMapsWhatItWrites(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := open(t, t.TempDir(), c)
	sp := s.ns[records.Complete].heap.spill
	sp.every, sp.after = 1<<40, time.Hour // no drops but evict's
	var written atomic.Int64
	write := func(from, n int) {
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Go(func() {
				const batch = 1000
				for lo := 0; lo < n; lo += batch {
					recs := make([]records.Record, min(batch, n-lo))
					for i := range recs {
						id := int64(from + g*n + lo + i)
						recs[i] = records.Entry{ID: id, Contest: id / 8, Match: 1, User: id, Team: id / 2,
							Lineup: records.Lineup{Players: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Captain: 1, Vice: 2}}.PackedRecord()
						written.Add(int64(len(recs[i].Packed)))
					}
					if err := s.Put(ctx, records.Complete, recs); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	write(0, 200_000) // the shards' slabs grown to their largest
	sp.evict()
	written.Store(0)
	write(1_000_000, 2_000)
	// The records with their headers, and the page each shard's two slabs were at.
	bound := written.Load()*3/2 + shards*2*4096
	if got := spillResident(t, sp); got > bound {
		t.Fatalf("%d bytes of the slab file mapped after writing %d bytes of records since a drop; want at most %d", got, written.Load(), bound)
	}
}

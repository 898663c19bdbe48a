package rankstore

import (
	"context"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/fantasy/leaderboard/records"
)

// BenchmarkPut writes contest records shaped like a cycle's (a histogram and a first page
// of 100 rows for big contests, a few rows for small ones) in batches of 5000, as the
// worker does, and reports records/s (DESIGN.md budget: >= 700k records/s).
func BenchmarkPut(b *testing.B) { benchmarkPut(b, records.Fence{}, false, false) }

// BenchmarkPutFenced is BenchmarkPut with every record fenced (as the worker writes):
// the fence check against the stored record and the two fence bins.
func BenchmarkPutFenced(b *testing.B) {
	benchmarkPut(b, records.Fence{Epoch: 1, Cycle: 1}, false, false)
}

// BenchmarkPutVersioned is BenchmarkPutFenced with every record versioned (KeepPrev, as
// the worker writes contests and pages) over the stored one, the records as maps.
func BenchmarkPutVersioned(b *testing.B) {
	benchmarkPut(b, records.Fence{Epoch: 1, Cycle: 1}, true, false)
}

// BenchmarkPutVersionedPacked is BenchmarkPutVersioned with the records built packed
// (records.Record.Packed), as the worker builds them: merged with the fence and the
// stored version byte for byte (records.PackWrite).
func BenchmarkPutVersionedPacked(b *testing.B) {
	benchmarkPut(b, records.Fence{Epoch: 1, Cycle: 1}, true, true)
}

func benchmarkPut(b *testing.B, fence records.Fence, keepPrev, packed bool) {
	s, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]records.Record, 5000)
	for i := range recs {
		n := 4
		if i%20 == 0 {
			n = 100
		}
		rows := make([]records.Row, n)
		hist := make([]records.Bucket, 0, n)
		for j := range rows {
			rows[j] = records.Row{Rank: int64(j + 1), EntryID: int64(i*1000 + j), UserID: int64(j), TeamID: int64(j), Points: int64(10000 - j*50)}
			hist = append(hist, records.Bucket{Points: rows[j].Points, Count: 1})
		}
		c := records.Contest{ID: int64(i), Match: 1, Cycle: 1, Total: int64(n), PageSize: 100, Hist: hist, First: rows}
		if packed {
			recs[i] = c.PackedRecord()
		} else {
			recs[i] = c.Record()
		}
		recs[i].Fence, recs[i].KeepPrev = fence, keepPrev
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := s.Put(ctx, records.Live, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(len(recs)*b.N), "cpu-ns/record")
}

// BenchmarkEntryHeap stores entry records as a first cycle writes them (fenced, in
// batches of 5000; 11-player lineups) and reports the Go heap they hold, after a GC, and
// the memory held outside it (offheap.go: slabs and large index tables), per record:
// the embedded store's share of a node's bytes per entry (docs/PERFORMANCE.md,
// "Full-scale run"). LB_BENCH_ENTRIES sets the count (default 200000).
//
//	go test -run '^$' -bench EntryHeap -benchtime 1x ./rankstore
func BenchmarkEntryHeap(b *testing.B) {
	n := benchEntries(200_000)
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := entryStore(b, n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/float64(n), "heap-B/record")
		b.ReportMetric(float64(s.ns[records.Live].heap.held())/float64(n), "offheap-B/record")
		capacity, used, live, slots := s.layout(records.Live)
		b.ReportMetric(float64(live)/float64(n), "record-B/record")       // header, set, key, bins
		b.ReportMetric(float64(used-live)/float64(n), "garbage-B/record") // replaced, not yet compacted
		b.ReportMetric(float64(capacity-used)/float64(n), "slack-B/record")
		b.ReportMetric(float64(slots*int(unsafe.Sizeof(slot(0))))/float64(n), "index-B/record")
		runtime.KeepAlive(s)
	}
}

// BenchmarkGCEntries stores entry records as BenchmarkEntryHeap does and then times a
// full garbage collection with them live: what the store costs the collector's mark phase
// every cycle of the GC (ms per GC). LB_BENCH_ENTRIES sets the count (default 1000000).
//
//	go test -run '^$' -bench GCEntries -benchtime 10x ./rankstore
func BenchmarkGCEntries(b *testing.B) {
	s := entryStore(b, benchEntries(1_000_000))
	runtime.GC()
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/GC")
	runtime.KeepAlive(s)
}

// BenchmarkEntryRewrites stores 200,000 entry records (LB_BENCH_ENTRIES), then rewrites a
// scattered 4% of them per cycle for 100 cycles, as live cycles do, and reports the
// layout's bytes per record at the end: the garbage that compaction leaves in steady
// state, and the Go heap.
//
//	go test -run '^$' -bench EntryRewrites -benchtime 1x ./rankstore
func BenchmarkEntryRewrites(b *testing.B) {
	n := benchEntries(200_000)
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := entryStore(b, n)
		rng := rand.New(rand.NewPCG(1, 2))
		batch := make([]records.Record, 0, 5000)
		var putCPU time.Duration
		put := func() {
			c0 := cpuTime()
			if err := s.Put(context.Background(), records.Live, batch); err != nil {
				b.Fatal(err)
			}
			putCPU += cpuTime() - c0
			batch = batch[:0]
		}
		for cycle := range 100 {
			for range n / 25 {
				i := rng.IntN(n)
				players := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
				e := records.Entry{ID: int64(1_000_000 + i), Contest: int64(i / 28), Match: 1, User: int64(i / 3), Team: int64(cycle % 5),
					Lineup: records.Lineup{Players: players, Captain: players[0], Vice: players[1]}}
				r := e.Record()
				r.Fence = records.Fence{Epoch: 1, Cycle: int64(2 + cycle)}
				if batch = append(batch, r); len(batch) == cap(batch) {
					put()
				}
			}
			put()
		}
		b.ReportMetric(float64(putCPU.Nanoseconds())/float64(100*(n/25)), "put-cpu-ns/rewrite")
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/float64(n), "heap-B/record")
		b.ReportMetric(float64(s.ns[records.Live].heap.held())/float64(n), "offheap-B/record")
		capacity, used, live, _ := s.layout(records.Live)
		b.ReportMetric(float64(used-live)/float64(n), "garbage-B/record")
		b.ReportMetric(float64(capacity-used)/float64(n), "slack-B/record")
		compactions := 0
		for i := range s.ns[records.Live].shards {
			compactions += s.ns[records.Live].shards[i].compactions
		}
		b.ReportMetric(float64(compactions), "compactions")
		runtime.KeepAlive(s)
	}
}

// entryStore returns a store holding n fenced entry records written in batches of 5000
// (11-player lineups), as a worker's first cycle writes them.
func entryStore(b *testing.B, n int) *Store {
	b.Helper()
	s, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]records.Record, 0, 5000)
	for i := range n {
		players := make([]int32, 11)
		for j := range players {
			players[j] = int32(1 + (i+j*7)%22)
		}
		e := records.Entry{ID: int64(1_000_000 + i), Contest: int64(i / 28), Match: 1, User: int64(i / 3), Team: int64(i % 5),
			Lineup: records.Lineup{Players: players, Captain: players[0], Vice: players[1]}}
		r := e.Record()
		r.Fence = records.Fence{Epoch: 1, Cycle: 1}
		if batch = append(batch, r); len(batch) == cap(batch) || i == n-1 {
			if err := s.Put(context.Background(), records.Live, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return s
}

// benchEntries is LB_BENCH_ENTRIES, or def.
func benchEntries(def int) int {
	if v, err := strconv.Atoi(os.Getenv("LB_BENCH_ENTRIES")); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkHashKey hashes an entry record's set and key, as Put does for every record
// (and a compaction for every record it copies).
func BenchmarkHashKey(b *testing.B) {
	seed := maphash.MakeSeed()
	var sink uint64
	for b.Loop() {
		sink += hashKey(seed, records.SetEntry, "41234567")
	}
	runtime.KeepAlive(sink)
}

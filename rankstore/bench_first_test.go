package rankstore

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/fantasy/leaderboard/records"
)

// firstWrites returns entry and user records as a first cycle writes them: packed
// (records.Entry.PackedRecord, records.User.PackedRecord), fenced, 11-player lineups,
// ~2.2 entries a user (the 5.6M dataset's ratio: 5.6M entries, 2.57M user records).
func firstWrites(n int) (entries, users []records.Record) { return firstWritesAs(n, false) }

// firstWritesAs is firstWrites, the records marked as the packers' own
// (records.Entry.TrustedRecord, records.User.TrustedRecord) when trusted.
func firstWritesAs(n int, trusted bool) (entries, users []records.Record) {
	fence := records.Fence{Epoch: 1, Cycle: 1}
	var user []records.Entry
	for i := range n {
		players := make([]int32, 11)
		for j := range players {
			players[j] = int32(100_000 + (i+j*7)%22)
		}
		e := records.Entry{ID: int64(40_000_000 + i*13), Contest: int64(2_000_000 + i/28), Match: 94_000, User: int64(1_000_000 + i/2*3 + i%9/8),
			Team: int64(i % 7), Part: int32(i % 16), Lineup: records.Lineup{Players: players, Captain: players[0], Vice: players[1]}}
		r := e.PackedRecord()
		if trusted {
			r = e.TrustedRecord()
		}
		r.Fence = fence
		entries = append(entries, r)
		if len(user) > 0 && user[0].User != e.User {
			ur := records.User{Match: e.Match, User: user[0].User, Part: user[0].Part, Entries: user}
			u := ur.PackedRecord()
			if trusted {
				u = ur.TrustedRecord()
			}
			u.Fence = fence
			users = append(users, u)
			user = nil
		}
		user = append(user, e)
	}
	return entries, users
}

// BenchmarkPutFirstWrites writes entry and user records into an empty store in batches
// of 5000, as a cold start's first cycle does (no stored version, not versioned: only
// the fence is added), and reports CPU per record and the store's bytes per record:
// bins-B (the packed record) and slab-B (with the slab's header, set and key).
// LB_BENCH_ENTRIES sets the entries (default 100000).
//
//	go test -run '^$' -bench PutFirstWrites ./rankstore
func BenchmarkPutFirstWrites(b *testing.B) { benchmarkPutFirstWrites(b, 1, false, false) }

// BenchmarkPutFirstWritesReserved is BenchmarkPutFirstWrites with the store told first
// how many records are coming (Store.Reserve, counted in the CPU), as a cold start's
// first cycle can: each shard's table is sized once instead of growing as they come.
//
//	go test -run '^$' -bench PutFirstWritesReserved ./rankstore
func BenchmarkPutFirstWritesReserved(b *testing.B) { benchmarkPutFirstWrites(b, 1, true, false) }

// BenchmarkPutFirstWritesTrusted is BenchmarkPutFirstWrites with the records marked as
// the packers' own (records.Entry.TrustedRecord, User.TrustedRecord): Put copies their
// bins without reading them.
//
//	go test -run '^$' -bench PutFirstWritesTrusted ./rankstore
func BenchmarkPutFirstWritesTrusted(b *testing.B) { benchmarkPutFirstWrites(b, 1, false, true) }

// BenchmarkPutFirstWritesReservedTrusted is both: a cold start's first cycle with the
// worker telling the store its records' count and writing trusted records.
//
//	go test -run '^$' -bench PutFirstWritesReservedTrusted ./rankstore
func BenchmarkPutFirstWritesReservedTrusted(b *testing.B) { benchmarkPutFirstWrites(b, 1, true, true) }

// BenchmarkPutFirstWritesParallel is BenchmarkPutFirstWrites with the batches written
// from GOMAXPROCS goroutines at once, as a cycle's writes are (worker's parallelEmit):
// the shards' locks are contended. cpu-ns/record is the process's CPU (getrusage).
//
//	go test -run '^$' -bench PutFirstWritesParallel ./rankstore
func BenchmarkPutFirstWritesParallel(b *testing.B) {
	benchmarkPutFirstWrites(b, runtime.GOMAXPROCS(0), false, false)
}

func benchmarkPutFirstWrites(b *testing.B, writers int, reserve, trusted bool) {
	entries, users := firstWritesAs(benchEntries(100_000), trusted)
	ctx := context.Background()
	var cpu time.Duration
	var s *Store
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var err error
		if s, err = Open(Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0 := cpuTime()
		if reserve {
			if err := s.Reserve(records.Live, len(entries)+len(users)); err != nil {
				b.Fatal(err)
			}
		}
		for _, recs := range [][]records.Record{entries, users} {
			var next atomic.Int64 // the next batch's first record
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for range writers {
				wg.Go(func() {
					for {
						lo := int(next.Add(5000)) - 5000
						if lo >= len(recs) {
							return
						}
						if err := s.Put(ctx, records.Live, recs[lo:min(lo+5000, len(recs))]); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		cpu += cpuTime() - c0
	}
	n := len(entries) + len(users)
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n*b.N), "cpu-ns/record")
	for _, set := range []struct {
		name string
		recs []records.Record
	}{{"entry", entries}, {"user", users}} {
		bins, slab := 0, 0
		for _, r := range set.recs {
			st, ok, err := s.Lookup(records.Live, r.Set, r.Key)
			if err != nil || !ok {
				b.Fatalf("%s/%s: %v %v", r.Set, r.Key, ok, err)
			}
			bins += len(st.Bins)
			slab += recordSize(r.Set, r.Key, len(st.Bins))
		}
		b.ReportMetric(float64(bins)/float64(len(set.recs)), set.name+"-bins-B")
		b.ReportMetric(float64(slab)/float64(len(set.recs)), set.name+"-slab-B")
	}
	// The store's bytes: slabs allocated (records and the slack of the slabs being
	// filled) and index, per entry (with its share of the user records) and per record.
	capacity, _, _, slots := s.layout(records.Live)
	index := slots * int(unsafe.Sizeof(slot(0)))
	b.ReportMetric(float64(capacity+index)/float64(len(entries)), "store-B/entry")
	b.ReportMetric(float64(index)/float64(n), "index-B/record")
	b.ReportMetric(float64(capacity)/float64(n), "slabs-B/record")
}

package rankstore

import (
	"context"
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// BenchmarkPutFirstWritesWarm is BenchmarkPutFirstWritesReservedTrusted (entry and user
// records into an empty store told their count, trusted, batches of 5000) with each
// batch's records read just before its Put, as a cycle's are (it packs a task's records
// and writes them at once), where the other benchmarks' records were built before the
// timed loop and are cold: it reports the CPU of the Puts alone (the writing thread's,
// getrusage RUSAGE_THREAD, one writer; sys-ns/record its kernel part), so the store's own cache misses (its index's
// slots, the slabs) are what it measures. LB_BENCH_ENTRIES sets the entries (default
// 100000).
//
//	go test -run '^$' -bench PutFirstWritesWarm ./rankstore
func BenchmarkPutFirstWritesWarm(b *testing.B) {
	entries, users := firstWritesAs(benchEntries(100_000), true)
	ctx := context.Background()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu, sys time.Duration
	var sink uint64
	for b.Loop() {
		b.StopTimer()
		s, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0, s0 := threadCPU(b)
		if err := s.Reserve(records.Live, len(entries)+len(users)); err != nil {
			b.Fatal(err)
		}
		c1, s1 := threadCPU(b)
		cpu, sys = cpu+c1-c0, sys+s1-s0
		for _, recs := range [][]records.Record{entries, users} {
			for lo := 0; lo < len(recs); lo += 5000 {
				batch := recs[lo:min(lo+5000, len(recs))]
				for i := range batch { // warm: as just packed
					for _, c := range batch[i].Packed {
						sink += uint64(c)
					}
					for j := 0; j < len(batch[i].Key); j++ {
						sink += uint64(batch[i].Key[j])
					}
				}
				c0, s0 := threadCPU(b)
				if err := s.Put(ctx, records.Live, batch); err != nil {
					b.Fatal(err)
				}
				c1, s1 := threadCPU(b)
				cpu, sys = cpu+c1-c0, sys+s1-s0
			}
		}
	}
	runtime.KeepAlive(sink)
	n := float64((len(entries) + len(users)) * b.N)
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	b.ReportMetric(float64(sys.Nanoseconds())/n, "sys-ns/record") // of cpu: the kernel's (the slabs' first-touch faults)
}

// threadCPU is the calling thread's CPU time so far (user and system) and its system
// part (the caller has locked its goroutine to its thread).
func threadCPU(b *testing.B) (cpu, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		b.Fatalf("getrusage(RUSAGE_THREAD): %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), time.Duration(ru.Stime.Nano())
}

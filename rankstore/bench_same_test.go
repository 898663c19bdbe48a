package rankstore

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// BenchmarkPutSameRewrites writes entry and user records (trusted, fenced, as a first
// cycle packs them) into a store that holds them already with the same bins and an
// older cycle of the same epoch, in batches of 5000, as the first cycle after a restart
// does over the loaded live namespace (or the TTL refresh over records that did not
// change): marked IfChanged, the store keeps them and refreshes their expiry. It reports
// CPU per record and the bytes allocated per record (new slabs: ~0 when kept).
// LB_BENCH_ENTRIES sets the entries (default 100000).
//
//	go test -run '^$' -bench PutSameRewrites -benchtime 5x ./rankstore
func BenchmarkPutSameRewrites(b *testing.B) {
	entries, users := firstWritesAs(benchEntries(100_000), true)
	recs := append(entries, users...)
	s, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	put := func(cycle int64) {
		for i := range recs {
			recs[i].Fence.Cycle = cycle
			recs[i].IfChanged = true
		}
		for lo := 0; lo < len(recs); lo += 5000 {
			if err := s.Put(ctx, records.Live, recs[lo:min(len(recs), lo+5000)]); err != nil {
				b.Fatal(err)
			}
		}
	}
	put(1)
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		put(int64(2 + i))
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	total := float64(len(recs) * b.N)
	b.ReportMetric(float64(cpu.Nanoseconds())/total, "cpu-ns/record")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/total, "alloc-B/record")
	_, used, live, _ := s.layout(records.Live)
	b.ReportMetric(float64(used-live)/float64(len(recs)), "garbage-B/record")
}

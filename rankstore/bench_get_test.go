package rankstore

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// BenchmarkGetPacked reads entry records in place from a store of 200,000 (LB_BENCH_ENTRIES),
// in a scattered order, as the API's entry look-ups do.
func BenchmarkGetPacked(b *testing.B) {
	n := benchEntries(200_000)
	s := entryStore(b, n)
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = strconv.Itoa(1_000_000 + (i*7919)%n)
	}
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		p, ok, err := s.GetPacked(ctx, records.Live, records.SetEntry, keys[i%len(keys)])
		if !ok || err != nil || len(p) == 0 {
			b.Fatal(ok, err)
		}
		i++
	}
	// The process's CPU time per look-up: steadier than wall time on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

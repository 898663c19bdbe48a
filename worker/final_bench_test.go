package worker

import (
	"bufio"
	"context"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/kafkasource"
)

// BenchmarkFinalCycle replays a match into a worker over the embedded store with a data
// dir (`complete` on disk, as `standalone` runs it), runs its first live cycle, then
// completes the match and runs its final cycle (timed): every entry and user record
// written to complete, the changed ones to live, and complete flushed. It reports the
// final cycle's CPU and wall time, the bytes it allocated on the Go heap, the Go heap's
// peak in use above what it held before (sampled every 5 ms), and the process's peak
// resident memory above its resident memory before, per entry: the node's peak is its
// final cycle's (docs/PERFORMANCE.md).
//
// LB_BENCH_FINAL_ALLOCS=f writes the allocations profile before the final cycle to
// f.before and after it to f: `go tool pprof -sample_index=alloc_space -diff_base
// f.before f` shows the final cycle's.
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench FinalCycle -benchtime 3x ./worker
func BenchmarkFinalCycle(b *testing.B) {
	n := benchEntries(b)
	var took, cpu time.Duration
	var alloc, heapPeak, rssPeak float64
	for range b.N {
		b.StopTimer()
		st := embeddedStoreIn(b, b.TempDir())
		w := benchWorker(b)
		w.store = st
		ctx := context.Background()
		s := newSynth(n)
		replayLive(b, w, s)
		var pts []kafkasource.PointsEvent
		for k, p := range s.players {
			pts = append(pts, kafkasource.PointsEvent{MatchID: 1, PlayerID: p, Centi: int64(k%17) * 50, TS: 1})
		}
		if err := w.Apply(ctx, kafkasource.Batch{Points: pts}); err != nil {
			b.Fatal(err)
		}
		if err := w.Cycle(ctx, Tick{Cycle: 1, At: time.Now()}); err != nil {
			b.Fatal(err)
		}
		for k := range pts {
			pts[k].Centi += int64(k%5) * 25
			pts[k].TS = 2
		}
		if err := w.Apply(ctx, kafkasource.Batch{Points: pts, Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "completed", TS: 2}}}); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		heap0 := heapSpans()
		rss0 := resetPeakRSS(b)
		stop := sampleHeap()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		allocProfile(b, "LB_BENCH_FINAL_ALLOCS", ".before")
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		if err := w.Cycle(ctx, Tick{Cycle: 2, At: time.Now()}); err != nil {
			b.Fatal(err)
		}
		took += time.Since(t0)
		cpu += cpuTime() - c0
		b.StopTimer()
		peak := stop()
		allocProfile(b, "LB_BENCH_FINAL_ALLOCS", "")
		runtime.ReadMemStats(&ms1)
		alloc += float64(ms1.TotalAlloc - ms0.TotalAlloc)
		heapPeak += float64(peak - heap0)
		rssPeak += max(0, float64(peakRSS(b))-float64(rss0)) // unsigned: the peak can read under the RSS sampled after its reset
		if rep := w.LastCycle(); rep == nil || rep.Stats.Entries != n || !w.matches[1].final {
			b.Fatalf("final cycle ranked %+v, want %d entries, the match final", rep, n)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}
	per := float64(b.N)
	b.ReportMetric(took.Seconds()/per, "final_s")
	b.ReportMetric(cpu.Seconds()/per, "final_cpu_s")
	b.ReportMetric(alloc/per/(1<<20), "alloc-MiB/final")
	b.ReportMetric(heapPeak/per/float64(n), "heap-peak-B/entry")
	b.ReportMetric(rssPeak/per/float64(n), "rss-peak-B/entry")
}

// allocProfile writes the allocations profile to the file named by the environment
// variable env, with suffix, if it names one.
func allocProfile(b *testing.B, env, suffix string) {
	name := os.Getenv(env)
	if name == "" {
		return
	}
	f, err := os.Create(name + suffix)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC() // the profile shows allocations as of the last collection
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// heapSpans is the bytes of the Go heap's spans in use (objects live or not yet swept).
func heapSpans() uint64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// sampleHeap samples heapSpans every 5 ms until the returned function is called, which
// returns the highest sample.
func sampleHeap() func() uint64 {
	var (
		mu   sync.Mutex
		peak = heapSpans()
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				v := heapSpans()
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return max(peak, heapSpans())
	}
}

// resetPeakRSS resets the process's peak resident memory (VmHWM) to its resident memory
// now, which it returns.
func resetPeakRSS(b *testing.B) uint64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS (Linux's /proc/self/clear_refs): %v", err)
	}
	return procStatus(b, "VmRSS:")
}

// peakRSS is the process's peak resident memory since resetPeakRSS.
func peakRSS(b *testing.B) uint64 { return procStatus(b, "VmHWM:") }

func procStatus(b *testing.B, field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("/proc/self/status %s %q: %v", field, v, err)
			}
			return kb << 10
		}
	}
	b.Fatalf("/proc/self/status has no %s", field)
	return 0
}

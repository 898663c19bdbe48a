package worker

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/kafkasource"
)

// BenchmarkReplay applies a match's entry events, polled batches of 10k made before the
// clock starts, to a fresh worker (Apply only: no Kafka, no decoding, no cycle): the
// replay rate by wall and by CPU time (user+system of the process, steadier on a shared
// machine), and the Go heap the worker holds after the replay, per entry.
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench Replay -benchtime 1x ./worker
func BenchmarkReplay(b *testing.B) {
	n := benchEntries(b)
	for range b.N {
		b.StopTimer()
		before := heapInUse()
		s := newSynth(n)
		// Offsets dense per partition, as Kafka's: each partition is assigned with its
		// end offset, so its entry table is sized at its first record.
		var batches []kafkasource.Batch
		end := map[int32]int64{}
		for s.made < s.n {
			batch := s.batch(10_000)
			for i := range batch.Entries {
				r := &batch.Entries[i]
				r.Offset = end[r.Partition]
				end[r.Partition]++
			}
			batches = append(batches, batch)
		}
		w := replayWorker(b, end)
		ctx := context.Background()
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		for _, batch := range batches {
			if err := w.Apply(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		wall, cpu := time.Since(t0), cpuTime()-c0
		b.StopTimer()
		batches = nil
		after := heapInUse()
		b.ReportMetric(float64(n)/wall.Seconds(), "replay_entries/s")
		b.ReportMetric(float64(n)/cpu.Seconds(), "replay_entries/cpu_s")
		b.ReportMetric(float64(after)-float64(before), "heap_B")
		b.ReportMetric((float64(after)-float64(before))/float64(n), "heap_B/entry")
		if got := w.matches[1].count; got != n {
			b.Fatalf("the worker holds %d entries, want %d", got, n)
		}
		runtime.KeepAlive(w)
	}
}

// replayWorker is benchWorker with its partitions assigned at their end offsets: they
// replay.
func replayWorker(b *testing.B, end map[int32]int64) *Worker {
	cfg := DefaultConfig()
	w, err := New(cfg, &rejects{}, nullStore{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	for p := range int32(16) {
		if err := w.AddPartition(p, end[p]); err != nil {
			b.Fatal(err)
		}
	}
	return w
}

package rankstore

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// BenchmarkSave: Flush of a complete namespace of LB_BENCH_RECORDS entry records (1M by
// default) into complete.arrow: what a final cycle pays after writing a match's
// standings, and Close at a node's stop. Reports records/s, the file's bytes a record,
// and the most Go heap the save held above what the namespace's filling left (sampled
// every millisecond: what it adds to the collector's goal).
func BenchmarkSave(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("LB_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	dir := b.TempDir()
	s := open(b, dir, c)
	const batch = 10_000
	recs := make([]records.Record, 0, batch)
	for lo := 0; lo < n; lo += batch {
		recs = recs[:0]
		for id := lo; id < min(n, lo+batch); id++ {
			recs = append(recs, entryRecord(int64(id)))
		}
		if err := s.Put(context.Background(), records.Complete, recs); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	base := heapObjects()
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if h := heapObjects(); h > peak.Load() {
					peak.Store(h)
				}
			}
		}
	}()
	b.ResetTimer()
	for b.Loop() {
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(done)
	<-sampled
	b.ReportMetric(float64(max(peak.Load(), base)-base)/(1<<20), "save-heap-MB")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(n), "file-B/record")
	}
}

// heapObjects is the bytes of live and unswept objects on the Go heap.
func heapObjects() uint64 {
	m := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(m)
	return m[0].Value.Uint64()
}

package rankstore

import (
	"context"
	"io"
	"log/slog"
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
	putRecords(b, s, records.Complete, n, entryRecord)
	runtime.GC()
	heapGrowth := sampleHeapGrowth()
	b.ResetTimer()
	for b.Loop() {
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(heapGrowth())/(1<<20), "save-heap-MB")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(n), "file-B/record")
	}
}

// putRecords puts records rec(0) to rec(n-1) into namespace ns of s, in batches of 10k.
func putRecords(b *testing.B, s *Store, ns string, n int, rec func(int64) records.Record) {
	const batch = 10_000
	recs := make([]records.Record, 0, batch)
	for lo := 0; lo < n; lo += batch {
		recs = recs[:0]
		for id := lo; id < min(n, lo+batch); id++ {
			recs = append(recs, rec(int64(id)))
		}
		if err := s.Put(context.Background(), ns, recs); err != nil {
			b.Fatal(err)
		}
	}
}

// sampleHeapGrowth samples heapObjects every millisecond until the returned function is
// called, which returns the most it grew above its level at the start (0 if it never
// did).
func sampleHeapGrowth() func() uint64 {
	base := heapObjects()
	var peak atomic.Uint64
	done, sampled := make(chan struct{}), make(chan struct{})
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
	return func() uint64 {
		close(done)
		<-sampled
		return max(peak.Load(), base) - base
	}
}

// heapObjects is the bytes of live and unswept objects on the Go heap.
func heapObjects() uint64 {
	m := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(m)
	return m[0].Value.Uint64()
}

// BenchmarkLoad: Open on a data dir holding a live.arrow of LB_BENCH_RECORDS records
// (1M by default; two entry records to one user record of two entries, each entry's
// lineup its own, as a restarted node's saved live namespace), which a restart pays
// before it answers. The file is saved once (untimed); each round copies it into a new
// dir (untimed: Open removes the live file it loaded) and opens a store there. Reports
// records/s, the CPU (getrusage, the whole process: the load's goroutines and the
// collector) per record, and the most Go heap the load held above what was live before
// it (sampled every millisecond).
//
//	LB_BENCH_RECORDS=4000000 go test -run '^$' -bench 'BenchmarkLoad$' -benchtime 3x ./rankstore/
func BenchmarkLoad(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("LB_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	saved := b.TempDir()
	s := open(b, saved, c)
	putRecords(b, s, records.Live, n, loadBenchRecord)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	s = nil
	fi, err := os.Stat(filepath.Join(saved, LiveFileName))
	if err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	var peakHeap uint64
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		copyFile(b, filepath.Join(saved, LiveFileName), filepath.Join(dir, LiveFileName))
		runtime.GC()
		heapGrowth := sampleHeapGrowth()
		b.StartTimer()
		c0 := cpuTime()
		st, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: 7 * 24 * time.Hour, DataDir: dir}, c.now, slog.New(slog.DiscardHandler))
		cpu += cpuTime() - c0
		b.StopTimer()
		growth := heapGrowth()
		if err != nil {
			b.Fatal(err)
		}
		if got := st.Len(records.Live); got != n {
			b.Fatalf("loaded %d records, want %d", got, n)
		}
		peakHeap = max(peakHeap, growth)
		runtime.KeepAlive(st)
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n)/float64(b.N), "cpu-ns/record")
	b.ReportMetric(float64(peakHeap)/(1<<20), "load-heap-MB")
	b.ReportMetric(float64(fi.Size())/float64(n), "file-B/record")
}

// loadBenchRecord is record i of BenchmarkLoad's namespace: two entry records, then the
// user record of their user, each entry's lineup its own.
func loadBenchRecord(i int64) records.Record {
	id := i/3*2 + 1
	lineup := func(id int64) records.Lineup {
		p := make([]int32, 11)
		for k := range p {
			p[k] = int32((id*7 + int64(k)*13) % 200)
		}
		return records.Lineup{Players: p, Captain: p[0], Vice: p[1]}
	}
	entry := func(id int64) records.Entry {
		return records.Entry{ID: id, Contest: id / 28, Match: 1, User: id/2 + 1, Team: id / 2, Lineup: lineup(id)}
	}
	switch i % 3 {
	case 0:
		return entry(id).PackedRecord()
	case 1:
		return entry(id + 1).PackedRecord()
	}
	return records.User{Match: 1, User: id/2 + 1, Part: int32(id % 16), Entries: []records.Entry{entry(id), entry(id + 1)}}.PackedRecord()
}

// copyFile copies the file at from to to.
func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	src, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		tb.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		tb.Fatal(err)
	}
}

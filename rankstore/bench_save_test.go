package rankstore

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// BenchmarkSave: Flush of a complete namespace of LB_BENCH_RECORDS entry records (1M by
// default) into complete.arrow: what a final cycle pays after writing a match's
// standings, and Close at a node's stop. Reports records/s and the file's bytes a record.
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
	b.ResetTimer()
	for b.Loop() {
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(n), "file-B/record")
	}
}

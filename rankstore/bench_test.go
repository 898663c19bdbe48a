package rankstore

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// BenchmarkPut writes contest records shaped like a cycle's (a histogram and a first page
// of 100 rows for big contests, a few rows for small ones) in batches of 5000, as the
// worker does, and reports records/s (DESIGN.md budget: >= 700k records/s).
func BenchmarkPut(b *testing.B) { benchmarkPut(b, records.Fence{}) }

// BenchmarkPutFenced is BenchmarkPut with every record fenced (as the worker writes):
// the fence check against the stored record and the two fence bins.
func BenchmarkPutFenced(b *testing.B) { benchmarkPut(b, records.Fence{Epoch: 1, Cycle: 1}) }

func benchmarkPut(b *testing.B, fence records.Fence) {
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
		recs[i] = records.Contest{ID: int64(i), Match: 1, Cycle: 1, Total: int64(n), PageSize: 100, Hist: hist, First: rows}.Record()
		recs[i].Fence = fence
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Put(ctx, records.Live, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

package rankstore

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// BenchmarkMovedWrites is the store's side of the cycle that carries a points change:
// a store holding a first cycle's records (LB_BENCH_ENTRIES fenced entry records,
// default 200000, with their contests of 20 entries: a contest record and a page
// record each, in the same batches), then each iteration rewrites every contest and
// page record over its stored version (KeepPrev, fenced, packed as the worker packs
// them) in batches of 5000, as a cycle after a points change does. It reports the
// store's CPU per rewritten record (getrusage) and the slabs compacted per cycle.
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench MovedWrites -benchtime 5x ./rankstore
func BenchmarkMovedWrites(b *testing.B) {
	n := benchEntries(200_000)
	const perContest = 20
	s, err := Open(Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var rows records.RowsEncoder
	var hist records.HistEncoder
	// versioned returns contest id's contest and page records at cycle (its entries'
	// points move with the cycle, so every record changes).
	versioned := func(id, cycle int64) (records.Record, records.Record) {
		rows.Reset()
		hist.Reset()
		for j := range int64(perContest) {
			pts := 50_000 - j*311 + cycle*7*(j%3)
			rows.Add(records.Row{Rank: j + 1, EntryID: 1_000_000 + id*perContest + j, UserID: 3_000_000 + j*13, TeamID: j % 4, Points: pts})
			hist.Add(pts)
		}
		c := records.Record{Set: records.SetContest, Key: records.IDKey(id),
			Packed: records.PackContest(records.ContestHead{ID: id, Match: 1, Cycle: cycle, AsOf: 1_800_000_000_000 + cycle, Total: perContest, PageSize: 100}, &hist, &rows)}
		p := records.Record{Set: records.SetPage, Key: records.PageKey(id, 1), Packed: records.PackPage(id, 1, cycle, &rows)}
		c.Fence, c.KeepPrev = records.Fence{Epoch: 1, Cycle: cycle}, true
		p.Fence, p.KeepPrev = records.Fence{Epoch: 1, Cycle: cycle}, true
		return c, p
	}
	batch := make([]records.Record, 0, 5000)
	flush := func() {
		if err := s.Put(ctx, records.Live, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	contests := int64(n / perContest)
	players := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	for id := range contests {
		for k := range int64(perContest) {
			e := records.Entry{ID: 1_000_000 + id*perContest + k, Contest: id, Match: 1, User: 3_000_000 + k*13, Team: k % 4,
				Lineup: records.Lineup{Players: players, Captain: 1, Vice: 2}}.PackedRecord()
			e.Fence = records.Fence{Epoch: 1, Cycle: 1}
			if batch = append(batch, e); len(batch) == cap(batch) {
				flush()
			}
		}
		c, p := versioned(id, 1)
		if batch = append(batch, c, p); len(batch) >= cap(batch)-1 {
			flush()
		}
	}
	flush()
	compactions := func() (k, bytes int) {
		for i := range s.ns[records.Live].shards {
			k += s.ns[records.Live].shards[i].compactions
			bytes += s.ns[records.Live].shards[i].compacted
		}
		return k, bytes
	}
	k0, c0 := compactions()
	cycle := int64(1)
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		cycle++
		for id := range contests {
			c, p := versioned(id, cycle)
			if batch = append(batch, c, p); len(batch) >= cap(batch)-1 {
				c0 := cpuTime()
				flush()
				cpu += cpuTime() - c0
			}
		}
		c0 := cpuTime()
		flush()
		cpu += cpuTime() - c0
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(2*contests*int64(b.N)), "put-cpu-ns/record")
	k1, c1 := compactions()
	b.ReportMetric(float64(k1-k0)/float64(b.N), "compactions/cycle")
	b.ReportMetric(float64(c1-c0)/float64(2*contests*int64(b.N)), "copied-B/record")
}

package worker

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
)

// BenchmarkColdStartStore replays a match's entries into a worker and runs the first
// cycle writing into the embedded store, as `standalone` does after a restart: every
// entry and user record, every contest and page. It reports the first cycle's CPU and
// wall time and the records it wrote. LB_BENCH_ORDER=join replays a match day's stream
// (benchSource); LB_BENCH_FIRST_PROFILE=FILE writes a CPU profile of the first cycle
// alone (the last iteration's).
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench ColdStartStore -benchtime 3x ./worker
func BenchmarkColdStartStore(b *testing.B) {
	n := benchEntries(b)
	prof := newBenchProfile(b, "LB_BENCH_FIRST_PROFILE")
	var first, firstCPU time.Duration
	written := 0
	for range b.N {
		b.StopTimer()
		w := benchWorker(b)
		st := embeddedStore(b)
		w.store = st
		ctx := context.Background()
		replayAll(b, w, newBenchSource(b, n))
		runtime.GC()
		b.StartTimer()
		prof.start()
		t0, c0 := time.Now(), cpuTime()
		if err := w.Cycle(ctx, Tick{Cycle: 1, At: time.Now()}); err != nil {
			b.Fatal(err)
		}
		first += time.Since(t0)
		firstCPU += cpuTime() - c0
		prof.stop()
		b.StopTimer()
		rep := w.LastCycle()
		if rep == nil || rep.Stats.Entries != n {
			b.Fatalf("first cycle ranked %+v, want %d entries", rep, n)
		}
		written += rep.Written
		runtime.KeepAlive(st)
	}
	b.ReportMetric(first.Seconds()/float64(b.N), "first_cycle_s")
	b.ReportMetric(firstCPU.Seconds()/float64(b.N), "first_cycle_cpu_s")
	b.ReportMetric(float64(written)/float64(b.N), "records/first")
	b.ReportMetric(float64(firstCPU.Nanoseconds())/1000/float64(max(1, written)), "cpu_us/record")
}

// recordingStore is an embedded store that also keeps every record written to it.
type recordingStore struct {
	*rankstore.Store
	mu   sync.Mutex
	recs []records.Record
}

// Put keeps a copy of each record: the worker reuses their bytes and keys once Put
// returned (the Store contract).
func (s *recordingStore) Put(ctx context.Context, ns string, recs []records.Record) error {
	s.mu.Lock()
	for _, r := range recs {
		if r.Packed != nil {
			p := make(records.Packed, len(r.Packed), cap(r.Packed)) // its room too: TestRankedRecordsBytes checks it
			copy(p, r.Packed)
			r.Packed = p
		}
		r.Key = strings.Clone(r.Key)
		s.recs = append(s.recs, r)
	}
	s.mu.Unlock()
	return s.Store.Put(ctx, ns, recs)
}

// TestPackedCycleRecords: the records a cycle builds packed, from the partition's columns
// (contests, pages, entries, users), are byte for byte what the map-built records pack to
// (records.EncodeBins of ContestRecord, PageRows, records.Entry and records.User), and
// every record written is well formed and decodes as its type.
func TestPackedCycleRecords(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Interval, cfg.Refresh = 10*time.Second, 20*time.Minute
	rs := &recordingStore{Store: embeddedStore(t)}
	w := partitioned(t, cfg, rs, time.Now, 16)
	ctx := context.Background()
	s := newSynth(6000) // a 600-entry mega contest: 6 pages
	for s.made < s.n {
		if err := w.Apply(ctx, s.batch(1000)); err != nil {
			t.Fatal(err)
		}
	}
	w.Apply(ctx, kafkasource.Batch{Matches: []kafkasource.MatchEvent{{MatchID: 1, State: "live", TS: 1}}})
	for cycle := int64(1); cycle <= 3; cycle++ {
		if cycle > 1 {
			w.Apply(ctx, kafkasource.Batch{Points: []kafkasource.PointsEvent{{MatchID: 1, PlayerID: s.players[cycle], Centi: cycle * 700, TS: cycle}}})
		}
		rs.recs = nil
		if err := w.Cycle(ctx, Tick{Cycle: cycle, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, r := range rs.recs {
			if r.Packed == nil {
				continue
			}
			counts[r.Set]++
			b, err := records.DecodeBins(r.Packed)
			if err != nil {
				t.Fatalf("cycle %d: %s/%s: %v", cycle, r.Set, r.Key, err)
			}
			if !bytes.Equal(records.EncodeBins(b), r.Packed) {
				t.Fatalf("cycle %d: %s/%s is not packed as EncodeBins packs its bins", cycle, r.Set, r.Key)
			}
			var derr error
			switch r.Set {
			case records.SetContest:
				_, derr = records.ContestFrom(r.Packed)
			case records.SetPage:
				_, derr = records.PageFrom(r.Packed)
			case records.SetEntry:
				_, derr = records.EntryFrom(r.Packed)
			case records.SetUser:
				_, derr = records.UserFrom(r.Packed)
			default:
				t.Fatalf("cycle %d: %s/%s built packed", cycle, r.Set, r.Key)
			}
			if derr != nil {
				t.Fatalf("cycle %d: %s/%s: %v", cycle, r.Set, r.Key, derr)
			}
		}
		if counts[records.SetContest] == 0 || counts[records.SetPage] == 0 || cycle == 1 && (counts[records.SetEntry] < 6000 || counts[records.SetUser] == 0) {
			t.Fatalf("cycle %d wrote packed %v", cycle, counts)
		}
		// Every contest and page of every group, built both ways.
		m := w.matches[1]
		var enc rowEncoders
		pages := 0
		for _, sh := range m.shards {
			for _, g := range sh.groups {
				p := g.part
				if p == nil {
					continue
				}
				for c := range p.NumContests() {
					got := contestRecord(p, c, m.id, cycle, 77, &enc)
					want := ContestRecord(p, c, m.id, cycle, 77).Record()
					if got.Key != want.Key || got.Set != want.Set || !bytes.Equal(got.Packed, records.EncodeBins(want.Bins)) {
						t.Fatalf("cycle %d: contest %s packed differently from its map", cycle, want.Key)
					}
					ct := p.Contest(c)
					for pg := 1; pg < ct.Pages; pg++ {
						got := pageRecord(p, c, pg, cycle, &enc)
						want := records.Page{Contest: ct.ID, No: pg, Cycle: cycle, Rows: PageRows(p, c, pg)}.Record()
						if got.Key != want.Key || got.Set != want.Set || !bytes.Equal(got.Packed, records.EncodeBins(want.Bins)) {
							t.Fatalf("cycle %d: page %s packed differently from its map", cycle, want.Key)
						}
						pages++
					}
					for i := ct.Start; i < ct.End; i++ {
						e := entryRecord(m, g, c, i)
						if got, want := e.PackedRecord(), e.Record(); got.Key != want.Key || !bytes.Equal(got.Packed, records.EncodeBins(want.Bins)) {
							t.Fatalf("cycle %d: entry %s packed differently from its map", cycle, want.Key)
						}
					}
				}
			}
		}
		if pages < 5 {
			t.Fatalf("cycle %d: %d pages compared", cycle, pages)
		}
	}
}

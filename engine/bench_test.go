package engine_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
)

// benchShape is a heavy-tailed dataset of n entries: "contest" has rows by contest and a
// team per four entries; "join" has rows in random (join) order and a team per two
// entries, the shape of issue 11 that no friendly file hides.
func benchShape(n int, shape string) reference.Shape {
	s := reference.Shape{Contests: reference.HeavyTail(1, n), Players: 22, LineupSize: 11, Teams: n / 4, PointValues: 200}
	if shape == "join" {
		s.Teams, s.Shuffle = n/2, true
	}
	return s
}

// benchPartition builds a heavy-tailed partition of n entries and two snapshots of the
// same match, and reports the heap the partition holds per entry.
func benchPartition(b *testing.B, n int, shape string) (*engine.Partition, [2]*engine.Snapshot, float64) {
	b.Helper()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	entries, pts := reference.Random(1, benchShape(n, shape))
	for id, v := range pts {
		pts[id] = 2 * v // T20 points move in half points
	}
	pts2 := clonePts(pts)
	for id := range pts2 {
		pts2[id] += float64(id%7) * 0.5
	}
	p := build(b, entries, engine.DefaultConfig())
	entries = nil
	p.Run(snapshotOf(b, pts)) // the first cycle sizes every buffer
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perEntry := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)
	return p, [2]*engine.Snapshot{snapshotOf(b, pts), snapshotOf(b, pts2)}, perEntry
}

// BenchmarkCycle runs full cycles where every team's points change (the worst case of a
// live match), alternating two snapshots.
func BenchmarkCycle(b *testing.B) {
	for _, c := range []struct {
		n     int
		shape string
	}{{560_000, "contest"}, {560_000, "join"}, {5_600_000, "contest"}} {
		b.Run(fmt.Sprintf("entries=%d/shape=%s", c.n, c.shape), func(b *testing.B) {
			n := c.n
			p, snaps, perEntry := benchPartition(b, n, c.shape)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				p.Run(snaps[i&1])
				i++
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(perEntry, "bytes/entry")
		})
	}
}

// BenchmarkCycleUnchanged runs cycles on an unchanged snapshot: each repeats the last
// (Stats.Repeated: a look-up per player; before 2026-12-02 every team's points were
// computed and every contest gathered and skipped, 3.1 ms at 560k).
func BenchmarkCycleUnchanged(b *testing.B) {
	p, snaps, _ := benchPartition(b, 560_000, "contest")
	b.ResetTimer()
	for b.Loop() {
		p.Run(snaps[0])
	}
	b.ReportMetric(float64(560_000)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkLoad appends Arrow batches of 64Ki rows (as the Parquet reader delivers them)
// to a Builder and builds the partition: the in-memory half of `rank`'s load.
func BenchmarkLoad(b *testing.B) {
	for _, shape := range []string{"contest", "join"} {
		b.Run("entries=560000/shape="+shape, func(b *testing.B) {
			const n = 560_000
			entries, _ := reference.Random(1, benchShape(n, shape))
			var recs []arrow.RecordBatch
			for lo := 0; lo < n; lo += 1 << 16 {
				recs = append(recs, recordOf(entries[lo:min(n, lo+1<<16)]))
			}
			entries = nil
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				bl := engine.NewBuilder(0, n)
				for _, rec := range recs {
					if err := bl.Append(rec); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := bl.Build(engine.DefaultConfig()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkDerive adds one late entry to a partition of n entries (a worker's contest
// group is 65536 at most) and runs the next cycle on unchanged points, against
// rebuilding the partition from its entries: what a late entry costs the engine.
//
//	go test -run '^$' -bench Derive ./engine
func BenchmarkDerive(b *testing.B) {
	for _, n := range []int{65_536, 560_000} {
		entries, pts := reference.Random(1, benchShape(n, "join"))
		snap := snapshotOf(b, pts)
		late := entries[len(entries)/2]
		late.EntryID, late.TeamID = 1<<40, 1<<40 // a new entry of a new team
		b.Run(fmt.Sprintf("entries=%d/derive", n), func(b *testing.B) {
			p := build(b, entries, engine.DefaultConfig())
			p.Run(snap)
			b.ReportAllocs()
			for b.Loop() {
				q, err := p.Derive(nil, []engine.Entry{late})
				if err != nil {
					b.Fatal(err)
				}
				if st := q.Run(snap); st.ChangedPages == 0 || st.SkippedContests != q.NumContests()-1 {
					b.Fatalf("the cycle after a late entry: %+v", st)
				}
			}
		})
		b.Run(fmt.Sprintf("entries=%d/rebuild", n), func(b *testing.B) {
			all := append(entries[:len(entries):len(entries)], late)
			b.ReportAllocs()
			for b.Loop() {
				q := build(b, all, engine.DefaultConfig())
				q.Run(snap)
			}
		})
	}
}

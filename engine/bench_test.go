package engine_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
)

// benchPartition builds a heavy-tailed partition of n entries and two snapshots of the
// same match, and reports the heap the partition holds per entry.
func benchPartition(b *testing.B, n int) (*engine.Partition, [2]*engine.Snapshot, float64) {
	b.Helper()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	shape := reference.Shape{Contests: reference.HeavyTail(1, n), Players: 22, LineupSize: 11, Teams: n / 4, PointValues: 200}
	entries, pts := reference.Random(1, shape)
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
	for _, n := range []int{560_000, 5_600_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			p, snaps, perEntry := benchPartition(b, n)
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

// BenchmarkCycleUnchanged runs cycles on an unchanged snapshot: every contest is skipped.
func BenchmarkCycleUnchanged(b *testing.B) {
	p, snaps, _ := benchPartition(b, 560_000)
	b.ResetTimer()
	for b.Loop() {
		p.Run(snaps[0])
	}
	b.ReportMetric(float64(560_000)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

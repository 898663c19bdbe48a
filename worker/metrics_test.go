package worker

import (
	"testing"
	"time"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/records"
)

// histogram returns the sample count and sum of a histogram in the fixture's registry.
func (f *fixture) histogram(name string) (count uint64, sum float64) {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			count += m.GetHistogram().GetSampleCount()
			sum += m.GetHistogram().GetSampleSum()
		}
	}
	return count, sum
}

// TestCycleMetrics: every cycle is observed in leaderboard_worker_cycle_seconds, from
// its start to its last write (the clock moves 250 ms on every reading here, so a cycle
// that reads it more than twice takes longer than that), and the configured interval is
// exported.
func TestCycleMetrics(t *testing.T) {
	f := newFixture(t, nil)
	if n, sum := f.series("leaderboard_worker_cycle_interval_seconds"); n != 1 || sum != 1 {
		t.Fatalf("interval gauge: %d series, value %v; want 1 series of 1 (the fixture's 1 s)", n, sum)
	}
	entries := []engine.Entry{
		{EntryID: 1, ContestID: 10, UserID: 100, TeamID: 1, Players: []int32{1, 2, 3}, Captain: 1, ViceCaptain: 2},
		{EntryID: 2, ContestID: 10, UserID: 101, TeamID: 1, Players: []int32{2, 3, 4}, Captain: 2, ViceCaptain: 3},
	}
	f.apply(entryEvents(1, entries))
	f.apply(state(1, records.StateLive))
	f.apply(pointsEvents(1, map[int32]float64{1: 10, 2: 5}))
	if c, _ := f.histogram("leaderboard_worker_cycle_seconds"); c != 0 {
		t.Fatalf("cycle histogram has %d samples before any cycle", c)
	}
	var reads int
	f.w.now = func() time.Time { reads++; return f.clock.Add(time.Duration(reads) * 250 * time.Millisecond) }
	for range 3 {
		f.cycle()
	}
	c, sum := f.histogram("leaderboard_worker_cycle_seconds")
	if c != 3 {
		t.Fatalf("cycle histogram: %d samples after 3 cycles", c)
	}
	if sum < 3*0.5 {
		t.Fatalf("cycle histogram: %v s in 3 cycles, want at least 1.5 s (each cycle reads the moving clock more than twice)", sum)
	}
	if r := f.w.LastCycle(); r == nil || r.Cycle != f.tick {
		t.Fatalf("last cycle report %+v, want cycle %d", r, f.tick)
	}
}

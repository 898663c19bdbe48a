package worker

import (
	"strings"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/records"
)

// holdFixture is a standalone worker held at its start for 2 minutes, with partition 0 caught up and partition 1 still
// replaying (1000 records to read, len(b) read), match 1 live with its points: a's
// contest on partition 0, the others (b) on 1.
func holdFixture(t *testing.T, seed uint64) (f *fixture, a, b, entries []engine.Entry, pts map[int32]float64) {
	t.Helper()
	f = newFixture(t, nil)
	f.w.cfg.StartHold = 2 * time.Minute
	entries, pts = reference.Random(seed, reference.Shape{Contests: []int{8, 20}, Players: 22, LineupSize: 11, PointValues: 20})
	for _, e := range entries {
		if e.ContestID == entries[0].ContestID {
			a = append(a, e)
		} else {
			b = append(b, e)
		}
	}
	if err := f.w.AddPartition(1, 1000); err != nil {
		t.Fatal(err)
	}
	f.apply(onPartition(entryEvents(1, a), 0))
	f.apply(onPartition(entryEvents(1, b), 1))
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	return f, a, b, entries, pts
}

// TestStartHold: until the start's replay ends, a standalone worker's ticks rank and
// write nothing, not even the partitions caught up (their standings would be a part of
// the match's, and their cycles shared the cores with the replay); the first cycle after
// it writes every partition, and later partitions (none on a standalone node) hold
// nothing back.
func TestStartHold(t *testing.T) {
	f, a, _, entries, pts := holdFixture(t, 31)
	f.cycle()
	f.cycle()
	if f.has(records.Live, records.SetContest, records.IDKey(a[0].ContestID)) || f.has(records.Live, records.SetMatch, "1") {
		t.Fatal("a caught-up partition's contest was written while another partition replays at the start")
	}
	if f.w.LastCycle() != nil {
		t.Fatalf("a held tick ranked: %+v", f.w.LastCycle())
	}
	f.apply(kafkasource.Batch{Next: map[string]map[int32]int64{"lb.entries": {1: 1000}}})
	f.cycle()
	f.check(records.Live, entries, pts)
	if !f.w.Ready() {
		t.Fatal("not ready after the start's replay ended and a cycle published")
	}
	// Once published, a partition gained later does not hold the others back.
	if err := f.w.AddPartition(2, 1000); err != nil {
		t.Fatal(err)
	}
	moved := map[int32]float64{}
	for id, v := range pts {
		moved[id] = v + 2
	}
	f.apply(pointsEvents(1, moved))
	f.cycle()
	f.check(records.Live, entries, moved)
}

// TestStartHoldEnds: a partition that never catches up holds the start's cycles for
// StartHold at most; then the partitions caught up are ranked and written (the node
// still not ready), and none (0, the default) holds nothing.
func TestStartHoldEnds(t *testing.T) {
	f, a, _, _, pts := holdFixture(t, 32)
	f.w.cfg.StartHold = 5 * time.Second
	f.cycle() // the hold starts: 1 s a tick
	for range 4 {
		f.cycle() // 1-4 s after the first tick
	}
	if f.has(records.Live, records.SetContest, records.IDKey(a[0].ContestID)) {
		t.Fatal("written within the start's hold")
	}
	f.cycle() // 5 s after the first tick
	f.check(records.Live, a, pts)
	if f.w.Ready() {
		t.Fatal("ready while a partition replays")
	}

	g, a2, _, _, pts2 := holdFixture(t, 33)
	g.w.cfg.StartHold = 0
	g.cycle()
	g.check(records.Live, a2, pts2)

	cfg := DefaultConfig()
	cfg.StartHold = -time.Second
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "start hold") {
		t.Fatalf("a negative start hold: %v, want an error naming it", err)
	}
}

// TestStartHoldNotInCluster: a cluster worker is handed a partition to write once it is
// loaded, and one it gains mid-match must not stall the others: it is never held.
func TestStartHoldNotInCluster(t *testing.T) {
	f, a, _, _, _ := holdFixture(t, 34)
	f.w.cfg.Cluster = true
	f.cycle()
	if !f.has(records.Live, records.SetContest, records.IDKey(a[0].ContestID)) {
		t.Fatal("a cluster worker held its caught-up partition's cycle")
	}
}

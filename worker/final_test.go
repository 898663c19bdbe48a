package worker

import (
	"testing"

	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/records"
)

// writtenTo is leaderboard_worker_records_written_total{namespace=ns,set=set} of f's
// worker.
func (f *fixture) writtenTo(ns, set string) float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "leaderboard_worker_records_written_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["set"] == set {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestFinalCycleRewritesOnlyChangedInLive: a final cycle writes every entry and user
// record to the complete namespace, and to the live one only those that changed since
// the last cycle (a late entry and its user): live holds the rest already. Both
// namespaces then answer the reference's final standings, and every user's record
// lists exactly their entries, in each.
func TestFinalCycleRewritesOnlyChangedInLive(t *testing.T) {
	f := newFixture(t, nil)
	entries, pts := reference.Random(31, reference.Shape{Contests: []int{8, 20, 50, 3}, Players: 22, LineupSize: 11, PointValues: 20})
	late := entries[len(entries)-1]
	for _, e := range entries[:len(entries)-1] {
		if e.UserID == late.UserID {
			t.Fatalf("the late entry's user %d has other entries: pick another seed", late.UserID)
		}
	}
	f.apply(entryEvents(1, entries[:len(entries)-1]))
	f.apply(state(1, "live"))
	f.apply(pointsEvents(1, pts))
	f.cycle()
	liveEntries, liveUsers := f.writtenTo(records.Live, records.SetEntry), f.writtenTo(records.Live, records.SetUser)
	if liveEntries < float64(len(entries)-1) {
		t.Fatalf("the first cycle wrote %v entry records to live, want %d", liveEntries, len(entries)-1)
	}
	f.apply(entryEvents(1, entries[len(entries)-1:]))
	f.apply(state(1, "completed"))
	f.cycle()
	if got := f.writtenTo(records.Live, records.SetEntry) - liveEntries; got != 1 {
		t.Fatalf("the final cycle wrote %v entry records to live, want 1 (the late entry)", got)
	}
	if got := f.writtenTo(records.Live, records.SetUser) - liveUsers; got != 1 {
		t.Fatalf("the final cycle wrote %v user records to live, want 1 (the late entry's user)", got)
	}
	if got := f.writtenTo(records.Complete, records.SetEntry); got < float64(len(entries)) {
		t.Fatalf("the final cycle wrote %v entry records to complete, want every one of %d", got, len(entries))
	}
	f.check(records.Complete, entries, pts)
	f.check(records.Live, entries, pts)
}

package worker

import (
	"testing"
	"unsafe"

	"github.com/fantasy/leaderboard/kafkasource"
)

// TestTouchAheadSpan: touchAhead stops at the end of its partition's run and after
// touchSpan events, changes no table, and prefetches (prefetchAll: the assembly's frame
// read right, no fault) slots of the three tables, which may be empty.
func TestTouchAheadSpan(t *testing.T) {
	w := &Worker{matches: map[int64]*match{}}
	ps := newPartState(3, 1000)
	m := newMatch(1)
	w.matches[1] = m
	var recs []kafkasource.EntryRecord
	for i := range 2 * touchSpan {
		p := int32(3)
		if i == touchSpan+5 {
			p = 4 // another partition's run starts here
		}
		recs = append(recs, kafkasource.EntryRecord{Partition: p, Event: kafkasource.EntryEvent{
			MatchID: 1, ContestID: int64(1 + i%3), EntryID: int64(100 + i), TeamID: int64(7 + i)}})
	}
	// Empty tables: nothing to prefetch.
	if got := w.touchAhead(ps, recs, 0); got != touchSpan {
		t.Fatalf("touchAhead from 0 stopped at %d, want %d (touchSpan)", got, touchSpan)
	}
	for i := range 50 {
		ps.entryContest.put(int64(100+i), int64(1+i%3))
		ps.contestMatch.put(int64(1+i%3), 1)
		m.teamPrint.put(int64(7+i), int64(i))
	}
	before := [3]table{ps.entryContest, ps.contestMatch, *m.teamPrint}
	if got := w.touchAhead(ps, recs, touchSpan); got != touchSpan+5 {
		t.Fatalf("touchAhead from %d stopped at %d, want %d (the partition's run ends)", touchSpan, got, touchSpan+5)
	}
	if got := w.touchAhead(ps, recs, touchSpan+5); got != touchSpan+5 {
		t.Fatalf("touchAhead at another partition's record went to %d, want %d", got, touchSpan+5)
	}
	after := [3]table{ps.entryContest, ps.contestMatch, *m.teamPrint}
	for k := range before {
		if before[k].n != after[k].n || unsafe.SliceData(before[k].slots) != unsafe.SliceData(after[k].slots) {
			t.Fatalf("table %d changed: %d keys -> %d", k, before[k].n, after[k].n)
		}
	}
	s := make([]int64, 4096)
	prefetchAll([]unsafe.Pointer{unsafe.Pointer(&s[0]), unsafe.Pointer(&s[1000]), unsafe.Pointer(&s[4095])})
	prefetchAll(nil)
}

package worker

import (
	"unsafe"

	"github.com/fantasy/leaderboard/kafkasource"
)

// touchSpan is how many events touchAhead prefetches the table slots of at once;
// apply prefetches the next span's when it is touchLead events before it.
const (
	touchSpan = 32
	touchLead = 16
)

// touchAhead prefetches the table slots that applying recs[i:] will probe first (the
// partition's entry table, the match's team table, and the contest table's for an event
// whose contest is not the one before it), up to touchSpan events of recs[i]'s
// partition, and returns where it stopped. The prefetches are independent of each other
// and of the work after them, so the CPU overlaps their cache misses; applyEntry, which
// probes each slot after deciding on the event before it, then finds them in cache. It
// changes nothing (under mu).
//
// The contest table's slot: a log in join order (a match day's) changes contest at
// almost every event, and gen's match day has ~12k contests per partition at 5.6M
// entries (~28 a contest), a table of ~0.5 MB per partition that stays out of cache:
// contestOf was ~100 ns an event in the node's profile at 5.6M. A log in contest order
// touches it once a contest.
//
// The slots' addresses are gathered first and prefetched in one call (prefetchAll).
func (w *Worker) touchAhead(ps *partState, recs []kafkasource.EntryRecord, i int) int {
	var (
		mid, contest int64
		m            *match
		at           [3 * touchSpan]unsafe.Pointer
	)
	k := 0
	end := min(len(recs), i+touchSpan)
	j := i
	for ; j < end && recs[j].Partition == ps.id; j++ {
		e := &recs[j].Event
		if p := ps.entryContest.homeOf(e.EntryID); p != nil {
			at[k] = p
			k++
		}
		if e.ContestID != contest {
			contest = e.ContestID
			if p := ps.contestMatch.homeOf(contest); p != nil {
				at[k] = p
				k++
			}
		}
		if m == nil || e.MatchID != mid {
			m, mid = w.matches[e.MatchID], e.MatchID
		}
		if m != nil && m.teamPrint != nil {
			if p := m.teamPrint.homeOf(e.TeamID); p != nil {
				at[k] = p
				k++
			}
		}
	}
	prefetchAll(at[:k])
	return j
}

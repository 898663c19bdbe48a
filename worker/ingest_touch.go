package worker

import "github.com/fantasy/leaderboard/kafkasource"

// touchSpan is how many events touchAhead prefetches the table slots of at once;
// apply prefetches the next span's when it is touchLead events before it.
const (
	touchSpan = 32
	touchLead = 16
)

// touchAhead prefetches the table slots that applying recs[i:] will probe first (the
// partition's entry table, the match's team table), up to touchSpan events of recs[i]'s
// partition, and returns where it stopped. The prefetches are independent of each other
// and of the work after them, so the CPU overlaps their cache misses; applyEntry, which
// probes each slot after deciding on the event before it, then finds them in cache. It
// changes nothing (under mu).
func (w *Worker) touchAhead(ps *partState, recs []kafkasource.EntryRecord, i int) int {
	var (
		mid int64
		m   *match
	)
	end := min(len(recs), i+touchSpan)
	j := i
	for ; j < end && recs[j].Partition == ps.id; j++ {
		e := &recs[j].Event
		ps.entryContest.touch(e.EntryID)
		if m == nil || e.MatchID != mid {
			m, mid = w.matches[e.MatchID], e.MatchID
		}
		if m != nil && m.teamPrint != nil {
			m.teamPrint.touch(e.TeamID)
		}
	}
	return j
}

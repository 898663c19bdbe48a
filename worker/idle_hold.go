package worker

import "time"

// The start's hold: a standalone node replays every entries partition at its start, and
// they catch up one by one over seconds. Cycles over the partitions caught up early (their
// first writes, then re-ranks each tick) shared the two cores with the rest of the replay,
// and a cold start with more of them cost ~1-3 CPU-s more to ready at 5.6M entries
// (docs/PERFORMANCE.md, "The cold start, profiled whole"), while nothing they wrote could be
// served as ready: /readyz waits for every partition anyway. So until the start's replay
// has ended, a standalone worker's ticks pass (held, as ticks before the points and matches
// topics caught up are): the first cycle ranks and writes every partition at once, and no
// standings of a part of the partitions are published meanwhile.
//
// The hold lasts at most Config.StartHold from the first tick: a partition that never
// catches up (a broker that cannot serve it) does not keep the others' standings from
// being written; after it, the partitions caught up are cycled as before. A cluster
// worker is not held: the coordinator hands it a partition another worker writes only
// once loaded (LoadPartition, then Adopt), and one it takes over mid-match (its writer
// gone) must not stall the cycles of the others it writes.

// holdStartLocked reports whether a cycle at now is held for the start's replay (under
// mu): a standalone worker that has not published yet, a partition it writes still
// replaying, within StartHold of its first tick.
func (w *Worker) holdStartLocked(now time.Time) bool {
	if w.cfg.Cluster || w.cfg.StartHold <= 0 || w.published.Load() || w.holdDone {
		return false
	}
	if w.holdSince.IsZero() {
		w.holdSince = now
	}
	if w.writersCaughtUpLocked() {
		w.holdDone = true
		return false
	}
	if now.Sub(w.holdSince) >= w.cfg.StartHold {
		w.holdDone = true
		w.log.Warn("partitions still replaying after the start's hold: the caught-up ones are cycled now", "hold", w.cfg.StartHold, "replaying", w.countReplaying())
		return false
	}
	return true
}
